//! Extractors that never reject with a framework error: each hands the handler what it
//! needs to check things in the documented order (path IDs, then the body, then ...).

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use mingle_core::validate::parse_object;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::AppState;

/// The path's parameters in order. A parameter that cannot be decoded becomes a value
/// no validator accepts, so the route answers with its own `INVALID_*` code.
pub struct PathIds(pub Vec<String>);

impl PathIds {
    pub fn get(&self, i: usize) -> &str {
        self.0.get(i).map(String::as_str).unwrap_or("\u{FFFD}")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<Vec<String>>::from_request_parts(parts, state).await {
            Ok(Path(ids)) => Ok(PathIds(ids)),
            Err(_) => Ok(PathIds(Vec::new())),
        }
    }
}

/// The raw request body, read up to the configured limit (`413 PAYLOAD_TOO_LARGE`
/// beyond it, decided from `Content-Length` before reading when the client sends one).
pub struct JsonBody {
    bytes: Bytes,
}

impl JsonBody {
    /// The body as a JSON object (`400 INVALID_JSON` otherwise).
    pub fn object(&self) -> Result<Map<String, Value>, ApiError> {
        parse_object(&self.bytes).map_err(ApiError::from)
    }

    /// The body as a JSON value, for fingerprinting an already validated request.
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.settings.max_body_bytes;
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(ApiError::payload_too_large(limit));
        }
        let body: Body = request.into_body();
        let read = tokio::time::timeout(state.settings.body_read_timeout, Limited::new(body, limit as usize).collect());
        let Ok(read) = read.await else {
            return Err(ApiError::body_timeout(state.settings.body_read_timeout));
        };
        match read {
            Ok(collected) => Ok(JsonBody { bytes: collected.to_bytes() }),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::payload_too_large(limit)),
            Err(_) => Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "INVALID_JSON",
                "The request body could not be read.",
            )),
        }
    }
}
