//! `POST /runs`, `GET /runs`, `GET /runs/:run_id` and idempotency.

use http::Method;
use serde_json::{json, Value};

use crate::harness::{TestApp, BASE};

const RUN_FIELDS: [&str; 14] = [
    "run_id",
    "kind",
    "status",
    "event_id",
    "idempotency_key",
    "progress",
    "error",
    "snapshot_metadata",
    "version_metadata",
    "webhook_url",
    "created_at",
    "updated_at",
    "started_at",
    "terminal_at",
];

#[tokio::test]
async fn create_records_a_queued_run_with_every_field() {
    let app = TestApp::new().await;
    let body = json!({"kind": "match", "idempotency_key": "k-1", "progress": {"done": 3},
        "snapshot_metadata": {"snap": [1, 2]}, "version_metadata": {"v": "1"}, "webhook_url": "https://example.com/hook"});
    let run = app.post("/runs", &app.a.rw, &body).await.ok(201).clone();
    for f in RUN_FIELDS {
        assert!(run.get(f).is_some(), "run lacks {f}");
    }
    assert!(uuid::Uuid::parse_str(run["run_id"].as_str().unwrap()).is_ok());
    assert_eq!(run["kind"], "match");
    assert_eq!(run["status"], "queued");
    assert_eq!(run["event_id"], Value::Null);
    assert_eq!(run["idempotency_key"], "k-1");
    assert_eq!(run["progress"], json!({"done": 3}));
    assert_eq!(run["error"], Value::Null);
    assert_eq!(run["snapshot_metadata"], json!({"snap": [1, 2]}));
    assert_eq!(run["version_metadata"], json!({"v": "1"}));
    assert_eq!(run["webhook_url"], "https://example.com/hook");
    assert_eq!(run["started_at"], Value::Null);
    assert_eq!(run["terminal_at"], Value::Null);
    assert_eq!(run["created_at"].as_str().unwrap().len(), 24);

    let got = app.get(&format!("/runs/{}", run["run_id"].as_str().unwrap()), &app.a.rw).await.ok(200).clone();
    for f in RUN_FIELDS {
        assert_eq!(got[f], run[f], "{f}");
    }
    // Defaults: empty objects, no webhook.
    let bare = app.post("/runs", &app.a.rw, &json!({"kind": "import", "idempotency_key": "k-2"})).await.ok(201).clone();
    assert_eq!(bare["progress"], json!({}));
    assert_eq!(bare["snapshot_metadata"], json!({}));
    assert_eq!(bare["version_metadata"], json!({}));
    assert_eq!(bare["webhook_url"], Value::Null);
}

#[tokio::test]
async fn replays_return_the_original_run_and_conflicts_are_409() {
    let app = TestApp::new().await;
    let first = app
        .post_raw(
            "/runs",
            &app.a.rw,
            r#"{"kind": "enrichment", "idempotency_key": "same", "progress": {"a": 1, "b": 2}}"#,
        )
        .await;
    let first = first.ok(201).clone();
    // Same body, other key order and whitespace, through the alias path: a replay.
    let replay = app
        .request(
            Method::POST,
            "/v0/partner/runs",
            Some(&app.a.rw),
            Some(br#"{"progress":{"b":2,"a":1},"idempotency_key":"same","kind":"enrichment"}"#.to_vec()),
        )
        .await;
    assert_eq!(replay.ok(200)["run_id"], first["run_id"]);
    assert_eq!(replay.body["created_at"], first["created_at"]);
    // Same key, other body: a conflict.
    let r = app.post("/runs", &app.a.rw, &json!({"kind": "match", "idempotency_key": "same"})).await;
    r.err(409, "IDEMPOTENCY_KEY_CONFLICT");
    let r = app
        .post("/runs", &app.a.rw, &json!({"kind": "enrichment", "idempotency_key": "same", "progress": {"a": 1}}))
        .await;
    r.err(409, "IDEMPOTENCY_KEY_CONFLICT");
    // Keys belong to an org: org B may use the same key.
    app.post("/runs", &app.b.rw, &json!({"kind": "match", "idempotency_key": "same"})).await.ok(201);
    let list = app.get("/runs", &app.a.rw).await.ok(200).clone();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "replays and conflicts created nothing");
}

