//! `mingle demo`: the first command a newcomer runs. A temporary database, an org and a
//! token, a sample event of a few hundred attendees generated from a small bank of our
//! own (`demo_bank.json`, separate from the benchmark's), import, enrichment and
//! matching through the real API with progress bars, the best introductions with their
//! reasons, then the API served with the token and example `curl` lines.

use std::time::{Duration, Instant};

use axum::body::Body;
use clap::Args;
use http_body_util::BodyExt;
use indicatif::{ProgressBar, ProgressStyle};
use mingle_core::Scope;
use mingle_service::encoding::EncoderState;
use mingle_service::Services;
use serde::Deserialize;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::config::ServeArgs;

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Attendees of the sample event.
    #[arg(long, default_value_t = 300)]
    pub attendees: usize,
    /// Print the introductions and stop, without serving the API.
    #[arg(long)]
    pub no_serve: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Deserialize)]
struct Bank {
    event: Value,
    sessions: Vec<Value>,
    first_names: Vec<String>,
    last_names: Vec<String>,
    companies: Vec<String>,
    personas: Vec<Persona>,
}

#[derive(Deserialize)]
struct Persona {
    title: Vec<String>,
    goal: Vec<String>,
    needs: Vec<String>,
    offers: Vec<String>,
    interests: Vec<String>,
}

/// A deterministic generator (xorshift64*), so every demo shows the same event.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
    fn some<'a, T>(&mut self, items: &'a [T], at_most: usize) -> Vec<&'a T> {
        let mut picked: Vec<&T> = Vec::new();
        let want = 1 + self.below(at_most);
        while picked.len() < want.min(items.len()) {
            let item = &items[self.below(items.len())];
            if !picked.iter().any(|p| std::ptr::eq(*p, item)) {
                picked.push(item);
            }
        }
        picked
    }
}

/// The sample event's attendee rows.
fn attendees(bank: &Bank, n: usize) -> Vec<Value> {
    let mut rng = Rng(0x6d69_6e67_6c65);
    let sessions: Vec<&str> = bank.sessions.iter().filter_map(|s| s["session_id"].as_str()).collect();
    (0..n)
        .map(|i| {
            let p = &bank.personas[i % bank.personas.len()];
            let first = &bank.first_names[rng.below(bank.first_names.len())];
            let last = &bank.last_names[rng.below(bank.last_names.len())];
            json!({
                "attendee_id": format!("att-{:04}", i + 1),
                "name": format!("{first} {last}"),
                "email": format!("{}.{}.{}@example.com", first.to_lowercase(), last.to_lowercase(), i + 1),
                "title": p.title[rng.below(p.title.len())],
                "company": bank.companies[rng.below(bank.companies.len())],
                "raw_data": {
                    "goal": p.goal[rng.below(p.goal.len())],
                    "needs": rng.some(&p.needs, 2),
                    "offers": rng.some(&p.offers, 2),
                    "interests": p.interests,
                    "sessions": rng.some(&sessions, 3),
                }
            })
        })
        .collect()
}

struct Demo {
    router: axum::Router,
    token: String,
}

