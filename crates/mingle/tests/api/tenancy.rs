//! The tenancy proof: for every route of the OpenAPI document, org B aims at org A's
//! data — its event, session, attendees, runs, review and match run, and cursors A was
//! given — and every answer is the one a non-existent ID gets; nothing of A changes.

use http::Method;
use serde_json::{json, Value};

use crate::harness::{TestApp, BASE};

/// Org A's data, and a snapshot of everything A can read of it.
struct Seeded {
    run_id: String,
    review_id: String,
    match_run_id: String,
}

async fn seed(app: &TestApp) -> Seeded {
    app.load_encoder().await;
    let a = &app.a.rw;
    app.event(a, "ev-1").await;
    app.session(a, "ev-1", "s-1", None).await;
    let rows = json!([
        {"attendee_id": "att-1", "name": "Robin Hale", "email": "robin@example.com",
         "raw_data": {"goal": "Hire engineers", "needs": ["rust engineers"], "offers": ["funding advice"], "sessions": ["s-1"]}},
        {"attendee_id": "att-2", "name": "Casey Moss", "email": "casey@example.com",
         "raw_data": {"goal": "Find a job", "needs": ["a rust job"], "offers": ["rust engineering"], "sessions": ["s-1"]}}
    ]);
    assert_eq!(app.import(a, "ev-1", rows).await["status"], "succeeded");
    // A review: a newer record sharing att-1's email.
    let dupe = json!([{"attendee_id": "att-3", "name": "Someone Else", "email": "robin@example.com"}]);
    app.import(a, "ev-1", dupe).await;
    let review_id = app.reviews(a, "ev-1").await[0]["review_id"].as_str().unwrap().to_owned();
    let run = app.post("/runs", a, &json!({"kind": "import", "idempotency_key": "seed"})).await;
    let run_id = run.ok(201)["run_id"].as_str().unwrap().to_owned();
    let r = app.post("/events/ev-1/match-runs", a, &json!({"idempotency_key": "m", "top_n": 5})).await;
    let match_run_id = r.ok(202)["run_id"].as_str().unwrap().to_owned();
    assert_eq!(app.wait_run(a, &match_run_id).await["status"], "succeeded");
    Seeded { run_id, review_id, match_run_id }
}

/// Everything org A can read, to compare before and after B's attempts.
async fn snapshot(app: &TestApp, s: &Seeded) -> Vec<Value> {
    let a = &app.a.rw;
    let mut out = Vec::new();
    for path in [
        "/events".to_owned(),
        "/events/ev-1".into(),
        "/events/ev-1/context".into(),
        "/events/ev-1/sessions".into(),
        "/events/ev-1/attendees".into(),
        "/events/ev-1/attendees/att-1/identity".into(),
        "/events/ev-1/review-queue".into(),
        "/events/ev-1/matches".into(),
        "/events/ev-1/attendees/att-1/matches".into(),
        "/runs".into(),
        format!("/runs/{}", s.run_id),
    ] {
        let mut body = app.get(&path, a).await.ok(200).clone();
        body.as_object_mut().unwrap().remove("correlation_id");
        out.push(body);
    }
    out
}

/// The route's path with org A's IDs (`own`) or IDs that exist nowhere.
fn concrete(template: &str, s: &Seeded, own: bool) -> String {
    let pick = |a: &str, none: &str| if own { a.to_owned() } else { none.to_owned() };
    template
        .replace("{event_id}", &pick("ev-1", "ev-none"))
        .replace("{session_id}", &pick("s-1", "s-none"))
        .replace("{attendee_id}", &pick("att-1", "att-none"))
        .replace("{principal_partner_id}", &pick("att-1", "att-none"))
        .replace("{target_partner_id}", &pick("att-2", "att-none2"))
        .replace("{run_id}", &pick(&s.run_id, "01890000-0000-7000-8000-000000000000"))
        .replace("{review_id}", &pick(&s.review_id, "01890000-0000-4000-8000-000000000000"))
        .replace("{kind}", "attendee")
        .replace("{partner_id}", &pick("att-1", "att-none"))
}

