//! `GET /console/declarations`: one page (50 rows) of declaration summaries with the API's filters as a GET
//! form and a cursor link to the next page. Only the summary columns are read, never the documents; the
//! declarants' names come from the party records the user may read, one lookup per declarant on the page.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use serde_json::Value;
use zonegate_app::{App, AppError, ListQuery};
use zonegate_auth::Principal;
use zonegate_domain::{FieldErrors, Flow, Uscc};
use zonegate_policy::Treatment;

use crate::console::access::{self, Area};
use crate::console::context::{Ctx, Session};
use crate::console::errors;
use crate::console::format::{field, href, money, time_text};
use crate::console::forms::{choices, Control, Field, Problems};
use crate::console::glossary::{label, Vocab};
use crate::console::i18n::Msg;
use crate::console::layout::{self, Page};
use crate::error::ApiError;
use crate::extract::Params;
use crate::Shared;

/// Rows per page.
const PAGE_ROWS: u32 = 50;
/// The filters, in form order; `declarant` only for users who see every party.
const FILTERS: [&str; 5] = ["flow", "treatment", "declared_from", "declared_to", "declarant"];

/// The filters as typed, to show them again and to carry them to the next page.
struct Filters<'a> {
    values: Vec<(&'static str, &'a str)>,
    customs: bool,
}

impl<'a> Filters<'a> {
    fn read(params: &'a Params, customs: bool) -> Filters<'a> {
        let values = FILTERS
            .into_iter()
            .filter(|name| customs || *name != "declarant")
            .map(|name| (name, params.text(name).unwrap_or("")))
            .collect();
        Filters { values, customs }
    }

    fn get(&self, name: &str) -> &'a str {
        self.values.iter().find(|(key, _)| *key == name).map_or("", |(_, value)| value)
    }

    /// The list query, or every problem with the filters.
    fn query(&self, params: &Params, after: Option<i64>) -> Result<ListQuery, FieldErrors> {
        let mut errors = FieldErrors::default();
        let allowed: Vec<&str> = FILTERS.iter().copied().chain(["after", "lang"]).collect();
        params.check(&allowed, &mut errors);
        let declarant = Some(self.get("declarant")).filter(|text| self.customs && !text.is_empty());
        if let Some(Err(error)) = declarant.map(Uscc::parse) {
            errors.add(error.code, "declarant", error.message);
        }
        let given = |name| Some(self.get(name)).filter(|text| !text.is_empty()).map(str::to_owned);
        let query = ListQuery {
            flow: given("flow"),
            declarant: declarant.map(str::to_owned),
            declared_from: params.date("declared_from", &mut errors),
            declared_to: params.date("declared_to", &mut errors),
            treatment: given("treatment"),
            after,
            limit: Some(PAGE_ROWS),
        };
        errors.extend(query.validate());
        errors.into_result(query)
    }

    fn href(&self, after: Option<i64>) -> String {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let pairs: Vec<(&str, &str)> = self.values.iter().copied().chain([("after", after.as_str())]).collect();
        href("/console/declarations", &pairs)
    }
}

fn filter_form(ctx: &Ctx, filters: &Filters<'_>, problems: &Problems) -> Markup {
    let flows = choices(ctx.lang, Vocab::Flow, Flow::ALL.iter().map(|flow| flow.as_str()));
    let treatments = choices(ctx.lang, Vocab::Treatment, Treatment::ALL.iter().map(|t| t.as_str()));
    html! {
        form method="get" action="/console/declarations" class="filters" role="search" novalidate aria-label=(ctx.t(Msg::Filters)) {
            (Field::new("flow", ctx.t(Msg::Flow), filters.get("flow")).control(Control::Select(&flows)).render(ctx, problems))
            (Field::new("treatment", ctx.t(Msg::Treatment), filters.get("treatment"))
                .control(Control::Select(&treatments))
                .render(ctx, problems))
            (Field::new("declared_from", ctx.t(Msg::DeclaredFrom), filters.get("declared_from"))
                .control(Control::Date)
                .render(ctx, problems))
            (Field::new("declared_to", ctx.t(Msg::DeclaredTo), filters.get("declared_to"))
                .control(Control::Date)
                .render(ctx, problems))
            @if filters.customs {
                (Field::new("declarant", ctx.t(Msg::Declarant), filters.get("declarant"))
                    .hint(ctx.t(Msg::UsccHint))
                    .render(ctx, problems))
            }
            div class="actions" {
                button type="submit" class="primary" { (ctx.t(Msg::ApplyFilters)) }
                " "
                a href="/console/declarations" { (ctx.t(Msg::ResetFilters)) }
            }
        }
    }
}

