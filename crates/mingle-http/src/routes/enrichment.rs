use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::runs::{created_status, EventRunRequest};
use crate::auth::Caller;
use crate::dto::RunResponse;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathIds};
use crate::AppState;

/// Triggers attendee enrichment for an event. Async: returns an `enrichment` run.
#[utoipa::path(post, path = "/events/{event_id}/enrichment-runs", tag = "Enrichment",
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
    let r = EventRunRequest::read(&s, &body.object()?, &format!("/events/{event_id}/enrichment-runs"))?;
    let out = s.services.enrichment.start(&p.org_id, event_id.as_str(), r.key, r.webhook_url, r.hash).await?;
    Ok((created_status(out.created, StatusCode::ACCEPTED), Json(out.run.into())))
}
