//! The rows the store reads and writes, independent of any database.

use mingle_core::event::ContextPatch;
use mingle_core::{RunKind, RunStatus, Scope, Timestamp};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Org {
    pub org_id: String,
    pub name: String,
    pub webhook_secret: String,
    /// The secret a rotation replaced; it signs beside the new one until
    /// `previous_webhook_secret_until`.
    pub previous_webhook_secret: Option<String>,
    pub previous_webhook_secret_until: Option<Timestamp>,
    pub cursor_key: Vec<u8>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Disabled,
    Revoked,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
            AccountStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [AccountStatus::Active, AccountStatus::Disabled, AccountStatus::Revoked].into_iter().find(|a| a.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccount {
    pub org_id: String,
    pub service_account_id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub status: AccountStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A token as stored: only its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    pub org_id: String,
    pub token_id: String,
    pub service_account_id: String,
    pub token_hash: Vec<u8>,
    pub created_at: Timestamp,
}

/// What authentication needs to know about a presented token, read in one query.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    pub token_hash: Vec<u8>,
    pub token_revoked: bool,
    pub account: ServiceAccount,
    pub cursor_key: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_id: String,
    pub title: String,
    pub description: Option<String>,
    pub event_details: Option<String>,
    pub objectives: Option<String>,
    pub welcome_instructions: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub timezone: Option<String>,
    pub visibility: Option<String>,
    pub url_slug: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The change `POST /events/:event_id/context` makes.
pub type EventContextPatch = ContextPatch;

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub session_id: String,
    pub event_id: String,
    pub title: String,
    pub description: Option<String>,
    pub start_timestamp: Option<Timestamp>,
    pub end_timestamp: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub org_id: String,
    pub run_id: String,
    pub kind: RunKind,
    pub status: RunStatus,
    pub event_id: Option<String>,
    pub idempotency_key: String,
    pub request_hash: String,
    pub progress: Map<String, Value>,
    pub error: Option<Value>,
    pub snapshot_metadata: Map<String, Value>,
    pub version_metadata: Map<String, Value>,
    pub webhook_url: Option<String>,
    /// Whether a worker executes the run (runs recorded through `POST /runs` do not).
    pub executes: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub terminal_at: Option<Timestamp>,
    /// How many times a worker claimed the run.
    pub attempts: i64,
}

/// What inserting a run under an idempotency key did.
#[derive(Debug, Clone, PartialEq)]
pub enum RunInsert {
    /// The key was new: the run was written.
    Created,
    /// The key was taken: the run that holds it.
    Existing(Box<Run>),
}

/// The partner-ID kinds an org holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappedKind {
    Event,
    Session,
    Attendee,
}

impl MappedKind {
    pub fn parse(kind: &str) -> Option<Self> {
        match kind {
            "event" => Some(MappedKind::Event),
            "session" => Some(MappedKind::Session),
            "attendee" => Some(MappedKind::Attendee),
            _ => None,
        }
    }
}

/// One page request: rows strictly after `after` in the list's order, at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    pub after: Option<mingle_core::cursor::Position>,
    pub limit: u32,
}

// ---- Attendees, identity and reviews ----------------------------------------------

pub use mingle_core::identity::{Anchor, AnchorKind, Attendee, DecisionKind, Membership, ReviewStatus};
pub use mingle_core::import::EventAnswers;
pub use mingle_core::merge::MergePlan;

/// One row of an event's attendee list.
#[derive(Debug, Clone, PartialEq)]
pub struct AttendeeListing {
    pub attendee_id: String,
    pub name: String,
    pub title: Option<String>,
    pub company: Option<String>,
    pub membership: Membership,
    pub open_reviews: i64,
    /// The attendee's last enrichment in this event, if any (it may be stale).
    pub enrichment: Option<LastEnrichment>,
}

/// What an attendee's last enrichment in an event read: the hash of its inputs, and the
/// model that read them.
#[derive(Debug, Clone, PartialEq)]
pub struct LastEnrichment {
    pub input_hash: String,
    pub model_id: String,
}

/// The other party of an identity decision.
#[derive(Debug, Clone, PartialEq)]
pub struct PartyRef {
    pub kind: String,
    pub partner_id: String,
}

