//! `GET /console/accounts`: the accounts of a party (an enterprise admin's own; every party, or one chosen
//! with `?party=`, for supervisors and auditors), for those allowed `account.read` on them. Display names
//! are shown only for the accounts the user may read, and ID numbers never.
//!
//! Users allowed `account.write` also get the form to create an account (`POST /console/accounts`; an
//! enterprise admin's party is fixed to their own) and a button per active account to deactivate it
//! (`POST /console/accounts/{user_id}/deactivate`). The use cases authorize every call again.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde_json::Value;
use zonegate_app::accounts::AccountInput;
use zonegate_app::AppError;
use zonegate_auth::{PartyKind, Principal};
use zonegate_domain::{FieldError, FieldErrors};

use crate::console::access::{self, Area};
use crate::console::context::{Ctx, Session};
use crate::console::errors;
use crate::console::format::{field, time_text};
use crate::console::forms::{csrf_field, field_id, Control, Field, FormFields, Problems};
use crate::console::glossary::{self, label, Vocab};
use crate::console::i18n::{tf, Msg};
use crate::console::layout::{self, Page};
use crate::extract::PathParams;
use crate::Shared;

/// The controls of the account form, named as the use case reports its errors.
const FIELDS: [&str; 5] = ["user_id", "party", "party_kind", "password", "display_name"];

/// The account form as typed (the password is never shown again).
#[derive(Default)]
struct AccountForm {
    user_id: String,
    party: String,
    party_kind: String,
    roles: Vec<String>,
    display_name: String,
}

impl AccountForm {
    fn blank(who: &Principal) -> AccountForm {
        match access::default_accounts_party(who) {
            Some(party) => AccountForm {
                party: party.to_owned(),
                party_kind: who.party_kind.as_str().to_owned(),
                ..AccountForm::default()
            },
            None => AccountForm::default(),
        }
    }
}

/// The party whose accounts are listed, as `App::list_accounts` takes it: `(party, all)`.
fn listing(who: &Principal, filter: &str) -> (Option<String>, bool) {
    if filter.is_empty() {
        (None, who.sees_all_parties())
    } else {
        (Some(filter.to_owned()), false)
    }
}

/// How a party is named for people: an enterprise's registered name (if the user may read it), else the
/// office or `kind name`.
fn party_label(session: &Session, api: &Shared, party: &str, kind: &str) -> String {
    let ctx = &session.ctx;
    let name = (kind == PartyKind::Enterprise.as_str())
        .then(|| access::readable_party(&api.app, session.principal(), party))
        .flatten()
        .map(|party| party.name);
    name.unwrap_or_else(|| glossary::party_name(ctx.lang, party).into_owned())
}

fn roles_of(ctx: &Ctx, account: &Value) -> String {
    let roles: Vec<String> = account
        .get("roles")
        .and_then(Value::as_array)
        .map(|roles| {
            roles.iter().filter_map(Value::as_str).map(|r| label(ctx.lang, Vocab::Role, r).into_owned()).collect()
        })
        .unwrap_or_default();
    roles.join(ctx.lang.list_separator())
}

fn yes_no(ctx: &Ctx, value: bool) -> &'static str {
    ctx.t(if value { Msg::Yes } else { Msg::No })
}

