//! `POST /events/:event_id/enrichment-runs`: counters, skipping, the embedding cache,
//! idempotency, every error code, and the failure without a model.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mingle_encoder::{Encoder, EncoderError, MiniLm};
use serde_json::{json, Value};

use crate::harness::TestApp;

/// The real encoder, counting the texts it is asked to encode.
struct Counting {
    inner: MiniLm,
    texts: AtomicUsize,
}

impl Encoder for Counting {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        self.inner.encode(texts)
    }
}

fn counting_encoder(app: &TestApp) -> Arc<Counting> {
    let encoder = Arc::new(Counting {
        inner: MiniLm::load(&mingle_encoder::installed_model_dir()).expect("model installed (scripts/fetch-model)"),
        texts: AtomicUsize::new(0),
    });
    app.services.encoder.set_ready(encoder.clone());
    encoder
}

fn attendee(id: &str, name: &str, goal: &str, needs: &[&str], offers: &[&str]) -> Value {
    json!({"attendee_id": id, "name": name, "email": format!("{id}@example.com"), "title": "Head of Engineering",
        "raw_data": {"goal": goal, "needs": needs, "offers": offers, "interests": ["ai"]}})
}

async fn enrich(app: &TestApp, event: &str, key: &str) -> Value {
    let r = app.post(&format!("/events/{event}/enrichment-runs"), &app.a.rw, &json!({"idempotency_key": key})).await;
    let run = r.ok(202).clone();
    assert_eq!(run["kind"], "enrichment");
    assert_eq!(run["event_id"], event);
    assert_eq!(run["progress"], json!({"total": 0, "processed": 0, "enriched": 0, "skipped": 0, "failed": 0}));
    app.wait_run(&app.a.rw, run["run_id"].as_str().unwrap()).await
}

#[tokio::test]
async fn enrichment_enriches_then_skips_unchanged_and_encodes_each_text_once() {
    let app = TestApp::new().await;
    let encoder = counting_encoder(&app);
    app.event(&app.a.rw, "ev").await;
    let rows = json!([
        attendee("a1", "Ann Archer", "Raise a seed round", &["seed funding"], &["product advice"]),
        attendee("a2", "Bo Baker", "Invest in fintech startups", &["dealflow"], &["angel investment", "seed funding"]),
        attendee("a3", "Cy Cole", "Hire engineers", &["senior engineers"], &["mentoring"]),
    ]);
    app.import(&app.a.rw, "ev", rows.clone()).await;
    let run = enrich(&app, "ev", "e1").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["progress"], json!({"total": 3, "processed": 3, "enriched": 3, "skipped": 0, "failed": 0}));
    let features = app.services.store.event_features(&app.a.org_id, "ev").await.unwrap();
    let found: Vec<_> = features
        .iter()
        .map(|f| (f.attendee_id.as_str(), f.goal_category.as_deref(), f.seniority.as_deref(), f.function.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            ("a1", Some("fundraising"), Some("director"), Some("engineering")),
            ("a2", Some("investing"), Some("director"), Some("engineering")),
            ("a3", Some("hiring"), Some("director"), Some("engineering")),
        ]
    );
    assert!(features.iter().all(|f| f.goal_score.is_some_and(|p| p > 0.0 && p <= 1.0)));
    assert_eq!(features[1].features["offers"], json!(["angel investment", "seed funding"]));
    let first = encoder.texts.load(Ordering::SeqCst);
    // 3 goals + 6 distinct needs and offers ("seed funding" is both a need and an offer,
    // and is encoded once).
    assert_eq!(first, 3 + 6, "each distinct text encoded once");

    // Nothing changed: every attendee is skipped, nothing is encoded.
    let run = enrich(&app, "ev", "e2").await;
    assert_eq!(run["progress"], json!({"total": 3, "processed": 3, "enriched": 0, "skipped": 3, "failed": 0}));
    assert_eq!(encoder.texts.load(Ordering::SeqCst), first);

    // One goal changes: one attendee is enriched, one new text encoded.
    let mut changed = rows.clone();
    changed[0]["raw_data"]["goal"] = json!("Close our series A");
    app.import(&app.a.rw, "ev", changed).await;
    let run = enrich(&app, "ev", "e3").await;
    assert_eq!(run["progress"], json!({"total": 3, "processed": 3, "enriched": 1, "skipped": 2, "failed": 0}));
    assert_eq!(encoder.texts.load(Ordering::SeqCst), first + 1);

    // Another event with the same texts: the org's cache answers, nothing is encoded.
    app.event(&app.a.rw, "ev2").await;
    app.import(&app.a.rw, "ev2", rows).await;
    let run = enrich(&app, "ev2", "e4").await;
    assert_eq!(run["progress"]["enriched"], 3);
    assert_eq!(encoder.texts.load(Ordering::SeqCst), first + 1);
}

