//! `GET /console/alerts` and `POST /console/alerts` (customs and partner authorities, measure 14): every
//! alert with its state, the form to publish one under the user's party, and withdrawal of those the user
//! may withdraw.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde_json::{json, Value};
use zonegate_app::AppError;
use zonegate_auth::{Action, PartyKind, Resource};
use zonegate_risk::alerts::Alert;

use crate::console::access::Area;
use crate::console::context::{Ctx, Session};
use crate::console::errors;
use crate::console::forms::{csrf_field, Control, Field, FormFields, Problems};
use crate::console::i18n::Msg;
use crate::console::layout::{self, head_row, Page};
use crate::extract::PathParams;
use crate::Shared;

const FIELDS: &[&str] = &["id", "title", "severity", "hs", "origins", "enterprises", "text", "valid_from", "valid_to"];

/// The form as typed.
#[derive(Default)]
struct AlertForm {
    values: Vec<(String, String)>,
}

impl AlertForm {
    fn get(&self, name: &str) -> &str {
        self.values.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
    }
}

/// Words separated by commas or spaces.
fn words(text: &str) -> Vec<&str> {
    text.split([',', ' ', '，', '\n']).map(str::trim).filter(|w| !w.is_empty()).collect()
}

fn body_of(form: &AlertForm) -> Value {
    let optional = |name: &str| Some(form.get(name)).filter(|v| !v.is_empty());
    json!({
        "id": form.get("id"),
        "title": form.get("title"),
        "severity": form.get("severity"),
        "scope": {
            "hs": words(form.get("hs")),
            "origins": words(form.get("origins")),
            "enterprises": words(form.get("enterprises")),
            "text": form.get("text").split(['\n', ',', '，']).map(str::trim).filter(|w| !w.is_empty()).collect::<Vec<_>>(),
        },
        "valid_from": form.get("valid_from"),
        "valid_to": optional("valid_to"),
    })
}

/// The control an error of the API is shown next to.
fn anchor(field: &str) -> Option<String> {
    let name = field.strip_prefix("scope.").unwrap_or(field);
    let name = name.split('[').next().unwrap_or(name);
    let name = if name == "scope" { "hs" } else { name };
    FIELDS.contains(&name).then(|| crate::console::forms::field_id(name))
}

fn may_withdraw(api: &Shared, session: &Session, alert: &Alert) -> bool {
    let resource = Resource::Alert {
        key: alert.key.clone(),
        publisher: alert.publisher.clone(),
        publisher_kind: PartyKind::of_party(&alert.publisher),
    };
    alert.withdrawn.is_none() && api.app.allows(session.principal(), Action::AlertWithdraw, &resource)
}

