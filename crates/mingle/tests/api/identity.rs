//! Identity resolution through imports, with messy, realistic data.

use serde_json::{json, Value};

use crate::harness::TestApp;

fn kinds(history: &[Value]) -> Vec<&str> {
    history.iter().map(|d| d["kind"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_new_attendee_is_minted_with_exactly_one_decision() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    app.import(&app.a.rw, "ev", json!([{"attendee_id": "a1", "name": "Jordan Lee", "email": "jordan@example.com"}]))
        .await;
    let history = app.history(&app.a.rw, "ev", "a1").await;
    assert_eq!(kinds(&history), ["minted"]);
    let d = &history[0];
    assert_eq!(d["anchors"], json!([{"kind": "email", "value": "jordan@example.com"}]));
    assert_eq!(d["other"], Value::Null);
    assert!(d["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(d["created_at"].is_string());
    let body = app.get("/events/ev/attendees/a1/identity", &app.a.rw).await.ok(200).clone();
    assert_eq!((body["event_id"].as_str(), body["attendee_id"].as_str()), (Some("ev"), Some("a1")));
    app.get("/events/ev/attendees/nobody/identity", &app.a.rw).await.err(404, "ATTENDEE_NOT_FOUND");
    app.get("/events/missing/attendees/a1/identity", &app.a.rw).await.err(404, "EVENT_NOT_FOUND");
    app.get("/events/ev/attendees/bad%20id/identity", &app.a.rw).await.err(400, "INVALID_PARTNER_ID");
    app.get("/events/ev/attendees/a1/identity", &app.b.rw).await.err(404, "EVENT_NOT_FOUND");
    // Not a member of this event: not found here.
    app.event(&app.a.rw, "other").await;
    app.get("/events/other/attendees/a1/identity", &app.a.rw).await.err(404, "ATTENDEE_NOT_FOUND");
}

#[tokio::test]
async fn emails_differing_in_case_and_whitespace_auto_link() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    app.import(
        &app.a.rw,
        "ev",
        json!([{"attendee_id": "a1", "name": "Jordan Lee", "email": "jordan.lee@example.com"}]),
    )
    .await;
    let run = app
        .import(
            &app.a.rw,
            "ev",
            json!([{"attendee_id": "a2", "name": "  jordan LEE ", "email": " Jordan.Lee@EXAMPLE.com "}]),
        )
        .await;
    assert_eq!(run["progress"]["review_required"], 0);
    let history = app.history(&app.a.rw, "ev", "a2").await;
    assert_eq!(kinds(&history), ["auto_linked"]);
    assert_eq!(history[0]["other"], json!({"kind": "attendee", "partner_id": "a1"}));
    assert_eq!(history[0]["anchors"], json!([{"kind": "email", "value": "jordan.lee@example.com"}]));
}

#[tokio::test]
async fn linkedin_url_variants_are_one_anchor() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    app.import(
        &app.a.rw,
        "ev",
        json!([{"attendee_id": "a1", "name": "Sam Rivera", "linkedin_url": "http://linkedin.com/in/samrivera/"}]),
    )
    .await;
    app.import(
        &app.a.rw,
        "ev",
        json!([
            {"attendee_id": "a2", "name": "Sam Rivera", "linkedin_url": "https://www.linkedin.com/in/SamRivera?trk=public_profile"},
            {"attendee_id": "a3", "name": "Samuel Rivera", "linkedin_url": "linkedin.com/in/samrivera"}
        ]),
    )
    .await;
    for id in ["a2", "a3"] {
        let h = app.history(&app.a.rw, "ev", id).await;
        assert_eq!(kinds(&h), ["auto_linked"], "{id}");
        assert_eq!(h[0]["anchors"], json!([{"kind": "linkedin", "value": "samrivera"}]));
    }
}

#[tokio::test]
async fn accents_in_names_still_agree() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    app.import(&app.a.rw, "ev", json!([{"attendee_id": "a1", "name": "José Núñez", "email": "jose@example.es"}])).await;
    app.import(&app.a.rw, "ev", json!([{"attendee_id": "a2", "name": "Jose Nunez", "email": "JOSE@example.es"}])).await;
    assert_eq!(kinds(&app.history(&app.a.rw, "ev", "a2").await), ["auto_linked"]);
}

#[tokio::test]
async fn the_same_person_in_two_events_is_linked_across_them() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "spring").await;
    app.event(&app.a.rw, "autumn").await;
    app.import(
        &app.a.rw,
        "spring",
        json!([{"attendee_id": "spring-17", "name": "Priya Patel", "email": "priya@startup.io"}]),
    )
    .await;
    app.import(
        &app.a.rw,
        "autumn",
        json!([{"attendee_id": "autumn-4", "name": "Priya Patel", "email": "Priya@Startup.io"}]),
    )
    .await;
    let h = app.history(&app.a.rw, "autumn", "autumn-4").await;
    assert_eq!(kinds(&h), ["auto_linked"]);
    assert_eq!(h[0]["other"]["partner_id"], "spring-17");
    assert_eq!(h[0]["event_id"], "autumn");
}

