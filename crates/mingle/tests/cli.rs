//! The real `mingle` binary: provision with the command line, serve, call the API.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "support/receiver.rs"]
mod receiver;
use receiver::{Receiver, Reply};

const BIN: &str = env!("CARGO_BIN_EXE_mingle");

fn mingle(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("MINGLE_DATABASE_URL")
        .env("MINGLE_LOG", "warn")
        .output()
        .expect("run mingle")
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path) -> (Server, String) {
    serve_with(dir, &[])
}

fn serve_with(dir: &Path, extra: &[&str]) -> (Server, String) {
    serve_logging(dir, extra, "info", Stdio::null())
}

/// `mingle serve` with JSON logs at `level` written to `log`.
fn serve_logging(dir: &Path, extra: &[&str], level: &str, log: impl Into<Stdio>) -> (Server, String) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .current_dir(dir)
        .env_remove("MINGLE_DATABASE_URL")
        .env("MINGLE_LOG_FORMAT", "json")
        .env("MINGLE_LOG", level)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start mingle serve");
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if reqwest::blocking::get(format!("{base}/healthz")).is_ok_and(|r| r.status() == 200) {
            return (server, base);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("mingle serve did not answer /healthz within 30 s");
}

#[test]
fn provision_with_the_cli_then_serve_on_the_default_database() {
    let dir = tempfile::tempdir().unwrap();
    let org = json_of(&mingle(dir.path(), &["org", "create", "Acme Events", "--json"]));
    assert_eq!(org["name"], "Acme Events");
    assert!(org["webhook_secret"].as_str().unwrap().starts_with("whsec_"));
    let org_id = org["org_id"].as_str().unwrap();
    assert!(dir.path().join("mingle.db").exists(), "the default database is ./mingle.db");

    let rw = json_of(&mingle(
        dir.path(),
        &[
            "service-account",
            "create",
            "--org",
            org_id,
            "--scopes",
            "partner:read,partner:write",
            "--name",
            "crm",
            "--json",
        ],
    ));
    assert_eq!(rw["org_id"], org_id);
    assert_eq!(rw["scopes"], json!(["partner:read", "partner:write"]));
    let token = rw["token"].as_str().unwrap().to_owned();
    let account = rw["service_account_user_id"].as_str().unwrap().to_owned();

    // Readable output for people.
    let text = mingle(dir.path(), &["service-account", "create", "--org", org_id, "--scopes", "partner:read"]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("token:") && text.contains("shown only now"), "{text}");

    let (_server, base) = serve(dir.path());
    let client = reqwest::blocking::Client::new();
    let auth = client.get(format!("{base}/api/v0/partner/auth")).bearer_auth(&token).send().unwrap();
    assert_eq!(auth.status(), 200);
    let cid = auth.headers()["x-correlation-id"].to_str().unwrap().to_owned();
    let body: Value = auth.json().unwrap();
    assert_eq!(body["org_id"], org_id);
    assert_eq!(body["service_account_user_id"], account.as_str());
    assert_eq!(body["correlation_id"], cid.as_str());

    let created = client
        .post(format!("{base}/api/v0/partner/events"))
        .bearer_auth(&token)
        .json(&json!({"event_id": "summit-2026", "title": "Summit"}))
        .send()
        .unwrap();
    assert_eq!(created.status(), 201);
    let got: Value =
        client.get(format!("{base}/v0/partner/events/summit-2026")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(got["title"], "Summit");

    // Status changes through the CLI take effect on the very next request. Each check
    // is made many times over fresh connections, so every runtime thread's own
    // read connection (sqlite/on_thread.rs), already warm, has to see it.
    let status = |action: &str| json_of(&mingle(dir.path(), &["service-account", action, &account, "--json"]));
    let codes = || {
        (0..16)
            .map(|_| {
                let r = reqwest::blocking::Client::new()
                    .get(format!("{base}/api/v0/partner/auth"))
                    .bearer_auth(&token)
                    .send()
                    .unwrap();
                let code = r.status().as_u16();
                let body: Value = r.json().unwrap();
                body["code"].as_str().map(str::to_owned).unwrap_or_else(|| code.to_string())
            })
            .collect::<std::collections::BTreeSet<String>>()
    };
    assert_eq!(codes(), ["200".to_owned()].into());
    assert_eq!(status("disable")["status"], "disabled");
    assert_eq!(codes(), ["ACCOUNT_DISABLED".to_owned()].into());
    assert_eq!(status("enable")["status"], "active");
    assert_eq!(codes(), ["200".to_owned()].into());
    assert_eq!(status("revoke")["status"], "revoked");
    assert_eq!(codes(), ["UNAUTHORIZED".to_owned()].into());
    let again = mingle(dir.path(), &["service-account", "enable", &account]);
    assert!(!again.status.success(), "a revoked account cannot be enabled");
}

#[test]
fn bad_provisioning_input_fails_with_a_message_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = mingle(
        dir.path(),
        &["service-account", "create", "--org", "no-such-org", "--scopes", "partner:read", "--json"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ORG_NOT_FOUND"));
    let org = json_of(&mingle(dir.path(), &["org", "create", "X", "--json"]));
    let out = mingle(
        dir.path(),
        &["service-account", "create", "--org", org["org_id"].as_str().unwrap(), "--scopes", "admin"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scope 'admin'"));
    let out = mingle(dir.path(), &["service-account", "disable", "nobody"]);
    assert!(!out.status.success());
    let out = mingle(dir.path(), &["--database-url", "mysql://x", "org", "create", "X"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}

#[test]
fn settings_are_read_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("elsewhere.db");
    let out = Command::new(BIN)
        .args(["org", "create", "Env", "--json"])
        .current_dir(dir.path())
        .env("MINGLE_DATABASE_URL", format!("sqlite://{}", db.display()))
        .output()
        .unwrap();
    json_of(&out);
    assert!(db.exists());
    let bad = Command::new(BIN)
        .args(["serve"])
        .current_dir(dir.path())
        .env("MINGLE_WEBHOOK_INSECURE", "maybe")
        .output()
        .unwrap();
    assert!(!bad.status.success(), "an unreadable boolean is refused");
}

/// Polls a run until `done` holds; returns the run.
/// SIGKILLs `server` as soon as a worker holds the run, asserting the kill lands mid-run;
/// returns the run as it was then.
fn kill_while_running(
    server: Server,
    client: &reqwest::blocking::Client,
    base: &str,
    token: &str,
    run_id: &str,
) -> Value {
    let running = poll_run(client, base, token, run_id, |r| r["status"] != "queued");
    assert_eq!(running["status"], "running", "the kill must land mid-run: {running}");
    drop(server);
    running
}

fn poll_run(
    client: &reqwest::blocking::Client,
    base: &str,
    token: &str,
    run_id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let run: Value = client
            .get(format!("{base}/api/v0/partner/runs/{run_id}"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if done(&run) {
            return run;
        }
        assert!(Instant::now() < deadline, "run did not reach the state in time: {run}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every item of a partner list, following `next_cursor` 100 at a time.
fn list_all(client: &reqwest::blocking::Client, base: &str, token: &str, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v0/partner{path}?limit=100");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client.get(url).bearer_auth(token).send().unwrap().json().unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

#[test]
fn a_killed_server_loses_no_import_and_duplicates_no_row() {
    const ROWS: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let org = json_of(&mingle(dir.path(), &["org", "create", "Crash", "--json"]));
    let account = json_of(&mingle(
        dir.path(),
        &[
            "service-account",
            "create",
            "--org",
            org["org_id"].as_str().unwrap(),
            "--scopes",
            "partner:read,partner:write",
            "--json",
        ],
    ));
    let token = account["token"].as_str().unwrap().to_owned();
    let lease = ["--run-lease-secs", "3", "--rate-limit-per-sec", "100000", "--rate-limit-burst", "100000"];
    let (server, base) = serve_with(dir.path(), &lease);
    let client = reqwest::blocking::Client::new();
    let api = |p: &str| format!("{base}/api/v0/partner{p}");
    let r = client
        .post(api("/events"))
        .bearer_auth(&token)
        .json(&json!({"event_id": "big", "title": "Big"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let rows: Vec<Value> = (0..ROWS)
        .map(|i| {
            json!({"attendee_id": format!("att-{i:06}"), "name": format!("Person {i} Example"),
                "email": format!("person{i}@example.com"), "company": format!("Company {}", i % 500),
                "raw_data": {"goal": "meet investors", "needs": ["funding"], "offers": ["advice"]}})
        })
        .collect();
    let r = client
        .put(api("/events/big/attendees:import"))
        .bearer_auth(&token)
        .json(&json!({"idempotency_key": "crash-1", "attendees": rows}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    let run_id = r.json::<Value>().unwrap()["run_id"].as_str().unwrap().to_owned();
    let running = kill_while_running(server, &client, &base, &token, &run_id);
    eprintln!("killed while the run was {}", running["status"]);

    let (_server, base) = serve_with(dir.path(), &lease);
    let done = poll_run(&client, &base, &token, &run_id, |r| {
        ["succeeded", "partial", "failed"].contains(&r["status"].as_str().unwrap())
    });
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done["terminal_at"].is_string());
    assert_eq!(done["progress"]["created"], ROWS);
    // Every row exactly once.
    let mut seen = std::collections::HashSet::new();
    for item in list_all(&client, &base, &token, "/events/big/attendees") {
        assert!(seen.insert(item["attendee_id"].as_str().unwrap().to_owned()), "row listed twice: {item}");
    }
    assert_eq!(seen.len(), ROWS);
    let history: Value = client
        .get(format!("{base}/api/v0/partner/events/big/attendees/att-000042/identity"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(history["items"].as_array().unwrap().len(), 1, "one minted decision, not one per attempt");
}

#[test]
fn a_server_killed_mid_match_run_ends_the_run_with_its_rows_exactly_once() {
    const ATTENDEES: usize = 400;
    let dir = tempfile::tempdir().unwrap();
    let org = json_of(&mingle(dir.path(), &["org", "create", "Crash", "--json"]));
    let org_id = org["org_id"].as_str().unwrap();
    let scopes = ["service-account", "create", "--org", org_id, "--scopes", "partner:read,partner:write", "--json"];
    let token = json_of(&mingle(dir.path(), &scopes))["token"].as_str().unwrap().to_owned();
    let lease = ["--run-lease-secs", "3", "--rate-limit-per-sec", "100000", "--rate-limit-burst", "100000"];
    let (server, base) = serve_with(dir.path(), &lease);
    let client = reqwest::blocking::Client::new();
    let api = |base: &str, p: &str| format!("{base}/api/v0/partner{p}");
    let r =
        client.post(api(&base, "/events")).bearer_auth(&token).json(&json!({"event_id": "ev", "title": "Ev"})).send();
    assert_eq!(r.unwrap().status(), 201);
    let topics = ["payments", "robotics", "clinical trials", "retail analytics", "solar farms", "music licensing"];
    let rows: Vec<Value> = (0..ATTENDEES)
        .map(|i| {
            let (t, u) = (topics[i % 6], topics[(i / 6) % 6]);
            json!({"attendee_id": format!("att-{i:04}"), "name": format!("Person {i}"),
                "raw_data": {"goal": format!("Meet people working on {t} ({i})"),
                    "needs": [format!("partners for {t} project {i}")], "offers": [format!("advice on {u}, case {i}")]}})
        })
        .collect();
    let r = client
        .put(api(&base, "/events/ev/attendees:import"))
        .bearer_auth(&token)
        .json(&json!({"idempotency_key": "imp", "attendees": rows}))
        .send()
        .unwrap();
    let import_id = r.json::<Value>().unwrap()["run_id"].as_str().unwrap().to_owned();
    poll_run(&client, &base, &token, &import_id, |r| r["status"] == "succeeded");
    let r = client
        .post(api(&base, "/events/ev/match-runs"))
        .bearer_auth(&token)
        .json(&json!({"idempotency_key": "m", "top_n": 5}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    let run_id = r.json::<Value>().unwrap()["run_id"].as_str().unwrap().to_owned();
    // Kill the server (SIGKILL) as soon as a worker has the run: it is enriching the
    // event's 1,200 texts first, so the kill lands mid-run.
    kill_while_running(server, &client, &base, &token, &run_id);
    // Nothing of the interrupted attempt is visible.
    let (server, base) = serve_with(dir.path(), &[&lease[..], &["--no-worker"]].concat());
    let early: Value = client.get(api(&base, "/events/ev/matches")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(early["code"], "MATCH_RUN_NOT_FOUND", "{early}");
    drop(server);

    let (_server, base) = serve_with(dir.path(), &lease);
    let done = poll_run(&client, &base, &token, &run_id, |r| {
        ["succeeded", "partial", "failed"].contains(&r["status"].as_str().unwrap())
    });
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["progress"]["attendees"], ATTENDEES);
    let mut pairs = std::collections::HashSet::new();
    for item in list_all(&client, &base, &token, "/events/ev/matches") {
        let (p, t) = (item["principal_attendee_id"].as_str().unwrap(), item["target_attendee_id"].as_str().unwrap());
        assert_eq!(item["run_id"], run_id.as_str());
        assert!(pairs.insert((p.min(t).to_owned(), p.max(t).to_owned())), "pair listed twice: {item}");
    }
    assert_eq!(pairs.len() as u64, done["progress"]["matches_written"].as_u64().unwrap());
    assert!(pairs.len() >= ATTENDEES * 5 / 2, "every attendee has five targets: {}", pairs.len());
}

#[test]
fn the_demo_matches_a_sample_event_and_prints_introductions_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let out = mingle(dir.path(), &["demo", "--attendees", "60", "--no-serve"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}: {}\n{stdout}", out.status, String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("sample event 'demo-summit': 60 attendees, 6 sessions"), "{stdout}");
    assert!(stdout.contains("The best introductions of the event:"), "{stdout}");
    assert!(stdout.contains(", which answers "), "an introduction quotes a need and the offer answering it: {stdout}");
    assert!(stdout.contains("Whom "), "{stdout}");
    // The demo's database was temporary: nothing is left in the working directory.
    assert!(!dir.path().join("mingle.db").exists());
}

/// An org and a read-write token, provisioned with the command line.
fn provision(dir: &Path) -> (String, String) {
    let org = json_of(&mingle(dir, &["org", "create", "Hooks", "--json"]));
    let org_id = org["org_id"].as_str().unwrap().to_owned();
    let account = json_of(&mingle(
        dir,
        &["service-account", "create", "--org", &org_id, "--scopes", "partner:read,partner:write", "--json"],
    ));
    (org_id, account["token"].as_str().unwrap().to_owned())
}

/// Queues an import of one attendee into a new event, with `webhook_url`; returns the run ID.
fn import_with_hook(client: &reqwest::blocking::Client, base: &str, token: &str, webhook_url: &str) -> String {
    let api = format!("{base}/api/v0/partner");
    let r =
        client.post(format!("{api}/events")).bearer_auth(token).json(&json!({"event_id": "ev", "title": "Ev"})).send();
    assert_eq!(r.unwrap().status(), 201);
    let body = json!({"idempotency_key": "k", "attendees": [{"attendee_id": "a1", "name": "Ann"}], "webhook_url": webhook_url});
    let run: Value = client
        .put(format!("{api}/events/ev/attendees:import"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap()
        .json()
        .unwrap();
    run["run_id"].as_str().expect("a queued run").to_owned()
}

fn deliveries(dir: &Path, org_id: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["webhooks", "list", "--org", org_id, "--json"];
    args.extend_from_slice(extra);
    json_of(&mingle(dir, &args))["deliveries"].as_array().unwrap().clone()
}

#[test]
fn webhook_operator_commands_rotate_list_and_redeliver() {
    let dir = tempfile::tempdir().unwrap();
    let (org_id, token) = provision(dir.path());
    let before = json_of(&mingle(dir.path(), &["webhooks", "list", "--org", &org_id, "--json"]));
    assert_eq!(before, json!({"deliveries": []}));

    let rotated = json_of(&mingle(dir.path(), &["org", "rotate-webhook-secret", &org_id, "--json"]));
    assert_eq!(rotated["org_id"], org_id.as_str());
    assert!(rotated["webhook_secret"].as_str().unwrap().starts_with("whsec_"));
    assert!(rotated["previous_secret_valid_until"].is_string());
    let text = mingle(dir.path(), &["org", "rotate-webhook-secret", &org_id]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("two signatures"));

    let receiver = Receiver::start(vec![]);
    let (server, base) = serve_with(dir.path(), &["--webhook-insecure"]);
    let client = reqwest::blocking::Client::new();
    let run_id = import_with_hook(&client, &base, &token, &receiver.url("/h"));
    let first = receiver.wait_hits_blocking(1, Duration::from_secs(30));
    assert_eq!(first[0].header("webhook-signature").split(' ').count(), 2, "the old secret signs too");
    let list = loop {
        let list = deliveries(dir.path(), &org_id, &[]);
        if list.first().is_some_and(|d| d["status"] == "succeeded") {
            break list;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let d = &list[0];
    assert_eq!(
        (d["run_id"].as_str(), d["type"].as_str(), d["attempts"].as_i64()),
        (Some(run_id.as_str()), Some("run.succeeded"), Some(1))
    );
    assert_eq!(d["last_attempt"]["status_code"], 204);
    assert_eq!(d["last_attempt"]["error"], Value::Null);
    assert!(deliveries(dir.path(), &org_id, &["--failed"]).is_empty());
    let id = d["delivery_id"].as_str().unwrap();
    assert_eq!(first[0].header("webhook-id"), id);

    let again = json_of(&mingle(dir.path(), &["webhooks", "redeliver", id, "--json"]));
    assert_eq!((again["delivery_id"].as_str(), again["status"].as_str()), (Some(id), Some("pending")));
    let hits = receiver.wait_hits_blocking(2, Duration::from_secs(30));
    assert_eq!(hits[1].header("webhook-id"), id);
    drop(server);

    let missing = mingle(dir.path(), &["webhooks", "redeliver", "msg_missing"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("DELIVERY_NOT_FOUND"));
    let out = mingle(dir.path(), &["webhooks", "list", "--org", "no-such-org"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("ORG_NOT_FOUND"));
    let out = mingle(dir.path(), &["org", "rotate-webhook-secret", "no-such-org"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("ORG_NOT_FOUND"));
}

#[test]
fn a_delivery_pending_across_a_sigkill_arrives_once_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (org_id, token) = provision(dir.path());
    // The first attempt gets a 500, so the delivery waits ~5 s for its retry; the
    // server is killed in that wait.
    let receiver = Receiver::start(vec![Reply::Status(500)]);
    let (server, base) = serve_with(dir.path(), &["--webhook-insecure"]);
    let client = reqwest::blocking::Client::new();
    import_with_hook(&client, &base, &token, &receiver.url("/h"));
    receiver.wait_hits_blocking(1, Duration::from_secs(30));
    let pending = loop {
        let list = deliveries(dir.path(), &org_id, &[]);
        if list.first().is_some_and(|d| d["attempts"] == 1) {
            break list[0].clone();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(pending["status"], "pending");
    drop(server); // SIGKILL
    assert_eq!(receiver.hits().len(), 1, "the kill landed before the retry");

    let (_server, _) = serve_with(dir.path(), &["--webhook-insecure"]);
    let hits = receiver.wait_hits_blocking(2, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    let hits_after = receiver.hits();
    assert_eq!(hits_after.len(), 2, "exactly one more request after the restart");
    assert_eq!(hits[0].header("webhook-id"), hits[1].header("webhook-id"));
    assert_eq!(hits_after.iter().map(|h| h.status).collect::<Vec<_>>(), [500, 204], "delivered once");
    let done = loop {
        let list = deliveries(dir.path(), &org_id, &[]);
        if list[0]["status"] != "pending" {
            break list[0].clone();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!((done["status"].as_str(), done["attempts"].as_i64()), (Some("succeeded"), Some(2)));
}

#[test]
fn json_logs_carry_the_request_fields_and_never_a_token_a_secret_or_a_signature() {
    let dir = tempfile::tempdir().unwrap();
    let (org_id, token) = provision(dir.path());
    let old = json_of(&mingle(dir.path(), &["org", "rotate-webhook-secret", &org_id, "--json"]));
    let rotated = json_of(&mingle(dir.path(), &["org", "rotate-webhook-secret", &org_id, "--json"]));
    let receiver = Receiver::start(vec![Reply::Status(500)]);
    let log_path = dir.path().join("mingle.log");
    let log = std::fs::File::create(&log_path).unwrap();
    // Debug level: what the dependencies log must not leak either.
    let (server, base) = serve_logging(dir.path(), &["--webhook-insecure"], "debug", log);
    let client = reqwest::blocking::Client::new();
    import_with_hook(&client, &base, &token, &receiver.url("/h"));
    let r = client
        .get(format!("{base}/api/v0/partner/events/ev"))
        .bearer_auth(&token)
        .header("x-correlation-id", "trace-me-1")
        .send();
    assert_eq!(r.unwrap().status(), 200);
    let r = client.get(format!("{base}/api/v0/partner/events/ev")).bearer_auth(format!("{token}x")).send();
    assert_eq!(r.unwrap().status(), 401);
    let hits = receiver.wait_hits_blocking(2, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    drop(server);

    let text = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert!(lines.len() > 10, "{} log lines", lines.len());
    let served = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request served" && l["span"]["correlation_id"] == "trace-me-1")
        .unwrap_or_else(|| panic!("no request line for the correlation ID in:\n{text}"));
    assert_eq!(served["fields"]["org_id"], org_id.as_str());
    assert_eq!(served["fields"]["route"], "/api/v0/partner/events/:event_id");
    assert_eq!(served["fields"]["path"], "/api/v0/partner/events/ev");
    assert_eq!(served["fields"]["method"], "GET");
    assert_eq!(served["fields"]["status"], 200);
    assert!(served["fields"]["latency_ms"].is_u64());

    let mut secrets: Vec<String> = vec![token.clone(), token["mgl_".len()..].to_owned()];
    for s in [&old["webhook_secret"], &rotated["webhook_secret"]] {
        let s = s.as_str().unwrap();
        secrets.extend([s.to_owned(), s["whsec_".len()..].to_owned()]);
    }
    for hit in &hits {
        for signature in hit.header("webhook-signature").split(' ') {
            secrets.push(signature["v1,".len()..].to_owned());
        }
    }
    assert_eq!(secrets.len(), 2 + 4 + 4, "two signatures on each of two deliveries");
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "the log leaks '{secret}'");
    }
}

// Lifecycle and connection limits.

/// Reads what the server sends until it closes the connection; `None` when it is still
/// open after `within`.
fn read_until_closed(stream: &mut std::net::TcpStream, within: Duration) -> Option<String> {
    use std::io::Read;
    stream.set_read_timeout(Some(within)).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&seen).into_owned()),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(String::from_utf8_lossy(&seen).into_owned())
            }
            Err(_) => return None,
        }
    }
}

fn healthz_answers(base: &str) -> bool {
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    client.get(format!("{base}/healthz")).send().is_ok_and(|r| r.status() == 200)
}

#[test]
fn half_sent_requests_and_slow_headers_are_closed_after_the_timeout_while_healthz_answers() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let limits = ["--header-read-timeout-secs", "2", "--max-connections", "3000"];
    let (_server, base) = serve_with(dir.path(), &limits);
    let addr = base.trim_start_matches("http://").to_owned();
    // A kept-alive connection that was answered and then says nothing is idle: closed
    // after the same timeout, not before.
    {
        use std::io::Read;
        let mut idle = std::net::TcpStream::connect(&addr).unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut first = [0u8; 512];
        let n = idle.read(&mut first).unwrap();
        assert!(first[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&first[..n]));
        let answered = Instant::now();
        read_until_closed(&mut idle, Duration::from_secs(6)).expect("an idle keep-alive connection is closed");
        let idle_for = answered.elapsed();
        assert!(
            idle_for >= Duration::from_millis(1500) && idle_for < Duration::from_secs(5),
            "closed after {idle_for:?}"
        );
    }
    let opened = Instant::now();
    let mut held: Vec<std::net::TcpStream> = (0..2000)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap(); // never finished
            s
        })
        .collect();
    // One more sends its headers at 1 byte/s.
    let slow = std::net::TcpStream::connect(&addr).unwrap();
    let mut writer = slow.try_clone().unwrap();
    std::thread::spawn(move || {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: slow\r\n\r\n" {
            if writer.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    // While they are held, the service answers.
    for _ in 0..3 {
        assert!(healthz_answers(&base), "/healthz must answer while 2,001 connections hang");
        std::thread::sleep(Duration::from_millis(300));
    }
    // After the timeout every one of them is closed by the server.
    for (i, stream) in held.iter_mut().enumerate() {
        let closed = read_until_closed(stream, Duration::from_secs(6));
        assert!(closed.is_some(), "connection {i} still open {:?} after opening", opened.elapsed());
    }
    let mut slow = slow;
    assert!(read_until_closed(&mut slow, Duration::from_secs(6)).is_some(), "the 1 byte/s request was not cut off");
    assert!(opened.elapsed() < Duration::from_secs(15), "closed after {:?}", opened.elapsed());
    assert!(healthz_answers(&base));
}

#[test]
fn connections_beyond_the_cap_are_refused_at_once_with_the_envelope() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = serve_with(dir.path(), &["--max-connections", "4"]);
    let addr = base.trim_start_matches("http://").to_owned();
    std::thread::sleep(Duration::from_millis(200)); // the start-up probe's connection has closed
    let idle: Vec<_> = (0..4).map(|_| std::net::TcpStream::connect(&addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let mut extra = std::net::TcpStream::connect(&addr).unwrap();
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = read_until_closed(&mut extra, Duration::from_secs(5)).expect("closed at once");
    assert!(started.elapsed() < Duration::from_secs(2), "refused after {:?}", started.elapsed());
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["code"], "UNAVAILABLE");
    assert!(body["correlation_id"].as_str().is_some_and(|c| !c.is_empty()));
    drop(idle);
    std::thread::sleep(Duration::from_millis(300));
    assert!(healthz_answers(&base), "served again once connections closed");
}

#[test]
fn requests_hyper_cannot_parse_get_the_envelope_and_a_correlation_id() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = serve(dir.path());
    let addr = base.trim_start_matches("http://").to_owned();
    let many_headers: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases = [
        (
            "POST /api/v0/partner/events HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_owned(),
            "400",
            "MALFORMED_REQUEST",
        ),
        ("GARBAGE\r\n\r\n".to_owned(), "400", "MALFORMED_REQUEST"),
        (format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)), "414", "URI_TOO_LONG"),
        (format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n"), "431", "HEADERS_TOO_LARGE"),
    ];
    for (request, status, code) in cases {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        let _ = s.write_all(request.as_bytes());
        let answer = read_until_closed(&mut s, Duration::from_secs(5)).expect("answered and closed");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{code}: {answer}"));
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{code}: {head}");
        let head = head.to_ascii_lowercase();
        assert!(head.contains("content-type: application/json"), "{head}");
        let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{code}: {e}: {body:?}"));
        assert_eq!(body["code"], code);
        let cid = body["correlation_id"].as_str().unwrap();
        assert!(head.contains(&format!("x-correlation-id: {cid}")), "{head}");
    }
    assert!(healthz_answers(&base), "the server serves on");
}

/// Sends headers and the first `sent` bytes of a `length`-byte body, then waits for the
/// answer.
fn stalled_body(addr: &str, token: &str, sent: &[u8], length: usize) -> (String, Value) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "PUT /api/v0/partner/events/ev/attendees:import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(sent).unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(10)).expect("answered and closed");
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer.split("\r\n\r\n").nth(1).and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    (status, body)
}

#[test]
fn a_body_that_stalls_gets_408_and_a_request_that_outlives_its_time_503_and_neither_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (_org, token) = provision(dir.path());
    let client = reqwest::blocking::Client::new();
    let body = br#"{"idempotency_key": "k", "attendees": ["#;
    for (flags, status, code) in [
        (["--body-read-timeout-secs", "1", "--request-timeout-secs", "60"], "HTTP/1.1 408", "REQUEST_TIMEOUT"),
        (["--body-read-timeout-secs", "60", "--request-timeout-secs", "1"], "HTTP/1.1 503", "UNAVAILABLE"),
    ] {
        let (_server, base) = serve_with(dir.path(), &flags);
        let api = format!("{base}/api/v0/partner");
        let _ = client
            .post(format!("{api}/events"))
            .bearer_auth(&token)
            .json(&json!({"event_id": "ev", "title": "Ev"}))
            .send();
        let started = Instant::now();
        let (line, envelope) = stalled_body(base.trim_start_matches("http://"), &token, body, 1000);
        assert!(line.starts_with(status), "{flags:?}: {line}");
        assert_eq!(envelope["code"], code, "{envelope}");
        assert!(envelope["correlation_id"].is_string());
        assert!(started.elapsed() < Duration::from_secs(5), "answered after {:?}", started.elapsed());
        let runs: Value = client.get(format!("{api}/runs")).bearer_auth(&token).send().unwrap().json().unwrap();
        assert_eq!(runs["items"], json!([]), "a timed-out request records no run");
    }
}

fn sigterm(server: &mut Server) {
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
}

fn exits_within(server: &mut Server, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "mingle did not exit within {within:?} of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_and_the_run_completes_after_restart() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let (_org, token) = provision(dir.path());
    let (mut server, base) = serve_with(dir.path(), &[]);
    let client = reqwest::blocking::Client::new();
    let api = format!("{base}/api/v0/partner");
    let r =
        client.post(format!("{api}/events")).bearer_auth(&token).json(&json!({"event_id": "ev", "title": "Ev"})).send();
    assert_eq!(r.unwrap().status(), 201);

    // A request whose body is half sent when SIGTERM arrives.
    let body = json!({"idempotency_key": "k", "attendees": [{"attendee_id": "a1", "name": "Ann Archer"}]}).to_string();
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    let addr = base.trim_start_matches("http://").to_owned();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    let head = format!(
        "PUT /api/v0/partner/events/ev/attendees:import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    sigterm(&mut server);
    std::thread::sleep(Duration::from_millis(500));
    assert!(std::net::TcpStream::connect(&addr).is_err(), "no new connection is accepted after SIGTERM");
    assert!(server.0.try_wait().unwrap().is_none(), "still running: a request is in flight");
    s.write_all(rest).unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(10)).expect("answered");
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let run: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let run_id = run["run_id"].as_str().unwrap().to_owned();
    assert!(exits_within(&mut server, Duration::from_secs(10)).success(), "a clean exit");

    // The run the request queued is carried out after the restart.
    let (_server, base) = serve_with(dir.path(), &[]);
    let done = poll_run(&client, &base, &token, &run_id, |r| r["status"] == "succeeded" || r["status"] == "failed");
    assert_eq!(done["status"], "succeeded", "{done}");
}

#[test]
fn sigterm_during_a_run_gives_it_back_and_the_restart_finishes_it_exactly_once() {
    const ROWS: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let (_org, token) = provision(dir.path());
    let limits = ["--rate-limit-per-sec", "100000", "--rate-limit-burst", "100000"];
    let (mut server, base) = serve_with(dir.path(), &limits);
    let client = reqwest::blocking::Client::new();
    let api = format!("{base}/api/v0/partner");
    let r = client
        .post(format!("{api}/events"))
        .bearer_auth(&token)
        .json(&json!({"event_id": "big", "title": "Big"}))
        .send();
    assert_eq!(r.unwrap().status(), 201);
    let rows: Vec<Value> = (0..ROWS)
        .map(|i| json!({"attendee_id": format!("att-{i:06}"), "name": format!("Person {i} Example")}))
        .collect();
    let r = client
        .put(format!("{api}/events/big/attendees:import"))
        .bearer_auth(&token)
        .json(&json!({"idempotency_key": "term-1", "attendees": rows}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    let run_id = r.json::<Value>().unwrap()["run_id"].as_str().unwrap().to_owned();
    let running = poll_run(&client, &base, &token, &run_id, |r| r["status"] != "queued");
    assert_eq!(running["status"], "running", "SIGTERM must land mid-run: {running}");
    let termed = Instant::now();
    sigterm(&mut server);
    assert!(exits_within(&mut server, Duration::from_secs(10)).success());
    eprintln!("exited {:?} after SIGTERM", termed.elapsed());

    // Given back, not left leased (a killed worker's run would stay `running` until its
    // lease expired): a server without a worker sees it queued.
    let (idle, base) = serve_with(dir.path(), &["--no-worker"]);
    let r: Value =
        client.get(format!("{base}/api/v0/partner/runs/{run_id}")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(r["status"], "queued", "{r}");
    drop(idle);
    // A restarted worker writes every row once.
    let (_server, base) = serve_with(dir.path(), &limits);
    let done = poll_run(&client, &base, &token, &run_id, |r| r["status"] == "succeeded" || r["status"] == "failed");
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["progress"]["created"], ROWS);
    let mut seen = std::collections::HashSet::new();
    for item in list_all(&client, &base, &token, "/events/big/attendees") {
        assert!(seen.insert(item["attendee_id"].as_str().unwrap().to_owned()), "row listed twice: {item}");
    }
    assert_eq!(seen.len(), ROWS);
}

/// A process of the scale-out test: `mingle <args>` on the shared PostgreSQL database.
fn spawn_on(url: &str, dir: &Path, args: &[&str]) -> Server {
    let child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("MINGLE_DATABASE_URL", url)
        .env("MINGLE_WEBHOOK_INSECURE", "1")
        .env("MINGLE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mingle");
    Server(child)
}

#[test]
fn two_api_servers_and_two_workers_share_one_postgresql_database() {
    let Ok(base_url) = std::env::var("MINGLE_TEST_POSTGRES_URL") else {
        eprintln!("MINGLE_TEST_POSTGRES_URL is not set: the scale-out test needs PostgreSQL");
        return;
    };
    const EVENTS: usize = 20;
    const ATTENDEES: usize = 30;
    let url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(mingle_store::postgres::fresh_schema_url(&base_url))
        .expect("a fresh schema");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = |sql: &str| -> (i64, i64) {
        runtime.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
            let row: (i64, Option<i64>) = sqlx::query_as(&format!("SELECT a, b FROM ({sql}) AS q(a, b)"))
                .fetch_one(&mut conn)
                .await
                .expect("query");
            (row.0, row.1.unwrap_or(0))
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(BIN).args(args).current_dir(dir.path()).env("MINGLE_DATABASE_URL", &url).output();
        json_of(&out.expect("run mingle"))
    };
    let org_id = cli(&["org", "create", "Scale", "--json"])["org_id"].as_str().unwrap().to_owned();
    let scopes = ["service-account", "create", "--org", &org_id, "--scopes", "partner:read,partner:write", "--json"];
    let token = cli(&scopes)["token"].as_str().unwrap().to_owned();

    let limits = ["--rate-limit-per-sec", "100000", "--rate-limit-burst", "100000"];
    let mut servers = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..2 {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let listen = format!("127.0.0.1:{port}");
        servers.push(spawn_on(
            &url,
            dir.path(),
            &[&["serve", "--no-worker", "--listen", &listen][..], &limits].concat(),
        ));
        bases.push(format!("http://{listen}"));
    }
    let worker = ["worker", "--run-lease-secs", "3", "--worker-concurrency", "2"];
    let mut doomed = Some(spawn_on(&url, dir.path(), &worker));
    let _survivor = spawn_on(&url, dir.path(), &worker);
    for base in &bases {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !reqwest::blocking::get(format!("{base}/healthz")).is_ok_and(|r| r.status() == 200) {
            assert!(Instant::now() < deadline, "{base} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let receiver = Receiver::start(vec![]);
    let client = reqwest::blocking::Client::new();
    let api = |i: usize, path: &str| format!("{}/api/v0/partner{path}", bases[i % 2]);
    let topics = ["payments", "robotics", "clinical trials", "retail analytics", "solar farms", "music licensing"];

    // Runs of one kind for every event at once, each through either server; returns
    // their IDs once every one has ended.
    let round = |what: &str| -> Vec<String> {
        let ids: Vec<String> = std::thread::scope(|s| {
            let tasks: Vec<_> = (0..EVENTS)
                .map(|e| {
                    let (client, token, receiver, api) = (&client, &token, &receiver, &api);
                    s.spawn(move || {
                        let hook = receiver.url(&format!("/{what}/{e}"));
                        let (path, body) = match what {
                            "import" => {
                                let rows: Vec<Value> = (0..ATTENDEES)
                                    .map(|i| {
                                        let (t, u) = (topics[(i + e) % 6], topics[(i / 6 + e) % 6]);
                                        json!({"attendee_id": format!("e{e}-a{i}"), "name": format!("Person {e}-{i}"),
                                            "raw_data": {"goal": format!("Meet people working on {t}"),
                                                "needs": [format!("partners for {t}")], "offers": [format!("advice on {u}")]}})
                                    })
                                    .collect();
                                ("attendees:import", json!({"idempotency_key": format!("i{e}"), "attendees": rows, "webhook_url": hook}))
                            }
                            "enrichment" => ("enrichment-runs", json!({"idempotency_key": format!("e{e}"), "webhook_url": hook})),
                            _ => ("match-runs", json!({"idempotency_key": format!("m{e}"), "top_n": 5, "webhook_url": hook})),
                        };
                        let url = api(e, &format!("/events/ev{e}/{path}"));
                        let request = if what == "import" { client.put(url) } else { client.post(url) };
                        let r = request.bearer_auth(token).json(&body).send().unwrap();
                        assert_eq!(r.status(), 202, "{what} of ev{e}");
                        r.json::<Value>().unwrap()["run_id"].as_str().unwrap().to_owned()
                    })
                })
                .collect();
            tasks.into_iter().map(|t| t.join().unwrap()).collect()
        });
        ids
    };
    for e in 0..EVENTS {
        let r = client
            .post(api(e, "/events"))
            .bearer_auth(&token)
            .json(&json!({"event_id": format!("ev{e}"), "title": "Ev"}));
        assert_eq!(r.send().unwrap().status(), 201);
    }
    let ended = |run_id: &str, e: usize| {
        poll_run(&client, &bases[e % 2], &token, run_id, |r| {
            ["succeeded", "partial", "failed"].contains(&r["status"].as_str().unwrap())
        })
    };
    let mut all_runs = Vec::new();
    for (n, what) in ["import", "enrichment", "match"].into_iter().enumerate() {
        let ids = round(what);
        if what == "enrichment" {
            // SIGKILL one worker while runs are being worked on (each encodes its
            // event's texts) and, as far as the database shows, no webhook is being sent
            // (a delivery cut off between its POST and its record would be sent again).
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let (running, sending): (i64, i64) = db(&format!(
                    "SELECT (SELECT COUNT(*) FROM runs WHERE kind = 'enrichment' AND status = 'running'),
                            (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending')"
                ));
                if running >= 2 && sending == 0 {
                    break;
                }
                assert!(Instant::now() < deadline, "no moment with runs in progress and no webhook in flight");
                std::thread::sleep(Duration::from_millis(2));
            }
            drop(doomed.take());
        }
        for (e, id) in ids.iter().enumerate() {
            let run = ended(id, e);
            assert_eq!(run["status"], "succeeded", "{what} of ev{e}: {run}");
        }
        // Every run's webhook arrives before the next round starts (so none is in flight
        // at the SIGKILL).
        receiver.wait_hits_blocking(EVENTS * (n + 1), Duration::from_secs(60));
        all_runs.extend(ids);
    }

    // Every row exactly once, in every event.
    for e in 0..EVENTS {
        let members = list_all(&client, &bases[e % 2], &token, &format!("/events/ev{e}/attendees"));
        let ids: std::collections::BTreeSet<String> =
            members.iter().map(|m| m["attendee_id"].as_str().unwrap().to_owned()).collect();
        assert_eq!((members.len(), ids.len()), (ATTENDEES, ATTENDEES), "ev{e}");
        let pairs = list_all(&client, &bases[(e + 1) % 2], &token, &format!("/events/ev{e}/matches"));
        let unique: std::collections::BTreeSet<(String, String)> = pairs
            .iter()
            .map(|m| {
                let (p, t) = (m["principal_attendee_id"].as_str().unwrap(), m["target_attendee_id"].as_str().unwrap());
                (p.min(t).to_owned(), p.max(t).to_owned())
            })
            .collect();
        assert_eq!(unique.len(), pairs.len(), "ev{e}: a pair listed twice");
        assert!(pairs.len() >= ATTENDEES * 5 / 2, "ev{e}: {} pairs", pairs.len());
    }
    // Every webhook exactly once per webhook-id, one per run.
    std::thread::sleep(Duration::from_secs(1));
    let hits = receiver.hits();
    let ids: std::collections::BTreeSet<String> = hits.iter().map(|h| h.header("webhook-id").to_owned()).collect();
    assert_eq!((hits.len(), ids.len()), (3 * EVENTS, 3 * EVENTS), "one delivery per run, none twice");
    let runs: std::collections::BTreeSet<String> =
        hits.iter().map(|h| h.json()["data"]["run_id"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(runs, all_runs.iter().cloned().collect(), "every run's webhook, and no other");
    // The kill landed mid-run: a run the dead worker held was taken over after its lease.
    let (retried, _) = db("SELECT COUNT(*), 0::bigint FROM runs WHERE attempts > 1");
    assert!(retried >= 1, "no run was taken over from the killed worker");
    drop(servers);
}

#[test]
fn backup_writes_a_consistent_copy_that_mingle_can_open() {
    let dir = tempfile::tempdir().unwrap();
    let (org_id, _token) = provision(dir.path());
    let out = json_of(&mingle(dir.path(), &["backup", "copy.db", "--json"]));
    assert_eq!(out["backup"], "copy.db");
    assert!(out["bytes"].as_u64().unwrap() > 0);
    let again = mingle(dir.path(), &["backup", "copy.db"]);
    assert!(!again.status.success(), "an existing file is never overwritten");
    assert!(String::from_utf8_lossy(&again.stderr).contains("BACKUP_EXISTS"));
    // The copy is a mingle database with the org in it.
    let listed = Command::new(BIN)
        .args(["--database-url", "sqlite://copy.db", "webhooks", "list", "--org", &org_id, "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let missing = Command::new(BIN)
        .args(["--database-url", "sqlite://copy.db", "webhooks", "list", "--org", "no-such-org", "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("ORG_NOT_FOUND"), "the copy knows which orgs exist");
}
