use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use mingle_core::import::ImportDraft;
use serde_json::Value;

use super::runs::{created_status, request_hash};
use crate::auth::Caller;
use crate::correlation;
use crate::dto::{AttendeeItem, AttendeePage, DecisionItem, IdentityPage, RunResponse};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathIds};
use crate::pagination::{next_cursor, ListQuery};
use crate::AppState;

/// Imports attendees into an event. Async: returns an `import` run to poll at `/runs/{run_id}`.
#[utoipa::path(put, path = "/events/{event_id}/attendees:import", tag = "Attendees",
    params(("event_id" = String, Path)),
    responses((status = 202, description = "Queued", body = RunResponse),
              (status = 200, description = "Idempotent replay: the original run as it is now", body = RunResponse),
              (status = 400, description = "INVALID_PARTNER_ID, INVALID_JSON, INVALID_IDEMPOTENCY_KEY, INVALID_ATTENDEES, \
                INVALID_ATTENDEE, DUPLICATE_ATTENDEE_ID, INVALID_ATTENDEE_NAME, INVALID_ATTENDEE_EMAIL, \
                INVALID_ATTENDEE_LINKEDIN_URL, INVALID_ATTENDEE_TITLE, INVALID_ATTENDEE_COMPANY, \
                INVALID_ATTENDEE_RAW_DATA, INVALID_WEBHOOK_URL (row errors carry details.index and details.attendee_id)",
                body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND", body = ErrorBody),
              (status = 409, description = "IDEMPOTENCY_KEY_CONFLICT", body = ErrorBody),
              (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody)))]
pub async fn import_attendees(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    body: JsonBody,
) -> Result<(StatusCode, Json<RunResponse>), ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    let object = Value::Object(body.object()?);
    let hash = request_hash("PUT", &format!("/events/{event_id}/attendees:import"), &object);
    let Value::Object(object) = object else { unreachable!("built as an object above") };
    let draft = ImportDraft::parse(object, s.settings.max_import_rows, s.settings.webhook_insecure)?;
    let out = s.services.imports.start(&p.org_id, event_id.as_str(), draft, hash).await?;
    Ok((created_status(out.created, StatusCode::ACCEPTED), Json(out.run.into())))
}

/// Lists an event's attendees by `attendee_id` ascending.
#[utoipa::path(get, path = "/events/{event_id}/attendees", tag = "Attendees",
    params(("event_id" = String, Path),
           ("limit" = Option<u32>, Query, description = "1-100, default 50"),
           ("cursor" = Option<String>, Query)),
    responses((status = 200, body = AttendeePage),
              (status = 400, description = "INVALID_PARTNER_ID, INVALID_LIMIT, INVALID_CURSOR", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND", body = ErrorBody)))]
pub async fn list_attendees(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    RawQuery(q): RawQuery,
) -> Result<Json<AttendeePage>, ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    let binding = format!("attendees:{event_id}");
    let page = ListQuery::parse(q.as_deref()).page(&p, &binding)?;
    let result = s.services.attendees.list(&p.org_id, event_id.as_str(), &page).await?;
    Ok(Json(AttendeePage {
        next_cursor: next_cursor(&p, &binding, result.next.as_ref()),
        items: result.items.into_iter().map(AttendeeItem::from).collect(),
        correlation_id: correlation::current(),
    }))
}

/// Returns an attendee's identity decisions, newest first.
#[utoipa::path(get, path = "/events/{event_id}/attendees/{attendee_id}/identity", tag = "Attendees",
    params(("event_id" = String, Path), ("attendee_id" = String, Path),
           ("limit" = Option<u32>, Query, description = "1-100, default 50"),
           ("cursor" = Option<String>, Query)),
    responses((status = 200, body = IdentityPage),
              (status = 400, description = "INVALID_PARTNER_ID, INVALID_LIMIT, INVALID_CURSOR", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND, ATTENDEE_NOT_FOUND", body = ErrorBody)))]
pub async fn get_identity(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    RawQuery(q): RawQuery,
) -> Result<Json<IdentityPage>, ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    let attendee_id = super::partner_id(ids.get(1), "attendee_id")?;
    let binding = format!("identity:{event_id}:{attendee_id}");
    let page = ListQuery::parse(q.as_deref()).page(&p, &binding)?;
    let result = s.services.attendees.identity(&p.org_id, event_id.as_str(), attendee_id.as_str(), &page).await?;
    Ok(Json(IdentityPage {
        event_id: event_id.into_string(),
        attendee_id: attendee_id.into_string(),
        next_cursor: next_cursor(&p, &binding, result.next.as_ref()),
        items: result.items.into_iter().map(DecisionItem::from).collect(),
        correlation_id: correlation::current(),
    }))
}
