//! The rate limit's settings as the HTTP layer takes them; the buckets are the rate-limits
//! service's (`mingle_service::rate_limits`), in memory or in the database.

pub use mingle_core::rate_limit::{Decision, Policy as RateLimitSettings};
pub use mingle_service::rate_limits::RateLimiter;
