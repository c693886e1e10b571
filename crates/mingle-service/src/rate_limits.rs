//! Rate limits: a token bucket per service account (`mingle_core::rate_limit`). A store
//! that one process serves (SQLite) keeps its buckets in this process's memory; a store
//! that several API servers share (PostgreSQL) keeps them in the database, so the limit
//! holds across servers: each request takes its token in a short transaction that locks
//! the account's bucket row (docs/benchmarks.md has the cost).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mingle_core::rate_limit::{take, Bucket, Decision, Policy};
use mingle_core::Timestamp;
use mingle_store::Store;

use crate::ServiceError;

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

    /// Takes one request from the account's bucket.
    pub async fn check(&self, org_id: &str, service_account_id: &str) -> Result<Decision, ServiceError> {
        if let Some(local) = &self.local {
            let now = Timestamp::now().millis();
            let mut buckets = local.lock().unwrap_or_else(|p| p.into_inner());
            // The account's key is allocated once, on its first request.
            if let Some(kept) = buckets.get_mut(service_account_id) {
                let (bucket, decision) = take(self.policy, Some(*kept), now);
                *kept = bucket;
                return Ok(decision);
            }
            let (bucket, decision) = take(self.policy, None, now);
            buckets.insert(service_account_id.to_owned(), bucket);
            return Ok(decision);
        }
        let policy = self.policy;
        let step = Box::new(move |bucket| take(policy, bucket, Timestamp::now().millis()));
        Ok(self.store.take_rate_token(org_id, service_account_id, step).await?)
    }
}
