//! Webhook deliveries: the outbox row written with a run's terminal status, the claim
//! under a lease, attempts, and the operator's reads and redelivery.

use async_trait::async_trait;
use mingle_core::Timestamp;
use sqlx::SqliteConnection;

use super::SqliteStore;
use crate::models::{Delivery, DeliveryAttempt, DeliveryLease, DeliveryNext};
use crate::rows::*;
use crate::{DeliveryStore, StoreError};

/// Inside the transaction that made a run terminal: the run's delivery, when it is an
/// executed run with a `webhook_url`. Its type follows the status just written.
pub(super) async fn enqueue_delivery(
    conn: &mut SqliteConnection,
    org_id: &str,
    run_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (org_id, delivery_id, run_id, event_type, url, status, attempts,
            next_attempt_at, created_at, updated_at)
         SELECT org_id, ?, run_id, 'run.' || status, webhook_url, 'pending', 0, ?, ?, ?
         FROM runs
         WHERE org_id = ? AND run_id = ? AND executes = 1 AND webhook_url IS NOT NULL
           AND status IN ('succeeded', 'partial', 'failed')",
    )
    .bind(format!("msg_{}", uuid::Uuid::now_v7().simple()))
    .bind(now)
    .bind(now)
    .bind(now)
    .bind(org_id)
    .bind(run_id)
    .execute(conn)
    .await
    .map_err(StoreError::backend)?;
    Ok(())
}

/// Every delivery column, with its last attempt's (`a_…`, NULL when none).
const SELECT_WITH_LAST: &str = "SELECT d.*, a.attempt AS a_attempt, a.attempted_at AS a_attempted_at,
        a.status_code AS a_status_code, a.latency_ms AS a_latency_ms, a.error AS a_error
    FROM webhook_deliveries d
    LEFT JOIN webhook_attempts a
      ON a.org_id = d.org_id AND a.delivery_id = d.delivery_id AND a.attempt = d.attempts";

#[async_trait]
impl DeliveryStore for SqliteStore {
    async fn claim_delivery(&self, owner: &str, now: Timestamp, lease_ms: i64) -> Result<Option<Delivery>, StoreError> {
        let row = sqlx::query(
            "UPDATE webhook_deliveries SET lease_owner = ?2, lease_expires_at = ?3, updated_at = ?1
             WHERE (org_id, delivery_id) = (
                SELECT org_id, delivery_id FROM webhook_deliveries
                WHERE status = 'pending' AND next_attempt_at <= ?1
                  AND (lease_owner IS NULL OR lease_expires_at < ?1)
                ORDER BY next_attempt_at, delivery_id LIMIT 1)
             RETURNING *",
        )
        .bind(now.millis())
        .bind(owner)
        .bind(now.millis() + lease_ms)
        .fetch_optional(&self.write)
        .await
        .map_err(StoreError::backend)?;
        row.map(|r| delivery_from_row(&r, false)).transpose()
    }

    async fn record_attempt(
        &self,
        lease: &DeliveryLease,
        attempt: &DeliveryAttempt,
        next: DeliveryNext,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (status, next_at, delivered_at) = next.outcome(now);
        let mut tx = self.write.begin().await.map_err(StoreError::backend)?;
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?,
                delivered_at = COALESCE(?, delivered_at), lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
             WHERE org_id = ? AND delivery_id = ? AND lease_owner = ? AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(attempt.attempt)
        .bind(next_at.map(Timestamp::millis))
        .bind(delivered_at.map(Timestamp::millis))
        .bind(now.millis())
        .bind(&lease.org_id)
        .bind(&lease.delivery_id)
        .bind(&lease.owner)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::backend)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO webhook_attempts (org_id, delivery_id, attempt, attempted_at, status_code, latency_ms, error)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&lease.org_id)
        .bind(&lease.delivery_id)
        .bind(attempt.attempt)
        .bind(attempt.attempted_at.millis())
        .bind(attempt.status_code.map(i64::from))
        .bind(attempt.latency_ms)
        .bind(&attempt.error)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::backend)?;
        tx.commit().await.map_err(StoreError::backend)?;
        Ok(true)
    }

    async fn find_delivery(&self, delivery_id: &str) -> Result<Option<Delivery>, StoreError> {
        sqlx::query(&format!("{SELECT_WITH_LAST} WHERE d.delivery_id = ?"))
            .bind(delivery_id)
            .fetch_optional(&self.read)
            .await
            .map_err(StoreError::backend)?
            .map(|r| delivery_from_row(&r, true))
            .transpose()
    }

    async fn list_deliveries(&self, org_id: &str, failed_only: bool, limit: i64) -> Result<Vec<Delivery>, StoreError> {
        sqlx::query(&format!(
            "{SELECT_WITH_LAST} WHERE d.org_id = ? AND (? = 0 OR d.status = 'failed')
             ORDER BY d.created_at DESC, d.delivery_id DESC LIMIT ?"
        ))
        .bind(org_id)
        .bind(failed_only)
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(StoreError::backend)?
        .iter()
        .map(|r| delivery_from_row(r, true))
        .collect()
    }

    async fn delivery_attempts(&self, org_id: &str, delivery_id: &str) -> Result<Vec<DeliveryAttempt>, StoreError> {
        sqlx::query("SELECT * FROM webhook_attempts WHERE org_id = ? AND delivery_id = ? ORDER BY attempt")
            .bind(org_id)
            .bind(delivery_id)
            .fetch_all(&self.read)
            .await
            .map_err(StoreError::backend)?
            .iter()
            .map(|r| attempt_from_row(r, ""))
            .collect()
    }

    async fn redeliver(&self, org_id: &str, delivery_id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?1, updated_at = ?1
             WHERE org_id = ?2 AND delivery_id = ?3 AND (lease_owner IS NULL OR lease_expires_at < ?1)",
        )
        .bind(now.millis())
        .bind(org_id)
        .bind(delivery_id)
        .execute(&self.write)
        .await
        .map_err(StoreError::backend)?;
        Ok(done.rows_affected() == 1)
    }
}
