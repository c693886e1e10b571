//! Operational endpoints and the OpenAPI document.

use http::Method;
use serde_json::Value;

use crate::harness::TestApp;

#[tokio::test]
async fn healthz_and_readyz_answer_without_auth() {
    let app = TestApp::with(&["--model-dir", "/nonexistent/model"]).await;
    let r = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(r.ok(200)["status"], "ok");
    let r = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.ok(200)["encoder"], "loading", "before the encoder has loaded");
    app.load_encoder().await;
    let r = app.request(Method::GET, "/readyz", None, None).await;
    let body = r.ok(200);
    assert_eq!(body["database"], "ok");
    let encoder = body["encoder"].as_str().unwrap();
    assert!(encoder.contains("model file missing") && encoder.contains("/nonexistent/model"), "{encoder}");
}

#[tokio::test]
async fn readyz_says_why_a_corrupt_model_is_unusable() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["config.json", "tokenizer.json"] {
        std::fs::write(dir.path().join(name), b"{}").unwrap();
    }
    std::fs::write(dir.path().join("model.safetensors"), b"x").unwrap();
    let app = TestApp::with(&["--model-dir", dir.path().to_str().unwrap()]).await;
    app.load_encoder().await;
    let r = app.request(Method::GET, "/readyz", None, None).await;
    let encoder = r.ok(200)["encoder"].as_str().unwrap().to_owned();
    assert!(encoder.contains("corrupt") && encoder.contains("SHA-256"), "{encoder}");
}

#[tokio::test]
async fn readyz_reports_the_installed_encoder_ok() {
    let app = TestApp::new().await;
    app.load_encoder().await;
    let r = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.ok(200)["encoder"], "ok", "run scripts/fetch-model to install the model");
}

/// Every partner route, as the OpenAPI document must list it.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/auth"),
    ("get", "/id-map/{kind}/{partner_id}"),
    ("post", "/events"),
    ("get", "/events"),
    ("get", "/events/{event_id}"),
    ("post", "/events/{event_id}/context"),
    ("get", "/events/{event_id}/context"),
    ("post", "/events/{event_id}/sessions"),
    ("get", "/events/{event_id}/sessions"),
    ("get", "/events/{event_id}/sessions/{session_id}"),
    ("post", "/runs"),
    ("get", "/runs"),
    ("get", "/runs/{run_id}"),
    ("put", "/events/{event_id}/attendees:import"),
    ("get", "/events/{event_id}/attendees"),
    ("get", "/events/{event_id}/attendees/{attendee_id}/identity"),
    ("post", "/events/{event_id}/enrichment-runs"),
    ("get", "/events/{event_id}/review-queue"),
    ("get", "/review-queue"),
    ("post", "/review-queue/{review_id}/resolve"),
    ("post", "/review-queue/{review_id}/merge"),
    ("post", "/events/{event_id}/match-runs"),
    ("get", "/events/{event_id}/attendees/{attendee_id}/matches"),
    ("get", "/events/{event_id}/matches"),
    ("get", "/events/{event_id}/matches/{principal_partner_id}/{target_partner_id}"),
];

#[tokio::test]
async fn openapi_is_3_1_and_lists_every_route() {
    let app = TestApp::new().await;
    let r = app.request(Method::GET, "/api/v0/partner/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    let text = r.body.to_string();
    let spec = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);
    let paths = spec.paths.as_ref().expect("paths");
    for (method, path) in ROUTES {
        let item = paths.get(*path).unwrap_or_else(|| panic!("{path} missing"));
        let op = match *method {
            "get" => item.get.as_ref(),
            "post" => item.post.as_ref(),
            "put" => item.put.as_ref(),
            _ => None,
        };
        let op = op.unwrap_or_else(|| panic!("{method} {path} missing"));
        let responses = op.responses.as_ref().expect("responses");
        for status in ["401", "403", "429"] {
            assert!(responses.contains_key(status), "{method} {path} lacks {status}");
        }
    }
    assert_eq!(paths.len(), ROUTES.iter().map(|(_, p)| p).collect::<std::collections::HashSet<_>>().len());
    // Every error code the handlers can answer with is in the ErrorCode schema.
    let codes: Vec<&str> = r.body["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode enum")
        .iter()
        .map(|v: &Value| v.as_str().unwrap())
        .collect();
    for code in [
        "INVALID_CURSOR",
        "IDEMPOTENCY_KEY_CONFLICT",
        "PARTNER_ID_NOT_FOUND",
        "METHOD_NOT_ALLOWED",
        "PAYLOAD_TOO_LARGE",
        "INVALID_TOP_N",
        "MATCH_RUN_NOT_FOUND",
        "MATCH_NOT_FOUND",
        "SERVICE_ACCOUNT_REQUIRED",
    ] {
        assert!(codes.contains(&code), "{code}");
    }
    assert_eq!(r.body["servers"][0]["url"], "/api/v0/partner");
}

