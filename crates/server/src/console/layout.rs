//! The frame of every page: document head, skip link, header with the navigation the user's roles allow,
//! the language switch, the logout button and the main landmark.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::access::Area;
use super::assets;
use super::context::Ctx;
use super::forms;
use super::glossary::{self, Vocab};
use super::i18n::{tf, Lang, Msg};

/// What a page tells the frame about itself.
pub(crate) struct Page<'a> {
    title: &'a str,
    area: Option<Area>,
    charts: bool,
}

impl<'a> Page<'a> {
    pub(crate) fn new(title: &'a str) -> Page<'a> {
        Page { title, area: None, charts: false }
    }

    /// Marks the navigation entry of this page as current.
    pub(crate) fn area(self, area: Area) -> Page<'a> {
        Page { area: Some(area), ..self }
    }

    /// Loads Chart.js before the console script.
    pub(crate) fn charts(self) -> Page<'a> {
        Page { charts: true, ..self }
    }
}

fn area_link(area: Area) -> (&'static str, Msg) {
    match area {
        Area::Declarations => ("/console/declarations", Msg::NavDeclarations),
        Area::Submit => ("/console/declarations/new", Msg::NavSubmit),
        Area::Monitor => ("/console/monitor", Msg::NavMonitor),
        Area::Risk => ("/console/risk", Msg::NavRisk),
        Area::Alerts => ("/console/alerts", Msg::NavAlerts),
        Area::Enterprises => ("/console/enterprises", Msg::NavEnterprises),
        Area::Zones => ("/console/zones", Msg::NavZones),
        Area::Chain => ("/console/chain", Msg::NavChain),
        Area::Accounts => ("/console/accounts", Msg::NavAccounts),
    }
}

fn navigation(ctx: &Ctx, current: Option<Area>) -> Markup {
    let entries: Vec<Area> = ctx.areas.iter().copied().filter(|area| area.in_navigation(&ctx.areas)).collect();
    if entries.is_empty() {
        return html! {};
    }
    html! {
        nav class="site-nav" aria-label=(ctx.t(Msg::MainNav)) {
            ul {
                @for area in entries {
                    @let (path, label) = area_link(area);
                    li {
                        a href=(path) aria-current=[(current == Some(area)).then_some("page")] { (ctx.t(label)) }
                    }
                }
            }
        }
    }
}

fn language_switch(ctx: &Ctx) -> Markup {
    html! {
        nav class="lang-switch" aria-label=(ctx.t(Msg::LanguageNav)) {
            ul {
                @for lang in Lang::ALL {
                    li {
                        @if lang == ctx.lang {
                            span aria-current="true" lang=(lang.html_tag()) { (lang.native_name()) }
                        } @else {
                            a href=(ctx.switch_href(lang)) lang=(lang.html_tag()) hreflang=(lang.html_tag()) {
                                (lang.native_name())
                            }
                        }
                    }
                }
            }
        }
    }
}

fn user_box(ctx: &Ctx) -> Markup {
    let Some(user) = &ctx.user else { return html! {} };
    let roles: Vec<String> =
        user.roles.iter().map(|role| glossary::label(ctx.lang, Vocab::Role, role.as_str()).into_owned()).collect();
    html! {
        div class="user" {
            p class="user-who" {
                span {
                    a class="user-id" href="/console/account"
                        title=(tf(ctx.lang, Msg::MyAccountLink, &[("user", &user.user_id)]))
                        aria-current=[(ctx.path == "/console/account").then_some("page")] { (user.user_id) }
                    " · " span class="user-roles" { (roles.join(ctx.lang.list_separator())) }
                }
                " "
                span class="user-party" title=(user.party) { (ctx.party_name.as_deref().unwrap_or(&user.party)) }
            }
            form method="post" action="/console/logout" class="inline" {
                (forms::csrf_field(ctx))
                button type="submit" class="link-button" { (ctx.t(Msg::Logout)) }
            }
        }
    }
}

/// The header row of a data table: one column heading per message.
pub(crate) fn head_row(ctx: &Ctx, columns: &[Msg]) -> Markup {
    html! {
        thead {
            tr {
                @for column in columns {
                    th scope="col" { (ctx.t(*column)) }
                }
            }
        }
    }
}

/// The whole document around `body`.
pub(crate) fn render(ctx: &Ctx, page: &Page<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.html_tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No favicon file: an empty data URL keeps browsers from asking for one.
                link rel="icon" href="data:,";
                title { (page.title) " · " (ctx.t(Msg::AppName)) }
                link rel="stylesheet" href=(assets::url(assets::CSS));
                @if page.charts {
                    script defer src=(assets::url(assets::CHART_JS)) {}
                }
                script defer src=(assets::url(assets::JS)) {}
            }
            body {
                a class="skip-link" href="#main" { (ctx.t(Msg::SkipToContent)) }
                header class="site-header" {
                    a class="brand" href="/console" { (ctx.t(Msg::AppName)) }
                    (navigation(ctx, page.area))
                    div class="header-tools" {
                        (user_box(ctx))
                        (language_switch(ctx))
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (page.title) }
                    (body)
                }
                footer class="site-footer" { p { (ctx.t(Msg::Footer)) } }
            }
        }
    }
}

/// A `200` page.
pub(crate) fn respond(ctx: &Ctx, page: &Page<'_>, body: Markup) -> Response {
    respond_with(StatusCode::OK, ctx, page, body)
}

/// A page with another status (an error page, a form with problems).
pub(crate) fn respond_with(status: StatusCode, ctx: &Ctx, page: &Page<'_>, body: Markup) -> Response {
    (status, render(ctx, page, body)).into_response()
}
