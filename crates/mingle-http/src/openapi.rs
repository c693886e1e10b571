//! The OpenAPI 3.1 document: generated from the handlers' annotations, then made exact
//! here in one pass. utoipa's derive gives paths, operations and response shapes; this
//! module adds what it cannot say: every parameter's and body's bounds and patterns
//! (`schemas`), the answers every partner route shares with their headers and one
//! example per error code (`responses`), OPTIONS, and links from the calls that create
//! things to the calls that read them, so a client (or a fuzzer) can follow them.

mod responses;
mod schemas;

use serde_json::{json, Map, Value};
use utoipa::openapi::OpenApi;
use utoipa::OpenApi as _;

use crate::error::{ErrorBody, ErrorCode};
use crate::HttpSettings;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "mingle Partner API", description = "Partners push events, sessions and attendees in; mingle \
        resolves identities, enriches profiles and computes who should meet. Every response body carries \
        `correlation_id`, echoed in the `X-Correlation-Id` header (send one, 1-128 letters, digits, '.', '_', \
        ':' or '-', to choose it); every error uses the envelope `ErrorBody`. Request bodies are JSON objects \
        that name each key once; keys a body does not list are ignored."),
    components(schemas(ErrorBody, ErrorCode)),
    tags((name = "Service Account"), (name = "ID Resolution"), (name = "Events"), (name = "Sessions"), (name = "Attendees"), (name = "Review Queue"), (name = "Enrichment"), (name = "Matching"), (name = "Runs"))
)]
struct ApiDoc;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Completes the document the router produced, for a server with these settings.
pub fn finish(routes: OpenApi, settings: &HttpSettings) -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi().merge_from(routes)).expect("the document serializes");
    doc["servers"] = json!([{"url": crate::BASE_PATH}, {"url": crate::ALIAS_PATH, "description": "alias"}]);
    doc["security"] = json!([{"bearer": []}]);
    doc["components"]["securitySchemes"] = json!({"bearer": {"type": "http", "scheme": "bearer",
        "description": "A service-account token (`mingle service-account create`). partner:read covers GET, \
            HEAD and OPTIONS; partner:write everything else."}});
    let components = doc["components"].as_object_mut().expect("components");
    let schema_map = components.entry("schemas").or_insert_with(|| json!({}));
    tighten_schemas(schema_map.as_object_mut().expect("schemas"), settings);
    components.insert("headers".into(), responses::headers());
    let paths = doc["paths"].as_object_mut().expect("paths");
    for (path, item) in paths.iter_mut() {
        let item = item.as_object_mut().expect("a path item");
        let allowed: Vec<String> =
            METHODS.iter().filter(|m| item.contains_key(**m)).map(|m| m.to_uppercase()).collect();
        for method in METHODS {
            if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                tighten_parameters(op, path);
                if let Some((schema, example)) = request_body(method, path) {
                    op.insert(
                        "requestBody".into(),
                        json!({"required": true, "content": {"application/json": {
                        "schema": schemas::reference(schema), "example": example}}}),
                    );
                }
                let has_body = op.contains_key("requestBody");
                responses::complete(op, has_body, settings);
                if let Some(links) = links(method, path) {
                    for (status, status_links) in links {
                        op["responses"][status]["links"] = status_links;
                    }
                }
            }
        }
        let shared_parameters = path_parameters(item);
        let mut options = responses::options(&allowed, shared_parameters);
        if let Some(first) = METHODS.iter().find_map(|m| item.get(*m)) {
            options["operationId"] = json!(format!("{}_options", first["operationId"].as_str().unwrap_or("route")));
            options["tags"] = first["tags"].clone();
        }
        item.insert("options".into(), options);
    }
    doc
}

fn tighten_schemas(schemas: &mut Map<String, Value>, settings: &HttpSettings) {
    let mut written = Vec::new();
    for (name, schema) in schemas::shared().into_iter().chain(schemas::requests(settings.max_import_rows)) {
        schemas.insert(name.into(), schema);
        written.push(name);
    }
    for (schema, property, value) in schemas::response_fields() {
        let slot = &mut schemas[schema]["properties"][property];
        // Keep the derive's description, if any, beside the exact type.
        let description = slot.get("description").cloned();
        *slot = value;
        if let (Some(d), Some(m)) = (description, slot.as_object_mut()) {
            m.entry("description").or_insert(d);
        }
    }
    // The derived schemas are the responses'; the hand-written ones say what they require.
    for (name, schema) in schemas.iter_mut() {
        if written.contains(&name.as_str()) {
            continue;
        }
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else { continue };
        let required: Vec<Value> = properties
            .keys()
            .filter(|p| !schemas::OMITTED_WHEN_EMPTY.contains(&(name.as_str(), p.as_str())))
            .map(|p| Value::String(p.clone()))
            .collect();
        schema["required"] = Value::Array(required);
    }
}

