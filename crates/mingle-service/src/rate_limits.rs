//! Rate limits: a token bucket per service account (`mingle_core::rate_limit`). A store
//! that one process serves (SQLite) keeps its buckets in this process's memory; a store
//! that several API servers share (PostgreSQL) keeps them in the database, so the limit
//! holds across servers: a transaction locks the account's bucket row, applies the rule
//! and writes it back (docs/benchmarks.md has the cost).
//!
//! One account's concurrent requests in one process share that transaction: the first
//! starts a batch, the others queue while it runs and go in the next one, whose step
//! applies the rule once per request, in order. Each request still gets its own
//! decision and the bucket is spent as if they had come one by one (a request that went
//! away while queued is not counted); what is saved is a transaction (five round trips
//! and a row lock) per request but the first of each batch. A failed transaction fails
//! every request of its batch, as each would have failed on the same database.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mingle_core::rate_limit::{take, Bucket, Decision, Policy};
use mingle_core::Timestamp;
use mingle_store::models::RateStep;
use mingle_store::Store;
use tokio::sync::oneshot;

use crate::ServiceError;

/// Per (org, account), the requests waiting for the database's bucket in this process.
/// An account has an entry exactly while a task takes batches for it.
type Batches = Arc<Mutex<HashMap<(String, String), Vec<oneshot::Sender<Result<Decision, String>>>>>>;

pub struct RateLimiter {
    policy: Policy,
    store: Arc<dyn Store>,
    /// `None` when the buckets live in the database.
    local: Option<Mutex<HashMap<String, Bucket>>>,
    /// When they do: the requests queued per (org, account).
    batches: Batches,
}

impl RateLimiter {
    pub fn new(store: Arc<dyn Store>, policy: Policy) -> Self {
        let local = (!store.shared_by_processes()).then(|| Mutex::new(HashMap::new()));
        Self { policy, store, local, batches: Batches::default() }
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
        let key = (org_id.to_owned(), service_account_id.to_owned());
        let (answer, answered) = oneshot::channel();
        let lead = match self.batches.lock().unwrap_or_else(|p| p.into_inner()).entry(key.clone()) {
            Entry::Occupied(mut queued) => {
                queued.get_mut().push(answer);
                false
            }
            Entry::Vacant(none) => {
                none.insert(vec![answer]);
                true
            }
        };
        if lead {
            // Its own task: a request that goes away must not strand the ones queued
            // behind it. The guard exists before the task does, so a task dropped before
            // it first runs (at shutdown) still releases the account.
            let release = Release { batches: self.batches.clone(), key: key.clone(), armed: true };
            tokio::spawn(take_batches(self.store.clone(), self.policy, release));
        }
        match answered.await {
            Ok(decision) => decision.map_err(ServiceError::Internal),
            Err(_) => Err(ServiceError::Internal("the rate-limit batch ended without an answer".into())),
        }
    }
}

/// Takes batches of `key`'s queued requests from the database's bucket until none is
/// left, answering each request with its own decision.
/// If the task panics or is dropped, `release` removes the account's queue (its
/// requests answer 500) rather than leave it waiting for a task that is gone.
async fn take_batches(store: Arc<dyn Store>, policy: Policy, mut release: Release) {
    let (batches, key) = (release.batches.clone(), release.key.clone());
    loop {
        let batch = {
            let mut all = batches.lock().unwrap_or_else(|p| p.into_inner());
            let Some(queue) = all.get_mut(&key) else { break };
            // A request that went away while queued (timed out, or its client left)
            // takes no token.
            queue.retain(|answer| !answer.is_closed());
            if queue.is_empty() {
                all.remove(&key);
                break;
            }
            std::mem::take(queue)
        };
        let count = batch.len();
        let decided = Arc::new(Mutex::new(Vec::with_capacity(count)));
        let record = decided.clone();
        let step: RateStep = Box::new(move |mut bucket| {
            let now = Timestamp::now().millis();
            let mut decisions = Vec::with_capacity(count);
            for _ in 0..count {
                let (kept, decision) = take(policy, bucket, now);
                bucket = Some(kept);
                decisions.push(decision);
            }
            let last = *decisions.last().expect("a batch holds a request");
            *record.lock().unwrap_or_else(|p| p.into_inner()) = decisions;
            (bucket.expect("a batch holds a request"), last)
        });
        let taken = store.take_rate_token(&key.0, &key.1, step).await;
        let decisions = std::mem::take(&mut *decided.lock().unwrap_or_else(|p| p.into_inner()));
        for (i, answer) in batch.into_iter().enumerate() {
            let _ = answer.send(match &taken {
                Ok(_) => decisions.get(i).copied().ok_or_else(|| "no decision for the request".to_owned()),
                Err(e) => Err(e.to_string()),
            });
        }
    }
    release.armed = false;
}

struct Release {
    batches: Batches,
    key: (String, String),
    armed: bool,
}

impl Drop for Release {
    fn drop(&mut self) {
        if self.armed {
            self.batches.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.key);
        }
    }
}
