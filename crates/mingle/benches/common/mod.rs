//! What the benchmarks share: realistic attendee rows, a peak-memory reading, and an
//! in-process app with its worker.

#![allow(dead_code)]

use std::time::Duration;

use axum::body::Body;
use clap::Parser;
use http::Request;
use http_body_util::BodyExt;
use mingle::cli::{Cli, Command};
use mingle_core::Scope;
use mingle_service::Services;
use serde_json::{json, Value};
use tower::ServiceExt;

const FIRST: [&str; 24] = [
    "Jordan", "Priya", "Mateo", "Aisha", "Liam", "Sofía", "Chen", "Olga", "Kwame", "Hannah", "Ravi", "Emma", "Yuki",
    "Lucas", "Fatima", "Noah", "Zoë", "Diego", "Ingrid", "Omar", "Mei", "Jonas", "Amara", "Tomás",
];
const LAST: [&str; 20] = [
    "Lee",
    "Patel",
    "García",
    "Okafor",
    "Schmidt",
    "Rossi",
    "Nguyen",
    "Kowalski",
    "Haddad",
    "Johansson",
    "Silva",
    "Tanaka",
    "Müller",
    "O'Brien",
    "Dubois",
    "Khan",
    "Novak",
    "Ibrahim",
    "Larsen",
    "Moreau",
];
const TITLES: [&str; 8] = [
    "VP Product",
    "Founder & CEO",
    "Head of Engineering",
    "Partner",
    "Angel Investor",
    "CTO",
    "Recruiter",
    "Data Scientist",
];
// Answers are composed from parts so that, as at a real event, nearly every goal is
// distinct text while needs and offers repeat across attendees: at 50,000 rows 43,200
// distinct goals, 3,612 distinct needs and 3,600 distinct offers (1.01 texts per row).
// Lengths follow the labeled sets in mingle-encoder/benches/data, written independently:
// goals average 12 tokens there (12 here), needs 8 and offers 10 (9.5 here).
const GOALS: [&str; 12] = [
    "Raise seed funding for",
    "Hire engineers for",
    "Invest in",
    "Find design partners in",
    "Learn how to scale",
    "Find a mentor in",
    "Sell our software to",
    "Buy security tools for",
    "Partner with",
    "Find a new role in",
    "Mentor founders in",
    "Meet peers in",
];
const SECTORS: [&str; 20] = [
    "fintech",
    "climate hardware",
    "B2B SaaS",
    "healthtech",
    "AI tooling",
    "logistics",
    "edtech",
    "consumer apps",
    "cybersecurity",
    "biotech",
    "robotics",
    "insurance",
    "retail",
    "gaming",
    "proptech",
    "energy",
    "agritech",
    "legal tech",
    "mobility",
    "media",
];
const PLACES: [&str; 15] = [
    "in Berlin",
    "in Lisbon",
    "in the Nordics",
    "in Kenya",
    "in Texas",
    "in Asia",
    "in Poland",
    "in Brazil",
    "in the UK",
    "in India",
    "in France",
    "in Japan",
    "in Canada",
    "in Mexico",
    "in Dubai",
];
const STAGES: [&str; 12] = [
    "this year",
    "this quarter",
    "before launch",
    "after our pilot",
    "in 2027",
    "this spring",
    "as we grow",
    "for the long term",
    "right now",
    "next year",
    "before Series A",
    "this summer",
];
const NEEDS: [&str; 12] = [
    "seed funding",
    "senior engineers",
    "dealflow",
    "pilot customers",
    "scaling advice",
    "a mentor",
    "distribution partners",
    "security tooling",
    "intros to buyers",
    "a leadership role",
    "regulatory advice",
    "data partners",
];
const OFFERS: [&str; 12] = [
    "angel investment",
    "engineering advice",
    "intros to VCs",
    "product feedback",
    "data mentoring",
    "hiring help",
    "a reseller network",
    "sales coaching",
    "cloud credits",
    "legal advice",
    "office space",
    "speaking slots",
];

/// Row `i`'s parts: every combination of a verb (12), a sector (20) and a place (15)
/// once in 3,600 rows, and a stage (12) on top for goals.
fn parts(i: usize) -> (usize, usize, usize, usize) {
    (i % 12, (i / 12) % 20, (i / 240) % 15, (i / 3_600) % 12)
}