#[tokio::test]
async fn the_listing_shows_the_enriched_answers_while_they_are_current() {
    let app = TestApp::new().await;
    counting_encoder(&app);
    app.event(&app.a.rw, "ev").await;
    let row = |goal: &str| {
        json!([{"attendee_id": "a1", "name": "Ann Archer", "title": "CTO", "raw_data": {
            "goal": goal, "needs": [" seed  funding", "Seed funding", "intros to banks "], "interests": ["ai"]}}])
    };
    app.import(&app.a.rw, "ev", row("  Raise   a seed round ")).await;
    let before = &app.attendees(&app.a.rw, "ev").await["a1"]["event"];
    assert_eq!(before["goal"], "  Raise   a seed round ", "as imported until enriched");
    assert_eq!(before["needs"], json!([" seed  funding", "Seed funding", "intros to banks "]));

    assert_eq!(enrich(&app, "ev", "e1").await["status"], "succeeded");
    let after = &app.attendees(&app.a.rw, "ev").await["a1"]["event"];
    assert_eq!(after["goal"], "Raise a seed round");
    assert_eq!(after["needs"], json!(["seed funding", "intros to banks"]), "trimmed, repeats dropped");
    assert_eq!(after["offers"], Value::Null, "a field never set stays null");

    // A re-import changes the goal: the old enrichment no longer describes the answers,
    // so the listing shows them as imported until the next enrichment.
    app.import(&app.a.rw, "ev", row("Hire  two engineers")).await;
    let stale = &app.attendees(&app.a.rw, "ev").await["a1"]["event"];
    assert_eq!(stale["goal"], "Hire  two engineers");
    assert_eq!(stale["needs"], json!([" seed  funding", "Seed funding", "intros to banks "]));
    enrich(&app, "ev", "e2").await;
    assert_eq!(app.attendees(&app.a.rw, "ev").await["a1"]["event"]["goal"], "Hire two engineers");
}

#[tokio::test]
async fn replays_conflicts_and_errors() {
    let app = TestApp::new().await;
    counting_encoder(&app);
    app.event(&app.a.rw, "ev").await;
    app.event(&app.a.rw, "ev2").await;
    let body = json!({"idempotency_key": "k1", "webhook_url": "https://example.com/hook"});
    let first = app.post("/events/ev/enrichment-runs", &app.a.rw, &body).await.ok(202).clone();
    assert_eq!(first["webhook_url"], "https://example.com/hook");
    let replay = app.post("/events/ev/enrichment-runs", &app.a.rw, &body).await;
    assert_eq!(replay.ok(200)["run_id"], first["run_id"]);
    app.post("/events/ev2/enrichment-runs", &app.a.rw, &body).await.err(409, "IDEMPOTENCY_KEY_CONFLICT");
    app.post("/events/ev/enrichment-runs", &app.a.rw, &json!({"idempotency_key": "k1"}))
        .await
        .err(409, "IDEMPOTENCY_KEY_CONFLICT");
    for (body, code, field) in [
        (json!({}), "INVALID_IDEMPOTENCY_KEY", "idempotency_key"),
        (json!({"idempotency_key": ""}), "INVALID_IDEMPOTENCY_KEY", "idempotency_key"),
        (json!({"idempotency_key": "k", "webhook_url": "http://example.com"}), "INVALID_WEBHOOK_URL", "webhook_url"),
    ] {
        let r = app.post("/events/ev/enrichment-runs", &app.a.rw, &body).await;
        r.err(400, code);
        assert_eq!(r.field(), field);
    }
    app.post_raw("/events/ev/enrichment-runs", &app.a.rw, "nope").await.err(400, "INVALID_JSON");
    app.post("/events/bad%20id/enrichment-runs", &app.a.rw, &json!({})).await.err(400, "INVALID_PARTNER_ID");
    app.post("/events/missing/enrichment-runs", &app.a.rw, &json!({})).await.err(400, "INVALID_IDEMPOTENCY_KEY");
    app.post("/events/missing/enrichment-runs", &app.a.rw, &json!({"idempotency_key": "k9"}))
        .await
        .err(404, "EVENT_NOT_FOUND");
    app.post("/events/ev/enrichment-runs", &app.b.rw, &json!({"idempotency_key": "k9"}))
        .await
        .err(404, "EVENT_NOT_FOUND");
    app.post("/events/ev/enrichment-runs", &app.a.ro, &json!({"idempotency_key": "k9"}))
        .await
        .err(403, "INSUFFICIENT_SCOPE");
}

#[tokio::test]
async fn without_a_model_the_run_fails_with_model_unavailable() {
    let app = TestApp::with(&["--model-dir", "/nonexistent/model"]).await;
    app.load_encoder().await;
    app.event(&app.a.rw, "ev").await;
    app.import(&app.a.rw, "ev", json!([attendee("a1", "Ann Archer", "Hire", &[], &[])])).await;
    let run = enrich(&app, "ev", "k").await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error"]["code"], "MODEL_UNAVAILABLE");
    assert!(run["error"]["message"].as_str().unwrap().contains("/nonexistent/model"), "{run}");
    assert!(run["terminal_at"].is_string());
}
