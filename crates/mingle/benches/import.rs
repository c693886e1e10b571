//! Import benchmark: 50,000 realistic attendee rows into a fresh SQLite database, from
//! the PUT to the run's `succeeded`, through the real router and the embedded worker.
//! Prints the figures; asserts nothing about time.
//!
//!     cargo bench -p mingle --bench import            # 50,000 rows
//!     MINGLE_BENCH_ROWS=10000 cargo bench -p mingle --bench import

use std::time::{Duration, Instant};

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
const GOALS: [&str; 6] = [
    "Raise a seed round for our fintech startup",
    "Hire senior backend engineers",
    "Find early-stage climate companies to invest in",
    "Meet design partners for our analytics product",
    "Learn how others scale platform teams",
    "Find a mentor in product leadership",
];
const NEEDS: [&str; 6] = [
    "seed funding",
    "senior engineers",
    "dealflow in climate tech",
    "pilot customers",
    "advice on scaling",
    "a mentor",
];
const OFFERS: [&str; 6] = [
    "angel investment",
    "engineering leadership advice",
    "introductions to VCs",
    "product feedback",
    "data science mentoring",
    "hiring help",
];

fn row(i: usize) -> Value {
    let (first, last) = (FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()]);
    // About 2% of rows are a second record of an earlier person (same name and email
    // under another ID): identity resolution links them.
    let person = if i % 50 == 49 { i - 7 } else { i };
    let (pf, pl) = (FIRST[person % FIRST.len()], LAST[(person / FIRST.len()) % LAST.len()]);
    let mut r = json!({
        "attendee_id": format!("crm-{i:06}"),
        "name": format!("{pf} {pl}"),
        "email": format!("{}.{}.{person}@example.com", pf.to_lowercase(), pl.to_lowercase()),
        "title": TITLES[i % TITLES.len()],
        "company": format!("Company {}", i % 1_999),
        "raw_data": {
            "source": "crm-export",
            "goal": GOALS[i % GOALS.len()],
            "needs": [NEEDS[i % NEEDS.len()], NEEDS[(i + 2) % NEEDS.len()]],
            "offers": OFFERS[(i + 1) % OFFERS.len()],
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

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

async fn call(app: &axum::Router, req: Request<Body>) -> (u16, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let rows: usize = std::env::var("MINGLE_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = mingle_store::connect(&url).await.unwrap();
    let services = Services::new(store);
    let org = services.accounts.create_org("Bench").await.unwrap();
    let token = services.accounts.create_service_account(&org.org_id, vec![Scope::Write], None).await.unwrap().token;
    let Command::Serve(args) = Cli::parse_from(["mingle", "serve"]).command else { unreachable!() };
    let app = mingle::serve::app(services.clone(), &args);
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let settings = mingle_service::worker::WorkerSettings { poll: Duration::from_millis(5), ..args.worker.settings() };
    tokio::spawn(services.worker(settings).run(stopped));

    let req = |method: &str, path: &str, body: Option<Vec<u8>>| {
        Request::builder()
            .method(method)
            .uri(format!("/api/v0/partner{path}"))
            .header("authorization", format!("Bearer {token}"))
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap()
    };
    let (s, _) = call(&app, req("POST", "/events", Some(br#"{"event_id":"bench","title":"Bench"}"#.to_vec()))).await;
    assert_eq!(s, 201);
    let body =
        serde_json::to_vec(&json!({"idempotency_key": "bench-1", "attendees": (0..rows).map(row).collect::<Vec<_>>()}))
            .unwrap();
    println!("import benchmark: {rows} rows, {:.1} MiB request body", body.len() as f64 / 1048576.0);

    let started = Instant::now();
    let (s, run) = call(&app, req("PUT", "/events/bench/attendees:import", Some(body))).await;
    assert_eq!(s, 202, "{run}");
    let accepted = started.elapsed();
    let run_id = run["run_id"].as_str().unwrap().to_owned();
    let done = loop {
        let (_, run) = call(&app, req("GET", &format!("/runs/{run_id}"), None)).await;
        if ["succeeded", "partial", "failed"].contains(&run["status"].as_str().unwrap_or("")) {
            break run;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let total = started.elapsed();
    assert_eq!(done["status"], "succeeded", "{done}");
    println!("  PUT answered 202 in     {:>8.3} s", accepted.as_secs_f64());
    println!("  PUT to succeeded in     {:>8.3} s", total.as_secs_f64());
    println!("  rows per second         {:>8.0}", rows as f64 / total.as_secs_f64());
    println!("  peak memory (VmHWM)     {:>8.1} MiB", peak_rss_mib());
    println!("  progress                {}", done["progress"]);
}
