//! The review queue: listing open identity reviews, resolving them, merging.

use std::sync::Arc;

use mingle_core::cursor::Position;
use mingle_core::merge::plan_merge;
use mingle_core::Timestamp;
use mingle_store::models::{
    Decision, DecisionKind, MergeCounts, MergePlanner, MergeRequest, MergeSnapshot, PartyRef, Resolution, Review,
    ReviewStatus,
};
use mingle_store::Store;
use uuid::Uuid;

use crate::events::event_not_found;
use crate::pagination::PageRequest;
use crate::{Page, ServiceError};

#[derive(Clone)]
pub struct ReviewsService {
    store: Arc<dyn Store>,
}

/// A human's decision on a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Same person: link the attendee to the candidate's person.
    Accept,
    /// Not the same person (this time).
    Reject,
    /// Different people, for good: the pair is never raised again.
    Distinct,
}

impl Verdict {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "accept" => Some(Verdict::Accept),
            "reject" => Some(Verdict::Reject),
            "distinct" => Some(Verdict::Distinct),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::Reject => "reject",
            Verdict::Distinct => "distinct",
        }
    }

    fn status(self) -> ReviewStatus {
        match self {
            Verdict::Accept => ReviewStatus::Accepted,
            Verdict::Reject => ReviewStatus::Rejected,
            Verdict::Distinct => ReviewStatus::Distinct,
        }
    }
}

/// What resolving did.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub review: Review,
    pub verdict: Verdict,
    /// Whether the attendee is (still) a person of its own.
    pub minted: bool,
}

/// What merging did.
#[derive(Debug, Clone)]
pub struct Merged {
    pub review_id: String,
    pub source: String,
    pub target: String,
    pub counts: MergeCounts,
}

fn review_not_found(review_id: &str) -> ServiceError {
    ServiceError::not_found(
        "REVIEW_NOT_FOUND",
        format!("No open review '{review_id}' in this org."),
        ("review_id", review_id),
    )
}

fn rejected(message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(mingle_core::ValidationError::general("MERGE_REJECTED", message))
}

