//! An in-process test app: one temporary SQLite database, two orgs with a read-write
//! and a read-only account each, and helpers that send real HTTP requests through the
//! router and return the status, headers and JSON body.

#![allow(dead_code)]

use axum::body::Body;
use axum::Router;
use clap::Parser;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use mingle::cli::{Cli, Command};
use mingle::config::ServeArgs;
use mingle_core::Scope;
use mingle_service::models::AccountStatus;
use mingle_service::webhooks::SenderSettings;
use mingle_service::worker::WorkerSettings;
use mingle_service::Services;
use serde_json::Value;
use tower::ServiceExt;

pub const BASE: &str = "/api/v0/partner";

pub struct TestOrg {
    pub org_id: String,
    /// partner:read + partner:write
    pub rw: String,
    pub rw_account: String,
    /// partner:read only
    pub ro: String,
}

pub struct TestApp {
    pub router: Router,
    pub services: Services,
    pub a: TestOrg,
    pub b: TestOrg,
    model_dir: std::path::PathBuf,
    /// The test's SQLite file, for checks of the file itself.
    pub database_url: String,
    _stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    /// Asserts the status and that the body carries the header's correlation ID.
    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.assert_correlated();
        &self.body
    }

    /// Asserts the error envelope with `status` and `code`.
    #[track_caller]
    pub fn err(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "expected {status} {code}; body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.trim().is_empty()), "body: {}", self.body);
        if let Some(d) = self.body.get("details") {
            assert!(d.is_object(), "details must be an object: {}", self.body);
        }
        self.assert_correlated();
        &self.body
    }

    #[track_caller]
    pub fn field(&self) -> &str {
        self.body["details"]["field"].as_str().unwrap_or_default()
    }

    #[track_caller]
    pub fn assert_correlated(&self) {
        let header =
            self.headers.get("x-correlation-id").and_then(|v| v.to_str().ok()).expect("X-Correlation-Id header");
        assert!(!header.is_empty());
        assert_eq!(self.body["correlation_id"], header, "body: {}", self.body);
    }
}

/// `serve` settings as the command line would give them, plus `extra` flags.
pub fn serve_args(extra: &[&str]) -> ServeArgs {
    let mut argv = vec!["mingle", "serve"];
    // Tests that do not test the rate limit should never meet it.
    for (flag, value) in [("--rate-limit-per-sec", "100000"), ("--rate-limit-burst", "100000")] {
        if !extra.contains(&flag) {
            argv.extend([flag, value]);
        }
    }
    argv.extend_from_slice(extra);
    match Cli::try_parse_from(argv).expect("valid serve flags").command {
        Command::Serve(args) => args,
        _ => unreachable!(),
    }
}

/// The backend these tests run on: SQLite in `dir`, or, with `MINGLE_TEST_BACKEND=postgres`,
/// a fresh schema on the server `MINGLE_TEST_POSTGRES_URL` names (`scripts/test` runs the
/// suite both ways when that is set).
pub async fn database_url(dir: &std::path::Path) -> String {
    if on_postgres() {
        let base = std::env::var("MINGLE_TEST_POSTGRES_URL")
            .expect("MINGLE_TEST_BACKEND=postgres needs MINGLE_TEST_POSTGRES_URL");
        mingle_store::postgres::fresh_schema_url(&base).await.expect("a fresh PostgreSQL schema")
    } else {
        format!("sqlite://{}", dir.join("test.db").display())
    }
}

