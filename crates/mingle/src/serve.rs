//! `mingle serve` (the API, with an embedded worker) and `mingle worker` (a worker
//! alone), until SIGTERM or Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use mingle_http::rate_limit::RateLimitSettings;
use mingle_http::{AppState, HttpSettings};
use mingle_service::Services;
use mingle_store::Store;
use tokio::sync::watch;

use crate::config::{ServeArgs, WorkerArgs};

/// The router over `services`, as `serve` runs it (tests use it in process).
pub fn app(services: Services, args: &ServeArgs) -> axum::Router {
    let settings = HttpSettings {
        max_body_bytes: args.max_body_bytes,
        max_import_rows: args.max_import_rows,
        webhook_insecure: args.worker.webhook_insecure,
        rate_limit: RateLimitSettings { per_sec: args.rate_limit_per_sec, burst: args.rate_limit_burst },
        body_read_timeout: Duration::from_secs(args.body_read_timeout_secs),
        request_timeout: Duration::from_secs(args.request_timeout_secs),
    };
    mingle_http::router(AppState::new(services, settings))
}

pub async fn run(store: Arc<dyn Store>, args: &ServeArgs) -> anyhow::Result<()> {
    let services = Services::new(store);
    services.encoder.load_in_background(args.model_dir());
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, worker = !args.no_worker, "mingle is serving");
    let (stop, stopped) = watch::channel(false);
    let worker = (!args.no_worker).then(|| spawn_workers(&services, &args.worker, stopped.clone()));
    let mut on_stop = stopped.clone();
    // On SIGTERM or Ctrl-C: stop accepting and finish in-flight requests; then the
    // worker gives its run back to the queue (its open transaction rolls back) and the
    // sender finishes the POST it is making; deliveries not yet claimed stay queued.
    let shutdown = async move {
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = on_stop.changed() => {}
        }
    };
    let router = app(services, args);
    let upkeep = tokio::spawn(mingle_http::metrics::upkeep());
    mingle_http::server::serve(listener, router, args.connection_limits(), shutdown).await?;
    upkeep.abort();
    let _ = stop.send(true);
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    tracing::info!("mingle stopped");
    Ok(())
}

pub async fn run_worker(store: Arc<dyn Store>, args: &WorkerArgs) -> anyhow::Result<()> {
    let services = Services::new(store);
    services.encoder.load_in_background(args.model_dir());
    let (stop, stopped) = watch::channel(false);
    let worker = spawn_workers(&services, args, stopped);
    shutdown_signal().await;
    let _ = stop.send(true);
    let _ = worker.await;
    Ok(())
}

/// The run worker and the webhook sender, until `stopped` turns true.
fn spawn_workers(
    services: &Services,
    args: &WorkerArgs,
    stopped: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let store = services.store.clone();
    let queued = services.queued.clone();
    tokio::spawn(async move {
        if let Err(e) = store.forward_run_signals(queued).await {
            tracing::warn!(error = %e, "runs queued by other processes are found by polling only");
        }
    });
    let runs = services.worker(args.settings()).run(stopped.clone());
    let deliveries = services.webhook_sender(mingle_http::dto::run_object, args.sender_settings()).run(stopped);
    tokio::spawn(async move {
        tokio::join!(runs, deliveries);
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
