//! Rate limits: a token bucket per service account (`mingle_core::rate_limit`). A store
//! that one process serves (SQLite) keeps its buckets in this process's memory; a store
//! that several API servers share (PostgreSQL) keeps them in the database, so the limit
//! holds across servers: each request reads its bucket and writes it back with
//! compare-and-set (two round trips; docs/benchmarks.md has the cost).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mingle_core::rate_limit::{take, Bucket, Decision, Policy};
use mingle_core::Timestamp;
use mingle_store::Store;

use crate::ServiceError;

/// How often a request retries its compare-and-set (after a short random pause) before
/// it is refused as if the bucket were empty: under contention that high one account is
/// sending many requests at once, and refusing one never over-spends the limit.
const CAS_TRIES: usize = 16;

pub struct RateLimiter {
    policy: Policy,
    store: Arc<dyn Store>,
    /// `None` when the buckets live in the database.
    local: Option<Mutex<HashMap<String, Bucket>>>,
}

impl RateLimiter {
    pub fn new(store: Arc<dyn Store>, policy: Policy) -> Self {
        let local = (!store.shared_by_processes()).then(|| Mutex::new(HashMap::new()));
        Self { policy, store, local }
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Takes one request from the account's bucket.
    pub async fn check(&self, org_id: &str, service_account_id: &str) -> Result<Decision, ServiceError> {
        let now = Timestamp::now().millis();
        if let Some(local) = &self.local {
            let mut buckets = local.lock().unwrap_or_else(|p| p.into_inner());
            let (bucket, decision) = take(self.policy, buckets.get(service_account_id).copied(), now);
            buckets.insert(service_account_id.to_owned(), bucket);
            return Ok(decision);
        }
        let mut last = None;
        for attempt in 0..CAS_TRIES {
            if attempt > 0 {
                // 0-2 ms, so that contending requests stop colliding.
                let pause = rand::random::<u64>() % 2_000;
                tokio::time::sleep(std::time::Duration::from_micros(pause)).await;
            }
            let read = self.store.rate_bucket(org_id, service_account_id).await?;
            let (bucket, decision) = take(self.policy, read.map(|(b, _)| b), Timestamp::now().millis());
            if self.store.put_rate_bucket(org_id, service_account_id, bucket, read.map(|(_, v)| v)).await? {
                return Ok(decision);
            }
            last = Some(decision);
        }
        tracing::warn!(service_account_id, "rate-limit bucket contended; request refused");
        let seen = last.unwrap_or_else(|| take(self.policy, None, now).1);
        Ok(Decision { allowed: false, remaining: 0, retry_after_secs: 1, ..seen })
    }
}
