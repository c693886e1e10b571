//! `GET /id-map/:kind/:partner_id`.

use serde_json::json;

use crate::harness::TestApp;

#[tokio::test]
async fn mapped_ids_of_each_kind() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev-1").await;
    app.session(&app.a.rw, "ev-1", "s-1", None).await;
    for (kind, id) in [("event", "ev-1"), ("session", "s-1")] {
        let r = app.get(&format!("/id-map/{kind}/{id}"), &app.a.rw).await;
        let body = r.ok(200);
        assert_eq!(body["kind"], kind);
        assert_eq!(body["partner_id"], id);
        assert_eq!(body["mapped"], json!(true));
        assert!(body.get("merged_into").is_none());
    }
}

#[tokio::test]
async fn unmapped_ids_and_kinds_are_not_found() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev-1").await;
    for path in ["/id-map/event/ev-2", "/id-map/session/ev-1", "/id-map/attendee/ev-1", "/id-map/speaker/ev-1"] {
        let r = app.get(path, &app.a.rw).await;
        r.err(404, "PARTNER_ID_NOT_FOUND");
    }
    // Another org's IDs do not exist for the caller.
    app.get("/id-map/event/ev-1", &app.b.rw).await.err(404, "PARTNER_ID_NOT_FOUND");
}

#[tokio::test]
async fn malformed_kinds_and_ids_are_400_kind_first() {
    let app = TestApp::new().await;
    for kind in ["1event", "_x", "ev.ent", &"k".repeat(65)] {
        let r = app.get(&format!("/id-map/{kind}/ok"), &app.a.rw).await;
        r.err(400, "INVALID_PARTNER_KIND");
        assert_eq!(r.field(), "kind");
    }
    let r = app.get("/id-map/event/bad%20id", &app.a.rw).await;
    r.err(400, "INVALID_PARTNER_ID");
    assert_eq!(r.field(), "partner_id");
    app.get("/id-map/9bad/bad%20id", &app.a.rw).await.err(400, "INVALID_PARTNER_KIND");
    app.get(&format!("/id-map/event/{}", "a".repeat(129)), &app.a.rw).await.err(400, "INVALID_PARTNER_ID");
}