fn tighten_parameters(op: &mut Map<String, Value>, path: &str) {
    let Some(parameters) = op.get_mut("parameters").and_then(Value::as_array_mut) else { return };
    for p in parameters {
        let (location, name) = (p["in"].as_str().unwrap_or_default(), p["name"].as_str().unwrap_or_default());
        if let Some(schema) = schemas::parameter(location, name, path) {
            p["schema"] = schema;
        }
    }
}

/// The path parameters of a path's first operation, for its OPTIONS operation.
fn path_parameters(item: &Map<String, Value>) -> Vec<Value> {
    let first = METHODS.iter().find_map(|m| item.get(*m));
    let parameters = first.and_then(|op| op.get("parameters")).and_then(Value::as_array);
    let untyped = |mut p: Value| {
        p["schema"] = json!({"description": "Not read: the answer depends on the route alone."});
        p
    };
    parameters.into_iter().flatten().filter(|p| p["in"] == "path").cloned().map(untyped).collect()
}

/// The body of each operation that takes one, with the reference's own example.
fn request_body(method: &str, path: &str) -> Option<(&'static str, Value)> {
    Some(match (method, path) {
        ("post", "/events") => (
            "CreateEventRequest",
            json!({"event_id": "summit-2026",
            "title": "Annual Partner Summit 2026", "description": "Two-day leadership summit",
            "start_date": "2026-09-10", "end_date": "2026-09-11", "timezone": "America/New_York",
            "visibility": "private", "url_slug": "summit-2026"}),
        ),
        ("post", "/events/{event_id}/context") => (
            "ContextRequest",
            json!({
            "event_details": "Senior product and engineering leaders.",
            "objectives": "Maximize useful introductions.",
            "welcome_instructions": "Share your top goal for the event."}),
        ),
        ("post", "/events/{event_id}/sessions") => (
            "CreateSessionRequest",
            json!({"session_id": "opening-keynote",
            "title": "Opening Keynote", "description": "Kickoff session",
            "start_timestamp": "2026-09-10T13:00:00Z", "end_timestamp": "2026-09-10T14:00:00Z"}),
        ),
        ("put", "/events/{event_id}/attendees:import") => (
            "ImportRequest",
            json!({
            "idempotency_key": "import-2026-09-01", "webhook_url": "https://example.com/future-webhook",
            "attendees": [{"attendee_id": "att-1001", "name": "Jordan Lee", "email": "jordan@example.com",
                "linkedin_url": "https://www.linkedin.com/in/jordanlee", "title": "VP Product", "company": "Acme",
                "raw_data": {"source": "crm-export"}}]}),
        ),
        ("post", "/events/{event_id}/enrichment-runs") => (
            "EnrichmentRequest",
            json!({
            "idempotency_key": "enrich-2026-09-01", "webhook_url": "https://example.com/future-webhook"}),
        ),
        ("post", "/events/{event_id}/match-runs") => (
            "MatchRunRequest",
            json!({
            "idempotency_key": "match-2026-09-01", "webhook_url": "https://example.com/future-webhook", "top_n": 10}),
        ),
        ("post", "/review-queue/{review_id}/resolve") => (
            "ResolveRequest",
            json!({
            "decision": "accept", "reason": "Confirmed by source system operator."}),
        ),
        ("post", "/review-queue/{review_id}/merge") => (
            "MergeRequest",
            json!({"source_kind": "attendee",
            "source_partner_id": "att-dupe", "target_kind": "attendee", "target_partner_id": "att-1001",
            "reason": "Same person in source system."}),
        ),
        ("post", "/runs") => (
            "CreateRunRequest",
            json!({"kind": "import", "idempotency_key": "crm-sync-2026-09-01",
            "progress": {}, "snapshot_metadata": {}, "version_metadata": {},
            "webhook_url": "https://example.com/future-webhook"}),
        ),
        _ => return None,
    })
}

fn link(operation: &str, parameters: Value, description: &str) -> Value {
    json!({"operationId": operation, "parameters": parameters, "description": description})
}