#[tokio::test]
async fn docs_render_from_assets_the_binary_serves() {
    let app = TestApp::new().await;
    let r = app.request(Method::GET, "/docs/", None, None).await;
    assert_eq!(r.status, 200);
    let html = r.body.as_str().unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "no asset comes from a CDN");
    let js = app.request(Method::GET, "/docs/swagger-ui-bundle.js", None, None).await;
    assert_eq!(js.status, 200);
    let init = app.request(Method::GET, "/docs/swagger-initializer.js", None, None).await;
    assert!(init.body.as_str().unwrap().contains("/api/v0/partner/openapi.json"));
}

#[tokio::test]
async fn the_database_has_the_properties_the_code_relies_on() {
    use sqlx::Connection;
    let app = TestApp::new().await;
    if crate::harness::on_postgres() {
        // IDs compare byte-wise (the cursors assume it), whatever the server's default.
        let mut conn = sqlx::PgConnection::connect(&app.database_url).await.expect("open the test database");
        let collations: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT table_name::text, collation_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND column_name IN ('event_id', 'run_id', 'attendee_id', 'a_id')",
        )
        .fetch_all(&mut conn)
        .await
        .expect("columns");
        assert!(collations.len() > 10, "{collations:?}");
        assert!(collations.iter().all(|(_, c)| c.as_deref() == Some("C")), "{collations:?}");
        return;
    }
    // A cached embedding (1.5 KiB) must fit in its table's page: with 4 KiB pages each
    // spills to an overflow page and a match run reads its vectors twice as slowly.
    let mut conn = sqlx::SqliteConnection::connect(&app.database_url).await.expect("open the test database");
    let (size,): (i64,) = sqlx::query_as("PRAGMA page_size").fetch_one(&mut conn).await.expect("page size");
    assert_eq!(size, 8192);
}

/// Resolves a local `$ref`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("dangling {r}")),
        None => schema,
    }
}

/// Every string, array and object a request can carry, with where it sits.
fn walk<'a>(doc: &'a Value, schema: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    let schema = resolve(doc, schema);
    out.push((at.clone(), schema));
    for key in ["oneOf", "anyOf", "allOf"] {
        for (i, s) in schema[key].as_array().into_iter().flatten().enumerate() {
            walk(doc, s, format!("{at}/{key}/{i}"), out);
        }
    }
    for (name, s) in schema["properties"].as_object().into_iter().flatten() {
        walk(doc, s, format!("{at}.{name}"), out);
    }
    if schema.get("items").is_some() {
        walk(doc, &schema["items"], format!("{at}[]"), out);
    }
}

