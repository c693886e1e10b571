use mingle_core::ValidationError;
use mingle_store::StoreError;
use serde_json::{Map, Value};

/// What a service call can fail with. Each variant is one HTTP status class; `code`
/// is the documented error code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// 400: the input broke a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// 401: no valid credential (`UNAUTHORIZED`), or a disabled account (`ACCOUNT_DISABLED`).
    #[error("{code}: {message}")]
    Unauthenticated { code: &'static str, message: String },
    /// 403: authenticated but not allowed.
    #[error("{code}: {message}")]
    Forbidden { code: &'static str, message: String, details: Map<String, Value> },
    /// 404: the named thing does not exist in the caller's org.
    #[error("{code}: {message}")]
    NotFound { code: &'static str, message: String, details: Map<String, Value> },
    /// 409: the request clashes with what exists.
    #[error("{code}: {message}")]
    Conflict { code: &'static str, message: String, details: Map<String, Value> },
    /// 500: a fault of ours; the message is for logs, never for the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn not_found(code: &'static str, message: impl Into<String>, detail: (&str, &str)) -> Self {
        ServiceError::NotFound { code, message: message.into(), details: one(detail) }
    }

    /// `404 ORG_NOT_FOUND`, for the operator's commands that name an org.
    pub fn org_not_found(org_id: &str) -> Self {
        Self::not_found("ORG_NOT_FOUND", format!("No org '{org_id}'."), ("org_id", org_id))
    }

    pub fn conflict(code: &'static str, message: impl Into<String>, detail: (&str, &str)) -> Self {
        ServiceError::Conflict { code, message: message.into(), details: one(detail) }
    }

    /// The documented code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Invalid(e) => e.code,
            ServiceError::Unauthenticated { code, .. }
            | ServiceError::Forbidden { code, .. }
            | ServiceError::NotFound { code, .. }
            | ServiceError::Conflict { code, .. } => code,
            ServiceError::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

fn one((key, value): (&str, &str)) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(key.to_owned(), Value::String(value.to_owned()));
    m
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unsupported(message) => {
                ServiceError::Conflict { code: "UNSUPPORTED_BY_BACKEND", message, details: Map::new() }
            }
            e => ServiceError::Internal(e.to_string()),
        }
    }
}
