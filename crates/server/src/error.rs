//! The one error type of the HTTP layer: a status and the `{"errors":[{"code","field","message"}]}`
//! envelope of interchange.md, so that every failure a client sees has the same JSON shape.

use std::any::Any;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use zonegate_app::AppError;
use zonegate_domain::FieldErrors;
use zonegate_store::StoreError;

/// An error response: HTTP status and JSON envelope body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    /// One error in the envelope.
    pub fn new(status: StatusCode, code: &str, field: &str, message: impl AsRef<str>) -> ApiError {
        ApiError { status, body: zonegate_wire::errors::single(code, field, message.as_ref()) }
    }

    /// `422` listing every problem.
    pub fn invalid(errors: &FieldErrors) -> ApiError {
        ApiError { status: StatusCode::UNPROCESSABLE_ENTITY, body: zonegate_wire::errors::envelope(errors) }
    }

    /// `404` for a resource named by `field`.
    pub fn not_found(field: &str, message: impl AsRef<str>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", field, message)
    }

    /// `401` with the envelope; the caller should log in or present a valid token.
    pub fn unauthenticated(message: impl AsRef<str>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "", message)
    }

    /// `403`: the caller is known, and the policies do not allow the action.
    pub fn forbidden(action: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", "", format!("you may not `{action}` here"))
    }

    /// `429` with a `retry-after` hint in seconds in the body.
    pub fn too_many(what: &str, retry_after_secs: u64) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "",
            format!("too many {what}; retry in {retry_after_secs} s"),
        );
        if let Some(object) = error.body.as_object_mut() {
            object.insert("retry_after_secs".into(), Value::from(retry_after_secs));
        }
        error
    }

    /// The opaque `500`: the detail goes to the log once, never to the client.
    pub fn internal(detail: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "",
            "internal error; the server log has the details",
        )
    }

    /// Maps a use-case error; `field` names the path parameter a `not_found` is about.
    pub fn from_app(error: AppError, field: &str) -> ApiError {
        match error {
            AppError::Invalid(errors) => ApiError::invalid(&errors),
            AppError::Conflict { declarant, reference, existing_id } => {
                let message = format!(
                    "declaration `{reference}` of `{declarant}` was recorded before with other content, as id {existing_id}"
                );
                let mut error = ApiError::new(StatusCode::CONFLICT, "conflict", "reference", message);
                if let Some(object) = error.body.as_object_mut() {
                    object.insert("existing_id".into(), Value::from(existing_id));
                }
                error
            }
            AppError::Clash(message) => ApiError::new(StatusCode::CONFLICT, "conflict", "", message),
            AppError::NotFound { what } => ApiError::not_found(field, format!("{what} not found")),
            AppError::Unauthenticated => ApiError::unauthenticated("valid credentials are required"),
            AppError::Forbidden { action, .. } => ApiError::forbidden(&action),
            AppError::AccountExists(user_id) => ApiError::new(
                StatusCode::CONFLICT,
                "account_exists",
                "user_id",
                format!("account `{user_id}` exists already"),
            ),
            AppError::Store(StoreError::NotFound) => ApiError::not_found(field, "not found"),
            AppError::Store(StoreError::ChainBroken { seq, detail }) => {
                tracing::error!(seq, %detail, "the event chain is broken");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "chain_broken",
                    "",
                    format!("the event chain is broken at seq {seq}: {detail}"),
                )
            }
            error => ApiError::internal(&error),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn body(&self) -> &Value {
        &self.body
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        ApiError::from_app(error, "")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// The response when a handler panicked (a bug): logged, then the opaque `500` envelope.
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    ApiError::internal(&format_args!("handler panicked: {detail}")).into_response()
}
