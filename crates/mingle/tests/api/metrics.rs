//! `GET /metrics`: the Prometheus text exposition, parsed by a Prometheus text parser,
//! with its counters moving as requests, runs and deliveries happen. The recorder is
//! the process's, shared by the tests running beside this one, so request and run
//! counters are checked for having moved at least as much as this test made them move;
//! the queue depth is read from this test's own database, exactly.

use std::time::Duration;

use prometheus_parse::{Sample, Scrape, Value as Prom};
use serde_json::json;

use crate::harness::TestApp;
use crate::receiver::Receiver;

/// One scrape at a time: each sets the queue-depth gauges from its own app's database
/// before rendering, so two at once could render each other's.
static SCRAPES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn scrape(app: &TestApp) -> Vec<Sample> {
    let _one_at_a_time = SCRAPES.lock().await;
    let r = app.request(http::Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = r.body.as_str().expect("a text body").to_owned();
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text format").samples
}

/// The value of the sample `metric` whose labels include `labels` (0 when absent); for a
/// histogram, its count.
fn value(samples: &[Sample], metric: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Prom::Counter(v) | Prom::Gauge(v) | Prom::Untyped(v) => *v,
            Prom::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            Prom::Summary(_) => panic!("no summaries here"),
        })
        .sum()
}

#[tokio::test]
async fn request_run_webhook_and_encoder_metrics_move() {
    let app = TestApp::with(&["--webhook-insecure"]).await;
    app.load_encoder().await;
    app.event(&app.a.rw, "ev").await;
    let before = scrape(&app).await;
    let route = [("method", "GET"), ("route", "/api/v0/partner/events/:event_id")];
    let ok = [route[0], route[1], ("status", "200")];
    let not_found = [route[0], route[1], ("status", "404")];

    for _ in 0..3 {
        app.get("/events/ev", &app.a.rw).await.ok(200);
    }
    app.get("/events/nope", &app.a.rw).await.err(404, "EVENT_NOT_FOUND");
    app.get("/no/such/route", &app.a.rw).await;
    let receiver = Receiver::start(vec![]);
    let body = json!({"idempotency_key": "k", "webhook_url": receiver.url("/h"),
        "attendees": [{"attendee_id": "a1", "name": "Ann", "raw_data": {"needs": ["seed funding"], "offers": ["design reviews"]}}]});
    let run = app.put("/events/ev/attendees:import", &app.a.rw, &body).await.ok(202).clone();
    app.wait_run(&app.a.rw, run["run_id"].as_str().unwrap()).await;
    receiver.wait_hits(1, Duration::from_secs(10)).await;
    let run = app.post("/events/ev/enrichment-runs", &app.a.rw, &json!({"idempotency_key": "e"})).await.ok(202).clone();
    assert_eq!(app.wait_run(&app.a.rw, run["run_id"].as_str().unwrap()).await["status"], "succeeded");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = scrape(&app).await;

    let moved = |metric: &str, labels: &[(&str, &str)]| value(&after, metric, labels) - value(&before, metric, labels);
    assert!(moved("mingle_http_requests_total", &ok) >= 3.0);
    assert!(moved("mingle_http_requests_total", &not_found) >= 1.0);
    assert!(moved("mingle_http_requests_total", &[("route", "unmatched"), ("status", "404")]) >= 1.0);
    assert!(moved("mingle_http_request_duration_seconds", &route) >= 4.0, "the histogram counts every request");
    let succeeded = |kind| [("kind", kind), ("status", "succeeded")];
    assert!(moved("mingle_runs_total", &succeeded("import")) >= 1.0);
    assert!(moved("mingle_runs_total", &succeeded("enrichment")) >= 1.0);
    assert!(moved("mingle_run_duration_seconds", &succeeded("import")) >= 1.0);
    assert!(moved("mingle_webhook_attempts_total", &[("outcome", "delivered")]) >= 1.0);
    assert!(moved("mingle_encoder_texts_total", &[]) >= 2.0, "a need and an offer at least");
    assert!(moved("mingle_encoder_tokens_total", &[]) >= 4.0);
    // No label carries an org or a path with an ID in it.
    for s in &after {
        assert!(s.labels.get("org_id").is_none(), "{s:?}");
        let route = s.labels.get("route").unwrap_or_default();
        assert!(!route.contains("/ev/") && !route.ends_with("/ev"), "{s:?}");
    }
}

#[tokio::test]
async fn queue_depth_counts_this_databases_waiting_runs() {
    let app = TestApp::with(&["--no-worker"]).await;
    app.event(&app.a.rw, "ev").await;
    for key in ["k1", "k2"] {
        let body = json!({"idempotency_key": key, "attendees": [{"attendee_id": "a1", "name": "Ann"}]});
        app.put("/events/ev/attendees:import", &app.a.rw, &body).await.ok(202);
    }
    app.post("/events/ev/enrichment-runs", &app.a.rw, &json!({"idempotency_key": "e"})).await.ok(202);
    let samples = scrape(&app).await;
    let depth = |kind| value(&samples, "mingle_queue_depth", &[("kind", kind)]);
    assert_eq!((depth("import"), depth("enrichment"), depth("match"), depth("webhook")), (2.0, 1.0, 0.0, 0.0));
}

#[tokio::test]
async fn rate_limit_rejections_are_counted() {
    let app = TestApp::with(&["--rate-limit-burst", "1", "--rate-limit-per-sec", "0.001"]).await;
    let count = |s: &[Sample]| value(s, "mingle_rate_limited_total", &[]);
    let before = count(&scrape(&app).await);
    app.get("/auth", &app.a.rw).await.ok(200);
    app.get("/auth", &app.a.rw).await.err(429, "PARTNER_RATE_LIMIT_EXCEEDED");
    app.get("/auth", &app.a.rw).await.err(429, "PARTNER_RATE_LIMIT_EXCEEDED");
    assert!(count(&scrape(&app).await) - before >= 2.0);
}
