//! Encoder throughput on short profile texts (texts per second, all cores); prints,
//! asserts nothing.
//!
//!     cargo bench -p mingle-encoder --bench throughput

mod common;

use std::time::Instant;

use mingle_encoder::Encoder;

const GOALS: [&str; 8] = [
    "Raise a seed round for our fintech startup",
    "Hire two senior backend engineers who know Rust",
    "Meet investors focused on climate technology",
    "Find design partners for our analytics product",
    "Learn how other companies scale their platform teams",
    "Find a mentor in product leadership",
    "Sell our observability tool to enterprise teams",
    "Meet other CTOs in the Nordics",
];
const ROLES: [&str; 6] = [
    "VP Product at Acme",
    "Founder of a Berlin startup",
    "Partner at a seed fund",
    "Staff engineer",
    "Head of Sales",
    "Data scientist",
];

fn main() {
    let encoder = common::load();
    let n: usize = std::env::var("MINGLE_BENCH_TEXTS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let texts: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "{}. {} (attendee {i}), interested in {}.",
                GOALS[i % 8],
                ROLES[i % 6],
                ["AI", "fintech", "climate", "B2B SaaS"][i % 4]
            )
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    encoder.encode(&refs[..32.min(n)]).unwrap(); // warm up
    let started = Instant::now();
    let vectors = encoder.encode(&refs).unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(vectors.len(), n);
    println!(
        "encoder throughput: {n} short profile texts on {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("  {:.2} s, {:.0} texts/s", secs, n as f64 / secs);
}
