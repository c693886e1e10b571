//! Orgs, service accounts and authentication.
//!
//! A token is `mgl_` followed by base64url of 64 bytes: the org ID (16), the token ID
//! (16) and a random secret (32). The IDs let a request find its token row by primary
//! key within its org; only the SHA-256 of the whole token is stored, and the presented
//! token's hash is compared with it in constant time.

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use mingle_core::{Scope, Timestamp};
use mingle_store::models::{AccountStatus, Org, ServiceAccount, TokenRow};
use mingle_store::Store;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::ServiceError;

const TOKEN_PREFIX: &str = "mgl_";

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub org_id: String,
    pub service_account_id: String,
    pub scopes: Vec<Scope>,
    /// Signs this org's pagination cursors.
    pub cursor_key: Vec<u8>,
}

impl Principal {
    pub fn has(&self, needed: Scope) -> bool {
        self.scopes.iter().any(|s| s.grants(needed))
    }
}

/// A service account as created, with its token (shown this once only).
#[derive(Debug, Clone)]
pub struct CreatedAccount {
    pub account: ServiceAccount,
    pub token: String,
}

#[derive(Clone)]
pub struct AccountsService {
    store: Arc<dyn Store>,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// A Standard Webhooks secret: `whsec_` + base64 of 32 random key bytes.
fn new_webhook_secret() -> String {
    format!("whsec_{}", STANDARD.encode(random_bytes::<32>()))
}

/// How long a rotated-out webhook secret keeps signing beside the new one, so that
/// receivers can switch without missing a delivery.
pub const WEBHOOK_SECRET_OVERLAP: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

fn unauthorized(message: &str) -> ServiceError {
    ServiceError::Unauthenticated { code: "UNAUTHORIZED", message: message.to_owned() }
}

impl AccountsService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    pub async fn create_org(&self, name: &str) -> Result<Org, ServiceError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(
                mingle_core::ValidationError::new("INVALID_NAME", "name", "An org name is 1-200 characters.").into()
            );
        }
        let org = Org {
            org_id: Uuid::new_v4().to_string(),
            name: name.to_owned(),
            // Standard Webhooks secret: `whsec_` + base64 of the key bytes.
            webhook_secret: new_webhook_secret(),
            previous_webhook_secret: None,
            previous_webhook_secret_until: None,
            cursor_key: random_bytes::<32>().to_vec(),
            created_at: Timestamp::now(),
        };
        self.store.insert_org(&org).await?;
        Ok(org)
    }

    /// Gives the org a new webhook secret; the old one signs too for
    /// [`WEBHOOK_SECRET_OVERLAP`]. Returns the org as it is now.
    pub async fn rotate_webhook_secret(&self, org_id: &str) -> Result<Org, ServiceError> {
        let until = Timestamp::from_millis(Timestamp::now().millis() + WEBHOOK_SECRET_OVERLAP.as_millis() as i64);
        let rotated = match Uuid::try_parse(org_id) {
            Ok(_) => self.store.rotate_webhook_secret(org_id, &new_webhook_secret(), until).await?,
            Err(_) => false,
        };
        if !rotated {
            return Err(ServiceError::org_not_found(org_id));
        }
        let org = self.store.get_org(org_id).await?;
        org.ok_or_else(|| ServiceError::Internal("a rotated org vanished".into()))
    }

    pub async fn create_service_account(
        &self,
        org_id: &str,
        scopes: Vec<Scope>,
        name: Option<&str>,
    ) -> Result<CreatedAccount, ServiceError> {
        let org_uuid = Uuid::try_parse(org_id).ok();
        let org = match org_uuid {
            Some(_) => self.store.get_org(org_id).await?,
            None => None,
        };
        let (Some(org), Some(org_uuid)) = (org, org_uuid) else {
            return Err(ServiceError::org_not_found(org_id));
        };
        let now = Timestamp::now();
        let account_id = Uuid::new_v4();
        let token_id = Uuid::new_v4();
        let mut raw = Vec::with_capacity(64);
        raw.extend_from_slice(org_uuid.as_bytes());
        raw.extend_from_slice(token_id.as_bytes());
        raw.extend_from_slice(&random_bytes::<32>());
        let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(&raw));
        let account = ServiceAccount {
            org_id: org.org_id.clone(),
            service_account_id: account_id.to_string(),
            name: name
                .map(str::to_owned)
                .unwrap_or_else(|| format!("service-account-{}", &account_id.simple().to_string()[..8])),
            scopes,
            status: AccountStatus::Active,
            created_at: now,
            updated_at: now,
        };
        let row = TokenRow {
            org_id: org.org_id,
            token_id: token_id.to_string(),
            service_account_id: account.service_account_id.clone(),
            token_hash: sha256(token.as_bytes()),
            created_at: now,
        };
        self.store.insert_service_account(&account, &row).await?;
        Ok(CreatedAccount { account, token })
    }

    /// Disables, enables or revokes an account. Revoking is final: a revoked account
    /// cannot be enabled or disabled again.
    pub async fn set_status(
        &self,
        service_account_id: &str,
        status: AccountStatus,
    ) -> Result<ServiceAccount, ServiceError> {
        let Some(mut account) = self.store.find_service_account(service_account_id).await? else {
            return Err(ServiceError::not_found(
                "SERVICE_ACCOUNT_NOT_FOUND",
                format!("No service account '{service_account_id}'."),
                ("service_account_user_id", service_account_id),
            ));
        };
        if account.status == AccountStatus::Revoked && status != AccountStatus::Revoked {
            return Err(ServiceError::conflict(
                "SERVICE_ACCOUNT_REVOKED",
                format!("Service account '{service_account_id}' is revoked for good; create a new one."),
                ("service_account_user_id", service_account_id),
            ));
        }
        let now = Timestamp::now();
        self.store.set_service_account_status(&account.org_id, &account.service_account_id, status, now).await?;
        account.status = status;
        account.updated_at = now;
        Ok(account)
    }

    /// Resolves a bearer token to its principal. Reads the database on every call, so
    /// a disable, enable or revoke takes effect from the very next request.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, ServiceError> {
        const BAD: &str = "The bearer token is missing, malformed, unknown or revoked.";
        let raw = token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .filter(|raw| raw.len() == 64)
            .ok_or_else(|| unauthorized(BAD))?;
        let org_id = Uuid::from_slice(&raw[..16]).map_err(|_| unauthorized(BAD))?.to_string();
        let token_id = Uuid::from_slice(&raw[16..32]).map_err(|_| unauthorized(BAD))?.to_string();
        let credential = self.store.find_credential(&org_id, &token_id).await?.ok_or_else(|| unauthorized(BAD))?;
        let presented = sha256(token.as_bytes());
        if !bool::from(presented.ct_eq(&credential.token_hash)) || credential.token_revoked {
            return Err(unauthorized(BAD));
        }
        match credential.account.status {
            AccountStatus::Active => {}
            AccountStatus::Revoked => return Err(unauthorized(BAD)),
            AccountStatus::Disabled => {
                return Err(ServiceError::Unauthenticated {
                    code: "ACCOUNT_DISABLED",
                    message: "This service account is disabled.".into(),
                })
            }
        }
        Ok(Principal {
            org_id: credential.account.org_id,
            service_account_id: credential.account.service_account_id,
            scopes: credential.account.scopes,
            cursor_key: credential.cursor_key,
        })
    }
}
