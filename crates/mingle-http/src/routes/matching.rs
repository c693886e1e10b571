use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use mingle_core::limits::GOAL_FILTER_MAX;
use mingle_core::run::parse_top_n;
use mingle_core::validate::text;

use super::runs::{created_status, EventRunRequest};
use crate::auth::Caller;
use crate::correlation;
use crate::dto::{AttendeeMatchPage, EventMatchPage, MatchItem, MatchResponse, RunResponse};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathIds};
use crate::pagination::{next_cursor, ListQuery};
use crate::AppState;

/// Triggers attendee matching for an event. Async: returns a `match` run. The run first
/// enriches attendees whose enrichment is missing or stale.
#[utoipa::path(post, path = "/events/{event_id}/match-runs", tag = "Matching",
    params(("event_id" = String, Path)),
    responses((status = 202, description = "Queued", body = RunResponse),
              (status = 200, description = "Idempotent replay: the original run as it is now", body = RunResponse),
              (status = 400, description = "INVALID_PARTNER_ID, INVALID_JSON, INVALID_IDEMPOTENCY_KEY, INVALID_WEBHOOK_URL, INVALID_TOP_N", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND", body = ErrorBody),
              (status = 409, description = "IDEMPOTENCY_KEY_CONFLICT", body = ErrorBody),
              (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody)))]
pub async fn create_match_run(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    body: JsonBody,
) -> Result<(StatusCode, Json<RunResponse>), ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    let object = body.object()?;
    let r = EventRunRequest::read(&s, &object, &format!("/events/{event_id}/match-runs"))?;
    let top_n = parse_top_n(object.get("top_n").filter(|v| !v.is_null()))?;
    let out = s.services.matching.start(&p.org_id, event_id.as_str(), r.key, r.webhook_url, top_n, r.hash).await?;
    Ok((created_status(out.created, StatusCode::ACCEPTED), Json(out.run.into())))
}

/// Lists one attendee's matches, best first, from the run `run_id` names or the event's
/// latest match run with results.
#[utoipa::path(get, path = "/events/{event_id}/attendees/{attendee_id}/matches", tag = "Matching",
    params(("event_id" = String, Path), ("attendee_id" = String, Path),
           ("limit" = Option<u32>, Query, description = "1-100, default 50"),
           ("cursor" = Option<String>, Query),
           ("run_id" = Option<String>, Query, description = "A match run of this event; default: the latest with results")),
    responses((status = 200, body = AttendeeMatchPage),
              (status = 400, description = "INVALID_PARTNER_ID, INVALID_LIMIT, INVALID_CURSOR", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND, ATTENDEE_NOT_FOUND, MATCH_RUN_NOT_FOUND", body = ErrorBody)))]
pub async fn list_attendee_matches(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    RawQuery(q): RawQuery,
) -> Result<Json<AttendeeMatchPage>, ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    let attendee_id = super::partner_id(ids.get(1), "attendee_id")?;
    let query = ListQuery::parse(q.as_deref());
    let run_id = query.get("run_id");
    // JSON, so that no two lists share a binding whatever their IDs and filters contain.
    let binding = serde_json::json!(["matches", event_id.as_str(), attendee_id.as_str(), run_id]).to_string();
    let page = query.page(&p, &binding)?;
    let (run, result) =
        s.services.matching.attendee_matches(&p.org_id, event_id.as_str(), attendee_id.as_str(), run_id, &page).await?;
    Ok(Json(AttendeeMatchPage {
        next_cursor: next_cursor(&p, &binding, result.next.as_ref()),
        items: result.items.into_iter().map(|v| MatchItem::new(event_id.as_str(), &run, v)).collect(),
        event_id: event_id.into_string(),
        attendee_id: attendee_id.into_string(),
        run_id: run.run_id,
        correlation_id: correlation::current(),
    }))
}

/// Lists an event's matches, each pair once, by `final_score` descending.
#[utoipa::path(get, path = "/events/{event_id}/matches", tag = "Matching",
    params(("event_id" = String, Path),
           ("limit" = Option<u32>, Query, description = "1-100, default 50"),
           ("cursor" = Option<String>, Query),
           ("run_id" = Option<String>, Query, description = "A match run of this event; default: the latest with results"),
           ("session_id" = Option<String>, Query, description = "Pairs whose two attendees both attend this session"),
           ("goal" = Option<String>, Query, description = "Pairs whose principal's goal category equals this, or whose goal text contains it (case-insensitive); the principal is the side that passes")),
    responses((status = 200, body = EventMatchPage),
              (status = 400, description = "INVALID_PARTNER_ID, INVALID_LIMIT, INVALID_GOAL, INVALID_CURSOR", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND, SESSION_NOT_FOUND, MATCH_RUN_NOT_FOUND", body = ErrorBody)))]
pub async fn list_event_matches(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    RawQuery(q): RawQuery,
) -> Result<Json<EventMatchPage>, ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    let query = ListQuery::parse(q.as_deref());
    query.limit()?;
    let session_id = query.get("session_id").map(|v| super::partner_id(v, "session_id")).transpose()?;
    let run_id = query.get("run_id");
    let goal = query.get("goal");
    if let Some(g) = goal {
        text(&g.into(), "goal", GOAL_FILTER_MAX, "INVALID_GOAL")?;
    }
    let binding =
        serde_json::json!(["event-matches", event_id.as_str(), run_id, session_id.as_ref().map(|s| s.as_str()), goal])
            .to_string();
    let page = query.page(&p, &binding)?;
    let (run, result) = s
        .services
        .matching
        .event_matches(&p.org_id, event_id.as_str(), session_id.as_ref().map(|s| s.as_str()), goal, run_id, &page)
        .await?;
    Ok(Json(EventMatchPage {
        next_cursor: next_cursor(&p, &binding, result.next.as_ref()),
        items: result.items.into_iter().map(|v| MatchItem::new(event_id.as_str(), &run, v)).collect(),
        event_id: event_id.into_string(),
        run_id: run.run_id,
        correlation_id: correlation::current(),
    }))
}

/// Returns one ordered pair's match score.
#[utoipa::path(get, path = "/events/{event_id}/matches/{principal_partner_id}/{target_partner_id}", tag = "Matching",
    params(("event_id" = String, Path), ("principal_partner_id" = String, Path), ("target_partner_id" = String, Path),
           ("run_id" = Option<String>, Query, description = "A match run of this event; default: the latest with results")),
    responses((status = 200, body = MatchResponse),
              (status = 400, description = "INVALID_PARTNER_ID", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND, ATTENDEE_NOT_FOUND, MATCH_RUN_NOT_FOUND, MATCH_NOT_FOUND", body = ErrorBody)))]
pub async fn get_match(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    RawQuery(q): RawQuery,
) -> Result<Json<MatchResponse>, ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    let principal = super::partner_id(ids.get(1), "principal_partner_id")?;
    let target = super::partner_id(ids.get(2), "target_partner_id")?;
    let query = ListQuery::parse(q.as_deref());
    let (run, view) = s
        .services
        .matching
        .pair(&p.org_id, event_id.as_str(), principal.as_str(), target.as_str(), query.get("run_id"))
        .await?;
    Ok(Json(MatchResponse {
        item: MatchItem::new(event_id.as_str(), &run, view),
        correlation_id: correlation::current(),
    }))
}
