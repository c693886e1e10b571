//! The error envelope, in one place: every failure the API answers with, whatever
//! produced it, becomes `{code, message, details?, correlation_id}` here.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mingle_core::ValidationError;
use mingle_service::ServiceError;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::correlation;

/// The shared error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// An UPPER_SNAKE error code (see the `ErrorCode` schema).
    #[schema(example = "EVENT_NOT_FOUND")]
    pub code: String,
    /// For people.
    #[schema(example = "No event 'summit-2026' in this org.")]
    pub message: String,
    /// The offending field, index or value, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<Map<String, Value>>,
    pub correlation_id: String,
}

/// Every error code the API answers with.
#[derive(ToSchema)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms, dead_code)]
pub enum ErrorCode {
    UNAUTHORIZED,
    ACCOUNT_DISABLED,
    INSUFFICIENT_SCOPE,
    PARTNER_ORG_REQUIRED,
    /// In the public catalogue: a token that is not an org service-account key. Every
    /// token mingle issues is one, so mingle never answers it today.
    SERVICE_ACCOUNT_REQUIRED,
    PARTNER_RATE_LIMIT_EXCEEDED,
    REQUEST_TIMEOUT,
    INVALID_JSON,
    INVALID_LIMIT,
    INVALID_CURSOR,
    INVALID_PARTNER_ID,
    INVALID_PARTNER_KIND,
    INVALID_TITLE,
    INVALID_DESCRIPTION,
    INVALID_START_DATE,
    INVALID_END_DATE,
    INVALID_TIMEZONE,
    INVALID_VISIBILITY,
    INVALID_URL_SLUG,
    INVALID_CONTEXT,
    INVALID_START_TIMESTAMP,
    INVALID_END_TIMESTAMP,
    INVALID_RUN_ID,
    INVALID_RUN_KIND,
    INVALID_IDEMPOTENCY_KEY,
    INVALID_PROGRESS,
    INVALID_SNAPSHOT_METADATA,
    INVALID_VERSION_METADATA,
    INVALID_WEBHOOK_URL,
    INVALID_TOP_N,
    INVALID_GOAL,
    INVALID_ATTENDEES,
    INVALID_ATTENDEE,
    DUPLICATE_ATTENDEE_ID,
    INVALID_ATTENDEE_NAME,
    INVALID_ATTENDEE_EMAIL,
    INVALID_ATTENDEE_LINKEDIN_URL,
    INVALID_ATTENDEE_TITLE,
    INVALID_ATTENDEE_COMPANY,
    INVALID_ATTENDEE_RAW_DATA,
    INVALID_REVIEW_ID,
    INVALID_REVIEW_DECISION,
    REVIEW_SOURCE_MISMATCH,
    MERGE_REJECTED,
    ROUTE_NOT_FOUND,
    EVENT_NOT_FOUND,
    SESSION_NOT_FOUND,
    RUN_NOT_FOUND,
    ATTENDEE_NOT_FOUND,
    REVIEW_NOT_FOUND,
    PARTNER_ID_NOT_FOUND,
    MATCH_RUN_NOT_FOUND,
    MATCH_NOT_FOUND,
    METHOD_NOT_ALLOWED,
    /// Below the router: a request hyper could not parse (400), an over-long URI (414),
    /// too many or too large headers (431).
    MALFORMED_REQUEST,
    URI_TOO_LONG,
    HEADERS_TOO_LARGE,
    PARTNER_ID_CONFLICT,
    IDEMPOTENCY_KEY_CONFLICT,
    PAYLOAD_TOO_LARGE,
    MODEL_UNAVAILABLE,
    /// A run's `error.code`, never an answer: its workers kept stopping (see RUN_ABANDONED
    /// in docs/operations.md).
    RUN_ABANDONED,
    INTERNAL_ERROR,
    UNAVAILABLE,
}

/// An error response waiting to be written.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Map<String, Value>>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: None, headers: Vec::new() }
    }

    pub fn with_details(mut self, details: Map<String, Value>) -> Self {
        self.details = (!details.is_empty()).then_some(details);
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// `404 ROUTE_NOT_FOUND` for `path`; the hint fits where the caller is.
    pub fn route_not_found(path: &str) -> Self {
        let under_base = [crate::BASE_PATH, crate::ALIAS_PATH]
            .iter()
            .any(|base| path == *base || path.starts_with(&format!("{base}/")));
        let message = if under_base {
            "No such partner route; the routes are listed in /api/v0/partner/openapi.json."
        } else {
            "No such route. Partner routes live under /api/v0/partner."
        };
        Self::new(StatusCode::NOT_FOUND, "ROUTE_NOT_FOUND", message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "This route does not accept that method; see the Allow header.",
        )
    }

    pub fn payload_too_large(limit: u64) -> Self {
        let mut d = Map::new();
        d.insert("max_bytes".into(), limit.into());
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("The request body exceeds {limit} bytes."),
        )
        .with_details(d)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "An internal error occurred; quote the correlation_id when reporting it.",
        )
    }

    /// The envelope for a bare status produced below our handlers (a framework
    /// rejection): the closest documented code.
    /// `408 REQUEST_TIMEOUT`: the body did not arrive in time.
    pub fn body_timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "REQUEST_TIMEOUT",
            format!("The request body did not arrive within {} s.", limit.as_secs()),
        )
    }

    /// `503 UNAVAILABLE`: the request ran out of time; nothing it started was kept.
    pub fn request_timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            format!("The request did not complete within {} s and was abandoned; retry it.", limit.as_secs()),
        )
    }

    pub fn for_status(status: StatusCode, path: &str) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::route_not_found(path),
            StatusCode::METHOD_NOT_ALLOWED => Self::method_not_allowed(),
            StatusCode::PAYLOAD_TOO_LARGE => Self::payload_too_large(0),
            StatusCode::SERVICE_UNAVAILABLE => {
                Self::new(status, "UNAVAILABLE", "The service is unavailable; retry later.")
            }
            s if s.is_client_error() => {
                Self::new(StatusCode::BAD_REQUEST, "INVALID_JSON", "The request could not be read.")
            }
            _ => Self::internal(),
        }
    }

    /// Writes the envelope with a given correlation ID (for callers outside a request's
    /// task-local scope).
    pub fn into_response_with(self, correlation_id: String) -> Response {
        let body =
            ErrorBody { code: self.code.to_owned(), message: self.message, details: self.details, correlation_id };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_response_with(correlation::current())
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, e.code, e.message).with_details(e.details)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(v) => v.into(),
            ServiceError::Unauthenticated { code, message } => ApiError::new(StatusCode::UNAUTHORIZED, code, message),
            ServiceError::Forbidden { code, message, details } => {
                ApiError::new(StatusCode::FORBIDDEN, code, message).with_details(details)
            }
            ServiceError::NotFound { code, message, details } => {
                ApiError::new(StatusCode::NOT_FOUND, code, message).with_details(details)
            }
            ServiceError::Conflict { code, message, details } => {
                ApiError::new(StatusCode::CONFLICT, code, message).with_details(details)
            }
            ServiceError::Internal(detail) => {
                // Logged here, inside the request's span, and never sent to the caller.
                tracing::error!(error = %detail, "internal error");
                ApiError::internal()
            }
        }
    }
}
