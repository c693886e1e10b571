//! Authentication, scope and rate limit, in the order the conventions check them. Runs
//! as a route layer: unknown routes and wrong methods are answered before it.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mingle_core::Scope;
use mingle_service::accounts::Principal;
use mingle_service::ServiceError;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::rate_limit::Decision;
use crate::AppState;

/// The scope a method needs: reads for GET, HEAD and OPTIONS, writes for the rest.
fn needed_scope(method: &Method) -> Scope {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        Scope::Read
    } else {
        Scope::Write
    }
}

fn bearer(request: &Request) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

fn rate_limit_headers(state: &AppState, d: &Decision) -> [(HeaderName, HeaderValue); 2] {
    let current = format!("\"default\";r={};t={}", d.remaining, d.full_in_secs);
    [
        (HeaderName::from_static("ratelimit-policy"), state.rate_limit_policy.clone()),
        (HeaderName::from_static("ratelimit"), HeaderValue::from_str(&current).expect("ascii")),
    ]
}

pub async fn middleware(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let principal = match bearer(&request) {
        Some(token) => state.services.accounts.authenticate(token).await,
        None => Err(ServiceError::Unauthenticated {
            code: "UNAUTHORIZED",
            message: "An 'Authorization: Bearer <token>' header is required.".into(),
        }),
    };
    let principal = match principal {
        Ok(p) => p,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let needed = needed_scope(request.method());
    if !principal.has(needed) {
        let mut details = Map::new();
        details.insert("required_scope".into(), Value::String(needed.as_str().into()));
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "INSUFFICIENT_SCOPE",
            format!("This token lacks the '{}' scope.", needed.as_str()),
        )
        .with_details(details)
        .into_response();
    }
    let decision = match state.rate_limiter.check(&principal.org_id, &principal.service_account_id).await {
        Ok(d) => d,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let headers = rate_limit_headers(&state, &decision);
    if !decision.allowed {
        metrics::counter!("mingle_rate_limited_total").increment(1);
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "PARTNER_RATE_LIMIT_EXCEEDED",
            format!("Too many requests; retry in {} s.", decision.retry_after_secs),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(decision.retry_after_secs));
        for (name, value) in headers {
            error = error.with_header(name, value);
        }
        return error.into_response();
    }
    let org = AuthenticatedOrg(principal.org_id.clone());
    request.extensions_mut().insert(principal);
    let mut response = next.run(request).await;
    response.extensions_mut().insert(org);
    for (name, value) in headers {
        response.headers_mut().insert(name, value);
    }
    response
}

/// The org of an authenticated request, left on its response for the request log.
#[derive(Clone)]
pub struct AuthenticatedOrg(pub String);

/// The authenticated caller, put in place by [`middleware`].
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Principal>().cloned().map(Caller).ok_or_else(|| {
            tracing::error!("a partner route was reached without the auth layer");
            ApiError::internal()
        })
    }
}
