//! The review queue: listing, resolving and merging.

use serde_json::{json, Value};

use crate::harness::TestApp;

/// Imports two attendees sharing an email with different names: one open review.
async fn clash(app: &TestApp, token: &str, event: &str, older: &str, newer: &str) -> Value {
    app.event(token, event).await;
    let email = format!("{older}@example.com");
    app.import(token, event, json!([{"attendee_id": older, "name": "Robin Hale", "email": email, "title": "CEO", "raw_data": {"goal": "raise"}}]))
        .await;
    app.import(
        token,
        event,
        json!([{"attendee_id": newer, "name": "Casey Moss", "email": email, "company": "Hale Ventures",
            "linkedin_url": format!("https://linkedin.com/in/{newer}"), "raw_data": {"needs": ["advisors"]}}]),
    )
    .await;
    let reviews = app.reviews(token, event).await;
    assert_eq!(reviews.len(), 1);
    reviews[0].clone()
}

#[tokio::test]
async fn queues_list_open_reviews_per_event_and_org() {
    let app = TestApp::new().await;
    let r1 = clash(&app, &app.a.rw, "ev1", "o1", "n1").await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let r2 = clash(&app, &app.a.rw, "ev2", "o2", "n2").await;
    let all = crate::harness::walk(&app, "/review-queue", &app.a.rw, &[1]).await;
    let ids: Vec<_> = all.iter().map(|r| r["review_id"].clone()).collect();
    assert_eq!(ids, [r2["review_id"].clone(), r1["review_id"].clone()], "newest first");
    for r in &all {
        for f in
            ["review_id", "kind", "partner_id", "event_id", "reason", "candidate", "evidence", "status", "created_at"]
        {
            assert!(r.get(f).is_some(), "review lacks {f}");
        }
    }
    assert_eq!(app.reviews(&app.a.rw, "ev1").await.len(), 1);
    assert_eq!(app.get("/review-queue", &app.b.rw).await.ok(200)["items"], json!([]));
    app.get("/events/ev1/review-queue", &app.b.rw).await.err(404, "EVENT_NOT_FOUND");
    app.get("/events/missing/review-queue", &app.a.rw).await.err(404, "EVENT_NOT_FOUND");
    app.get("/events/bad%20id/review-queue", &app.a.rw).await.err(400, "INVALID_PARTNER_ID");
    app.get("/review-queue?limit=500", &app.a.rw).await.err(400, "INVALID_LIMIT");
}

