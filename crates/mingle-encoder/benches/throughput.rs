//! Encoder throughput on the two kinds of text enrichment encodes: short need/offer
//! phrases and goal sentences. Prints texts/s, tokens/s and the dense layers' GFLOP/s
//! (the encoder's cost is per token); asserts nothing.
//!
//!     cargo bench -p mingle-encoder --bench throughput
//!
//! `MINGLE_BENCH_TEXTS` sets how many texts of each kind (default 2,000). Every text is
//! distinct, as in a cold enrichment run after deduplication.

mod common;

use std::time::Instant;

use mingle_encoder::{Encoder, MiniLm};

const PHRASES: [&str; 8] = [
    "seed funding",
    "senior backend engineers",
    "intros to climate investors",
    "design partners for analytics",
    "advice on scaling platform teams",
    "a mentor in product leadership",
    "enterprise observability buyers",
    "CTO peers in the Nordics",
];
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
const PLACES: [&str; 6] = ["Berlin", "Lisbon", "Nairobi", "Austin", "Singapore", "Warsaw"];

fn measure(encoder: &MiniLm, label: &str, texts: &[String]) {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tokens: usize = encoder.token_counts(&refs).unwrap().iter().sum();
    let started = Instant::now();
    let vectors = encoder.encode(&refs).unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(vectors.len(), texts.len());
    let gflops = (tokens as u64 * encoder.flops_per_token()) as f64 / secs / 1e9;
    println!(
        "  {label:<16} {} texts, {:.1} tokens each: {secs:.2} s, {:.0} texts/s, {:.0} tokens/s, {gflops:.0} GFLOP/s",
        texts.len(),
        tokens as f64 / texts.len() as f64,
        texts.len() as f64 / secs,
        tokens as f64 / secs,
    );
}

fn main() {
    let encoder = common::load();
    let n: usize = std::env::var("MINGLE_BENCH_TEXTS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let phrases: Vec<String> = (0..n).map(|i| format!("{} ({} {})", PHRASES[i % 8], PLACES[i % 6], i / 48)).collect();
    let goals: Vec<String> =
        (0..n).map(|i| format!("{} in {}, cohort {}", GOALS[i % 8], PLACES[i % 6], i / 48)).collect();
    encoder.encode(&["warm up"]).unwrap();
    println!(
        "encoder throughput on {} cores ({} MFLOP per token in the dense layers)",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        encoder.flops_per_token() / 1_000_000
    );
    measure(&encoder, "need/offer", &phrases);
    measure(&encoder, "goal sentences", &goals);
}
