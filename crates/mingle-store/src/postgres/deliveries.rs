//! Webhook deliveries in PostgreSQL: the outbox row written with a run's terminal
//! status, claims with `FOR UPDATE SKIP LOCKED`, attempts, and the operator's reads.

use async_trait::async_trait;
use mingle_core::Timestamp;
use sqlx::PgConnection;

use super::{db, PgStore};
use crate::models::{Delivery, DeliveryAttempt, DeliveryLease, DeliveryNext};
use crate::rows::*;
use crate::{DeliveryStore, StoreError};

/// Inside the transaction that made a run terminal: the run's delivery, when it is an
/// executed run with a `webhook_url`. Its type follows the status just written.
pub(super) async fn enqueue_delivery(
    conn: &mut PgConnection,
    org_id: &str,
    run_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (org_id, delivery_id, run_id, event_type, url, status, attempts,
            next_attempt_at, created_at, updated_at)
         SELECT org_id, $1, run_id, 'run.' || status, webhook_url, 'pending', 0, $2, $2, $2
         FROM runs
         WHERE org_id = $3 AND run_id = $4 AND executes AND webhook_url IS NOT NULL
           AND status IN ('succeeded', 'partial', 'failed')",
    )
    .bind(format!("msg_{}", uuid::Uuid::now_v7().simple()))
    .bind(now)
    .bind(org_id)
    .bind(run_id)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Every delivery column, with its last attempt's (`a_…`, NULL when none).
const SELECT_WITH_LAST: &str = "SELECT d.*, a.attempt AS a_attempt, a.attempted_at AS a_attempted_at,
        a.status_code AS a_status_code, a.latency_ms AS a_latency_ms, a.error AS a_error
    FROM webhook_deliveries d
    LEFT JOIN webhook_attempts a
      ON a.org_id = d.org_id AND a.delivery_id = d.delivery_id AND a.attempt = d.attempts";

#[async_trait]
impl DeliveryStore for PgStore {
    async fn claim_delivery(&self, owner: &str, now: Timestamp, lease_ms: i64) -> Result<Option<Delivery>, StoreError> {
        sqlx::query(
            "UPDATE webhook_deliveries AS d SET lease_owner = $2, lease_expires_at = $3, updated_at = $1
             FROM (SELECT org_id, delivery_id FROM webhook_deliveries
                   WHERE status = 'pending' AND next_attempt_at <= $1
                     AND (lease_owner IS NULL OR lease_expires_at < $1)
                   ORDER BY next_attempt_at, delivery_id LIMIT 1
                   FOR UPDATE SKIP LOCKED) AS c
             WHERE d.org_id = c.org_id AND d.delivery_id = c.delivery_id
             RETURNING d.*",
        )
        .bind(now.millis())
        .bind(owner)
        .bind(now.millis() + lease_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(|r| delivery_from_row(&r, false))
        .transpose()
    }

    async fn record_attempt(
        &self,
        lease: &DeliveryLease,
        attempt: &DeliveryAttempt,
        next: DeliveryNext,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (status, next_at, delivered_at) = next.outcome(now);
        let mut tx = self.pool.begin().await.map_err(db)?;
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3,
                delivered_at = COALESCE($4, delivered_at), lease_owner = NULL, lease_expires_at = NULL, updated_at = $5
             WHERE org_id = $6 AND delivery_id = $7 AND lease_owner = $8 AND status = 'pending'",
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
        .map_err(db)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO webhook_attempts (org_id, delivery_id, attempt, attempted_at, status_code, latency_ms, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn find_delivery(&self, delivery_id: &str) -> Result<Option<Delivery>, StoreError> {
        sqlx::query(&format!("{SELECT_WITH_LAST} WHERE d.delivery_id = $1"))
            .bind(delivery_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| delivery_from_row(&r, true))
            .transpose()
    }

    async fn list_deliveries(&self, org_id: &str, failed_only: bool, limit: i64) -> Result<Vec<Delivery>, StoreError> {
        sqlx::query(&format!(
            "{SELECT_WITH_LAST} WHERE d.org_id = $1 AND (NOT $2 OR d.status = 'failed')
             ORDER BY d.created_at DESC, d.delivery_id DESC LIMIT $3"
        ))
        .bind(org_id)
        .bind(failed_only)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(|r| delivery_from_row(r, true))
        .collect()
    }

    async fn delivery_attempts(&self, org_id: &str, delivery_id: &str) -> Result<Vec<DeliveryAttempt>, StoreError> {
        sqlx::query("SELECT * FROM webhook_attempts WHERE org_id = $1 AND delivery_id = $2 ORDER BY attempt")
            .bind(org_id)
            .bind(delivery_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(|r| attempt_from_row(r, ""))
            .collect()
    }

    async fn redeliver(&self, org_id: &str, delivery_id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1
             WHERE org_id = $2 AND delivery_id = $3 AND (lease_owner IS NULL OR lease_expires_at < $1)",
        )
        .bind(now.millis())
        .bind(org_id)
        .bind(delivery_id)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }
}
