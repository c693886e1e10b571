//! Correlation IDs: taken from `X-Correlation-Id` when the caller sends a valid one,
//! generated otherwise; set as a task-local for the request (so every response body
//! can carry it), recorded on the request's tracing span (so every log line does), and
//! echoed in the response header. This middleware is the outermost layer, so it also
//! gives any bare error response from below the envelope.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::auth::AuthenticatedOrg;
use crate::error::ApiError;
use crate::metrics::RouteTemplate;

pub const HEADER: &str = "x-correlation-id";

/// Left on the response of an OPTIONS request for the wrapper around the router (which
/// sees only responses; see `options_answer`).
#[derive(Clone)]
pub struct RequestMethod(pub axum::http::Method);

tokio::task_local! {
    static CORRELATION_ID: String;
}

/// The correlation ID of the request being served.
pub fn current() -> String {
    CORRELATION_ID.try_with(Clone::clone).unwrap_or_default()
}

fn accept(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = (1..=128).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    ok.then(|| s.to_owned())
}

pub async fn middleware(request: Request, next: Next) -> Response {
    let cid =
        request.headers().get(HEADER).and_then(accept).unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    // The span carries only the correlation ID (every line of the request has it); the
    // request's other fields go on its one `request served` line, which is cheaper
    // than formatting them into the span and recording into it later.
    let span = tracing::info_span!("request", correlation_id = %cid);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let mut response = CORRELATION_ID.scope(cid.clone(), next.run(request)).instrument(span.clone()).await;
    // Left on the response by the layers inside: the matched route, the caller's org.
    let route = response.extensions_mut().remove::<RouteTemplate>().map(|r| r.0);
    let org = response.extensions_mut().remove::<AuthenticatedOrg>().map(|o| o.0);

    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json && (response.status().is_client_error() || response.status().is_server_error()) {
        let mut enveloped = ApiError::for_status(response.status(), &path).into_response_with(cid.clone());
        // Keep what the framework said beyond the body (e.g. `Allow` on a 405).
        for name in [header::ALLOW, header::RETRY_AFTER] {
            if let Some(v) = response.headers().get(&name) {
                enveloped.headers_mut().insert(name, v.clone());
            }
        }
        response = enveloped;
    }
    if let Ok(v) = HeaderValue::from_str(&cid) {
        response.headers_mut().insert(HEADER, v);
    }
    if method == axum::http::Method::OPTIONS {
        response.extensions_mut().insert(RequestMethod(method.clone()));
    }
    static UNMATCHED: std::sync::LazyLock<std::sync::Arc<str>> = std::sync::LazyLock::new(|| "unmatched".into());
    let route = route.unwrap_or_else(|| UNMATCHED.clone());
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    crate::metrics::record_request(&method, &route, status, elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(method = %method, path, route = &*route, org_id = org.as_deref(), status,
            latency_ms = elapsed.as_millis() as u64, "request served");
    });
    response
}
