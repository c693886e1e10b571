//! Runs and the run queue: creation (idempotent per key), reads, claims under a lease,
//! heartbeats, progress and terminal statuses. Every write after the claim names the
//! lease, so a worker that lost its run (its lease expired and another worker took
//! over) can change nothing.

use async_trait::async_trait;
use mingle_core::{RunKind, RunStatus, Timestamp};
use serde_json::{Map, Value};
use sqlx::SqliteConnection;

use super::deliveries::enqueue_delivery;
use super::{after_desc, SqliteStore};
use crate::models::*;
use crate::rows::*;
use crate::{RunStore, StoreError};

#[async_trait]
impl RunStore for SqliteStore {
    async fn insert_run(&self, run: &Run, payload: Option<&str>) -> Result<RunInsert, StoreError> {
        let mut tx = self.write.begin().await.map_err(StoreError::backend)?;
        let written = sqlx::query(
            "INSERT INTO runs (org_id, run_id, kind, status, event_id, idempotency_key, request_hash, progress,
                error, snapshot_metadata, version_metadata, webhook_url, executes, created_at, updated_at, started_at,
                terminal_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
        .bind(run.executes)
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
        const SQL: &str = "SELECT * FROM runs WHERE org_id = ? AND run_id = ?";
        short_read!(one: self, SQL, [org_id, run_id], run_from_row)
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

    async fn queue_depths(&self) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query_as(
            "SELECT kind, COUNT(*) FROM runs WHERE status = 'queued' AND executes = 1 GROUP BY kind
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

    async fn claim_run(&self, owner: &str, now: Timestamp, lease_ms: i64) -> Result<Option<Run>, StoreError> {
        let row = sqlx::query(
            "UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?1), lease_owner = ?2,
                lease_expires_at = ?3, attempts = attempts + 1, updated_at = ?1
             WHERE (org_id, run_id) = (
                SELECT org_id, run_id FROM runs
                WHERE executes = 1
                  AND (status = 'queued' OR (status = 'running' AND lease_expires_at < ?1))
                ORDER BY created_at, run_id LIMIT 1)
             RETURNING *",
        )
        .bind(now.millis())
        .bind(owner)
        .bind(now.millis() + lease_ms)
        .fetch_optional(&self.write)
        .await
        .map_err(StoreError::backend)?;
        row.map(|r| run_from_row(&r)).transpose()
    }

    async fn extend_lease(&self, lease: &Lease, until: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE runs SET lease_expires_at = ? WHERE org_id = ? AND run_id = ? AND lease_owner = ? AND status = 'running'",
        )
        .bind(until.millis())
        .bind(&lease.org_id)
        .bind(&lease.run_id)
        .bind(&lease.owner)
        .execute(&self.write)
        .await
        .map_err(StoreError::backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_progress(
        &self,
        lease: &Lease,
        progress: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE runs SET progress = ?, updated_at = ?
             WHERE org_id = ? AND run_id = ? AND lease_owner = ? AND status = 'running'",
        )
        .bind(json_text(progress))
        .bind(now.millis())
        .bind(&lease.org_id)
        .bind(&lease.run_id)
        .bind(&lease.owner)
        .execute(&self.write)
        .await
        .map_err(StoreError::backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_run(
        &self,
        lease: &Lease,
        status: RunStatus,
        progress: Option<&Map<String, Value>>,
        error: Option<&Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await.map_err(StoreError::backend)?;
        let end = RunEnd { status, progress, error, metadata: None, now };
        if !finish_under_lease(&mut tx, lease, &end).await? {
            return Ok(false);
        }
        tx.commit().await.map_err(StoreError::backend)?;
        Ok(true)
    }

    async fn release_run(&self, lease: &Lease, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
             WHERE org_id = ? AND run_id = ? AND lease_owner = ? AND status = 'running'",
        )
        .bind(now.millis())
        .bind(&lease.org_id)
        .bind(&lease.run_id)
        .bind(&lease.owner)
        .execute(&self.write)
        .await
        .map_err(StoreError::backend)?;
        Ok(())
    }
}

/// Inside a run's final transaction, before it writes: whether `lease` still holds the
/// run. A worker that lost its lease stops here instead of writing rows that the run's
/// new owner may already have written (and colliding with them). The status itself is
/// written last, by [`finish_under_lease`], which checks again.
pub(super) async fn holds_lease(conn: &mut SqliteConnection, lease: &Lease) -> Result<bool, StoreError> {
    let held: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM runs WHERE org_id = ? AND run_id = ? AND lease_owner = ? AND status = 'running'",
    )
    .bind(&lease.org_id)
    .bind(&lease.run_id)
    .bind(&lease.owner)
    .fetch_optional(conn)
    .await
    .map_err(StoreError::backend)?;
    Ok(held.is_some())
}

/// The one terminal write, inside the transaction that writes the run's results (if
/// any): sets the status `end` gives with its progress, error and metadata, and queues
/// the run's webhook delivery, if `lease` still holds the run. `false` means the lease
/// was lost and the caller must not commit (dropping the transaction rolls everything
/// back), so a run is never terminal without its delivery, nor its results without its
/// terminal status.
pub(super) async fn finish_under_lease(
    conn: &mut SqliteConnection,
    lease: &Lease,
    end: &RunEnd<'_>,
) -> Result<bool, StoreError> {
    debug_assert!(end.status.is_terminal());
    let now = end.now.millis();
    let done = sqlx::query(
        "UPDATE runs SET status = ?, progress = COALESCE(?, progress), error = ?,
            snapshot_metadata = COALESCE(?, snapshot_metadata), version_metadata = COALESCE(?, version_metadata),
            terminal_at = ?, updated_at = ?, lease_owner = NULL, lease_expires_at = NULL
         WHERE org_id = ? AND run_id = ? AND lease_owner = ? AND status = 'running'",
    )
    .bind(end.status.as_str())
    .bind(end.progress.map(json_text))
    .bind(end.error.map(Value::to_string))
    .bind(end.metadata.map(|m| json_text(m.0)))
    .bind(end.metadata.map(|m| json_text(m.1)))
    .bind(now)
    .bind(now)
    .bind(&lease.org_id)
    .bind(&lease.run_id)
    .bind(&lease.owner)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::backend)?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    // The outbox: a run that ends with a webhook_url ends with its delivery queued.
    enqueue_delivery(conn, &lease.org_id, &lease.run_id, now).await?;
    Ok(true)
}
