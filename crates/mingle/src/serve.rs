//! `mingle serve`: the API on one listener until SIGTERM or Ctrl-C.

use std::sync::Arc;

use mingle_http::rate_limit::RateLimitSettings;
use mingle_http::{AppState, HttpSettings};
use mingle_service::Services;
use mingle_store::Store;

use crate::config::ServeArgs;

/// The router wired to a store, as `serve` runs it (tests use it in process).
pub fn app(store: Arc<dyn Store>, args: &ServeArgs) -> axum::Router {
    let settings = HttpSettings {
        max_body_bytes: args.max_body_bytes,
        webhook_insecure: args.webhook_insecure,
        rate_limit: RateLimitSettings {
            per_sec: args.rate_limit_per_sec,
            burst: args.rate_limit_burst,
        },
        model_dir: args.model_dir(),
    };
    mingle_http::router(AppState::new(Services::new(store), settings))
}

pub async fn run(store: Arc<dyn Store>, args: &ServeArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, worker = !args.no_worker, "mingle is serving");
    if !args.no_worker {
        // Runs are recorded but not yet executed: the worker arrives with attendee imports.
        tracing::info!("no run kinds are executable yet; the embedded worker is idle");
    }
    axum::serve(listener, app(store, args))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("mingle stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
