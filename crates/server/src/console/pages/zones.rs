//! `GET /console/zones` and `GET /console/zones/{zone}/lists/{list}?on=` (customs): the zone profiles in
//! force, their lists, and a list's entries in force on a date with the date each took effect.

use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use maud::{html, Markup};
use zonegate_domain::FieldErrors;
use zonegate_policy::book::LISTS;
use zonegate_policy::{FirstLineModel, ListKind};

use crate::console::access::Area;
use crate::console::context::{Ctx, Session};
use crate::console::errors;
use crate::console::format::money;
use crate::console::forms::{Control, Field, Problems};
use crate::console::glossary::{label, Vocab};
use crate::console::i18n::Msg;
use crate::console::layout::{self, Page};
use crate::error::ApiError;
use crate::extract::{Params, PathParams};
use crate::Shared;

fn respond(ctx: &Ctx, title: &str, body: Markup) -> Response {
    layout::respond(ctx, &Page::new(title).area(Area::Zones), body)
}

fn holds(ctx: &Ctx, kind: ListKind) -> &'static str {
    ctx.t(match kind {
        ListKind::Parties => Msg::HoldsParties,
        ListKind::Goods => Msg::HoldsGoods,
    })
}

fn model(ctx: &Ctx, model: FirstLineModel) -> &'static str {
    ctx.t(match model {
        FirstLineModel::ExemptEquipment => Msg::ModelExemptEquipment,
        FirstLineModel::ZeroTariff => Msg::ModelZeroTariff,
    })
}

/// `GET /console/zones`: each zone's profile in force today and its lists.
pub(crate) async fn list(State(api): State<Shared>, session: Session) -> Response {
    let ctx = &session.ctx;
    if !session.ctx.may(Area::Zones) {
        return errors::forbidden(ctx);
    }
    let today = api.app.now().date_naive();
    let book = match api.app.reference_book(session.principal()) {
        Ok(book) => book,
        Err(error) => return errors::app(ctx, error),
    };
    let body = html! {
        p { (ctx.t(Msg::AsOf)) " " (today) }
        @for zone in book.zones() {
            @let heading = format!("zone-{zone}");
            section aria-labelledby=(heading) {
                h2 id=(heading) { (label(ctx.lang, Vocab::Zone, zone)) " " span class="code" { "(" (zone) ")" } }
                @if let Some(profile) = book.profile(zone, today) {
                    dl class="facts" {
                        div { dt { (ctx.t(Msg::EffectiveFrom)) } dd { (profile.effective_from) } }
                        div { dt { (ctx.t(Msg::FirstLineModel)) } dd { (model(ctx, profile.first_line_model)) } }
                        div {
                            dt { (ctx.t(Msg::FirstLineFallback)) }
                            dd { (label(ctx.lang, Vocab::Treatment, profile.first_line_fallback.as_str())) }
                        }
                        div { dt { (ctx.t(Msg::ValueAddedThreshold)) } dd { (profile.value_added_threshold_pct) " %" } }
                        div { dt { (ctx.t(Msg::WaiverThreshold)) } dd { (money(&profile.waiver_threshold_cny.to_string())) } }
                    }
                }
                table class="data" {
                    caption { (ctx.t(Msg::ZoneLists)) }
                    thead {
                        tr {
                            th scope="col" { (ctx.t(Msg::List)) }
                            th scope="col" { (ctx.t(Msg::ListPurpose)) }
                            th scope="col" { (ctx.t(Msg::Holds)) }
                            th scope="col" class="num" { (ctx.t(Msg::EntriesInForce)) }
                        }
                    }
                    tbody {
                        @for (name, kind, _) in LISTS {
                            tr {
                                th scope="row" {
                                    a href={ "/console/zones/" (zone) "/lists/" (name) } { (label(ctx.lang, Vocab::List, name)) }
                                }
                                td { (label(ctx.lang, Vocab::ListPurpose, name)) }
                                td { (holds(ctx, *kind)) }
                                td class="num" { (book.list_items(zone, name, today).len()) }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(ctx, ctx.t(Msg::NavZones), body)
}

/// `GET /console/zones/{zone}/lists/{list}?on=YYYY-MM-DD`: the entries in force on the date (default today).
pub(crate) async fn entries(
    State(api): State<Shared>,
    session: Session,
    PathParams((zone, list)): PathParams<(String, String)>,
    params: Result<Params, ApiError>,
) -> Response {
    let ctx = &session.ctx;
    if !session.ctx.may(Area::Zones) {
        return errors::forbidden(ctx);
    }
    let params = match params {
        Ok(params) => params,
        Err(error) => return errors::api(ctx, error),
    };
    let book = match api.app.reference_book(session.principal()) {
        Ok(book) => book,
        Err(error) => return errors::app(ctx, error),
    };
    let Some((name, kind, _)) = LISTS.iter().find(|(name, _, _)| *name == list) else { return errors::not_found(ctx) };
    if !book.zones().contains(&zone.as_str()) {
        return errors::not_found(ctx);
    }
    let mut problems_found = FieldErrors::default();
    params.check(&["on", "lang"], &mut problems_found);
    let on: NaiveDate = params.date("on", &mut problems_found).unwrap_or_else(|| api.app.now().date_naive());
    let problems = Problems::for_fields(ctx.lang, &problems_found, &["on"]);
    let items = book.list_items(&zone, name, on);
    let title = format!("{} · {}", label(ctx.lang, Vocab::Zone, &zone), label(ctx.lang, Vocab::List, name));
    let body = html! {
        p { (label(ctx.lang, Vocab::ListPurpose, name)) " (" (holds(ctx, *kind)) ")" }
        (problems.summary(ctx))
        form method="get" class="filters" novalidate {
            (Field::new("on", ctx.t(Msg::InForceOn), params.text("on").unwrap_or(&on.to_string()))
                .control(Control::Date)
                .render(ctx, &problems))
            div class="actions" { button type="submit" class="primary" { (ctx.t(Msg::Show)) } }
        }
        @if items.is_empty() {
            p class="empty" { (ctx.t(Msg::NoEntries)) }
        } @else {
            table class="data" {
                caption { (ctx.t(Msg::EntriesInForce)) " · " (on) }
                (layout::head_row(ctx, &[Msg::Entry, Msg::EffectiveFrom, Msg::Note]))
                tbody {
                    @for entry in items {
                        tr {
                            th scope="row" class="code" { (entry.item) }
                            td { (entry.effective_from) }
                            td { (entry.note) }
                        }
                    }
                }
            }
        }
        p { a href="/console/zones" { (ctx.t(Msg::BackToZones)) } }
    };
    respond(ctx, &title, body)
}
