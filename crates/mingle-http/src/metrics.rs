//! Prometheus metrics at `GET /metrics`: the `metrics` facade records (here, in the
//! worker, the webhook sender and the encoder), `metrics-exporter-prometheus` renders.
//! Labels are bounded: route templates, never paths or org IDs.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock, RwLock};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::ApiError;
use crate::AppState;

/// Seconds: from a cached read (~1 ms) to a 50,000-attendee match run (~30 s).
const BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0, 120.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once; every router of the process shares it).
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .expect("non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already; /metrics shows only this one's");
        }
        handle
    })
}

/// Histograms keep every sample until they are drained into their buckets. A scrape
/// drains them, and so does this, every 5 s while the server runs: without it memory
/// grew by about 16 bytes a request whenever nobody scraped (docs/benchmarks.md).
pub async fn upkeep() {
    let handle = install();
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

/// The route a request matched, as its template in the reference's notation
/// (`/api/v0/partner/events/:event_id`; braces in label values trip simple parsers).
#[derive(Clone)]
pub struct RouteTemplate(pub Arc<str>);

/// Each route's template, written once: the router's routes are a fixed set.
static TEMPLATES: LazyLock<RwLock<HashMap<String, Arc<str>>>> = LazyLock::new(Default::default);

fn template_of(matched: &str) -> Arc<str> {
    if let Some(t) = TEMPLATES.read().unwrap_or_else(|e| e.into_inner()).get(matched) {
        return t.clone();
    }
    let template: Arc<str> = matched.replace('{', ":").replace('}', "").into();
    TEMPLATES.write().unwrap_or_else(|e| e.into_inner()).insert(matched.to_owned(), template.clone());
    template
}

/// Inside the router (a route layer, so the route is known): puts the matched route on
/// the response for the outer layers' logs and metrics.
pub async fn route_template(request: Request, next: Next) -> Response {
    let template = request.extensions().get::<MatchedPath>().map(|p| template_of(p.as_str()));
    let mut response = next.run(request).await;
    if let Some(t) = template {
        response.extensions_mut().insert(RouteTemplate(t));
    }
    response
}

/// The request counter and latency histogram of one (method, route, status), looked up
/// once: building a metric's key allocates its labels on every call otherwise.
type RequestSeries = (Counter, Histogram);
static SERIES: LazyLock<RwLock<HashMap<(&'static str, Arc<str>, u16), RequestSeries>>> =
    LazyLock::new(Default::default);

/// Records one served request.
pub fn record_request(method: &axum::http::Method, route: &Arc<str>, status: u16, seconds: f64) {
    use axum::http::Method;
    // Any token is a valid method: unknown ones share a label, so a client cannot mint series.
    let method = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let key = (method, route.clone(), status);
    let found = SERIES.read().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
    let (requests, latency) = found.unwrap_or_else(|| {
        let labels = [("method", method.to_owned()), ("route", route.to_string())];
        let series = (
            metrics::counter!("mingle_http_requests_total", "method" => method, "route" => route.to_string(), "status" => status.to_string()),
            metrics::histogram!("mingle_http_request_duration_seconds", &labels),
        );
        SERIES.write().unwrap_or_else(|e| e.into_inner()).insert(key, series.clone());
        series
    });
    requests.increment(1);
    latency.record(seconds);
}

/// `GET /metrics`: the Prometheus text exposition. Queue depths are read from the
/// database at each scrape.
pub async fn serve(State(state): State<AppState>) -> Response {
    let handle = install();
    match state.services.runs.queue_depths().await {
        Ok(depths) => {
            for (kind, depth) in depths {
                metrics::gauge!("mingle_queue_depth", "kind" => kind).set(depth as f64);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "could not read the queue depths");
            return ApiError::from(e).into_response();
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}
