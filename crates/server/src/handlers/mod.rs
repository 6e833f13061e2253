//! The route handlers, one module per resource. Each adapts one use case of [`zonegate_app::App`]: it reads
//! the request through the envelope-rejecting extractors, calls the app, and maps the outcome to a status.

pub(crate) mod access;
pub(crate) mod cbec;
pub(crate) mod declarations;
pub(crate) mod enterprises;
pub(crate) mod ledger;
pub(crate) mod ops;
pub(crate) mod risk;
pub(crate) mod tariff;
pub(crate) mod whitelist;
pub(crate) mod zones;

use axum::http::{header::LOCATION, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

/// `201 Created` with a JSON body and, when `location` is not empty, a `location` header.
pub(crate) fn created(location: &str, body: Value) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if location.is_empty() {
        return response;
    }
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}
