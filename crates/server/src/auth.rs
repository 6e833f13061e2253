//! Authentication at the HTTP edge: who is calling, from a Bearer API token or a session cookie.
//!
//! - [`Caller`] resolves the principal of a request or answers `401`. A cookie-authenticated request that
//!   changes state must prove it comes from our own pages: the `x-csrf-token` header (API) or the `_csrf`
//!   form field (console, [`check_form_csrf`]) must equal the session's CSRF token, and an `Origin` header,
//!   when sent, must be this host.
//! - Login and token use are rate-limited per client address, per login name and per token
//!   ([`Limits`]); a refusal is `429` with the time to wait.
//! - Logs name users by [`fingerprint`] only: login names may be personal data. Passwords, tokens and
//!   cookies are never logged.
//!
//! What a caller may do is decided by the app's policies, not here.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use zonegate_app::auth::credentials;
use zonegate_app::auth::Principal;
use zonegate_app::AppError;

use crate::error::ApiError;
use crate::{Api, Shared};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "zg_session";
/// Header carrying the CSRF token on cookie-authenticated API requests that change state.
pub const CSRF_HEADER: &str = "x-csrf-token";

pub use zonegate_app::auth::credentials::fingerprint;

/// The rate limiters of one server.
pub(crate) struct Limits {
    login_per_client: DefaultKeyedRateLimiter<String>,
    login_per_user: DefaultKeyedRateLimiter<String>,
    token_use: DefaultKeyedRateLimiter<String>,
    bad_credentials_per_client: DefaultKeyedRateLimiter<String>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl Limits {
    pub(crate) fn new(config: &crate::ServerConfig) -> Limits {
        let per_second = NonZeroU32::new(config.token_requests_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst =
            NonZeroU32::new(config.token_requests_per_second.saturating_mul(2).max(1)).unwrap_or(NonZeroU32::MIN);
        Limits {
            login_per_client: RateLimiter::keyed(per_minute(config.logins_per_minute.saturating_mul(3))),
            login_per_user: RateLimiter::keyed(per_minute(config.logins_per_minute)),
            token_use: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            bad_credentials_per_client: RateLimiter::keyed(per_minute(config.logins_per_minute.saturating_mul(3))),
        }
    }
}

/// Keys a limiter tracks before it drops those back at full capacity, so memory stays bounded.
const TRACKED_KEYS_MAX: usize = 10_000;

fn check(limiter: &DefaultKeyedRateLimiter<String>, key: String, what: &str) -> Result<(), ApiError> {
    if limiter.len() > TRACKED_KEYS_MAX {
        limiter.retain_recent();
    }
    limiter.check_key(&key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ApiError::too_many(what, wait.as_secs().max(1))
    })
}

/// The client's address as the connection reports it (`unknown` in tests without a socket).
pub(crate) fn client_of(parts_extensions: &axum::http::Extensions) -> String {
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |ConnectInfo(address)| address.ip().to_string())
}

/// An authenticated request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub principal: Principal,
    /// The session's CSRF token, for cookie-authenticated callers; `None` for token callers.
    pub csrf: Option<String>,
    /// The session cookie's secret, for logout.
    session_secret: Option<String>,
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// An `Origin` header, when present, must name this host.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    origin.split_once("://").is_some_and(|(_, authority)| authority == host)
}

/// Why a request is not authenticated, for [`ConsoleCaller`] to tell "log in" from other refusals.
enum Missing {
    Nothing,
    Refused(ApiError),
}

async fn authenticate(parts: &Parts, api: &Api) -> Result<Caller, Missing> {
    if let Some(header) = parts.headers.get(AUTHORIZATION) {
        let token = header.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        let Some(token) = token else {
            return Err(Missing::Refused(ApiError::unauthenticated(
                "the authorization header must read `Bearer <token>`",
            )));
        };
        // Only the id is needed here; the app hashes the secret when it checks the token.
        if let Some(token_id) = credentials::token_id(token) {
            check(&api.limits.token_use, token_id.to_owned(), "requests with this token").map_err(Missing::Refused)?;
        }
        return match api.app.authenticate_token(token).await {
            Ok(principal) => Ok(Caller { principal, csrf: None, session_secret: None }),
            // The client's address is needed only to count a failure against it.
            Err(error) => Err(Missing::Refused(refused(api, &client_of(&parts.extensions), error, "token"))),
        };
    }
    let Some(secret) = session_secret(&parts.headers) else {
        return Err(Missing::Nothing);
    };
    match api.app.authenticate_session(&secret).await {
        Ok(principal) => {
            Ok(Caller { principal, csrf: Some(credentials::csrf_token(&secret)), session_secret: Some(secret) })
        }
        // An expired or ended session is the same as none: log in again.
        Err(AppError::Unauthenticated) => Err(Missing::Nothing),
        Err(error) => Err(Missing::Refused(ApiError::from(error))),
    }
}

/// The session cookie's value, from any `Cookie` header.
fn session_secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
}

