//! What the rate limit costs per request on each backend: `RateLimiter::check` timed
//! sequentially for one account, beside a bare `SELECT 1` round trip to the same
//! database (the floor any database-kept limit pays). Prints; asserts nothing.
//!
//!     cargo bench -p mingle --bench rate_limit
//!     MINGLE_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/bench cargo bench -p mingle --bench rate_limit

mod common;

use std::time::Instant;

use mingle_core::rate_limit::Policy;
use mingle_service::rate_limits::RateLimiter;

const CHECKS: u32 = 5_000;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::bench_database_url(dir.path()).await;
    let store = mingle_store::connect(&url).await.unwrap();
    let services = mingle_service::Services::new(store.clone());
    let org = services.accounts.create_org("Bench").await.unwrap();
    let limiter = RateLimiter::new(store.clone(), Policy { per_sec: 1e9, burst: 1_000_000_000 });
    for _ in 0..100 {
        limiter.check(&org.org_id, "bench-account").await.unwrap();
    }
    let started = Instant::now();
    for _ in 0..CHECKS {
        assert!(limiter.check(&org.org_id, "bench-account").await.unwrap().allowed);
    }
    let per_check = started.elapsed() / CHECKS;
    // The floor: one round trip of the cheapest statement, through the same kind of pool.
    let floor = if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let started = Instant::now();
        for _ in 0..CHECKS {
            sqlx::query("SELECT 1").execute(&pool).await.unwrap();
        }
        Some(started.elapsed() / CHECKS)
    } else {
        None
    };
    println!("rate limit: {CHECKS} sequential checks of one account's bucket");
    println!("  per check               {:>8.1} µs", per_check.as_secs_f64() * 1e6);
    match floor {
        Some(f) => println!(
            "  SELECT 1 round trip     {:>8.1} µs   (a check is {:.1} round trips)",
            f.as_secs_f64() * 1e6,
            per_check.as_secs_f64() / f.as_secs_f64()
        ),
        None => println!("  (buckets in this process's memory: no database round trip)"),
    }
}
