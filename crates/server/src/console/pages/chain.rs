//! The event chain in the console: a declaration's events, each with its hash recomputed and its link to
//! the event before it checked, and `GET /console/chain`, the full verification for those allowed
//! `chain.verify`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use zonegate_app::AppError;
use zonegate_store::chain::GENESIS_HASH;
use zonegate_store::{Event, StoreError};

use crate::console::access::Area;
use crate::console::context::{Ctx, Session};
use crate::console::errors;
use crate::console::format::{message, time};
use crate::console::glossary::{label, Vocab};
use crate::console::i18n::{tf, Msg};
use crate::console::layout::{self, Page};
use crate::Shared;

/// Characters of a hash shown in tables.
const HASH_PREFIX: usize = 12;

/// An event and what checking it found.
pub(crate) struct CheckedEvent {
    event: Event,
    /// The stored hash equals the hash recomputed from the event's fields.
    hash_ok: bool,
    /// `prev_hash` equals the stored hash of the event before (the genesis hash for the first); `None` when
    /// that event could not be read.
    link_ok: Option<bool>,
}

/// Recomputes each event's hash and reads the event before it to check the link.
pub(crate) async fn checked(api: &Shared, events: Vec<Event>) -> Vec<CheckedEvent> {
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let recomputed = event.recomputed_hash();
        let link_ok = if event.seq <= 1 {
            Some(event.prev_hash == GENESIS_HASH)
        } else {
            match api.app.store().events(event.seq - 2, 1).await {
                Ok(before) => before.first().filter(|b| b.seq == event.seq - 1).map(|b| b.hash == event.prev_hash),
                Err(error) => {
                    tracing::warn!(%error, seq = event.seq, "cannot read the event before");
                    None
                }
            }
        };
        out.push(CheckedEvent { hash_ok: recomputed == event.hash, link_ok, event });
    }
    out
}

fn verdict(ctx: &Ctx, ok: Option<bool>) -> Markup {
    match ok {
        Some(true) => html! { span class="ok" { "✓ " (ctx.t(Msg::CheckOk)) } },
        Some(false) => html! { strong class="bad" { "✗ " (ctx.t(Msg::CheckFailed)) } },
        None => html! { span class="unknown" { (ctx.t(Msg::CheckUnknown)) } },
    }
}

/// The table of a declaration's events.
pub(crate) fn history(ctx: &Ctx, events: &[CheckedEvent]) -> Markup {
    html! {
        @if events.is_empty() {
            p { (ctx.t(Msg::NoEvents)) }
        } @else {
            div class="table-scroll" {
                table class="data" {
                    caption class="visually-hidden" { (ctx.t(Msg::History)) }
                    (layout::head_row(ctx, &[Msg::Seq, Msg::Time, Msg::EventKind, Msg::Hash, Msg::HashCheck, Msg::LinkCheck]))
                    tbody {
                        @for checked in events {
                            @let event = &checked.event;
                            tr {
                                th scope="row" { (event.seq) }
                                td { time datetime=(event.recorded_at.to_rfc3339()) { (time(event.recorded_at)) } }
                                td { (label(ctx.lang, Vocab::EventKind, &event.kind)) " " code { (event.kind) } }
                                td class="code" title=(event.hash) { (event.hash.get(..HASH_PREFIX).unwrap_or(&event.hash)) "…" }
                                td { (verdict(ctx, Some(checked.hash_ok))) }
                                td { (verdict(ctx, checked.link_ok)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/chain`: recomputes every hash of the chain and shows the result.
pub(crate) async fn verify(State(api): State<Shared>, session: Session) -> Response {
    let ctx = &session.ctx;
    let (status, body) = match api.app.verify(session.principal()).await {
        Ok(report) => (
            StatusCode::OK,
            html! {
                p class="result ok" role="status" { "✓ " (tf(ctx.lang, Msg::ChainIntact, &[("events", &report.events.to_string())])) }
                dl class="facts" { div { dt { (ctx.t(Msg::HeadHash)) } dd class="code hash" { (report.head_hash) } } }
            },
        ),
        Err(AppError::Store(StoreError::ChainBroken { seq, detail })) => {
            tracing::error!(seq, %detail, "the event chain is broken");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                html! {
                    p class="result bad" role="alert" { "✗ " (tf(ctx.lang, Msg::ChainBroken, &[("seq", &seq.to_string())])) }
                    p lang="en" class="detail" { (message(&detail)) }
                },
            )
        }
        Err(error) => return errors::app(ctx, error),
    };
    layout::respond_with(status, ctx, &Page::new(ctx.t(Msg::NavChain)).area(Area::Chain), body)
}
