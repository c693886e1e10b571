//! Row-to-model mapping for SQLite.

use mingle_core::{Scope, Timestamp};
use serde_json::{Map, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::models::*;
use crate::StoreError;

pub(super) fn get<'r, T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
    row: &'r SqliteRow,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(StoreError::backend)
}

pub(super) fn ts(row: &SqliteRow, column: &str) -> Result<Timestamp, StoreError> {
    get::<i64>(row, column).map(Timestamp::from_millis)
}

/// A column holding one of an enum's names.
pub(super) fn parsed<T>(row: &SqliteRow, column: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    let name: String = get(row, column)?;
    parse(&name).ok_or_else(|| StoreError::Backend(format!("unknown {column} '{name}'")))
}

pub(super) fn opt_ts(row: &SqliteRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    get::<Option<i64>>(row, column).map(|v| v.map(Timestamp::from_millis))
}

pub(super) fn json_object(row: &SqliteRow, column: &str) -> Result<Map<String, Value>, StoreError> {
    serde_json::from_str(&get::<String>(row, column)?).map_err(StoreError::backend)
}

pub(super) fn json_text(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

pub(super) fn org_from_row(r: &SqliteRow) -> Result<Org, StoreError> {
    Ok(Org {
        org_id: get(r, "org_id")?,
        name: get(r, "name")?,
        webhook_secret: get(r, "webhook_secret")?,
        previous_webhook_secret: get(r, "previous_webhook_secret")?,
        previous_webhook_secret_until: opt_ts(r, "previous_webhook_secret_until")?,
        cursor_key: get(r, "cursor_key")?,
        created_at: ts(r, "created_at")?,
    })
}

pub(super) fn account_from_row(r: &SqliteRow) -> Result<ServiceAccount, StoreError> {
    account_from_columns(
        get(r, "org_id")?,
        get(r, "service_account_id")?,
        get(r, "name")?,
        &get::<String>(r, "scopes")?,
        &get::<String>(r, "status")?,
        get(r, "created_at")?,
        get(r, "updated_at")?,
    )
}

/// The account from its stored columns; shared by the pooled reads and the
/// credential read on the request's thread (credentials.rs).
pub(super) fn account_from_columns(
    org_id: String,
    service_account_id: String,
    name: String,
    scopes: &str,
    status: &str,
    created_at: i64,
    updated_at: i64,
) -> Result<ServiceAccount, StoreError> {
    Ok(ServiceAccount {
        org_id,
        service_account_id,
        name,
        scopes: Scope::parse_list(scopes).map_err(StoreError::Backend)?,
        status: AccountStatus::parse(status).ok_or_else(|| StoreError::Backend(format!("bad status {status}")))?,
        created_at: Timestamp::from_millis(created_at),
        updated_at: Timestamp::from_millis(updated_at),
    })
}

pub(super) fn credential_from_row(r: &SqliteRow) -> Result<Credential, StoreError> {
    Ok(Credential {
        token_hash: get(r, "token_hash")?,
        token_revoked: get::<Option<i64>>(r, "revoked_at")?.is_some(),
        account: account_from_row(r)?,
        cursor_key: get(r, "cursor_key")?,
    })
}

pub(super) fn event_from_row(r: &SqliteRow) -> Result<Event, StoreError> {
    Ok(Event {
        event_id: get(r, "event_id")?,
        title: get(r, "title")?,
        description: get(r, "description")?,
        event_details: get(r, "event_details")?,
        objectives: get(r, "objectives")?,
        welcome_instructions: get(r, "welcome_instructions")?,
        start_date: get(r, "start_date")?,
        end_date: get(r, "end_date")?,
        timezone: get(r, "timezone")?,
        visibility: get(r, "visibility")?,
        url_slug: get(r, "url_slug")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

pub(super) fn session_from_row(r: &SqliteRow) -> Result<Session, StoreError> {
    Ok(Session {
        session_id: get(r, "session_id")?,
        event_id: get(r, "event_id")?,
        title: get(r, "title")?,
        description: get(r, "description")?,
        start_timestamp: opt_ts(r, "start_timestamp")?,
        end_timestamp: opt_ts(r, "end_timestamp")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

pub(super) fn run_from_row(r: &SqliteRow) -> Result<Run, StoreError> {
    let kind: String = get(r, "kind")?;
    let status: String = get(r, "status")?;
    let error: Option<String> = get(r, "error")?;
    Ok(Run {
        org_id: get(r, "org_id")?,
        run_id: get(r, "run_id")?,
        kind: kind.parse().map_err(|_| StoreError::Backend(format!("bad run kind {kind}")))?,
        status: status.parse().map_err(|_| StoreError::Backend(format!("bad run status {status}")))?,
        event_id: get(r, "event_id")?,
        idempotency_key: get(r, "idempotency_key")?,
        request_hash: get(r, "request_hash")?,
        progress: json_object(r, "progress")?,
        error: error.map(|e| serde_json::from_str(&e)).transpose().map_err(StoreError::backend)?,
        snapshot_metadata: json_object(r, "snapshot_metadata")?,
        version_metadata: json_object(r, "version_metadata")?,
        webhook_url: get(r, "webhook_url")?,
        executes: get(r, "executes")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
        started_at: opt_ts(r, "started_at")?,
        terminal_at: opt_ts(r, "terminal_at")?,
        attempts: get(r, "attempts")?,
    })
}

/// The `enriched_*` columns of a listing row (a LEFT JOIN of `attendee_features`).
pub(super) fn last_enrichment(r: &SqliteRow) -> Result<Option<LastEnrichment>, StoreError> {
    let Some(input_hash) = get::<Option<String>>(r, "enriched_hash")? else { return Ok(None) };
    Ok(Some(LastEnrichment { input_hash, model_id: get(r, "enriched_model")? }))
}
