//! Enrichment benchmark: import N attendees (default 10,000), then time a cold
//! enrichment run (empty embedding cache) and a warm one (nothing changed: every
//! attendee skipped). Prints; asserts nothing. Needs the model (scripts/fetch-model).
//!
//!     cargo bench -p mingle --bench enrichment
//!     MINGLE_BENCH_ROWS=50000 cargo bench -p mingle --bench enrichment

mod common;

use std::time::Instant;

use common::{peak_rss_mib, BenchApp};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let rows: usize = std::env::var("MINGLE_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let b = BenchApp::new().await;
    b.services.encoder.load_in_background(mingle_encoder::installed_model_dir()).await.unwrap();
    assert_eq!(b.services.encoder.status(), "ok", "install the model with scripts/fetch-model");
    let (s, _) = b.call("POST", "/events", Some(br#"{"event_id":"bench","title":"Bench"}"#.to_vec())).await;
    assert_eq!(s, 201);
    let (s, run) = b.call("PUT", "/events/bench/attendees:import", Some(BenchApp::import_body(rows, "import"))).await;
    assert_eq!(s, 202);
    b.wait(run["run_id"].as_str().unwrap()).await;
    // What the cold run must encode: the distinct goal, need and offer texts.
    let mut texts: Vec<String> = (0..rows)
        .flat_map(|i| {
            let answers = common::row(i)["raw_data"].clone();
            let mut t = vec![answers["goal"].as_str().unwrap().to_owned()];
            for key in ["needs", "offers"] {
                match &answers[key] {
                    serde_json::Value::Array(items) => t.extend(items.iter().map(|v| v.as_str().unwrap().to_owned())),
                    v => t.push(v.as_str().unwrap().to_owned()),
                }
            }
            t
        })
        .collect();
    texts.sort_unstable();
    texts.dedup();
    let encoder = mingle_encoder::MiniLm::load(&mingle_encoder::installed_model_dir()).unwrap();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tokens: usize = encoder.token_counts(&refs).unwrap().iter().sum();
    drop(encoder);
    println!(
        "enrichment benchmark: {rows} attendees, {} distinct texts, {tokens} tokens ({:.1} per text)",
        texts.len(),
        tokens as f64 / texts.len() as f64
    );
    for (label, key) in [("cold (empty cache)", "cold"), ("warm (nothing changed)", "warm")] {
        let started = Instant::now();
        let body = format!(r#"{{"idempotency_key":"{key}"}}"#).into_bytes();
        let (s, run) = b.call("POST", "/events/bench/enrichment-runs", Some(body)).await;
        assert_eq!(s, 202, "{run}");
        let done = b.wait(run["run_id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        println!("  {label:<24} {:>8.3} s   {}", started.elapsed().as_secs_f64(), done["progress"]);
    }
    println!("  peak memory (VmHWM)      {:>8.1} MiB", peak_rss_mib());
}
