//! `GET /console/declarations/{id}`: the declaration as recorded and its assessment: header, parties, items
//! with treatment, customs value and taxes, every rule id with its explanation, waivers, totals, channel,
//! and the declaration's events with a hash check of each.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};
use serde_json::Value;
use zonegate_domain::Party;

use crate::console::access::{self, Area};
use crate::console::context::{Ctx, Session};
use crate::console::errors;
use crate::console::format::{amount, field, message, money, rate, time_text};
use crate::console::forms::{csrf_field, FormFields};
use crate::console::glossary::{explain, label, Vocab};
use crate::console::i18n::{tf, Msg};
use crate::console::layout::{self, Page};
use crate::console::pages::chain;
use crate::extract::PathParams;
use crate::Shared;

fn list<'a>(value: &'a Value, name: &str) -> impl Iterator<Item = &'a str> {
    value.get(name).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
}

/// Rule ids with what they mean; an id the console does not know is shown alone.
pub(crate) fn rules<'a>(ctx: &Ctx, ids: impl Iterator<Item = &'a str>) -> Markup {
    html! {
        ul class="rules" {
            @for id in ids {
                li {
                    code { (id) }
                    @if let Some(explanation) = explain(ctx.lang, id) { " " span { (explanation) } }
                }
            }
        }
    }
}

/// A `<dl>` of (label, value) rows.
fn facts(rows: &[(Msg, Markup)], ctx: &Ctx) -> Markup {
    html! {
        dl class="facts" {
            @for (term, value) in rows {
                div { dt { (ctx.t(*term)) } dd { (value) } }
            }
        }
    }
}

fn header(ctx: &Ctx, body: &Value, document: &Value, assessment: &Value) -> Markup {
    let code = |value: &str| html! { span class="code" { (value) } };
    let exchange_rate = match field(document, "exchange_rate") {
        "" => html! { (ctx.t(Msg::RateFromTable)) },
        given => plain(given),
    };
    let recorded_at = field(body, "recorded_at");
    // The declaration's default, as the parser applies it.
    let value_basis = Some(field(document, "value_basis")).filter(|basis| !basis.is_empty()).unwrap_or("CIF");
    let rows = [
        (Msg::Reference, plain(field(body, "reference"))),
        (Msg::Zone, plain(&label(ctx.lang, Vocab::Zone, field(assessment, "zone")))),
        (Msg::Flow, plain(&label(ctx.lang, Vocab::Flow, field(assessment, "flow")))),
        (Msg::DeclaredOn, plain(field(assessment, "declared_on"))),
        (Msg::Purpose, plain(&label(ctx.lang, Vocab::Purpose, field(document, "purpose")))),
        (Msg::Currency, code(field(document, "currency"))),
        (Msg::ExchangeRate, exchange_rate),
        (Msg::ValueBasis, plain(&label(ctx.lang, Vocab::ValueBasis, value_basis))),
        (Msg::Freight, plain(&money(field(document, "freight")))),
        (Msg::Insurance, plain(&money(field(document, "insurance")))),
        (Msg::RecordedAt, html! { time datetime=(recorded_at) { (time_text(recorded_at)) } }),
        (Msg::DocumentHash, html! { span class="code hash" { (field(body, "document_sha256")) } }),
    ];
    facts(&rows, ctx)
}

/// A party of the declaration: its role, USCC and, when the user may read it, what the platform knows.
struct PartyRow<'a> {
    role: Msg,
    uscc: &'a str,
    known: Option<Party>,
}