fn table(api: &Shared, session: &Session, alerts: &[Alert]) -> Markup {
    let ctx = &session.ctx;
    let today = api.app.now().date_naive();
    let now = api.app.now();
    html! {
        @if alerts.is_empty() {
            p { (ctx.t(Msg::NoAlerts)) }
        } @else {
            table class="data" {
                (head_row(ctx, &[Msg::AlertTitle, Msg::Severity, Msg::AlertScope, Msg::ValidPeriod, Msg::Publisher, Msg::State]))
                tbody {
                    @for alert in alerts {
                        tr {
                            td { (alert.def.title) br; span class="code" { (alert.key) } }
                            td { (alert.def.severity.as_str()) }
                            td { (super::risk::scope(alert)) }
                            td { (alert.def.valid_from) " – " (alert.def.valid_to.map(|d| d.to_string()).unwrap_or_default()) }
                            td { (alert.publisher) " (" (alert.published_by) ")" }
                            td {
                                @if let Some(withdrawal) = &alert.withdrawn {
                                    (ctx.t(Msg::AlertWithdrawn)) " (" (withdrawal.by) ")"
                                } @else if alert.is_active(today, now) {
                                    (ctx.t(Msg::Active))
                                } @else {
                                    (ctx.t(Msg::AlertNotInForce))
                                }
                                @if may_withdraw(api, session, alert) {
                                    form method="post" action=(format!("/console/alerts/{}/withdraw", alert.key)) class="inline" {
                                        (csrf_field(ctx))
                                        button type="submit" class="link-button" { (ctx.t(Msg::Withdraw)) }
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

fn publish_form(ctx: &Ctx, form: &AlertForm, problems: &Problems) -> Markup {
    let severities: Vec<(String, String)> =
        ["low", "medium", "high", "critical"].iter().map(|s| ((*s).to_owned(), (*s).to_owned())).collect();
    html! {
        section aria-labelledby="publish-title" {
            h2 id="publish-title" { (ctx.t(Msg::PublishAlert)) }
            (problems.summary(ctx))
            form method="post" action="/console/alerts" novalidate {
                (csrf_field(ctx))
                div class="grid" {
                    (Field::new("id", ctx.t(Msg::AlertId), form.get("id")).required(true).autocomplete("off").render(ctx, problems))
                    (Field::new("title", ctx.t(Msg::AlertTitle), form.get("title")).required(true).render(ctx, problems))
                    (Field::new("severity", ctx.t(Msg::Severity), form.get("severity"))
                        .control(Control::Select(&severities))
                        .required(true)
                        .render(ctx, problems))
                    (Field::new("hs", ctx.t(Msg::AlertHs), form.get("hs")).hint(ctx.t(Msg::ListHint)).render(ctx, problems))
                    (Field::new("origins", ctx.t(Msg::AlertOrigins), form.get("origins")).hint(ctx.t(Msg::ListHint)).render(ctx, problems))
                    (Field::new("enterprises", ctx.t(Msg::AlertEnterprises), form.get("enterprises")).hint(ctx.t(Msg::ListHint)).render(ctx, problems))
                    (Field::new("text", ctx.t(Msg::AlertText), form.get("text")).hint(ctx.t(Msg::ListHint)).render(ctx, problems))
                    (Field::new("valid_from", ctx.t(Msg::ValidFrom), form.get("valid_from")).control(Control::Date).required(true).render(ctx, problems))
                    (Field::new("valid_to", ctx.t(Msg::ValidTo), form.get("valid_to")).control(Control::Date).render(ctx, problems))
                }
                div class="actions" { button type="submit" class="primary" { (ctx.t(Msg::PublishAlert)) } }
            }
        }
    }
}

async fn page(api: &Shared, session: &Session, status: StatusCode, form: &AlertForm, problems: &Problems) -> Response {
    let ctx = &session.ctx;
    if !ctx.may(Area::Alerts) {
        return errors::forbidden(ctx);
    }
    let alerts = match api.app.list_alerts(session.principal(), false) {
        Ok(alerts) => alerts,
        Err(error) => return errors::app(ctx, error),
    };
    let may_publish = api.app.allows(session.principal(), Action::AlertPublish, &Resource::Platform);
    let body = html! {
        (table(api, session, &alerts))
        @if may_publish { (publish_form(ctx, form, problems)) }
    };
    layout::respond_with(status, ctx, &Page::new(ctx.t(Msg::NavAlerts)).area(Area::Alerts), body)
}

/// `GET /console/alerts`.
pub(crate) async fn list(State(api): State<Shared>, session: Session) -> Response {
    let form = AlertForm { values: vec![("valid_from".into(), api.app.now().date_naive().to_string())] };
    page(&api, &session, StatusCode::OK, &form, &Problems::default()).await
}

/// `POST /console/alerts`: publishes and shows the list again, or the form with its problems.
pub(crate) async fn publish(
    State(api): State<Shared>,
    session: Session,
    headers: HeaderMap,
    fields: FormFields,
) -> Response {
    if let Some(refused) = session.form_refusal(&headers, &fields) {
        return refused;
    }
    let form =
        AlertForm { values: FIELDS.iter().map(|name| ((*name).to_owned(), fields.get(name).to_owned())).collect() };
    match api.app.publish_alert(session.principal(), &body_of(&form)).await {
        Ok(_) => Redirect::to("/console/alerts").into_response(),
        Err(AppError::Invalid(errors)) => {
            let problems = Problems::new(session.ctx.lang, &errors, anchor);
            page(&api, &session, StatusCode::UNPROCESSABLE_ENTITY, &form, &problems).await
        }
        Err(error) => errors::app(&session.ctx, error),
    }
}

/// `POST /console/alerts/{publisher}/{id}/withdraw`.
pub(crate) async fn withdraw(
    State(api): State<Shared>,
    session: Session,
    headers: HeaderMap,
    PathParams((publisher, id)): PathParams<(String, String)>,
    fields: FormFields,
) -> Response {
    if let Some(refused) = session.form_refusal(&headers, &fields) {
        return refused;
    }
    let outcome = api.app.withdraw_alert(session.principal(), &format!("{publisher}/{id}"), fields.get("reason")).await;
    session.redirect_or_error(outcome, "/console/alerts")
}
