//! The document's schemas where utoipa's derive cannot say enough: the shared value
//! types (IDs, keys, URLs, dates, enums), the request bodies, and the exact shape of the
//! response fields. Every bound and pattern comes from `mingle_core::limits` or the
//! type that parses the value, never from a copy.

use mingle_core::identity::{DecisionKind, ReviewStatus};
use mingle_core::limits::{self as l};
use mingle_core::run::{DEFAULT_TOP_N, MAX_TOP_N, PROGRESS_COUNTERS};
use mingle_core::{RunKind, RunStatus};
use mingle_service::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use serde_json::{json, Map, Value};

pub fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// `schema` or `null` (an optional field sent as `null` counts as absent).
pub fn nullable(schema: Value) -> Value {
    match schema {
        Value::Object(mut m) if m.get("type").is_some_and(Value::is_string) && !m.contains_key("enum") => {
            let t = m.remove("type").unwrap_or_default();
            m.insert("type".into(), json!([t, "null"]));
            Value::Object(m)
        }
        other => json!({"oneOf": [{"type": "null"}, other]}),
    }
}

/// `schema` with an example of its own (beside a `$ref`, as OpenAPI 3.1 allows).
fn with_example(schema: &Value, example: &str) -> Value {
    let mut s = schema.clone();
    s["example"] = json!(example);
    s
}

/// `schema` with a description of its own.
fn described(mut schema: Value, description: &str) -> Value {
    schema["description"] = json!(description);
    schema
}

fn text(max: usize) -> Value {
    json!({"type": "string", "maxLength": max, "pattern": l::text_pattern()})
}

fn required_text(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": l::required_text_pattern()})
}

fn enumeration(values: impl IntoIterator<Item = &'static str>, description: &str) -> Value {
    json!({"type": "string", "enum": values.into_iter().collect::<Vec<_>>(), "description": description})
}

fn object(properties: Value, required: &[&str], description: &str) -> Value {
    json!({"type": "object", "description": description, "properties": properties, "required": required})
}

/// The value types the parameters, bodies and responses share.
pub fn shared() -> Vec<(&'static str, Value)> {
    let timezones = l::timezone_names();
    vec![
        (
            "PartnerId",
            json!({"type": "string", "minLength": 1, "maxLength": mingle_core::PartnerId::MAX_LEN,
            "pattern": l::PARTNER_ID_PATTERN, "example": "summit-2026",
            "description": "A partner-owned ID: a letter or digit, then letters, digits, '.', '_', ':' or '-'."}),
        ),
        (
            "PartnerKind",
            json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": l::PARTNER_KIND_PATTERN,
            "example": "attendee",
            "description": "A partner ID kind. `event`, `session` and `attendee` name things an org holds; \
                other well-formed kinds map nothing."}),
        ),
        ("Uuid", json!({"type": "string", "format": "uuid", "example": "0190a5c4-1b2c-7d3e-8f40-123456789abc"})),
        (
            "IdempotencyKey",
            json!({"type": "string", "minLength": 1, "maxLength": l::IDEMPOTENCY_KEY_MAX,
            "pattern": l::IDEMPOTENCY_KEY_PATTERN, "example": "import-2026-09-01",
            "description": "1-255 printable ASCII characters. A replay with the same body returns the original \
                run; with another body, 409 IDEMPOTENCY_KEY_CONFLICT."}),
        ),
        (
            "WebhookUrl",
            json!({"type": "string", "maxLength": l::WEBHOOK_URL_MAX, "pattern": l::WEBHOOK_URL_PATTERN,
            "example": "https://example.com/future-webhook",
            "description": "Where the run's terminal status is delivered (Standard Webhooks). https and a host \
                name; a server in insecure mode (local development) also takes http and IP addresses."}),
        ),
        ("Date", json!({"type": "string", "format": "date", "pattern": l::DATE_PATTERN, "example": "2026-09-10"})),
        (
            "Timestamp",
            json!({"type": "string", "format": "date-time", "maxLength": l::TIMESTAMP_MAX,
            "example": "2026-09-10T13:00:00Z"}),
        ),
        (
            "DateTime",
            json!({"type": "string", "format": "date-time", "example": "2026-09-10T13:00:00.000Z",
            "description": "RFC 3339, UTC, milliseconds."}),
        ),
        (
            "Timezone",
            json!({"type": "string", "maxLength": l::TIMEZONE_MAX, "enum": timezones,
            "example": "America/New_York", "description": "An IANA time zone name."}),
        ),
        ("RunKind", enumeration(RunKind::ALL.iter().map(|k| k.as_str()), "What a run does.")),
        ("RunStatus", enumeration(RunStatus::ALL.iter().map(|s| s.as_str()), "Where a run is.")),
        ("ReviewStatus", enumeration(ReviewStatus::ALL.iter().map(|s| s.as_str()), "Where a review is.")),
        (
            "ReviewDecision",
            enumeration(
                ["accept", "reject", "distinct"],
                "accept: the same person (linked); reject: not the same (minted apart); distinct: a person of \
             their own, never proposed again.",
            ),
        ),
        ("DecisionKind", enumeration(DecisionKind::ALL.iter().map(|k| k.as_str()), "What an identity decision did.")),
        ("AnchorKind", enumeration(["email", "linkedin"], "Which identifier an anchor is.")),
        (
            "GoalDirection",
            enumeration(
                ["needsToOffers", "offersToNeeds"],
                "needsToOffers: the principal's need, the target's offer; offersToNeeds: the reverse.",
            ),
        ),
        (
            "RunProgress",
            json!({"type": "object",
            "description": "Counters, each a non-negative integer. Import: total, processed, created, updated, \
                unchanged, review_required, failed. Enrichment: total, processed, enriched, skipped, failed. \
                Match: attendees, pairs_scored, matches_written. A run created with POST /runs keeps the \
                object it was given (at most 64 KiB), whose counters must be counts too.",
            "properties": PROGRESS_COUNTERS.iter().map(|k| (k.to_string(), json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})))
                .collect::<Map<_, _>>()}),
        ),
        ("Metadata", json!({"type": "object", "description": "Any JSON object of at most 64 KiB serialized."})),
        (
            "ErrorDetails",
            json!({"type": "object",
            "description": "What the error is about, when there is something to point at.",
            "properties": {
                "field": {"type": "string", "description": "The offending field (or query parameter)."},
                "index": {"type": "integer", "minimum": 0, "description": "Import rows: the row."},
                "attendee_id": {"type": "string", "description": "Import rows: the row's attendee_id."},
                "required_scope": {"type": "string", "description": "INSUFFICIENT_SCOPE: the scope needed."},
                "max_rows": {"type": "integer", "description": "INVALID_ATTENDEES: the most rows per import."},
                "max_bytes": {"type": "integer", "description": "PAYLOAD_TOO_LARGE: the largest body."}}}),
        ),
    ]
}