fn parties(ctx: &Ctx, rows: &[PartyRow<'_>]) -> Markup {
    html! {
        table class="data" {
            caption class="visually-hidden" { (ctx.t(Msg::Parties)) }
            (layout::head_row(ctx, &[Msg::PartyRole, Msg::Uscc, Msg::Name, Msg::CreditClass, Msg::ZoneRegistered]))
            tbody {
                @for row in rows {
                    tr {
                        th scope="row" { (ctx.t(row.role)) }
                        td class="code" { (row.uscc) }
                        @if let Some(party) = &row.known {
                            td { (party.name) }
                            td { (label(ctx.lang, Vocab::CreditClass, party.credit_class.as_str())) }
                            td { (ctx.t(if party.zone_registered { Msg::Yes } else { Msg::No })) }
                        } @else {
                            td colspan="3" class="unknown" { (ctx.t(Msg::PartyNotShown)) }
                        }
                    }
                }
            }
        }
    }
}

fn items(ctx: &Ctx, document: &Value, assessment: &Value) -> Markup {
    let currency = field(document, "currency");
    let declared = document.get("items").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let assessed = assessment.get("items").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    html! {
        // Fits a wide window: the three taxes share one heading, figures keep their width, descriptions wrap.
        // A narrow one scrolls the table sideways.
        div class="table-scroll" {
            table class="data items-table" {
                caption class="visually-hidden" { (ctx.t(Msg::Items)) }
                thead {
                    tr {
                        th scope="col" rowspan="2" { (ctx.t(Msg::Line)) }
                        th scope="col" rowspan="2" { (ctx.t(Msg::Hs)) }
                        th scope="col" rowspan="2" { (ctx.t(Msg::Description)) }
                        th scope="col" rowspan="2" class="num" { (ctx.t(Msg::Quantity)) }
                        th scope="col" rowspan="2" class="num" { (tf(ctx.lang, Msg::ValueIn, &[("currency", currency)])) }
                        th scope="col" rowspan="2" { (ctx.t(Msg::Origin)) }
                        th scope="col" rowspan="2" { (ctx.t(Msg::Treatment)) }
                        th scope="col" rowspan="2" class="num" { (ctx.t(Msg::CustomsValueCny)) }
                        th scope="colgroup" colspan="3" class="taxes" { (ctx.t(Msg::TaxesCny)) }
                    }
                    tr {
                        th scope="col" class="num" { (ctx.t(Msg::Duty)) }
                        th scope="col" class="num" { (ctx.t(Msg::ConsumptionTax)) }
                        th scope="col" class="num" { (ctx.t(Msg::Vat)) }
                    }
                }
                tbody {
                    @for (index, item) in assessed.iter().enumerate() {
                        @let declared = declared.get(index).unwrap_or(&Value::Null);
                        tr {
                            th scope="row" { (item["line"].as_u64().unwrap_or(index as u64 + 1)) }
                            td class="code" { (field(item, "hs")) }
                            td class="description" { (plain(field(declared, "description"))) }
                            td class="num" { (amount(field(declared, "quantity"))) " " span class="code" { (field(declared, "unit")) } }
                            td class="num" { (money(field(declared, "value"))) }
                            td class="code" { (field(declared, "origin")) }
                            td { (label(ctx.lang, Vocab::Treatment, field(item, "treatment"))) }
                            td class="num" { (money(field(item, "customs_value_cny"))) }
                            (tax_cell(ctx, item, "duty_cny", "duty_rate"))
                            (tax_cell(ctx, item, "consumption_tax_cny", "consumption_tax_rate"))
                            (tax_cell(ctx, item, "vat_cny", "vat_rate"))
                        }
                    }
                }
            }
        }
        @for (index, item) in assessed.iter().enumerate() {
            section class="item-rules" aria-labelledby={ "rules-" (index) } {
                h3 id={ "rules-" (index) } {
                    (ctx.t(Msg::Line)) " " (item["line"].as_u64().unwrap_or(index as u64 + 1)) " · " (field(item, "hs"))
                }
                (rules(ctx, list(item, "basis")))
                details {
                    summary { (ctx.t(Msg::Trace)) }
                    ol class="trace" lang="en" { @for step in list(item, "trace") { li { (message(step)) } } }
                }
            }
        }
    }
}

/// A value, or a dash when there is none.
fn plain(value: &str) -> Markup {
    html! { @if value.is_empty() { "—" } @else { (value) } }
}

fn tax_cell(ctx: &Ctx, item: &Value, amount_field: &str, rate_field: &str) -> Markup {
    html! {
        td class="num" {
            (money(field(item, amount_field)))
            br;
            span class="rate" { (rate(field(item, rate_field), ctx.t(Msg::Cny))) }
        }
    }
}

fn totals(ctx: &Ctx, assessment: &Value) -> Markup {
    let totals = assessment.get("totals").unwrap_or(&Value::Null);
    let row = |msg: Msg, name: &str| (msg, html! { span class="num" { (money(field(totals, name))) } });
    let rows = [
        row(Msg::DutyCny, "duty_cny"),
        row(Msg::ConsumptionTaxCny, "consumption_tax_cny"),
        row(Msg::VatCny, "vat_cny"),
        row(Msg::PayableCny, "payable_cny"),
    ];
    let waived: Vec<&str> = list(assessment, "waived").collect();
    let reasons: Vec<&str> = list(assessment, "reasons").collect();
    html! {
        (facts(&rows, ctx))
        h3 { (ctx.t(Msg::Waivers)) }
        @if waived.is_empty() { p { (ctx.t(Msg::NoWaivers)) } } @else { (rules(ctx, waived.into_iter())) }
        h3 { (ctx.t(Msg::Channel)) }
        p class="channel" { strong { (label(ctx.lang, Vocab::Channel, field(assessment, "channel"))) } }
        @if !reasons.is_empty() { (rules(ctx, reasons.into_iter())) }
        @if let Some(risk) = assessment.get("risk").filter(|r| r.is_object()) { (risk_facts(ctx, risk)) }
    }
}

/// The risk engine's explanation: credit class, draw, score, risk against the cutoff, versions, features.
fn risk_facts(ctx: &Ctx, risk: &Value) -> Markup {
    let number = |name: &str| risk.get(name).and_then(Value::as_f64).map(|v| format!("{v:.4}"));
    let score = number("score").unwrap_or_else(|| ctx.t(Msg::NoModel).to_owned());
    let features: Vec<String> = risk
        .get("top_features")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| format!("{} ({:+.2})", field(f, "feature"), f.get("value").and_then(Value::as_f64).unwrap_or(0.0)))
        .collect();
    let rule_set = risk.get("rule_set").map(|v| v.to_string()).unwrap_or_default();
    let rows = [
        (Msg::CreditClassEffective, html! { (label(ctx.lang, Vocab::CreditClass, field(risk, "credit_class"))) }),
        (Msg::RandomDraw, plain(&number("draw").unwrap_or_default())),
        (Msg::RiskScore, plain(&score)),
        (
            Msg::RiskCombined,
            plain(&format!("{} / {}", number("risk").unwrap_or_default(), number("cutoff").unwrap_or_default())),
        ),
        (Msg::RuleSetVersion, plain(&rule_set)),
        (Msg::TopFeatures, plain(&features.join(", "))),
    ];
    html! {
        h3 { (ctx.t(Msg::RiskExplanation)) }
        (facts(&rows, ctx))
        @if ctx.may(Area::Risk) { p { a href="/console/risk" { (ctx.t(Msg::NavRisk)) } } }
    }
}