fn types(schema: &Value) -> Vec<&str> {
    match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

#[tokio::test]
async fn the_document_states_every_bound_header_and_answer() {
    let app = TestApp::new().await;
    let r = app.request(Method::GET, "/api/v0/partner/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    let doc = r.body.clone();
    let codes: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut exemplified = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let label = format!("{method} {path}");
            let responses = op["responses"].as_object().unwrap();
            if method == "options" {
                assert!(responses["204"]["headers"].get("Allow").is_some(), "{label}");
                continue;
            }
            // Every parameter is bounded: a pattern, an enum, a format or numeric bounds.
            for p in op["parameters"].as_array().into_iter().flatten() {
                let s = resolve(&doc, &p["schema"]);
                let bounded = s.get("pattern").is_some()
                    || s.get("enum").is_some()
                    || s.get("format").is_some()
                    || (s.get("minimum").is_some() && s.get("maximum").is_some());
                assert!(bounded, "{label}: parameter {} is unbounded: {s}", p["name"]);
            }
            // Every string, array and object of a body is bounded too.
            let body = &op["requestBody"]["content"]["application/json"]["schema"];
            if !body.is_null() {
                let mut nodes = Vec::new();
                walk(&doc, body, label.clone(), &mut nodes);
                for (at, s) in nodes {
                    let t = types(s);
                    if t.contains(&"string") {
                        let bounded =
                            s.get("maxLength").is_some() || s.get("enum").is_some() || s.get("format").is_some();
                        assert!(bounded, "{at}: a string without a bound: {s}");
                    }
                    if t.contains(&"array") {
                        assert!(s.get("maxItems").is_some(), "{at}: an array without maxItems");
                    }
                }
                for status in ["408", "413"] {
                    assert!(responses.contains_key(status), "{label} lacks {status}");
                }
                assert!(op["requestBody"]["content"]["application/json"].get("example").is_some(), "{label}");
            }
            for status in ["401", "403", "405", "429", "500", "503"] {
                assert!(responses.contains_key(status), "{label} lacks {status}");
            }
            for (status, r) in responses {
                assert!(r["headers"].get("X-Correlation-Id").is_some(), "{label} {status}");
                let needs = match status.as_str() {
                    "401" => Some("WWW-Authenticate"),
                    "405" => Some("Allow"),
                    "429" => Some("Retry-After"),
                    _ => None,
                };
                if let Some(h) = needs {
                    assert!(r["headers"].get(h).is_some(), "{label} {status} lacks {h}");
                }
                for (name, example) in r["content"]["application/json"]["examples"].as_object().into_iter().flatten() {
                    assert_eq!(example["value"]["code"], name.as_str(), "{label} {status}");
                    assert!(codes.contains(&name.as_str()), "{label} {status}: {name} is no ErrorCode");
                    exemplified.insert(name.clone());
                }
                if status.starts_with(['4', '5']) {
                    assert!(
                        !r["content"]["application/json"]["examples"].as_object().unwrap().is_empty(),
                        "{label} {status}"
                    );
                }
            }
        }
    }
    // One example per code an answer can hold (a run's MODEL_UNAVAILABLE and RUN_ABANDONED
    // are no answers).
    for code in codes.iter().filter(|c| !["ROUTE_NOT_FOUND", "MODEL_UNAVAILABLE", "RUN_ABANDONED"].contains(c)) {
        assert!(exemplified.contains(*code), "no example of {code}");
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["ErrorBody"]["properties"]["code"]["$ref"], "#/components/schemas/ErrorCode");
    for page in ["EventPage", "SessionPage", "AttendeePage", "RunPage", "ReviewPage", "IdentityPage", "EventMatchPage"]
    {
        let required = schemas[page]["required"].as_array().unwrap();
        assert!(required.contains(&Value::from("next_cursor")), "{page}");
    }
    assert_eq!(schemas["RunItem"]["properties"]["kind"]["$ref"], "#/components/schemas/RunKind");
    assert!(schemas["RunProgress"]["properties"]["matches_written"].is_object());
    assert_eq!(schemas["Uuid"]["format"], "uuid");
    // Links lead to operations that exist.
    let operations: Vec<&Value> =
        doc["paths"].as_object().unwrap().values().flat_map(|i| i.as_object().unwrap().values()).collect();
    let ids: Vec<&str> = operations.iter().filter_map(|o| o["operationId"].as_str()).collect();
    let mut links = 0;
    for op in &operations {
        for r in op["responses"].as_object().unwrap().values() {
            for l in r["links"].as_object().into_iter().flatten().map(|(_, l)| l) {
                assert!(ids.contains(&l["operationId"].as_str().unwrap()), "{l}");
                links += 1;
            }
        }
    }
    assert!(links >= 20, "{links} links");
}
