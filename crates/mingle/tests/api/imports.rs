//! `PUT /events/:event_id/attendees:import` and `GET /events/:event_id/attendees`.

use serde_json::{json, Value};

use crate::harness::TestApp;

fn row(id: &str, name: &str) -> Value {
    json!({"attendee_id": id, "name": name})
}

#[tokio::test]
async fn an_import_runs_to_success_and_lists_its_attendees() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "summit").await;
    let rows = json!([
        {"attendee_id": "att-1001", "name": "Jordan Lee", "email": "jordan@example.com",
         "linkedin_url": "https://www.linkedin.com/in/jordanlee", "title": "VP Product", "company": "Acme",
         "raw_data": {"source": "crm-export", "goal": "Find a design partner", "needs": "seed funding",
                      "offers": ["product advice", "intros"], "role_at_event": "speaker", "visibility": "public",
                      "interests": ["fintech"], "sessions": ["keynote"]}},
        {"attendee_id": "att-1000", "name": "Morgan Smith"}
    ]);
    let key = "import-1";
    let body = json!({"idempotency_key": key, "attendees": rows, "webhook_url": "https://example.com/hook"});
    let queued = app.put("/events/summit/attendees:import", &app.a.rw, &body).await.ok(202).clone();
    assert_eq!(queued["kind"], "import");
    assert_eq!(queued["event_id"], "summit");
    assert_eq!(queued["idempotency_key"], key);
    assert_eq!(queued["webhook_url"], "https://example.com/hook");
    assert_eq!(queued["progress"]["total"], 2);
    let run = app.wait_run(&app.a.rw, queued["run_id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        run["progress"],
        json!({"total": 2, "processed": 2, "created": 2, "updated": 0, "unchanged": 0, "review_required": 0, "failed": 0})
    );
    assert!(run["started_at"].is_string() && run["terminal_at"].is_string());
    assert_eq!(run["error"], Value::Null);

    let body = app.get("/events/summit/attendees", &app.a.rw).await.ok(200).clone();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.iter().map(|a| a["attendee_id"].as_str().unwrap()).collect::<Vec<_>>(), ["att-1000", "att-1001"]);
    let jordan = &items[1];
    assert_eq!(jordan["event_id"], "summit");
    assert_eq!(jordan["display_name"], "Jordan Lee");
    assert_eq!(jordan["title"], "VP Product");
    assert_eq!(jordan["company"], "Acme");
    let event = &jordan["event"];
    assert_eq!(event["goal"], "Find a design partner");
    assert_eq!(event["needs"], json!(["seed funding"]), "a string becomes a one-item list");
    assert_eq!(event["offers"], json!(["product advice", "intros"]));
    assert_eq!(event["role_at_event"], "speaker");
    assert_eq!(event["visibility"], "public");
    assert_eq!(event["onboarded_at"], Value::Null);
    assert!(event["joined_at"].is_string());
    assert_eq!(jordan["identity"], json!({"review_required": false, "open_review_count": 0}));
    let morgan = &items[0];
    assert_eq!(morgan["title"], Value::Null);
    assert_eq!(morgan["event"]["needs"], Value::Null, "never given: null");
    // The attendee is mapped.
    app.get("/id-map/attendee/att-1001", &app.a.rw).await.ok(200);
}

#[tokio::test]
async fn reimports_count_created_updated_and_unchanged() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    app.event(&app.a.rw, "ev2").await;
    let first = json!([
        {"attendee_id": "a", "name": "Ann Archer", "email": "ann@example.com"},
        {"attendee_id": "b", "name": "Bo Baker", "raw_data": {"goal": "hire"}},
        {"attendee_id": "c", "name": "Cy Cole"}
    ]);
    app.import(&app.a.rw, "ev", first).await;
    let second = json!([
        {"attendee_id": "a", "name": "Ann Archer", "email": "ann@example.com"},
        {"attendee_id": "b", "name": "Bo Baker", "raw_data": {"goal": "invest"}},
        {"attendee_id": "c", "name": "Cy Cole", "title": "CTO"},
        {"attendee_id": "d", "name": "Di Dunn"}
    ]);
    let run = app.import(&app.a.rw, "ev", second).await;
    let p = &run["progress"];
    assert_eq!(
        (p["created"].as_u64(), p["updated"].as_u64(), p["unchanged"].as_u64()),
        (Some(1), Some(2), Some(1)),
        "{p}"
    );
    let list = app.attendees(&app.a.rw, "ev").await;
    assert_eq!(list.len(), 4);
    assert_eq!(list["b"]["event"]["goal"], "invest");
    assert_eq!(list["c"]["title"], "CTO");
    // The same attendee in a second event reuses the record; history has one item.
    let run = app
        .import(&app.a.rw, "ev2", json!([{"attendee_id": "a", "name": "Ann Archer", "email": "ann@example.com"}]))
        .await;
    assert_eq!((run["progress"]["created"].as_u64(), run["progress"]["updated"].as_u64()), (Some(0), Some(1)));
    assert_eq!(app.attendees(&app.a.rw, "ev2").await.len(), 1);
    assert_eq!(app.history(&app.a.rw, "ev2", "a").await.len(), 1);
}

