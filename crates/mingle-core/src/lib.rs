//! The engine of mingle: pure code with no I/O.
//!
//! For now it holds the rules every layer shares: partner IDs and other validated
//! newtypes, field validation with the documented error codes, timestamps, canonical
//! JSON for idempotency, and the signed pagination cursor. Identity rules, enrichment
//! features, scoring and candidate search land here too, so they stay testable alone.

pub mod canonical;
pub mod cursor;
pub mod enrich;
pub mod event;
pub mod goals;
pub mod identity;
pub mod ids;
pub mod import;
pub mod limits;
pub mod matching;
pub mod merge;
pub mod parallel;
pub mod rate_limit;
pub mod run;
pub mod scope;
pub mod session;
pub mod time;
pub mod validate;
pub mod vector;
pub mod webhook;

pub use ids::{IdempotencyKey, PartnerId, PartnerKind};
pub use run::{RunKind, RunStatus};
pub use scope::Scope;
pub use time::Timestamp;
pub use validate::ValidationError;