/// The registered names of the page's declarants that `who` may read, by USCC: one lookup per declarant.
fn declarant_names<'a>(app: &App, who: &Principal, rows: &'a [Value]) -> BTreeMap<&'a str, String> {
    let declarants: BTreeSet<&str> =
        rows.iter().map(|row| field(row, "declarant")).filter(|uscc| !uscc.is_empty()).collect();
    declarants.into_iter().filter_map(|uscc| Some((uscc, access::readable_party(app, who, uscc)?.name))).collect()
}

fn table(ctx: &Ctx, rows: &[Value], names: &BTreeMap<&str, String>) -> Markup {
    html! {
        div class="table-scroll" {
            table class="data" {
                caption { (ctx.t(Msg::DeclarationsCaption)) }
                thead {
                    tr {
                        th scope="col" { (ctx.t(Msg::Id)) }
                        th scope="col" { (ctx.t(Msg::Reference)) }
                        th scope="col" { (ctx.t(Msg::Declarant)) }
                        th scope="col" { (ctx.t(Msg::Flow)) }
                        th scope="col" { (ctx.t(Msg::DeclaredOn)) }
                        th scope="col" { (ctx.t(Msg::Treatments)) }
                        th scope="col" { (ctx.t(Msg::Channel)) }
                        th scope="col" class="num" { (ctx.t(Msg::PayableCny)) }
                        th scope="col" { (ctx.t(Msg::RecordedAt)) }
                    }
                }
                tbody {
                    @for row in rows {
                        @let id = row.get("id").and_then(Value::as_i64).unwrap_or_default();
                        tr {
                            th scope="row" { a href={ "/console/declarations/" (id) } { (id) } }
                            td { (field(row, "reference")) }
                            @let declarant = field(row, "declarant");
                            td {
                                @if let Some(name) = names.get(declarant) { span class="party-name" { (name) } }
                                span class="code party-id" { (declarant) }
                            }
                            td { (label(ctx.lang, Vocab::Flow, field(row, "flow"))) }
                            td { (field(row, "declared_on")) }
                            td {
                                @for (index, treatment) in row["treatments"].as_array().into_iter().flatten().filter_map(Value::as_str).enumerate() {
                                    @if index > 0 { (ctx.lang.list_separator()) }
                                    (label(ctx.lang, Vocab::Treatment, treatment))
                                }
                            }
                            td { (label(ctx.lang, Vocab::Channel, field(row, "channel"))) }
                            td class="num" { (money(field(row, "payable_cny"))) }
                            td { time datetime=(field(row, "recorded_at")) { (time_text(field(row, "recorded_at"))) } }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/declarations?flow=&treatment=&declared_from=&declared_to=&declarant=&after=`.
pub(crate) async fn list(State(api): State<Shared>, session: Session, params: Result<Params, ApiError>) -> Response {
    let ctx = &session.ctx;
    let params = match params {
        Ok(params) => params,
        Err(error) => return errors::api(ctx, error),
    };
    let filters = Filters::read(&params, session.principal().sees_all_parties());
    let mut cursor_errors = FieldErrors::default();
    let after = params.integer::<i64>("after", &mut cursor_errors);
    let outcome = match filters.query(&params, after) {
        Ok(_) if !cursor_errors.is_empty() => Err(cursor_errors),
        Ok(query) => match api.app.list_declarations(session.principal(), query).await {
            Ok(page) => Ok(page),
            Err(AppError::Invalid(errors)) => Err(errors),
            Err(error) => return errors::app(ctx, error),
        },
        Err(errors) => Err(errors),
    };
    let problems = match &outcome {
        Err(errors) => Problems::for_fields(ctx.lang, errors, &FILTERS),
        Ok(_) => Problems::default(),
    };
    let body = html! {
        @if session.ctx.may(Area::Submit) {
            p { a class="button" href="/console/declarations/new" { (ctx.t(Msg::NavSubmit)) } }
        }
        (problems.summary(ctx))
        (filter_form(ctx, &filters, &problems))
        @if let Ok((rows, next_after)) = &outcome {
            @if rows.is_empty() {
                p class="empty" { (ctx.t(Msg::NoDeclarations)) }
            } @else {
                (table(ctx, rows, &declarant_names(&api.app, session.principal(), rows)))
            }
            @if after.is_some() || next_after.is_some() {
                nav class="pager" aria-label=(ctx.t(Msg::Paging)) {
                    @if after.is_some() { a href=(filters.href(None)) { (ctx.t(Msg::FirstPage)) } }
                    @if let Some(next) = next_after { a href=(filters.href(Some(*next))) rel="next" { (ctx.t(Msg::NextPage)) } }
                }
            }
        }
    };
    layout::respond(ctx, &Page::new(ctx.t(Msg::NavDeclarations)).area(Area::Declarations), body)
}
