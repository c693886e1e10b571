//! Sessions.

use serde_json::{json, Value};

use crate::harness::TestApp;

#[tokio::test]
async fn create_and_get_return_the_full_session() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    let body = json!({"session_id": "opening-keynote", "title": "Opening Keynote", "description": "Kickoff session",
        "start_timestamp": "2026-09-10T09:00:00-04:00", "end_timestamp": "2026-09-10T14:00:00Z"});
    let created = app.post("/events/ev/sessions", &app.a.rw, &body).await.ok(201).clone();
    assert_eq!(created["session_id"], "opening-keynote");
    assert_eq!(created["event_id"], "ev");
    assert_eq!(created["title"], "Opening Keynote");
    assert_eq!(created["description"], "Kickoff session");
    assert_eq!(created["start_timestamp"], "2026-09-10T13:00:00.000Z", "normalised to UTC milliseconds");
    assert_eq!(created["end_timestamp"], "2026-09-10T14:00:00.000Z");
    let mut keys: Vec<_> = created.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "correlation_id",
            "created_at",
            "description",
            "end_timestamp",
            "event_id",
            "session_id",
            "start_timestamp",
            "title",
            "updated_at"
        ]
    );
    let got = app.get("/events/ev/sessions/opening-keynote", &app.a.rw).await.ok(200).clone();
    for k in [
        "session_id",
        "event_id",
        "title",
        "description",
        "start_timestamp",
        "end_timestamp",
        "created_at",
        "updated_at",
    ] {
        assert_eq!(got[k], created[k], "{k}");
    }
    // Only the title is required.
    let bare = app.post("/events/ev/sessions", &app.a.rw, &json!({"session_id": "bare", "title": "Bare"})).await;
    assert_eq!(bare.ok(201)["start_timestamp"], Value::Null);
}

#[tokio::test]
async fn session_validation_errors() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"title": "T"}), "INVALID_PARTNER_ID", "session_id"),
        (json!({"session_id": "a b", "title": "T"}), "INVALID_PARTNER_ID", "session_id"),
        (json!({"session_id": "s"}), "INVALID_TITLE", "title"),
        (json!({"session_id": "s", "title": "x".repeat(201)}), "INVALID_TITLE", "title"),
        (
            json!({"session_id": "s", "title": "T", "description": "x".repeat(4001)}),
            "INVALID_DESCRIPTION",
            "description",
        ),
        (
            json!({"session_id": "s", "title": "T", "start_timestamp": "2026-09-10"}),
            "INVALID_START_TIMESTAMP",
            "start_timestamp",
        ),
        (
            json!({"session_id": "s", "title": "T", "start_timestamp": 1757509200}),
            "INVALID_START_TIMESTAMP",
            "start_timestamp",
        ),
        (json!({"session_id": "s", "title": "T", "end_timestamp": "soon"}), "INVALID_END_TIMESTAMP", "end_timestamp"),
        // Not RFC 3339's date-time, though chrono reads them: a space for `T`, year 0.
        (
            json!({"session_id": "s", "title": "T", "start_timestamp": "2026-09-10 13:00:00Z"}),
            "INVALID_START_TIMESTAMP",
            "start_timestamp",
        ),
        (
            json!({"session_id": "s", "title": "T", "start_timestamp": "0000-09-10T13:00:00Z"}),
            "INVALID_START_TIMESTAMP",
            "start_timestamp",
        ),
        (
            json!({"session_id": "s", "title": "T", "start_timestamp": "2026-09-10T14:00:00Z", "end_timestamp": "2026-09-10T13:00:00Z"}),
            "INVALID_END_TIMESTAMP",
            "end_timestamp",
        ),
    ];
    for (body, code, field) in cases {
        let r = app.post("/events/ev/sessions", &app.a.rw, &body).await;
        r.err(400, code);
        assert_eq!(r.field(), field, "{body}");
    }
    app.post("/events/bad%20id/sessions", &app.a.rw, &json!({})).await.err(400, "INVALID_PARTNER_ID");
    app.post_raw("/events/ev/sessions", &app.a.rw, "[1]").await.err(400, "INVALID_JSON");
    // 400s come before the 404 of a missing event.
    app.post("/events/missing/sessions", &app.a.rw, &json!({"title": "T"})).await.err(400, "INVALID_PARTNER_ID");
    app.post("/events/missing/sessions", &app.a.rw, &json!({"session_id": "s", "title": "T"}))
        .await
        .err(404, "EVENT_NOT_FOUND");
    let list = app.get("/events/ev/sessions", &app.a.rw).await.ok(200).clone();
    assert_eq!(list["items"], json!([]), "rejected requests wrote nothing");
}

#[tokio::test]
async fn session_ids_are_unique_across_the_orgs_events() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev1").await;
    app.event(&app.a.rw, "ev2").await;
    app.session(&app.a.rw, "ev1", "s", None).await;
    let r = app.post("/events/ev2/sessions", &app.a.rw, &json!({"session_id": "s", "title": "T"})).await;
    r.err(409, "PARTNER_ID_CONFLICT");
    assert_eq!(r.body["details"]["session_id"], "s");
    // A session is found only under its own event.
    app.get("/events/ev2/sessions/s", &app.a.rw).await.err(404, "SESSION_NOT_FOUND");
    app.get("/events/ev1/sessions/none", &app.a.rw).await.err(404, "SESSION_NOT_FOUND");
    // The event is checked before the session.
    app.get("/events/missing/sessions/s", &app.a.rw).await.err(404, "EVENT_NOT_FOUND");
    app.get("/events/ev1/sessions/bad%20id", &app.a.rw).await.err(400, "INVALID_PARTNER_ID");
    app.get("/events/bad%20id/sessions/s", &app.a.rw).await.err(400, "INVALID_PARTNER_ID");
    // Another org is isolated, and may reuse the ID.
    app.event(&app.b.rw, "ev1").await;
    app.get("/events/ev1/sessions/s", &app.b.rw).await.err(404, "SESSION_NOT_FOUND");
    app.session(&app.b.rw, "ev1", "s", None).await;
}

#[tokio::test]
async fn list_orders_by_start_then_id_with_unscheduled_last() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    app.event(&app.a.rw, "other").await;
    app.session(&app.a.rw, "ev", "late", Some("2026-09-10T15:00:00Z")).await;
    app.session(&app.a.rw, "ev", "none-b", None).await;
    app.session(&app.a.rw, "ev", "early-b", Some("2026-09-10T09:00:00Z")).await;
    app.session(&app.a.rw, "ev", "none-a", None).await;
    app.session(&app.a.rw, "ev", "early-a", Some("2026-09-10T09:00:00Z")).await;
    app.session(&app.a.rw, "other", "elsewhere", Some("2026-09-10T08:00:00Z")).await;
    let body = app.get("/events/ev/sessions", &app.a.rw).await.ok(200).clone();
    let ids: Vec<_> = body["items"].as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["early-a", "early-b", "late", "none-a", "none-b"]);
    let all = crate::harness::walk(&app, "/events/ev/sessions", &app.a.rw, &[2]).await;
    let paged: Vec<_> = all.iter().map(|s| s["session_id"].as_str().unwrap()).collect();
    assert_eq!(paged, ids);
    app.get("/events/missing/sessions", &app.a.rw).await.err(404, "EVENT_NOT_FOUND");
    app.get("/events/ev/sessions", &app.b.rw).await.err(404, "EVENT_NOT_FOUND");
}
