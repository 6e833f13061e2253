//! `/v1/tariff`: a tariff line as in force on a date, and search over the HS 2022 nomenclature.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use zonegate_app::auth::{Action, Resource};
use zonegate_app::hs_search;
use zonegate_domain::FieldErrors;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Params, PathParams};
use crate::Shared;

/// Results of a search when `limit` is not given.
const SEARCH_LIMIT_DEFAULT: usize = 20;
/// Longest search text accepted.
const QUERY_LENGTH_MAX: usize = 200;

/// `GET /v1/tariff/lines/{hs}?on=YYYY-MM-DD` (default today): rates and tax rows of the line.
pub(crate) async fn line(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(hs): PathParams<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    params.check(&["on"], &mut errors);
    let on = params.date("on", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let date = on.unwrap_or_else(|| api.app.now().date_naive());
    let body = api.app.tariff_line(&caller.principal, &hs, date).map_err(|e| ApiError::from_app(e, "hs"))?;
    Ok(Json(body).into_response())
}

/// `GET /v1/tariff/search?q=…&limit=…`: nomenclature entries whose code starts with the digits of `q`, or
/// whose description contains every word of it.
pub(crate) async fn search(State(api): State<Shared>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    api.app.authorize(&caller.principal, Action::TariffRead, &Resource::Platform)?;
    let mut errors = FieldErrors::default();
    params.check(&["q", "limit"], &mut errors);
    let query = params.text("q").unwrap_or("").trim();
    if query.is_empty() {
        errors.add("required", "q", "`q` (code digits or words) is required");
    } else if query.chars().count() > QUERY_LENGTH_MAX {
        errors.add("too_long", "q", format!("`q` may have at most {QUERY_LENGTH_MAX} characters"));
    }
    let limit = params.integer::<usize>("limit", &mut errors).unwrap_or(SEARCH_LIMIT_DEFAULT);
    if !(1..=hs_search::SEARCH_RESULTS_MAX).contains(&limit) {
        errors.add("range", "limit", format!("`{limit}` is outside 1..={}", hs_search::SEARCH_RESULTS_MAX));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let items: Vec<_> = hs_search::search(query, limit)
        .into_iter()
        .map(|entry| json!({ "code": entry.code, "description": entry.description, "level": entry.level, "section": entry.section }))
        .collect();
    Ok((StatusCode::OK, Json(json!({ "items": items }))).into_response())
}