fn body_for(method: &str, template: &str) -> Value {
    match (method, template) {
        (_, t) if t.ends_with("/resolve") => json!({"decision": "reject"}),
        (_, t) if t.ends_with("/merge") => json!({"source_kind": "attendee", "source_partner_id": "att-3",
            "target_kind": "attendee", "target_partner_id": "att-1"}),
        (_, t) if t.ends_with(":import") => {
            json!({"idempotency_key": "b-1", "attendees": [{"attendee_id": "att-1", "name": "B's"}]})
        }
        (_, t) if t.ends_with("/sessions") => json!({"session_id": "s-1", "title": "B's"}),
        (_, t) if t.ends_with("/context") => json!({"objectives": "B's"}),
        (_, t) if t.ends_with("-runs") => json!({"idempotency_key": "b-2"}),
        _ => json!({}),
    }
}

#[tokio::test]
async fn org_b_cannot_reach_anything_of_org_a_on_any_route() {
    let app = TestApp::new().await;
    let s = seed(&app).await;
    let before = snapshot(&app, &s).await;
    let doc = app.request(Method::GET, &format!("{BASE}/openapi.json"), None, None).await.body.clone();
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            let method = method.to_uppercase();
            // Routes that name no resource of an org (/auth, the lists, creation) are
            // covered below by what B's lists and A's snapshot show. OPTIONS answers
            // from the route alone (the same 204 whatever the IDs), so it shows nothing.
            if !template.contains('{') || method == "OPTIONS" {
                continue;
            }
            let m: Method = method.parse().unwrap();
            let body = serde_json::to_vec(&body_for(&method, template)).unwrap();
            let theirs = app
                .request(
                    m.clone(),
                    &format!("{BASE}{}", concrete(template, &s, true)),
                    Some(&app.b.rw),
                    Some(body.clone()),
                )
                .await;
            let nowhere =
                app.request(m, &format!("{BASE}{}", concrete(template, &s, false)), Some(&app.b.rw), Some(body)).await;
            // The same answer a non-existent ID gets: status and code.
            assert_eq!(
                (theirs.status, theirs.body["code"].clone()),
                (nowhere.status, nowhere.body["code"].clone()),
                "{method} {template}: {:?} vs {:?}",
                theirs.body,
                nowhere.body
            );
            assert_eq!(theirs.status, 404, "{method} {template}: {:?}", theirs.body);
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked} routes checked");
    // A's run and match run IDs, read by B, are unknown; a match read with A's run ID too.
    app.get(&format!("/runs/{}", s.match_run_id), &app.b.rw).await.err(404, "RUN_NOT_FOUND");
    // Lists: B sees none of A's rows, and a cursor A was given is not B's.
    for list in ["/events", "/runs", "/review-queue"] {
        let page = app.get(list, &app.b.rw).await.ok(200).clone();
        assert_eq!(page["items"], json!([]), "{list}");
    }
    let first = app.get("/events/ev-1/attendees?limit=1", &app.a.rw).await.ok(200).clone();
    let cursor = first["next_cursor"].as_str().expect("A has a second page");
    // The cursor is read before the event is looked up, for A's event as for none.
    let r = app.get(&format!("/events/ev-1/attendees?limit=1&cursor={cursor}"), &app.b.rw).await;
    r.err(400, "INVALID_CURSOR");
    app.get(&format!("/events/ev-none/attendees?limit=1&cursor={cursor}"), &app.b.rw).await.err(400, "INVALID_CURSOR");
    app.event(&app.b.rw, "ev-1").await; // B's own event of the same ID
    let r = app.get(&format!("/events/ev-1/attendees?limit=1&cursor={cursor}"), &app.b.rw).await;
    r.err(400, "INVALID_CURSOR");
    // Nothing of A changed.
    assert_eq!(snapshot(&app, &s).await, before);
}