/// Links from the calls that create or list things to the calls that read them, by
/// response status.
fn links(method: &str, path: &str) -> Option<Vec<(&'static str, Value)>> {
    let event = json!({"event_id": "$response.body#/event_id"});
    let event_from_path = json!({"event_id": "$request.path.event_id"});
    let run = json!({"run_id": "$response.body#/run_id"});
    let next = |operation: &str, extra: Value| {
        let mut p = json!({"cursor": "$response.body#/next_cursor"});
        if let (Some(m), Some(e)) = (p.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        link(operation, p, "The next page.")
    };
    Some(match (method, path) {
        ("post", "/events") => vec![(
            "201",
            json!({
            "GetEvent": link("get_event", event.clone(), "The event created."),
            "GetContext": link("get_context", event.clone(), "Its context."),
            "UpdateContext": link("update_context", event.clone(), "Set its context."),
            "CreateSession": link("create_session", event.clone(), "Add a session."),
            "ListSessions": link("list_sessions", event.clone(), "Its sessions."),
            "ImportAttendees": link("import_attendees", event.clone(), "Import its attendees."),
            "ListAttendees": link("list_attendees", event.clone(), "Its attendees."),
            "EnrichAttendees": link("create_enrichment_run", event.clone(), "Enrich its attendees."),
            "MatchAttendees": link("create_match_run", event.clone(), "Match its attendees."),
            "ListMatches": link("list_event_matches", event.clone(), "Its matches."),
            "ListReviews": link("list_event_reviews", event.clone(), "Its open reviews."),
            "MapEvent": link("get_id_map", json!({"kind": "event", "partner_id": "$response.body#/event_id"}),
                "Its ID mapping.")}),
        )],
        ("get", "/events") => vec![("200", json!({"NextPage": next("list_events", json!({}))}))],
        ("post", "/events/{event_id}/sessions") => vec![(
            "201",
            json!({
            "GetSession": link("get_session", json!({"event_id": "$request.path.event_id",
                "session_id": "$response.body#/session_id"}), "The session created.")}),
        )],
        ("get", "/events/{event_id}/sessions") => {
            vec![("200", json!({"NextPage": next("list_sessions", event_from_path.clone())}))]
        }
        ("put", "/events/{event_id}/attendees:import")
        | ("post", "/events/{event_id}/enrichment-runs")
        | ("post", "/events/{event_id}/match-runs") => {
            let l = json!({"GetRun": link("get_run", run.clone(), "The run, to follow it.")});
            vec![("202", l.clone()), ("200", l)]
        }
        ("get", "/events/{event_id}/attendees") => vec![(
            "200",
            json!({
            "NextPage": next("list_attendees", event_from_path.clone()),
            "GetIdentity": link("get_identity", json!({"event_id": "$request.path.event_id",
                "attendee_id": "$response.body#/items/0/attendee_id"}), "The first attendee's identity history."),
            "ListAttendeeMatches": link("list_attendee_matches", json!({"event_id": "$request.path.event_id",
                "attendee_id": "$response.body#/items/0/attendee_id"}), "The first attendee's matches.")}),
        )],
        ("get", "/events/{event_id}/matches") => vec![(
            "200",
            json!({
            "NextPage": next("list_event_matches", event_from_path.clone()),
            "GetMatch": link("get_match", json!({"event_id": "$request.path.event_id",
                "principal_partner_id": "$response.body#/items/0/principal_attendee_id",
                "target_partner_id": "$response.body#/items/0/target_attendee_id"}), "The first pair's match.")}),
        )],
        ("get", "/events/{event_id}/review-queue") | ("get", "/review-queue") => {
            let review = json!({"review_id": "$response.body#/items/0/review_id"});
            let list = if path == "/review-queue" { "list_reviews" } else { "list_event_reviews" };
            let page = if path == "/review-queue" { json!({}) } else { event_from_path.clone() };
            vec![(
                "200",
                json!({
                "NextPage": next(list, page),
                "ResolveReview": link("resolve_review", review.clone(), "Resolve the first open review."),
                "MergeReview": {"operationId": "merge_review", "parameters": review,
                    "requestBody": {"source_kind": "attendee", "source_partner_id": "$response.body#/items/0/partner_id",
                        "target_kind": "attendee", "target_partner_id": "$response.body#/items/0/candidate/partner_id"},
                    "description": "Merge the first open review's attendee into its candidate."}}),
            )]
        }
        ("post", "/runs") => {
            let l = json!({"GetRun": link("get_run", run, "The run recorded.")});
            vec![("201", l.clone()), ("200", l)]
        }
        ("get", "/runs") => vec![("200", json!({"NextPage": next("list_runs", json!({}))}))],
        _ => return None,
    })
}
