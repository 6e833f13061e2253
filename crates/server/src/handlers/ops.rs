//! Operational routes (health, metrics, the OpenAPI document, hash-chain verification) and the JSON
//! fallbacks for unknown routes and methods.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::Shared;
use zonegate_app::auth::{Action, Resource};

/// `GET /healthz`: the process is up and serving.
pub(crate) async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// `GET /metrics`: Prometheus text exposition.
pub(crate) async fn metrics(State(api): State<Shared>, caller: Caller) -> Response {
    if let Err(error) = api.app.authorize(&caller.principal, Action::MetricsRead, &Resource::Platform) {
        return ApiError::from(error).into_response();
    }
    match crate::observe::install_recorder() {
        Some(handle) => ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response(),
        None => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics_unavailable",
            "",
            "another metrics recorder owns this process",
        )
        .into_response(),
    }
}

/// `GET /openapi.json`: the OpenAPI 3.1 description of the API.
pub(crate) async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], crate::OPENAPI_JSON).into_response()
}

/// `GET /v1/chain/verify`: recomputes every hash of the event chain; `500 chain_broken` if it fails.
pub(crate) async fn verify_chain(State(api): State<Shared>, caller: Caller) -> Result<Response, ApiError> {
    let report = api.app.verify(&caller.principal).await?;
    Ok(Json(json!({ "events": report.events, "head_hash": report.head_hash })).into_response())
}

/// Any path no route matches.
pub(crate) async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found("", format!("no route for {method} {}", uri.path()))
}

/// A known path with a method it does not take (axum adds the `allow` header).
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "",
        format!("{} does not take {method}", uri.path()),
    )
}
