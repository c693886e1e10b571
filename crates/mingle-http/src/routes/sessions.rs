use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use mingle_core::session::SessionDraft;

use crate::auth::Caller;
use crate::correlation;
use crate::dto::{SessionItem, SessionPage, SessionResponse};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathIds};
use crate::pagination::{next_cursor, ListQuery};
use crate::AppState;

/// Creates a session within an event. You own `session_id`.
#[utoipa::path(post, path = "/events/{event_id}/sessions", tag = "Sessions",
    params(("event_id" = String, Path)),
    responses((status = 201, body = SessionResponse),
              (status = 400, description = "INVALID_PARTNER_ID, INVALID_JSON, INVALID_TITLE, INVALID_DESCRIPTION, \
                INVALID_START_TIMESTAMP, INVALID_END_TIMESTAMP", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND", body = ErrorBody),
              (status = 409, description = "PARTNER_ID_CONFLICT", body = ErrorBody),
              (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody)))]
pub async fn create_session(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    body: JsonBody,
) -> Result<(StatusCode, Json<SessionResponse>), ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    let draft = SessionDraft::parse(&body.object()?)?;
    let session = s.services.sessions.create(&p.org_id, event_id.as_str(), draft).await?;
    Ok((StatusCode::CREATED, Json(session.into())))
}

/// Lists an event's sessions by `start_timestamp` ascending (sessions without one last), then `session_id`.
#[utoipa::path(get, path = "/events/{event_id}/sessions", tag = "Sessions",
    params(("event_id" = String, Path),
           ("limit" = Option<u32>, Query, description = "1-100, default 50"),
           ("cursor" = Option<String>, Query)),
    responses((status = 200, body = SessionPage),
              (status = 400, description = "INVALID_PARTNER_ID, INVALID_LIMIT, INVALID_CURSOR", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND", body = ErrorBody)))]
pub async fn list_sessions(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    RawQuery(q): RawQuery,
) -> Result<Json<SessionPage>, ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    let binding = format!("sessions:{event_id}");
    let page = ListQuery::parse(q.as_deref()).page(&p, &binding)?;
    let result = s.services.sessions.list(&p.org_id, event_id.as_str(), &page).await?;
    Ok(Json(SessionPage {
        next_cursor: next_cursor(&p, &binding, result.next.as_ref()),
        items: result.items.into_iter().map(SessionItem::from).collect(),
        correlation_id: correlation::current(),
    }))
}

/// Returns one session.
#[utoipa::path(get, path = "/events/{event_id}/sessions/{session_id}", tag = "Sessions",
    params(("event_id" = String, Path), ("session_id" = String, Path)),
    responses((status = 200, body = SessionResponse),
              (status = 400, description = "INVALID_PARTNER_ID", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND, SESSION_NOT_FOUND", body = ErrorBody)))]
pub async fn get_session(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
) -> Result<Json<SessionResponse>, ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    let session_id = super::partner_id(ids.get(1), "session_id")?;
    Ok(Json(s.services.sessions.get(&p.org_id, event_id.as_str(), session_id.as_str()).await?.into()))
}
