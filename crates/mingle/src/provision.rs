//! `mingle org …`, `mingle service-account …` and `mingle webhooks …`: provisioning
//! and operations through the same services the API uses.

use mingle_core::Scope;
use mingle_service::models::{AccountStatus, Delivery, DeliveryAttempt, ServiceAccount};
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

pub async fn rotate_webhook_secret(services: &Services, org_id: &str) -> Result<Output, ServiceError> {
    let org = services.accounts.rotate_webhook_secret(org_id).await?;
    let until = org.previous_webhook_secret_until.map(|t| t.to_rfc3339());
    Ok(Output {
        json: json!({
            "org_id": org.org_id,
            "webhook_secret": org.webhook_secret,
            "previous_secret_valid_until": until,
        }),
        text: format!(
            "Rotated the webhook secret of org {}.\n  webhook_secret: {}\n\nUntil {} deliveries carry two signatures, one by the new secret and one by the old,\nso receivers can switch to the new secret without missing a delivery.",
            org.org_id,
            org.webhook_secret,
            until.as_deref().unwrap_or("-")
        ),
    })
}

fn attempt_json(a: &DeliveryAttempt) -> Value {
    json!({
        "attempt": a.attempt,
        "attempted_at": a.attempted_at.to_rfc3339(),
        "status_code": a.status_code,
        "latency_ms": a.latency_ms,
        "error": a.error,
    })
}

fn delivery_json(d: &Delivery) -> Value {
    json!({
        "delivery_id": d.delivery_id,
        "org_id": d.org_id,
        "run_id": d.run_id,
        "type": d.event_type,
        "url": d.url,
        "status": d.status.as_str(),
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at.map(|t| t.to_rfc3339()),
        "created_at": d.created_at.to_rfc3339(),
        "delivered_at": d.delivered_at.map(|t| t.to_rfc3339()),
        "last_attempt": d.last_attempt.as_ref().map(attempt_json),
    })
}

fn delivery_line(d: &Delivery) -> String {
    let last = match &d.last_attempt {
        Some(a) => format!(
            "attempt {} at {}: {} ({} ms)",
            a.attempt,
            a.attempted_at.to_rfc3339(),
            a.error.as_deref().unwrap_or("delivered"),
            a.latency_ms
        ),
        None => "not attempted yet".into(),
    };
    format!(
        "{}  {:<9}  {:<13}  run {}  {}\n    {}",
        d.delivery_id,
        d.status.as_str(),
        d.event_type,
        d.run_id,
        d.url,
        last
    )
}

pub async fn list_deliveries(
    services: &Services,
    org_id: &str,
    failed_only: bool,
    limit: i64,
) -> Result<Output, ServiceError> {
    let deliveries = services.webhooks.list(org_id, failed_only, limit).await?;
    let text = match deliveries.is_empty() {
        true => format!("No {}deliveries in org {org_id}.", if failed_only { "failed " } else { "" }),
        false => deliveries.iter().map(delivery_line).collect::<Vec<_>>().join("\n"),
    };
    Ok(Output { json: json!({"deliveries": deliveries.iter().map(delivery_json).collect::<Vec<_>>()}), text })
}

pub async fn redeliver(services: &Services, delivery_id: &str) -> Result<Output, ServiceError> {
    let d = services.webhooks.redeliver(delivery_id).await?;
    Ok(Output {
        json: delivery_json(&d),
        text: format!(
            "Queued delivery {} again (same webhook-id); a running worker sends it now.\n{}",
            d.delivery_id,
            delivery_line(&d)
        ),
    })
}

pub async fn backup(services: &Services, path: &std::path::Path) -> Result<Output, ServiceError> {
    if path.exists() {
        return Err(mingle_core::ValidationError::new(
            "BACKUP_EXISTS",
            "path",
            format!("{} exists already", path.display()),
        )
        .into());
    }
    services.store.backup_to(path).await?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(Output {
        json: json!({"backup": path.display().to_string(), "bytes": bytes}),
        text: format!("Wrote a consistent copy of the database to {} ({bytes} bytes).", path.display()),
    })
}