/// The request bodies, by schema name.
pub fn requests(max_import_rows: usize) -> Vec<(&'static str, Value)> {
    let id = reference("PartnerId");
    let webhook = nullable(reference("WebhookUrl"));
    let merge_kind = json!({"type": "string", "enum": ["attendee"],
        "description": "Only attendees merge: another well-formed kind is 400 MERGE_REJECTED."});
    let raw_list = |description: &str| {
        json!({"anyOf": [
            {"type": "string", "maxLength": mingle_core::import::MAX_ANSWER_CHARS, "pattern": l::text_pattern()},
            {"type": "array", "maxItems": mingle_core::import::MAX_ANSWERS,
             "items": {"type": "string", "maxLength": mingle_core::import::MAX_ANSWER_CHARS, "pattern": l::text_pattern()}},
            {"type": "null"}], "description": description})
    };
    vec![
        (
            "CreateEventRequest",
            object(
                json!({
            "event_id": id, "title": required_text(l::EVENT_TITLE_MAX),
            "description": nullable(text(l::DESCRIPTION_MAX)),
            "start_date": nullable(reference("Date")),
            "end_date": described(nullable(reference("Date")), "Not before start_date."),
            "timezone": nullable(reference("Timezone")),
            "visibility": nullable(text(l::VISIBILITY_MAX)), "url_slug": nullable(text(l::URL_SLUG_MAX))}),
                &["event_id", "title"],
                "A new event. Keys not listed are ignored.",
            ),
        ),
        (
            "ContextRequest",
            json!({"type": "object",
            "description": "A partial update: a field left out keeps its value, null clears it; at least one of \
                the three is required.",
            "properties": {
                "event_details": nullable(text(l::CONTEXT_FIELD_MAX)),
                "objectives": nullable(text(l::CONTEXT_FIELD_MAX)),
                "welcome_instructions": nullable(text(l::CONTEXT_FIELD_MAX))},
            "anyOf": [{"required": ["event_details"]}, {"required": ["objectives"]}, {"required": ["welcome_instructions"]}]}),
        ),
        (
            "CreateSessionRequest",
            object(
                json!({
            "session_id": id, "title": required_text(l::SESSION_TITLE_MAX),
            "description": nullable(text(l::DESCRIPTION_MAX)),
            "start_timestamp": nullable(reference("Timestamp")),
            "end_timestamp": described(nullable(reference("Timestamp")), "Not before start_timestamp.")}),
                &["session_id", "title"],
                "A new session; session_id is unique across the org's events.",
            ),
        ),
        (
            "CreateRunRequest",
            object(
                json!({
            "kind": reference("RunKind"), "idempotency_key": reference("IdempotencyKey"),
            "progress": nullable(reference("RunProgress")),
            "snapshot_metadata": nullable(reference("Metadata")), "version_metadata": nullable(reference("Metadata")),
            "webhook_url": webhook}),
                &["kind", "idempotency_key"],
                "A run recorded by the partner; it does no work in mingle.",
            ),
        ),
        (
            "RawData",
            json!({"type": "object",
            "description": "The attendee's answers for this event: at most 64 KiB serialized and 16 levels deep. \
                Keys with a meaning are typed; other keys are kept as given.",
            "properties": {
                "goal": nullable(text(l::RAW_GOAL_MAX)),
                "needs": raw_list("What the attendee is looking for: a text or a list."),
                "offers": raw_list("What the attendee can give: a text or a list."),
                "interests": raw_list("Topics: a text or a list."),
                "bio": nullable(text(l::RAW_BIO_MAX)),
                "role_at_event": nullable(text(l::RAW_ROLE_MAX)),
                "visibility": nullable(text(l::RAW_VISIBILITY_MAX)),
                "sessions": {"type": ["array", "null"], "maxItems": mingle_core::import::MAX_SESSIONS,
                    "items": {"type": "string", "maxLength": mingle_core::import::MAX_ANSWER_CHARS, "pattern": l::text_pattern()},
                    "description": "The session_ids the attendee attends."}}}),
        ),
        (
            "ImportRow",
            object(
                json!({
            "attendee_id": id, "name": required_text(l::ATTENDEE_NAME_MAX),
            "email": nullable(json!({"type": "string", "maxLength": l::ATTENDEE_EMAIL_MAX, "pattern": l::email_pattern(),
                "example": "jordan@example.com"})),
            "linkedin_url": nullable(text(l::ATTENDEE_LINKEDIN_URL_MAX)),
            "title": nullable(text(l::ATTENDEE_TITLE_MAX)), "company": nullable(text(l::ATTENDEE_COMPANY_MAX)),
            "raw_data": nullable(reference("RawData"))}),
                &["attendee_id", "name"],
                "One attendee; attendee_id is unique within the request.",
            ),
        ),
        (
            "ImportRequest",
            object(
                json!({
            "idempotency_key": reference("IdempotencyKey"), "webhook_url": webhook,
            "attendees": {"type": "array", "minItems": 1, "maxItems": max_import_rows,
                "items": reference("ImportRow"),
                "description": "At least one row, at most the server's --max-import-rows (50,000 unless set), each \
                attendee_id once."}}),
                &["idempotency_key", "attendees"],
                "A bulk upsert of the event's attendees.",
            ),
        ),
        (
            "ResolveRequest",
            object(
                json!({
            "decision": reference("ReviewDecision"), "reason": nullable(text(l::REASON_MAX))}),
                &["decision"],
                "How to resolve an open review.",
            ),
        ),
        (
            "MergeRequest",
            object(
                json!({
            // Examples of their own: the shared one would merge an attendee into itself.
            "source_kind": merge_kind.clone(), "source_partner_id": with_example(&id, "att-dupe"),
            "target_kind": merge_kind, "target_partner_id": with_example(&id, "att-1001"),
            "reason": nullable(text(l::REASON_MAX))}),
                &["source_kind", "source_partner_id", "target_kind", "target_partner_id"],
                "Merges the review's attendee (the source) into another attendee.",
            ),
        ),
        (
            "EnrichmentRequest",
            object(
                json!({
            "idempotency_key": reference("IdempotencyKey"), "webhook_url": webhook}),
                &["idempotency_key"],
                "Starts enrichment of the event's attendees.",
            ),
        ),
        (
            "MatchRunRequest",
            object(
                json!({
            "idempotency_key": reference("IdempotencyKey"), "webhook_url": webhook,
            "top_n": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_TOP_N, "default": DEFAULT_TOP_N,
                "description": "Targets kept per attendee."}}),
                &["idempotency_key"],
                "Starts matching of the event's attendees.",
            ),
        ),
    ]
}

