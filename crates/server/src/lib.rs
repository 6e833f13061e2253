//! The zonegate HTTP JSON API: the only crate that knows HTTP.
//!
//! It adapts the use cases of [`zonegate_app::App`] to routes (see [`ROUTES`] and `openapi.json`), and owns
//! everything that is HTTP-specific: status codes, the error envelope on every failure (axum's plain-text
//! rejections never reach a client), body limits, request ids, structured logs and Prometheus metrics.
//!
//! ```no_run
//! # async fn run(app: std::sync::Arc<zonegate_app::App>) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! zonegate_server::serve(app, zonegate_server::ServerConfig::standard(), listener).await
//! # }
//! ```

mod auth;
mod console;
mod error;
mod extract;
mod handlers;
mod observe;
mod routes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use zonegate_app::App;

pub use auth::{fingerprint, CSRF_HEADER, SESSION_COOKIE};
pub use error::ApiError;
pub use routes::{PUBLIC_ROUTES, ROUTES};

/// The OpenAPI 3.1 description of every route, served at `GET /openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Default largest request body: 1 MiB.
pub const BODY_LIMIT_DEFAULT: usize = 1024 * 1024;
/// The default largest e-commerce batch: 32 MiB (about 20,000 documents).
pub const BATCH_LIMIT_DEFAULT: usize = 32 * 1024 * 1024;

/// Settings of the HTTP layer. Build it with [`ServerConfig::standard`] and change fields as needed; more
/// fields may be added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Largest request body accepted; a larger one gets `413` with code `body_too_large`.
    pub body_limit_bytes: usize,
    /// Largest e-commerce batch (`POST /v1/cbec/batches`) accepted.
    pub batch_limit_bytes: usize,
    /// Mark the session cookie `Secure` (browsers then send it over HTTPS only, and to `localhost`). Turn
    /// off only behind plain HTTP on a trusted network.
    pub secure_cookies: bool,
    /// Login attempts per minute per login name (three times as many per client address).
    pub logins_per_minute: u32,
    /// Requests per second per API token (bursts of twice as many).
    pub token_requests_per_second: u32,
}

impl ServerConfig {
    /// The settings for production: a 1 MiB body limit, secure cookies, 10 logins per minute per name and
    /// 500 requests per second per token.
    pub fn standard() -> ServerConfig {
        ServerConfig {
            body_limit_bytes: BODY_LIMIT_DEFAULT,
            batch_limit_bytes: BATCH_LIMIT_DEFAULT,
            secure_cookies: true,
            logins_per_minute: 10,
            token_requests_per_second: 500,
        }
    }
}

/// What every handler shares.
pub(crate) struct Api {
    pub(crate) app: Arc<App>,
    pub(crate) config: ServerConfig,
    pub(crate) limits: auth::Limits,
}

pub(crate) type Shared = Arc<Api>;

/// The complete API as an axum router: every route of [`ROUTES`], the JSON fallbacks for unknown routes and
/// methods, and the request-id, tracing, metrics, panic and body-limit layers.
///
/// Installs the process-wide Prometheus recorder on first use (once per process; later calls reuse it).
pub fn router(app: Arc<App>, config: ServerConfig) -> Router {
    observe::install_recorder();
    let body_limit = config.body_limit_bytes;
    let limits = auth::Limits::new(&config);
    let api: Shared = Arc::new(Api { app, config, limits });
    // Router::layer wraps every route and the fallback, so these layers see the matched route template.
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(observe::request_span)
                .on_request(())
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(axum::middleware::from_fn(observe::track_request))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(DefaultBodyLimit::max(body_limit));
    routes::api_routes()
        .merge(console::routes())
        .fallback(handlers::ops::no_route)
        .method_not_allowed_fallback(handlers::ops::method_not_allowed)
        .layer(layers)
        .with_state(api)
}

/// Serves the API on `listener` until Ctrl-C or SIGTERM, then stops accepting connections and lets
/// requests in flight finish.
pub async fn serve(app: Arc<App>, config: ServerConfig, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let router = router(app, config);
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "zonegate API listening");
    }
    let upkeep = observe::spawn_upkeep();
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await;
    if let Some(task) = upkeep {
        task.abort();
    }
    tracing::info!("zonegate API stopped");
    result
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM. A signal that cannot be listened for is logged and ignored.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received: shutting down"),
        () = terminate => tracing::info!("SIGTERM received: shutting down"),
    }
}