pub fn row(i: usize) -> Value {
    let (first, last) = (FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()]);
    // About 2% of rows are a second record of an earlier person (same name and email
    // under another ID): identity resolution links them.
    let person = if i % 50 == 49 { i - 7 } else { i };
    let (pf, pl) = (FIRST[person % FIRST.len()], LAST[(person / FIRST.len()) % LAST.len()]);
    let (v, s, p, t) = parts(i);
    let mut r = json!({
        "attendee_id": format!("crm-{i:06}"),
        "name": format!("{pf} {pl}"),
        "email": format!("{}.{}.{person}@example.com", pf.to_lowercase(), pl.to_lowercase()),
        "title": TITLES[i % TITLES.len()],
        "company": format!("Company {}", i % 1_999),
        "raw_data": {
            "source": "crm-export",
            "goal": format!("{} {} {} {}", GOALS[v], SECTORS[s], PLACES[p], STAGES[t]),
            "needs": [format!("{} for {} {}", NEEDS[v], SECTORS[s], PLACES[p]), NEEDS[(v + 2) % 12]],
            "offers": format!("{} for {} {}", OFFERS[(v + 5) % 12], SECTORS[(s + 3) % 20], PLACES[(p + 7) % 15]),
            "interests": ["fintech", "ai", "climate"],
            "role_at_event": if i.is_multiple_of(10) { "speaker" } else { "attendee" },
        }
    });
    if i.is_multiple_of(2) {
        r["linkedin_url"] =
            json!(format!("https://www.linkedin.com/in/{}-{}-{i}/", first.to_lowercase(), last.to_lowercase()));
    }
    r
}

pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

pub async fn call(app: &axum::Router, req: Request<Body>) -> (u16, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The router over a fresh SQLite database, with a worker, and a write token.
pub struct BenchApp {
    pub app: axum::Router,
    pub services: Services,
    pub token: String,
    _stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

/// A fresh SQLite file in `dir`, or, with `MINGLE_BENCH_POSTGRES_URL` set, a fresh schema
/// on that PostgreSQL database (the figures then say which).
pub async fn bench_database_url(dir: &std::path::Path) -> String {
    match std::env::var("MINGLE_BENCH_POSTGRES_URL") {
        Ok(base) => {
            println!("backend: PostgreSQL ({base})");
            mingle_store::postgres::fresh_schema_url(&base).await.expect("a fresh PostgreSQL schema")
        }
        Err(_) => {
            println!("backend: SQLite");
            format!("sqlite://{}", dir.join("bench.db").display())
        }
    }
}

impl BenchApp {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = bench_database_url(dir.path()).await;
        let store = mingle_store::connect(&url).await.unwrap();
        let services = Services::new(store);
        let org = services.accounts.create_org("Bench").await.unwrap();
        let token =
            services.accounts.create_service_account(&org.org_id, vec![Scope::Write], None).await.unwrap().token;
        let argv = ["mingle", "serve", "--rate-limit-per-sec", "1000000", "--rate-limit-burst", "1000000"];
        let Command::Serve(args) = Cli::parse_from(argv).command else { unreachable!() };
        let app = mingle::serve::app(services.clone(), &args);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let settings =
            mingle_service::worker::WorkerSettings { poll: Duration::from_millis(5), ..args.worker.settings() };
        tokio::spawn(services.worker(settings).run(stopped));
        Self { app, services, token, _stop: stop, _dir: dir }
    }

    pub fn request(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(format!("/api/v0/partner{path}"))
            .header("authorization", format!("Bearer {}", self.token))
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap()
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> (u16, Value) {
        call(&self.app, self.request(method, path, body)).await
    }

    /// Polls a run until it is terminal.
    pub async fn wait(&self, run_id: &str) -> Value {
        loop {
            let (_, run) = self.call("GET", &format!("/runs/{run_id}"), None).await;
            if ["succeeded", "partial", "failed"].contains(&run["status"].as_str().unwrap_or("")) {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub fn import_body(rows: usize, key: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"idempotency_key": key, "attendees": (0..rows).map(row).collect::<Vec<_>>()}))
            .unwrap()
    }
}

/// The installed encoder (`MINGLE_MODEL_DIR`, or the default model directory), as a
/// match run uses it: the answer adapter applied.
pub fn load_encoder() -> Box<dyn mingle_encoder::Encoder> {
    Box::new(mingle_encoder::MiniLm::load(&mingle_encoder::installed_model_dir()).unwrap_or_else(|e| panic!("{e}")))
}

/// The published model alone, for baselines.
#[allow(dead_code)] // only the quality benchmark prints baselines
pub fn load_base_encoder() -> Box<dyn mingle_encoder::Encoder> {
    Box::new(
        mingle_encoder::MiniLm::load_base(&mingle_encoder::installed_model_dir()).unwrap_or_else(|e| panic!("{e}")),
    )
}
