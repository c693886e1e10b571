//! Match run speed and memory, embeddings already computed; prints, asserts nothing.
//!
//!     MINGLE_BENCH_ROWS=50000 cargo bench -p mingle --bench matching_speed
//!
//! Imports N attendees (default 10,000) with 1-3 needs and 1-3 offers each, every text
//! distinct, through the router; runs an enrichment run so that every feature and
//! embedding is stored; then times a match run with `top_n` 10 from its claim
//! (`started_at`) to `succeeded` (`terminal_at`), and reads the process's peak memory.
//!
//! Embeddings come from a stand-in encoder (each word a fixed pseudo-random direction,
//! a text the normalized sum of its words' directions): encoding 250,000 texts with the
//! real model would take minutes and is measured by the enrichment benchmark; the match
//! run reads the cached vectors either way, and the stand-in keeps texts that share
//! words close, as real embeddings do, so candidate search sees realistic structure.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mingle_encoder::{Encoder, EncoderError};
use serde_json::{json, Value};

struct WordHashEncoder;

impl Encoder for WordHashEncoder {
    fn model_id(&self) -> &str {
        "bench-word-hash"
    }
    fn dimension(&self) -> usize {
        384
    }
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0.0f32; 384];
                for word in t.split_whitespace() {
                    let mut h = word
                        .bytes()
                        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
                    for x in v.iter_mut() {
                        h ^= h << 13;
                        h ^= h >> 7;
                        h ^= h << 17;
                        *x += (h % 2001) as f32 / 1000.0 - 1.0;
                    }
                }
                mingle_core::vector::normalize(&mut v);
                v
            })
            .collect())
    }
}

const TOPICS: [&str; 24] = [
    "seed funding",
    "angel investment",
    "backend engineers",
    "design agency",
    "clinical trial sites",
    "solar panels",
    "warehouse space",
    "data pipelines",
    "security audits",
    "retail distribution",
    "podcast guests",
    "grant writing",
    "mobile apps",
    "supply chain software",
    "legal advice",
    "cloud credits",
    "pilot customers",
    "sales leads",
    "robotics parts",
    "music licensing",
    "event venues",
    "mentorship",
    "market research",
    "translation services",
];
const PLACES: [&str; 12] = [
    "in Berlin",
    "for Europe",
    "in Austin",
    "across LATAM",
    "in Singapore",
    "for the Nordics",
    "in Lagos",
    "in Toronto",
    "for healthcare",
    "for fintech",
    "for retail",
    "for climate",
];

fn row(i: usize) -> Value {
    let items = |kind: &str, k: usize| -> Vec<String> {
        (0..1 + (i + k) % 3)
            .map(|j| {
                let t = TOPICS[(i * 7 + j * 5 + k) % TOPICS.len()];
                let p = PLACES[(i / 3 + j + k) % PLACES.len()];
                format!("{kind} {t} {p} ref {i}-{j}")
            })
            .collect()
    };
    json!({"attendee_id": format!("att-{i:06}"), "name": format!("Person {i}"),
        "raw_data": {"goal": format!("Meet partners for {} {} ({i})", TOPICS[i % 24], PLACES[i % 12]),
            "needs": items("looking for", 0), "offers": items("can provide", 1)}})
}

async fn wait(app: &common::BenchApp, run_id: &str) -> Value {
    loop {
        let (_, run) = common::call(&app.app, app.request("GET", &format!("/runs/{run_id}"), None)).await;
        if ["succeeded", "partial", "failed"].contains(&run["status"].as_str().unwrap_or_default()) {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn millis(run: &Value, key: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(run[key].as_str().unwrap()).unwrap().timestamp_millis()
}

#[tokio::main]
async fn main() {
    // The run's phase timings (mingle_service logs them at info).
    tracing_subscriber::fmt()
        .with_env_filter("mingle_service::matching=info,mingle_service::enrichment=debug")
        .with_writer(std::io::stderr)
        .init();
    let n: usize = std::env::var("MINGLE_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let app = common::BenchApp::new().await;
    app.services.encoder.set_ready(Arc::new(WordHashEncoder));
    let post = |path: &str, body: Value| app.request("POST", path, Some(body.to_string().into_bytes()));
    let (status, _) = common::call(&app.app, post("/events", json!({"event_id": "ev", "title": "Bench"}))).await;
    assert_eq!(status, 201);
    let rows: Vec<Value> = (0..n).map(row).collect();
    let body = json!({"idempotency_key": "import", "attendees": rows}).to_string().into_bytes();
    let (_, run) = common::call(&app.app, app.request("PUT", "/events/ev/attendees:import", Some(body))).await;
    let run = wait(&app, run["run_id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, run) =
        common::call(&app.app, post("/events/ev/enrichment-runs", json!({"idempotency_key": "enrich"}))).await;
    let run = wait(&app, run["run_id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    println!(
        "{n} attendees imported and enriched (every text's embedding cached); peak so far {:.0} MiB",
        common::peak_rss_mib()
    );

    let start = Instant::now();
    let (_, run) =
        common::call(&app.app, post("/events/ev/match-runs", json!({"idempotency_key": "match", "top_n": 10}))).await;
    let run = wait(&app, run["run_id"].as_str().unwrap()).await;
    let wall = start.elapsed();
    assert_eq!(run["status"], "succeeded", "{run}");
    let claim_to_done = millis(&run, "terminal_at") - millis(&run, "started_at");
    println!("match run, top_n 10, {n} attendees:");
    println!("  claim to succeeded       {:.2} s", claim_to_done as f64 / 1000.0);
    println!("  POST to succeeded (poll) {:.2} s", wall.as_secs_f64());
    println!(
        "  created to claim         {:.2} s",
        (millis(&run, "started_at") - millis(&run, "created_at")) as f64 / 1000.0
    );
    println!("  progress                 {}", run["progress"]);
    println!("  peak memory (VmHWM)      {:.0} MiB", common::peak_rss_mib());
}
