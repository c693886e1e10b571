//! Runs and the run queue in PostgreSQL. Claims take the oldest claimable run with
//! `FOR UPDATE SKIP LOCKED`, so workers in many processes never wait on each other or
//! take the same run; every write after the claim names the lease.

use async_trait::async_trait;
use mingle_core::{RunKind, RunStatus, Timestamp};
use serde_json::{Map, Value};
use sqlx::PgConnection;

use super::deliveries::enqueue_delivery;
use super::{after_desc, db, limit, PgStore};
use crate::models::*;
use crate::rows::*;
use crate::{RunStore, StoreError};

/// The channel `NOTIFY` wakes workers on when a run is queued (`forward_run_signals`).
pub(super) const RUNS_CHANNEL: &str = "mingle_runs";

#[async_trait]
impl RunStore for PgStore {
    async fn insert_run(&self, run: &Run, payload: Option<&str>) -> Result<RunInsert, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // ON CONFLICT waits for a concurrent insert of the same key to commit or roll
        // back, so exactly one of concurrent identical calls creates the run.
        let written = sqlx::query(
            "INSERT INTO runs (org_id, run_id, kind, status, event_id, idempotency_key, request_hash, progress,
                error, snapshot_metadata, version_metadata, webhook_url, executes, created_at, updated_at, started_at,
                terminal_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
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
        .map_err(db)?;
        if written.rows_affected() == 1 {
            if let Some(payload) = payload {
                sqlx::query("INSERT INTO run_payloads (org_id, run_id, payload) VALUES ($1, $2, $3)")
                    .bind(&run.org_id)
                    .bind(&run.run_id)
                    .bind(payload)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            if run.executes {
                // Delivered at commit, to every process listening.
                sqlx::query("SELECT pg_notify($1, '')").bind(RUNS_CHANNEL).execute(&mut *tx).await.map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            return Ok(RunInsert::Created);
        }
        let row = sqlx::query("SELECT * FROM runs WHERE org_id = $1 AND idempotency_key = $2")
            .bind(&run.org_id)
            .bind(&run.idempotency_key)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(RunInsert::Existing(Box::new(run_from_row(&row)?)))
    }

    async fn get_run(&self, org_id: &str, run_id: &str) -> Result<Option<Run>, StoreError> {
        sqlx::query("SELECT * FROM runs WHERE org_id = $1 AND run_id = $2")
            .bind(org_id)
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| run_from_row(&r))
            .transpose()
    }

    async fn list_runs(&self, org_id: &str, kind: Option<RunKind>, page: &PageQuery) -> Result<Vec<Run>, StoreError> {
        let (key, id) = after_desc(page);
        sqlx::query(
            "SELECT * FROM runs WHERE org_id = $1 AND ($2::text IS NULL OR kind = $2) AND (created_at, run_id) < ($3, $4)
             ORDER BY created_at DESC, run_id DESC LIMIT $5",
        )
        .bind(org_id)
        .bind(kind.map(RunKind::as_str))
        .bind(key)
        .bind(id)
        .bind(limit(page))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(run_from_row)
        .collect()
    }

    async fn queue_depths(&self) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query_as(
            "SELECT kind, COUNT(*) FROM runs WHERE status = 'queued' AND executes GROUP BY kind
             UNION ALL
             SELECT 'webhook', COUNT(*) FROM webhook_deliveries WHERE status = 'pending'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)
    }

