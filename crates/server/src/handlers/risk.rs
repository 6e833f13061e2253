//! The risk engine's routes: rule sets (`/v1/risk/rulesets`), targeting parameters, the hit-rate report,
//! alerts (`/v1/alerts`), enterprise credit classes and inspection results.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use zonegate_domain::FieldErrors;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, Params, PathParams};
use crate::handlers::created;
use crate::handlers::declarations::declaration_id;
use crate::Shared;

fn version_of(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(|| {
        ApiError::not_found("version", format!("rule set `{text}` not found; versions are whole numbers"))
    })
}

fn ok_or_created(created_now: bool, location: &str, body: Value) -> Response {
    if created_now {
        created(location, body)
    } else {
        (StatusCode::OK, Json(body)).into_response()
    }
}

/// `GET /v1/risk/rulesets`: every saved version, newest first, and which is in force today.
pub(crate) async fn list_rule_sets(State(api): State<Shared>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(api.app.list_rule_sets(&caller.principal)?).into_response())
}

/// `POST /v1/risk/rulesets`: 201 with the new version; 200 when the rules equal the latest version's; 422
/// with every problem, conditions' with line and column.
pub(crate) async fn save_rule_set(
    State(api): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (created_now, saved) = api.app.save_rule_set(&caller.principal, &body).await?;
    let location = format!("/v1/risk/rulesets/{}", saved["version"]);
    Ok(ok_or_created(created_now, &location, saved))
}

/// `GET /v1/risk/rulesets/{version}`.
pub(crate) async fn get_rule_set(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(version): PathParams<String>,
) -> Result<Response, ApiError> {
    let version = version_of(&version)?;
    let body = api.app.get_rule_set(&caller.principal, version).map_err(|e| ApiError::from_app(e, "version"))?;
    Ok(Json(body).into_response())
}

/// `POST /v1/risk/rulesets/{version}/activate` with `{"effective_from": "YYYY-MM-DD"}`.
pub(crate) async fn activate_rule_set(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(version): PathParams<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let version = version_of(&version)?;
    let body = api
        .app
        .activate_rule_set(&caller.principal, version, &body)
        .await
        .map_err(|e| ApiError::from_app(e, "version"))?;
    Ok(Json(body).into_response())
}

/// `GET /v1/risk/rulesets/{version}/backtest?limit=N`: the version replayed on the last N recorded
/// declarations (default 10,000) with their inspection outcomes.
pub(crate) async fn backtest(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(version): PathParams<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let version = version_of(&version)?;
    let mut errors = FieldErrors::default();
    params.check(&["limit"], &mut errors);
    let limit: Option<u32> = params.integer("limit", &mut errors);
    if limit.is_some_and(|l| l == 0 || l > 100_000) {
        errors.add("range", "limit", "`limit` is outside 1..=100000");
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let report = api
        .app
        .backtest_rule_set(&caller.principal, version, limit)
        .await
        .map_err(|e| ApiError::from_app(e, "version"))?;
    Ok(Json(report).into_response())
}

/// `GET /v1/risk/parameters`: the targeting parameters in force today.
pub(crate) async fn get_parameters(State(api): State<Shared>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(api.app.risk_parameters(&caller.principal)?).into_response())
}

/// `POST /v1/risk/parameters` with `{"effective_from", "parameters"}`.
pub(crate) async fn set_parameters(
    State(api): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(created("/v1/risk/parameters", api.app.set_risk_parameters(&caller.principal, &body).await?))
}

/// `GET /v1/risk/report`: hit rates per rule and per selection reason, from recorded inspection results.
pub(crate) async fn report(State(api): State<Shared>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(api.app.risk_report(&caller.principal).await?).into_response())
}

/// `POST /v1/alerts`: 201 with the alert; 200 when the same alert was published before; 409 when another
/// alert was published under the same id.
pub(crate) async fn publish_alert(
    State(api): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (created_now, alert) = api.app.publish_alert(&caller.principal, &body).await?;
    // Alerts are read in the listing; there is no route of one alert to point at.
    Ok(ok_or_created(created_now, "", json!(alert)))
}

/// `GET /v1/alerts?active=true`: alerts, newest first.
pub(crate) async fn list_alerts(
    State(api): State<Shared>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    params.check(&["active"], &mut errors);
    let active = match params.text("active") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            errors.add("choice", "active", format!("`{other}` is not `true` or `false`"));
            false
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let alerts = api.app.list_alerts(&caller.principal, active)?;
    Ok(Json(json!({ "items": alerts })).into_response())
}

/// `POST /v1/alerts/{publisher}/{id}/withdraw` with an optional `{"reason"}`.
pub(crate) async fn withdraw_alert(
    State(api): State<Shared>,
    caller: Caller,
    PathParams((publisher, id)): PathParams<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let reason = body.get("reason").and_then(Value::as_str).unwrap_or_default();
    let key = format!("{publisher}/{id}");
    let alert =
        api.app.withdraw_alert(&caller.principal, &key, reason).await.map_err(|e| ApiError::from_app(e, "id"))?;
    Ok(Json(json!(alert)).into_response())
}

/// `GET /v1/enterprises/{uscc}/credit`: the class in force and its history.
pub(crate) async fn get_credit(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(uscc): PathParams<String>,
) -> Result<Response, ApiError> {
    Ok(Json(api.app.credit_history(&caller.principal, &uscc).map_err(|e| ApiError::from_app(e, "uscc"))?)
        .into_response())
}

/// `POST /v1/enterprises/{uscc}/credit` with `{"class", "effective_from", "reason"}`.
pub(crate) async fn set_credit(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(uscc): PathParams<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let body =
        api.app.set_credit_class(&caller.principal, &uscc, &body).await.map_err(|e| ApiError::from_app(e, "uscc"))?;
    Ok(created(&format!("/v1/enterprises/{uscc}/credit"), body))
}

/// `POST /v1/declarations/{id}/inspection`: 201 recorded; 200 the same result again; 409 another result.
pub(crate) async fn record_inspection(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = declaration_id(&id)?;
    let (created_now, body) =
        api.app.record_inspection(&caller.principal, id, &body).await.map_err(|e| ApiError::from_app(e, "id"))?;
    Ok(ok_or_created(created_now, &format!("/v1/declarations/{id}/inspection"), body))
}

/// `GET /v1/declarations/{id}/inspection`.
pub(crate) async fn get_inspection(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let id = declaration_id(&id)?;
    Ok(Json(api.app.get_inspection(&caller.principal, id).await.map_err(|e| ApiError::from_app(e, "id"))?)
        .into_response())
}
