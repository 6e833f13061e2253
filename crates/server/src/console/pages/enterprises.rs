//! `GET /console/enterprises` (customs): the enterprises known to the platform with their credit class and
//! flags (registered in the zone, the zone lists they are on).

use axum::extract::State;
use axum::response::Response;
use maud::html;

use crate::console::access::Area;
use crate::console::context::Session;
use crate::console::errors;
use crate::console::glossary::{label, Vocab};
use crate::console::i18n::Msg;
use crate::console::layout::{self, Page};
use crate::Shared;

/// `GET /console/enterprises`.
pub(crate) async fn list(State(api): State<Shared>, session: Session) -> Response {
    let ctx = &session.ctx;
    let parties = match api.app.list_parties(session.principal()) {
        Ok(parties) => parties,
        Err(error) => return errors::app(ctx, error),
    };
    let body = html! {
        @if parties.is_empty() {
            p class="empty" { (ctx.t(Msg::NoEnterprises)) }
        } @else {
            div class="table-scroll" {
                table class="data" {
                    caption { (ctx.t(Msg::EnterprisesCaption)) }
                    (layout::head_row(ctx, &[Msg::Uscc, Msg::Name, Msg::CreditClass, Msg::ZoneRegistered, Msg::OnLists]))
                    tbody {
                        @for party in &parties {
                            tr {
                                th scope="row" class="code" { (party.uscc.as_str()) }
                                td { (party.name) }
                                td class={ "credit-" (party.credit_class.as_str()) } {
                                    (label(ctx.lang, Vocab::CreditClass, party.credit_class.as_str()))
                                }
                                td { (ctx.t(if party.zone_registered { Msg::Yes } else { Msg::No })) }
                                td {
                                    @for (index, list) in party.lists.iter().enumerate() {
                                        @if index > 0 { (ctx.lang.list_separator()) }
                                        (label(ctx.lang, Vocab::List, list))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::respond(ctx, &Page::new(ctx.t(Msg::NavEnterprises)).area(Area::Enterprises), body)
}
