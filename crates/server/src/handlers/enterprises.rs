//! `/v1/enterprises`: the parties known to the platform (interchange.md §1.1). Recording a party that
//! exists records a new version of it.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use zonegate_domain::Party;
use zonegate_wire::parties::PartyJson;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParams};
use crate::handlers::created;
use crate::Shared;

fn party_body(party: &Party) -> Result<Value, ApiError> {
    serde_json::to_value(PartyJson::from_party(party)).map_err(|e| ApiError::internal(&e))
}

/// `POST /v1/enterprises`: 201 with the party as recorded; 422 listing every problem.
pub(crate) async fn create(
    State(api): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let party = zonegate_wire::parties::parse_party(&body).map_err(|errors| ApiError::invalid(&errors))?;
    api.app.put_party(&caller.principal, &party).await?;
    Ok(created(&format!("/v1/enterprises/{}", party.uscc), party_body(&party)?))
}

/// `GET /v1/enterprises`: every party, ascending by USCC.
pub(crate) async fn list(State(api): State<Shared>, caller: Caller) -> Result<Response, ApiError> {
    let items = api.app.list_parties(&caller.principal)?.iter().map(party_body).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// `GET /v1/enterprises/{uscc}`.
pub(crate) async fn get_one(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(uscc): PathParams<String>,
) -> Result<Response, ApiError> {
    let party = api.app.get_party(&caller.principal, &uscc).map_err(|e| ApiError::from_app(e, "uscc"))?;
    Ok(Json(party_body(&party)?).into_response())
}
