//! The console's error pages (403, 404, 429, 500) in the page's language, and the mapping of use-case and
//! HTTP-layer errors to them. A visitor whose session ended is sent to the login page instead.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use zonegate_app::AppError;
use zonegate_store::StoreError;

use super::context::Ctx;
use super::format::href;
use super::i18n::Msg;
use super::layout::{self, Page};
use crate::error::ApiError;

fn status_page(ctx: &Ctx, status: StatusCode, title: Msg, text: Msg) -> Response {
    let body = html! {
        p { (ctx.t(text)) }
        p { a href="/console" { (ctx.t(Msg::BackToStart)) } }
    };
    layout::respond_with(status, ctx, &Page::new(ctx.t(title)), body)
}

/// 403: the policy refuses this user what the page shows.
pub(crate) fn forbidden(ctx: &Ctx) -> Response {
    status_page(ctx, StatusCode::FORBIDDEN, Msg::ForbiddenTitle, Msg::ForbiddenText)
}

/// 404: no such page or record.
pub(crate) fn not_found(ctx: &Ctx) -> Response {
    status_page(ctx, StatusCode::NOT_FOUND, Msg::NotFoundTitle, Msg::NotFoundText)
}

/// 500: the detail is in the server log, never on the page.
pub(crate) fn internal(ctx: &Ctx, detail: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %detail, "console page failed");
    status_page(ctx, StatusCode::INTERNAL_SERVER_ERROR, Msg::InternalTitle, Msg::InternalText)
}

/// A use-case error that the page does not handle itself.
pub(crate) fn app(ctx: &Ctx, error: AppError) -> Response {
    match error {
        AppError::Forbidden { .. } => forbidden(ctx),
        AppError::NotFound { .. } | AppError::Store(StoreError::NotFound) => not_found(ctx),
        error => internal(ctx, &error),
    }
}

/// An error of the HTTP layer (authentication, the form token, rate limits) as a page.
pub(crate) fn api(ctx: &Ctx, error: ApiError) -> Response {
    match error.status() {
        StatusCode::UNAUTHORIZED => Redirect::to(&href("/console/login", &[("next", &ctx.path)])).into_response(),
        StatusCode::FORBIDDEN => status_page(ctx, StatusCode::FORBIDDEN, Msg::ForbiddenTitle, Msg::StaleFormText),
        StatusCode::NOT_FOUND => not_found(ctx),
        StatusCode::TOO_MANY_REQUESTS => {
            status_page(ctx, StatusCode::TOO_MANY_REQUESTS, Msg::TooManyTitle, Msg::TooManyText)
        }
        status if status.is_client_error() => status_page(ctx, status, Msg::BadRequestTitle, Msg::BadRequestText),
        _ => internal(ctx, &format_args!("{}", error.body())),
    }
}

/// Any `/console/…` path no route matches.
pub(crate) async fn unknown_page(ctx: Ctx) -> Response {
    not_found(&ctx)
}