impl ReviewsService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Open reviews, newest first: of one event's attendees, or of the whole org.
    pub async fn list(
        &self,
        org_id: &str,
        event_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<Review>, ServiceError> {
        if let Some(event_id) = event_id {
            if self.store.get_event(org_id, event_id).await?.is_none() {
                return Err(event_not_found(event_id));
            }
        }
        let rows = self.store.list_open_reviews(org_id, event_id, &page.probe()).await?;
        Ok(page.finish(rows, |r| Position { key: r.created_at.millis(), id: r.review_id.clone() }))
    }

    async fn open_review(&self, org_id: &str, review_id: &str) -> Result<Review, ServiceError> {
        self.store
            .get_review(org_id, review_id)
            .await?
            .filter(|r| r.status == ReviewStatus::Open)
            .ok_or_else(|| review_not_found(review_id))
    }

    pub async fn resolve(
        &self,
        org_id: &str,
        review_id: &str,
        verdict: Verdict,
        reason: Option<String>,
    ) -> Result<Resolved, ServiceError> {
        let review = self.open_review(org_id, review_id).await?;
        let now = Timestamp::now();
        let relink = match verdict {
            Verdict::Accept => {
                let candidate =
                    self.store.get_attendee(org_id, &review.candidate_id).await?.ok_or_else(|| {
                        ServiceError::Internal(format!("review {review_id} names a missing candidate"))
                    })?;
                Some((review.attendee_id.clone(), candidate.person_id))
            }
            _ => None,
        };
        let resolution = Resolution {
            review_id: review_id.to_owned(),
            status: verdict.status(),
            reason: reason.clone(),
            relink,
            decision: Decision {
                decision_id: Uuid::now_v7().to_string(),
                attendee_id: review.attendee_id.clone(),
                kind: DecisionKind::ReviewResolved,
                event_id: Some(review.event_id.clone()),
                run_id: None,
                review_id: Some(review_id.to_owned()),
                anchors: Vec::new(),
                other: Some(PartyRef { kind: "attendee".into(), partner_id: review.candidate_id.clone() }),
                reason: reason.unwrap_or_else(|| format!("Review resolved: {}.", verdict.as_str())),
                verdict: Some(verdict.as_str().to_owned()),
                created_at: now,
            },
            distinct: (verdict == Verdict::Distinct).then(|| (review.attendee_id.clone(), review.candidate_id.clone())),
            now,
        };
        if !self.store.resolve_review(org_id, &resolution).await? {
            return Err(review_not_found(review_id));
        }
        Ok(Resolved { review, verdict, minted: verdict != Verdict::Accept })
    }

    /// Folds `source` into `target`, resolving the review. Checks, in order: the
    /// review is open; it concerns the source or the target; both exist; the target is
    /// no alias; no `distinct` decision stands between them.
    pub async fn merge(
        &self,
        org_id: &str,
        review_id: &str,
        source: &str,
        target: &str,
        reason: Option<String>,
    ) -> Result<Merged, ServiceError> {
        if source == target {
            return Err(rejected("An attendee cannot be merged into itself."));
        }
        let review = self.open_review(org_id, review_id).await?;
        if review.attendee_id != source && review.attendee_id != target {
            return Err(ServiceError::Invalid(
                mingle_core::ValidationError::new(
                    "REVIEW_SOURCE_MISMATCH",
                    "source_partner_id",
                    format!(
                        "Review {review_id} concerns attendee '{}': it must be the source or the target.",
                        review.attendee_id
                    ),
                )
                .with_detail("partner_id", review.attendee_id.as_str()),
            ));
        }
        let not_found = |id: &str| {
            ServiceError::not_found(
                "PARTNER_ID_NOT_FOUND",
                format!("No attendee '{id}' in this org."),
                ("partner_id", id),
            )
        };
        let source_rec = self.store.get_attendee(org_id, source).await?.ok_or_else(|| not_found(source))?;
        let target_rec = self.store.get_attendee(org_id, target).await?.ok_or_else(|| not_found(target))?;
        if let Some(t) = &target_rec.merged_into {
            return Err(rejected(format!("'{target}' is an alias of '{t}'; merge into '{t}' instead.")));
        }
        if let Some(t) = &source_rec.merged_into {
            return Err(rejected(format!("'{source}' was already merged into '{t}'.")));
        }
        if self.store.is_distinct(org_id, source, target).await? {
            return Err(rejected(format!("'{source}' and '{target}' were recorded as distinct people.")));
        }
        let now = Timestamp::now();
        let request = MergeRequest {
            review_id: review_id.to_owned(),
            source: source.to_owned(),
            target: target.to_owned(),
            reason: reason.clone(),
            decision: Decision {
                decision_id: Uuid::now_v7().to_string(),
                attendee_id: target.to_owned(),
                kind: DecisionKind::Merged,
                event_id: Some(review.event_id.clone()),
                run_id: None,
                review_id: Some(review_id.to_owned()),
                anchors: source_rec.anchors.clone(),
                other: Some(PartyRef { kind: "attendee".into(), partner_id: source.to_owned() }),
                reason: reason.unwrap_or_else(|| format!("'{source}' was merged into '{target}'.")),
                verdict: None,
                created_at: now,
            },
            now,
        };
        let plan: MergePlanner = Box::new(move |s: MergeSnapshot| {
            plan_merge(&s.source, &s.source_memberships, &s.target, &s.target_memberships, now)
        });
        let counts =
            self.store.merge_attendees(org_id, &request, plan).await?.ok_or_else(|| review_not_found(review_id))?;
        Ok(Merged { review_id: review_id.to_owned(), source: source.to_owned(), target: target.to_owned(), counts })
    }
}
