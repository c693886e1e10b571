//! Rows to models, written once for every backend. Each backend's row type is a
//! [`StoreRow`]: it decodes the handful of column types the schema uses (text, 64-bit
//! integers, bytes, booleans, doubles), so a mapping here reads a SQLite row and a
//! PostgreSQL row alike.

use mingle_core::{Scope, Timestamp};
use serde_json::{Map, Value};
use sqlx::postgres::{PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteRow};

use crate::models::*;
use crate::StoreError;

/// A row that can decode a `T` from a named column.
pub(crate) trait Column<T> {
    fn column(&self, name: &str) -> Result<T, StoreError>;
}

macro_rules! columns_of {
    ($row:ty, $db:ty) => {
        impl<T> Column<T> for $row
        where
            T: for<'r> sqlx::Decode<'r, $db> + sqlx::Type<$db>,
        {
            fn column(&self, name: &str) -> Result<T, StoreError> {
                sqlx::Row::try_get(self, name).map_err(StoreError::backend)
            }
        }
    };
}
columns_of!(SqliteRow, Sqlite);
columns_of!(PgRow, Postgres);

/// The column types mingle's schema uses, on any backend.
pub(crate) trait StoreRow:
    Column<String>
    + Column<Option<String>>
    + Column<i64>
    + Column<Option<i64>>
    + Column<Vec<u8>>
    + Column<bool>
    + Column<Option<f64>>
{
}

impl<R> StoreRow for R where
    R: Column<String>
        + Column<Option<String>>
        + Column<i64>
        + Column<Option<i64>>
        + Column<Vec<u8>>
        + Column<bool>
        + Column<Option<f64>>
{
}

pub(crate) fn get<T>(row: &impl Column<T>, column: &str) -> Result<T, StoreError> {
    row.column(column)
}

pub(crate) fn ts(row: &impl StoreRow, column: &str) -> Result<Timestamp, StoreError> {
    get::<i64>(row, column).map(Timestamp::from_millis)
}

/// A column holding one of an enum's names.
pub(crate) fn parsed<T>(row: &impl StoreRow, column: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    let name: String = get(row, column)?;
    parse(&name).ok_or_else(|| StoreError::Backend(format!("unknown {column} '{name}'")))
}

pub(crate) fn opt_ts(row: &impl StoreRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    get::<Option<i64>>(row, column).map(|v| v.map(Timestamp::from_millis))
}

pub(crate) fn json_object(row: &impl StoreRow, column: &str) -> Result<Map<String, Value>, StoreError> {
    serde_json::from_str(&get::<String>(row, column)?).map_err(StoreError::backend)
}

/// A vector as stored: little-endian f32s.
pub(crate) fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

