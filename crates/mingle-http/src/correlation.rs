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

use crate::error::ApiError;
use crate::metrics::RouteTemplate;

pub const HEADER: &str = "x-correlation-id";

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
    // `route` and `org_id` are filled in once known (after routing, after auth).
    let span = tracing::info_span!("request", correlation_id = %cid, method = %request.method(),
        path = %request.uri().path(), route = tracing::field::Empty, org_id = tracing::field::Empty);
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let mut response = CORRELATION_ID.scope(cid.clone(), next.run(request)).instrument(span.clone()).await;

    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json && (response.status().is_client_error() || response.status().is_server_error()) {
        let mut enveloped = ApiError::for_status(response.status()).into_response_with(cid.clone());
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
    let route = response.extensions().get::<RouteTemplate>().map_or("unmatched", |r| r.0.as_str());
    let elapsed = started.elapsed();
    span.record("route", route);
    crate::metrics::record_request(&method, route, response.status().as_u16(), elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(status = response.status().as_u16(), latency_ms = elapsed.as_millis() as u64, "request served");
    });
    response
}