/// One entry of an attendee's identity history.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub decision_id: String,
    pub attendee_id: String,
    pub kind: DecisionKind,
    pub event_id: Option<String>,
    pub run_id: Option<String>,
    pub review_id: Option<String>,
    pub anchors: Vec<Anchor>,
    pub other: Option<PartyRef>,
    pub reason: String,
    /// For `review_resolved`: the decision taken (`accept`, `reject` or `distinct`).
    pub verdict: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub review_id: String,
    pub attendee_id: String,
    pub event_id: String,
    pub candidate_id: String,
    pub clash: String,
    pub reason: String,
    pub evidence: Value,
    pub status: ReviewStatus,
    pub decision_reason: Option<String>,
    pub run_id: Option<String>,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
}

/// What an import must read, inside its transaction, to resolve its rows.
#[derive(Debug, Clone, Default)]
pub struct SnapshotQuery {
    pub attendee_ids: Vec<String>,
    pub anchors: Vec<Anchor>,
    /// `(name_key, company_key)` pairs (folded).
    pub name_company: Vec<(String, String)>,
}

/// What is known when an import is applied.
#[derive(Debug, Clone, Default)]
pub struct ImportSnapshot {
    /// Attendees the rows may concern (same IDs, shared anchors, same name and
    /// company), oldest first. Aliases included, so a row can follow its merge.
    pub attendees: Vec<Attendee>,
    /// The event's memberships of the rows' attendees.
    pub memberships: Vec<Membership>,
    /// Pairs ruled distinct that involve any attendee above.
    pub distinct: Vec<(String, String)>,
}

/// Everything an import writes, in one transaction with its run's terminal status.
#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    /// New or changed attendee records (their anchors are added when missing).
    pub attendees: Vec<Attendee>,
    pub memberships: Vec<Membership>,
    pub decisions: Vec<Decision>,
    pub reviews: Vec<Review>,
    pub progress: Map<String, Value>,
}

/// The rate-limit rule applied to a bucket as read (`None`: never used): the bucket to
/// keep and the request's decision (`mingle_core::rate_limit::take`).
pub type RateStep = Box<
    dyn FnOnce(
            Option<mingle_core::rate_limit::Bucket>,
        ) -> (mingle_core::rate_limit::Bucket, mingle_core::rate_limit::Decision)
        + Send,
>;

/// A run's snapshot and version metadata.
pub type RunMetadata<'a> = (&'a Map<String, Value>, &'a Map<String, Value>);

/// How a leased run ends: the terminal status and what is written with it, in the
/// transaction that also queues the run's webhook delivery (the outbox).
#[derive(Debug, Clone, Copy)]
pub struct RunEnd<'a> {
    pub status: RunStatus,
    /// Replaces the run's progress when given.
    pub progress: Option<&'a Map<String, Value>>,
    pub error: Option<&'a Value>,
    /// The run's snapshot and version metadata (match runs).
    pub metadata: Option<RunMetadata<'a>>,
    pub now: Timestamp,
}

impl<'a> RunEnd<'a> {
    pub fn succeeded(progress: &'a Map<String, Value>, now: Timestamp) -> Self {
        RunEnd { status: RunStatus::Succeeded, progress: Some(progress), error: None, metadata: None, now }
    }
}

/// A worker's hold on a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub org_id: String,
    pub run_id: String,
    pub owner: String,
}

/// A review's resolution, applied atomically.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub review_id: String,
    /// `Accepted`, `Rejected` or `Distinct`.
    pub status: ReviewStatus,
    pub reason: Option<String>,
    /// For `accepted`: the attendee and the person it now belongs to.
    pub relink: Option<(String, String)>,
    pub decision: Decision,
    /// For `distinct`: the pair recorded as different people.
    pub distinct: Option<(String, String)>,
    pub now: Timestamp,
}

/// A merge of `source` into `target`, resolving `review_id`.
#[derive(Debug, Clone)]
pub struct MergeRequest {
    pub review_id: String,
    pub source: String,
    pub target: String,
    pub reason: Option<String>,
    /// The `merged` decision for the target's history.
    pub decision: Decision,
    pub now: Timestamp,
}

/// What a merge is planned from, read inside its transaction.
#[derive(Debug, Clone)]
pub struct MergeSnapshot {
    pub source: Attendee,
    pub target: Attendee,
    pub source_memberships: Vec<Membership>,
    pub target_memberships: Vec<Membership>,
}

/// Decides a merge from what the store read (`mingle_core::merge::plan_merge`).
pub type MergePlanner = Box<dyn FnOnce(MergeSnapshot) -> MergePlan + Send>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeCounts {
    pub superseded_anchors: i64,
    pub rewritten_anchors: i64,
    pub deleted_computations: i64,
}

