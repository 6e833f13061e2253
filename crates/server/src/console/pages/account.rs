//! `GET /console/account` ("my account", for every logged-in user): who they are, their API tokens with a
//! revoke button per active one, and a form to issue a new token. A new token is shown once, on the page
//! that answers the form (console pages are never cached), and is not kept anywhere.
//!
//! `POST /console/account/tokens` issues a token; `POST /console/account/tokens/{token_id}/revoke` revokes
//! one and goes back to the page.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{html, Markup};
use serde_json::Value;
use zonegate_app::accounts::{TokenInput, TOKEN_DAYS_DEFAULT, TOKEN_DAYS_MAX};
use zonegate_app::AppError;
use zonegate_domain::{FieldError, FieldErrors};

use crate::console::access::Area;
use crate::console::context::{Ctx, Session};
use crate::console::errors;
use crate::console::format::{field, time_text};
use crate::console::forms::{csrf_field, Field, FormFields, Problems};
use crate::console::glossary::{label, Vocab};
use crate::console::i18n::{tf, Msg};
use crate::console::layout::{self, Page};
use crate::extract::PathParams;
use crate::Shared;

/// The names of the token form's controls, as the use case reports its errors.
const TOKEN_FIELDS: [&str; 2] = ["name", "expires_in_days"];

/// The values of the token form as typed.
struct TokenForm<'a> {
    name: &'a str,
    days: String,
}

fn state_label(ctx: &Ctx, state: &str) -> &'static str {
    ctx.t(match state {
        "active" => Msg::Active,
        "expired" => Msg::TokenExpired,
        _ => Msg::TokenRevoked,
    })
}

