//! Events and event context.

use serde_json::{json, Value};

use crate::harness::TestApp;

const FIELDS: [&str; 13] = [
    "event_id",
    "title",
    "description",
    "event_details",
    "objectives",
    "welcome_instructions",
    "start_date",
    "end_date",
    "timezone",
    "visibility",
    "url_slug",
    "created_at",
    "updated_at",
];

fn is_timestamp(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 24 && s.ends_with('Z') && chrono_like(s)
}

fn chrono_like(s: &str) -> bool {
    // 2026-09-10T13:00:00.000Z
    let b = s.as_bytes();
    b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':' && b[19] == b'.'
}

#[tokio::test]
async fn create_returns_the_full_event_and_get_reads_it_back() {
    let app = TestApp::new().await;
    let body = json!({
        "event_id": "summit-2026", "title": "Annual Partner Summit 2026", "description": "Two-day leadership summit",
        "start_date": "2026-09-10", "end_date": "2026-09-11", "timezone": "America/New_York",
        "visibility": "private", "url_slug": "summit-2026", "unknown_key": "ignored"
    });
    let r = app.post("/events", &app.a.rw, &body).await;
    let created = r.ok(201).clone();
    let mut keys: Vec<_> = created.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    let mut want: Vec<String> = FIELDS.iter().map(|s| s.to_string()).chain(["correlation_id".into()]).collect();
    want.sort();
    assert_eq!(keys, want);
    for f in ["event_id", "title", "description", "start_date", "end_date", "timezone", "visibility", "url_slug"] {
        assert_eq!(created[f], body[f], "{f}");
    }
    for f in ["event_details", "objectives", "welcome_instructions"] {
        assert_eq!(created[f], Value::Null);
    }
    assert!(is_timestamp(&created["created_at"]), "{}", created["created_at"]);
    assert_eq!(created["created_at"], created["updated_at"]);

    let got = app.get("/events/summit-2026", &app.a.rw).await.ok(200).clone();
    for f in FIELDS {
        assert_eq!(got[f], created[f], "{f}");
    }
}

#[tokio::test]
async fn optional_fields_may_be_null_or_absent() {
    let app = TestApp::new().await;
    let r = app
        .post("/events", &app.a.rw, &json!({"event_id": "e", "title": "T", "description": null, "timezone": null}))
        .await;
    let e = r.ok(201);
    assert_eq!(e["description"], Value::Null);
    assert_eq!(e["timezone"], Value::Null);
}

#[tokio::test]
async fn every_validation_error_names_its_field_and_writes_nothing() {
    let app = TestApp::new().await;
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"title": "T"}), "INVALID_PARTNER_ID", "event_id"),
        (json!({"event_id": "bad id", "title": "T"}), "INVALID_PARTNER_ID", "event_id"),
        (json!({"event_id": 12, "title": "T"}), "INVALID_PARTNER_ID", "event_id"),
        (json!({"event_id": long(129), "title": "T"}), "INVALID_PARTNER_ID", "event_id"),
        (json!({"event_id": "e"}), "INVALID_TITLE", "title"),
        (json!({"event_id": "e", "title": "   "}), "INVALID_TITLE", "title"),
        (json!({"event_id": "e", "title": 5}), "INVALID_TITLE", "title"),
        (json!({"event_id": "e", "title": long(201)}), "INVALID_TITLE", "title"),
        (json!({"event_id": "e", "title": "T", "description": long(4001)}), "INVALID_DESCRIPTION", "description"),
        (json!({"event_id": "e", "title": "T", "description": ["x"]}), "INVALID_DESCRIPTION", "description"),
        (json!({"event_id": "e", "title": "T", "start_date": "10/09/2026"}), "INVALID_START_DATE", "start_date"),
        (json!({"event_id": "e", "title": "T", "start_date": "2026-02-30"}), "INVALID_START_DATE", "start_date"),
        // Year 0 is no RFC 3339 full-date, though chrono's calendar has one.
        (json!({"event_id": "e", "title": "T", "start_date": "0000-01-01"}), "INVALID_START_DATE", "start_date"),
        (json!({"event_id": "e", "title": "T", "end_date": "2026-13-01"}), "INVALID_END_DATE", "end_date"),
        (
            json!({"event_id": "e", "title": "T", "start_date": "2026-09-11", "end_date": "2026-09-10"}),
            "INVALID_END_DATE",
            "end_date",
        ),
        (json!({"event_id": "e", "title": "T", "timezone": "Mars/Olympus"}), "INVALID_TIMEZONE", "timezone"),
        (json!({"event_id": "e", "title": "T", "timezone": long(129)}), "INVALID_TIMEZONE", "timezone"),
        (json!({"event_id": "e", "title": "T", "visibility": long(33)}), "INVALID_VISIBILITY", "visibility"),
        (json!({"event_id": "e", "title": "T", "visibility": true}), "INVALID_VISIBILITY", "visibility"),
        (json!({"event_id": "e", "title": "T", "url_slug": long(129)}), "INVALID_URL_SLUG", "url_slug"),
        // The first invalid field in reference order wins.
        (json!({"event_id": "e", "title": "", "url_slug": long(129)}), "INVALID_TITLE", "title"),
    ];
    for (body, code, field) in cases {
        let r = app.post("/events", &app.a.rw, &body).await;
        r.err(400, code);
        assert_eq!(r.field(), field, "{body}");
    }
    // Lengths count characters, not bytes.
    app.post("/events", &app.a.rw, &json!({"event_id": "accents", "title": "é".repeat(200)})).await.ok(201);
    let list = app.get("/events", &app.a.rw).await.ok(200).clone();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "rejected requests wrote nothing");
}