/// `GET /console/declarations/{id}`.
pub(crate) async fn show(State(api): State<Shared>, session: Session, PathParams(id): PathParams<String>) -> Response {
    let ctx = &session.ctx;
    let Ok(id) = id.parse::<i64>() else { return errors::not_found(ctx) };
    let who = session.principal();
    let body = match api.app.get_declaration(who, id).await {
        Ok(body) => body,
        Err(error) => return errors::app(ctx, error),
    };
    let events = match api.app.declaration_events(who, id).await {
        Ok(events) => chain::checked(&api, events).await,
        Err(error) => return errors::app(ctx, error),
    };
    let document = body.get("declaration").unwrap_or(&Value::Null);
    let assessment = body.get("assessment").unwrap_or(&Value::Null);
    // The importer defaults to the declarant. Party details show to those who may read the enterprise.
    let declarant = field(document, "declarant");
    let importer = Some(field(document, "importer")).filter(|uscc| !uscc.is_empty()).unwrap_or(declarant);
    let party_rows = [(Msg::Declarant, declarant), (Msg::Importer, importer)].map(|(role, uscc)| PartyRow {
        role,
        uscc,
        known: access::readable_party(&api.app, who, uscc),
    });
    let inspection = api.app.get_inspection(who, id).await.ok();
    let owner = zonegate_auth::Resource::Declaration {
        id: id.to_string(),
        owner: declarant.to_owned(),
        addressees: Vec::new(),
    };
    let may_record = api.app.allows(who, zonegate_auth::Action::DeclarationDecide, &owner);
    let markup = html! {
        (header(ctx, &body, document, assessment))
        section aria-labelledby="parties" { h2 id="parties" { (ctx.t(Msg::Parties)) } (parties(ctx, &party_rows)) }
        section aria-labelledby="items" { h2 id="items" { (ctx.t(Msg::Items)) } (items(ctx, document, assessment)) }
        section aria-labelledby="totals" { h2 id="totals" { (ctx.t(Msg::Totals)) } (totals(ctx, assessment)) }
        section aria-labelledby="inspection" {
            h2 id="inspection" { (ctx.t(Msg::InspectionTitle)) }
            (inspection_section(ctx, id, inspection.as_ref(), may_record))
        }
        section aria-labelledby="history" {
            h2 id="history" { (ctx.t(Msg::History)) }
            (chain::history(ctx, &events))
            @if ctx.may(Area::Chain) {
                p { a class="button" href="/console/chain" { (ctx.t(Msg::VerifyChain)) } }
            }
        }
    };
    let title = format!("{} {}", ctx.t(Msg::DeclarationTitle), field(&body, "reference"));
    layout::respond(ctx, &Page::new(&title).area(Area::Declarations), markup)
}