/// Response properties whose type the derive leaves loose, by (schema, property).
pub fn response_fields() -> Vec<(&'static str, &'static str, Value)> {
    let uuid = reference("Uuid");
    let time = reference("DateTime");
    let maybe_time = nullable(reference("DateTime"));
    let mut fields = vec![
        ("AuthResponse", "org_id", uuid.clone()),
        ("AuthResponse", "service_account_user_id", uuid.clone()),
        ("AuthResponse", "principal_type", enumeration(["service_account"], "Always a service account.")),
        (
            "AuthResponse",
            "scopes",
            json!({"type": "array", "items": enumeration(["partner:read", "partner:write"], "A scope.")}),
        ),
        ("RunItem", "run_id", uuid.clone()),
        ("RunItem", "kind", reference("RunKind")),
        ("RunItem", "status", reference("RunStatus")),
        ("RunItem", "progress", reference("RunProgress")),
        ("RunItem", "snapshot_metadata", reference("Metadata")),
        ("RunItem", "version_metadata", reference("Metadata")),
        ("RunItem", "started_at", maybe_time.clone()),
        ("RunItem", "terminal_at", maybe_time.clone()),
        ("RunError", "code", reference("ErrorCode")),
        ("ReviewItem", "review_id", uuid.clone()),
        ("ReviewItem", "kind", enumeration(["attendee"], "Reviews concern attendees.")),
        ("ReviewItem", "status", reference("ReviewStatus")),
        ("ResolveResponse", "review_id", uuid.clone()),
        ("ResolveResponse", "kind", enumeration(["attendee"], "Reviews concern attendees.")),
        ("ResolveResponse", "decision", reference("ReviewDecision")),
        ("MergeResponse", "review_id", uuid.clone()),
        ("DecisionItem", "kind", reference("DecisionKind")),
        ("DecisionItem", "decision", reference("ReviewDecision")),
        ("DecisionItem", "review_id", nullable(uuid.clone())),
        ("DecisionItem", "run_id", nullable(uuid.clone())),
        ("AnchorItem", "kind", reference("AnchorKind")),
        ("GoalPairing", "direction", reference("GoalDirection")),
        ("MatchReason", "direction", reference("GoalDirection")),
        ("MatchItem", "run_id", uuid.clone()),
        ("AttendeeMatchPage", "run_id", uuid.clone()),
        ("EventMatchPage", "run_id", uuid.clone()),
        ("EventItem", "start_date", nullable(reference("Date"))),
        ("EventItem", "end_date", nullable(reference("Date"))),
        ("ErrorBody", "code", reference("ErrorCode")),
        ("ErrorBody", "details", reference("ErrorDetails")),
        ("SessionItem", "start_timestamp", maybe_time.clone()),
        ("SessionItem", "end_timestamp", maybe_time.clone()),
        ("AttendeeEventBlock", "onboarded_at", maybe_time.clone()),
        ("AttendeeEventBlock", "joined_at", maybe_time),
        ("Freshness", "computed_at", time.clone()),
        ("MatchItem", "computed_at", time.clone()),
    ];
    for schema in ["EventItem", "SessionItem", "RunItem"] {
        fields.push((schema, "created_at", time.clone()));
        fields.push((schema, "updated_at", time.clone()));
    }
    for schema in ["ReviewItem", "DecisionItem"] {
        fields.push((schema, "created_at", time.clone()));
    }
    fields
}

