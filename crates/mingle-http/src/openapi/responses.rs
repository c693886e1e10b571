//! The answers every partner route shares (401, 403, 405, 413, 429, 500, 503), the
//! headers each answer carries, and one example per error code an answer can hold.

use serde_json::{json, Map, Value};

use crate::HttpSettings;

fn header(name: &str) -> Value {
    json!({"$ref": format!("#/components/headers/{name}")})
}

/// The response headers, declared once.
pub fn headers() -> Value {
    json!({
        "X-Correlation-Id": {"required": true, "description": "The request's correlation ID, also in the body.",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}},
        "RateLimit": {"required": false, "description": "The caller's bucket after this request (IETF \
            RateLimit fields): r = requests remaining, t = seconds until the bucket is full.",
            "schema": {"type": "string", "example": "\"default\";r=99;t=1"}},
        "RateLimit-Policy": {"required": false, "description": "q = burst, w = seconds to refill it.",
            "schema": {"type": "string", "example": "\"default\";q=100;w=1"}},
        "Retry-After": {"required": true, "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer", "minimum": 0}},
        "WWW-Authenticate": {"required": true, "schema": {"type": "string", "enum": ["Bearer"]}},
        "Allow": {"required": true, "description": "The methods the route answers.",
            "schema": {"type": "string", "example": "GET,HEAD,OPTIONS"}},
    })
}

