//! The run queue: leases, workers that die, and runs that cannot finish.

use std::time::Duration;

use mingle_core::Timestamp;
use mingle_service::models::{Lease, MatchProfile, MatchWrite};
use mingle_service::runs::RunHandler;
use mingle_service::worker::WorkerSettings;
use serde_json::{json, Value};

use crate::harness::TestApp;

/// Queues an import (no worker runs in these apps) and returns its run ID.
async fn queue_import(app: &TestApp, rows: Value) -> String {
    app.event(&app.a.rw, "ev").await;
    let r =
        app.put("/events/ev/attendees:import", &app.a.rw, &json!({"idempotency_key": "k", "attendees": rows})).await;
    let run = r.ok(202).clone();
    assert_eq!(run["status"], "queued");
    run["run_id"].as_str().unwrap().to_owned()
}

fn at(ms_from_now: i64) -> Timestamp {
    Timestamp::from_millis(Timestamp::now().millis() + ms_from_now)
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_writes_nothing() {
    let app = TestApp::with(&["--no-worker"]).await;
    let run_id =
        queue_import(&app, json!([{"attendee_id": "a1", "name": "Ann Archer", "email": "ann@example.com"}])).await;
    let store = &app.services.store;
    let first = store.claim_run("dead-worker", Timestamp::now(), 1_000).await.unwrap().expect("claimable");
    assert_eq!(first.run_id, run_id);
    let running = app.get(&format!("/runs/{run_id}"), &app.a.rw).await.ok(200).clone();
    assert_eq!(running["status"], "running");
    assert!(running["started_at"].is_string() && running["terminal_at"].is_null());
    // Not claimable while the lease holds; claimable once it expired.
    assert!(store.claim_run("other", Timestamp::now(), 1_000).await.unwrap().is_none());
    let second = store.claim_run("live-worker", at(5_000), 60_000).await.unwrap().expect("expired lease");
    assert_eq!((second.run_id.as_str(), second.attempts), (run_id.as_str(), 2));

    let stale = Lease { org_id: app.a.org_id.clone(), run_id: run_id.clone(), owner: "dead-worker".into() };
    let err = app.services.imports.process(&first, &stale).await.unwrap_err();
    assert!(err.lost, "{err:?}");
    assert!(app.attendees(&app.a.rw, "ev").await.is_empty(), "the stale worker wrote nothing");
    assert!(!store.extend_lease(&stale, at(60_000)).await.unwrap());

    let live = Lease { org_id: app.a.org_id.clone(), run_id: run_id.clone(), owner: "live-worker".into() };
    app.services.imports.process(&second, &live).await.unwrap();
    let done = app.get(&format!("/runs/{run_id}"), &app.a.rw).await.ok(200).clone();
    assert_eq!(done["status"], "succeeded");
    assert!(done["terminal_at"].is_string());
    assert_eq!(app.attendees(&app.a.rw, "ev").await.len(), 1);
    assert_eq!(app.history(&app.a.rw, "ev", "a1").await.len(), 1);
}

#[tokio::test]
async fn a_run_whose_workers_keep_dying_is_failed_not_retried_forever() {
    let app = TestApp::with(&["--no-worker"]).await;
    let run_id = queue_import(&app, json!([{"attendee_id": "a1", "name": "Ann Archer"}])).await;
    // Three workers claim the run and die (their leases expire unrenewed).
    for i in 0..3 {
        let claimed = app.services.store.claim_run(&format!("doomed-{i}"), at(i * 10_000), 1_000).await.unwrap();
        assert!(claimed.is_some(), "claim {i}");
    }
    // A live worker finds the lease expired and fails the run with a clear error.
    let settings = WorkerSettings { poll: Duration::from_millis(20), ..WorkerSettings::default() };
    let worker = app.services.worker(settings);
    let run = app.services.store.claim_run("live", at(40_000), 60_000).await.unwrap().expect("expired lease");
    assert_eq!(run.attempts, 4);
    let lease = Lease { org_id: app.a.org_id.clone(), run_id: run_id.clone(), owner: "live".into() };
    worker.execute(&run, &lease).await;
    let failed = app.get(&format!("/runs/{run_id}"), &app.a.rw).await.ok(200).clone();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "RUN_ABANDONED");
    assert!(failed["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(failed["terminal_at"].is_string());
    assert!(app.attendees(&app.a.rw, "ev").await.is_empty());
}

#[tokio::test]
async fn runs_recorded_through_post_runs_are_never_executed() {
    let app = TestApp::new().await;
    let run = app.post("/runs", &app.a.rw, &json!({"kind": "import", "idempotency_key": "g"})).await.ok(201).clone();
    // The embedded worker runs; give it time to (not) pick the run up.
    app.event(&app.a.rw, "ev-x").await;
    app.import(&app.a.rw, "ev-x", json!([{"attendee_id": "a", "name": "Some One"}])).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = app.get(&format!("/runs/{}", run["run_id"].as_str().unwrap()), &app.a.rw).await.ok(200).clone();
    assert_eq!(again["status"], "queued");
    assert_eq!(again["started_at"], Value::Null);
}

#[tokio::test]
async fn a_match_worker_that_lost_its_lease_writes_nothing() {
    let app = TestApp::with(&["--no-worker"]).await;
    app.load_encoder().await;
    let store = &app.services.store;
    let lease = |run_id: &str, owner: &str| Lease {
        org_id: app.a.org_id.clone(),
        run_id: run_id.to_owned(),
        owner: owner.into(),
    };
    let person = |id: &str, need: &str, offer: &str| json!({"attendee_id": id, "name": format!("Person {id}"), "raw_data": {"needs": [need], "offers": [offer]}});
    let import = queue_import(
        &app,
        json!([
            person("founder", "seed funding for my fintech startup", "a pilot of our card-issuing API"),
            person("angel", "new portfolio companies to test in the field", "angel investment in early-stage fintech"),
            person("chef", "a sous chef for our bistro kitchen", "catering for your company events"),
        ]),
    )
    .await;
    let run = store.claim_run("importer", Timestamp::now(), 60_000).await.unwrap().expect("the import");
    app.services.imports.process(&run, &lease(&import, "importer")).await.unwrap();

    let r = app.post("/events/ev/match-runs", &app.a.rw, &json!({"idempotency_key": "m", "top_n": 2})).await;
    let run_id = r.ok(202)["run_id"].as_str().unwrap().to_owned();
    let first = store.claim_run("dead-worker", Timestamp::now(), 1_000).await.unwrap().expect("claimable");
    let second = store.claim_run("live-worker", at(5_000), 60_000).await.unwrap().expect("expired lease");
    assert_eq!((first.run_id.as_str(), second.run_id.as_str()), (run_id.as_str(), run_id.as_str()));

    // The new owner finishes first; the old one then finds its lease gone before writing
    // (its rows would collide with the new owner's), and nothing changes.
    app.services.matching.process(&second, &lease(&run_id, "live-worker")).await.unwrap();
    let done = app.get(&format!("/runs/{run_id}"), &app.a.rw).await.ok(200).clone();
    assert_eq!(done["status"], "succeeded", "{done}");
    let err = app.services.matching.process(&first, &lease(&run_id, "dead-worker")).await.unwrap_err();
    assert!(err.lost, "{err:?}");
    // The race the store itself guards against: the old owner's progress checks passed
    // while it held the lease, and it reaches its final write after the new owner
    // committed. Its rows would collide with the new owner's; it gets "lease lost".
    let profile = MatchProfile {
        attendee_id: "founder".into(),
        goal: None,
        goal_category: None,
        needs: Vec::new(),
        offers: Vec::new(),
        sessions: Vec::new(),
    };
    let stale = MatchWrite {
        features: Vec::new(),
        profiles: vec![profile],
        pairs: Vec::new(),
        progress: Default::default(),
        snapshot_metadata: Default::default(),
        version_metadata: Default::default(),
    };
    assert!(!store.save_matches(&lease(&run_id, "dead-worker"), "ev", &stale, Timestamp::now()).await.unwrap());
    let mut after = app.get(&format!("/runs/{run_id}"), &app.a.rw).await.ok(200).clone();
    after["correlation_id"] = done["correlation_id"].clone();
    assert_eq!(after, done);
    let rows = app.get(&format!("/events/ev/matches?run_id={run_id}"), &app.a.rw).await.ok(200).clone();
    let written = done["progress"]["matches_written"].as_u64().unwrap();
    assert!(written > 0);
    assert_eq!(rows["items"].as_array().unwrap().len() as u64, written, "{rows}");
}

#[tokio::test]
async fn a_run_of_a_kind_without_a_handler_fails_with_an_internal_error() {
    let app = TestApp::with(&["--no-worker"]).await;
    let run_id = queue_import(&app, json!([{"attendee_id": "a1", "name": "Ann Archer"}])).await;
    let store = app.services.store.clone();
    let run = store.claim_run("w", Timestamp::now(), 60_000).await.unwrap().expect("claimable");
    let lease = Lease { org_id: app.a.org_id.clone(), run_id: run_id.clone(), owner: "w".into() };
    // A worker whose registry knows no import handler.
    let worker = mingle_service::worker::Worker::new(
        store,
        mingle_service::runs::RunHandlers::default(),
        Default::default(),
        WorkerSettings::default(),
    );
    worker.execute(&run, &lease).await;
    let failed = app.get(&format!("/runs/{run_id}"), &app.a.rw).await.ok(200).clone();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "INTERNAL_ERROR");
    assert_eq!(failed["error"]["message"], "no handler for import runs");
    assert!(app.attendees(&app.a.rw, "ev").await.is_empty());
}

#[tokio::test]
async fn a_worker_in_another_process_is_woken_by_the_database() {
    if !crate::harness::on_postgres() {
        return; // SQLite is served by one process, whose services wake its worker directly.
    }
    let app = TestApp::with(&["--no-worker"]).await;
    // Another process: its own store and services, and a worker that would poll only
    // once a minute.
    let store = mingle_store::connect(&app.database_url).await.unwrap();
    let services = mingle_service::Services::new(store.clone());
    store.forward_run_signals(services.queued.clone()).await.unwrap();
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let settings = WorkerSettings { poll: Duration::from_secs(60), ..WorkerSettings::default() };
    tokio::spawn(services.worker(settings).run(stopped));
    tokio::time::sleep(Duration::from_millis(300)).await; // it has claimed nothing and waits
    let started = std::time::Instant::now();
    let run_id = queue_import(&app, json!([{"attendee_id": "a1", "name": "Ann Archer"}])).await;
    let done = app.wait_run(&app.a.rw, &run_id).await;
    assert_eq!(done["status"], "succeeded");
    assert!(started.elapsed() < Duration::from_secs(20), "woken, not polled: {:?}", started.elapsed());
}
