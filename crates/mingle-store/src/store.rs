use std::sync::Arc;

use async_trait::async_trait;
use mingle_core::RunKind;

use crate::models::*;
use crate::StoreError;

/// Everything mingle keeps. Every call that reads or writes partner data takes the
/// caller's `org_id`, so a query can never reach another org's rows.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Ok when the database answers and its schema is fully migrated.
    async fn check_ready(&self) -> Result<(), StoreError>;

    // Orgs, service accounts and tokens.
    async fn insert_org(&self, org: &Org) -> Result<(), StoreError>;
    async fn get_org(&self, org_id: &str) -> Result<Option<Org>, StoreError>;
    async fn insert_service_account(
        &self,
        account: &ServiceAccount,
        token: &TokenRow,
    ) -> Result<(), StoreError>;
    /// Looks an account up by its ID alone (an operator's command names no org).
    async fn find_service_account(
        &self,
        service_account_id: &str,
    ) -> Result<Option<ServiceAccount>, StoreError>;
    /// Sets the status; `Revoked` also revokes every token of the account.
    async fn set_service_account_status(
        &self,
        org_id: &str,
        service_account_id: &str,
        status: AccountStatus,
        now: mingle_core::Timestamp,
    ) -> Result<(), StoreError>;
    async fn find_credential(
        &self,
        org_id: &str,
        token_id: &str,
    ) -> Result<Option<Credential>, StoreError>;

    // Events.
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

    // Sessions.
    /// `Conflict` when the org has the session ID already (in any event).
    async fn insert_session(&self, org_id: &str, session: &Session) -> Result<(), StoreError>;
    async fn get_session(
        &self,
        org_id: &str,
        session_id: &str,
    ) -> Result<Option<Session>, StoreError>;
    /// By `start_timestamp` ascending (sessions without one last), then `session_id`.
    /// The position key is the start in ms, `i64::MAX` for none.
    async fn list_sessions(
        &self,
        org_id: &str,
        event_id: &str,
        page: &PageQuery,
    ) -> Result<Vec<Session>, StoreError>;

    // Partner-ID map.
    async fn partner_id_exists(
        &self,
        org_id: &str,
        kind: MappedKind,
        partner_id: &str,
    ) -> Result<bool, StoreError>;

    // Runs.
    /// Writes the run unless its org already holds its idempotency key; then returns
    /// the run that does. Atomic: of concurrent identical calls exactly one creates.
    async fn insert_run(&self, run: &Run) -> Result<RunInsert, StoreError>;
    async fn get_run(&self, org_id: &str, run_id: &str) -> Result<Option<Run>, StoreError>;
    /// Newest first: `created_at` descending, then `run_id` descending.
    async fn list_runs(
        &self,
        org_id: &str,
        kind: Option<RunKind>,
        page: &PageQuery,
    ) -> Result<Vec<Run>, StoreError>;
}

/// Opens the database a URL names, creating and migrating it as needed.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(crate::sqlite::SqliteStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