pub(crate) fn json_text(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

pub(crate) fn org_from_row(r: &impl StoreRow) -> Result<Org, StoreError> {
    Ok(Org {
        org_id: get(r, "org_id")?,
        name: get(r, "name")?,
        webhook_secret: get(r, "webhook_secret")?,
        previous_webhook_secret: get(r, "previous_webhook_secret")?,
        previous_webhook_secret_until: opt_ts(r, "previous_webhook_secret_until")?,
        cursor_key: get(r, "cursor_key")?,
        created_at: ts(r, "created_at")?,
    })
}

pub(crate) fn account_from_row(r: &impl StoreRow) -> Result<ServiceAccount, StoreError> {
    let status: String = get(r, "status")?;
    Ok(ServiceAccount {
        org_id: get(r, "org_id")?,
        service_account_id: get(r, "service_account_id")?,
        name: get(r, "name")?,
        scopes: Scope::parse_list(&get::<String>(r, "scopes")?).map_err(StoreError::Backend)?,
        status: AccountStatus::parse(&status).ok_or_else(|| StoreError::Backend(format!("bad status {status}")))?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

pub(crate) fn credential_from_row(r: &impl StoreRow) -> Result<Credential, StoreError> {
    Ok(Credential {
        token_hash: get(r, "token_hash")?,
        token_revoked: get::<Option<i64>>(r, "revoked_at")?.is_some(),
        account: account_from_row(r)?,
        cursor_key: get(r, "cursor_key")?,
    })
}

pub(crate) fn event_from_row(r: &impl StoreRow) -> Result<Event, StoreError> {
    Ok(Event {
        event_id: get(r, "event_id")?,
        title: get(r, "title")?,
        description: get(r, "description")?,
        event_details: get(r, "event_details")?,
        objectives: get(r, "objectives")?,
        welcome_instructions: get(r, "welcome_instructions")?,
        start_date: get(r, "start_date")?,
        end_date: get(r, "end_date")?,
        timezone: get(r, "timezone")?,
        visibility: get(r, "visibility")?,
        url_slug: get(r, "url_slug")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

pub(crate) fn session_from_row(r: &impl StoreRow) -> Result<Session, StoreError> {
    Ok(Session {
        session_id: get(r, "session_id")?,
        event_id: get(r, "event_id")?,
        title: get(r, "title")?,
        description: get(r, "description")?,
        start_timestamp: opt_ts(r, "start_timestamp")?,
        end_timestamp: opt_ts(r, "end_timestamp")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

pub(crate) fn run_from_row(r: &impl StoreRow) -> Result<Run, StoreError> {
    let kind: String = get(r, "kind")?;
    let status: String = get(r, "status")?;
    let error: Option<String> = get(r, "error")?;
    Ok(Run {
        org_id: get(r, "org_id")?,
        run_id: get(r, "run_id")?,
        kind: kind.parse().map_err(|_| StoreError::Backend(format!("bad run kind {kind}")))?,
        status: status.parse().map_err(|_| StoreError::Backend(format!("bad run status {status}")))?,
        event_id: get(r, "event_id")?,
        idempotency_key: get(r, "idempotency_key")?,
        request_hash: get(r, "request_hash")?,
        progress: json_object(r, "progress")?,
        error: error.map(|e| serde_json::from_str(&e)).transpose().map_err(StoreError::backend)?,
        snapshot_metadata: json_object(r, "snapshot_metadata")?,
        version_metadata: json_object(r, "version_metadata")?,
        webhook_url: get(r, "webhook_url")?,
        executes: get(r, "executes")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
        started_at: opt_ts(r, "started_at")?,
        terminal_at: opt_ts(r, "terminal_at")?,
        attempts: get(r, "attempts")?,
    })
}

/// A row of the attendee page: the membership, the attendee's name, title and company,
/// its open reviews and its last enrichment.
pub(crate) fn attendee_listing_from_row(r: &impl StoreRow) -> Result<AttendeeListing, StoreError> {
    Ok(AttendeeListing {
        attendee_id: get(r, "attendee_id")?,
        name: get(r, "name")?,
        title: get(r, "title")?,
        company: get(r, "company")?,
        membership: membership_from_row(r)?,
        open_reviews: get(r, "open_reviews")?,
        enrichment: last_enrichment(r)?,
    })
}

/// The `enriched_*` columns of a listing row (a LEFT JOIN of `attendee_features`).
pub(crate) fn last_enrichment(r: &impl StoreRow) -> Result<Option<LastEnrichment>, StoreError> {
    let Some(input_hash) = get::<Option<String>>(r, "enriched_hash")? else { return Ok(None) };
    Ok(Some(LastEnrichment { input_hash, model_id: get(r, "enriched_model")? }))
}

pub(crate) fn parse_list(row: &impl StoreRow, column: &str) -> Result<Option<Vec<String>>, StoreError> {
    get::<Option<String>>(row, column)?.map(|s| serde_json::from_str(&s)).transpose().map_err(StoreError::backend)
}

pub(crate) fn attendee_from_row(r: &impl StoreRow, anchors: Vec<Anchor>) -> Result<Attendee, StoreError> {
    Ok(Attendee {
        attendee_id: get(r, "attendee_id")?,
        person_id: get(r, "person_id")?,
        name: get(r, "name")?,
        email: get(r, "email")?,
        linkedin_url: get(r, "linkedin_url")?,
        title: get(r, "title")?,
        company: get(r, "company")?,
        merged_into: get(r, "merged_into")?,
        anchors,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

pub(crate) fn membership_from_row(r: &impl StoreRow) -> Result<Membership, StoreError> {
    let raw: Option<String> = get(r, "raw_data")?;
    Ok(Membership {
        event_id: get(r, "event_id")?,
        attendee_id: get(r, "attendee_id")?,
        raw_data: raw.map(|s| serde_json::from_str(&s)).transpose().map_err(StoreError::backend)?,
        answers: EventAnswers {
            goal: get(r, "goal")?,
            needs: parse_list(r, "needs")?,
            offers: parse_list(r, "offers")?,
            interests: parse_list(r, "interests")?,
            bio: get(r, "bio")?,
            role_at_event: get(r, "role_at_event")?,
            visibility: get(r, "visibility")?,
            sessions: parse_list(r, "sessions")?,
        },
        onboarded_at: opt_ts(r, "onboarded_at")?,
        joined_at: opt_ts(r, "joined_at")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

pub(crate) fn decision_from_row(r: &impl StoreRow) -> Result<Decision, StoreError> {
    let anchors: String = get(r, "anchors")?;
    let other_kind: Option<String> = get(r, "other_kind")?;
    let other_id: Option<String> = get(r, "other_partner_id")?;
    Ok(Decision {
        decision_id: get(r, "decision_id")?,
        attendee_id: get(r, "attendee_id")?,
        kind: parsed(r, "kind", DecisionKind::parse)?,
        event_id: get(r, "event_id")?,
        run_id: get(r, "run_id")?,
        review_id: get(r, "review_id")?,
        anchors: serde_json::from_str(&anchors).map_err(StoreError::backend)?,
        other: other_kind.zip(other_id).map(|(kind, partner_id)| PartyRef { kind, partner_id }),
        reason: get(r, "reason")?,
        verdict: get(r, "verdict")?,
        created_at: ts(r, "created_at")?,
    })
}

pub(crate) fn review_from_row(r: &impl StoreRow) -> Result<Review, StoreError> {
    let evidence: String = get(r, "evidence")?;
    Ok(Review {
        review_id: get(r, "review_id")?,
        attendee_id: get(r, "attendee_id")?,
        event_id: get(r, "event_id")?,
        candidate_id: get(r, "candidate_id")?,
        clash: get(r, "clash")?,
        reason: get(r, "reason")?,
        evidence: serde_json::from_str(&evidence).map_err(StoreError::backend)?,
        status: parsed(r, "status", ReviewStatus::parse)?,
        decision_reason: get(r, "decision_reason")?,
        run_id: get(r, "run_id")?,
        created_at: ts(r, "created_at")?,
        resolved_at: opt_ts(r, "resolved_at")?,
    })
}

pub(crate) fn match_from_row(r: &impl StoreRow) -> Result<StoredMatch, StoreError> {
    Ok(StoredMatch {
        a_id: get(r, "a_id")?,
        b_id: get(r, "b_id")?,
        match_id: get(r, "match_id")?,
        a_rank: get(r, "a_rank")?,
        b_rank: get(r, "b_rank")?,
        score: serde_json::from_str(&get::<String>(r, "scores")?).map_err(StoreError::backend)?,
    })
}

pub(crate) fn strings(r: &impl StoreRow, column: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(&get::<String>(r, column)?).map_err(StoreError::backend)
}

/// An attempt from columns named with `prefix` (`""` for `webhook_attempts` itself).
pub(crate) fn attempt_from_row(r: &impl StoreRow, prefix: &str) -> Result<DeliveryAttempt, StoreError> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(DeliveryAttempt {
        attempt: get(r, &col("attempt"))?,
        attempted_at: ts(r, &col("attempted_at"))?,
        status_code: get::<Option<i64>>(r, &col("status_code"))?.map(|c| c as u16),
        latency_ms: get(r, &col("latency_ms"))?,
        error: get(r, &col("error"))?,
    })
}

pub(crate) fn delivery_from_row(r: &impl StoreRow, with_last: bool) -> Result<Delivery, StoreError> {
    let status: String = get(r, "status")?;
    let last_attempt = match with_last && get::<Option<i64>>(r, "a_attempt")?.is_some() {
        true => Some(attempt_from_row(r, "a_")?),
        false => None,
    };
    Ok(Delivery {
        org_id: get(r, "org_id")?,
        delivery_id: get(r, "delivery_id")?,
        run_id: get(r, "run_id")?,
        event_type: get(r, "event_type")?,
        url: get(r, "url")?,
        status: DeliveryStatus::parse(&status).ok_or_else(|| StoreError::Backend(format!("bad status {status}")))?,
        attempts: get(r, "attempts")?,
        next_attempt_at: opt_ts(r, "next_attempt_at")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
        delivered_at: opt_ts(r, "delivered_at")?,
        last_attempt,
    })
}

pub(crate) fn features_from_row(r: &impl StoreRow) -> Result<Features, StoreError> {
    Ok(Features {
        attendee_id: get(r, "attendee_id")?,
        input_hash: get(r, "input_hash")?,
        model_id: get(r, "model_id")?,
        goal_category: get(r, "goal_category")?,
        goal_score: get::<Option<f64>>(r, "goal_score")?.map(|v| v as f32),
        seniority: get(r, "seniority")?,
        function: get(r, "function")?,
        features: serde_json::from_str(&get::<String>(r, "features")?).map_err(StoreError::backend)?,
        enriched_at: ts(r, "enriched_at")?,
    })
}

pub(crate) fn profile_from_row(r: &impl StoreRow) -> Result<MatchProfile, StoreError> {
    Ok(MatchProfile {
        attendee_id: get(r, "attendee_id")?,
        goal: get(r, "goal")?,
        goal_category: get(r, "goal_category")?,
        needs: strings(r, "needs")?,
        offers: strings(r, "offers")?,
        sessions: strings(r, "sessions")?,
    })
}
