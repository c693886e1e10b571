//! Runs: creation under idempotency keys, reads and lists; how a run fails
//! ([`RunFailure`]); and the handlers that execute each kind ([`RunHandlers`], which the
//! worker dispatches through).
//!
//! Idempotency: a run-creating call carries a key. The first call with a key writes
//! the run together with a fingerprint of the call (method, concrete path, canonical
//! body). A later call with the same key and fingerprint is a replay and gets the run as
//! it is now; the same key with another fingerprint is `IDEMPOTENCY_KEY_CONFLICT`. The
//! database's unique key on `(org_id, idempotency_key)` decides races, so concurrent
//! identical calls create exactly one run.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use mingle_core::cursor::Position;
use mingle_core::run::GenericRunDraft;
use mingle_core::{RunKind, RunStatus, Timestamp};
use mingle_store::models::{Lease, Run, RunInsert};
use mingle_store::{Store, StoreError};
use uuid::Uuid;

use crate::pagination::PageRequest;
use crate::{Page, ServiceError};

#[derive(Clone)]
pub struct RunsService {
    store: Arc<dyn Store>,
    /// Wakes the embedded worker when a run is queued.
    queued: Arc<tokio::sync::Notify>,
}

/// A run-creating call's outcome: the run, and whether this call created it.
#[derive(Debug, Clone)]
pub struct Created {
    pub run: Run,
    pub created: bool,
}

impl RunsService {
    pub fn new(store: Arc<dyn Store>, queued: Arc<tokio::sync::Notify>) -> Self {
        Self { store, queued }
    }

    /// Records a run outside event scope (`POST /runs`); the platform does not execute
    /// it, so it stays as recorded. `request_hash` fingerprints the call.
    pub async fn create_generic(
        &self,
        org_id: &str,
        draft: GenericRunDraft,
        request_hash: String,
    ) -> Result<Created, ServiceError> {
        let now = Timestamp::now();
        let run = Run {
            org_id: org_id.to_owned(),
            run_id: Uuid::now_v7().to_string(),
            kind: draft.kind,
            status: RunStatus::Queued,
            event_id: None,
            idempotency_key: draft.idempotency_key.into_string(),
            request_hash,
            progress: draft.progress,
            error: None,
            snapshot_metadata: draft.snapshot_metadata,
            version_metadata: draft.version_metadata,
            webhook_url: draft.webhook_url,
            // Recorded, not executed (the reference's POST /runs stores a run's record).
            executes: false,
            created_at: now,
            updated_at: now,
            started_at: None,
            terminal_at: None,
            attempts: 0,
        };
        self.insert(run, None).await
    }

    /// Queues a run of an event for the worker and wakes it (`EVENT_NOT_FOUND` when the
    /// org has no such event). `payload` is what the run will work on.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_event_run(
        &self,
        org_id: &str,
        event_id: &str,
        kind: RunKind,
        key: mingle_core::IdempotencyKey,
        webhook_url: Option<String>,
        progress: serde_json::Map<String, serde_json::Value>,
        request_hash: String,
        payload: Option<&str>,
    ) -> Result<Created, ServiceError> {
        if self.store.get_event(org_id, event_id).await?.is_none() {
            return Err(crate::events::event_not_found(event_id));
        }
        let now = Timestamp::now();
        let run = Run {
            org_id: org_id.to_owned(),
            run_id: Uuid::now_v7().to_string(),
            kind,
            status: RunStatus::Queued,
            event_id: Some(event_id.to_owned()),
            idempotency_key: key.into_string(),
            request_hash,
            progress,
            error: None,
            snapshot_metadata: Default::default(),
            version_metadata: Default::default(),
            webhook_url,
            executes: true,
            created_at: now,
            updated_at: now,
            started_at: None,
            terminal_at: None,
            attempts: 0,
        };
        let created = self.insert(run, payload).await?;
        if created.created {
            self.queued.notify_waiters();
        }
        Ok(created)
    }

    async fn insert(&self, run: Run, payload: Option<&str>) -> Result<Created, ServiceError> {
        match self.store.insert_run(&run, payload).await? {
            RunInsert::Created => Ok(Created { run, created: true }),
            RunInsert::Existing(existing) if existing.request_hash == run.request_hash => {
                Ok(Created { run: *existing, created: false })
            }
            RunInsert::Existing(existing) => Err(ServiceError::conflict(
                "IDEMPOTENCY_KEY_CONFLICT",
                format!(
                    "Idempotency key '{}' was used for a different request (another endpoint or body).",
                    existing.idempotency_key
                ),
                ("idempotency_key", &existing.idempotency_key),
            )),
        }
    }

    /// Work waiting, across orgs: queued runs of each kind and pending webhook
    /// deliveries (`webhook`), every kind present.
    pub async fn queue_depths(&self) -> Result<Vec<(String, i64)>, ServiceError> {
        let counts = self.store.queue_depths().await?;
        let count = |kind: &str| counts.iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| *n);
        Ok(RunKind::ALL.iter().map(|k| k.as_str()).chain(["webhook"]).map(|k| (k.to_owned(), count(k))).collect())
    }

    pub async fn get(&self, org_id: &str, run_id: &str) -> Result<Run, ServiceError> {
        self.store.get_run(org_id, run_id).await?.ok_or_else(|| {
            ServiceError::not_found("RUN_NOT_FOUND", format!("No run '{run_id}' in this org."), ("run_id", run_id))
        })
    }

    pub async fn list(
        &self,
        org_id: &str,
        kind: Option<RunKind>,
        page: &PageRequest,
    ) -> Result<Page<Run>, ServiceError> {
        let rows = self.store.list_runs(org_id, kind, &page.probe()).await?;
        Ok(page.finish(rows, |r| Position { key: r.created_at.millis(), id: r.run_id.clone() }))
    }
}

/// Why a run failed: its `error` object.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFailure {
    pub code: &'static str,
    pub message: String,
    /// The lease was lost: another worker owns the run now, so this one writes nothing.
    pub lost: bool,
}

impl RunFailure {
    pub fn internal(message: impl Into<String>) -> Self {
        Self { code: "INTERNAL_ERROR", message: message.into(), lost: false }
    }

    pub fn lost() -> Self {
        Self { code: "LEASE_LOST", message: "another worker took the run over".into(), lost: true }
    }
}

impl From<StoreError> for RunFailure {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error while running");
        RunFailure::internal("The run failed on a storage error; it can be retried with a new idempotency key.")
    }
}

/// Executes one kind of run, claimed under `lease`, up to its terminal write.
#[async_trait]
pub trait RunHandler: Send + Sync {
    async fn process(&self, run: &Run, lease: &Lease) -> Result<(), RunFailure>;
}

/// The handler of each run kind; the worker runs a claimed run through its kind's.
#[derive(Clone, Default)]
pub struct RunHandlers(HashMap<RunKind, Arc<dyn RunHandler>>);

impl RunHandlers {
    pub fn with(mut self, kind: RunKind, handler: impl RunHandler + 'static) -> Self {
        self.0.insert(kind, Arc::new(handler));
        self
    }

    pub fn get(&self, kind: RunKind) -> Option<&dyn RunHandler> {
        self.0.get(&kind).map(|h| h.as_ref())
    }
}