#[tokio::test]
async fn a_duplicate_pair_in_one_import_opens_a_review_on_the_later_row() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    let run = app
        .import(
            &app.a.rw,
            "ev",
            json!([
                {"attendee_id": "first", "name": "Alex Kim", "email": "alex@example.com"},
                {"attendee_id": "second", "name": "Taylor Brooks", "email": "ALEX@example.com"}
            ]),
        )
        .await;
    assert_eq!(run["progress"]["review_required"], 1);
    assert_eq!(run["progress"]["created"], 2);
    let reviews = app.reviews(&app.a.rw, "ev").await;
    assert_eq!(reviews.len(), 1);
    let r = &reviews[0];
    assert_eq!(r["partner_id"], "second");
    assert_eq!(r["candidate"], json!({"kind": "attendee", "partner_id": "first"}));
    assert_eq!(r["kind"], "attendee");
    assert_eq!(r["status"], "open");
    assert_eq!(r["event_id"], "ev");
    assert!(uuid::Uuid::parse_str(r["review_id"].as_str().unwrap()).is_ok());
    assert_eq!(r["evidence"]["names"]["agree"], false);
    assert_eq!(r["evidence"]["anchors"][0]["shared_with_candidate"], true);
    let list = app.attendees(&app.a.rw, "ev").await;
    assert_eq!(list["second"]["identity"], json!({"review_required": true, "open_review_count": 1}));
    assert_eq!(list["first"]["identity"], json!({"review_required": false, "open_review_count": 0}));
    let h = app.history(&app.a.rw, "ev", "second").await;
    assert_eq!(kinds(&h), ["review_opened"]);
    assert_eq!(h[0]["review_id"], r["review_id"]);
}

#[tokio::test]
async fn email_and_linkedin_pointing_at_different_people_need_review() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    app.import(
        &app.a.rw,
        "ev",
        json!([
            {"attendee_id": "jo", "name": "Jo Park", "email": "jo@example.com"},
            {"attendee_id": "lee", "name": "Lee Chen", "linkedin_url": "https://www.linkedin.com/in/leechen"}
        ]),
    )
    .await;
    let run = app
        .import(&app.a.rw, "ev", json!([{"attendee_id": "mix", "name": "Jo Park", "email": "jo@example.com", "linkedin_url": "linkedin.com/in/LeeChen/"}]))
        .await;
    assert_eq!(run["progress"]["review_required"], 1);
    let reviews = app.reviews(&app.a.rw, "ev").await;
    assert_eq!(reviews.len(), 1, "one review per row: the strongest clash");
    assert_eq!(reviews[0]["partner_id"], "mix");
    assert_eq!(reviews[0]["evidence"]["clash"], "anchors_disagree");
}

#[tokio::test]
async fn same_name_and_company_with_another_email_is_a_near_duplicate() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    app.import(
        &app.a.rw,
        "ev",
        json!([{"attendee_id": "old", "name": "Dana Whitfield", "company": "Globex Corp", "email": "dana@globex.com"}]),
    )
    .await;
    app.import(&app.a.rw, "ev", json!([{"attendee_id": "new", "name": "dana whitfield", "company": "GLOBEX CORP", "email": "dana.w@gmail.com"}])).await;
    let reviews = app.reviews(&app.a.rw, "ev").await;
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0]["evidence"]["clash"], "near_duplicate");
    assert_eq!(reviews[0]["candidate"]["partner_id"], "old");
    // A different company is another person.
    app.import(
        &app.a.rw,
        "ev",
        json!([{"attendee_id": "third", "name": "Dana Whitfield", "company": "Initech", "email": "d@initech.com"}]),
    )
    .await;
    assert_eq!(kinds(&app.history(&app.a.rw, "ev", "third").await), ["minted"]);
}
