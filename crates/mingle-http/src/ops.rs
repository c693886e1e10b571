//! Operational endpoints outside the partner base: liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::correlation;
use crate::AppState;

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok", "correlation_id": correlation::current()}))
}

/// Ready to serve: the database answers and is migrated (503 otherwise). `encoder` is
/// `ok`, `loading` (just after start), or why the encoder cannot be used.
pub async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<Value>) {
    let (status, database) = match s.services.store.check_ready().await {
        Ok(()) => (StatusCode::OK, "ok".to_owned()),
        Err(e) => {
            tracing::warn!(error = %e, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable: the database is unreachable or not migrated".to_owned())
        }
    };
    let encoder = s.services.encoder.status();
    let code = if status == StatusCode::OK { None } else { Some("UNAVAILABLE") };
    let mut body = json!({"database": database, "encoder": encoder, "correlation_id": correlation::current()});
    if let Some(code) = code {
        body["code"] = json!(code);
        body["message"] = json!("The service is not ready: the database is unreachable or not migrated.");
    }
    (status, Json(body))
}