fn table(session: &Session, api: &Shared, accounts: &[Value]) -> Markup {
    let ctx = &session.ctx;
    let who = session.principal();
    let mut parties: BTreeMap<(String, String), String> = BTreeMap::new();
    html! {
        @if accounts.is_empty() {
            p class="empty" { (ctx.t(Msg::NoAccounts)) }
        } @else {
            div class="table-scroll" {
                table class="data" {
                    caption { (ctx.t(Msg::AccountsCaption)) }
                    (layout::head_row(ctx, &[Msg::UserId, Msg::DisplayName, Msg::Party, Msg::Roles, Msg::AccountActive, Msg::PasswordLogin, Msg::RecordedBy, Msg::RecordedAt, Msg::Actions]))
                    tbody {
                        @for account in accounts {
                            @let (user_id, party, kind) = (field(account, "user_id"), field(account, "party"), field(account, "party_kind"));
                            @let active = account.get("active").and_then(Value::as_bool).unwrap_or(false);
                            @let key = (party.to_owned(), kind.to_owned());
                            @let party_name = parties.entry(key).or_insert_with(|| party_label(session, api, party, kind)).clone();
                            tr {
                                th scope="row" class="code" { (user_id) }
                                td {
                                    @if access::may_touch_account(&api.app, who, user_id, party, kind, false) {
                                        (field(account, "display_name"))
                                    } @else {
                                        span class="unknown" { (ctx.t(Msg::NotShown)) }
                                    }
                                }
                                td {
                                    span class="party-name" { (party_name) }
                                    span class="code party-id" { (party) }
                                }
                                td { (roles_of(ctx, account)) }
                                td class=(if active { "ok" } else { "unknown" }) { (yes_no(ctx, active)) }
                                td { (yes_no(ctx, account.get("password_login").and_then(Value::as_bool).unwrap_or(false))) }
                                td class="code" { (field(account, "recorded_by")) }
                                td { time { (time_text(field(account, "recorded_at"))) } }
                                td {
                                    @if active && user_id != who.user_id
                                        && access::may_touch_account(&api.app, who, user_id, party, kind, true) {
                                        form method="post" action={ "/console/accounts/" (user_id) "/deactivate" } class="inline" {
                                            (csrf_field(ctx))
                                            button type="submit" class="secondary" { (tf(ctx.lang, Msg::DeactivateAccount, &[("user", user_id)])) }
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
}

fn filter_form(ctx: &Ctx, filter: &str, problems: &Problems) -> Markup {
    html! {
        form method="get" action="/console/accounts" class="filters" role="search" novalidate aria-label=(ctx.t(Msg::Filters)) {
            (Field::new("party", ctx.t(Msg::Party), filter).hint(ctx.t(Msg::AllPartiesHint)).render(ctx, problems))
            div class="actions" {
                button type="submit" { (ctx.t(Msg::ApplyFilters)) }
                a href="/console/accounts" { (ctx.t(Msg::ResetFilters)) }
            }
        }
    }
}

/// The role checkboxes, grouped by the party kinds the form may create.
fn roles_group(ctx: &Ctx, form: &AccountForm, problems: &Problems, kinds: &[PartyKind]) -> Markup {
    let id = field_id("roles");
    let hint_id = format!("h-{id}");
    let described: Vec<String> = std::iter::once(hint_id.clone()).chain(problems.described_by(&id)).collect();
    html! {
        fieldset id=(id) class="group" tabindex="-1" aria-describedby=(described.join(" ")) {
            legend { (ctx.t(Msg::Roles)) " " abbr class="required" title=(ctx.t(Msg::Required)) { "*" } }
            p class="hint" id=(hint_id) { (ctx.t(Msg::RolesHint)) }
            (problems.inline(&id))
            @for kind in kinds {
                div class="role-kind" {
                    @if kinds.len() > 1 { p { strong { (glossary::party_kind_label(ctx.lang, kind.as_str())) } } }
                    @for role in kind.roles() {
                        @let role_id = format!("{id}-{}", role.as_str());
                        div class="check" {
                            input type="checkbox" id=(role_id) name="roles" value=(role.as_str())
                                checked[form.roles.iter().any(|r| r == role.as_str())];
                            " "
                            label for=(role_id) { (label(ctx.lang, Vocab::Role, role.as_str())) }
                        }
                    }
                }
            }
        }
    }
}

fn create_form(ctx: &Ctx, who: &Principal, form: &AccountForm, problems: &Problems) -> Markup {
    let fixed = access::default_accounts_party(who).is_some();
    let kinds: Vec<PartyKind> = if fixed { vec![who.party_kind] } else { PartyKind::account_kinds().to_vec() };
    let kind_choices: Vec<(String, String)> = kinds
        .iter()
        .map(|kind| (kind.as_str().to_owned(), glossary::party_kind_label(ctx.lang, kind.as_str()).into_owned()))
        .collect();
    let fixed_kind = glossary::party_kind_label(ctx.lang, &form.party_kind).into_owned();
    html! {
        section aria-labelledby="create-title" {
            h2 id="create-title" { (ctx.t(Msg::CreateAccount)) }
            (problems.summary(ctx))
            form method="post" action="/console/accounts" novalidate {
                (csrf_field(ctx))
                div class="grid" {
                    (Field::new("user_id", ctx.t(Msg::UserId), &form.user_id)
                        .required(true)
                        .autocomplete("off")
                        .hint(ctx.t(Msg::UserIdHint))
                        .render(ctx, problems))
                    (Field::new("party", ctx.t(Msg::Party), &form.party)
                        .required(true)
                        .readonly(fixed)
                        .hint(ctx.t(Msg::PartyHint))
                        .render(ctx, problems))
                    @if fixed {
                        (Field::new("party_kind", ctx.t(Msg::PartyKindLabel), &fixed_kind).readonly(true).render(ctx, problems))
                    } @else {
                        (Field::new("party_kind", ctx.t(Msg::PartyKindLabel), &form.party_kind)
                            .control(Control::Select(&kind_choices))
                            .required(true)
                            .render(ctx, problems))
                    }
                    (Field::new("display_name", ctx.t(Msg::DisplayName), &form.display_name)
                        .autocomplete("off")
                        .hint(ctx.t(Msg::DisplayNameHint))
                        .render(ctx, problems))
                    (Field::new("password", ctx.t(Msg::Password), "")
                        .control(Control::Password)
                        .autocomplete("new-password")
                        .hint(ctx.t(Msg::NewPasswordHint))
                        .render(ctx, problems))
                }
                (roles_group(ctx, form, problems, &kinds))
                div class="actions" {
                    button type="submit" class="primary" { (ctx.t(Msg::CreateAccount)) }
                }
            }
        }
    }
}

/// The page: the filter (for those who see every party), the accounts, and the form for those who may
/// create accounts.
async fn page(
    api: &Shared,
    session: &Session,
    status: StatusCode,
    filter: &str,
    form: &AccountForm,
    problems: &Problems,
) -> Response {
    let ctx = &session.ctx;
    let who = session.principal();
    if !ctx.may(Area::Accounts) {
        return errors::forbidden(ctx);
    }
    let (party, all) = listing(who, filter);
    let accounts = match api.app.list_accounts(who, party, all).await {
        Ok(accounts) => accounts,
        Err(error) => return errors::app(ctx, error),
    };
    let body = html! {
        @if who.sees_all_parties() { (filter_form(ctx, filter, &Problems::default())) }
        (table(session, api, &accounts))
        @if access::may_create_accounts(&api.app, who) { (create_form(ctx, who, form, problems)) }
    };
    layout::respond_with(status, ctx, &Page::new(ctx.t(Msg::NavAccounts)).area(Area::Accounts), body)
}

/// `GET /console/accounts?party=`.
pub(crate) async fn list(State(api): State<Shared>, session: Session) -> Response {
    let filter =
        session.ctx.query.iter().find(|(name, _)| name == "party").map_or("", |(_, value)| value.trim()).to_owned();
    let form = AccountForm::blank(session.principal());
    page(&api, &session, StatusCode::OK, &filter, &form, &Problems::default()).await
}

/// The control (or group) an error about `path` is shown at.
fn anchor(path: &str) -> Option<String> {
    if path == "roles" || path.starts_with("roles[") {
        Some(field_id("roles"))
    } else {
        FIELDS.contains(&path).then(|| field_id(path))
    }
}

/// `POST /console/accounts`: creates the account and goes back to the list, or shows the form's problems.
pub(crate) async fn create(
    State(api): State<Shared>,
    session: Session,
    headers: HeaderMap,
    fields: FormFields,
) -> Response {
    let ctx = &session.ctx;
    if let Some(refused) = session.form_refusal(&headers, &fields) {
        return refused;
    }
    let who = session.principal();
    let mut form = AccountForm {
        user_id: fields.get("user_id").to_owned(),
        party: fields.get("party").to_owned(),
        party_kind: fields.get("party_kind").to_owned(),
        roles: fields.0.iter().filter(|(name, _)| name == "roles").map(|(_, value)| value.trim().to_owned()).collect(),
        display_name: fields.get("display_name").to_owned(),
    };
    // An enterprise admin creates accounts of their own party only.
    if let Some(party) = access::default_accounts_party(who) {
        form.party = party.to_owned();
        form.party_kind = who.party_kind.as_str().to_owned();
    }
    let password = fields.raw("password");
    let optional = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    let input = AccountInput {
        user_id: Some(form.user_id.clone()),
        party: Some(form.party.clone()),
        party_kind: Some(form.party_kind.clone()),
        roles: Some(form.roles.clone()),
        password: optional(password),
        display_name: optional(&form.display_name),
        id_number: None,
    };
    let errors = match api.app.create_account(who, input).await {
        Ok(_) => return Redirect::to("/console/accounts").into_response(),
        Err(AppError::Invalid(errors)) => errors,
        Err(AppError::AccountExists(user_id)) => FieldErrors::from(FieldError::new(
            "account_exists",
            "user_id",
            format!("account `{user_id}` exists already"),
        )),
        Err(error) => return errors::app(ctx, error),
    };
    let problems = Problems::new(ctx.lang, &errors, anchor);
    page(&api, &session, StatusCode::UNPROCESSABLE_ENTITY, "", &form, &problems).await
}

/// `POST /console/accounts/{user_id}/deactivate`: deactivates the account and goes back to the list.
pub(crate) async fn deactivate(
    State(api): State<Shared>,
    session: Session,
    PathParams(user_id): PathParams<String>,
    headers: HeaderMap,
    fields: FormFields,
) -> Response {
    if let Some(refused) = session.form_refusal(&headers, &fields) {
        return refused;
    }
    session.redirect_or_error(api.app.deactivate_account(session.principal(), &user_id).await, "/console/accounts")
}
