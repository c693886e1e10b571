//! The worker: claims queued runs from the database under a lease, heartbeats while it
//! works, and sets the terminal status. A run whose worker died is claimed again once
//! its lease expires; it is then redone from the start (imports apply atomically, so
//! nothing of the first attempt is visible) or, after too many attempts, failed.

use std::sync::Arc;
use std::time::Duration;

use mingle_core::{RunStatus, Timestamp};
use mingle_store::models::{Lease, Run};
use mingle_store::Store;
use serde_json::json;
use tokio::sync::{watch, Notify};
use tracing::Instrument;

use crate::runs::{RunFailure, RunHandlers};

/// Runs `concurrency` (at least one) copies of a claim loop, each told its slot number
/// and the shutdown signal, until all have returned. The run worker and the webhook
/// sender both work this way.
pub(crate) async fn run_slots<F, Fut>(concurrency: usize, shutdown: watch::Receiver<bool>, slot: F)
where
    F: Fn(usize, watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..concurrency.max(1) {
        tasks.spawn(slot(n, shutdown.clone()));
    }
    while tasks.join_next().await.is_some() {}
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// A run's lease; a worker that stops heartbeating loses the run after this long.
    pub lease: Duration,
    /// How often to look for work when nothing wakes the worker.
    pub poll: Duration,
    /// Runs processed at once.
    pub concurrency: usize,
    /// Claims of one run after which it is failed rather than tried again.
    pub max_attempts: i64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self { lease: Duration::from_secs(15), poll: Duration::from_millis(250), concurrency: 2, max_attempts: 3 }
    }
}

#[derive(Clone)]
pub struct Worker {
    store: Arc<dyn Store>,
    handlers: RunHandlers,
    queued: Arc<Notify>,
    settings: WorkerSettings,
    id: String,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, handlers: RunHandlers, queued: Arc<Notify>, settings: WorkerSettings) -> Self {
        let id = format!("worker-{}", uuid::Uuid::new_v4().simple());
        Self { store, handlers, queued, settings, id }
    }

    /// Works until `shutdown` turns true; a run in progress then goes back to the queue.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, concurrency = self.settings.concurrency, "worker started");
        let worker = self.clone();
        run_slots(self.settings.concurrency, shutdown, move |slot, shutdown| {
            let worker = worker.clone();
            async move { worker.slot(slot, shutdown).await }
        })
        .await;
        tracing::info!(worker = %self.id, "worker stopped");
    }

    async fn slot(&self, slot: usize, mut shutdown: watch::Receiver<bool>) {
        let owner = format!("{}/{slot}", self.id);
        loop {
            if *shutdown.borrow() {
                return;
            }
            let claimed = self.store.claim_run(&owner, Timestamp::now(), self.settings.lease.as_millis() as i64).await;
            match claimed {
                Ok(Some(run)) => {
                    let lease = Lease { org_id: run.org_id.clone(), run_id: run.run_id.clone(), owner: owner.clone() };
                    tokio::select! {
                        _ = self.execute(&run, &lease) => {}
                        _ = shutdown.changed() => {
                            // Dropping the work rolls its transaction back; the run is queued again.
                            if let Err(e) = self.store.release_run(&lease, Timestamp::now()).await {
                                tracing::warn!(error = %e, run_id = %run.run_id, "could not release the run");
                            }
                            return;
                        }
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not claim a run"),
            }
            tokio::select! {
                _ = self.queued.notified() => {}
                _ = tokio::time::sleep(self.settings.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Runs one claimed run to a terminal status (unless the lease is lost).
    pub async fn execute(&self, run: &Run, lease: &Lease) {
        let span = tracing::info_span!("run", run_id = %run.run_id, kind = run.kind.as_str(), attempt = run.attempts);
        self.execute_in_span(run, lease).instrument(span).await
    }

    async fn execute_in_span(&self, run: &Run, lease: &Lease) {
        tracing::info!("run claimed");
        let started = std::time::Instant::now();
        // Stops when this function ends in any way, a panic included: a heartbeat that
        // outlived its run would keep the lease alive and the run `running` forever.
        let _heartbeat = AbortOnDrop({
            let store = self.store.clone();
            let lease = lease.clone();
            let every = self.settings.lease / 3;
            let ttl = self.settings.lease;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let until = Timestamp::from_millis(Timestamp::now().millis() + ttl.as_millis() as i64);
                    match store.extend_lease(&lease, until).await {
                        Ok(true) => {}
                        Ok(false) => return,
                        Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                    }
                }
            })
        });
        let result = if run.attempts > self.settings.max_attempts {
            Err(RunFailure {
                code: "RUN_ABANDONED",
                message: format!(
                    "The run was interrupted {} times (its worker stopped); it was not retried again.",
                    run.attempts - 1
                ),
                lost: false,
            })
        } else {
            match self.handlers.get(run.kind) {
                Some(handler) => handler.process(run, lease).await,
                None => Err(RunFailure::internal(format!("no handler for {} runs", run.kind.as_str()))),
            }
        };
        drop(_heartbeat);
        let ended = match result {
            Ok(()) => {
                tracing::info!("run succeeded");
                Some(RunStatus::Succeeded)
            }
            Err(f) if f.lost => {
                tracing::warn!("lease lost; another worker owns the run");
                None
            }
            Err(f) => {
                tracing::warn!(code = f.code, message = %f.message, "run failed");
                let error = json!({"code": f.code, "message": f.message});
                match self.store.finish_run(lease, RunStatus::Failed, None, Some(&error), Timestamp::now()).await {
                    Ok(true) => Some(RunStatus::Failed),
                    Ok(false) => None,
                    Err(e) => {
                        tracing::error!(error = %e, "could not record the failure; the lease will expire and the run be retried");
                        None
                    }
                }
            }
        };
        // Counted once the terminal status is written, by the worker that wrote it.
        if let Some(status) = ended {
            let labels = [("kind", run.kind.as_str()), ("status", status.as_str())];
            metrics::counter!("mingle_runs_total", &labels).increment(1);
            metrics::histogram!("mingle_run_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
        }
    }
}