/// Maps a failed authentication, counting it against the client; too many failures become `429`.
fn refused(api: &Api, client: &str, error: AppError, what: &str) -> ApiError {
    match error {
        AppError::Unauthenticated => {
            tracing::warn!(client, credential = what, "authentication failed");
            match check(&api.limits.bad_credentials_per_client, client.to_owned(), "failed authentications") {
                Ok(()) => ApiError::unauthenticated(format!("the {what} is unknown, expired or revoked")),
                Err(limited) => limited,
            }
        }
        error => ApiError::from(error),
    }
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Shared) -> Result<Self, Self::Rejection> {
        let caller = match authenticate(parts, api).await {
            Ok(caller) => caller,
            Err(Missing::Nothing) => {
                return Err(ApiError::unauthenticated(
                    "log in (POST /v1/session) or send `Authorization: Bearer <token>`",
                ))
            }
            Err(Missing::Refused(error)) => return Err(error),
        };
        if let Some(expected) = &caller.csrf {
            if !is_safe(&parts.method) && parts.uri.path().starts_with("/v1/") {
                let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
                if !credentials::constant_time_eq(presented, expected) || !same_origin(&parts.headers) {
                    return Err(csrf_refused());
                }
            }
        }
        Ok(caller)
    }
}

pub(crate) fn csrf_refused() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "csrf",
        CSRF_HEADER,
        "a request with the session cookie that changes state needs the session's CSRF token",
    )
}

/// A console request: like [`Caller`], but someone not logged in is sent to the login page.
#[derive(Debug, Clone)]
pub(crate) struct ConsoleCaller(pub Caller);

impl FromRequestParts<Shared> for ConsoleCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, api: &Shared) -> Result<Self, Self::Rejection> {
        match authenticate(parts, api).await {
            Ok(caller) => Ok(ConsoleCaller(caller)),
            Err(Missing::Nothing) => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/console");
                let encoded: String = form_urlencoded_component(next);
                Err(Redirect::to(&format!("/console/login?next={encoded}")).into_response())
            }
            Err(Missing::Refused(error)) => Err(error.into_response()),
        }
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
fn form_urlencoded_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Checks the `_csrf` field of a console form (and the `Origin` header) against the caller's session.
pub(crate) fn check_form_csrf(caller: &Caller, headers: &HeaderMap, presented: &str) -> Result<(), ApiError> {
    match &caller.csrf {
        Some(expected) if credentials::constant_time_eq(presented, expected) && same_origin(headers) => Ok(()),
        Some(_) => Err(csrf_refused()),
        // Token callers do not post console forms.
        None => Err(csrf_refused()),
    }
}

/// The `Set-Cookie` value of a session.
fn session_cookie(api: &Api, value: String, max_age_secs: i64) -> Result<HeaderValue, ApiError> {
    let cookie = Cookie::build((SESSION_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(api.config.secure_cookies)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build();
    HeaderValue::from_str(&cookie.to_string()).map_err(|e| ApiError::internal(&e))
}

/// Checks the rate limits and the password, starts a session, and returns its `Set-Cookie` header.
pub(crate) async fn login(
    api: &Api,
    extensions: &axum::http::Extensions,
    user_id: &str,
    password: &str,
) -> Result<(HeaderValue, zonegate_app::accounts::LoggedIn), ApiError> {
    let client = client_of(extensions);
    let user = fingerprint(user_id);
    check(&api.limits.login_per_client, client.clone(), "login attempts from this address")?;
    check(&api.limits.login_per_user, user.clone(), "login attempts for this user")?;
    match api.app.login(user_id, password).await {
        Ok(logged_in) => {
            tracing::info!(user = %user, client, "login");
            let max_age = (logged_in.expires_at - api.app.now()).num_seconds();
            let cookie = session_cookie(api, logged_in.secret.clone(), max_age)?;
            Ok((cookie, logged_in))
        }
        Err(AppError::Unauthenticated) => {
            tracing::warn!(user = %user, client, "login failed");
            Err(ApiError::unauthenticated("the user id or the password is wrong"))
        }
        Err(error) => Err(ApiError::from(error)),
    }
}

/// Ends the caller's session (if they have one) and returns the `Set-Cookie` header that clears it.
pub(crate) async fn logout(api: &Api, caller: &Caller) -> Result<HeaderValue, ApiError> {
    if let Some(secret) = &caller.session_secret {
        api.app.logout(secret).await.map_err(ApiError::from)?;
    }
    tracing::info!(user = %fingerprint(&caller.principal.user_id), "logout");
    session_cookie(api, String::new(), 0)
}

/// Adds a `Set-Cookie` header to a response.
pub(crate) fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().append(SET_COOKIE, cookie);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_do_not_contain_the_name() {
        assert_eq!(fingerprint("li.wei"), fingerprint("li.wei"));
        assert_ne!(fingerprint("li.wei"), fingerprint("li.wej"));
        assert!(!fingerprint("li.wei").contains("li"));
        assert_eq!(fingerprint("x").len(), 12);
    }

    #[test]
    fn origin_must_be_this_host() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&headers));
        headers.insert(ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&headers));
        headers.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&headers));
    }

    #[test]
    fn next_paths_are_encoded() {
        assert_eq!(form_urlencoded_component("/console/declarations?flow=a&b"), "/console/declarations%3Fflow%3Da%26b");
    }
}