#[tokio::test]
async fn accept_links_and_leaves_the_queue() {
    let app = TestApp::new().await;
    let review = clash(&app, &app.a.rw, "ev", "old", "new").await;
    let id = review["review_id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/review-queue/{id}/resolve"),
            &app.a.rw,
            &json!({"decision": "accept", "reason": "Confirmed by CRM owner."}),
        )
        .await;
    let body = r.ok(200);
    assert_eq!(body["review_id"], id);
    assert_eq!(body["kind"], "attendee");
    assert_eq!(body["partner_id"], "new");
    assert_eq!(body["decision"], "accept");
    assert_eq!(body["logged"], true);
    assert_eq!(body["minted"], false);
    assert!(app.reviews(&app.a.rw, "ev").await.is_empty());
    let list = app.attendees(&app.a.rw, "ev").await;
    assert_eq!(list["new"]["identity"], json!({"review_required": false, "open_review_count": 0}));
    let h = app.history(&app.a.rw, "ev", "new").await;
    assert_eq!(h.iter().map(|d| d["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["review_resolved", "review_opened"]);
    assert_eq!(h[0]["reason"], "Confirmed by CRM owner.");
    assert_eq!(h[0]["decision"], "accept", "the item says which decision was taken");
    assert!(h[1].get("decision").is_none(), "only review_resolved items carry one");
    assert_eq!(h[0]["other"]["partner_id"], "old");
    // Resolving again: the review is gone.
    app.post(&format!("/review-queue/{id}/resolve"), &app.a.rw, &json!({"decision": "reject"}))
        .await
        .err(404, "REVIEW_NOT_FOUND");
}

#[tokio::test]
async fn reject_and_distinct_keep_a_person_of_its_own() {
    let app = TestApp::new().await;
    let review = clash(&app, &app.a.rw, "ev", "old", "new").await;
    let r = app
        .post(
            &format!("/review-queue/{}/resolve", review["review_id"].as_str().unwrap()),
            &app.a.rw,
            &json!({"decision": "reject"}),
        )
        .await;
    assert_eq!(r.ok(200)["minted"], true);

    let review = clash(&app, &app.a.rw, "ev2", "old2", "new2").await;
    let r = app
        .post(
            &format!("/review-queue/{}/resolve", review["review_id"].as_str().unwrap()),
            &app.a.rw,
            &json!({"decision": "distinct"}),
        )
        .await;
    assert_eq!(r.ok(200)["minted"], true);
    assert_eq!(app.history(&app.a.rw, "ev", "new").await[0]["decision"], "reject");
    assert_eq!(app.history(&app.a.rw, "ev2", "new2").await[0]["decision"], "distinct");
    // A distinct pair is never raised again: re-importing changes nothing.
    app.import(&app.a.rw, "ev2", json!([{"attendee_id": "new2", "name": "Casey Moss", "email": "old2@example.com"}]))
        .await;
    assert!(app.reviews(&app.a.rw, "ev2").await.is_empty());
    // ...and cannot be merged.
    let again = clash(&app, &app.a.rw, "ev3", "old3", "new3").await;
    app.post(
        &format!("/review-queue/{}/resolve", again["review_id"].as_str().unwrap()),
        &app.a.rw,
        &json!({"decision": "distinct"}),
    )
    .await
    .ok(200);
}

#[tokio::test]
async fn resolve_errors() {
    let app = TestApp::new().await;
    let review = clash(&app, &app.a.rw, "ev", "old", "new").await;
    let id = review["review_id"].as_str().unwrap();
    let path = format!("/review-queue/{id}/resolve");
    app.post("/review-queue/not-a-uuid/resolve", &app.a.rw, &json!({"decision": "accept"}))
        .await
        .err(400, "INVALID_REVIEW_ID");
    app.post_raw("/review-queue/not-a-uuid/resolve", &app.a.rw, "{").await.err(400, "INVALID_REVIEW_ID");
    app.post_raw(&path, &app.a.rw, "{").await.err(400, "INVALID_JSON");
    for bad in [json!({}), json!({"decision": "maybe"}), json!({"decision": 1})] {
        let r = app.post(&path, &app.a.rw, &bad).await;
        r.err(400, "INVALID_REVIEW_DECISION");
        assert_eq!(r.field(), "decision");
    }
    let unknown = format!("/review-queue/{}/resolve", uuid::Uuid::new_v4());
    app.post(&unknown, &app.a.rw, &json!({"decision": "accept"})).await.err(404, "REVIEW_NOT_FOUND");
    app.post(&path, &app.b.rw, &json!({"decision": "accept"})).await.err(404, "REVIEW_NOT_FOUND");
    assert_eq!(app.reviews(&app.a.rw, "ev").await.len(), 1, "rejected requests changed nothing");
}

#[tokio::test]
async fn merge_folds_the_source_into_the_target() {
    let app = TestApp::new().await;
    let review = clash(&app, &app.a.rw, "ev", "old", "new").await;
    let id = review["review_id"].as_str().unwrap();
    let body = json!({"source_kind": "attendee", "source_partner_id": "new", "target_kind": "attendee",
        "target_partner_id": "old", "reason": "Same person in source system."});
    let r = app.post(&format!("/review-queue/{id}/merge"), &app.a.rw, &body).await;
    let m = r.ok(200).clone();
    assert_eq!(m["review_id"], id);
    assert_eq!(m["source"], json!({"kind": "attendee", "partner_id": "new"}));
    assert_eq!(m["target"], json!({"kind": "attendee", "partner_id": "old"}));
    assert_eq!(m["merged"], true);
    // The shared email was superseded; the LinkedIn handle the target lacked moved over.
    assert_eq!((m["superseded_anchors"].as_i64(), m["rewritten_anchors"].as_i64()), (Some(1), Some(1)));
    assert_eq!(m["deleted_computations"], 0);
    // The source leaves the list; the target keeps its fields and gains the missing ones.
    let list = app.attendees(&app.a.rw, "ev").await;
    assert_eq!(list.keys().collect::<Vec<_>>(), ["old"]);
    assert_eq!(list["old"]["title"], "CEO");
    assert_eq!(list["old"]["company"], "Hale Ventures");
    assert_eq!(list["old"]["event"]["goal"], "raise");
    assert_eq!(list["old"]["event"]["needs"], json!(["advisors"]));
    // The alias stays mapped.
    let map = app.get("/id-map/attendee/new", &app.a.rw).await.ok(200).clone();
    assert_eq!((map["mapped"].as_bool(), map["merged_into"].as_str()), (Some(true), Some("old")));
    // History keeps who was merged, when and why.
    let h = app.history(&app.a.rw, "ev", "old").await;
    assert_eq!(h[0]["kind"], "merged");
    assert_eq!(h[0]["other"]["partner_id"], "new");
    assert_eq!(h[0]["reason"], "Same person in source system.");
    let source_history = app.history(&app.a.rw, "ev", "new").await;
    assert_eq!(source_history[0]["kind"], "review_opened");
    assert!(app.reviews(&app.a.rw, "ev").await.is_empty());
    app.post(&format!("/review-queue/{id}/merge"), &app.a.rw, &body).await.err(404, "REVIEW_NOT_FOUND");
    // A later import of the alias updates the target.
    app.import(&app.a.rw, "ev", json!([{"attendee_id": "new", "name": "Robin Hale", "title": "Chair"}])).await;
    let list = app.attendees(&app.a.rw, "ev").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list["old"]["title"], "Chair");
    // A roster that still lists both records, each changed: both rows reach the target,
    // the later one last (on every backend).
    let run = app
        .import(
            &app.a.rw,
            "ev",
            json!([{"attendee_id": "old", "name": "Robin Hale", "title": "Founder", "raw_data": {"goal": "hire"}},
                   {"attendee_id": "new", "name": "Robin Hale", "title": "Partner", "raw_data": {"goal": "invest"}}]),
        )
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let list = app.attendees(&app.a.rw, "ev").await;
    assert_eq!(list.keys().collect::<Vec<_>>(), ["old"]);
    assert_eq!(
        (list["old"]["title"].as_str(), list["old"]["event"]["goal"].as_str()),
        (Some("Partner"), Some("invest"))
    );
}

#[tokio::test]
async fn merge_errors_in_order() {
    let app = TestApp::new().await;
    let review = clash(&app, &app.a.rw, "ev", "old", "new").await;
    app.import(&app.a.rw, "ev", json!([{"attendee_id": "bystander", "name": "Bea Stander"}])).await;
    let id = review["review_id"].as_str().unwrap();
    let path = format!("/review-queue/{id}/merge");
    let body = |sk: &str, s: &str, tk: &str, t: &str| json!({"source_kind": sk, "source_partner_id": s, "target_kind": tk, "target_partner_id": t});
    app.post("/review-queue/nope/merge", &app.a.rw, &body("attendee", "new", "attendee", "old"))
        .await
        .err(400, "INVALID_REVIEW_ID");
    app.post_raw(&path, &app.a.rw, "[]").await.err(400, "INVALID_JSON");
    app.post(&path, &app.a.rw, &body("9x", "new", "attendee", "old")).await.err(400, "INVALID_PARTNER_KIND");
    app.post(&path, &app.a.rw, &body("attendee", "new", "", "old")).await.err(400, "INVALID_PARTNER_KIND");
    app.post(&path, &app.a.rw, &body("attendee", "bad id", "attendee", "old")).await.err(400, "INVALID_PARTNER_ID");
    app.post(&path, &app.a.rw, &body("attendee", "new", "attendee", "")).await.err(400, "INVALID_PARTNER_ID");
    app.post(&path, &app.a.rw, &body("attendee", "new", "attendee", "new")).await.err(400, "MERGE_REJECTED");
    app.post(&path, &app.a.rw, &body("attendee", "new", "event", "ev")).await.err(400, "MERGE_REJECTED");
    app.post(&path, &app.a.rw, &body("session", "s1", "session", "s2")).await.err(400, "MERGE_REJECTED");
    let unknown = format!("/review-queue/{}/merge", uuid::Uuid::new_v4());
    app.post(&unknown, &app.a.rw, &body("attendee", "new", "attendee", "old")).await.err(404, "REVIEW_NOT_FOUND");
    app.post(&path, &app.b.rw, &body("attendee", "new", "attendee", "old")).await.err(404, "REVIEW_NOT_FOUND");
    let r = app.post(&path, &app.a.rw, &body("attendee", "bystander", "attendee", "old")).await;
    r.err(400, "REVIEW_SOURCE_MISMATCH");
    app.post(&path, &app.a.rw, &body("attendee", "new", "attendee", "ghost")).await.err(404, "PARTNER_ID_NOT_FOUND");
    // The review's attendee may be the target as well.
    // Merging into an alias is rejected: make "bystander" an alias first via a second clash.
    let review2 = clash(&app, &app.a.rw, "ev2", "o2", "n2").await;
    let p2 = format!("/review-queue/{}/merge", review2["review_id"].as_str().unwrap());
    app.post(&p2, &app.a.rw, &body("attendee", "n2", "attendee", "o2")).await.ok(200);
    let review3 = clash(&app, &app.a.rw, "ev3", "o3", "n3").await;
    let p3 = format!("/review-queue/{}/merge", review3["review_id"].as_str().unwrap());
    app.post(&p3, &app.a.rw, &body("attendee", "n3", "attendee", "n2")).await.err(400, "MERGE_REJECTED");
    // Against a recorded distinct decision: P (under review against C) and T were
    // ruled distinct through T's own review.
    app.event(&app.a.rw, "ev4").await;
    app.import(
        &app.a.rw,
        "ev4",
        json!([{"attendee_id": "c4", "name": "Quinn Ash", "company": "Umbra", "email": "c4@umbra.io"}]),
    )
    .await;
    app.import(
        &app.a.rw,
        "ev4",
        json!([{"attendee_id": "p4", "name": "Quinn Ash", "company": "Umbra", "email": "p4@umbra.io"}]),
    )
    .await;
    app.import(&app.a.rw, "ev4", json!([{"attendee_id": "t4", "name": "Rory Vale", "email": "p4@umbra.io"}])).await;
    let queue = app.reviews(&app.a.rw, "ev4").await;
    let by_partner =
        |p: &str| queue.iter().find(|r| r["partner_id"] == p).unwrap()["review_id"].as_str().unwrap().to_owned();
    let (r_p, r_t) = (by_partner("p4"), by_partner("t4"));
    app.post(&format!("/review-queue/{r_t}/resolve"), &app.a.rw, &json!({"decision": "distinct"})).await.ok(200);
    let r = app.post(&format!("/review-queue/{r_p}/merge"), &app.a.rw, &body("attendee", "p4", "attendee", "t4")).await;
    r.err(400, "MERGE_REJECTED");
    // Nothing above changed the first review.
    assert_eq!(app.reviews(&app.a.rw, "ev").await.len(), 1);
    assert_eq!(app.attendees(&app.a.rw, "ev").await.len(), 3);
}