#[tokio::test]
async fn rejected_requests_do_not_use_up_the_key() {
    let app = TestApp::new().await;
    app.post("/runs", &app.a.rw, &json!({"kind": "nope", "idempotency_key": "fresh"}))
        .await
        .err(400, "INVALID_RUN_KIND");
    app.post("/runs", &app.a.rw, &json!({"kind": "match", "idempotency_key": "fresh"})).await.ok(201);
}

#[tokio::test]
async fn concurrent_identical_calls_create_one_run() {
    let app = TestApp::new().await;
    let body = json!({"kind": "import", "idempotency_key": "race"});
    let calls = (0..16).map(|_| app.post("/runs", &app.a.rw, &body));
    let results = futures_util::future::join_all(calls).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let replayed = results.iter().filter(|r| r.status == 200).count();
    assert_eq!((created, replayed), (1, 15));
    let ids: std::collections::HashSet<_> = results.iter().map(|r| r.body["run_id"].clone()).collect();
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn run_validation_errors_in_reference_order() {
    let app = TestApp::new().await;
    let big = json!({"blob": "x".repeat(64 * 1024)});
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"idempotency_key": "k"}), "INVALID_RUN_KIND", "kind"),
        (json!({"kind": "other", "idempotency_key": "k"}), "INVALID_RUN_KIND", "kind"),
        (json!({"kind": 1}), "INVALID_RUN_KIND", "kind"),
        (json!({"kind": "match"}), "INVALID_IDEMPOTENCY_KEY", "idempotency_key"),
        (json!({"kind": "match", "idempotency_key": ""}), "INVALID_IDEMPOTENCY_KEY", "idempotency_key"),
        (json!({"kind": "match", "idempotency_key": "k".repeat(256)}), "INVALID_IDEMPOTENCY_KEY", "idempotency_key"),
        (json!({"kind": "match", "idempotency_key": "naïve"}), "INVALID_IDEMPOTENCY_KEY", "idempotency_key"),
        (json!({"kind": "match", "idempotency_key": 7}), "INVALID_IDEMPOTENCY_KEY", "idempotency_key"),
        (json!({"kind": "match", "idempotency_key": "k", "progress": [1]}), "INVALID_PROGRESS", "progress"),
        // Found by scripts/fuzz: a counter mingle reports is a count wherever it appears.
        (json!({"kind": "match", "idempotency_key": "k", "progress": {"total": "3"}}), "INVALID_PROGRESS", "progress"),
        (json!({"kind": "match", "idempotency_key": "k", "progress": {"failed": -1}}), "INVALID_PROGRESS", "progress"),
        (
            json!({"kind": "match", "idempotency_key": "k", "progress": {"processed": 1.5}}),
            "INVALID_PROGRESS",
            "progress",
        ),
        (json!({"kind": "match", "idempotency_key": "k", "progress": big}), "INVALID_PROGRESS", "progress"),
        (
            json!({"kind": "match", "idempotency_key": "k", "snapshot_metadata": "x"}),
            "INVALID_SNAPSHOT_METADATA",
            "snapshot_metadata",
        ),
        (
            json!({"kind": "match", "idempotency_key": "k", "version_metadata": 1}),
            "INVALID_VERSION_METADATA",
            "version_metadata",
        ),
        (
            json!({"kind": "match", "idempotency_key": "k", "webhook_url": "http://example.com/h"}),
            "INVALID_WEBHOOK_URL",
            "webhook_url",
        ),
        (
            json!({"kind": "match", "idempotency_key": "k", "webhook_url": "not a url"}),
            "INVALID_WEBHOOK_URL",
            "webhook_url",
        ),
        (json!({"kind": "match", "idempotency_key": "k", "webhook_url": 5}), "INVALID_WEBHOOK_URL", "webhook_url"),
        (
            json!({"kind": "match", "idempotency_key": "k", "webhook_url": format!("https://e.com/{}", "a".repeat(2040))}),
            "INVALID_WEBHOOK_URL",
            "webhook_url",
        ),
        (json!({"kind": "bad", "idempotency_key": "", "progress": 1}), "INVALID_RUN_KIND", "kind"),
    ];
    for (body, code, field) in cases {
        let r = app.post("/runs", &app.a.rw, &body).await;
        r.err(400, code);
        assert_eq!(r.field(), field, "{body}");
    }
    app.post_raw("/runs", &app.a.rw, "[]").await.err(400, "INVALID_JSON");
    let list = app.get("/runs", &app.a.rw).await.ok(200).clone();
    assert_eq!(list["items"], json!([]), "rejected requests wrote nothing");
}

