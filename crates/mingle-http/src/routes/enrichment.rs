use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use mingle_core::run::{parse_idempotency_key, parse_webhook_url};
use serde_json::Value;

use super::runs::{created_status, request_hash};
use crate::auth::Caller;
use crate::dto::{EnrichmentRequest, RunResponse};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathIds};
use crate::AppState;

/// Triggers attendee enrichment for an event. Async: returns an `enrichment` run.
#[utoipa::path(post, path = "/events/{event_id}/enrichment-runs", tag = "Enrichment", request_body = EnrichmentRequest,
    params(("event_id" = String, Path)),
    responses((status = 202, description = "Queued", body = RunResponse),
              (status = 200, description = "Idempotent replay: the original run as it is now", body = RunResponse),
              (status = 400, description = "INVALID_PARTNER_ID, INVALID_JSON, INVALID_IDEMPOTENCY_KEY, INVALID_WEBHOOK_URL", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND", body = ErrorBody),
              (status = 409, description = "IDEMPOTENCY_KEY_CONFLICT", body = ErrorBody),
              (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody)))]
pub async fn create_enrichment_run(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    body: JsonBody,
) -> Result<(StatusCode, Json<RunResponse>), ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    let object = body.object()?;
    let present = |k: &str| object.get(k).filter(|v| !v.is_null());
    let key = parse_idempotency_key(present("idempotency_key"))?;
    let webhook_url = parse_webhook_url(present("webhook_url"), s.settings.webhook_insecure)?;
    let hash = request_hash("POST", &format!("/events/{event_id}/enrichment-runs"), &Value::Object(object));
    let out = s.services.enrichment.start(&p.org_id, event_id.as_str(), key, webhook_url, hash).await?;
    Ok((created_status(out.created, StatusCode::ACCEPTED), Json(out.run.into())))
}
