//! The SQLite store: one file, WAL mode, created and migrated on open.
//!
//! Writes go through a pool of one connection so that SQLite never has to arbitrate
//! between writers (no `SQLITE_BUSY` under load); reads use a pool of their own, which
//! WAL lets run beside the writer.

mod credentials;
mod deliveries;
mod enrichment;
mod identity;
mod matching;
mod queue;
mod rows;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use mingle_core::cursor::Position;
use mingle_core::{RunKind, RunStatus, Scope, Timestamp};
use serde_json::{Map, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::models::*;
use crate::{Store, StoreError};
use rows::*;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    credentials: credentials::CredentialReader,
}

impl SqliteStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid SQLite URL '{url}': {e}")))?
            .create_if_missing(true)
            // 8 KiB pages hold a 1.5 KiB embedding in its table's own page; with the
            // default 4 KiB every cached vector spilled to an overflow page, doubling the
            // file and doubling a match run's read (250,000 vectors: 7.5 s -> 3.8 s; in
            // SQLite alone 2.6 s -> 0.8 s). Applies when the file is created; see
            // docs/operations.md.
            .page_size(8192)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // A page cache large enough for a 50,000-row import's indexes (the default
            // is 2 MiB); memory is only used as pages are touched.
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(StoreError::backend)?;
        MIGRATOR.run(&write).await.map_err(StoreError::backend)?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone().read_only(true))
            .await
            .map_err(StoreError::backend)?;
        let file = options.get_filename();
        let in_memory = file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:");
        let credentials = credentials::CredentialReader::new((!in_memory).then(|| file.to_path_buf()));
        Ok(Self { read, write, credentials })
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn insert_error(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict
    } else {
        StoreError::backend(e)
    }
}

/// `(key, id)` of a keyset position, or a start before every row.
fn after_desc(page: &PageQuery) -> (i64, String) {
    page.after.as_ref().map(|p| (p.key, p.id.clone())).unwrap_or((i64::MAX, String::from("\u{10FFFF}")))
}

