//! `GET`/`POST /console/login` and `POST /console/logout`. A failed login never says whether the user id
//! or the password was wrong.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::console::context::{Ctx, Session};
use crate::console::errors;
use crate::console::forms::{Control, Field, FormFields, Problems};
use crate::console::i18n::Msg;
use crate::console::layout::{self, Page};
use crate::Shared;

/// Where to go after logging in: a console page, never another site.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with("/console") && !next.contains("//") && !next.contains('\\');
    if local && next != "/console/login" {
        next
    } else {
        "/console/declarations"
    }
}

fn page(ctx: &Ctx, status: StatusCode, user_id: &str, next: &str, problem: Option<Msg>) -> Response {
    let problems = problem.map(|msg| Problems::general(ctx.t(msg))).unwrap_or_default();
    let body = html! {
        (problems.summary(ctx))
        form method="post" action="/console/login" class="login" {
            input type="hidden" name="next" value=(next);
            (Field::new("user_id", ctx.t(Msg::UserId), user_id).required(true).autocomplete("username").render(ctx, &problems))
            (Field::new("password", ctx.t(Msg::Password), "")
                .control(Control::Password)
                .required(true)
                .autocomplete("current-password")
                .render(ctx, &problems))
            button type="submit" class="primary" { (ctx.t(Msg::LoginTitle)) }
        }
    };
    layout::respond_with(status, ctx, &Page::new(ctx.t(Msg::LoginTitle)), body)
}

/// `GET /console/login?next=`: the login form.
pub(crate) async fn form(ctx: Ctx) -> Response {
    let next = ctx.query.iter().find(|(name, _)| name == "next").map_or("", |(_, value)| value.as_str());
    page(&ctx, StatusCode::OK, "", safe_next(next), None)
}

/// `POST /console/login`: a session cookie and a redirect to `next`, or the form again.
pub(crate) async fn submit(
    State(api): State<Shared>,
    ctx: Ctx,
    extensions: Extensions,
    headers: HeaderMap,
    fields: FormFields,
) -> Response {
    // A login form posted from another site would log the victim into the attacker's account.
    if !crate::auth::same_origin(&headers) {
        return errors::api(&ctx, crate::auth::csrf_refused());
    }
    let (user_id, next) = (fields.get("user_id"), safe_next(fields.get("next")));
    match crate::auth::login(&api, &extensions, user_id, fields.raw("password")).await {
        Ok((cookie, _)) => ([(SET_COOKIE, cookie)], Redirect::to(next)).into_response(),
        Err(error) if error.status() == StatusCode::UNAUTHORIZED => {
            page(&ctx, StatusCode::UNAUTHORIZED, user_id, next, Some(Msg::LoginFailed))
        }
        Err(error) if error.status() == StatusCode::TOO_MANY_REQUESTS => {
            page(&ctx, StatusCode::TOO_MANY_REQUESTS, user_id, next, Some(Msg::TooManyText))
        }
        Err(error) => errors::api(&ctx, error),
    }
}

/// `POST /console/logout`: ends the session (the form token is checked first).
pub(crate) async fn logout(
    State(api): State<Shared>,
    session: Session,
    headers: HeaderMap,
    fields: FormFields,
) -> Response {
    if let Some(refused) = session.form_refusal(&headers, &fields) {
        return refused;
    }
    match crate::auth::logout(&api, &session.caller).await {
        Ok(cookie) => ([(SET_COOKIE, cookie)], Redirect::to("/console/login")).into_response(),
        Err(error) => errors::api(&session.ctx, error),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_in_the_console() {
        assert_eq!(safe_next("/console/declarations/7?lang=en"), "/console/declarations/7?lang=en");
        for bad in ["https://evil.example/", "//evil.example/console", "/console/..//x", "", "/v1/declarations"] {
            assert_eq!(safe_next(bad), "/console/declarations", "{bad}");
        }
    }
}
