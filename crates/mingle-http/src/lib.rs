//! mingle's HTTP layer: the router, the extractors (auth, pagination, correlation
//! IDs, bodies), the error envelope and the OpenAPI document. Handlers translate HTTP
//! to service calls and back; the rules live in the services and the engine.

// `ApiError` is large for a `Result` error, but it is built only on the way out of a
// failing request, never on a hot path.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod correlation;
pub mod dto;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod pagination;
pub mod rate_limit;
pub mod routes;
pub mod server;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::extract::{Request, State};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use mingle_service::Services;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::rate_limit::{RateLimitSettings, RateLimiter};

/// The partner API's base path, and its alias.
pub const BASE_PATH: &str = "/api/v0/partner";
pub const ALIAS_PATH: &str = "/v0/partner";

/// What the HTTP layer needs from the configuration.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: u64,
    pub max_import_rows: usize,
    /// Allows `http` webhook URLs (local development).
    pub webhook_insecure: bool,
    pub rate_limit: RateLimitSettings,
    /// A request body must arrive within this long (`408 REQUEST_TIMEOUT`).
    pub body_read_timeout: Duration,
    /// A request must be answered within this long (`503 UNAVAILABLE`; its work is
    /// dropped, and with it any transaction it had open).
    pub request_timeout: Duration,
}

/// The router's state: cloned by every layer and extractor of every request, so it is
/// one `Arc` (a clone is one atomic increment; the fields behind it were four).
#[derive(Clone)]
pub struct AppState(Arc<AppStateFields>);

pub struct AppStateFields {
    pub services: Arc<Services>,
    pub settings: Arc<HttpSettings>,
    pub rate_limiter: Arc<RateLimiter>,
    /// The `RateLimit-Policy` header every authenticated answer carries, written once.
    pub rate_limit_policy: axum::http::HeaderValue,
}

impl std::ops::Deref for AppState {
    type Target = AppStateFields;

    fn deref(&self) -> &AppStateFields {
        &self.0
    }
}

impl AppState {
    pub fn new(services: Services, settings: HttpSettings) -> Self {
        let rate_limiter = Arc::new(RateLimiter::new(services.store.clone(), settings.rate_limit));
        let s = settings.rate_limit;
        let rate_limit_policy =
            axum::http::HeaderValue::from_str(&format!("\"default\";q={};w={}", s.burst, s.window_secs()))
                .expect("ascii");
        Self(Arc::new(AppStateFields {
            services: Arc::new(services),
            settings: Arc::new(settings),
            rate_limiter,
            rate_limit_policy,
        }))
    }
}

/// The whole service: partner routes (under the base path and its alias, behind auth),
/// operational routes, the OpenAPI document and its rendered reference.
pub fn router(state: AppState) -> Router {
    metrics::install();
    let (partner, api) = routes::partner_routes(&state).split_for_parts();
    let api = openapi::finish(api, &state.settings);
    let app = Router::new()
        .nest(BASE_PATH, partner.clone())
        .nest(ALIAS_PATH, partner)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(metrics::serve))
        .merge(SwaggerUi::new("/docs").external_url_unchecked(format!("{BASE_PATH}/openapi.json"), api))
        .route_layer(from_fn(metrics::route_template))
        .fallback(|uri: axum::extract::OriginalUri| async move { ApiError::route_not_found(uri.path()) })
        // Bodies are limited by our own extractor, which answers with the envelope.
        .layer(DefaultBodyLimit::disable())
        .layer(from_fn_with_state(state.clone(), request_timeout))
        .layer(from_fn(correlation::middleware))
        .with_state(state);
    // Around the whole router: a route's `Allow` header is set outside the layers above.
    Router::new().fallback_service(tower::ServiceBuilder::new().map_response(options_answer).service(app))
}

/// OPTIONS on a route answers `204` with the methods it allows (plus OPTIONS), before
/// authentication like a 405: the router, which has no OPTIONS handlers, answered 405
/// with them in `Allow`.
fn options_answer(response: axum::response::Response) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    let allow = response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok());
    let is_options =
        response.extensions().get::<correlation::RequestMethod>().is_some_and(|m| m.0 == axum::http::Method::OPTIONS);
    match allow {
        Some(allow) if is_options && response.status() == StatusCode::METHOD_NOT_ALLOWED => {
            let mut answer = axum::response::Response::new(axum::body::Body::empty());
            *answer.status_mut() = StatusCode::NO_CONTENT;
            if let Ok(v) = header::HeaderValue::from_str(&format!("{allow},OPTIONS")) {
                answer.headers_mut().insert(header::ALLOW, v);
            }
            if let Some(cid) = response.headers().get(correlation::HEADER) {
                answer.headers_mut().insert(correlation::HEADER, cid.clone());
            }
            answer
        }
        _ => response,
    }
}

/// Answers `503 UNAVAILABLE` when a request outlives `request_timeout`; dropping its
/// future rolls back whatever it had begun.
async fn request_timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.settings.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::request_timeout(limit).into_response(),
    }
}
