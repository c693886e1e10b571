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

/// Ready to serve: the database answers and is migrated (503 otherwise). `encoder`
/// says whether the model files are in place, and why not.
pub async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<Value>) {
    let (status, database) = match s.services.store.check_ready().await {
        Ok(()) => (StatusCode::OK, "ok".to_owned()),
        Err(e) => {
            tracing::warn!(error = %e, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable: the database is unreachable or not migrated".to_owned())
        }
    };
    let weights = s.settings.model_dir.join("model.safetensors");
    let encoder = if weights.is_file() {
        "ok".to_owned()
    } else {
        format!("unavailable: no model files at {} (set MINGLE_MODEL_DIR)", s.settings.model_dir.display())
    };
    let code = if status == StatusCode::OK { None } else { Some("UNAVAILABLE") };
    let mut body = json!({"database": database, "encoder": encoder, "correlation_id": correlation::current()});
    if let Some(code) = code {
        body["code"] = json!(code);
        body["message"] = json!("The service is not ready: the database is unreachable or not migrated.");
    }
    (status, Json(body))
}
