//! Observability of the API: the Prometheus recorder (installed once per process), the request metrics
//! middleware, and the tracing span of each request.
//!
//! Metric labels are low-cardinality by construction: the route *template* (`/v1/declarations/{id}`, never
//! the concrete path) and the status class (`2xx` … `5xx`). Spans carry the method, route template and
//! request id, never bodies or path values.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests by `route` and `status` class.
pub(crate) const REQUESTS_TOTAL: &str = "zonegate_http_requests_total";
/// Request duration histogram by `route`.
pub(crate) const REQUEST_DURATION: &str = "zonegate_http_request_duration_seconds";
/// Declaration submissions by `outcome` (`created`, `repeat`, `conflict`, `invalid`).
pub(crate) const DECLARATIONS_SUBMITTED: &str = "zonegate_declarations_submitted_total";

/// Buckets of the duration histogram, in seconds.
const DURATION_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Route label of requests that matched no route (kept apart so unknown paths cannot create labels).
const UNMATCHED: &str = "unmatched";

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder the first time it is called in this process; later calls (every
/// router built in tests) reuse it. If another recorder was installed first, metrics go there and
/// `/metrics` answers `503`.
pub(crate) fn install_recorder() -> Option<PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), DURATION_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => {
                    metrics::describe_counter!(REQUESTS_TOTAL, "HTTP requests by route template and status class");
                    metrics::describe_histogram!(
                        REQUEST_DURATION,
                        metrics::Unit::Seconds,
                        "HTTP request duration by route template"
                    );
                    metrics::describe_counter!(DECLARATIONS_SUBMITTED, "declaration submissions by outcome");
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot install the Prometheus recorder; /metrics is unavailable");
                    None
                }
            }
        })
        .clone()
}

/// Drains histogram samples into their buckets now and then, so memory stays bounded between scrapes.
/// Must be called inside a tokio runtime.
pub(crate) fn spawn_upkeep() -> Option<tokio::task::JoinHandle<()>> {
    let handle = install_recorder()?;
    Some(tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(5));
        loop {
            interval.tick().await;
            handle.run_upkeep();
        }
    }))
}

/// Counts a declaration submission by outcome.
pub(crate) fn count_submission(outcome: &'static str) {
    metrics::counter!(DECLARATIONS_SUBMITTED, "outcome" => outcome).increment(1);
}

fn route_of(request: &Request) -> &str {
    request.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or(UNMATCHED)
}

/// Middleware: counts each request and records its duration, labelled by route template.
pub(crate) async fn track_request(request: Request, next: Next) -> Response {
    let route = route_of(&request).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = match response.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::histogram!(REQUEST_DURATION, "route" => route.clone()).record(started.elapsed().as_secs_f64());
    metrics::counter!(REQUESTS_TOTAL, "route" => route, "status" => status).increment(1);
    response
}

/// The span of one request: method, route template and request id (set by the request-id layer).
pub(crate) fn request_span(request: &Request) -> tracing::Span {
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!("request", method = %request.method(), route = route_of(request), request_id)
}
