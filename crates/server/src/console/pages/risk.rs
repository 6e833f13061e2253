//! `GET /console/risk` (customs): the rule set in force with every rule's CEL condition, the saved versions,
//! the active alerts, and hit rates per rule and per selection reason from recorded inspections.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use serde_json::Value;
use zonegate_risk::alerts::Alert;

use crate::console::access::Area;
use crate::console::context::{Ctx, Session};
use crate::console::errors;
use crate::console::format::time_text;
use crate::console::glossary::{label, Vocab};
use crate::console::i18n::Msg;
use crate::console::layout::{self, head_row, Page};
use crate::Shared;

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn rules_table(ctx: &Ctx, set: &Value) -> Markup {
    let rules = set["rules"].as_array().cloned().unwrap_or_default();
    html! {
        dl class="facts" {
            div { dt { (ctx.t(Msg::Version)) } dd { (text(&set["version"])) } }
            div { dt { (ctx.t(Msg::Author)) } dd { (text(&set["author"])) } }
            div { dt { (ctx.t(Msg::Note)) } dd { (text(&set["note"])) } }
        }
        table class="data" {
            caption { (ctx.t(Msg::RulesInForce)) }
            (head_row(ctx, &[Msg::RuleId, Msg::RuleMeaning, Msg::Condition, Msg::Channel, Msg::Weight, Msg::HardStop, Msg::EffectiveFrom]))
            tbody {
                @for rule in &rules {
                    tr {
                        td class="code" { (text(&rule["id"])) }
                        td { (text(&rule["description"])) }
                        td { code { (text(&rule["condition"])) } }
                        td { @if let Some(channel) = rule["channel"].as_str() { (label(ctx.lang, Vocab::Channel, channel)) } }
                        td class="num" { (text(&rule["weight"])) }
                        td { @if rule["hard_stop"].as_bool() == Some(true) { (ctx.t(Msg::Yes)) } }
                        td { (text(&rule["effective_from"])) }
                    }
                }
            }
        }
    }
}

fn versions_table(ctx: &Ctx, sets: &[Value]) -> Markup {
    html! {
        table class="data" {
            caption { (ctx.t(Msg::RuleSetVersions)) }
            (head_row(ctx, &[Msg::Version, Msg::Note, Msg::Author, Msg::RecordedAt, Msg::RuleCount, Msg::InForce]))
            tbody {
                @for set in sets {
                    tr {
                        td class="num" { (text(&set["version"])) }
                        td { (text(&set["note"])) }
                        td { (text(&set["author"])) }
                        td { (time_text(&text(&set["recorded_at"]))) }
                        td class="num" { (text(&set["rules"])) }
                        td { @if set["in_force"].as_bool() == Some(true) { (ctx.t(Msg::Yes)) } }
                    }
                }
            }
        }
    }
}

/// An alert's scope in one line.
pub(crate) fn scope(alert: &Alert) -> String {
    let scope = &alert.def.scope;
    [("HS", &scope.hs), ("origin", &scope.origins), ("USCC", &scope.enterprises), ("text", &scope.text)]
        .iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(name, values)| format!("{name}: {}", values.join(", ")))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn alerts_table(ctx: &Ctx, alerts: &[Alert]) -> Markup {
    html! {
        @if alerts.is_empty() {
            p { (ctx.t(Msg::NoAlerts)) }
        } @else {
            table class="data" {
                caption { (ctx.t(Msg::ActiveAlerts)) }
                (head_row(ctx, &[Msg::AlertTitle, Msg::Severity, Msg::AlertScope, Msg::ValidPeriod, Msg::Publisher]))
                tbody {
                    @for alert in alerts {
                        tr {
                            td { (alert.def.title) br; span class="code" { (alert.key) } }
                            td { (alert.def.severity.as_str()) }
                            td { (scope(alert)) }
                            td { (alert.def.valid_from) " – " (alert.def.valid_to.map(|d| d.to_string()).unwrap_or_default()) }
                            td { (alert.publisher) " (" (alert.published_by) ")" }
                        }
                    }
                }
            }
        }
    }
}

fn hits_table(ctx: &Ctx, rows: &[Value], key: &str, heading: Msg) -> Markup {
    html! {
        table class="data" {
            (head_row(ctx, &[heading, Msg::Inspected, Msg::FindingsCount, Msg::HitRate]))
            tbody {
                @for row in rows {
                    tr {
                        td class="code" { (text(&row[key])) }
                        td class="num" { (text(&row["inspected"])) }
                        td class="num" { (text(&row["findings"])) }
                        td class="num" {
                            @if let Some(rate) = row["hit_rate"].as_f64() { (format!("{:.1} %", rate * 100.0)) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/risk`.
pub(crate) async fn show(State(api): State<Shared>, session: Session) -> Response {
    let ctx = &session.ctx;
    if !ctx.may(Area::Risk) {
        return errors::forbidden(ctx);
    }
    let who = session.principal();
    let sets = match api.app.list_rule_sets(who) {
        Ok(sets) => sets,
        Err(error) => return errors::app(ctx, error),
    };
    let in_force = match sets["in_force"].as_i64() {
        Some(version) => match api.app.get_rule_set(who, version) {
            Ok(set) => Some(set),
            Err(error) => return errors::app(ctx, error),
        },
        None => None,
    };
    // Everyone who may read the risk data may read the alerts (the policies grant both to customs).
    let alerts = match api.app.list_alerts(who, true) {
        Ok(alerts) => alerts,
        Err(error) => return errors::app(ctx, error),
    };
    let report = match api.app.risk_report(who).await {
        Ok(report) => report,
        Err(error) => return errors::app(ctx, error),
    };
    let versions = sets["rule_sets"].as_array().cloned().unwrap_or_default();
    let rules = report["rules"].as_array().cloned().unwrap_or_default();
    let reasons = report["reasons"].as_array().cloned().unwrap_or_default();
    let body = html! {
        section aria-labelledby="rules-title" {
            h2 id="rules-title" { (ctx.t(Msg::RulesInForce)) }
            @match &in_force {
                Some(set) => (rules_table(ctx, set)),
                None => p { (ctx.t(Msg::NoRuleSetInForce)) },
            }
            (versions_table(ctx, &versions))
        }
        section aria-labelledby="alerts-title" {
            h2 id="alerts-title" { (ctx.t(Msg::ActiveAlerts)) }
            (alerts_table(ctx, &alerts))
            @if ctx.may(Area::Alerts) { p { a href="/console/alerts" { (ctx.t(Msg::AllAlerts)) } } }
        }
        section aria-labelledby="hits-title" {
            h2 id="hits-title" { (ctx.t(Msg::HitRates)) }
            p { (ctx.t(Msg::HitRatesHint)) }
            @if report["inspected"].as_u64().unwrap_or(0) == 0 {
                p { (ctx.t(Msg::NoInspections)) }
            } @else {
                (hits_table(ctx, &reasons, "reason", Msg::SelectedBy))
                (hits_table(ctx, &rules, "rule", Msg::RuleId))
            }
        }
    };
    layout::respond(ctx, &Page::new(ctx.t(Msg::NavRisk)).area(Area::Risk), body)
}
