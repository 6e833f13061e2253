//! What every page needs to know about its request: the language, who is logged in (with the form token),
//! and where the page is (for the language switch and the navigation).

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use zonegate_auth::{PartyKind, Principal};

use super::access::{self, Area};
use super::format::href;
use super::forms::FormFields;
use super::glossary;
use super::i18n::{Lang, Msg};
use crate::auth::{Caller, ConsoleCaller};
use crate::Shared;

/// The request as the templates see it.
pub(crate) struct Ctx {
    pub(crate) lang: Lang,
    /// The logged-in user; `None` on the login page and on pages served to visitors.
    pub(crate) user: Option<Principal>,
    /// How the header names the user's party: the registered name of their enterprise, the name of their
    /// office (`customs:hengqin` → 横琴海关), or their party id.
    pub(crate) party_name: Option<String>,
    /// The token every POST form of this session must carry as `_csrf`.
    pub(crate) csrf: Option<String>,
    pub(crate) path: String,
    /// The query parameters of the request, without `lang`.
    pub(crate) query: Vec<(String, String)>,
    /// The parts of the console the user may use (none for a visitor).
    pub(crate) areas: Vec<Area>,
}

impl Ctx {
    fn from_parts(parts: &Parts, caller: Option<&Caller>) -> Ctx {
        let query = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| pairs.into_iter().filter(|(name, _)| name != "lang").collect())
            .unwrap_or_default();
        Ctx {
            lang: Lang::detect(parts),
            user: caller.map(|caller| caller.principal.clone()),
            party_name: None,
            csrf: caller.and_then(|caller| caller.csrf.clone()),
            path: parts.uri.path().to_owned(),
            query,
            areas: Vec::new(),
        }
    }

    /// Whether the user may use a part of the console.
    pub(crate) fn may(&self, area: Area) -> bool {
        self.areas.contains(&area)
    }

    /// The text of a message in the page's language.
    pub(crate) fn t(&self, key: Msg) -> &'static str {
        super::i18n::t(self.lang, key)
    }

    /// This page in another language.
    pub(crate) fn switch_href(&self, lang: Lang) -> String {
        let mut pairs: Vec<(&str, &str)> = self.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pairs.push(("lang", lang.code()));
        href(&self.path, &pairs)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Ctx, Self::Rejection> {
        Ok(Ctx::from_parts(parts, None))
    }
}

/// A logged-in user's request; a visitor is sent to the login page (by [`ConsoleCaller`]).
pub(crate) struct Session {
    pub(crate) ctx: Ctx,
    pub(crate) caller: Caller,
}

impl Session {
    pub(crate) fn principal(&self) -> &Principal {
        &self.caller.principal
    }

    /// Checks a posted form's `_csrf` field (and the `Origin` header) against the session: `Some` is the
    /// refusal, as the console's error page.
    pub(crate) fn form_refusal(&self, headers: &HeaderMap, fields: &FormFields) -> Option<Response> {
        crate::auth::check_form_csrf(&self.caller, headers, fields.get("_csrf"))
            .err()
            .map(|error| super::errors::api(&self.ctx, error))
    }

    /// Where a form's action leads: to the page `to` when it succeeded, else to the error page.
    pub(crate) fn redirect_or_error<T>(&self, outcome: zonegate_app::AppResult<T>, to: &str) -> Response {
        match outcome {
            Ok(_) => Redirect::to(to).into_response(),
            Err(error) => super::errors::app(&self.ctx, error),
        }
    }
}

impl FromRequestParts<Shared> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Session, Response> {
        let ConsoleCaller(caller) =
            ConsoleCaller::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let mut ctx = Ctx::from_parts(parts, Some(&caller));
        let who = &caller.principal;
        ctx.areas = access::areas(&state.app, who);
        let enterprise = (who.party_kind == PartyKind::Enterprise)
            .then(|| access::readable_party(&state.app, who, &who.party))
            .flatten()
            .map(|party| party.name);
        ctx.party_name = Some(enterprise.unwrap_or_else(|| glossary::party_name(ctx.lang, &who.party).into_owned()));
        Ok(Session { ctx, caller })
    }
}
