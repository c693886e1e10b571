//! Settings: every one is a flag and a `MINGLE_*` environment variable (clap reads
//! both; the flag wins). Booleans accept 1/0, true/false, yes/no.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Where mingle keeps its data: `sqlite://PATH` (created if missing).
    #[arg(long, global = true, env = "MINGLE_DATABASE_URL", default_value = "sqlite://mingle.db")]
    pub database_url: String,
    /// Log filter, in tracing's EnvFilter syntax (`info`, `mingle=debug,sqlx=warn`).
    #[arg(long, global = true, env = "MINGLE_LOG", default_value = "info")]
    pub log: String,
    /// Log line format.
    #[arg(long, global = true, env = "MINGLE_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MINGLE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Serve the API without the embedded worker.
    #[arg(long, env = "MINGLE_NO_WORKER", value_parser = BoolishValueParser::new(), num_args = 0..=1,
          default_value = "false", default_missing_value = "true")]
    pub no_worker: bool,
    /// Requests per second each service account may make (token bucket refill rate).
    #[arg(long, env = "MINGLE_RATE_LIMIT_PER_SEC", default_value_t = 50.0)]
    pub rate_limit_per_sec: f64,
    /// Requests a service account may make in a burst (token bucket size).
    #[arg(long, env = "MINGLE_RATE_LIMIT_BURST", default_value_t = 100)]
    pub rate_limit_burst: u32,
    /// Largest request body in bytes (beyond: 413 PAYLOAD_TOO_LARGE).
    #[arg(long, env = "MINGLE_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: u64,
    /// Most rows one attendee import may carry.
    #[arg(long, env = "MINGLE_MAX_IMPORT_ROWS", default_value_t = 50_000)]
    pub max_import_rows: usize,
    /// Seconds a client has to send a request's headers, counted from the connection's
    /// opening or the previous response on it (so also the keep-alive idle timeout).
    #[arg(long, env = "MINGLE_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a request's body (beyond: 408 REQUEST_TIMEOUT).
    #[arg(long, env = "MINGLE_BODY_READ_TIMEOUT_SECS", default_value_t = 60)]
    pub body_read_timeout_secs: u64,
    /// Seconds a request may take in all (beyond: 503 UNAVAILABLE, its work dropped).
    #[arg(long, env = "MINGLE_REQUEST_TIMEOUT_SECS", default_value_t = 120)]
    pub request_timeout_secs: u64,
    /// Connections served at once; more are answered 503 and closed at once. Keep it
    /// below the process's open-file limit.
    #[arg(long, env = "MINGLE_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds shutdown (SIGTERM, Ctrl-C) waits for in-flight requests.
    #[arg(long, env = "MINGLE_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    #[command(flatten)]
    pub worker: WorkerArgs,
}

impl ServeArgs {
    /// Rejects settings that cannot work, with a message naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        self.worker.validate()?;
        if !(self.rate_limit_per_sec.is_finite() && self.rate_limit_per_sec > 0.0) {
            return Err("MINGLE_RATE_LIMIT_PER_SEC must be a positive number".into());
        }
        if self.rate_limit_burst == 0 {
            return Err("MINGLE_RATE_LIMIT_BURST must be at least 1".into());
        }
        for (value, range, name) in [
            (self.header_read_timeout_secs, 1..=300, "MINGLE_HEADER_READ_TIMEOUT_SECS"),
            (self.body_read_timeout_secs, 1..=3600, "MINGLE_BODY_READ_TIMEOUT_SECS"),
            (self.request_timeout_secs, 1..=3600, "MINGLE_REQUEST_TIMEOUT_SECS"),
            (self.shutdown_grace_secs, 0..=3600, "MINGLE_SHUTDOWN_GRACE_SECS"),
        ] {
            if !range.contains(&value) {
                return Err(format!("{name} must be {} to {} seconds", range.start(), range.end()));
            }
        }
        if self.max_connections == 0 {
            return Err("MINGLE_MAX_CONNECTIONS must be at least 1".into());
        }
        if self.max_body_bytes == 0 || self.max_import_rows == 0 {
            return Err(
                "MINGLE_MAX_BODY_BYTES, MINGLE_MAX_IMPORT_ROWS and MINGLE_WORKER_CONCURRENCY must be at least 1".into(),
            );
        }
        Ok(())
    }

    pub fn model_dir(&self) -> PathBuf {
        self.worker.model_dir()
    }

    pub fn connection_limits(&self) -> mingle_http::server::ConnectionLimits {
        mingle_http::server::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_secs),
            max_connections: self.max_connections,
            shutdown_grace: std::time::Duration::from_secs(self.shutdown_grace_secs),
        }
    }
}

pub use mingle_encoder::default_model_dir;

/// Settings of the worker, embedded in `serve` or alone as `mingle worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Runs one worker processes at once.
    #[arg(long, env = "MINGLE_WORKER_CONCURRENCY", default_value_t = 2)]
    pub worker_concurrency: usize,
    /// Seconds a run stays leased to its worker without a heartbeat; after that (the
    /// worker died) another worker takes the run over.
    #[arg(long, env = "MINGLE_RUN_LEASE_SECS", default_value_t = 15)]
    pub run_lease_secs: u64,
    /// Allow `http` webhook URLs and private addresses (local development only).
    #[arg(long, env = "MINGLE_WEBHOOK_INSECURE", value_parser = BoolishValueParser::new(), num_args = 0..=1,
          default_value = "false", default_missing_value = "true")]
    pub webhook_insecure: bool,
    /// Seconds a webhook receiver has to answer before the attempt counts as failed.
    #[arg(long, env = "MINGLE_WEBHOOK_TIMEOUT_SECS", default_value_t = 15)]
    pub webhook_timeout_secs: u64,
    /// The encoder's model files (default: a per-user cache directory).
    #[arg(long, env = "MINGLE_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,
}

impl WorkerArgs {
    pub fn model_dir(&self) -> PathBuf {
        self.model_dir.clone().unwrap_or_else(default_model_dir)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.worker_concurrency == 0 {
            return Err("MINGLE_WORKER_CONCURRENCY must be at least 1".into());
        }
        if !(1..=60).contains(&self.webhook_timeout_secs) {
            return Err("MINGLE_WEBHOOK_TIMEOUT_SECS must be 1 to 60 seconds".into());
        }
        if !(3..=30).contains(&self.run_lease_secs) {
            return Err("MINGLE_RUN_LEASE_SECS must be 3 to 30 seconds".into());
        }
        Ok(())
    }

    pub fn sender_settings(&self) -> mingle_service::webhooks::SenderSettings {
        mingle_service::webhooks::SenderSettings {
            timeout: std::time::Duration::from_secs(self.webhook_timeout_secs),
            insecure: self.webhook_insecure,
            ..Default::default()
        }
    }

    pub fn settings(&self) -> mingle_service::worker::WorkerSettings {
        mingle_service::worker::WorkerSettings {
            lease: std::time::Duration::from_secs(self.run_lease_secs),
            concurrency: self.worker_concurrency,
            ..Default::default()
        }
    }
}
