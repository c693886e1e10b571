//! The real `mingle` binary: provision with the command line, serve, call the API.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env_remove("MINGLE_DATABASE_URL")
        .env("MINGLE_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
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

    // Status changes through the CLI take effect on the very next request.
    let status = |action: &str| json_of(&mingle(dir.path(), &["service-account", action, &account, "--json"]));
    assert_eq!(status("disable")["status"], "disabled");
    let r: Value =
        client.get(format!("{base}/api/v0/partner/auth")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(r["code"], "ACCOUNT_DISABLED");
    assert_eq!(status("enable")["status"], "active");
    assert_eq!(client.get(format!("{base}/api/v0/partner/auth")).bearer_auth(&token).send().unwrap().status(), 200);
    assert_eq!(status("revoke")["status"], "revoked");
    let r: Value =
        client.get(format!("{base}/api/v0/partner/auth")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(r["code"], "UNAUTHORIZED");
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