fn tokens_table(ctx: &Ctx, tokens: &[Value]) -> Markup {
    html! {
        @if tokens.is_empty() {
            p class="empty" { (ctx.t(Msg::NoTokens)) }
        } @else {
            div class="table-scroll" {
                table class="data" {
                    caption { (ctx.t(Msg::TokensCaption)) }
                    (layout::head_row(ctx, &[Msg::TokenName, Msg::TokenId, Msg::IssuedAt, Msg::ExpiresAt, Msg::State, Msg::RevokedBy, Msg::RevokedAt, Msg::Actions]))
                    tbody {
                        @for token in tokens {
                            @let (id, name, state) = (field(token, "token_id"), field(token, "name"), field(token, "state"));
                            tr {
                                th scope="row" { (name) }
                                td class="code" { (id) }
                                td { time { (time_text(field(token, "issued_at"))) } }
                                td { time { (time_text(field(token, "expires_at"))) } }
                                td class=(if state == "active" { "ok" } else { "unknown" }) { (state_label(ctx, state)) }
                                td { (field(token, "revoked_by")) }
                                td { time { (time_text(field(token, "revoked_at"))) } }
                                td {
                                    @if state == "active" {
                                        form method="post" action={ "/console/account/tokens/" (id) "/revoke" } class="inline" {
                                            (csrf_field(ctx))
                                            button type="submit" class="secondary" { (tf(ctx.lang, Msg::RevokeToken, &[("name", name)])) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn render(ctx: &Ctx, tokens: &[Value], form: &TokenForm<'_>, problems: &Problems, new_token: Option<&str>) -> Markup {
    let Some(user) = &ctx.user else { return html! {} };
    let roles: Vec<String> =
        user.roles.iter().map(|role| label(ctx.lang, Vocab::Role, role.as_str()).into_owned()).collect();
    html! {
        @if let Some(token) = new_token {
            section class="token-once" role="alert" aria-labelledby="new-token-title" {
                h2 id="new-token-title" { (ctx.t(Msg::NewTokenTitle)) }
                p { strong { (ctx.t(Msg::NewTokenOnce)) } }
                p { code class="code secret" id="new-token" { (token) } }
                p class="hint" { (ctx.t(Msg::NewTokenUse)) " " code class="code" { "Authorization: Bearer …" } }
            }
        }
        dl class="facts" {
            div { dt { (ctx.t(Msg::UserId)) } dd class="code" { (user.user_id) } }
            div { dt { (ctx.t(Msg::Party)) } dd title=(user.party) { (ctx.party_name.as_deref().unwrap_or(&user.party)) } }
            div { dt { (ctx.t(Msg::Roles)) } dd { (roles.join(ctx.lang.list_separator())) } }
        }
        @if ctx.may(Area::Accounts) {
            p { a href="/console/accounts" { (ctx.t(Msg::ManageAccounts)) } }
        }
        section aria-labelledby="tokens-title" {
            h2 id="tokens-title" { (ctx.t(Msg::ApiTokens)) }
            (tokens_table(ctx, tokens))
        }
        section aria-labelledby="issue-title" {
            h2 id="issue-title" { (ctx.t(Msg::IssueToken)) }
            (problems.summary(ctx))
            form method="post" action="/console/account/tokens" novalidate {
                (csrf_field(ctx))
                div class="grid" {
                (Field::new("name", ctx.t(Msg::TokenName), form.name).required(true).autocomplete("off").hint(ctx.t(Msg::TokenNameHint)).render(ctx, problems))
                (Field::new("expires_in_days", ctx.t(Msg::ExpiresInDays), &form.days)
                    .required(true)
                    .inputmode("numeric")
                    .hint(ctx.t(Msg::ExpiresInDaysHint))
                    .render(ctx, problems))
                }
                div class="actions" {
                    button type="submit" class="primary" { (ctx.t(Msg::IssueToken)) }
                }
            }
        }
    }
}

fn respond(ctx: &Ctx, status: StatusCode, body: Markup) -> Response {
    layout::respond_with(status, ctx, &Page::new(ctx.t(Msg::MyAccount)), body)
}

/// The page with the user's tokens listed afresh.
async fn page(
    api: &Shared,
    session: &Session,
    status: StatusCode,
    form: &TokenForm<'_>,
    problems: &Problems,
    new_token: Option<&str>,
) -> Response {
    let ctx = &session.ctx;
    match api.app.list_tokens(session.principal(), None).await {
        Ok(tokens) => respond(ctx, status, render(ctx, &tokens, form, problems, new_token)),
        Err(error) => errors::app(ctx, error),
    }
}

fn blank_form() -> TokenForm<'static> {
    TokenForm { name: "", days: TOKEN_DAYS_DEFAULT.to_string() }
}

/// `GET /console/account`.
pub(crate) async fn show(State(api): State<Shared>, session: Session) -> Response {
    page(&api, &session, StatusCode::OK, &blank_form(), &Problems::default(), None).await
}

/// `POST /console/account/tokens`: the page again with the new token shown once, or with the form's problems.
pub(crate) async fn issue(
    State(api): State<Shared>,
    session: Session,
    headers: HeaderMap,
    fields: FormFields,
) -> Response {
    let ctx = &session.ctx;
    if let Some(refused) = session.form_refusal(&headers, &fields) {
        return refused;
    }
    let form = TokenForm { name: fields.get("name"), days: fields.get("expires_in_days").to_owned() };
    let days = if form.days.is_empty() { Ok(TOKEN_DAYS_DEFAULT) } else { form.days.parse::<i64>() };
    let outcome = match days {
        Ok(days) => {
            let input = TokenInput { user_id: None, name: Some(form.name.to_owned()), expires_in_days: Some(days) };
            api.app.issue_token(session.principal(), input).await
        }
        Err(_) => Err(AppError::Invalid(FieldErrors::from(FieldError::new(
            "integer",
            "expires_in_days",
            format!("`{}` is not a whole number of days in 1..={TOKEN_DAYS_MAX}", form.days),
        )))),
    };
    match outcome {
        Ok((_, token)) => page(&api, &session, StatusCode::OK, &blank_form(), &Problems::default(), Some(&token)).await,
        Err(AppError::Invalid(errors)) => {
            let problems = Problems::for_fields(ctx.lang, &errors, &TOKEN_FIELDS);
            page(&api, &session, StatusCode::UNPROCESSABLE_ENTITY, &form, &problems, None).await
        }
        Err(error) => errors::app(ctx, error),
    }
}

/// `POST /console/account/tokens/{token_id}/revoke`: revokes the token and goes back to the page.
pub(crate) async fn revoke(
    State(api): State<Shared>,
    session: Session,
    PathParams(token_id): PathParams<String>,
    headers: HeaderMap,
    fields: FormFields,
) -> Response {
    if let Some(refused) = session.form_refusal(&headers, &fields) {
        return refused;
    }
    session.redirect_or_error(api.app.revoke_token(session.principal(), &token_id).await, "/console/account")
}