#[tokio::test]
async fn http_webhooks_are_accepted_in_insecure_mode() {
    let app = TestApp::with(&["--webhook-insecure"]).await;
    let r = app
        .post(
            "/runs",
            &app.a.rw,
            &json!({"kind": "match", "idempotency_key": "k", "webhook_url": "http://127.0.0.1:9/h"}),
        )
        .await;
    assert_eq!(r.ok(201)["webhook_url"], "http://127.0.0.1:9/h");
}

#[tokio::test]
async fn get_run_checks_the_id_and_the_org() {
    let app = TestApp::new().await;
    let run = app.post("/runs", &app.a.rw, &json!({"kind": "match", "idempotency_key": "k"})).await.ok(201).clone();
    let id = run["run_id"].as_str().unwrap();
    // Found by review of the fuzzing work: the braced, URN and bare-hex forms the `uuid`
    // crate reads are not the `format: uuid` the document publishes.
    let bare = id.replace('-', "");
    let (braced, urn) = (format!("%7B{id}%7D"), format!("urn:uuid:{id}"));
    for bad in ["not-a-uuid", "123", "0190a5c4-1b2c-7d3e-8f40-123456789abcd", &bare, &braced, &urn] {
        let r = app.get(&format!("/runs/{bad}"), &app.a.rw).await;
        r.err(400, "INVALID_RUN_ID");
        assert_eq!(r.field(), "run_id");
    }
    app.get(&format!("/runs/{}", uuid::Uuid::new_v4()), &app.a.rw).await.err(404, "RUN_NOT_FOUND");
    app.get(&format!("/runs/{id}"), &app.b.rw).await.err(404, "RUN_NOT_FOUND");
    // Upper-case spelling of the same UUID finds the run.
    assert_eq!(app.get(&format!("/runs/{}", id.to_uppercase()), &app.a.rw).await.ok(200)["run_id"], id);
    let r = app.request(Method::GET, &format!("{BASE}/runs/{id}"), Some(&app.b.ro), None).await;
    r.err(404, "RUN_NOT_FOUND");
}

#[tokio::test]
async fn list_runs_newest_first_and_by_kind() {
    let app = TestApp::new().await;
    for (i, kind) in ["import", "match", "import", "enrichment"].iter().enumerate() {
        app.post("/runs", &app.a.rw, &json!({"kind": kind, "idempotency_key": format!("k{i}")})).await.ok(201);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    app.post("/runs", &app.b.rw, &json!({"kind": "import", "idempotency_key": "b"})).await.ok(201);
    let all = app.get("/runs", &app.a.rw).await.ok(200).clone();
    let keys: Vec<_> =
        all["items"].as_array().unwrap().iter().map(|r| r["idempotency_key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["k3", "k2", "k1", "k0"]);
    let imports = app.get("/runs?kind=import", &app.a.rw).await.ok(200).clone();
    let keys: Vec<_> =
        imports["items"].as_array().unwrap().iter().map(|r| r["idempotency_key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["k2", "k0"]);
    for item in all["items"].as_array().unwrap() {
        for f in RUN_FIELDS {
            assert!(item.get(f).is_some(), "list item lacks {f}");
        }
    }
    for bad in ["other", "", "IMPORT"] {
        let r = app.get(&format!("/runs?kind={bad}"), &app.a.rw).await;
        r.err(400, "INVALID_RUN_KIND");
    }
    // Paging through one kind stays within the kind.
    let paged = crate::harness::walk(&app, "/runs?kind=import", &app.a.rw, &[1]).await;
    assert_eq!(paged.len(), 2);
}

#[tokio::test]
async fn whole_numbers_are_counts_however_they_are_written() {
    // Found by scripts/fuzz: `3861799208039110.0` is a whole number, but serde_json's fast
    // float parsing read it one ULP off, as a fraction, and the counter was refused.
    let app = TestApp::new().await;
    for (i, n) in ["3861799208039110.0", "3.86179920803911e+15", "17.0", "17"].iter().enumerate() {
        let body = format!(r#"{{"kind": "import", "idempotency_key": "k{i}", "progress": {{"processed": {n}}}}}"#);
        app.post_raw("/runs", &app.a.rw, &body).await.ok(201);
    }
    let body = r#"{"kind": "import", "idempotency_key": "k9", "progress": {"processed": 17.5}}"#;
    app.post_raw("/runs", &app.a.rw, body).await.err(400, "INVALID_PROGRESS");
}
