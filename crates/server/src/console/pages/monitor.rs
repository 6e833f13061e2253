//! `GET /console/monitor?from=&to=`: the monitoring centre. Declarations by flow per day, treatments, taxes
//! payable and waived per day, and the median and 90th percentile of the time from submission to decision.
//!
//! The figures travel to `console.js` as a JSON data island drawn with Chart.js; each chart also has its
//! numbers in a table inside `<details>`, so the page works without JavaScript and with a screen reader.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Days, NaiveDate};
use maud::{html, Markup, PreEscaped};
use serde_json::json;
use zonegate_app::AppError;
use zonegate_domain::{FieldErrors, Flow};
use zonegate_store::{DeclarationStats, StatsQuery};

use crate::console::access::Area;
use crate::console::context::{Ctx, Session};
use crate::console::errors;
use crate::console::format::{fen, millis};
use crate::console::forms::{Control, Field, Problems};
use crate::console::glossary::{label, Vocab};
use crate::console::i18n::Msg;
use crate::console::layout::{self, Page};
use crate::error::ApiError;
use crate::extract::Params;
use crate::Shared;

/// Days shown when no range is given (ending today).
const DEFAULT_DAYS: u64 = 30;
/// The longest range one page shows.
const MAX_DAYS: i64 = 366;