/// The recorded inspection result, or the form to record it (for those who may decide).
fn inspection_section(ctx: &Ctx, id: i64, inspection: Option<&Value>, may_record: bool) -> Markup {
    if let Some(result) = inspection {
        let outcome = if field(result, "outcome") == "finding" { Msg::OutcomeFinding } else { Msg::OutcomeNoFinding };
        let findings: Vec<&str> = list(result, "findings").collect();
        let rows = [
            (Msg::Outcome, html! { strong { (ctx.t(outcome)) } }),
            (Msg::FindingsCount, html! { @for finding in &findings { (finding) br; } }),
            (Msg::InspectionNotes, plain(field(result, "notes"))),
            (Msg::RecordedBy, plain(field(result, "recorded_by"))),
            (Msg::RecordedAt, plain(&time_text(field(result, "recorded_at")))),
        ];
        return facts(&rows, ctx);
    }
    html! {
        p { (ctx.t(Msg::NotInspectedYet)) }
        @if may_record {
            form method="post" action=(format!("/console/declarations/{id}/inspection")) novalidate {
                (csrf_field(ctx))
                fieldset {
                    legend { (ctx.t(Msg::Outcome)) }
                    label { input type="radio" name="outcome" value="no_finding" checked; " " (ctx.t(Msg::OutcomeNoFinding)) }
                    " "
                    label { input type="radio" name="outcome" value="finding"; " " (ctx.t(Msg::OutcomeFinding)) }
                }
                div class="field" {
                    label for="findings" { (ctx.t(Msg::FindingsField)) }
                    textarea id="findings" name="findings" rows="3" {}
                }
                div class="field" {
                    label for="notes" { (ctx.t(Msg::InspectionNotes)) }
                    textarea id="notes" name="notes" rows="2" {}
                }
                div class="actions" { button type="submit" class="primary" { (ctx.t(Msg::RecordInspection)) } }
            }
        }
    }
}

/// `POST /console/declarations/{id}/inspection`: records the result and shows the declaration again.
pub(crate) async fn record_inspection(
    State(api): State<Shared>,
    session: Session,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    fields: FormFields,
) -> Response {
    let ctx = &session.ctx;
    if let Some(refused) = session.form_refusal(&headers, &fields) {
        return refused;
    }
    let Ok(id) = id.parse::<i64>() else { return errors::not_found(ctx) };
    let findings: Vec<&str> = fields.raw("findings").lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    let body =
        serde_json::json!({ "outcome": fields.get("outcome"), "findings": findings, "notes": fields.get("notes") });
    let outcome = api.app.record_inspection(session.principal(), id, &body).await;
    session.redirect_or_error(outcome, &format!("/console/declarations/{id}#inspection"))
}