#[tokio::test]
async fn event_ids_are_unique_per_org() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "dup").await;
    let r = app.post("/events", &app.a.rw, &json!({"event_id": "dup", "title": "Other"})).await;
    r.err(409, "PARTNER_ID_CONFLICT");
    assert_eq!(r.body["details"]["event_id"], "dup");
    assert_eq!(app.get("/events/dup", &app.a.rw).await.ok(200)["title"], "Event dup");
    // Another org may use the same ID.
    app.event(&app.b.rw, "dup").await;
}

#[tokio::test]
async fn get_checks_the_path_id_then_existence() {
    let app = TestApp::new().await;
    app.get("/events/bad%20id", &app.a.rw).await.err(400, "INVALID_PARTNER_ID");
    app.get("/events/-dash", &app.a.rw).await.err(400, "INVALID_PARTNER_ID");
    let r = app.get("/events/missing", &app.a.rw).await;
    r.err(404, "EVENT_NOT_FOUND");
    assert_eq!(r.body["details"]["event_id"], "missing");
}

#[tokio::test]
async fn events_of_another_org_are_simply_not_found() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "private-a").await;
    app.get("/events/private-a", &app.b.rw).await.err(404, "EVENT_NOT_FOUND");
    app.get("/events/private-a/context", &app.b.rw).await.err(404, "EVENT_NOT_FOUND");
    app.post("/events/private-a/context", &app.b.rw, &json!({"objectives": "x"})).await.err(404, "EVENT_NOT_FOUND");
    let list = app.get("/events", &app.b.rw).await.ok(200).clone();
    assert_eq!(list["items"], json!([]));
    assert_eq!(list["next_cursor"], Value::Null);
}

