//! Orgs, service accounts and their tokens in PostgreSQL.

use async_trait::async_trait;
use mingle_core::rate_limit::{Bucket, Decision};
use mingle_core::{Scope, Timestamp};

use super::{db, insert_error, PgStore};
use crate::models::*;
use crate::rows::*;
use crate::{AccountStore, StoreError};

#[async_trait]
impl AccountStore for PgStore {
    async fn insert_org(&self, org: &Org) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO orgs (org_id, name, webhook_secret, cursor_key, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&org.org_id)
        .bind(&org.name)
        .bind(&org.webhook_secret)
        .bind(&org.cursor_key)
        .bind(org.created_at.millis())
        .execute(&self.pool)
        .await
        .map_err(insert_error)?;
        Ok(())
    }

    async fn get_org(&self, org_id: &str) -> Result<Option<Org>, StoreError> {
        sqlx::query("SELECT * FROM orgs WHERE org_id = $1")
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
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
            "UPDATE orgs SET previous_webhook_secret = webhook_secret, previous_webhook_secret_until = $1,
                webhook_secret = $2 WHERE org_id = $3",
        )
        .bind(keep_old_until.millis())
        .bind(secret)
        .bind(org_id)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_service_account(&self, account: &ServiceAccount, token: &TokenRow) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO service_accounts (org_id, service_account_id, name, scopes, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.org_id)
        .bind(&token.token_id)
        .bind(&token.service_account_id)
        .bind(&token.token_hash)
        .bind(token.created_at.millis())
        .execute(&mut *tx)
        .await
        .map_err(insert_error)?;
        tx.commit().await.map_err(db)
    }

    async fn find_service_account(&self, service_account_id: &str) -> Result<Option<ServiceAccount>, StoreError> {
        sqlx::query("SELECT * FROM service_accounts WHERE service_account_id = $1")
            .bind(service_account_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "UPDATE service_accounts SET status = $1, updated_at = $2 WHERE org_id = $3 AND service_account_id = $4",
        )
        .bind(status.as_str())
        .bind(now.millis())
        .bind(org_id)
        .bind(service_account_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if status == AccountStatus::Revoked {
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1
                 WHERE org_id = $2 AND service_account_id = $3 AND revoked_at IS NULL",
            )
            .bind(now.millis())
            .bind(org_id)
            .bind(service_account_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn find_credential(&self, org_id: &str, token_id: &str) -> Result<Option<Credential>, StoreError> {
        sqlx::query(
            "SELECT t.token_hash, t.revoked_at, o.cursor_key,
                a.org_id, a.service_account_id, a.name, a.scopes, a.status, a.created_at, a.updated_at
             FROM api_tokens t
             JOIN service_accounts a ON a.org_id = t.org_id AND a.service_account_id = t.service_account_id
             JOIN orgs o ON o.org_id = t.org_id
             WHERE t.org_id = $1 AND t.token_id = $2",
        )
        .bind(org_id)
        .bind(token_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(|r| credential_from_row(&r))
        .transpose()
    }

    async fn take_rate_token(
        &self,
        org_id: &str,
        service_account_id: &str,
        step: RateStep,
    ) -> Result<Decision, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // The row exists (a first request creates it full; a concurrent one waits for
        // that insert), then is locked for the read and the write.
        sqlx::query(
            "INSERT INTO rate_limits (org_id, service_account_id, tokens, refilled_at, version)
             VALUES ($1, $2, 'NaN', 0, 0) ON CONFLICT DO NOTHING",
        )
        .bind(org_id)
        .bind(service_account_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let (tokens, refilled_ms, version): (f64, i64, i64) = sqlx::query_as(
            "SELECT tokens, refilled_at, version FROM rate_limits
             WHERE org_id = $1 AND service_account_id = $2 FOR UPDATE",
        )
        .bind(org_id)
        .bind(service_account_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        // Version 0 is the row just created: a bucket never used.
        let (bucket, decision) = step((version > 0).then_some(Bucket { tokens, refilled_ms }));
        sqlx::query(
            "UPDATE rate_limits SET tokens = $1, refilled_at = $2, version = version + 1
             WHERE org_id = $3 AND service_account_id = $4",
        )
        .bind(bucket.tokens)
        .bind(bucket.refilled_ms)
        .bind(org_id)
        .bind(service_account_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(decision)
    }
}