#[tokio::test]
async fn replays_conflicts_and_concurrent_calls() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    app.event(&app.a.rw, "ev2").await;
    let body = json!({"idempotency_key": "same", "attendees": [row("a1", "Ann Archer")]});
    let first = app.put("/events/ev/attendees:import", &app.a.rw, &body).await.ok(202).clone();
    let done = app.wait_run(&app.a.rw, first["run_id"].as_str().unwrap()).await;
    let replay = app.put("/events/ev/attendees:import", &app.a.rw, &body).await;
    let replay = replay.ok(200);
    assert_eq!(replay["run_id"], first["run_id"]);
    assert_eq!(replay["status"], "succeeded", "a replay returns the run as it is now");
    assert_eq!(replay["progress"], done["progress"]);
    let other = json!({"idempotency_key": "same", "attendees": [row("a1", "Ann B. Archer")]});
    app.put("/events/ev/attendees:import", &app.a.rw, &other).await.err(409, "IDEMPOTENCY_KEY_CONFLICT");
    app.put("/events/ev2/attendees:import", &app.a.rw, &body).await.err(409, "IDEMPOTENCY_KEY_CONFLICT");
    // Concurrent identical calls: one run.
    let body = json!({"idempotency_key": "race", "attendees": [row("r1", "Rae Rowe")]});
    let calls = (0..8).map(|_| app.put("/events/ev/attendees:import", &app.a.rw, &body));
    let results = futures_util::future::join_all(calls).await;
    assert_eq!(results.iter().filter(|r| r.status == 202).count(), 1);
    assert_eq!(results.iter().filter(|r| r.status == 200).count(), 7);
    let runs = app.get("/runs?kind=import", &app.a.rw).await.ok(200).clone();
    assert_eq!(runs["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn every_validation_error_and_nothing_written() {
    let app = TestApp::with(&["--max-import-rows", "3"]).await;
    app.event(&app.a.rw, "ev").await;
    let ok = || row("ok-1", "Ok Person");
    let with = |extra: Value| {
        let mut r = json!({"attendee_id": "x1", "name": "Xavier Xu"});
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    };
    // (body, code, field, index, attendee_id)
    type Case<'a> = (Value, &'a str, &'a str, Option<u64>, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (json!({"attendees": [ok()]}), "INVALID_IDEMPOTENCY_KEY", "idempotency_key", None, None),
        (json!({"idempotency_key": "", "attendees": [ok()]}), "INVALID_IDEMPOTENCY_KEY", "idempotency_key", None, None),
        (json!({"idempotency_key": "k"}), "INVALID_ATTENDEES", "attendees", None, None),
        (json!({"idempotency_key": "k", "attendees": []}), "INVALID_ATTENDEES", "attendees", None, None),
        (json!({"idempotency_key": "k", "attendees": {"a": 1}}), "INVALID_ATTENDEES", "attendees", None, None),
        (
            json!({"idempotency_key": "k", "attendees": [ok(), ok(), ok(), ok()]}),
            "INVALID_ATTENDEES",
            "attendees",
            None,
            None,
        ),
        (json!({"idempotency_key": "k", "attendees": [ok(), "row"]}), "INVALID_ATTENDEE", "attendees", Some(1), None),
        (
            json!({"idempotency_key": "k", "attendees": [{"name": "No Id"}]}),
            "INVALID_PARTNER_ID",
            "attendee_id",
            Some(0),
            None,
        ),
        (
            json!({"idempotency_key": "k", "attendees": [{"attendee_id": "bad id", "name": "N"}]}),
            "INVALID_PARTNER_ID",
            "attendee_id",
            Some(0),
            None,
        ),
        (
            json!({"idempotency_key": "k", "attendees": [ok(), row("d", "D"), row("d", "E")]}),
            "DUPLICATE_ATTENDEE_ID",
            "attendee_id",
            Some(2),
            Some("d"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [{"attendee_id": "n"}]}),
            "INVALID_ATTENDEE_NAME",
            "name",
            Some(0),
            Some("n"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [ok(), with(json!({"name": " "}))]}),
            "INVALID_ATTENDEE_NAME",
            "name",
            Some(1),
            Some("x1"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [with(json!({"name": "n".repeat(241)}))]}),
            "INVALID_ATTENDEE_NAME",
            "name",
            Some(0),
            Some("x1"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [with(json!({"email": "not-an-email"}))]}),
            "INVALID_ATTENDEE_EMAIL",
            "email",
            Some(0),
            Some("x1"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [with(json!({"email": 42}))]}),
            "INVALID_ATTENDEE_EMAIL",
            "email",
            Some(0),
            Some("x1"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [with(json!({"email": format!("{}@example.com", "a".repeat(310))}))]}),
            "INVALID_ATTENDEE_EMAIL",
            "email",
            Some(0),
            Some("x1"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [with(json!({"linkedin_url": "x".repeat(2049)}))]}),
            "INVALID_ATTENDEE_LINKEDIN_URL",
            "linkedin_url",
            Some(0),
            Some("x1"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [with(json!({"linkedin_url": ["u"]}))]}),
            "INVALID_ATTENDEE_LINKEDIN_URL",
            "linkedin_url",
            Some(0),
            Some("x1"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [with(json!({"title": "t".repeat(513)}))]}),
            "INVALID_ATTENDEE_TITLE",
            "title",
            Some(0),
            Some("x1"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [with(json!({"company": false}))]}),
            "INVALID_ATTENDEE_COMPANY",
            "company",
            Some(0),
            Some("x1"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [with(json!({"raw_data": "text"}))]}),
            "INVALID_ATTENDEE_RAW_DATA",
            "raw_data",
            Some(0),
            Some("x1"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [with(json!({"raw_data": {"blob": "x".repeat(65 * 1024)}}))]}),
            "INVALID_ATTENDEE_RAW_DATA",
            "raw_data",
            Some(0),
            Some("x1"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [with(json!({"raw_data": {"sessions": "keynote"}}))]}),
            "INVALID_ATTENDEE_RAW_DATA",
            "raw_data.sessions",
            Some(0),
            Some("x1"),
        ),
        (
            json!({"idempotency_key": "k", "attendees": [ok()], "webhook_url": "http://example.com"}),
            "INVALID_WEBHOOK_URL",
            "webhook_url",
            None,
            None,
        ),
        // Code order across rows: the non-object row wins over an earlier bad email.
        (
            json!({"idempotency_key": "k", "attendees": [with(json!({"email": "bad"})), 7]}),
            "INVALID_ATTENDEE",
            "attendees",
            Some(1),
            None,
        ),
    ];
    for (body, code, field, index, attendee_id) in cases {
        let r = app.put("/events/ev/attendees:import", &app.a.rw, &body).await;
        r.err(400, code);
        assert_eq!(r.field(), field, "{body:.200}");
        assert_eq!(r.body["details"]["index"].as_u64(), index, "{}", r.body);
        assert_eq!(r.body["details"]["attendee_id"].as_str(), attendee_id, "{}", r.body);
    }
    app.request(
        http::Method::PUT,
        "/api/v0/partner/events/ev/attendees:import",
        Some(&app.a.rw),
        Some(b"[1]".to_vec()),
    )
    .await
    .err(400, "INVALID_JSON");
    app.put("/events/bad%20id/attendees:import", &app.a.rw, &json!({})).await.err(400, "INVALID_PARTNER_ID");
    // 400s come before the 404 of a missing event; then 404 before 409.
    app.put("/events/missing/attendees:import", &app.a.rw, &json!({"idempotency_key": "k"}))
        .await
        .err(400, "INVALID_ATTENDEES");
    let valid = json!({"idempotency_key": "k", "attendees": [ok()]});
    app.put("/events/missing/attendees:import", &app.a.rw, &valid).await.err(404, "EVENT_NOT_FOUND");
    app.put("/events/ev/attendees:import", &app.b.rw, &valid).await.err(404, "EVENT_NOT_FOUND");
    // Nothing was written, and the key was not used up.
    assert_eq!(app.get("/runs", &app.a.rw).await.ok(200)["items"], json!([]));
    assert!(app.attendees(&app.a.rw, "ev").await.is_empty());
    app.put("/events/ev/attendees:import", &app.a.rw, &valid).await.ok(202);
}