/// The figures of the range, by day.
struct Series {
    days: Vec<NaiveDate>,
    /// Declarations per flow (in [`Flow::ALL`] order) per day.
    flows: Vec<(&'static str, Vec<i64>)>,
    payable_fen: Vec<i64>,
    waived_fen: Vec<i64>,
}

impl Series {
    fn new(from: NaiveDate, to: NaiveDate, stats: &DeclarationStats) -> Series {
        let days: Vec<NaiveDate> = from.iter_days().take_while(|day| *day <= to).collect();
        let position: BTreeMap<NaiveDate, usize> = days.iter().enumerate().map(|(i, day)| (*day, i)).collect();
        let mut flows: Vec<(&'static str, Vec<i64>)> =
            Flow::ALL.iter().map(|flow| (flow.as_str(), vec![0; days.len()])).collect();
        let (mut payable_fen, mut waived_fen) = (vec![0; days.len()], vec![0; days.len()]);
        for row in &stats.daily {
            let Some(&index) = position.get(&row.day) else { continue };
            if let Some((_, counts)) = flows.iter_mut().find(|(flow, _)| *flow == row.flow) {
                counts[index] += row.declarations;
            }
            payable_fen[index] += row.payable_fen;
            waived_fen[index] += row.waived_fen;
        }
        Series { days, flows, payable_fen, waived_fen }
    }

    /// Indexes of the days that have any declaration.
    fn active_days(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.days.len()).filter(|index| self.flows.iter().any(|(_, counts)| counts[*index] > 0))
    }
}

/// The JSON data island, safe inside `<script>`: `<` only ever occurs in strings, where `\u003c` means the same.
fn data_island(ctx: &Ctx, series: &Series, stats: &DeclarationStats) -> Markup {
    let data = json!({
        "days": series.days.iter().map(|day| day.to_string()).collect::<Vec<_>>(),
        "flows": series.flows.iter().map(|(flow, counts)| json!({ "label": label(ctx.lang, Vocab::Flow, flow), "counts": counts })).collect::<Vec<_>>(),
        "treatments": {
            "labels": stats.treatments.iter().map(|(treatment, _)| label(ctx.lang, Vocab::Treatment, treatment)).collect::<Vec<_>>(),
            "counts": stats.treatments.iter().map(|(_, count)| count).collect::<Vec<_>>(),
        },
        "taxes": { "payable_fen": series.payable_fen, "waived_fen": series.waived_fen },
        "text": {
            "declarations": ctx.t(Msg::Declarations),
            "payable": ctx.t(Msg::TaxesPayable),
            "waived": ctx.t(Msg::TaxesWaived),
            "cny": ctx.t(Msg::Cny),
        },
    });
    let text = data.to_string().replace('<', "\\u003c");
    html! { script type="application/json" id="monitor-data" { (PreEscaped(text)) } }
}

/// A chart: its canvas, a caption, and its numbers in a table.
fn chart(ctx: &Ctx, id: &str, title: Msg, table: Markup) -> Markup {
    html! {
        figure class="chart" aria-labelledby={ (id) "-caption" } {
            figcaption id={ (id) "-caption" } { (ctx.t(title)) }
            div class="canvas-box" { canvas id=(id) role="img" aria-label=(ctx.t(title)) {} }
            details {
                summary { (ctx.t(Msg::DataTable)) }
                (table)
            }
        }
    }
}

fn flows_table(ctx: &Ctx, series: &Series) -> Markup {
    html! {
        table class="data" {
            caption { (ctx.t(Msg::ChartFlows)) }
            thead {
                tr {
                    th scope="col" { (ctx.t(Msg::Day)) }
                    @for (flow, _) in &series.flows { th scope="col" class="num" { (label(ctx.lang, Vocab::Flow, flow)) } }
                }
            }
            tbody {
                @for index in series.active_days() {
                    tr {
                        th scope="row" { (series.days[index]) }
                        @for (_, counts) in &series.flows { td class="num" { (counts[index]) } }
                    }
                }
            }
        }
    }
}

fn treatments_table(ctx: &Ctx, stats: &DeclarationStats) -> Markup {
    html! {
        table class="data" {
            caption { (ctx.t(Msg::ChartTreatments)) }
            thead { tr { th scope="col" { (ctx.t(Msg::Treatment)) } th scope="col" class="num" { (ctx.t(Msg::Declarations)) } } }
            tbody {
                @for (treatment, count) in &stats.treatments {
                    tr { th scope="row" { (label(ctx.lang, Vocab::Treatment, treatment)) } td class="num" { (count) } }
                }
            }
        }
    }
}

fn taxes_table(ctx: &Ctx, series: &Series) -> Markup {
    html! {
        table class="data" {
            caption { (ctx.t(Msg::ChartTaxes)) }
            thead {
                tr {
                    th scope="col" { (ctx.t(Msg::Day)) }
                    th scope="col" class="num" { (ctx.t(Msg::TaxesPayable)) }
                    th scope="col" class="num" { (ctx.t(Msg::TaxesWaived)) }
                }
            }
            tbody {
                @for index in series.active_days() {
                    tr {
                        th scope="row" { (series.days[index]) }
                        td class="num" { (fen(series.payable_fen[index])) }
                        td class="num" { (fen(series.waived_fen[index])) }
                    }
                }
            }
        }
    }
}

fn latency(ctx: &Ctx, stats: &DeclarationStats) -> Markup {
    let figure = |us: Option<i64>| us.map_or_else(|| ctx.t(Msg::NoData).to_owned(), |us| format!("{} ms", millis(us)));
    html! {
        section aria-labelledby="latency" {
            h2 id="latency" { (ctx.t(Msg::DecisionTime)) }
            dl class="figures" {
                div { dt { (ctx.t(Msg::Median)) } dd { (figure(stats.decision_us_p50)) } }
                div { dt { (ctx.t(Msg::Percentile90)) } dd { (figure(stats.decision_us_p90)) } }
            }
        }
    }
}

/// The range asked for, or its problems; the default is the last 30 days up to today.
fn range(params: &Params, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), FieldErrors> {
    let mut errors = FieldErrors::default();
    params.check(&["from", "to", "lang"], &mut errors);
    let to = params.date("to", &mut errors).unwrap_or(today);
    let default_from = to.checked_sub_days(Days::new(DEFAULT_DAYS - 1)).unwrap_or(to);
    let from = params.date("from", &mut errors).unwrap_or(default_from);
    if from > to {
        errors.add("range", "from", format!("{from} is after {to}"));
    } else if (to - from).num_days() >= MAX_DAYS {
        errors.add("range", "from", format!("the range may span at most {MAX_DAYS} days"));
    }
    errors.into_result((from, to))
}

/// `GET /console/monitor?from=&to=`.
pub(crate) async fn show(State(api): State<Shared>, session: Session, params: Result<Params, ApiError>) -> Response {
    let ctx = &session.ctx;
    let params = match params {
        Ok(params) => params,
        Err(error) => return errors::api(ctx, error),
    };
    let today = api.app.now().date_naive();
    let (status, problems, content) = match range(&params, today) {
        Ok((from, to)) => {
            let query = StatsQuery { zone: None, declarant: None, declared_from: from, declared_to: to };
            match api.app.stats(session.principal(), query).await {
                Ok(stats) => (StatusCode::OK, Problems::default(), Some((from, to, stats))),
                Err(AppError::Invalid(errors)) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, range_problems(ctx, &errors), None)
                }
                Err(error) => return errors::app(ctx, error),
            }
        }
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, range_problems(ctx, &errors), None),
    };
    let shown = |name: &str, default: Option<NaiveDate>| {
        params.text(name).map(str::to_owned).or_else(|| default.map(|d| d.to_string())).unwrap_or_default()
    };
    let from = shown("from", content.as_ref().map(|(from, _, _)| *from));
    let to = shown("to", content.as_ref().map(|(_, to, _)| *to));
    let body = html! {
        @if ctx.may(Area::Risk) {
            p { a href="/console/risk" { (ctx.t(Msg::NavRisk)) } }
        }
        (problems.summary(ctx))
        form method="get" action="/console/monitor" class="filters" novalidate {
            (Field::new("from", ctx.t(Msg::DeclaredFrom), &from).control(Control::Date).render(ctx, &problems))
            (Field::new("to", ctx.t(Msg::DeclaredTo), &to).control(Control::Date).render(ctx, &problems))
            div class="actions" { button type="submit" class="primary" { (ctx.t(Msg::Show)) } }
        }
        @if let Some((from, to, stats)) = &content {
            @let series = Series::new(*from, *to, stats);
            (data_island(ctx, &series, stats))
            @if stats.daily.is_empty() { p class="empty" { (ctx.t(Msg::NoDeclarationsInRange)) } }
            div class="charts" {
                (chart(ctx, "chart-flows", Msg::ChartFlows, flows_table(ctx, &series)))
                (chart(ctx, "chart-treatments", Msg::ChartTreatments, treatments_table(ctx, stats)))
                (chart(ctx, "chart-taxes", Msg::ChartTaxes, taxes_table(ctx, &series)))
            }
            (latency(ctx, stats))
        }
    };
    layout::respond_with(status, ctx, &Page::new(ctx.t(Msg::NavMonitor)).area(Area::Monitor).charts(), body)
}

fn range_problems(ctx: &Ctx, errors: &FieldErrors) -> Problems {
    Problems::for_fields(ctx.lang, errors, &["from", "to"])
}
