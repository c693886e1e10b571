//! Embeds texts with the shipped encoder, for the head trainers' caches:
//! one JSON string per line on stdin, the embeddings on stdout as little-endian `f32`,
//! `dimension` values per text, in the order read.
//!
//!     cargo run --release -p mingle-encoder --example embed < texts.jsonl > vectors.f32

#[path = "../benches/common.rs"]
mod common;

use std::io::{BufRead, Write};

use mingle_encoder::Encoder;

fn main() {
    let encoder = common::load();
    let texts: Vec<String> = std::io::stdin()
        .lock()
        .lines()
        .map(|line| serde_json::from_str(&line.expect("stdin is readable")).expect("each line is a JSON string"))
        .collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for batch in texts.chunks(512) {
        let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
        for vector in encoder.encode(&refs).unwrap_or_else(|e| panic!("{e}")) {
            for x in vector {
                out.write_all(&x.to_le_bytes()).expect("stdout is writable");
            }
        }
    }
    out.flush().expect("stdout is writable");
    eprintln!("embedded {} texts", texts.len());
}
