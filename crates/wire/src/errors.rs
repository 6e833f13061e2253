//! The error envelope: `{"errors":[{"code":…,"field":…,"message":…}]}`.

use serde::Serialize;
use zonegate_domain::FieldErrors;

#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub code: &'a str,
    pub field: &'a str,
    pub message: &'a str,
}

#[derive(Debug, Serialize)]
pub struct ErrorEnvelope<'a> {
    pub errors: Vec<ErrorBody<'a>>,
}

pub fn envelope(errors: &FieldErrors) -> serde_json::Value {
    let body = ErrorEnvelope {
        errors: errors.iter().map(|e| ErrorBody { code: e.code, field: &e.field, message: &e.message }).collect(),
    };
    serde_json::to_value(body).unwrap_or_else(|_| serde_json::json!({"errors": []}))
}

/// One error, in the envelope.
pub fn single(code: &str, field: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [ { "code": code, "field": field, "message": message } ] })
}
