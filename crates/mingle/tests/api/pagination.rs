//! Keyset pagination: limits, cursors, and the invariant that paging while rows are
//! added returns every row that existed when paging began exactly once, in order.

use std::collections::HashSet;

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::harness::{walk, TestApp};

#[tokio::test]
async fn limits_outside_1_to_100_are_invalid() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    for path in ["/events", "/events/ev/sessions", "/runs"] {
        for bad in ["0", "101", "-1", "abc", "1.5", "", "1e2"] {
            let r = app.get(&format!("{path}?limit={bad}"), &app.a.rw).await;
            r.err(400, "INVALID_LIMIT");
            assert_eq!(r.field(), "limit");
        }
        for good in ["1", "100", "50"] {
            app.get(&format!("{path}?limit={good}"), &app.a.rw).await.ok(200);
        }
    }
}

#[tokio::test]
async fn default_limit_is_50_and_a_full_last_page_has_no_cursor() {
    let app = TestApp::new().await;
    for i in 0..51 {
        app.post("/runs", &app.a.rw, &json!({"kind": "match", "idempotency_key": format!("k{i}")})).await.ok(201);
    }
    let first = app.get("/runs", &app.a.rw).await.ok(200).clone();
    assert_eq!(first["items"].as_array().unwrap().len(), 50);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = app.get(&format!("/runs?cursor={cursor}"), &app.a.rw).await.ok(200).clone();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["next_cursor"], Value::Null);
    // Exactly `limit` rows left: the page that ends the list has a null cursor.
    let exact = app.get("/runs?limit=51", &app.a.rw).await.ok(200).clone();
    assert_eq!(exact["items"].as_array().unwrap().len(), 51);
    assert_eq!(exact["next_cursor"], Value::Null);
    let fifty = app.get(&format!("/runs?limit=1&cursor={cursor}"), &app.a.rw).await.ok(200).clone();
    assert_eq!(fifty["next_cursor"], Value::Null);
}

#[tokio::test]
async fn cursors_are_bound_to_their_list_filters_and_org() {
    let app = TestApp::new().await;
    for id in ["e1", "e2", "e3"] {
        app.event(&app.a.rw, id).await;
        app.event(&app.b.rw, id).await;
    }
    for s in ["s1", "s2", "s3"] {
        app.session(&app.a.rw, "e1", s, None).await;
    }
    for i in 0..3 {
        app.post("/runs", &app.a.rw, &json!({"kind": "import", "idempotency_key": format!("k{i}")})).await.ok(201);
    }
    let next = |body: &Value| body["next_cursor"].as_str().unwrap().to_owned();
    let events_cursor = next(app.get("/events?limit=1", &app.a.rw).await.ok(200));
    let sessions_cursor = next(app.get("/events/e1/sessions?limit=1", &app.a.rw).await.ok(200));
    let import_cursor = next(app.get("/runs?limit=1&kind=import", &app.a.rw).await.ok(200));

    // Valid where issued.
    app.get(&format!("/events?cursor={events_cursor}"), &app.a.rw).await.ok(200);
    // Another list, other path IDs, other filters, another org, or altered: invalid.
    let invalid = [
        format!("/runs?cursor={events_cursor}"),
        format!("/events/e1/sessions?cursor={events_cursor}"),
        format!("/events/e2/sessions?cursor={sessions_cursor}"),
        format!("/runs?cursor={import_cursor}"),
        format!("/runs?kind=match&cursor={import_cursor}"),
        "/events?cursor=garbage".to_owned(),
        "/events?cursor=".to_owned(),
        format!("/events?cursor={}x", events_cursor),
        format!("/events?cursor={}", events_cursor.replacen('e', "f", 1)),
    ];
    for path in invalid {
        let r = app.get(&path, &app.a.rw).await;
        r.err(400, "INVALID_CURSOR");
    }
    app.get(&format!("/events?cursor={events_cursor}"), &app.b.rw).await.err(400, "INVALID_CURSOR");
    // INVALID_LIMIT is checked before the cursor, and both before existence.
    app.get("/events?limit=0&cursor=garbage", &app.a.rw).await.err(400, "INVALID_LIMIT");
    app.get("/events/missing/sessions?cursor=garbage", &app.a.rw).await.err(400, "INVALID_CURSOR");
    app.get("/runs?kind=bad&cursor=garbage", &app.a.rw).await.err(400, "INVALID_RUN_KIND");
}