#[tokio::test]
async fn imports_over_the_byte_limit_are_413() {
    let app = TestApp::with(&["--max-body-bytes", "2000"]).await;
    app.event(&app.a.rw, "ev").await;
    let rows: Vec<Value> = (0..50).map(|i| row(&format!("a{i}"), "Some Quite Long Person Name")).collect();
    let r =
        app.put("/events/ev/attendees:import", &app.a.rw, &json!({"idempotency_key": "k", "attendees": rows})).await;
    r.err(413, "PAYLOAD_TOO_LARGE");
    assert_eq!(app.get("/runs", &app.a.rw).await.ok(200)["items"], json!([]));
}

#[tokio::test]
async fn attendee_lists_page_by_id_and_stay_in_their_org() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    let rows: Vec<Value> = (0..7).rev().map(|i| row(&format!("p-{i}"), &format!("Person Number{i}"))).collect();
    app.import(&app.a.rw, "ev", Value::Array(rows)).await;
    let all = crate::harness::walk(&app, "/events/ev/attendees", &app.a.rw, &[3]).await;
    let ids: Vec<_> = all.iter().map(|a| a["attendee_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["p-0", "p-1", "p-2", "p-3", "p-4", "p-5", "p-6"]);
    app.get("/events/ev/attendees", &app.b.rw).await.err(404, "EVENT_NOT_FOUND");
    app.get("/events/missing/attendees", &app.a.rw).await.err(404, "EVENT_NOT_FOUND");
    app.get("/events/bad%20id/attendees", &app.a.rw).await.err(400, "INVALID_PARTNER_ID");
    app.get("/events/ev/attendees?limit=0", &app.a.rw).await.err(400, "INVALID_LIMIT");
    app.get("/events/ev/attendees?cursor=nope", &app.a.rw).await.err(400, "INVALID_CURSOR");
    app.get("/id-map/attendee/p-0", &app.b.rw).await.err(404, "PARTNER_ID_NOT_FOUND");
}

#[tokio::test]
async fn raw_data_is_bounded_in_depth_and_in_its_lists() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    let app = &app;
    let put = |raw: Value| {
        let key = uuid::Uuid::new_v4().to_string();
        let body =
            json!({"idempotency_key": key, "attendees": [{"attendee_id": "a1", "name": "Ann", "raw_data": raw}]});
        async move { app.put("/events/ev/attendees:import", &app.a.rw, &body).await }
    };
    // 16 levels are accepted, 17 are not.
    let nest = |levels: usize| (0..levels).fold(json!("leaf"), |inner, _| json!({"x": inner}));
    put(nest(16)).await.ok(202);
    let r = put(nest(17)).await;
    r.err(400, "INVALID_ATTENDEE_RAW_DATA");
    assert!(r.body["message"].as_str().unwrap().contains("17 levels"), "{:?}", r.body);
    let many: Vec<String> = (0..51).map(|i| format!("need {i}")).collect();
    let r = put(json!({"needs": many})).await;
    r.err(400, "INVALID_ATTENDEE_RAW_DATA");
    assert_eq!(r.field(), "raw_data.needs");
    put(json!({"offers": ["x".repeat(1001)]})).await.err(400, "INVALID_ATTENDEE_RAW_DATA");
    let sessions: Vec<String> = (0..501).map(|i| format!("s{i}")).collect();
    put(json!({"sessions": sessions})).await.err(400, "INVALID_ATTENDEE_RAW_DATA");
    // Each text with a meaning has its own bound (documented in the OpenAPI RawData schema).
    let fifty = vec!["n"; 50];
    put(json!({"bio": "b".repeat(4_000), "goal": "g".repeat(1_000), "role_at_event": "r".repeat(200),
        "visibility": "v".repeat(32), "needs": fifty}))
    .await
    .ok(202);
    for (key, max) in [("bio", 4_000), ("goal", 1_000), ("role_at_event", 200), ("visibility", 32)] {
        let r = put(json!({key: "x".repeat(max + 1)})).await;
        r.err(400, "INVALID_ATTENDEE_RAW_DATA");
        assert_eq!(r.field(), format!("raw_data.{key}"));
    }
}
