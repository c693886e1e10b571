//! Import benchmark: 50,000 realistic attendee rows into a fresh SQLite database, from
//! the PUT to the run's `succeeded`, through the real router and the embedded worker.
//! Prints the figures; asserts nothing about time.
//!
//!     cargo bench -p mingle --bench import            # 50,000 rows
//!     MINGLE_BENCH_ROWS=10000 cargo bench -p mingle --bench import

mod common;

use std::time::Instant;

use common::{peak_rss_mib, BenchApp};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let rows: usize = std::env::var("MINGLE_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let b = BenchApp::new().await;
    let (s, _) = b.call("POST", "/events", Some(br#"{"event_id":"bench","title":"Bench"}"#.to_vec())).await;
    assert_eq!(s, 201);
    let body = BenchApp::import_body(rows, "bench-1");
    println!("import benchmark: {rows} rows, {:.1} MiB request body", body.len() as f64 / 1048576.0);

    let started = Instant::now();
    let (s, run) = b.call("PUT", "/events/bench/attendees:import", Some(body)).await;
    assert_eq!(s, 202, "{run}");
    let accepted = started.elapsed();
    let done = b.wait(run["run_id"].as_str().unwrap()).await;
    let total = started.elapsed();
    assert_eq!(done["status"], "succeeded", "{done}");
    println!("  PUT answered 202 in     {:>8.3} s", accepted.as_secs_f64());
    println!("  PUT to succeeded in     {:>8.3} s", total.as_secs_f64());
    println!("  rows per second         {:>8.0}", rows as f64 / total.as_secs_f64());
    println!("  peak memory (VmHWM)     {:>8.1} MiB", peak_rss_mib());
    println!("  progress                {}", done["progress"]);
}