/// Response properties left out when empty; every other one is always present (null
/// when it has no value), so the document marks it required.
pub const OMITTED_WHEN_EMPTY: [(&str, &str); 3] =
    [("IdMapResponse", "merged_into"), ("DecisionItem", "decision"), ("ErrorBody", "details")];

/// A path or query parameter's schema, by name.
pub fn parameter(location: &str, name: &str, path: &str) -> Option<Value> {
    Some(match (location, name) {
        (
            "path",
            "event_id" | "session_id" | "attendee_id" | "partner_id" | "principal_partner_id" | "target_partner_id",
        ) => reference("PartnerId"),
        ("path", "kind") => reference("PartnerKind"),
        ("path", "run_id" | "review_id") => reference("Uuid"),
        ("query", "limit") => json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        ("query", "cursor") => {
            json!({"type": "string", "maxLength": 4096, "pattern": "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$",
            "description": "The next_cursor of the previous page, unchanged: it is bound to this list, its path \
                IDs and filters, and the caller's org (400 INVALID_CURSOR otherwise)."})
        }
        ("query", "kind") if path == "/runs" => reference("RunKind"),
        ("query", "run_id") => reference("Uuid"),
        ("query", "session_id") => reference("PartnerId"),
        ("query", "goal") => text(l::GOAL_FILTER_MAX),
        _ => return None,
    })
}
