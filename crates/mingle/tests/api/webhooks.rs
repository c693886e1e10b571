//! Webhook delivery end to end: runs that end are POSTed to a real local receiver,
//! signed so that an independent Standard Webhooks implementation accepts them, retried
//! on the schedule, and refused for internal addresses outside insecure mode.

use std::time::Duration;

use http::HeaderMap;
use mingle_core::{RunStatus, Timestamp};
use mingle_service::models::{DeliveryStatus, Lease};
use mingle_service::webhooks::{check_destination, Destination, Refusal};
use serde_json::{json, Value};
use standardwebhooks::Webhook;

use crate::harness::TestApp;
use crate::receiver::{Receiver, Reply};

/// An app that may deliver to 127.0.0.1, with a 1 s receiver timeout.
async fn insecure_app() -> TestApp {
    TestApp::with(&["--webhook-insecure", "--webhook-timeout-secs", "1"]).await
}

/// Imports one attendee into a new event of org A with `webhook_url`; returns the
/// ended run.
async fn import_with_hook(app: &TestApp, event_id: &str, webhook_url: &str) -> Value {
    app.event(&app.a.rw, event_id).await;
    let body = json!({
        "idempotency_key": format!("k-{event_id}"),
        "attendees": [{"attendee_id": "a1", "name": "Ann Archer"}],
        "webhook_url": webhook_url,
    });
    let queued = app.put(&format!("/events/{event_id}/attendees:import"), &app.a.rw, &body).await.ok(202).clone();
    app.wait_run(&app.a.rw, queued["run_id"].as_str().unwrap()).await
}

async fn secret_of(app: &TestApp, org_id: &str) -> String {
    app.services.store.get_org(org_id).await.unwrap().unwrap().webhook_secret
}

fn verify(secret: &str, body: &[u8], headers: &HeaderMap) -> bool {
    Webhook::new(secret).unwrap().verify(body, headers).is_ok()
}