/// One list under test: how to add a row, the path, and each item's identity and
/// sort key in the documented order.
#[derive(Debug, Clone, Copy)]
enum List {
    Events,
    Sessions,
    Runs,
}

impl List {
    fn path(self) -> &'static str {
        match self {
            List::Events => "/events",
            List::Sessions => "/events/host/sessions",
            List::Runs => "/runs",
        }
    }

    fn id(self, item: &Value) -> String {
        let key = match self {
            List::Events => "event_id",
            List::Sessions => "session_id",
            List::Runs => "run_id",
        };
        item[key].as_str().unwrap().to_owned()
    }

    /// Adds row number `n` (`start` picks a session's start hour, or none).
    async fn add(self, app: &TestApp, n: usize, start: Option<u8>) {
        match self {
            List::Events => {
                app.event(&app.a.rw, &format!("ev-{n:04}")).await;
            }
            List::Sessions => {
                let start = start.map(|h| format!("2026-09-10T{:02}:00:00Z", h % 24));
                app.session(&app.a.rw, "host", &format!("s-{n:04}"), start.as_deref()).await;
            }
            List::Runs => {
                app.post("/runs", &app.a.rw, &json!({"kind": "import", "idempotency_key": format!("k-{n}")}))
                    .await
                    .ok(201);
            }
        }
    }

    /// Whether `a` may come before `b` in the list's documented order.
    fn in_order(self, a: &Value, b: &Value) -> bool {
        match self {
            List::Events | List::Runs => {
                let key = |v: &Value| (v["created_at"].as_str().unwrap().to_owned(), self.id(v));
                key(a) > key(b)
            }
            List::Sessions => {
                let key =
                    |v: &Value| (v["start_timestamp"].as_str().map(str::to_owned).unwrap_or("~".into()), self.id(v));
                key(a) < key(b)
            }
        }
    }
}

async fn paging_while_adding(list: List, initial: &[Option<u8>], limits: &[u32], added_per_page: &[Option<u8>]) {
    let app = TestApp::new().await;
    if matches!(list, List::Sessions) {
        app.event(&app.a.rw, "host").await;
    }
    for (n, start) in initial.iter().enumerate() {
        list.add(&app, n, *start).await;
    }
    let existing: HashSet<String> =
        walk(&app, list.path(), &app.a.rw, &[100]).await.iter().map(|v| list.id(v)).collect();
    assert_eq!(existing.len(), initial.len());

    // Page by hand, adding a row after each page.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for page_no in 0.. {
        let limit = limits[page_no % limits.len()];
        let path = match &cursor {
            Some(c) => format!("{}?limit={limit}&cursor={c}", list.path()),
            None => format!("{}?limit={limit}", list.path()),
        };
        let body = app.get(&path, &app.a.rw).await.ok(200).clone();
        let items = body["items"].as_array().unwrap().clone();
        if body["next_cursor"].is_string() {
            assert_eq!(items.len(), limit as usize, "a page before the last is full");
        }
        seen.extend(items);
        // Rows added after the cursor extend the walk; a bounded number keeps it finite.
        if page_no < 5 {
            let start = added_per_page[page_no % added_per_page.len().max(1)];
            list.add(&app, initial.len() + page_no, start).await;
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let ids: Vec<String> = seen.iter().map(|v| list.id(v)).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a row was served twice: {ids:?}");
    for id in &existing {
        assert!(unique.contains(id), "row {id} that existed when paging began was skipped");
    }
    for pair in seen.windows(2) {
        assert!(list.in_order(&pair[0], &pair[1]), "out of order: {} then {}", pair[0], pair[1]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn events_page_exactly_once_while_rows_are_added(
        n in 0usize..25, limits in prop::collection::vec(1u32..6, 1..4)
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(paging_while_adding(List::Events, &vec![None; n], &limits, &[None]));
    }

    #[test]
    fn sessions_page_exactly_once_while_rows_are_added(
        starts in prop::collection::vec(prop::option::of(0u8..6), 0..25),
        limits in prop::collection::vec(1u32..6, 1..4),
        added in prop::collection::vec(prop::option::of(0u8..6), 1..4),
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(paging_while_adding(List::Sessions, &starts, &limits, &added));
    }

    #[test]
    fn runs_page_exactly_once_while_rows_are_added(
        n in 0usize..25, limits in prop::collection::vec(1u32..6, 1..4)
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(paging_while_adding(List::Runs, &vec![None; n], &limits, &[None]));
    }
}
