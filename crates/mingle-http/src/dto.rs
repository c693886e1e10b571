//! The JSON shapes of responses. Requests are validated field by field in
//! `mingle-core`; their schemas are in `openapi::schemas`.

use mingle_service::models::{Event, Run, Session};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::correlation;

fn ts(t: mingle_core::Timestamp) -> String {
    t.to_rfc3339()
}

#[derive(Serialize, ToSchema)]
pub struct AuthResponse {
    pub org_id: String,
    #[schema(example = "service_account")]
    pub principal_type: &'static str,
    pub service_account_user_id: String,
    #[schema(example = json!(["partner:read", "partner:write"]))]
    pub scopes: Vec<String>,
    pub correlation_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct IdMapResponse {
    #[schema(example = "attendee")]
    pub kind: String,
    #[schema(example = "att-1001")]
    pub partner_id: String,
    pub mapped: bool,
    /// For an attendee merged into another: the attendee it is now an alias of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    pub correlation_id: String,
}

/// An event: the list item, and (with `correlation_id`) the single-event response.
#[derive(Serialize, ToSchema)]
pub struct EventItem {
    #[schema(example = "summit-2026")]
    pub event_id: String,
    pub title: String,
    pub description: Option<String>,
    pub event_details: Option<String>,
    pub objectives: Option<String>,
    pub welcome_instructions: Option<String>,
    #[schema(example = "2026-09-10")]
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    #[schema(example = "America/New_York")]
    pub timezone: Option<String>,
    pub visibility: Option<String>,
    pub url_slug: Option<String>,
    #[schema(example = "2026-09-10T13:00:00.000Z")]
    pub created_at: String,
    pub updated_at: String,
}

impl From<Event> for EventItem {
    fn from(e: Event) -> Self {
        Self {
            event_id: e.event_id,
            title: e.title,
            description: e.description,
            event_details: e.event_details,
            objectives: e.objectives,
            welcome_instructions: e.welcome_instructions,
            start_date: e.start_date,
            end_date: e.end_date,
            timezone: e.timezone,
            visibility: e.visibility,
            url_slug: e.url_slug,
            created_at: ts(e.created_at),
            updated_at: ts(e.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventResponse {
    #[serde(flatten)]
    pub event: EventItem,
    pub correlation_id: String,
}

impl From<Event> for EventResponse {
    fn from(e: Event) -> Self {
        Self { event: e.into(), correlation_id: correlation::current() }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventItem>,
    pub next_cursor: Option<String>,
    pub correlation_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct EventContext {
    pub event_details: Option<String>,
    pub objectives: Option<String>,
    pub welcome_instructions: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ContextResponse {
    pub event_id: String,
    pub context: EventContext,
    pub correlation_id: String,
}

impl From<Event> for ContextResponse {
    fn from(e: Event) -> Self {
        Self {
            event_id: e.event_id,
            context: EventContext {
                event_details: e.event_details,
                objectives: e.objectives,
                welcome_instructions: e.welcome_instructions,
            },
            correlation_id: correlation::current(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionItem {
    #[schema(example = "opening-keynote")]
    pub session_id: String,
    pub event_id: String,
    pub title: String,
    pub description: Option<String>,
    #[schema(example = "2026-09-10T13:00:00.000Z")]
    pub start_timestamp: Option<String>,
    pub end_timestamp: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Session> for SessionItem {
    fn from(s: Session) -> Self {
        Self {
            session_id: s.session_id,
            event_id: s.event_id,
            title: s.title,
            description: s.description,
            start_timestamp: s.start_timestamp.map(ts),
            end_timestamp: s.end_timestamp.map(ts),
            created_at: ts(s.created_at),
            updated_at: ts(s.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    #[serde(flatten)]
    pub session: SessionItem,
    pub correlation_id: String,
}

impl From<Session> for SessionResponse {
    fn from(s: Session) -> Self {
        Self { session: s.into(), correlation_id: correlation::current() }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionPage {
    pub items: Vec<SessionItem>,
    pub next_cursor: Option<String>,
    pub correlation_id: String,
}

/// A run's error: `{code, message}`.
#[derive(Serialize, ToSchema)]
pub struct RunError {
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct RunItem {
    #[schema(example = "0190a5c4-1b2c-7d3e-8f40-123456789abc")]
    pub run_id: String,
    #[schema(example = "import")]
    pub kind: &'static str,
    #[schema(example = "queued")]
    pub status: &'static str,
    pub event_id: Option<String>,
    pub idempotency_key: String,
    #[schema(value_type = Object)]
    pub progress: Map<String, Value>,
    #[schema(value_type = Option<RunError>)]
    pub error: Option<Value>,
    #[schema(value_type = Object)]
    pub snapshot_metadata: Map<String, Value>,
    #[schema(value_type = Object)]
    pub version_metadata: Map<String, Value>,
    pub webhook_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub started_at: Option<String>,
    pub terminal_at: Option<String>,
}

impl From<Run> for RunItem {
    fn from(r: Run) -> Self {
        Self {
            run_id: r.run_id,
            kind: r.kind.as_str(),
            status: r.status.as_str(),
            event_id: r.event_id,
            idempotency_key: r.idempotency_key,
            progress: r.progress,
            error: r.error,
            snapshot_metadata: r.snapshot_metadata,
            version_metadata: r.version_metadata,
            webhook_url: r.webhook_url,
            created_at: ts(r.created_at),
            updated_at: ts(r.updated_at),
            started_at: r.started_at.map(ts),
            terminal_at: r.terminal_at.map(ts),
        }
    }
}

/// A run as the API shows it, for a webhook delivery's `data`.
pub fn run_object(run: Run) -> Value {
    serde_json::to_value(RunItem::from(run)).unwrap_or(Value::Null)
}

#[derive(Serialize, ToSchema)]
pub struct RunResponse {
    #[serde(flatten)]
    pub run: RunItem,
    pub correlation_id: String,
}

impl From<Run> for RunResponse {
    fn from(r: Run) -> Self {
        Self { run: r.into(), correlation_id: correlation::current() }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RunPage {
    pub items: Vec<RunItem>,
    pub next_cursor: Option<String>,
    pub correlation_id: String,
}

// ---- Attendees, identity, reviews -------------------------------------------------

use mingle_service::models::{AttendeeListing, Decision, Review};

/// The attendee's answers for this event.
#[derive(Serialize, ToSchema)]
pub struct AttendeeEventBlock {
    pub role_at_event: Option<String>,
    pub visibility: Option<String>,
    pub goal: Option<String>,
    pub needs: Option<Vec<String>>,
    pub offers: Option<Vec<String>>,
    pub onboarded_at: Option<String>,
    pub joined_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityBlock {
    /// Whether an open review concerns this attendee.
    pub review_required: bool,
    pub open_review_count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AttendeeItem {
    #[schema(example = "att-1001")]
    pub attendee_id: String,
    pub event_id: String,
    #[schema(example = "Jordan Lee")]
    pub display_name: String,
    pub title: Option<String>,
    pub company: Option<String>,
    pub event: AttendeeEventBlock,
    pub identity: IdentityBlock,
}

impl From<AttendeeListing> for AttendeeItem {
    fn from(a: AttendeeListing) -> Self {
        let m = a.membership;
        Self {
            attendee_id: a.attendee_id,
            event_id: m.event_id,
            display_name: a.name,
            title: a.title,
            company: a.company,
            event: AttendeeEventBlock {
                role_at_event: m.answers.role_at_event,
                visibility: m.answers.visibility,
                goal: m.answers.goal,
                needs: m.answers.needs,
                offers: m.answers.offers,
                onboarded_at: m.onboarded_at.map(ts),
                joined_at: m.joined_at.map(ts),
            },
            identity: IdentityBlock { review_required: a.open_reviews > 0, open_review_count: a.open_reviews },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AttendeePage {
    pub items: Vec<AttendeeItem>,
    pub next_cursor: Option<String>,
    pub correlation_id: String,
}

/// A kind and partner ID naming one thing.
#[derive(Serialize, ToSchema)]
pub struct PartnerRef {
    #[schema(example = "attendee")]
    pub kind: String,
    pub partner_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct AnchorItem {
    /// `email` or `linkedin`.
    pub kind: &'static str,
    /// The normalized value.
    pub value: String,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionItem {
    pub decision_id: String,
    /// `minted`, `auto_linked`, `review_opened`, `review_resolved` or `merged`.
    pub kind: String,
    pub event_id: Option<String>,
    pub anchors: Vec<AnchorItem>,
    pub other: Option<PartnerRef>,
    pub reason: String,
    /// On `review_resolved` items: the decision taken (`accept`, `reject` or `distinct`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    pub review_id: Option<String>,
    pub run_id: Option<String>,
    pub created_at: String,
}

impl From<Decision> for DecisionItem {
    fn from(d: Decision) -> Self {
        Self {
            decision_id: d.decision_id,
            kind: d.kind.as_str().to_owned(),
            event_id: d.event_id,
            anchors: d.anchors.into_iter().map(|a| AnchorItem { kind: a.kind.as_str(), value: a.value }).collect(),
            other: d.other.map(|o| PartnerRef { kind: o.kind, partner_id: o.partner_id }),
            reason: d.reason,
            decision: d.verdict,
            review_id: d.review_id,
            run_id: d.run_id,
            created_at: ts(d.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IdentityPage {
    pub event_id: String,
    pub attendee_id: String,
    pub items: Vec<DecisionItem>,
    pub next_cursor: Option<String>,
    pub correlation_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewItem {
    pub review_id: String,
    #[schema(example = "attendee")]
    pub kind: &'static str,
    /// The newer attendee, under review.
    pub partner_id: String,
    pub event_id: String,
    pub reason: String,
    /// The older attendee it may be.
    pub candidate: PartnerRef,
    /// Which anchors and names agreed or clashed.
    #[schema(value_type = Object)]
    pub evidence: Value,
    #[schema(example = "open")]
    pub status: String,
    pub created_at: String,
}

impl From<Review> for ReviewItem {
    fn from(r: Review) -> Self {
        Self {
            review_id: r.review_id,
            kind: "attendee",
            partner_id: r.attendee_id,
            event_id: r.event_id,
            reason: r.reason,
            candidate: PartnerRef { kind: "attendee".into(), partner_id: r.candidate_id },
            evidence: r.evidence,
            status: r.status.as_str().to_owned(),
            created_at: ts(r.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReviewPage {
    pub items: Vec<ReviewItem>,
    pub next_cursor: Option<String>,
    pub correlation_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResolveResponse {
    pub review_id: String,
    pub kind: &'static str,
    pub partner_id: String,
    pub decision: &'static str,
    pub logged: bool,
    /// Whether the attendee is a person of its own after the decision.
    pub minted: bool,
    pub correlation_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct MergeResponse {
    pub review_id: String,
    pub source: PartnerRef,
    pub target: PartnerRef,
    pub merged: bool,
    pub superseded_anchors: i64,
    pub rewritten_anchors: i64,
    pub deleted_computations: i64,
    pub correlation_id: String,
}

// ---- Matching ---------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct SubScores {
    /// Both directions of need↔offer answering together, with goal-category complementarity.
    pub goal_complementarity: f64,
    /// How well the target's offers answer the principal's needs.
    pub goal_needs_to_offers: f64,
    /// How well the principal's offers answer the target's needs.
    pub goal_offers_to_needs: f64,
    /// Shared interests and goal, fit with the event's objectives.
    pub value_alignment: f64,
    /// Similarity of the two profiles as a whole.
    pub general_similarity: f64,
    /// How valuable the target is to the principal.
    pub score_a_to_b: f64,
    /// How valuable the principal is to the target.
    pub score_b_to_a: f64,
}

#[derive(Serialize, ToSchema)]
pub struct GoalPairing {
    pub score: f64,
    /// `needsToOffers` (the principal's need, the target's offer) or `offersToNeeds`.
    #[schema(example = "needsToOffers")]
    pub direction: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct IntentStrength {
    #[serde(rename = "aToB")]
    pub a_to_b: f64,
    #[serde(rename = "bToA")]
    pub b_to_a: f64,
}

#[derive(Serialize, ToSchema)]
pub struct Freshness {
    pub computed_at: String,
}

/// Why the pair should meet: a need of one side and the offer of the other that answers
/// it, quoted as the attendees wrote them.
#[derive(Serialize, ToSchema)]
pub struct MatchReason {
    /// `needsToOffers`: the principal's need, answered by the target's offer;
    /// `offersToNeeds`: the principal's offer, answering the target's need.
    pub direction: &'static str,
    pub need: String,
    pub offer: String,
    /// The answer score of this pairing, 0-1.
    pub score: f64,
}

/// The two goal categories, when they made the pair complementary.
#[derive(Serialize, ToSchema)]
pub struct ComplementaryGoals {
    #[schema(example = "fundraising")]
    pub principal: String,
    #[schema(example = "investing")]
    pub target: String,
}

/// One ordered pair's match: the reference's pair object, plus `reasons` and
/// `complementary_goals`.
#[derive(Serialize, ToSchema)]
pub struct MatchItem {
    #[schema(example = "summit-2026")]
    pub event_id: String,
    pub match_id: String,
    pub run_id: String,
    pub principal_attendee_id: String,
    pub target_attendee_id: String,
    /// Reciprocal: the harmonic mean of `score_a_to_b` and `score_b_to_a`.
    pub final_score: f64,
    pub sub_scores: SubScores,
    pub best_goal_match: GoalPairing,
    pub driving_goal_pair: GoalPairing,
    pub intent_strength: IntentStrength,
    pub input_hash: String,
    pub algorithm_version: String,
    pub policy_version: String,
    pub context_snapshot_id: String,
    pub freshness: Freshness,
    pub computed_at: String,
    /// Up to three, strongest first.
    pub reasons: Vec<MatchReason>,
    pub complementary_goals: Option<ComplementaryGoals>,
}

impl MatchItem {
    pub fn new(
        event_id: &str,
        run: &mingle_service::matching::MatchRunInfo,
        v: mingle_service::matching::MatchView,
    ) -> Self {
        let s = v.score;
        let pairing =
            |g: mingle_core::matching::GoalMatch| GoalPairing { score: g.score, direction: g.direction.as_str() };
        let computed_at = ts(run.computed_at);
        Self {
            event_id: event_id.to_owned(),
            match_id: v.match_id,
            run_id: run.run_id.clone(),
            principal_attendee_id: v.principal,
            target_attendee_id: v.target,
            final_score: s.final_score,
            sub_scores: SubScores {
                goal_complementarity: s.complementarity,
                goal_needs_to_offers: s.needs_to_offers,
                goal_offers_to_needs: s.offers_to_needs,
                value_alignment: s.value_alignment,
                general_similarity: s.general_similarity,
                score_a_to_b: s.score_a_to_b,
                score_b_to_a: s.score_b_to_a,
            },
            best_goal_match: pairing(s.best),
            driving_goal_pair: pairing(s.driving),
            intent_strength: IntentStrength { a_to_b: s.intent_a_to_b, b_to_a: s.intent_b_to_a },
            input_hash: run.input_hash.clone(),
            algorithm_version: run.algorithm_version.clone(),
            policy_version: run.policy_version.clone(),
            context_snapshot_id: run.context_snapshot_id.clone(),
            freshness: Freshness { computed_at: computed_at.clone() },
            computed_at,
            reasons: v
                .reasons
                .into_iter()
                .map(|r| MatchReason { direction: r.direction.as_str(), need: r.need, offer: r.offer, score: r.score })
                .collect(),
            complementary_goals: s.categories.map(|(principal, target)| ComplementaryGoals { principal, target }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MatchResponse {
    #[serde(flatten)]
    pub item: MatchItem,
    pub correlation_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct AttendeeMatchPage {
    pub event_id: String,
    pub attendee_id: String,
    pub run_id: String,
    pub items: Vec<MatchItem>,
    pub next_cursor: Option<String>,
    pub correlation_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct EventMatchPage {
    pub event_id: String,
    pub run_id: String,
    pub items: Vec<MatchItem>,
    pub next_cursor: Option<String>,
    pub correlation_id: String,
}
