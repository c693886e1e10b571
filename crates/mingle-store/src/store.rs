use std::sync::Arc;

use async_trait::async_trait;
use mingle_core::rate_limit::Decision as RateDecision;
use mingle_core::{RunKind, RunStatus, Timestamp};
use serde_json::{Map, Value};

use crate::models::*;
use crate::StoreError;

/// Everything mingle keeps: the sum of one trait per aggregate, each implemented in
/// place by a backend (`sqlite/accounts.rs`, `sqlite/events.rs`, …). Every call that
/// reads or writes partner data takes the caller's `org_id`, so a query can never reach
/// another org's rows.
#[async_trait]
pub trait Store:
    AccountStore + EventStore + RunStore + IdentityStore + EnrichmentStore + MatchStore + DeliveryStore
{
    /// Ok when the database answers and its schema is fully migrated.
    async fn check_ready(&self) -> Result<(), StoreError>;

    /// Whether several processes may serve this database at once (so state such as
    /// rate-limit buckets must live in it rather than in one process's memory).
    fn shared_by_processes(&self) -> bool;

    /// Wakes `wake` whenever any process queues a run, for as long as the process lives
    /// (PostgreSQL: `LISTEN`, reconnecting when the connection drops). A backend one
    /// process serves has nothing to forward: its services wake the worker directly.
    /// Workers poll as well, so a lost signal only delays a run.
    async fn forward_run_signals(&self, wake: Arc<tokio::sync::Notify>) -> Result<(), StoreError>;

    /// Writes a consistent copy of the database to `path` while it is in use
    /// (`Unsupported` where the database's own tools do it better).
    async fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError>;
}

/// Orgs, service accounts and their tokens.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    async fn insert_org(&self, org: &Org) -> Result<(), StoreError>;
    async fn get_org(&self, org_id: &str) -> Result<Option<Org>, StoreError>;
    /// Makes `secret` the org's webhook secret; the one it replaces keeps signing until
    /// `keep_old_until`. `false` when the org does not exist.
    async fn rotate_webhook_secret(
        &self,
        org_id: &str,
        secret: &str,
        keep_old_until: Timestamp,
    ) -> Result<bool, StoreError>;
    async fn insert_service_account(&self, account: &ServiceAccount, token: &TokenRow) -> Result<(), StoreError>;
    /// Looks an account up by its ID alone (an operator's command names no org).
    async fn find_service_account(&self, service_account_id: &str) -> Result<Option<ServiceAccount>, StoreError>;
    /// Sets the status; `Revoked` also revokes every token of the account.
    async fn set_service_account_status(
        &self,
        org_id: &str,
        service_account_id: &str,
        status: AccountStatus,
        now: mingle_core::Timestamp,
    ) -> Result<(), StoreError>;
    async fn find_credential(&self, org_id: &str, token_id: &str) -> Result<Option<Credential>, StoreError>;
    /// Takes one request from the account's rate-limit bucket: reads the bucket (`None`
    /// before its first use) with the row locked, lets `step` apply the rule, writes what
    /// it returns, and returns its decision. Concurrent takes of one bucket queue on the
    /// lock, so none is lost and none over-spends.
    async fn take_rate_token(
        &self,
        org_id: &str,
        service_account_id: &str,
        step: RateStep,
    ) -> Result<RateDecision, StoreError>;
}

/// Events, their sessions, and the partner-ID map.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// `Conflict` when the org has the event ID already.
    async fn insert_event(&self, org_id: &str, event: &Event) -> Result<(), StoreError>;
    async fn get_event(&self, org_id: &str, event_id: &str) -> Result<Option<Event>, StoreError>;
    /// Newest first: `created_at` descending, then `event_id` descending.
    async fn list_events(&self, org_id: &str, page: &PageQuery) -> Result<Vec<Event>, StoreError>;
    /// Applies the patch; `None` when the event does not exist.
    async fn update_event_context(
        &self,
        org_id: &str,
        event_id: &str,
        patch: &EventContextPatch,
        now: mingle_core::Timestamp,
    ) -> Result<Option<Event>, StoreError>;

    /// `Conflict` when the org has the session ID already (in any event).
    async fn insert_session(&self, org_id: &str, session: &Session) -> Result<(), StoreError>;
    async fn get_session(&self, org_id: &str, session_id: &str) -> Result<Option<Session>, StoreError>;
    /// By `start_timestamp` ascending (sessions without one last), then `session_id`.
    /// The position key is the start in ms, `i64::MAX` for none.
    async fn list_sessions(&self, org_id: &str, event_id: &str, page: &PageQuery) -> Result<Vec<Session>, StoreError>;

    /// `None` when the org has no such ID; `Some(merged_into)` when it has (an
    /// attendee merged into another is still mapped, as an alias).
    async fn lookup_partner_id(
        &self,
        org_id: &str,
        kind: MappedKind,
        partner_id: &str,
    ) -> Result<Option<Option<String>>, StoreError>;
}

