//! Extractors whose rejections are the JSON error envelope.
//!
//! axum's own `Json`, `Query` and `Path` reject with plain-text bodies; these wrappers turn every rejection
//! into an [`ApiError`] so a client only ever has to understand one error shape.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde_json::Value;
use zonegate_domain::FieldErrors;

use crate::error::ApiError;
use crate::Shared;

/// A JSON request body: `415` unless the content type is JSON, `413` over the body limit, `400` when the
/// body is not JSON (serde's message, with line and column).
pub(crate) struct JsonBody(pub Value);

impl FromRequest<Shared> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &Shared) -> Result<JsonBody, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content_type",
                "",
                "the request body must be JSON, sent with `content-type: application/json`",
            ));
        }
        let limit = state.config.body_limit_bytes;
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "",
                    format!("the request body is larger than the limit of {limit} bytes"),
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "body",
                    "",
                    format!("the request body could not be read: {}", rejection.body_text()),
                )
            }
        })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|error| {
            ApiError::new(StatusCode::BAD_REQUEST, "json", "", format!("the body is not valid JSON: {error}"))
        })
    }
}

/// `application/json` or any `application/…+json`, with or without parameters such as `charset`.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let mime = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Path parameters; a rejection (which only malformed percent-encoding can cause) is a `400` envelope.
pub(crate) struct PathParams<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<PathParams<T>, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PathParams(value)),
            Err(rejection) => Err(ApiError::new(StatusCode::BAD_REQUEST, "path", "", rejection.body_text())),
        }
    }
}

/// The query string as name/value pairs, read with [`Params::check`] and the typed getters, which record
/// problems in a [`FieldErrors`] so that a handler reports all of them at once. An empty value
/// (`?flow=`) counts as absent.
pub(crate) struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Params, ApiError> {
        match Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
            Ok(Query(pairs)) => Ok(Params(pairs)),
            Err(rejection) => Err(ApiError::new(StatusCode::BAD_REQUEST, "query", "", rejection.body_text())),
        }
    }
}

impl Params {
    /// Records parameters that the route does not take, and parameters given twice.
    pub(crate) fn check(&self, allowed: &[&str], errors: &mut FieldErrors) {
        for (index, (name, _)) in self.0.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                let message = format!("`{name}` is not a parameter of this route; it takes {}", allowed.join(", "));
                errors.add("parameter_unknown", name.clone(), message);
            } else if self.0[..index].iter().any(|(earlier, _)| earlier == name) {
                errors.add("parameter_repeated", name.clone(), format!("`{name}` is given more than once"));
            }
        }
    }

    /// The value of a parameter, if given and not empty.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, value)| key == name && !value.is_empty()).map(|(_, value)| value.as_str())
    }

    /// A `YYYY-MM-DD` date.
    pub(crate) fn date(&self, name: &'static str, errors: &mut FieldErrors) -> Option<NaiveDate> {
        let text = self.text(name)?;
        match parse_date(text) {
            Some(date) => Some(date),
            None => {
                errors.add("date", name, format!("`{text}` is not a date; write YYYY-MM-DD"));
                None
            }
        }
    }

    /// A whole number of type `T`.
    pub(crate) fn integer<T: FromStr>(&self, name: &'static str, errors: &mut FieldErrors) -> Option<T> {
        let text = self.text(name)?;
        match text.parse() {
            Ok(value) => Some(value),
            Err(_) => {
                errors.add("integer", name, format!("`{text}` is not a whole number in range"));
                None
            }
        }
    }
}

/// A strict `YYYY-MM-DD` date (chrono alone would also take `2026-3-2`).
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    if text.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}