#[tokio::test]
async fn list_is_newest_first_with_full_items() {
    let app = TestApp::new().await;
    for id in ["e1", "e2", "e3"] {
        app.event(&app.a.rw, id).await;
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let body = app.get("/events", &app.a.rw).await.ok(200).clone();
    let items = body["items"].as_array().unwrap();
    let ids: Vec<_> = items.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["e3", "e2", "e1"]);
    for item in items {
        for f in FIELDS {
            assert!(item.get(f).is_some(), "list item lacks {f}");
        }
        assert!(item.get("correlation_id").is_none());
    }
    assert_eq!(body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn context_is_a_partial_update_where_null_clears() {
    let app = TestApp::new().await;
    let created = app.event(&app.a.rw, "ctx").await;
    let empty = app.get("/events/ctx/context", &app.a.rw).await.ok(200).clone();
    assert_eq!(empty["context"], json!({"event_details": null, "objectives": null, "welcome_instructions": null}));
    assert_eq!(empty["event_id"], "ctx");

    let full = json!({"event_details": "Senior leaders.", "objectives": "Useful intros.", "welcome_instructions": "Share a goal."});
    let r = app.post("/events/ctx/context", &app.a.rw, &full).await;
    assert_eq!(r.ok(200)["context"], full);
    assert_eq!(r.body["event_id"], "ctx");

    let r = app.post("/events/ctx/context", &app.a.rw, &json!({"objectives": null, "event_details": "Updated."})).await;
    assert_eq!(
        r.ok(200)["context"],
        json!({"event_details": "Updated.", "objectives": null, "welcome_instructions": "Share a goal."})
    );
    let event = app.get("/events/ctx", &app.a.rw).await.ok(200).clone();
    assert_eq!(event["event_details"], "Updated.");
    assert_eq!(event["objectives"], Value::Null);
    assert_eq!(event["welcome_instructions"], "Share a goal.");
    assert_eq!(event["created_at"], created["created_at"]);
    assert!(event["updated_at"].as_str() >= created["updated_at"].as_str());
    assert_eq!(app.get("/events/ctx/context", &app.a.rw).await.ok(200)["context"]["event_details"], "Updated.");
}

#[tokio::test]
async fn context_errors_in_order() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ctx").await;
    app.post_raw("/events/bad id/context".replace(' ', "%20").as_str(), &app.a.rw, "nope")
        .await
        .err(400, "INVALID_PARTNER_ID");
    app.post_raw("/events/ctx/context", &app.a.rw, "nope").await.err(400, "INVALID_JSON");
    app.post_raw("/events/missing/context", &app.a.rw, "nope").await.err(400, "INVALID_JSON");
    for body in [json!({}), json!({"unknown": "x"})] {
        app.post("/events/ctx/context", &app.a.rw, &body).await.err(400, "INVALID_CONTEXT");
    }
    for (body, field) in [
        (json!({"objectives": 3}), "objectives"),
        (json!({"event_details": "x".repeat(4001)}), "event_details"),
        (json!({"objectives": "ok", "welcome_instructions": ["x"]}), "welcome_instructions"),
    ] {
        let r = app.post("/events/ctx/context", &app.a.rw, &body).await;
        r.err(400, "INVALID_CONTEXT");
        assert_eq!(r.field(), field);
    }
    // Validation before existence.
    app.post("/events/missing/context", &app.a.rw, &json!({})).await.err(400, "INVALID_CONTEXT");
    app.post("/events/missing/context", &app.a.rw, &json!({"objectives": "x"})).await.err(404, "EVENT_NOT_FOUND");
    app.get("/events/missing/context", &app.a.rw).await.err(404, "EVENT_NOT_FOUND");
    app.get("/events/bad%20id/context", &app.a.rw).await.err(400, "INVALID_PARTNER_ID");
    let ctx = app.get("/events/ctx/context", &app.a.rw).await.ok(200).clone();
    assert_eq!(ctx["context"]["objectives"], Value::Null, "rejected updates wrote nothing");
}

#[tokio::test]
async fn control_characters_are_refused_before_anything_is_written() {
    // U+0000 cannot be stored in PostgreSQL text at all; every backend refuses control
    // characters other than tab and line breaks, with the field's code.
    let app = TestApp::new().await;
    let r = app.post("/events", &app.a.rw, &json!({"event_id": "ev", "title": "a\u{0}b"})).await;
    r.err(400, "INVALID_TITLE");
    app.post("/events", &app.a.rw, &json!({"event_id": "ev", "title": "bell\u{7}"})).await.err(400, "INVALID_TITLE");
    app.get("/events/ev", &app.a.rw).await.err(404, "EVENT_NOT_FOUND");
    let invisible = json!({"event_id": "ev", "title": "\u{200B}\u{200B}\u{FEFF} "});
    app.post("/events", &app.a.rw, &invisible).await.err(400, "INVALID_TITLE");
    app.post("/events", &app.a.rw, &json!({"event_id": "ev", "title": "Two\nlines\tand a tab"})).await.ok(201);
    let import = |rows: serde_json::Value| json!({"idempotency_key": "k", "attendees": rows});
    let r = app
        .put("/events/ev/attendees:import", &app.a.rw, &import(json!([{"attendee_id": "a1", "name": "Ann\u{0}"}])))
        .await;
    r.err(400, "INVALID_ATTENDEE_NAME");
    let r = app
        .put("/events/ev/attendees:import", &app.a.rw, &import(json!([{"attendee_id": "a1", "name": "\u{200B}"}])))
        .await;
    r.err(400, "INVALID_ATTENDEE_NAME");
    let rows = json!([{"attendee_id": "a1", "name": "Ann", "raw_data": {"needs": ["fine", "not\u{0}fine"]}}]);
    let r = app.put("/events/ev/attendees:import", &app.a.rw, &import(rows)).await;
    r.err(400, "INVALID_ATTENDEE_RAW_DATA");
    assert_eq!(r.field(), "raw_data.needs");
    assert!(app.attendees(&app.a.rw, "ev").await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn a_repeated_key_or_an_unusual_limit_is_refused() {
    let app = TestApp::new().await;
    let r = app.post_raw("/events", &app.a.rw, r#"{"event_id": "ev", "title": "One", "title": "Two"}"#).await;
    r.err(400, "INVALID_JSON");
    assert!(r.body["message"].as_str().unwrap().contains("'title' appears twice"), "{:?}", r.body);
    app.get("/events/ev", &app.a.rw).await.err(404, "EVENT_NOT_FOUND");
    app.event(&app.a.rw, "ev").await;
    for query in ["limit=+5", "limit=5&limit=6", "limit=05x", "limit=", "limit=-1"] {
        app.get(&format!("/events?{query}"), &app.a.rw).await.err(400, "INVALID_LIMIT");
    }
    let page = app.get("/events?limit=05", &app.a.rw).await.ok(200).clone();
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "leading zeros are digits");
}
