//! `mingle org …` and `mingle service-account …`: provisioning through the same
//! services the API uses.

use mingle_core::Scope;
use mingle_service::models::{AccountStatus, ServiceAccount};
use mingle_service::{ServiceError, Services};
use serde_json::{json, Value};

/// What a provisioning command prints: JSON for scripts, text for people.
pub struct Output {
    pub json: Value,
    pub text: String,
}

pub async fn create_org(services: &Services, name: &str) -> Result<Output, ServiceError> {
    let org = services.accounts.create_org(name).await?;
    Ok(Output {
        json: json!({"org_id": org.org_id, "name": org.name, "webhook_secret": org.webhook_secret}),
        text: format!(
            "Created org '{}'.\n  org_id:         {}\n  webhook_secret: {}\n\nNext: mingle service-account create --org {} --scopes partner:read,partner:write",
            org.name, org.org_id, org.webhook_secret, org.org_id
        ),
    })
}

pub async fn create_service_account(
    services: &Services,
    org_id: &str,
    scopes: &str,
    name: Option<&str>,
) -> Result<Output, ServiceError> {
    let scopes =
        Scope::parse_list(scopes).map_err(|m| mingle_core::ValidationError::new("INVALID_SCOPES", "scopes", m))?;
    let created = services.accounts.create_service_account(org_id, scopes, name).await?;
    let a = &created.account;
    Ok(Output {
        json: json!({
            "service_account_user_id": a.service_account_id,
            "org_id": a.org_id,
            "name": a.name,
            "scopes": scope_names(&a.scopes),
            "token": created.token,
        }),
        text: format!(
            "Created service account '{}' in org {}.\n  service_account_user_id: {}\n  scopes:                  {}\n  token:                   {}\n\nThe token is shown only now; store it safely.",
            a.name,
            a.org_id,
            a.service_account_id,
            Scope::join(&a.scopes),
            created.token
        ),
    })
}

pub async fn set_status(services: &Services, id: &str, status: AccountStatus) -> Result<Output, ServiceError> {
    let a: ServiceAccount = services.accounts.set_status(id, status).await?;
    let effect = match status {
        AccountStatus::Active => "enabled: its tokens work again",
        AccountStatus::Disabled => "disabled: its requests now get 401 ACCOUNT_DISABLED",
        AccountStatus::Revoked => "revoked: its tokens stop working for good",
    };
    Ok(Output {
        json: json!({
            "service_account_user_id": a.service_account_id,
            "org_id": a.org_id,
            "name": a.name,
            "scopes": scope_names(&a.scopes),
            "status": a.status.as_str(),
        }),
        text: format!("Service account {} {}.", a.service_account_id, effect),
    })
}

fn scope_names(scopes: &[Scope]) -> Vec<&'static str> {
    scopes.iter().map(|s| s.as_str()).collect()
}
