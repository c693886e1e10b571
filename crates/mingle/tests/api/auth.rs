//! Authentication, account status, scopes and rate limits, on every route.

use http::Method;
use mingle_service::models::AccountStatus;
use serde_json::json;

use crate::harness::{TestApp, BASE};

/// Every partner route: (method, path relative to the base, needs partner:write).
/// Paths name resources that `seed` creates in org A.
const ROUTES: &[(&str, &str, bool)] = &[
    ("GET", "/auth", false),
    ("GET", "/id-map/event/ev-1", false),
    ("POST", "/events", true),
    ("GET", "/events", false),
    ("GET", "/events/ev-1", false),
    ("POST", "/events/ev-1/context", true),
    ("GET", "/events/ev-1/context", false),
    ("POST", "/events/ev-1/sessions", true),
    ("GET", "/events/ev-1/sessions", false),
    ("GET", "/events/ev-1/sessions/s-1", false),
    ("POST", "/runs", true),
    ("GET", "/runs", false),
    ("GET", "/runs/RUN", false),
    ("PUT", "/events/ev-1/attendees:import", true),
    ("GET", "/events/ev-1/attendees", false),
    ("GET", "/events/ev-1/attendees/att-1/identity", false),
    ("POST", "/events/ev-1/enrichment-runs", true),
    ("GET", "/events/ev-1/review-queue", false),
    ("GET", "/review-queue", false),
    ("POST", "/review-queue/00000000-0000-4000-8000-000000000000/resolve", true),
    ("POST", "/review-queue/00000000-0000-4000-8000-000000000000/merge", true),
];

async fn seed(app: &TestApp) -> String {
    app.event(&app.a.rw, "ev-1").await;
    app.session(&app.a.rw, "ev-1", "s-1", None).await;
    app.import(&app.a.rw, "ev-1", json!([{"attendee_id": "att-1", "name": "Seed Person"}])).await;
    let run = app.post("/runs", &app.a.rw, &json!({"kind": "import", "idempotency_key": "seed"})).await;
    run.ok(201)["run_id"].as_str().unwrap().to_owned()
}

fn method(m: &str) -> Method {
    m.parse().unwrap()
}

#[tokio::test]
async fn get_auth_describes_the_caller() {
    let app = TestApp::new().await;
    let r = app.get("/auth", &app.a.rw).await;
    let body = r.ok(200);
    assert_eq!(body["org_id"], app.a.org_id);
    assert_eq!(body["principal_type"], "service_account");
    assert_eq!(body["service_account_user_id"], app.a.rw_account);
    assert_eq!(body["scopes"], json!(["partner:read", "partner:write"]));
    let body = app.get("/auth", &app.a.ro).await.ok(200).clone();
    assert_eq!(body["scopes"], json!(["partner:read"]));
}

#[tokio::test]
async fn every_route_requires_a_valid_token() {
    let app = TestApp::new().await;
    let run_id = seed(&app).await;
    let forged = format!("mgl_{}", "A".repeat(86));
    for &(m, path, _) in ROUTES {
        let path = format!("{BASE}{}", path.replace("RUN", &run_id));
        for token in [None, Some("not-a-token"), Some(forged.as_str()), Some("")] {
            let r = app.request(method(m), &path, token, Some(b"{}".to_vec())).await;
            r.err(401, "UNAUTHORIZED");
            assert_eq!(r.headers["www-authenticate"], "Bearer", "{m} {path}");
        }
        // A real token with one character changed is unknown.
        let mut altered = app.a.rw.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == 'A' { 'B' } else { 'A' });
        app.request(method(m), &path, Some(&altered), Some(b"{}".to_vec())).await.err(401, "UNAUTHORIZED");
    }
}

#[tokio::test]
async fn read_only_tokens_read_but_cannot_write() {
    let app = TestApp::new().await;
    let run_id = seed(&app).await;
    for &(m, path, write) in ROUTES {
        let path = format!("{BASE}{}", path.replace("RUN", &run_id));
        let r = app.request(method(m), &path, Some(&app.a.ro), Some(b"{}".to_vec())).await;
        if write {
            r.err(403, "INSUFFICIENT_SCOPE");
            assert_eq!(r.body["details"]["required_scope"], "partner:write", "{m} {path}");
        } else {
            r.ok(200);
        }
    }
}

#[tokio::test]
async fn scope_is_checked_before_the_body() {
    let app = TestApp::new().await;
    app.post_raw("/events", &app.a.ro, "{not json").await.err(403, "INSUFFICIENT_SCOPE");
}

#[tokio::test]
async fn disable_enable_and_revoke_take_effect_on_the_next_request() {
    let app = TestApp::new().await;
    let (token, account) = (app.a.rw.clone(), app.a.rw_account.clone());
    app.get("/auth", &token).await.ok(200);

    app.set_status(&account, AccountStatus::Disabled).await;
    let r = app.get("/auth", &token).await;
    r.err(401, "ACCOUNT_DISABLED");
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    app.post("/events", &token, &json!({"event_id": "x", "title": "x"})).await.err(401, "ACCOUNT_DISABLED");

    app.set_status(&account, AccountStatus::Active).await;
    app.get("/auth", &token).await.ok(200);

    app.set_status(&account, AccountStatus::Revoked).await;
    app.get("/auth", &token).await.err(401, "UNAUTHORIZED");
    let again = app.services.accounts.set_status(&account, AccountStatus::Active).await;
    assert_eq!(again.unwrap_err().code(), "SERVICE_ACCOUNT_REVOKED");
    app.get("/auth", &token).await.err(401, "UNAUTHORIZED");
    // The other org's and the read-only tokens are untouched.
    app.get("/auth", &app.a.ro).await.ok(200);
    app.get("/auth", &app.b.rw).await.ok(200);
}