/// Waits until the org's newest delivery satisfies `done`.
async fn wait_delivery(
    app: &TestApp,
    done: impl Fn(&mingle_service::models::Delivery) -> bool,
) -> mingle_service::models::Delivery {
    for _ in 0..1500 {
        let list = app.services.webhooks.list(&app.a.org_id, false, 10).await.unwrap();
        if let Some(d) = list.first().filter(|d| done(d)) {
            return d.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the delivery did not reach the expected state");
}

#[tokio::test]
async fn an_ended_run_is_delivered_signed_and_an_independent_verifier_accepts_it() {
    let app = insecure_app().await;
    let receiver = Receiver::start(vec![]);
    let run = import_with_hook(&app, "ev", &receiver.url("/hooks/mingle")).await;
    assert_eq!(run["status"], "succeeded");
    let hits = receiver.wait_hits(1, Duration::from_secs(10)).await;
    let hit = &hits[0];
    assert_eq!(hit.path, "/hooks/mingle");
    assert_eq!(hit.header("content-type"), "application/json");

    // The `standardwebhooks` crate (the specification's reference implementation)
    // accepts the signature with the org's secret, and not with another org's.
    assert!(verify(&secret_of(&app, &app.a.org_id).await, &hit.body, &hit.headers));
    assert!(!verify(&secret_of(&app, &app.b.org_id).await, &hit.body, &hit.headers));
    let stamp: i64 = hit.header("webhook-timestamp").parse().unwrap();
    assert!((Timestamp::now().millis() / 1000 - stamp).abs() < 30);

    // The envelope: the run event's type and time, and the run exactly as the API shows it.
    let body = hit.json();
    assert_eq!(body["type"], "run.succeeded");
    assert_eq!(body["timestamp"], run["terminal_at"]);
    let mut shown = app.get(&format!("/runs/{}", run["run_id"].as_str().unwrap()), &app.a.rw).await.ok(200).clone();
    shown.as_object_mut().unwrap().remove("correlation_id");
    assert_eq!(body["data"], shown);

    // Recorded: one attempt, with the receiver's status and no error.
    let d = wait_delivery(&app, |d| d.status == DeliveryStatus::Succeeded).await;
    assert_eq!(d.delivery_id, hit.header("webhook-id"));
    assert!(d.delivery_id.starts_with("msg_"));
    assert_eq!(
        (d.run_id.as_str(), d.event_type.as_str(), d.attempts),
        (run["run_id"].as_str().unwrap(), "run.succeeded", 1)
    );
    let last = d.last_attempt.unwrap();
    assert_eq!((last.attempt, last.status_code, last.error), (1, Some(204), None));
    assert!(d.delivered_at.is_some() && d.next_attempt_at.is_none());
    // Nothing else arrives: one delivery per run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.hits().len(), 1);
}

#[tokio::test]
async fn a_500_is_retried_after_about_five_seconds_with_the_same_webhook_id() {
    let app = insecure_app().await;
    let receiver = Receiver::start(vec![Reply::Status(500)]);
    import_with_hook(&app, "ev", &receiver.url("/h")).await;
    let first = receiver.wait_hits(1, Duration::from_secs(10)).await;
    let pending = wait_delivery(&app, |d| d.attempts == 1).await;
    assert_eq!(pending.status, DeliveryStatus::Pending);
    let last = pending.last_attempt.unwrap();
    assert_eq!((last.status_code, last.error.as_deref()), (Some(500), Some("HTTP 500")));
    // The schedule's first wait is 5 s, jittered by up to 20%.
    let wait = pending.next_attempt_at.unwrap().millis() - last.attempted_at.millis();
    assert!((3_900..=6_200).contains(&wait), "next attempt {wait} ms after the first");

    let hits = receiver.wait_hits(2, Duration::from_secs(10)).await;
    let gap = hits[1].at - first[0].at;
    assert!(gap >= Duration::from_millis(3_900), "retried after {gap:?}");
    assert_eq!(hits[0].header("webhook-id"), hits[1].header("webhook-id"));
    assert_eq!(hits[0].body, hits[1].body, "the same event");
    let done = wait_delivery(&app, |d| d.status == DeliveryStatus::Succeeded).await;
    assert_eq!(done.attempts, 2);
    let attempts = app.services.webhooks.attempts(&done).await.unwrap();
    assert_eq!(attempts.iter().map(|a| a.status_code).collect::<Vec<_>>(), [Some(500), Some(204)]);
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_in_time_is_retried() {
    let app = insecure_app().await;
    let receiver = Receiver::start(vec![Reply::Slow(Duration::from_secs(3))]);
    import_with_hook(&app, "ev", &receiver.url("/h")).await;
    let pending = wait_delivery(&app, |d| d.attempts == 1).await;
    let last = pending.last_attempt.unwrap();
    assert_eq!((last.status_code, last.error.as_deref()), (None, Some("no answer within 1 s")));
    assert!((900..2_500).contains(&last.latency_ms), "gave up after {} ms", last.latency_ms);
    assert_eq!(pending.status, DeliveryStatus::Pending);
    let hits = receiver.wait_hits(2, Duration::from_secs(12)).await;
    assert_eq!(hits[0].header("webhook-id"), hits[1].header("webhook-id"));
    let done = wait_delivery(&app, |d| d.status == DeliveryStatus::Succeeded).await;
    assert_eq!(done.attempts, 2);
}

#[tokio::test]
async fn retry_after_replaces_the_scheduled_wait() {
    let app = insecure_app().await;
    let receiver = Receiver::start(vec![Reply::RetryAfter(503, "1")]);
    import_with_hook(&app, "ev", &receiver.url("/h")).await;
    let hits = receiver.wait_hits(2, Duration::from_secs(10)).await;
    let gap = hits[1].at - hits[0].at;
    // The schedule alone would wait at least 4 s.
    assert!(gap >= Duration::from_millis(950) && gap < Duration::from_millis(3_500), "retried after {gap:?}");
    let done = wait_delivery(&app, |d| d.status == DeliveryStatus::Succeeded).await;
    let attempts = app.services.webhooks.attempts(&done).await.unwrap();
    assert_eq!(attempts[0].status_code, Some(503));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let app = insecure_app().await;
    let receiver = Receiver::start(vec![Reply::Redirect]);
    import_with_hook(&app, "ev", &receiver.url("/h")).await;
    let pending = wait_delivery(&app, |d| d.attempts == 1).await;
    let last = pending.last_attempt.unwrap();
    assert_eq!(last.status_code, Some(302));
    assert_eq!(last.error.as_deref(), Some("HTTP 302 (redirects are not followed)"));
    assert_eq!(pending.status, DeliveryStatus::Pending);
    let hits = receiver.hits();
    assert_eq!(hits.iter().map(|h| h.path.as_str()).collect::<Vec<_>>(), ["/h"], "never /redirected");
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign_and_either_verifies() {
    let app = insecure_app().await;
    let old = secret_of(&app, &app.a.org_id).await;
    let org = app.services.accounts.rotate_webhook_secret(&app.a.org_id).await.unwrap();
    let new = org.webhook_secret.clone();
    assert!(new.starts_with("whsec_") && new != old);
    assert_eq!(org.previous_webhook_secret.as_deref(), Some(old.as_str()));
    let overlap = org.previous_webhook_secret_until.unwrap().millis() - Timestamp::now().millis();
    assert!((86_390_000..=86_400_000).contains(&overlap), "old secret kept {overlap} ms");

    let receiver = Receiver::start(vec![]);
    import_with_hook(&app, "ev", &receiver.url("/h")).await;
    let hit = &receiver.wait_hits(1, Duration::from_secs(10)).await[0];
    let signatures: Vec<&str> = hit.header("webhook-signature").split(' ').collect();
    assert_eq!(signatures.len(), 2, "{signatures:?}");
    assert!(signatures.iter().all(|s| s.starts_with("v1,")));
    assert!(verify(&new, &hit.body, &hit.headers), "the new secret verifies");
    assert!(verify(&old, &hit.body, &hit.headers), "the old secret verifies during the overlap");
    assert!(!verify(&secret_of(&app, &app.b.org_id).await, &hit.body, &hit.headers));

    // Once the overlap has passed, the replaced secret no longer signs.
    let newest = "whsec_bmV3ZXN0LXNlY3JldC1rZXktZm9yLXRoZS10ZXN0";
    let ended = Timestamp::from_millis(Timestamp::now().millis() - 1);
    assert!(app.services.store.rotate_webhook_secret(&app.a.org_id, newest, ended).await.unwrap());
    import_with_hook(&app, "ev2", &receiver.url("/h")).await;
    let hit = &receiver.wait_hits(2, Duration::from_secs(10)).await[1];
    assert_eq!(hit.header("webhook-signature").split(' ').count(), 1);
    assert!(verify(newest, &hit.body, &hit.headers));
    assert!(!verify(&new, &hit.body, &hit.headers), "the replaced secret stopped signing when its overlap ended");

    let unknown = app.services.accounts.rotate_webhook_secret("00000000-0000-4000-8000-000000000000").await;
    assert_eq!(unknown.unwrap_err().code(), "ORG_NOT_FOUND");
}

#[tokio::test]
async fn redeliver_sends_again_with_the_same_webhook_id() {
    let app = insecure_app().await;
    let receiver = Receiver::start(vec![]);
    import_with_hook(&app, "ev", &receiver.url("/h")).await;
    receiver.wait_hits(1, Duration::from_secs(10)).await;
    let d = wait_delivery(&app, |d| d.status == DeliveryStatus::Succeeded).await;
    let queued = app.services.webhooks.redeliver(&d.delivery_id).await.unwrap();
    assert_eq!(queued.status, DeliveryStatus::Pending);
    let hits = receiver.wait_hits(2, Duration::from_secs(10)).await;
    assert_eq!(hits[1].header("webhook-id"), d.delivery_id);
    assert_eq!(hits[0].body, hits[1].body);
    let again = wait_delivery(&app, |d| d.attempts == 2 && d.status == DeliveryStatus::Succeeded).await;
    assert_eq!(again.delivery_id, d.delivery_id);
    assert_eq!(app.services.webhooks.redeliver("msg_nope").await.unwrap_err().code(), "DELIVERY_NOT_FOUND");
}

#[tokio::test]
async fn the_outbox_row_is_written_with_the_terminal_status_and_never_without_it() {
    let app = TestApp::with(&["--no-worker", "--webhook-insecure"]).await;
    app.event(&app.a.rw, "ev").await;
    let body = json!({"idempotency_key": "k", "attendees": [{"attendee_id": "a1", "name": "Ann"}],
                      "webhook_url": "http://127.0.0.1:9/h"});
    let queued = app.put("/events/ev/attendees:import", &app.a.rw, &body).await.ok(202).clone();
    let store = &app.services.store;
    let run = store.claim_run("w", Timestamp::now(), 60_000).await.unwrap().unwrap();
    assert_eq!(run.run_id, queued["run_id"]);
    // A queued or running run has no delivery.
    assert!(store.list_deliveries(&app.a.org_id, false, 10).await.unwrap().is_empty());
    // A worker that lost its lease ends nothing and queues nothing.
    let stale = Lease { org_id: app.a.org_id.clone(), run_id: run.run_id.clone(), owner: "other".into() };
    let error = json!({"code": "X", "message": "x"});
    assert!(!store.finish_run(&stale, RunStatus::Failed, None, Some(&error), Timestamp::now()).await.unwrap());
    assert!(store.list_deliveries(&app.a.org_id, false, 10).await.unwrap().is_empty());
    // Failing it queues exactly one run.failed delivery, due at once.
    let lease = Lease { owner: "w".into(), ..stale };
    assert!(store.finish_run(&lease, RunStatus::Failed, None, Some(&error), Timestamp::now()).await.unwrap());
    let list = store.list_deliveries(&app.a.org_id, false, 10).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].event_type.as_str(), list[0].status, list[0].attempts),
        ("run.failed", DeliveryStatus::Pending, 0)
    );
    assert!(list[0].next_attempt_at.unwrap() <= Timestamp::now());
    assert!(store.list_deliveries(&app.b.org_id, false, 10).await.unwrap().is_empty(), "org B sees none");
    // Claimed by one sender, it is neither claimable by another nor redeliverable.
    let held = store.claim_delivery("sender-1", Timestamp::now(), 60_000).await.unwrap().unwrap();
    assert_eq!(held.delivery_id, list[0].delivery_id);
    assert!(store.claim_delivery("sender-2", Timestamp::now(), 60_000).await.unwrap().is_none());
    let in_flight = app.services.webhooks.redeliver(&held.delivery_id).await.unwrap_err();
    assert_eq!(in_flight.code(), "DELIVERY_IN_FLIGHT");
    // Once its claim expired (the sender died), another sender takes it over.
    let later = Timestamp::from_millis(Timestamp::now().millis() + 61_000);
    let taken = store.claim_delivery("sender-2", later, 60_000).await.unwrap().unwrap();
    assert_eq!(taken.delivery_id, held.delivery_id);
    // Runs without a webhook_url queue none.
    app.event(&app.a.rw, "quiet").await;
    let body = json!({"idempotency_key": "k2", "attendees": [{"attendee_id": "a2", "name": "Bo"}]});
    app.put("/events/quiet/attendees:import", &app.a.rw, &body).await.ok(202);
    let run = store.claim_run("w", Timestamp::now(), 60_000).await.unwrap().unwrap();
    let lease = Lease { org_id: app.a.org_id.clone(), run_id: run.run_id, owner: "w".into() };
    assert!(store.finish_run(&lease, RunStatus::Failed, None, Some(&error), Timestamp::now()).await.unwrap());
    assert_eq!(store.list_deliveries(&app.a.org_id, false, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_ssrf_guard_refuses_internal_addresses_unless_insecure() {
    for url in [
        "https://127.0.0.1/h",
        "https://10.0.0.1/h",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/h",
        "https://[::ffff:127.0.0.1]/h",
        "https://[::ffff:a9fe:a9fe]/h",
        "https://localhost:8443/h",
    ] {
        match check_destination(url, false).await {
            Err(Refusal::Refused(why)) => assert!(why.starts_with("refused: "), "{url}: {why}"),
            other => panic!("{url} was not refused: {other:?}"),
        }
        assert!(check_destination(url, true).await.is_ok(), "{url} is allowed in insecure mode");
    }
    // A host name is resolved once and the connection pinned to what was checked.
    let d = check_destination("http://localhost:9/h", true).await.unwrap();
    let (host, addrs) = d.pinned.unwrap();
    assert_eq!(host, "localhost");
    assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    assert!(check_destination("https://8.8.8.8/h", false).await.unwrap().pinned.is_none());
    // The client connects to the pinned addresses and never looks the host up: a name
    // that cannot resolve (`.invalid`) reaches the receiver it was pinned to.
    let receiver = Receiver::start(vec![]);
    let port = receiver.addr.port();
    let pinned = Destination {
        url: format!("http://hooks.example.invalid:{port}/pinned").parse().unwrap(),
        pinned: Some(("hooks.example.invalid".into(), vec![receiver.addr])),
    };
    let sent = pinned.client(Duration::from_secs(2)).unwrap().post(pinned.url.clone()).body("{}").send().await.unwrap();
    assert_eq!(sent.status(), 204);
    let hit = &receiver.wait_hits(1, Duration::from_secs(5)).await[0];
    assert_eq!((hit.path.as_str(), hit.header("host")), ("/pinned", format!("hooks.example.invalid:{port}").as_str()));
    assert_eq!(
        check_destination("http://93.184.216.34/h", false).await.unwrap_err(),
        Refusal::Refused("scheme 'http' refused: webhooks use https".into())
    );
}

#[tokio::test]
async fn a_delivery_to_an_internal_address_fails_at_once_and_sends_nothing() {
    let app = TestApp::with(&["--webhook-timeout-secs", "1"]).await;
    // A bare TCP listener: any connection attempt, TLS or not, would show as accepted.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("https://localhost:{}/h", listener.local_addr().unwrap().port());
    let run = import_with_hook(&app, "ev", &url).await;
    assert_eq!(run["status"], "succeeded");
    let d = wait_delivery(&app, |d| d.status == DeliveryStatus::Failed).await;
    let last = d.last_attempt.unwrap();
    assert_eq!((d.attempts, last.status_code), (1, None));
    let why = last.error.unwrap();
    assert!(why.starts_with("refused: 'localhost' resolves to ") && why.ends_with("(loopback)"), "{why}");
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing may connect to the refused address: {accepted:?}"
    );
    let failed = app.services.webhooks.list(&app.a.org_id, true, 10).await.unwrap();
    assert_eq!(failed.iter().map(|d| d.delivery_id.as_str()).collect::<Vec<_>>(), [d.delivery_id.as_str()]);
}