/// Adds the shared answers to an operation, headers and examples to all its answers.
pub fn complete(op: &mut Map<String, Value>, has_body: bool, settings: &HttpSettings) {
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    let responses = responses.as_object_mut().expect("responses");
    let mut shared = vec![
        ("401", "UNAUTHORIZED (missing, unknown or revoked token), ACCOUNT_DISABLED"),
        ("403", "INSUFFICIENT_SCOPE (details.required_scope), PARTNER_ORG_REQUIRED, SERVICE_ACCOUNT_REQUIRED"),
        (
            "405",
            "METHOD_NOT_ALLOWED: the route does not answer this method (see Allow); answered before \
            authentication",
        ),
        ("414", "URI_TOO_LONG: the URI is over 65,534 bytes (answered before routing)"),
        ("429", "PARTNER_RATE_LIMIT_EXCEEDED"),
        ("431", "HEADERS_TOO_LARGE: over 100 headers, or a head over 408 KiB (answered before routing)"),
        ("500", "INTERNAL_ERROR"),
        (
            "503",
            "UNAVAILABLE (the database is unreachable, or the request outlived the server's request \
            timeout; whatever it began was rolled back)",
        ),
    ];
    if has_body {
        shared.push(("408", "REQUEST_TIMEOUT: the body did not arrive within the server's body read timeout"));
        shared.push(("413", "PAYLOAD_TOO_LARGE: the body is over the server's --max-body-bytes"));
    }
    // Any request can be malformed HTTP, answered before routing.
    const MALFORMED: &str = "MALFORMED_REQUEST (not valid HTTP/1.1: a malformed request line or header, a \
        negative Content-Length; answered before routing)";
    match responses.get_mut("400").and_then(|r| r.get_mut("description")) {
        Some(Value::String(d)) => *d = format!("{d}, {MALFORMED}"),
        _ => shared.push(("400", MALFORMED)),
    }
    for (status, description) in shared {
        responses.entry(status).or_insert_with(|| {
            json!({"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
        });
    }
    for (status, response) in responses.iter_mut() {
        let response = response.as_object_mut().expect("a response");
        let mut headers = json!({"X-Correlation-Id": header("X-Correlation-Id")});
        let after_auth = !matches!(status.as_str(), "401" | "403" | "405" | "414" | "431" | "500" | "503");
        if after_auth {
            headers["RateLimit"] = header("RateLimit");
            headers["RateLimit-Policy"] = header("RateLimit-Policy");
        }
        match status.as_str() {
            "401" => headers["WWW-Authenticate"] = header("WWW-Authenticate"),
            "405" => headers["Allow"] = header("Allow"),
            "429" => headers["Retry-After"] = header("Retry-After"),
            _ => {}
        }
        response.insert("headers".into(), headers);
        if status.starts_with(['4', '5']) {
            let description = response.get("description").and_then(Value::as_str).unwrap_or_default().to_owned();
            let examples = examples(&description, settings);
            if let Some(media) = response.get_mut("content").and_then(|c| c.get_mut("application/json")) {
                media["examples"] = examples;
            }
        }
    }
}

/// The OPTIONS operation of a path: `204` with `Allow`, before authentication.
pub fn options(allowed: &[String], path_parameters: Vec<Value>) -> Value {
    let mut allow = allowed.to_vec();
    if allow.iter().any(|m| m == "GET") {
        allow.push("HEAD".into());
    }
    allow.push("OPTIONS".into());
    json!({
        "summary": "The methods this route answers.",
        "description": format!("Answers 204 with `Allow: {}`, without authentication.", allow.join(",")),
        "security": [],
        "parameters": path_parameters,
        "responses": {
            "204": {"description": "The route's methods, in Allow.",
                "headers": {"Allow": header("Allow"), "X-Correlation-Id": header("X-Correlation-Id")}},
            "404": {"description": "ROUTE_NOT_FOUND: the path is no route (a path segment left empty, say)",
                "headers": {"X-Correlation-Id": header("X-Correlation-Id")},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}},
    })
}

/// One example per error code a response's description names.
fn examples(description: &str, settings: &HttpSettings) -> Value {
    let mut out = Map::new();
    let codes = description.split(|c: char| !(c.is_ascii_uppercase() || c == '_')).filter(|w| w.len() > 3);
    for code in codes {
        if out.contains_key(code) {
            continue;
        }
        if let Some((message, details)) = example(code, settings) {
            let mut body =
                json!({"code": code, "message": message, "correlation_id": "7f87fc661f10439181d66ce020396581"});
            if let Some(d) = details {
                body["details"] = d;
            }
            out.insert(code.to_owned(), json!({"summary": code, "value": body}));
        }
    }
    Value::Object(out)
}

fn field(name: &str) -> Option<Value> {
    Some(json!({"field": name}))
}

/// An example message (and details) for each error code.
pub fn example(code: &str, settings: &HttpSettings) -> Option<(String, Option<Value>)> {
    let row = |field: &str| Some(json!({"field": field, "index": 3, "attendee_id": "att-1004"}));
    let (message, details): (&str, Option<Value>) = match code {
        "UNAUTHORIZED" => ("An 'Authorization: Bearer <token>' header is required.", None),
        "ACCOUNT_DISABLED" => ("This service account is disabled.", None),
        "INSUFFICIENT_SCOPE" => {
            ("This route needs the partner:write scope.", Some(json!({"required_scope": "partner:write"})))
        }
        "PARTNER_ORG_REQUIRED" => ("The token is not tied to a partner org.", None),
        "SERVICE_ACCOUNT_REQUIRED" => ("The token is not an org service-account key.", None),
        "PARTNER_RATE_LIMIT_EXCEEDED" => ("Too many requests; retry in 1 s.", None),
        "REQUEST_TIMEOUT" => ("The request body did not arrive within 30 s.", None),
        "METHOD_NOT_ALLOWED" => ("This route does not answer that method; see the Allow header.", None),
        "PAYLOAD_TOO_LARGE" => {
            let max = settings.max_body_bytes;
            return Some((format!("The body is over {max} bytes."), Some(json!({"max_bytes": max}))));
        }
        "MALFORMED_REQUEST" => (
            "The request is not valid HTTP/1.1: its request line or a header (Content-Length, \
            say) is malformed.",
            None,
        ),
        "URI_TOO_LONG" => ("The request's URI is too long.", None),
        "HEADERS_TOO_LARGE" => ("The request has too many headers, or too large ones.", None),
        "INTERNAL_ERROR" => ("Something went wrong on our side; it has been logged.", None),
        "UNAVAILABLE" => ("The service is unavailable; retry later.", None),
        "INVALID_JSON" => ("The request body is not valid JSON: expected value at line 1 column 1.", None),
        "INVALID_LIMIT" => ("'limit' must be an integer from 1 to 100, given once.", field("limit")),
        "INVALID_CURSOR" => ("'cursor' is not a cursor this list issued; start again without it.", field("cursor")),
        "INVALID_GOAL" => ("'goal' must be at most 200 characters (201 given).", field("goal")),
        "INVALID_PARTNER_ID" => (
            "'event_id' must be 1-128 characters of letters, digits, '.', '_', ':' or '-', \
            starting with a letter or digit.",
            field("event_id"),
        ),
        "INVALID_PARTNER_KIND" => (
            "'kind' must be 1-64 characters of letters, digits, '_' or '-', starting \
            with a letter.",
            field("kind"),
        ),
        "INVALID_TITLE" => ("'title' must not be blank.", field("title")),
        "INVALID_DESCRIPTION" => ("'description' must be at most 4000 characters (4001 given).", field("description")),
        "INVALID_START_DATE" => ("'start_date' must be a date in the form YYYY-MM-DD.", field("start_date")),
        "INVALID_END_DATE" => ("'end_date' must not be before 'start_date'.", field("end_date")),
        "INVALID_TIMEZONE" => (
            "'timezone' must be an IANA time zone name such as 'America/New_York' (got \
            'Mars/Olympus').",
            field("timezone"),
        ),
        "INVALID_VISIBILITY" => ("'visibility' must be at most 32 characters (40 given).", field("visibility")),
        "INVALID_URL_SLUG" => ("'url_slug' must be a string.", field("url_slug")),
        "INVALID_CONTEXT" => {
            ("At least one of 'event_details', 'objectives' or 'welcome_instructions' is required.", None)
        }
        "INVALID_START_TIMESTAMP" => (
            "'start_timestamp' must be an RFC 3339 timestamp such as \
            2026-09-10T13:00:00Z.",
            field("start_timestamp"),
        ),
        "INVALID_END_TIMESTAMP" => ("'end_timestamp' must not be before 'start_timestamp'.", field("end_timestamp")),
        "INVALID_RUN_ID" => ("'run_id' must be a UUID.", field("run_id")),
        "INVALID_RUN_KIND" => ("'kind' must be one of import, enrichment, match.", field("kind")),
        "INVALID_IDEMPOTENCY_KEY" => {
            ("'idempotency_key' is required: 1-255 printable ASCII characters.", field("idempotency_key"))
        }
        "INVALID_PROGRESS" => ("'progress.total' must be a non-negative integer.", field("progress")),
        "INVALID_SNAPSHOT_METADATA" => ("'snapshot_metadata' must be a JSON object.", field("snapshot_metadata")),
        "INVALID_VERSION_METADATA" => {
            ("'version_metadata' must be at most 65536 bytes serialized (70000 given).", field("version_metadata"))
        }
        "INVALID_WEBHOOK_URL" => ("'webhook_url' must use https (got 'http').", field("webhook_url")),
        "INVALID_TOP_N" => ("'top_n' must be an integer from 1 to 50.", field("top_n")),
        "INVALID_ATTENDEES" => ("'attendees' must be a non-empty array of at most 50000 rows.", field("attendees")),
        "INVALID_ATTENDEE" => ("attendees[3] must be a JSON object.", Some(json!({"field": "attendees", "index": 3}))),
        "DUPLICATE_ATTENDEE_ID" => {
            ("attendees[3].attendee_id 'att-1004' appears earlier in this import.", row("attendee_id"))
        }
        "INVALID_ATTENDEE_NAME" => ("attendees[3].name must not be blank.", row("name")),
        "INVALID_ATTENDEE_EMAIL" => ("attendees[3].email does not look like an email address.", row("email")),
        "INVALID_ATTENDEE_LINKEDIN_URL" => {
            ("attendees[3].linkedin_url must be at most 2048 characters (2100 given).", row("linkedin_url"))
        }
        "INVALID_ATTENDEE_TITLE" => ("attendees[3].title must be a string.", row("title")),
        "INVALID_ATTENDEE_COMPANY" => {
            ("attendees[3].company must be at most 512 characters (600 given).", row("company"))
        }
        "INVALID_ATTENDEE_RAW_DATA" => {
            ("attendees[3].raw_data.needs must have at most 50 entries (51 given).", row("raw_data.needs"))
        }
        "INVALID_REVIEW_ID" => ("'review_id' must be a UUID.", field("review_id")),
        "INVALID_REVIEW_DECISION" => ("'decision' must be one of accept, reject, distinct.", field("decision")),
        "REVIEW_SOURCE_MISMATCH" => {
            ("The review is about 'att-dupe'; the merge's source must be it.", field("source_partner_id"))
        }
        "MERGE_REJECTED" => ("Only attendees merge, into attendees (got session into attendee).", None),
        "ROUTE_NOT_FOUND" => ("No such partner route; the routes are listed in /api/v0/partner/openapi.json.", None),
        "EVENT_NOT_FOUND" => ("No event 'summit-2026' in this org.", Some(json!({"event_id": "summit-2026"}))),
        "SESSION_NOT_FOUND" => {
            ("No session 'opening-keynote' in event 'summit-2026'.", Some(json!({"session_id": "opening-keynote"})))
        }
        "RUN_NOT_FOUND" => (
            "No run '0190a5c4-1b2c-7d3e-8f40-123456789abc' in this org.",
            Some(json!({"run_id": "0190a5c4-1b2c-7d3e-8f40-123456789abc"})),
        ),
        "ATTENDEE_NOT_FOUND" => {
            ("No attendee 'att-1001' in event 'summit-2026'.", Some(json!({"attendee_id": "att-1001"})))
        }
        "REVIEW_NOT_FOUND" => (
            "No open review '0190a5c4-1b2c-7d3e-8f40-123456789abc' in this org.",
            Some(json!({"review_id": "0190a5c4-1b2c-7d3e-8f40-123456789abc"})),
        ),
        "PARTNER_ID_NOT_FOUND" => (
            "No attendee 'att-1001' is mapped in this org.",
            Some(json!({"kind": "attendee", "partner_id": "att-1001"})),
        ),
        "MATCH_RUN_NOT_FOUND" => {
            ("No match run with results in event 'summit-2026'.", Some(json!({"event_id": "summit-2026"})))
        }
        "MATCH_NOT_FOUND" => ("'att-1002' is not among the matches of 'att-1001' in this run.", None),
        "PARTNER_ID_CONFLICT" => {
            ("An event 'summit-2026' already exists in this org.", Some(json!({"event_id": "summit-2026"})))
        }
        "IDEMPOTENCY_KEY_CONFLICT" => {
            ("'idempotency_key' was used with a different request.", field("idempotency_key"))
        }
        "MODEL_UNAVAILABLE" => ("The encoder's model is not installed.", None),
        _ => return None,
    };
    Some((message.to_owned(), details))
}