// ---- Enrichment -------------------------------------------------------------------

/// What enrichment reads for one attendee of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrichmentInput {
    pub attendee_id: String,
    pub title: Option<String>,
    pub answers: EventAnswers,
    /// The input hash of its last enrichment in this event, if any.
    pub previous_hash: Option<String>,
}

/// The features an enrichment wrote for one attendee of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub attendee_id: String,
    pub input_hash: String,
    pub model_id: String,
    pub goal_category: Option<String>,
    pub goal_score: Option<f32>,
    pub seniority: Option<String>,
    pub function: Option<String>,
    /// Normalized goal, needs, offers and interests.
    pub features: Value,
    pub enriched_at: Timestamp,
}

// ---- Matching ---------------------------------------------------------------------

pub use mingle_core::matching::PairScore;

/// A matched attendee as its run read it: what reasons quote and filters test.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchProfile {
    pub attendee_id: String,
    pub goal: Option<String>,
    pub goal_category: Option<String>,
    pub needs: Vec<String>,
    pub offers: Vec<String>,
    pub sessions: Vec<String>,
}

/// One stored pair of a run: attendees `a_id < b_id`, its scores seen from `a_id`, and
/// where each ranks the other (1-based), if it does.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMatch {
    pub a_id: String,
    pub b_id: String,
    pub match_id: String,
    pub a_rank: Option<i64>,
    pub b_rank: Option<i64>,
    pub score: PairScore,
}

impl StoredMatch {
    /// The list order's key: `final_score` in millionths.
    pub fn final_key(&self) -> i64 {
        (self.score.final_score * 1e6).round() as i64
    }
}

/// Everything a match run writes, in one transaction with its `succeeded` status.
#[derive(Debug, Clone, Default)]
pub struct MatchWrite {
    /// Features of attendees the run enriched first (missing or stale ones).
    pub features: Vec<Features>,
    pub profiles: Vec<MatchProfile>,
    pub pairs: Vec<StoredMatch>,
    pub progress: Map<String, Value>,
    pub snapshot_metadata: Map<String, Value>,
    pub version_metadata: Map<String, Value>,
}

/// Filters of an event's match list.
#[derive(Debug, Clone, Default)]
pub struct MatchFilter {
    /// Both attendees attend this session.
    pub session_id: Option<String>,
    /// Either attendee's goal category equals it, or its lower-cased goal contains it
    /// (the value given lower-cased).
    pub goal: Option<String>,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or being sent).
    Pending,
    /// A 2xx answered.
    Succeeded,
    /// Every attempt failed, or the address was refused.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [DeliveryStatus::Pending, DeliveryStatus::Succeeded, DeliveryStatus::Failed]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// A run event to be POSTed to the run's `webhook_url`. Its `delivery_id` is the
/// `webhook-id` header, the same on every attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub org_id: String,
    pub delivery_id: String,
    pub run_id: String,
    /// `run.succeeded`, `run.partial` or `run.failed`.
    pub event_type: String,
    pub url: String,
    pub status: DeliveryStatus,
    /// Attempts made so far (a redelivery counts on).
    pub attempts: i64,
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// The newest attempt, when reads ask for it.
    pub last_attempt: Option<DeliveryAttempt>,
}

/// One POST of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    /// 1-based.
    pub attempt: i64,
    pub attempted_at: Timestamp,
    /// `None` when no response came (refused address, timeout, connection error).
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// `None` for a 2xx.
    pub error: Option<String>,
}

/// A sender's hold on a delivery; writes after the claim name it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryLease {
    pub org_id: String,
    pub delivery_id: String,
    pub owner: String,
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeliveryNext {
    Succeeded,
    RetryAt(Timestamp),
    Failed,
}

impl DeliveryNext {
    /// The delivery's status, next attempt and delivery time after an attempt at `now`.
    pub fn outcome(self, now: Timestamp) -> (DeliveryStatus, Option<Timestamp>, Option<Timestamp>) {
        match self {
            DeliveryNext::Succeeded => (DeliveryStatus::Succeeded, None, Some(now)),
            DeliveryNext::RetryAt(at) => (DeliveryStatus::Pending, Some(at), None),
            DeliveryNext::Failed => (DeliveryStatus::Failed, None, None),
        }
    }
}
