//! `/v1/session`, `/v1/accounts` and `/v1/tokens`: logging in and out, the accounts of each party, and API
//! tokens (shown once, revocable, expiring).

use axum::extract::State;
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use zonegate_app::accounts::{AccountInput, TokenInput};
use zonegate_app::auth::Principal;
use zonegate_domain::FieldErrors;

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::extract::{JsonBody, Params, PathParams};
use crate::handlers::created;
use crate::Shared;

fn principal_body(principal: &Principal) -> Value {
    json!({
        "user_id": principal.user_id,
        "party": principal.party,
        "party_kind": principal.party_kind.as_str(),
        "roles": principal.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
    })
}

/// A JSON body into a typed input, with every unknown or mistyped field reported.
fn input<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    serde_json::from_value(body).map_err(|e| {
        let mut errors = FieldErrors::default();
        errors.add("invalid", "", e.to_string());
        ApiError::invalid(&errors)
    })
}

/// `POST /v1/session` with `{"user_id","password"}`: starts a session (the `zg_session` cookie, HttpOnly,
/// SameSite=Strict) and returns the principal and the CSRF token that requests changing state must send
/// in `x-csrf-token`. `401` for a wrong user id or password (not saying which), `429` when rate-limited.
pub(crate) async fn login(
    State(api): State<Shared>,
    extensions: Extensions,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let field = |name: &str, errors: &mut FieldErrors| match body.get(name).and_then(Value::as_str) {
        Some(value) if !value.is_empty() => value.to_owned(),
        _ => {
            errors.add("required", name, format!("`{name}` is required"));
            String::new()
        }
    };
    let user_id = field("user_id", &mut errors);
    let password = field("password", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let (cookie, logged_in) = auth::login(&api, &extensions, &user_id, &password).await?;
    let mut body = principal_body(&logged_in.principal);
    if let Some(object) = body.as_object_mut() {
        object.insert("csrf_token".into(), json!(zonegate_app::auth::credentials::csrf_token(&logged_in.secret)));
        object.insert("expires_at".into(), json!(logged_in.expires_at.to_rfc3339()));
    }
    Ok(auth::with_cookie(Json(body).into_response(), cookie))
}

/// `GET /v1/session`: who the caller is (by session or token).
pub(crate) async fn whoami(caller: Caller) -> Response {
    let mut body = principal_body(&caller.principal);
    if let (Some(object), Some(csrf)) = (body.as_object_mut(), &caller.csrf) {
        object.insert("csrf_token".into(), json!(csrf));
    }
    Json(body).into_response()
}

/// `DELETE /v1/session`: ends the session and clears the cookie.
pub(crate) async fn logout(State(api): State<Shared>, caller: Caller) -> Result<Response, ApiError> {
    let cookie = auth::logout(&api, &caller).await?;
    Ok(auth::with_cookie(StatusCode::NO_CONTENT.into_response(), cookie))
}

/// `POST /v1/accounts`: creates an account (supervisors; enterprise admins for their own party).
pub(crate) async fn create_account(
    State(api): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let account = api.app.create_account(&caller.principal, input::<AccountInput>(body)?).await?;
    let location = format!("/v1/accounts/{}", account["user_id"].as_str().unwrap_or_default());
    Ok(created(&location, account))
}

/// `GET /v1/accounts?party=&all=true`: the accounts of a party (default: the caller's), or of all parties.
pub(crate) async fn list_accounts(
    State(api): State<Shared>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    params.check(&["party", "all"], &mut errors);
    let all = match params.text("all") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            errors.add("choice", "all", format!("`{other}` is not true or false"));
            false
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let items = api.app.list_accounts(&caller.principal, params.text("party").map(str::to_owned), all).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// `GET /v1/accounts/{user_id}`.
pub(crate) async fn get_account(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(user_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let account =
        api.app.get_account(&caller.principal, &user_id).await.map_err(|e| ApiError::from_app(e, "user_id"))?;
    Ok(Json(account).into_response())
}

/// `POST /v1/accounts/{user_id}/deactivate`: the account's sessions and tokens stop working at once.
pub(crate) async fn deactivate_account(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(user_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let account =
        api.app.deactivate_account(&caller.principal, &user_id).await.map_err(|e| ApiError::from_app(e, "user_id"))?;
    Ok(Json(account).into_response())
}

/// `POST /v1/tokens` with `{"name","user_id"?,"expires_in_days"?}`: issues a token. The body holds the
/// token itself under `token`: it is shown this once and cannot be read again.
pub(crate) async fn issue_token(
    State(api): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (mut description, token) = api.app.issue_token(&caller.principal, input::<TokenInput>(body)?).await?;
    let location = format!("/v1/tokens/{}", description["token_id"].as_str().unwrap_or_default());
    if let Some(object) = description.as_object_mut() {
        object.insert("token".into(), json!(token));
    }
    let mut response = created(&location, description);
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /v1/tokens?user_id=`: the tokens of an account (default: the caller's), never their secrets.
pub(crate) async fn list_tokens(
    State(api): State<Shared>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    params.check(&["user_id"], &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let items = api.app.list_tokens(&caller.principal, params.text("user_id").map(str::to_owned)).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// `DELETE /v1/tokens/{token_id}`: revokes the token (repeating it returns the first revocation).
pub(crate) async fn revoke_token(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(token_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let token =
        api.app.revoke_token(&caller.principal, &token_id).await.map_err(|e| ApiError::from_app(e, "token_id"))?;
    Ok(Json(token).into_response())
}