pub fn on_postgres() -> bool {
    std::env::var("MINGLE_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(&[]).await
    }

    pub async fn with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = database_url(dir.path()).await;
        let store = mingle_store::connect(&url).await.expect("open store");
        let services = Services::new(store.clone());
        let a = provision(&services, "Org A").await;
        let b = provision(&services, "Org B").await;
        let args = serve_args(extra);
        let router = mingle::serve::app(services.clone(), &args);
        // The embedded worker, as `serve` runs it, polling often so tests wait little.
        let settings = WorkerSettings { poll: std::time::Duration::from_millis(20), ..args.worker.settings() };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        if !args.no_worker {
            tokio::spawn(services.worker(settings).run(stopped.clone()));
            let sender = SenderSettings { poll: std::time::Duration::from_millis(20), ..args.worker.sender_settings() };
            tokio::spawn(services.webhook_sender(mingle_http::dto::run_object, sender).run(stopped));
        }
        Self { router, services, a, b, model_dir: args.model_dir(), database_url: url, _stop: stop, _dir: dir }
    }

    pub async fn send(&self, request: Request<Body>) -> Resp {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Resp { status, headers, body }
    }

    /// A request to an absolute path with an optional bearer token and raw body.
    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Vec<u8>>) -> Resp {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            builder = builder.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(b) => {
                builder = builder.header("content-type", "application/json");
                Body::from(b)
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).unwrap()).await
    }

    /// GET a partner path (relative to the base).
    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.request(Method::GET, &format!("{BASE}{path}"), Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.request(Method::POST, &format!("{BASE}{path}"), Some(token), Some(body.to_string().into_bytes())).await
    }

    pub async fn post_raw(&self, path: &str, token: &str, body: &str) -> Resp {
        self.request(Method::POST, &format!("{BASE}{path}"), Some(token), Some(body.as_bytes().to_vec())).await
    }

    /// Creates an event in the org of `token`; returns its body.
    pub async fn event(&self, token: &str, event_id: &str) -> Value {
        self.post("/events", token, &serde_json::json!({"event_id": event_id, "title": format!("Event {event_id}")}))
            .await
            .ok(201)
            .clone()
    }

    pub async fn session(&self, token: &str, event_id: &str, session_id: &str, start: Option<&str>) -> Value {
        let mut body = serde_json::json!({"session_id": session_id, "title": "Session"});
        if let Some(s) = start {
            body["start_timestamp"] = s.into();
        }
        self.post(&format!("/events/{event_id}/sessions"), token, &body).await.ok(201).clone()
    }

    /// Loads the encoder as `serve` does at start-up, and waits for the outcome.
    pub async fn load_encoder(&self) {
        self.services.encoder.load_in_background(self.model_dir.clone()).await.expect("load task");
    }

    pub async fn set_status(&self, account: &str, status: AccountStatus) {
        self.services.accounts.set_status(account, status).await.expect("status change");
    }
}

async fn provision(services: &Services, name: &str) -> TestOrg {
    let org = services.accounts.create_org(name).await.expect("org");
    let rw = services
        .accounts
        .create_service_account(&org.org_id, vec![Scope::Read, Scope::Write], Some("rw"))
        .await
        .unwrap();
    let ro = services.accounts.create_service_account(&org.org_id, vec![Scope::Read], Some("ro")).await.unwrap();
    TestOrg { org_id: org.org_id, rw: rw.token, rw_account: rw.account.service_account_id, ro: ro.token }
}

/// Follows `next_cursor` with the given limits (cycled); returns every item.
pub async fn walk(app: &TestApp, path: &str, token: &str, limits: &[u32]) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for i in 0.. {
        let limit = limits[i % limits.len()];
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let r = app.get(&url, token).await;
        let body = r.ok(200);
        let page = body["items"].as_array().unwrap();
        assert!(page.len() <= limit as usize);
        items.extend(page.iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(page.len(), limit as usize, "a page before the last is full");
                cursor = Some(c.to_owned());
            }
            None => break,
        }
        assert!(i < 10_000, "paging did not end");
    }
    items
}

impl TestApp {
    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.request(Method::PUT, &format!("{BASE}{path}"), Some(token), Some(body.to_string().into_bytes())).await
    }

    /// Imports `rows` into `event_id` and waits for the run to end; returns the run.
    pub async fn import(&self, token: &str, event_id: &str, rows: Value) -> Value {
        let key = uuid::Uuid::new_v4().to_string();
        let r = self
            .put(
                &format!("/events/{event_id}/attendees:import"),
                token,
                &serde_json::json!({"idempotency_key": key, "attendees": rows}),
            )
            .await;
        let run = r.ok(202).clone();
        self.wait_run(token, run["run_id"].as_str().unwrap()).await
    }

    /// Polls a run until it is terminal.
    pub async fn wait_run(&self, token: &str, run_id: &str) -> Value {
        for _ in 0..2000 {
            let run = self.get(&format!("/runs/{run_id}"), token).await.ok(200).clone();
            if ["succeeded", "partial", "failed"].contains(&run["status"].as_str().unwrap()) {
                return run;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("run {run_id} did not end");
    }

    /// The event's attendees by ID.
    pub async fn attendees(&self, token: &str, event_id: &str) -> std::collections::BTreeMap<String, Value> {
        walk(self, &format!("/events/{event_id}/attendees"), token, &[100])
            .await
            .into_iter()
            .map(|a| (a["attendee_id"].as_str().unwrap().to_owned(), a))
            .collect()
    }

    /// An attendee's identity history, newest first.
    pub async fn history(&self, token: &str, event_id: &str, attendee_id: &str) -> Vec<Value> {
        walk(self, &format!("/events/{event_id}/attendees/{attendee_id}/identity"), token, &[100]).await
    }

    /// The open reviews of an event, newest first.
    pub async fn reviews(&self, token: &str, event_id: &str) -> Vec<Value> {
        walk(self, &format!("/events/{event_id}/review-queue"), token, &[100]).await
    }
}
