//! `/v1/declarations`: submit (idempotent under declarant + reference), read one, list with filters and a
//! cursor.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use zonegate_app::{AppError, ListQuery, Submitted};
use zonegate_domain::{FieldErrors, Uscc};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, Params, PathParams};
use crate::handlers::created;
use crate::observe::count_submission;
use crate::Shared;

/// `POST /v1/declarations`: 201 when recorded now, 200 with the first result on a repeat, 409 on a
/// conflicting document under the same key, 422 listing every problem.
pub(crate) async fn submit(
    State(api): State<Shared>,
    caller: Caller,
    body: Result<JsonBody, ApiError>,
) -> Result<Response, ApiError> {
    let JsonBody(document) = body.inspect_err(|_| count_submission("invalid"))?;
    match api.app.submit(&caller.principal, &document).await {
        Ok(Submitted::Created(body)) => {
            count_submission("created");
            let location = body
                .get("id")
                .and_then(|id| id.as_i64())
                .map(|id| format!("/v1/declarations/{id}"))
                .unwrap_or_default();
            Ok(created(&location, body))
        }
        Ok(Submitted::Repeat(body)) => {
            count_submission("repeat");
            Ok((StatusCode::OK, Json(body)).into_response())
        }
        Err(error) => {
            match &error {
                AppError::Conflict { .. } => count_submission("conflict"),
                AppError::Invalid(_) => count_submission("invalid"),
                _ => {}
            }
            Err(ApiError::from_app(error, ""))
        }
    }
}

/// A declaration id from the path: not a whole number is not found.
pub(crate) fn declaration_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::not_found("id", format!("declaration `{id}` not found; ids are whole numbers")))
}

/// `GET /v1/declarations/{id}`: the document, its assessment and record metadata.
pub(crate) async fn get_one(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let id = declaration_id(&id)?;
    let body = api.app.get_declaration(&caller.principal, id).await.map_err(|e| ApiError::from_app(e, "id"))?;
    Ok(Json(body).into_response())
}

const LIST_PARAMETERS: &[&str] = &["flow", "declarant", "declared_from", "declared_to", "treatment", "after", "limit"];

/// `GET /v1/declarations`: summaries ascending by id after the cursor `after`; `next_after` is the cursor
/// of the next page, or null on the last one.
pub(crate) async fn list(State(api): State<Shared>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    params.check(LIST_PARAMETERS, &mut errors);
    let declarant = params.text("declarant");
    if let Some(Err(error)) = declarant.map(Uscc::parse) {
        errors.add(error.code, "declarant", error.message);
    }
    let query = ListQuery {
        flow: params.text("flow").map(str::to_owned),
        declarant: declarant.map(str::to_owned),
        declared_from: params.date("declared_from", &mut errors),
        declared_to: params.date("declared_to", &mut errors),
        treatment: params.text("treatment").map(str::to_owned),
        after: params.integer("after", &mut errors),
        limit: params.integer("limit", &mut errors),
    };
    errors.extend(query.validate());
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    match api.app.list_declarations(&caller.principal, query).await {
        Ok((items, next_after)) => Ok(Json(json!({ "items": items, "next_after": next_after })).into_response()),
        Err(error) => Err(ApiError::from_app(error, "")),
    }
}

/// `GET /v1/declarations/{id}/events`: the hash-chained events recorded about the declaration.
pub(crate) async fn events(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let id = declaration_id(&id)?;
    let events = api.app.declaration_events(&caller.principal, id).await.map_err(|e| ApiError::from_app(e, "id"))?;
    let items: Vec<_> = events
        .iter()
        .map(|event| {
            json!({
                "seq": event.seq,
                "recorded_at": event.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "kind": event.kind,
                "subject": event.subject,
                "payload": serde_json::from_str::<serde_json::Value>(&event.payload_json).unwrap_or_default(),
                "prev_hash": event.prev_hash,
                "hash": event.hash,
                "hash_verified": event.recomputed_hash() == event.hash,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

const STATS_PARAMETERS: &[&str] = &["declared_from", "declared_to", "zone", "declarant"];
/// Days covered by default, up to today.
const STATS_DAYS_DEFAULT: i64 = 30;

/// `GET /v1/stats/declarations?declared_from=&declared_to=&zone=&declarant=`: declarations by flow per day,
/// payable and waived taxes per day, treatments, and the median and p90 time from submission to decision.
pub(crate) async fn stats(State(api): State<Shared>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    params.check(STATS_PARAMETERS, &mut errors);
    let today = api.app.now().date_naive();
    let to = params.date("declared_to", &mut errors).unwrap_or(today);
    let from = params.date("declared_from", &mut errors).unwrap_or(to - chrono::Duration::days(STATS_DAYS_DEFAULT - 1));
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let query = zonegate_app::StatsQuery {
        zone: params.text("zone").map(str::to_owned),
        declarant: params.text("declarant").map(str::to_owned),
        declared_from: from,
        declared_to: to,
    };
    let stats = api.app.stats(&caller.principal, query).await?;
    Ok(Json(zonegate_app::stats_body(&stats, from, to)).into_response())
}
