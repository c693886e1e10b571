use axum::extract::{RawQuery, State};
use axum::Json;
use mingle_core::validate::{text, Fields};
use mingle_core::{PartnerId, PartnerKind, ValidationError};
use mingle_service::reviews::Verdict;

use crate::auth::Caller;
use crate::correlation;
use crate::dto::{MergeResponse, PartnerRef, ResolveResponse, ReviewItem, ReviewPage};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathIds};
use crate::pagination::{next_cursor, ListQuery};
use crate::AppState;

async fn list(
    s: &AppState,
    p: &mingle_service::accounts::Principal,
    event_id: Option<&str>,
    q: Option<&str>,
) -> Result<Json<ReviewPage>, ApiError> {
    let binding = format!("review-queue:{}", event_id.unwrap_or(""));
    let page = ListQuery::parse(q).page(p, &binding)?;
    let result = s.services.reviews.list(&p.org_id, event_id, &page).await?;
    Ok(Json(ReviewPage {
        next_cursor: next_cursor(p, &binding, result.next.as_ref()),
        items: result.items.into_iter().map(ReviewItem::from).collect(),
        correlation_id: correlation::current(),
    }))
}

/// Lists open identity reviews of one event's attendees, newest first.
#[utoipa::path(get, path = "/events/{event_id}/review-queue", tag = "Review Queue",
    params(("event_id" = String, Path),
           ("limit" = Option<u32>, Query, description = "1-100, default 50"),
           ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ReviewPage),
              (status = 400, description = "INVALID_PARTNER_ID, INVALID_LIMIT, INVALID_CURSOR", body = ErrorBody),
              (status = 404, description = "EVENT_NOT_FOUND", body = ErrorBody)))]
pub async fn list_event_reviews(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    RawQuery(q): RawQuery,
) -> Result<Json<ReviewPage>, ApiError> {
    let event_id = super::partner_id(ids.get(0), "event_id")?;
    list(&s, &p, Some(event_id.as_str()), q.as_deref()).await
}

/// Lists open identity reviews across the org, newest first.
#[utoipa::path(get, path = "/review-queue", tag = "Review Queue",
    params(("limit" = Option<u32>, Query, description = "1-100, default 50"),
           ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ReviewPage),
              (status = 400, description = "INVALID_LIMIT, INVALID_CURSOR", body = ErrorBody)))]
pub async fn list_reviews(
    State(s): State<AppState>,
    Caller(p): Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<ReviewPage>, ApiError> {
    list(&s, &p, None, q.as_deref()).await
}

fn review_id(ids: &PathIds) -> Result<String, ApiError> {
    Ok(mingle_core::ids::parse_run_id(ids.get(0))
        .ok_or_else(|| ValidationError::new("INVALID_REVIEW_ID", "review_id", "'review_id' must be a UUID."))?)
}

fn reason(f: &Fields<'_>) -> Result<Option<String>, ApiError> {
    Ok(f.get("reason").map(|v| text(v, "reason", mingle_core::limits::REASON_MAX, "INVALID_JSON")).transpose()?)
}

/// Accepts, rejects, or marks an open review as a distinct person.
#[utoipa::path(post, path = "/review-queue/{review_id}/resolve", tag = "Review Queue",
    params(("review_id" = String, Path, description = "A UUID")),
    responses((status = 200, body = ResolveResponse),
              (status = 400, description = "INVALID_REVIEW_ID, INVALID_JSON, INVALID_REVIEW_DECISION", body = ErrorBody),
              (status = 404, description = "REVIEW_NOT_FOUND (unknown, another org's, or already resolved)", body = ErrorBody)))]
pub async fn resolve_review(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    body: JsonBody,
) -> Result<Json<ResolveResponse>, ApiError> {
    let review_id = review_id(&ids)?;
    let object = body.object()?;
    let f = Fields::new(&object);
    let verdict = f.get("decision").and_then(|v| v.as_str()).and_then(Verdict::parse).ok_or_else(|| {
        ValidationError::new(
            "INVALID_REVIEW_DECISION",
            "decision",
            "'decision' must be one of accept, reject, distinct.",
        )
    })?;
    let reason = reason(&f)?;
    let out = s.services.reviews.resolve(&p.org_id, &review_id, verdict, reason).await?;
    Ok(Json(ResolveResponse {
        review_id,
        kind: "attendee",
        partner_id: out.review.attendee_id,
        decision: out.verdict.as_str(),
        logged: true,
        minted: out.minted,
        correlation_id: correlation::current(),
    }))
}

/// Resolves a review by merging the source attendee into the target attendee.
#[utoipa::path(post, path = "/review-queue/{review_id}/merge", tag = "Review Queue",
    params(("review_id" = String, Path, description = "A UUID")),
    responses((status = 200, body = MergeResponse),
              (status = 400, description = "INVALID_REVIEW_ID, INVALID_JSON, INVALID_PARTNER_KIND, INVALID_PARTNER_ID, \
                REVIEW_SOURCE_MISMATCH, MERGE_REJECTED", body = ErrorBody),
              (status = 404, description = "REVIEW_NOT_FOUND, PARTNER_ID_NOT_FOUND", body = ErrorBody)))]
pub async fn merge_review(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    body: JsonBody,
) -> Result<Json<MergeResponse>, ApiError> {
    let review_id = review_id(&ids)?;
    let object = body.object()?;
    let f = Fields::new(&object);
    let kind = |name: &str| PartnerKind::parse_field(f.get(name).and_then(|v| v.as_str()).unwrap_or(""), name);
    let id = |name: &str| PartnerId::parse_field(f.get(name).and_then(|v| v.as_str()).unwrap_or(""), name);
    let source_kind = kind("source_kind")?;
    let target_kind = kind("target_kind")?;
    let source = id("source_partner_id")?;
    let target = id("target_partner_id")?;
    let reason = reason(&f)?;
    if source_kind.as_str() != target_kind.as_str() || source_kind.as_str() != "attendee" {
        return Err(ValidationError::general(
            "MERGE_REJECTED",
            format!(
                "Only attendees merge, into attendees (got {} into {}).",
                source_kind.as_str(),
                target_kind.as_str()
            ),
        )
        .into());
    }
    let out = s.services.reviews.merge(&p.org_id, &review_id, source.as_str(), target.as_str(), reason).await?;
    Ok(Json(MergeResponse {
        review_id: out.review_id,
        source: PartnerRef { kind: "attendee".into(), partner_id: out.source },
        target: PartnerRef { kind: "attendee".into(), partner_id: out.target },
        merged: true,
        superseded_anchors: out.counts.superseded_anchors,
        rewritten_anchors: out.counts.rewritten_anchors,
        deleted_computations: out.counts.deleted_computations,
        correlation_id: correlation::current(),
    }))
}
