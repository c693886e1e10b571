//! HTTP tests of the partner API: the real router, a real SQLite file per test, tokens
//! provisioned through the same services the command line uses.

mod harness;
#[path = "../support/receiver.rs"]
mod receiver;

mod auth;
mod enrichment;
mod envelope;
mod events;
mod id_map;
mod identity;
mod imports;
mod matching;
mod metrics;
mod ops;
mod pagination;
mod reviews;
mod runs;
mod sessions;
mod tenancy;
mod webhooks;
mod worker;
