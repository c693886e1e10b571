use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use mingle_core::canonical::request_fingerprint;
use mingle_core::run::{parse_idempotency_key, parse_kind, parse_webhook_url, GenericRunDraft};
use mingle_core::{IdempotencyKey, ValidationError};

use crate::auth::Caller;
use crate::correlation;
use crate::dto::{RunItem, RunPage, RunResponse};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathIds};
use crate::pagination::{next_cursor, ListQuery};
use crate::AppState;

/// The fingerprint idempotency compares: method, the concrete path under the partner
/// base (so the `/v0/partner` alias is the same endpoint) and the canonical body.
pub(crate) fn request_hash(method: &str, path: &str, body: &serde_json::Value) -> String {
    request_fingerprint(&[method, path], body)
}

/// What every request that starts an event's run carries, read in the documented check
/// order (idempotency key, then webhook URL), and the request's fingerprint.
pub(crate) struct EventRunRequest {
    pub key: IdempotencyKey,
    pub webhook_url: Option<String>,
    pub hash: String,
}

impl EventRunRequest {
    pub(crate) fn read(
        s: &AppState,
        object: &serde_json::Map<String, serde_json::Value>,
        path: &str,
    ) -> Result<Self, ApiError> {
        let present = |k: &str| object.get(k).filter(|v| !v.is_null());
        Ok(Self {
            key: parse_idempotency_key(present("idempotency_key"))?,
            webhook_url: parse_webhook_url(present("webhook_url"), s.settings.webhook_insecure)?,
            hash: request_hash("POST", path, &serde_json::Value::Object(object.clone())),
        })
    }
}

/// The status of a run-creating answer: 201/202 when this call created the run, 200 on
/// a replay.
pub(crate) fn created_status(created: bool, first: StatusCode) -> StatusCode {
    if created {
        first
    } else {
        StatusCode::OK
    }
}

/// Creates a generic run outside event scope. The platform records it and does not execute it.
#[utoipa::path(post, path = "/runs", tag = "Runs",
    responses((status = 201, description = "Created", body = RunResponse),
              (status = 200, description = "Idempotent replay: the original run as it is now", body = RunResponse),
              (status = 400, description = "INVALID_JSON, INVALID_RUN_KIND, INVALID_IDEMPOTENCY_KEY, INVALID_PROGRESS, \
                INVALID_SNAPSHOT_METADATA, INVALID_VERSION_METADATA, INVALID_WEBHOOK_URL", body = ErrorBody),
              (status = 409, description = "IDEMPOTENCY_KEY_CONFLICT", body = ErrorBody),
              (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody)))]
pub async fn create_run(
    State(s): State<AppState>,
    Caller(p): Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<RunResponse>), ApiError> {
    let draft = GenericRunDraft::parse(&body.object()?, s.settings.webhook_insecure)?;
    let hash = request_hash("POST", "/runs", &body.value());
    let out = s.services.runs.create_generic(&p.org_id, draft, hash).await?;
    Ok((created_status(out.created, StatusCode::CREATED), Json(out.run.into())))
}

/// Lists the org's runs, newest first (`created_at` descending, then `run_id`).
#[utoipa::path(get, path = "/runs", tag = "Runs",
    params(("limit" = Option<u32>, Query, description = "1-100, default 50"),
           ("cursor" = Option<String>, Query),
           ("kind" = Option<String>, Query, description = "import, enrichment or match")),
    responses((status = 200, body = RunPage),
              (status = 400, description = "INVALID_LIMIT, INVALID_RUN_KIND, INVALID_CURSOR", body = ErrorBody)))]
pub async fn list_runs(
    State(s): State<AppState>,
    Caller(p): Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<RunPage>, ApiError> {
    let query = ListQuery::parse(q.as_deref());
    query.limit()?;
    let kind = match query.get("kind") {
        None => None,
        Some(k) => Some(parse_kind(Some(&serde_json::Value::String(k.to_owned())))?),
    };
    let binding = format!("runs:kind={}", kind.map_or("", |k| k.as_str()));
    let page = query.page(&p, &binding)?;
    let result = s.services.runs.list(&p.org_id, kind, &page).await?;
    Ok(Json(RunPage {
        next_cursor: next_cursor(&p, &binding, result.next.as_ref()),
        items: result.items.into_iter().map(RunItem::from).collect(),
        correlation_id: correlation::current(),
    }))
}

/// Polls one run: the canonical terminal-status poll for import, enrichment and match runs.
#[utoipa::path(get, path = "/runs/{run_id}", tag = "Runs",
    params(("run_id" = String, Path, description = "A UUID")),
    responses((status = 200, body = RunResponse),
              (status = 400, description = "INVALID_RUN_ID", body = ErrorBody),
              (status = 404, description = "RUN_NOT_FOUND", body = ErrorBody)))]
pub async fn get_run(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
) -> Result<Json<RunResponse>, ApiError> {
    let run_id = mingle_core::ids::parse_run_id(ids.get(0))
        .ok_or_else(|| ValidationError::new("INVALID_RUN_ID", "run_id", "'run_id' must be a UUID."))?;
    Ok(Json(s.services.runs.get(&p.org_id, &run_id).await?.into()))
}
