//! Orgs, service accounts and their tokens in SQLite.

use async_trait::async_trait;
use mingle_core::rate_limit::{Bucket, Decision};
use mingle_core::{Scope, Timestamp};

use super::{insert_error, SqliteStore};
use crate::models::*;
use crate::rows::*;
use crate::{AccountStore, StoreError};

/// Every authenticated request's read: its token, account and org, on the request's
/// thread when it can be (on_thread.rs), else through the pool.
pub(super) const CREDENTIAL_SQL: &str = "SELECT t.token_hash, t.revoked_at, o.cursor_key,
        a.org_id, a.service_account_id, a.name, a.scopes, a.status, a.created_at, a.updated_at
     FROM api_tokens t
     JOIN service_accounts a ON a.org_id = t.org_id AND a.service_account_id = t.service_account_id
     JOIN orgs o ON o.org_id = t.org_id
     WHERE t.org_id = ? AND t.token_id = ?";

#[async_trait]
impl AccountStore for SqliteStore {
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
        short_read!(one: self, CREDENTIAL_SQL, [org_id, token_id], credential_from_row)
    }

    async fn take_rate_token(
        &self,
        org_id: &str,
        service_account_id: &str,
        step: RateStep,
    ) -> Result<Decision, StoreError> {
        // The single writer connection holds the bucket for the read and the write.
        let mut tx = self.write.begin().await.map_err(StoreError::backend)?;
        let read: Option<(f64, i64)> =
            sqlx::query_as("SELECT tokens, refilled_at FROM rate_limits WHERE org_id = ? AND service_account_id = ?")
                .bind(org_id)
                .bind(service_account_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::backend)?;
        let (bucket, decision) = step(read.map(|(tokens, refilled_ms)| Bucket { tokens, refilled_ms }));
        sqlx::query(
            "INSERT INTO rate_limits (org_id, service_account_id, tokens, refilled_at, version) VALUES (?, ?, ?, ?, 1)
             ON CONFLICT (org_id, service_account_id) DO UPDATE SET tokens = excluded.tokens,
                refilled_at = excluded.refilled_at, version = version + 1",
        )
        .bind(org_id)
        .bind(service_account_id)
        .bind(bucket.tokens)
        .bind(bucket.refilled_ms)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::backend)?;
        tx.commit().await.map_err(StoreError::backend)?;
        Ok(decision)
    }
}
