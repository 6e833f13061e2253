//! The web console: server-rendered HTML pages over the same use cases as the JSON API, in Chinese (the
//! default) and English.
//!
//! Pages are `maud` templates (compiled, auto-escaping). Every visible string comes from [`i18n`], every
//! rule id is explained by [`glossary`], and every asset is compiled into the binary ([`assets`]), so the
//! console works with no internet. Console responses carry a strict Content-Security-Policy: no inline
//! script or style (the monitor's chart data travels in a `<script type="application/json">` island).

mod access;
mod assets;
mod context;
mod errors;
mod format;
mod forms;
mod glossary;
mod i18n;
mod layout;
mod pages;

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::Shared;

/// The Content-Security-Policy of every console page.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'";

/// Every console route (all under `/console`), with the security and language headers.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/console", get(home))
        .route("/console/login", get(pages::login::form).post(pages::login::submit))
        .route("/console/logout", post(pages::login::logout))
        .route("/console/declarations", get(pages::declarations::list))
        .route("/console/declarations/new", get(pages::submit::form).post(pages::submit::submit))
        .route("/console/declarations/{id}", get(pages::detail::show))
        .route("/console/chain", get(pages::chain::verify))
        .route("/console/enterprises", get(pages::enterprises::list))
        .route("/console/zones", get(pages::zones::list))
        .route("/console/zones/{zone}/lists/{list}", get(pages::zones::entries))
        .route("/console/monitor", get(pages::monitor::show))
        .route("/console/risk", get(pages::risk::show))
        .route("/console/alerts", get(pages::alerts::list).post(pages::alerts::publish))
        .route("/console/alerts/{publisher}/{id}/withdraw", post(pages::alerts::withdraw))
        .route("/console/declarations/{id}/inspection", post(pages::detail::record_inspection))
        .route("/console/account", get(pages::account::show))
        .route("/console/account/tokens", post(pages::account::issue))
        .route("/console/account/tokens/{token_id}/revoke", post(pages::account::revoke))
        .route("/console/accounts", get(pages::accounts::list).post(pages::accounts::create))
        .route("/console/accounts/{user_id}/deactivate", post(pages::accounts::deactivate))
        .route("/console/assets/{*file}", get(assets::serve))
        .route("/console/{*rest}", get(errors::unknown_page))
        .layer(axum::middleware::from_fn(console_headers))
}

/// `GET /console`: the declarations are the console's home.
async fn home() -> Response {
    Redirect::to("/console/declarations").into_response()
}

/// Adds the language cookie when `?lang=` chose a language, and the security headers of HTML pages.
async fn console_headers(request: Request, next: Next) -> Response {
    let chosen = i18n::Lang::from_query(request.uri().query());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Some(lang) = chosen {
        if let Ok(cookie) = HeaderValue::from_str(&i18n::lang_cookie(lang)) {
            headers.append(SET_COOKIE, cookie);
        }
    }
    let is_html = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        headers.insert(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("same-origin"));
    }
    headers.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    response
}
