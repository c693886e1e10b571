//! The JSON shapes of responses (and, for the OpenAPI document, of request bodies;
//! requests themselves are validated field by field in `mingle-core`).

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
        Self {
            event: e.into(),
            correlation_id: correlation::current(),
        }
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
        Self {
            session: s.into(),
            correlation_id: correlation::current(),
        }
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

#[derive(Serialize, ToSchema)]
pub struct RunResponse {
    #[serde(flatten)]
    pub run: RunItem,
    pub correlation_id: String,
}

impl From<Run> for RunResponse {
    fn from(r: Run) -> Self {
        Self {
            run: r.into(),
            correlation_id: correlation::current(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RunPage {
    pub items: Vec<RunItem>,
    pub next_cursor: Option<String>,
    pub correlation_id: String,
}

// Request bodies, for the OpenAPI document.

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreateEventRequest {
    /// Partner-owned: `^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`.
    #[schema(example = "summit-2026")]
    event_id: String,
    /// Required, at most 200 characters.
    title: String,
    /// At most 4000 characters.
    description: Option<String>,
    /// `YYYY-MM-DD`.
    start_date: Option<String>,
    /// `YYYY-MM-DD`, not before `start_date`.
    end_date: Option<String>,
    /// An IANA zone name, at most 128 characters.
    timezone: Option<String>,
    /// At most 32 characters.
    visibility: Option<String>,
    /// At most 128 characters.
    url_slug: Option<String>,
}

/// A partial update: a field left out keeps its value, `null` clears it. At least one
/// field is required; each at most 4000 characters.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContextRequest {
    event_details: Option<String>,
    objectives: Option<String>,
    welcome_instructions: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreateSessionRequest {
    /// Partner-owned, unique across the org's events.
    #[schema(example = "opening-keynote")]
    session_id: String,
    /// Required, at most 200 characters.
    title: String,
    /// At most 4000 characters.
    description: Option<String>,
    /// RFC 3339.
    start_timestamp: Option<String>,
    /// RFC 3339, not before `start_timestamp`.
    end_timestamp: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreateRunRequest {
    /// `import`, `enrichment` or `match`.
    kind: String,
    /// 1-255 printable ASCII characters; replays return the original run.
    idempotency_key: String,
    #[schema(value_type = Option<Object>)]
    progress: Option<Value>,
    #[schema(value_type = Option<Object>)]
    snapshot_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    version_metadata: Option<Value>,
    /// Absolute https URL, at most 2048 characters.
    webhook_url: Option<String>,
}
