use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use mingle_core::event::{ContextPatch, EventDraft};

use crate::auth::Caller;
use crate::correlation;
use crate::dto::{ContextResponse, EventItem, EventPage, EventResponse};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathIds};
use crate::pagination::{next_cursor, ListQuery};
use crate::AppState;

/// Creates an event. You own `event_id`.
#[utoipa::path(post, path = "/events", tag = "Events",
    responses((status = 201, body = EventResponse),
              (status = 400, description = "INVALID_JSON, INVALID_PARTNER_ID, INVALID_TITLE, INVALID_DESCRIPTION, \
                INVALID_START_DATE, INVALID_END_DATE, INVALID_TIMEZONE, INVALID_VISIBILITY, INVALID_URL_SLUG", body = ErrorBody),
              (status = 409, description = "PARTNER_ID_CONFLICT", body = ErrorBody),
              (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody)))]
pub async fn create_event(
    State(s): State<AppState>,
    Caller(p): Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<EventResponse>), ApiError> {
    let draft = EventDraft::parse(&body.object()?)?;
    let event = s.services.events.create(&p.org_id, draft).await?;
    Ok((StatusCode::CREATED, Json(event.into())))
}

/// Lists events, newest first (`created_at` descending, then `event_id`).
#[utoipa::path(get, path = "/events", tag = "Events",
    params(("limit" = Option<u32>, Query, description = "1-100, default 50"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = EventPage),
              (status = 400, description = "INVALID_LIMIT, INVALID_CURSOR", body = ErrorBody)))]
pub async fn list_events(
    State(s): State<AppState>,
    Caller(p): Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<EventPage>, ApiError> {
    const BINDING: &str = "events";
    let page = ListQuery::parse(q.as_deref()).page(&p, BINDING)?;
    let result = s.services.events.list(&p.org_id, &page).await?;
    Ok(Json(EventPage {
        next_cursor: next_cursor(&p, BINDING, result.next.as_ref()),
        items: result.items.into_iter().map(EventItem::from).collect(),
        correlation_id: correlation::current(),
    }))
}

/// Returns one event.
#[utoipa::path(get, path = "/events/{event_id}", tag = "Events",
    params(("event_id" = String, Path)),
    responses((status = 200, body = EventResponse),
              (status = 400, description = "INVALID_PARTNER_ID", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND", body = ErrorBody)))]
pub async fn get_event(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
) -> Result<Json<EventResponse>, ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    Ok(Json(s.services.events.get(&p.org_id, event_id.as_str()).await?.into()))
}

/// Updates event context: a partial update; `null` clears a field. At least one field is required.
#[utoipa::path(post, path = "/events/{event_id}/context", tag = "Events",
    params(("event_id" = String, Path)),
    responses((status = 200, body = ContextResponse),
              (status = 400, description = "INVALID_PARTNER_ID, INVALID_JSON, INVALID_CONTEXT", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND", body = ErrorBody),
              (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody)))]
pub async fn update_context(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    body: JsonBody,
) -> Result<Json<ContextResponse>, ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    let patch = ContextPatch::parse(&body.object()?)?;
    Ok(Json(s.services.events.update_context(&p.org_id, event_id.as_str(), &patch).await?.into()))
}

/// Returns event context.
#[utoipa::path(get, path = "/events/{event_id}/context", tag = "Events",
    params(("event_id" = String, Path)),
    responses((status = 200, body = ContextResponse),
              (status = 400, description = "INVALID_PARTNER_ID", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND", body = ErrorBody)))]
pub async fn get_context(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
) -> Result<Json<ContextResponse>, ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    Ok(Json(s.services.events.get(&p.org_id, event_id.as_str()).await?.into()))
}