#[tokio::test]
async fn rate_limit_refuses_past_the_burst_with_headers() {
    let app = TestApp::with(&["--rate-limit-per-sec", "0.5", "--rate-limit-burst", "3"]).await;
    let first = app.get("/auth", &app.a.rw).await;
    first.ok(200);
    assert_eq!(first.headers["ratelimit-policy"], "\"default\";q=3;w=6");
    assert_eq!(first.headers["ratelimit"], "\"default\";r=2;t=2");
    app.get("/events", &app.a.rw).await.ok(200);
    app.get("/events", &app.a.rw).await.ok(200);
    let refused = app.get("/auth", &app.a.rw).await;
    refused.err(429, "PARTNER_RATE_LIMIT_EXCEEDED");
    let retry: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "retry-after {retry}");
    assert!(refused.headers["ratelimit"].to_str().unwrap().starts_with("\"default\";r=0;"));
    // Buckets are per service account.
    app.get("/auth", &app.a.ro).await.ok(200);
    app.get("/auth", &app.b.rw).await.ok(200);
}

/// `GET /auth` with `token`, for a router called directly (a second API server in the
/// same test process).
fn auth_request(token: &str) -> http::Request<axum::body::Body> {
    http::Request::get(format!("{BASE}/auth"))
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap()
}

#[tokio::test]
async fn rate_limits_hold_across_api_servers_sharing_a_postgresql_database() {
    let flags = ["--rate-limit-per-sec", "0.01", "--rate-limit-burst", "4"];
    let app = TestApp::with(&flags).await;
    // A second API server on the same database: its own store, services and router.
    let store = mingle_store::connect(&app.database_url).await.expect("the same database");
    let other = mingle::serve::app(mingle_service::Services::new(store), &crate::harness::serve_args(&flags));
    let mut allowed = 0;
    for i in 0..10 {
        let router = if i % 2 == 0 { app.router.clone() } else { other.clone() };
        let status = tower::ServiceExt::oneshot(router, auth_request(&app.a.rw)).await.unwrap().status();
        assert!(status == 200 || status == 429, "{status}");
        allowed += usize::from(status == 200);
    }
    // PostgreSQL keeps the buckets in the database: the burst holds across both
    // servers. SQLite serves one process, which keeps its buckets in memory: two routers
    // in one test process each allow the burst (docs/decisions.md).
    let expected = if crate::harness::on_postgres() { 4 } else { 8 };
    assert_eq!(allowed, expected);
}

/// Concurrent requests of two accounts: each request gets its own decision and each
/// bucket is spent exactly once per request, whether a process takes them one by one
/// (memory) or in batches that share a database transaction (PostgreSQL, two API
/// servers), and no account's requests are counted against the other's.
#[tokio::test]
async fn concurrent_requests_of_one_account_spend_the_burst_exactly() {
    let flags = ["--rate-limit-per-sec", "0.001", "--rate-limit-burst", "10"];
    let app = TestApp::with(&flags).await;
    let store = mingle_store::connect(&app.database_url).await.expect("the same database");
    let other = mingle::serve::app(mingle_service::Services::new(store), &crate::harness::serve_args(&flags));
    let requests = (0..80).map(|i| {
        let router = if i % 2 == 0 { app.router.clone() } else { other.clone() };
        // Every fourth request is the second account's: 20 of them, 10 per server.
        let account = if i % 4 < 2 { 0 } else { 1 };
        let token = [&app.a.rw, &app.a.ro][account];
        let answer = tokio::spawn(tower::ServiceExt::oneshot(router, auth_request(token)));
        async move { (account, answer.await.unwrap().unwrap()) }
    });
    let mut remaining = [Vec::new(), Vec::new()];
    for (account, answer) in futures_util::future::join_all(requests).await {
        match answer.status().as_u16() {
            200 => {
                let header = answer.headers()["ratelimit"].to_str().unwrap().to_owned();
                let r = header.split(';').find_map(|p| p.strip_prefix("r=")).unwrap().parse::<u64>().unwrap();
                remaining[account].push(r);
            }
            429 => {}
            other => panic!("status {other}"),
        }
    }
    // Each allowed request saw its bucket one lower than the one before it.
    let once: Vec<u64> = (0..10).collect();
    let expected = if crate::harness::on_postgres() {
        once
    } else {
        // Two routers in one test process each keep their own buckets in memory.
        once.iter().flat_map(|&r| [r, r]).collect()
    };
    for (account, mut seen) in remaining.into_iter().enumerate() {
        seen.sort_unstable();
        assert_eq!(seen, expected, "account {account}");
    }
}

#[tokio::test]
async fn authentication_comes_before_the_rate_limit() {
    let app = TestApp::with(&["--rate-limit-per-sec", "0.1", "--rate-limit-burst", "1"]).await;
    app.get("/auth", &app.a.rw).await.ok(200);
    app.get("/auth", &app.a.rw).await.err(429, "PARTNER_RATE_LIMIT_EXCEEDED");
    app.request(Method::GET, &format!("{BASE}/auth"), None, None).await.err(401, "UNAUTHORIZED");
    app.post("/events", &app.a.ro, &json!({})).await.err(403, "INSUFFICIENT_SCOPE");
}