impl Demo {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("/api/v0/partner{path}"))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))?;
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!("{method} {path}: {status} {value}");
        }
        Ok(value)
    }

    /// Starts a run and shows it until it ends.
    async fn run(&self, label: &str, method: &str, path: &str, body: Value) -> anyhow::Result<Value> {
        let run = self.call(method, path, Some(body)).await?;
        let run_id = run["run_id"].as_str().unwrap_or_default().to_owned();
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {prefix:<10} {elapsed:>4} {msg}")?);
        bar.set_prefix(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        let start = Instant::now();
        loop {
            let run = self.call("GET", &format!("/runs/{run_id}"), None).await?;
            let status = run["status"].as_str().unwrap_or_default();
            bar.set_message(format!("{status} {}", run["progress"]));
            if ["succeeded", "partial", "failed"].contains(&status) {
                let line = format!("{status} in {:.1} s {}", start.elapsed().as_secs_f64(), run["progress"]);
                if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                    // Not a terminal: no bar is drawn, so say it in a line.
                    println!("{label:<10} {line}");
                }
                bar.finish_with_message(line);
                if status != "succeeded" {
                    anyhow::bail!("the {label} run ended {status}: {}", run["error"]);
                }
                return Ok(run);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// "Dana Kim (Angel Investor, Acme)".
fn who(rows: &[Value], id: &str) -> String {
    rows.iter()
        .find(|r| r["attendee_id"] == id)
        .map(|r| {
            format!(
                "{} ({}, {})",
                r["name"].as_str().unwrap_or(id),
                r["title"].as_str().unwrap_or(""),
                r["company"].as_str().unwrap_or("")
            )
        })
        .unwrap_or_else(|| id.to_owned())
}

fn first_name(rows: &[Value], id: &str) -> String {
    let name = rows.iter().find(|r| r["attendee_id"] == id).and_then(|r| r["name"].as_str()).unwrap_or(id);
    name.split_whitespace().next().unwrap_or(name).to_owned()
}

/// One introduction, for people.
fn introduction(rows: &[Value], m: &Value) -> String {
    let (p, t) = (m["principal_attendee_id"].as_str().unwrap_or(""), m["target_attendee_id"].as_str().unwrap_or(""));
    let mut out =
        format!("  {:.2}  {}  <->  {}\n", m["final_score"].as_f64().unwrap_or(0.0), who(rows, p), who(rows, t));
    for r in m["reasons"].as_array().into_iter().flatten() {
        let (need, offer) = (r["need"].as_str().unwrap_or(""), r["offer"].as_str().unwrap_or(""));
        let (giver, taker) = if r["direction"] == "needsToOffers" { (t, p) } else { (p, t) };
        out.push_str(&format!(
            "        {} offers \u{201c}{offer}\u{201d}, which answers {}'s need for \u{201c}{need}\u{201d} ({:.2})\n",
            first_name(rows, giver),
            first_name(rows, taker),
            r["score"].as_f64().unwrap_or(0.0)
        ));
    }
    if let Some(g) = m["complementary_goals"].as_object() {
        out.push_str(&format!(
            "        goals: {} and {}\n",
            g["principal"].as_str().unwrap_or(""),
            g["target"].as_str().unwrap_or("")
        ));
    }
    out
}

pub async fn run(args: &DemoArgs) -> anyhow::Result<()> {
    args.serve.validate().map_err(anyhow::Error::msg)?;
    let bank: Bank = serde_json::from_str(include_str!("demo_bank.json"))?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let store = mingle_store::connect(&url).await.map_err(|e| anyhow::anyhow!("cannot create {url}: {e}"))?;
    let services = Services::new(store);
    println!("mingle demo: a temporary database at {}", dir.path().display());

    let loading = services.encoder.load_in_background(args.serve.model_dir());
    let org = services.accounts.create_org("Demo Events").await?;
    let token = services
        .accounts
        .create_service_account(&org.org_id, vec![Scope::Read, Scope::Write], Some("demo"))
        .await?
        .token;
    let mut serve = args.serve.clone();
    // The demo's own calls come in bursts; the served API keeps the configured limits.
    serve.rate_limit_per_sec = serve.rate_limit_per_sec.max(10_000.0);
    serve.rate_limit_burst = serve.rate_limit_burst.max(10_000);
    let demo = Demo { router: crate::serve::app(services.clone(), &serve), token: token.clone() };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(services.worker(args.serve.worker.settings()).run(stopped));
    loading.await?;
    if let EncoderState::Unavailable(why) = services.encoder.state() {
        anyhow::bail!("the encoder is unavailable: {why}\n(scripts/fetch-model installs it; scripts/demo does both)");
    }

    let event_id = bank.event["event_id"].as_str().unwrap_or("demo-summit").to_owned();
    let mut event = bank.event.clone();
    let objectives = event.as_object_mut().and_then(|e| e.remove("objectives"));
    demo.call("POST", "/events", Some(event)).await?;
    if let Some(objectives) = objectives {
        demo.call("POST", &format!("/events/{event_id}/context"), Some(json!({"objectives": objectives}))).await?;
    }
    for s in &bank.sessions {
        demo.call("POST", &format!("/events/{event_id}/sessions"), Some(s.clone())).await?;
    }
    let rows = attendees(&bank, args.attendees);
    println!("sample event '{event_id}': {} attendees, {} sessions", rows.len(), bank.sessions.len());
    let body = json!({"idempotency_key": "demo-import", "attendees": rows});
    demo.run("import", "PUT", &format!("/events/{event_id}/attendees:import"), body).await?;
    demo.run(
        "enrich",
        "POST",
        &format!("/events/{event_id}/enrichment-runs"),
        json!({"idempotency_key": "demo-enrich"}),
    )
    .await?;
    demo.run(
        "match",
        "POST",
        &format!("/events/{event_id}/match-runs"),
        json!({"idempotency_key": "demo-match", "top_n": 10}),
    )
    .await?;

    let best = demo.call("GET", &format!("/events/{event_id}/matches?limit=5"), None).await?;
    println!("\nThe best introductions of the event:\n");
    for m in best["items"].as_array().into_iter().flatten() {
        println!("{}", introduction(&rows, m));
    }
    let first = rows.first().and_then(|r| r["attendee_id"].as_str()).unwrap_or("att-0001");
    let mine = demo.call("GET", &format!("/events/{event_id}/attendees/{first}/matches?limit=3"), None).await?;
    println!("Whom {} should meet first:\n", who(&rows, first));
    for m in mine["items"].as_array().into_iter().flatten() {
        println!("{}", introduction(&rows, m));
    }

    if args.no_serve {
        let _ = stop.send(true);
        let _ = worker.await;
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(&args.serve.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.serve.listen))?;
    let base = format!("http://{}/api/v0/partner", listener.local_addr()?);
    println!("The API is serving the demo data (Ctrl-C stops it and removes the temporary database).\n");
    println!("  TOKEN={token}");
    println!("  curl -s {base}/events/{event_id}/matches?limit=3 -H \"Authorization: Bearer $TOKEN\"");
    println!("  curl -s {base}/events/{event_id}/attendees/{first}/matches -H \"Authorization: Bearer $TOKEN\"");
    println!("  curl -s -X POST {base}/events/{event_id}/match-runs -H \"Authorization: Bearer $TOKEN\" \\");
    println!("       -d '{{\"idempotency_key\": \"again\", \"top_n\": 5}}'");
    println!("  the reference: http://{}/docs\n", listener.local_addr()?);
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    mingle_http::server::serve(
        listener,
        crate::serve::app(services, &args.serve),
        args.serve.connection_limits(),
        ctrl_c,
    )
    .await?;
    let _ = stop.send(true);
    let _ = worker.await;
    Ok(())
}