#[async_trait]
impl Store for SqliteStore {
    async fn check_ready(&self) -> Result<(), StoreError> {
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.read)
            .await
            .map_err(StoreError::backend)?;
        let expected = MIGRATOR.iter().count() as i64;
        if applied < expected {
            return Err(StoreError::Backend(format!("schema not migrated ({applied} of {expected} migrations)")));
        }
        Ok(())
    }

    async fn insert_org(&self, org: &Org) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO orgs (org_id, name, webhook_secret, cursor_key, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&org.org_id)
            .bind(&org.name)
            .bind(&org.webhook_secret)
            .bind(&org.cursor_key)
            .bind(org.created_at.millis())
            .execute(&self.write)
            .await
            .map_err(insert_error)?;
        Ok(())
    }

    async fn get_org(&self, org_id: &str) -> Result<Option<Org>, StoreError> {
        sqlx::query("SELECT * FROM orgs WHERE org_id = ?")
            .bind(org_id)
            .fetch_optional(&self.read)
            .await
            .map_err(StoreError::backend)?
            .map(|r| org_from_row(&r))
            .transpose()
    }

    async fn rotate_webhook_secret(
        &self,
        org_id: &str,
        secret: &str,
        keep_old_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE orgs SET previous_webhook_secret = webhook_secret, previous_webhook_secret_until = ?,
                webhook_secret = ? WHERE org_id = ?",
        )
        .bind(keep_old_until.millis())
        .bind(secret)
        .bind(org_id)
        .execute(&self.write)
        .await
        .map_err(StoreError::backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_service_account(&self, account: &ServiceAccount, token: &TokenRow) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await.map_err(StoreError::backend)?;
        sqlx::query(
            "INSERT INTO service_accounts (org_id, service_account_id, name, scopes, status, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&account.org_id)
        .bind(&account.service_account_id)
        .bind(&account.name)
        .bind(Scope::join(&account.scopes))
        .bind(account.status.as_str())
        .bind(account.created_at.millis())
        .bind(account.updated_at.millis())
        .execute(&mut *tx)
        .await
        .map_err(insert_error)?;
        sqlx::query(
            "INSERT INTO api_tokens (org_id, token_id, service_account_id, token_hash, created_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&token.org_id)
        .bind(&token.token_id)
        .bind(&token.service_account_id)
        .bind(&token.token_hash)
        .bind(token.created_at.millis())
        .execute(&mut *tx)
        .await
        .map_err(insert_error)?;
        tx.commit().await.map_err(StoreError::backend)
    }

    async fn find_service_account(&self, service_account_id: &str) -> Result<Option<ServiceAccount>, StoreError> {
        sqlx::query("SELECT * FROM service_accounts WHERE service_account_id = ?")
            .bind(service_account_id)
            .fetch_optional(&self.read)
            .await
            .map_err(StoreError::backend)?
            .map(|r| account_from_row(&r))
            .transpose()
    }

    async fn set_service_account_status(
        &self,
        org_id: &str,
        service_account_id: &str,
        status: AccountStatus,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await.map_err(StoreError::backend)?;
        sqlx::query(
            "UPDATE service_accounts SET status = ?, updated_at = ? WHERE org_id = ? AND service_account_id = ?",
        )
        .bind(status.as_str())
        .bind(now.millis())
        .bind(org_id)
        .bind(service_account_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::backend)?;
        if status == AccountStatus::Revoked {
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = ? WHERE org_id = ? AND service_account_id = ? AND revoked_at IS NULL",
            )
            .bind(now.millis())
            .bind(org_id)
            .bind(service_account_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::backend)?;
        }
        tx.commit().await.map_err(StoreError::backend)
    }

    async fn find_credential(&self, org_id: &str, token_id: &str) -> Result<Option<Credential>, StoreError> {
        if let Some(answer) = self.credentials.read(org_id, token_id) {
            return answer;
        }
        let row = sqlx::query(credentials::CREDENTIAL_SQL)
            .bind(org_id)
            .bind(token_id)
            .fetch_optional(&self.read)
            .await
            .map_err(StoreError::backend)?;
        row.map(|r| credential_from_row(&r)).transpose()
    }

    async fn insert_event(&self, org_id: &str, e: &Event) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO events (org_id, event_id, title, description, event_details, objectives,
                welcome_instructions, start_date, end_date, timezone, visibility, url_slug, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(org_id)
        .bind(&e.event_id)
        .bind(&e.title)
        .bind(&e.description)
        .bind(&e.event_details)
        .bind(&e.objectives)
        .bind(&e.welcome_instructions)
        .bind(&e.start_date)
        .bind(&e.end_date)
        .bind(&e.timezone)
        .bind(&e.visibility)
        .bind(&e.url_slug)
        .bind(e.created_at.millis())
        .bind(e.updated_at.millis())
        .execute(&self.write)
        .await
        .map_err(insert_error)?;
        Ok(())
    }

    async fn get_event(&self, org_id: &str, event_id: &str) -> Result<Option<Event>, StoreError> {
        sqlx::query("SELECT * FROM events WHERE org_id = ? AND event_id = ?")
            .bind(org_id)
            .bind(event_id)
            .fetch_optional(&self.read)
            .await
            .map_err(StoreError::backend)?
            .map(|r| event_from_row(&r))
            .transpose()
    }

    async fn list_events(&self, org_id: &str, page: &PageQuery) -> Result<Vec<Event>, StoreError> {
        let (key, id) = after_desc(page);
        sqlx::query(
            "SELECT * FROM events WHERE org_id = ? AND (created_at, event_id) < (?, ?)
             ORDER BY created_at DESC, event_id DESC LIMIT ?",
        )
        .bind(org_id)
        .bind(key)
        .bind(id)
        .bind(page.limit)
        .fetch_all(&self.read)
        .await
        .map_err(StoreError::backend)?
        .iter()
        .map(event_from_row)
        .collect()
    }

    async fn update_event_context(
        &self,
        org_id: &str,
        event_id: &str,
        patch: &EventContextPatch,
        now: Timestamp,
    ) -> Result<Option<Event>, StoreError> {
        // CASE keeps a field the patch leaves out; a set field takes the bound value
        // (NULL clears it).
        let keep = |p: &Option<Option<String>>| p.is_none();
        let value = |p: &Option<Option<String>>| p.clone().flatten();
        let row = sqlx::query(
            "UPDATE events SET
                event_details = CASE WHEN ? THEN event_details ELSE ? END,
                objectives = CASE WHEN ? THEN objectives ELSE ? END,
                welcome_instructions = CASE WHEN ? THEN welcome_instructions ELSE ? END,
                updated_at = ?
             WHERE org_id = ? AND event_id = ?
             RETURNING *",
        )
        .bind(keep(&patch.event_details))
        .bind(value(&patch.event_details))
        .bind(keep(&patch.objectives))
        .bind(value(&patch.objectives))
        .bind(keep(&patch.welcome_instructions))
        .bind(value(&patch.welcome_instructions))
        .bind(now.millis())
        .bind(org_id)
        .bind(event_id)
        .fetch_optional(&self.write)
        .await
        .map_err(StoreError::backend)?;
        row.map(|r| event_from_row(&r)).transpose()
    }

    async fn insert_session(&self, org_id: &str, s: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (org_id, session_id, event_id, title, description, start_timestamp,
                end_timestamp, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(org_id)
        .bind(&s.session_id)
        .bind(&s.event_id)
        .bind(&s.title)
        .bind(&s.description)
        .bind(s.start_timestamp.map(Timestamp::millis))
        .bind(s.end_timestamp.map(Timestamp::millis))
        .bind(s.created_at.millis())
        .bind(s.updated_at.millis())
        .execute(&self.write)
        .await
        .map_err(insert_error)?;
        Ok(())
    }

    async fn get_session(&self, org_id: &str, session_id: &str) -> Result<Option<Session>, StoreError> {
        sqlx::query("SELECT * FROM sessions WHERE org_id = ? AND session_id = ?")
            .bind(org_id)
            .bind(session_id)
            .fetch_optional(&self.read)
            .await
            .map_err(StoreError::backend)?
            .map(|r| session_from_row(&r))
            .transpose()
    }

    async fn list_sessions(&self, org_id: &str, event_id: &str, page: &PageQuery) -> Result<Vec<Session>, StoreError> {
        let (key, id) =
            page.after.as_ref().map(|p: &Position| (p.key, p.id.clone())).unwrap_or((i64::MIN, String::new()));
        // Sessions without a start sort last: their key is i64::MAX.
        sqlx::query(
            "SELECT * FROM sessions
             WHERE org_id = ? AND event_id = ? AND (COALESCE(start_timestamp, 9223372036854775807), session_id) > (?, ?)
             ORDER BY (start_timestamp IS NULL), start_timestamp, session_id LIMIT ?",
        )
        .bind(org_id)
        .bind(event_id)
        .bind(key)
        .bind(id)
        .bind(page.limit)
        .fetch_all(&self.read)
        .await
        .map_err(StoreError::backend)?
        .iter()
        .map(session_from_row)
        .collect()
    }

    async fn lookup_partner_id(
        &self,
        org_id: &str,
        kind: MappedKind,
        partner_id: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        let sql = match kind {
            MappedKind::Event => "SELECT NULL FROM events WHERE org_id = ? AND event_id = ?",
            MappedKind::Session => "SELECT NULL FROM sessions WHERE org_id = ? AND session_id = ?",
            MappedKind::Attendee => "SELECT merged_into FROM attendees WHERE org_id = ? AND attendee_id = ?",
        };
        sqlx::query_scalar::<_, Option<String>>(sql)
            .bind(org_id)
            .bind(partner_id)
            .fetch_optional(&self.read)
            .await
            .map_err(StoreError::backend)
    }

    async fn insert_run(&self, run: &Run, payload: Option<&str>) -> Result<RunInsert, StoreError> {
        let mut tx = self.write.begin().await.map_err(StoreError::backend)?;
        let written = sqlx::query(
            "INSERT INTO runs (org_id, run_id, kind, status, event_id, idempotency_key, request_hash, progress,
                error, snapshot_metadata, version_metadata, webhook_url, created_at, updated_at, started_at, terminal_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (org_id, idempotency_key) DO NOTHING",
        )
        .bind(&run.org_id)
        .bind(&run.run_id)
        .bind(run.kind.as_str())
        .bind(run.status.as_str())
        .bind(&run.event_id)
        .bind(&run.idempotency_key)
        .bind(&run.request_hash)
        .bind(json_text(&run.progress))
        .bind(run.error.as_ref().map(|e| e.to_string()))
        .bind(json_text(&run.snapshot_metadata))
        .bind(json_text(&run.version_metadata))
        .bind(&run.webhook_url)
        .bind(run.created_at.millis())
        .bind(run.updated_at.millis())
        .bind(run.started_at.map(Timestamp::millis))
        .bind(run.terminal_at.map(Timestamp::millis))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::backend)?;
        if written.rows_affected() == 1 {
            if let Some(payload) = payload {
                sqlx::query("INSERT INTO run_payloads (org_id, run_id, payload) VALUES (?, ?, ?)")
                    .bind(&run.org_id)
                    .bind(&run.run_id)
                    .bind(payload)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::backend)?;
            }
            tx.commit().await.map_err(StoreError::backend)?;
            return Ok(RunInsert::Created);
        }
        // Read inside the writer's transaction so the row that won the key is visible.
        let row = sqlx::query("SELECT * FROM runs WHERE org_id = ? AND idempotency_key = ?")
            .bind(&run.org_id)
            .bind(&run.idempotency_key)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::backend)?;
        tx.commit().await.map_err(StoreError::backend)?;
        Ok(RunInsert::Existing(Box::new(run_from_row(&row)?)))
    }

    async fn get_run(&self, org_id: &str, run_id: &str) -> Result<Option<Run>, StoreError> {
        sqlx::query("SELECT * FROM runs WHERE org_id = ? AND run_id = ?")
            .bind(org_id)
            .bind(run_id)
            .fetch_optional(&self.read)
            .await
            .map_err(StoreError::backend)?
            .map(|r| run_from_row(&r))
            .transpose()
    }

    async fn list_runs(&self, org_id: &str, kind: Option<RunKind>, page: &PageQuery) -> Result<Vec<Run>, StoreError> {
        let (key, id) = after_desc(page);
        sqlx::query(
            "SELECT * FROM runs WHERE org_id = ? AND (? IS NULL OR kind = ?) AND (created_at, run_id) < (?, ?)
             ORDER BY created_at DESC, run_id DESC LIMIT ?",
        )
        .bind(org_id)
        .bind(kind.map(RunKind::as_str))
        .bind(kind.map(RunKind::as_str))
        .bind(key)
        .bind(id)
        .bind(page.limit)
        .fetch_all(&self.read)
        .await
        .map_err(StoreError::backend)?
        .iter()
        .map(run_from_row)
        .collect()
    }

    async fn claim_run(&self, owner: &str, now: Timestamp, lease_ms: i64) -> Result<Option<Run>, StoreError> {
        self.claim(owner, now, lease_ms).await
    }

    async fn extend_lease(&self, lease: &Lease, until: Timestamp) -> Result<bool, StoreError> {
        self.extend(lease, until).await
    }

    async fn set_progress(
        &self,
        lease: &Lease,
        progress: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.progress(lease, progress, now).await
    }

    async fn finish_run(
        &self,
        lease: &Lease,
        status: RunStatus,
        progress: Option<&Map<String, Value>>,
        error: Option<&Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.finish(lease, status, progress, error, now).await
    }

    async fn release_run(&self, lease: &Lease, now: Timestamp) -> Result<(), StoreError> {
        self.release(lease, now).await
    }

    async fn queue_depths(&self) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query_as(
            "SELECT kind, COUNT(*) FROM runs WHERE status = 'queued' AND event_id IS NOT NULL GROUP BY kind
             UNION ALL
             SELECT 'webhook', COUNT(*) FROM webhook_deliveries WHERE status = 'pending'",
        )
        .fetch_all(&self.read)
        .await
        .map_err(StoreError::backend)
    }

    async fn run_payload(&self, org_id: &str, run_id: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT payload FROM run_payloads WHERE org_id = ? AND run_id = ?")
            .bind(org_id)
            .bind(run_id)
            .fetch_optional(&self.read)
            .await
            .map_err(StoreError::backend)
    }

    async fn apply_import(
        &self,
        lease: &Lease,
        event_id: &str,
        query: &SnapshotQuery,
        plan: Box<dyn FnOnce(ImportSnapshot) -> ImportPlan + Send>,
    ) -> Result<bool, StoreError> {
        self.import(lease, event_id, query, plan).await
    }

    async fn get_attendee(&self, org_id: &str, attendee_id: &str) -> Result<Option<Attendee>, StoreError> {
        self.attendee(org_id, attendee_id).await
    }

    async fn is_member(&self, org_id: &str, event_id: &str, attendee_id: &str) -> Result<bool, StoreError> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM event_attendees WHERE org_id = ? AND event_id = ? AND attendee_id = ?)",
        )
        .bind(org_id)
        .bind(event_id)
        .bind(attendee_id)
        .fetch_one(&self.read)
        .await
        .map_err(StoreError::backend)
    }

    async fn list_attendees(
        &self,
        org_id: &str,
        event_id: &str,
        page: &PageQuery,
    ) -> Result<Vec<AttendeeListing>, StoreError> {
        self.attendees_of_event(org_id, event_id, page).await
    }

    async fn list_decisions(
        &self,
        org_id: &str,
        attendee_id: &str,
        page: &PageQuery,
    ) -> Result<Vec<Decision>, StoreError> {
        self.decisions(org_id, attendee_id, page).await
    }

    async fn get_review(&self, org_id: &str, review_id: &str) -> Result<Option<Review>, StoreError> {
        self.review(org_id, review_id).await
    }

    async fn list_open_reviews(
        &self,
        org_id: &str,
        event_id: Option<&str>,
        page: &PageQuery,
    ) -> Result<Vec<Review>, StoreError> {
        self.open_reviews(org_id, event_id, page).await
    }

    async fn resolve_review(&self, org_id: &str, resolution: &Resolution) -> Result<bool, StoreError> {
        self.resolve(org_id, resolution).await
    }

    async fn merge_attendees(&self, org_id: &str, merge: &MergeRequest) -> Result<Option<MergeCounts>, StoreError> {
        self.merge(org_id, merge).await
    }

    async fn is_distinct(&self, org_id: &str, a: &str, b: &str) -> Result<bool, StoreError> {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM distinct_pairs WHERE org_id = ? AND attendee_a = ? AND attendee_b = ?)",
        )
        .bind(org_id)
        .bind(a)
        .bind(b)
        .fetch_one(&self.read)
        .await
        .map_err(StoreError::backend)
    }

    async fn enrichment_inputs(&self, org_id: &str, event_id: &str) -> Result<Vec<EnrichmentInput>, StoreError> {
        self.inputs(org_id, event_id).await
    }

    async fn cached_embeddings(
        &self,
        org_id: &str,
        model_id: &str,
        text_hashes: &[String],
    ) -> Result<Vec<(String, Vec<f32>)>, StoreError> {
        self.cached(org_id, model_id, text_hashes).await
    }

    async fn save_embeddings(
        &self,
        org_id: &str,
        model_id: &str,
        entries: &[(String, Vec<f32>)],
    ) -> Result<(), StoreError> {
        self.cache(org_id, model_id, entries).await
    }

    async fn event_features(&self, org_id: &str, event_id: &str) -> Result<Vec<Features>, StoreError> {
        self.features_of_event(org_id, event_id).await
    }

    async fn save_features(
        &self,
        lease: &Lease,
        event_id: &str,
        features: &[Features],
        progress: &Map<String, Value>,
    ) -> Result<bool, StoreError> {
        self.features(lease, event_id, features, progress).await
    }

    async fn save_matches(&self, lease: &Lease, event_id: &str, write: &MatchWrite) -> Result<bool, StoreError> {
        self.write_matches(lease, event_id, write).await
    }

    async fn latest_match_run(&self, org_id: &str, event_id: &str) -> Result<Option<Run>, StoreError> {
        self.latest_match(org_id, event_id).await
    }

    async fn attendee_matches(
        &self,
        org_id: &str,
        run_id: &str,
        attendee_id: &str,
    ) -> Result<Vec<StoredMatch>, StoreError> {
        self.matches_of(org_id, run_id, attendee_id).await
    }

    async fn event_matches(
        &self,
        org_id: &str,
        run_id: &str,
        filter: &MatchFilter,
        page: &PageQuery,
    ) -> Result<Vec<StoredMatch>, StoreError> {
        self.list_matches(org_id, run_id, filter, page).await
    }

    async fn get_match(&self, org_id: &str, run_id: &str, a: &str, b: &str) -> Result<Option<StoredMatch>, StoreError> {
        self.one_match(org_id, run_id, a, b).await
    }

    async fn match_profiles(
        &self,
        org_id: &str,
        run_id: &str,
        ids: &[String],
    ) -> Result<Vec<MatchProfile>, StoreError> {
        self.profiles(org_id, run_id, ids).await
    }
}