/// Runs and the run queue.
#[async_trait]
pub trait RunStore: Send + Sync + 'static {
    /// Writes the run unless its org already holds its idempotency key; then returns
    /// the run that does. Atomic: of concurrent identical calls exactly one creates.
    /// `payload` (what the run works on) is written with the run, in one transaction.
    async fn insert_run(&self, run: &Run, payload: Option<&str>) -> Result<RunInsert, StoreError>;
    async fn get_run(&self, org_id: &str, run_id: &str) -> Result<Option<Run>, StoreError>;
    /// Newest first: `created_at` descending, then `run_id` descending.
    async fn list_runs(&self, org_id: &str, kind: Option<RunKind>, page: &PageQuery) -> Result<Vec<Run>, StoreError>;

    /// Claims the oldest executable run that is queued or whose lease expired (its
    /// worker died): it becomes `running`, leased to `owner` until `now + lease_ms`.
    async fn claim_run(&self, owner: &str, now: Timestamp, lease_ms: i64) -> Result<Option<Run>, StoreError>;
    /// Extends a lease; `false` when the lease was lost (another worker took over).
    async fn extend_lease(&self, lease: &Lease, until: Timestamp) -> Result<bool, StoreError>;
    /// Records progress of a leased run; `false` when the lease was lost.
    async fn set_progress(
        &self,
        lease: &Lease,
        progress: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Sets a terminal status (with `terminal_at`); `false` when the lease was lost.
    async fn finish_run(
        &self,
        lease: &Lease,
        status: RunStatus,
        progress: Option<&Map<String, Value>>,
        error: Option<&Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Gives a run back to the queue (a worker shutting down mid-run).
    async fn release_run(&self, lease: &Lease, now: Timestamp) -> Result<(), StoreError>;
    /// Work waiting, across orgs: queued event runs by kind and pending webhook
    /// deliveries (as `webhook`); a kind with none may be left out.
    async fn queue_depths(&self) -> Result<Vec<(String, i64)>, StoreError>;
    async fn run_payload(&self, org_id: &str, run_id: &str) -> Result<Option<String>, StoreError>;
}

/// Attendees, memberships, identity decisions and reviews.
#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    /// Applies an import atomically: reads the snapshot `query` names, lets `plan`
    /// decide, writes the plan and marks the run `succeeded` with the plan's progress,
    /// all in one transaction, which the org's other imports cannot interleave with.
    /// `false` (nothing written) when the lease was lost.
    async fn apply_import(
        &self,
        lease: &Lease,
        event_id: &str,
        query: &SnapshotQuery,
        plan: Box<dyn FnOnce(ImportSnapshot) -> ImportPlan + Send>,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    async fn get_attendee(&self, org_id: &str, attendee_id: &str) -> Result<Option<Attendee>, StoreError>;
    async fn is_member(&self, org_id: &str, event_id: &str, attendee_id: &str) -> Result<bool, StoreError>;
    /// By `attendee_id` ascending (the position key is unused).
    async fn list_attendees(
        &self,
        org_id: &str,
        event_id: &str,
        page: &PageQuery,
    ) -> Result<Vec<AttendeeListing>, StoreError>;
    /// Newest first: `decision_id` (a UUIDv7, time-ordered) descending.
    async fn list_decisions(
        &self,
        org_id: &str,
        attendee_id: &str,
        page: &PageQuery,
    ) -> Result<Vec<Decision>, StoreError>;

    async fn get_review(&self, org_id: &str, review_id: &str) -> Result<Option<Review>, StoreError>;
    /// Open reviews, newest first, of one event or of the whole org.
    async fn list_open_reviews(
        &self,
        org_id: &str,
        event_id: Option<&str>,
        page: &PageQuery,
    ) -> Result<Vec<Review>, StoreError>;
    /// `false` when the review is no longer open.
    async fn resolve_review(&self, org_id: &str, resolution: &Resolution) -> Result<bool, StoreError>;
    /// Merges `merge.source` into `merge.target` and resolves the review, in one
    /// transaction: reads both records and their memberships, lets `plan` decide, and
    /// writes the plan, the alias links, the decision, and the deletion of every match
    /// row involving the source. `None` (nothing written) when the review is no longer
    /// open.
    async fn merge_attendees(
        &self,
        org_id: &str,
        merge: &MergeRequest,
        plan: MergePlanner,
    ) -> Result<Option<MergeCounts>, StoreError>;
    async fn is_distinct(&self, org_id: &str, a: &str, b: &str) -> Result<bool, StoreError>;
}

/// Enrichment: its inputs, the embedding cache and the stored features.
#[async_trait]
pub trait EnrichmentStore: Send + Sync + 'static {
    /// The event's attendees with what enrichment reads, by `attendee_id`.
    async fn enrichment_inputs(&self, org_id: &str, event_id: &str) -> Result<Vec<EnrichmentInput>, StoreError>;
    /// Cached embeddings of the given text hashes (those found).
    async fn cached_embeddings(
        &self,
        org_id: &str,
        model_id: &str,
        text_hashes: &[String],
    ) -> Result<Vec<(String, Vec<f32>)>, StoreError>;
    async fn save_embeddings(
        &self,
        org_id: &str,
        model_id: &str,
        entries: &[(String, Vec<f32>)],
    ) -> Result<(), StoreError>;
    /// The features of the event's attendees from their last enrichment, by
    /// `attendee_id` (what matching reads).
    async fn event_features(&self, org_id: &str, event_id: &str) -> Result<Vec<Features>, StoreError>;
    /// Writes the features and marks the run `succeeded` with `progress`, in one
    /// transaction; `false` (nothing written) when the lease was lost.
    async fn save_features(
        &self,
        lease: &Lease,
        event_id: &str,
        features: &[Features],
        progress: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
}

/// Match runs' results and their reads.
#[async_trait]
pub trait MatchStore: Send + Sync + 'static {
    /// Writes a match run's results (features it enriched first, profiles, pairs) and
    /// marks it `succeeded` with its progress and metadata, in one transaction; `false`
    /// (nothing written) when the lease was lost.
    async fn save_matches(
        &self,
        lease: &Lease,
        event_id: &str,
        write: &MatchWrite,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// The event's latest match run with results (`succeeded` or `partial`), by
    /// `terminal_at`, then `run_id`.
    async fn latest_match_run(&self, org_id: &str, event_id: &str) -> Result<Option<Run>, StoreError>;
    /// Every stored pair of the run in which `attendee_id` ranks the other (at most
    /// the run's `top_n`), in no particular order.
    async fn attendee_matches(
        &self,
        org_id: &str,
        run_id: &str,
        attendee_id: &str,
    ) -> Result<Vec<StoredMatch>, StoreError>;
    /// The run's pairs by `final_score` descending, then `a_id`, `b_id`; the position
    /// key is the score in millionths, its ID `a_id` + U+001F + `b_id`.
    async fn event_matches(
        &self,
        org_id: &str,
        run_id: &str,
        filter: &MatchFilter,
        page: &PageQuery,
    ) -> Result<Vec<StoredMatch>, StoreError>;
    /// The pair of `a` and `b` (in either order) in the run.
    async fn get_match(&self, org_id: &str, run_id: &str, a: &str, b: &str) -> Result<Option<StoredMatch>, StoreError>;
    /// The run's profiles of the given attendees.
    async fn match_profiles(&self, org_id: &str, run_id: &str, ids: &[String])
        -> Result<Vec<MatchProfile>, StoreError>;
}

/// Webhook deliveries: the outbox rows that ending a run writes (see `finish_run` and
/// every `…_under_lease` write), claimed under a lease like runs.
#[async_trait]
pub trait DeliveryStore: Send + Sync + 'static {
    /// Claims the oldest due delivery: pending with `next_attempt_at <= now` and not
    /// held, or held under an expired lease (its sender died).
    async fn claim_delivery(&self, owner: &str, now: Timestamp, lease_ms: i64) -> Result<Option<Delivery>, StoreError>;
    /// Records an attempt and what follows it, and releases the lease; `false` (nothing
    /// written) when the lease was lost.
    async fn record_attempt(
        &self,
        lease: &DeliveryLease,
        attempt: &DeliveryAttempt,
        next: DeliveryNext,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// By ID alone (an operator's command names no org), with its last attempt.
    async fn find_delivery(&self, delivery_id: &str) -> Result<Option<Delivery>, StoreError>;
    /// The org's deliveries, newest first, each with its last attempt; only failed
    /// ones when `failed_only`.
    async fn list_deliveries(&self, org_id: &str, failed_only: bool, limit: i64) -> Result<Vec<Delivery>, StoreError>;
    /// Every attempt of a delivery, oldest first.
    async fn delivery_attempts(&self, org_id: &str, delivery_id: &str) -> Result<Vec<DeliveryAttempt>, StoreError>;
    /// Makes a delivery pending and due at `now` (its attempts count on); `false` when
    /// it does not exist or a sender holds it (an attempt is in flight).
    async fn redeliver(&self, org_id: &str, delivery_id: &str, now: Timestamp) -> Result<bool, StoreError>;
}

/// Opens the database a URL names, creating and migrating it as needed.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(crate::sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(crate::postgres::PgStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