    async fn run_payload(&self, org_id: &str, run_id: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT payload FROM run_payloads WHERE org_id = $1 AND run_id = $2")
            .bind(org_id)
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn claim_run(&self, owner: &str, now: Timestamp, lease_ms: i64) -> Result<Option<Run>, StoreError> {
        sqlx::query(
            "UPDATE runs AS r SET status = 'running', started_at = COALESCE(r.started_at, $1), lease_owner = $2,
                lease_expires_at = $3, attempts = r.attempts + 1, updated_at = $1
             FROM (SELECT org_id, run_id FROM runs
                   WHERE executes AND (status = 'queued' OR (status = 'running' AND lease_expires_at < $1))
                   ORDER BY created_at, run_id LIMIT 1
                   FOR UPDATE SKIP LOCKED) AS c
             WHERE r.org_id = c.org_id AND r.run_id = c.run_id
             RETURNING r.*",
        )
        .bind(now.millis())
        .bind(owner)
        .bind(now.millis() + lease_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(|r| run_from_row(&r))
        .transpose()
    }

    async fn extend_lease(&self, lease: &Lease, until: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE runs SET lease_expires_at = $1
             WHERE org_id = $2 AND run_id = $3 AND lease_owner = $4 AND status = 'running'",
        )
        .bind(until.millis())
        .bind(&lease.org_id)
        .bind(&lease.run_id)
        .bind(&lease.owner)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_progress(
        &self,
        lease: &Lease,
        progress: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE runs SET progress = $1, updated_at = $2
             WHERE org_id = $3 AND run_id = $4 AND lease_owner = $5 AND status = 'running'",
        )
        .bind(json_text(progress))
        .bind(now.millis())
        .bind(&lease.org_id)
        .bind(&lease.run_id)
        .bind(&lease.owner)
        .execute(&self.pool)
        .await
        .map_err(db)?;
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        let end = RunEnd { status, progress, error, metadata: None, now };
        if !finish_under_lease(&mut tx, lease, &end).await? {
            return Ok(false);
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn release_run(&self, lease: &Lease, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
             WHERE org_id = $2 AND run_id = $3 AND lease_owner = $4 AND status = 'running'",
        )
        .bind(now.millis())
        .bind(&lease.org_id)
        .bind(&lease.run_id)
        .bind(&lease.owner)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        sqlx::query("SELECT pg_notify($1, '')").bind(RUNS_CHANNEL).execute(&self.pool).await.map_err(db)?;
        Ok(())
    }
}

/// Inside a run's final transaction, before it writes: whether `lease` still holds the
/// run. The row stays locked until the transaction ends, so no other worker can claim
/// the run (its lease expiring meanwhile) while this one writes its results.
pub(super) async fn holds_lease(conn: &mut PgConnection, lease: &Lease) -> Result<bool, StoreError> {
    let held: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM runs WHERE org_id = $1 AND run_id = $2 AND lease_owner = $3 AND status = 'running'
         FOR UPDATE",
    )
    .bind(&lease.org_id)
    .bind(&lease.run_id)
    .bind(&lease.owner)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    Ok(held.is_some())
}

/// The one terminal write, inside the transaction that writes the run's results (if
/// any): sets the status `end` gives with its progress, error and metadata, and queues
/// the run's webhook delivery, if `lease` still holds the run. `false` means the lease
/// was lost and the caller must not commit.
pub(super) async fn finish_under_lease(
    conn: &mut PgConnection,
    lease: &Lease,
    end: &RunEnd<'_>,
) -> Result<bool, StoreError> {
    debug_assert!(end.status.is_terminal());
    let now = end.now.millis();
    let done = sqlx::query(
        "UPDATE runs SET status = $1, progress = COALESCE($2, progress), error = $3,
            snapshot_metadata = COALESCE($4, snapshot_metadata), version_metadata = COALESCE($5, version_metadata),
            terminal_at = $6, updated_at = $6, lease_owner = NULL, lease_expires_at = NULL
         WHERE org_id = $7 AND run_id = $8 AND lease_owner = $9 AND status = 'running'",
    )
    .bind(end.status.as_str())
    .bind(end.progress.map(json_text))
    .bind(end.error.map(Value::to_string))
    .bind(end.metadata.map(|m| json_text(m.0)))
    .bind(end.metadata.map(|m| json_text(m.1)))
    .bind(now)
    .bind(&lease.org_id)
    .bind(&lease.run_id)
    .bind(&lease.owner)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    enqueue_delivery(conn, &lease.org_id, &lease.run_id, now).await?;
    Ok(true)
}
