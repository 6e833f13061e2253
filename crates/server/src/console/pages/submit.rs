//! `GET`/`POST /console/declarations/new`: the submission form for one declaration (interchange.md §1).
//!
//! Controls are named by the JSON path of the value they hold (`items[1].hs`), so the API's errors land
//! next to their control. Item rows start at three; "add item" posts the form back with one more row and
//! works without JavaScript (`console.js` does the same in place). On submit, rows left blank are dropped,
//! the document is built with every number as a decimal string, and `App::submit` decides.

use std::collections::{BTreeSet, HashMap};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde_json::{Map, Value};
use zonegate_app::{AppError, Submitted};
use zonegate_auth::PartyKind;
use zonegate_domain::{Declaration, FieldError, FieldErrors, Flow, Purpose, ValueBasis};

use crate::console::access::Area;
use crate::console::context::{Ctx, Session};
use crate::console::errors;
use crate::console::forms::{choices, field_id, Control, Field, FormFields, Problems};
use crate::console::glossary::Vocab;
use crate::console::i18n::{tf, Msg};
use crate::console::layout::{self, Page};
use crate::Shared;

/// Item rows of a new form.
const INITIAL_ROWS: usize = 3;

/// What a control holds.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    /// A decimal number, sent as a string.
    Decimal,
    Date,
    /// A choice among the options listed under the control's name.
    Choice,
}

/// One control of the form: its name (a JSON path, relative to the item for item fields), label and hint.
struct Spec {
    name: &'static str,
    label: Msg,
    kind: Kind,
    required: bool,
    hint: Option<Msg>,
    datalist: Option<&'static str>,
}

const fn spec(name: &'static str, label: Msg, kind: Kind, required: bool, hint: Option<Msg>) -> Spec {
    Spec { name, label, kind, required, hint, datalist: None }
}

const HEADER: [Spec; 12] = [
    spec("reference", Msg::Reference, Kind::Text, true, Some(Msg::ReferenceHint)),
    spec("zone", Msg::Zone, Kind::Choice, true, None),
    spec("flow", Msg::Flow, Kind::Choice, true, None),
    spec("declared_on", Msg::DeclaredOn, Kind::Date, true, None),
    spec("declarant", Msg::Declarant, Kind::Text, true, Some(Msg::UsccHint)),
    spec("importer", Msg::Importer, Kind::Text, false, Some(Msg::ImporterHint)),
    spec("purpose", Msg::Purpose, Kind::Choice, true, None),
    Spec { datalist: Some("currencies"), ..spec("currency", Msg::Currency, Kind::Text, true, Some(Msg::CurrencyHint)) },
    spec("exchange_rate", Msg::ExchangeRate, Kind::Decimal, false, Some(Msg::ExchangeRateHint)),
    spec("value_basis", Msg::ValueBasis, Kind::Choice, true, None),
    spec("freight", Msg::Freight, Kind::Decimal, false, Some(Msg::FobOnlyHint)),
    spec("insurance", Msg::Insurance, Kind::Decimal, false, Some(Msg::FobOnlyHint)),
];

const ITEM: [Spec; 6] = [
    spec("hs", Msg::Hs, Kind::Text, true, Some(Msg::HsHint)),
    spec("description", Msg::Description, Kind::Text, false, None),
    spec("quantity", Msg::Quantity, Kind::Decimal, true, None),
    Spec { datalist: Some("units"), ..spec("unit", Msg::Unit, Kind::Text, true, Some(Msg::UnitHint)) },
    spec("value", Msg::Value, Kind::Decimal, true, Some(Msg::ValueHint)),
    spec("origin", Msg::Origin, Kind::Text, false, Some(Msg::OriginHint)),
];

/// Optional groups of an item: (object name, legend, hint, fields).
const GROUPS: [(&str, Msg, Msg, [Spec; 3]); 2] = [
    (
        "attributes",
        Msg::Attributes,
        Msg::AttributesHint,
        [
            spec("engine_cc", Msg::EngineCc, Kind::Decimal, false, None),
            spec("volume_l", Msg::VolumeL, Kind::Decimal, false, None),
            spec("abv", Msg::Abv, Kind::Decimal, false, None),
        ],
    ),
    (
        "processing",
        Msg::Processing,
        Msg::ProcessingHint,
        [
            spec("imported_materials_cny", Msg::ImportedMaterials, Kind::Decimal, false, None),
            spec("domestic_materials_cny", Msg::DomesticMaterials, Kind::Decimal, false, None),
            spec("sale_price_cny", Msg::SalePrice, Kind::Decimal, false, None),
        ],
    ),
];

const UNITS: [&str; 8] = ["C62", "KGM", "LTR", "TNE", "MTQ", "MTR", "MTK", "PR"];
const CURRENCIES: [&str; 8] = ["CNY", "MOP", "HKD", "USD", "EUR", "GBP", "JPY", "PTE"];

fn item_path(index: usize, name: &str) -> String {
    format!("items[{index}].{name}")
}

/// Every item field name relative to the item (`hs`, `attributes.abv`, …).
fn item_names() -> impl Iterator<Item = String> {
    ITEM.iter().map(|spec| spec.name.to_owned()).chain(
        GROUPS.iter().flat_map(|(group, _, _, specs)| specs.iter().map(move |spec| format!("{group}.{}", spec.name))),
    )
}

/// The values of the form, by control name, and the number of item rows.
struct DeclarationForm {
    values: HashMap<String, String>,
    rows: usize,
}

impl DeclarationForm {
    fn blank(session: &Session, today: &str) -> DeclarationForm {
        let mut values: HashMap<String, String> = [("zone", "hengqin"), ("value_basis", "CIF"), ("declared_on", today)]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        let who = session.principal();
        if who.party_kind == PartyKind::Enterprise {
            values.insert("declarant".into(), who.party.clone());
        }
        DeclarationForm { values, rows: INITIAL_ROWS }
    }

    /// The posted form. With `compact`, item rows left blank are dropped and the rest renumbered, so that the
    /// document's item indexes are the rows' indexes.
    fn posted(fields: &FormFields, compact: bool) -> DeclarationForm {
        let mut values: HashMap<String, String> =
            HEADER.iter().map(|spec| (spec.name.to_owned(), fields.get(spec.name).to_owned())).collect();
        let indexes: BTreeSet<usize> = fields
            .0
            .iter()
            .filter_map(|(name, _)| name.strip_prefix("items[")?.split_once(']')?.0.parse().ok())
            .filter(|index| *index < Declaration::MAX_ITEMS)
            .collect();
        let mut rows = 0;
        for index in indexes {
            let row: Vec<(String, String)> =
                item_names().map(|name| (name.clone(), fields.get(&item_path(index, &name)).to_owned())).collect();
            if compact && row.iter().all(|(_, value)| value.is_empty()) {
                continue;
            }
            values.extend(row.into_iter().map(|(name, value)| (item_path(rows, &name), value)));
            rows += 1;
        }
        DeclarationForm { values, rows: rows.max(1) }
    }

    fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// The declaration document: empty fields left out, every value a string.
    fn document(&self) -> Value {
        let mut document = Map::new();
        for spec in &HEADER {
            put(&mut document, spec.name, self.value(spec.name));
        }
        let items: Vec<Value> = (0..self.rows)
            .filter(|index| item_names().any(|name| !self.value(&item_path(*index, &name)).is_empty()))
            .map(|index| {
                let mut item = Map::new();
                for spec in &ITEM {
                    put(&mut item, spec.name, self.value(&item_path(index, spec.name)));
                }
                for (group, _, _, specs) in &GROUPS {
                    let mut object = Map::new();
                    for spec in specs {
                        put(&mut object, spec.name, self.value(&item_path(index, &format!("{group}.{}", spec.name))));
                    }
                    if !object.is_empty() {
                        item.insert((*group).to_owned(), Value::Object(object));
                    }
                }
                Value::Object(item)
            })
            .collect();
        document.insert("items".into(), Value::Array(items));
        Value::Object(document)
    }

    /// The control or group an error about `path` is shown at: the control itself, else the nearest group
    /// holding it (`items[1].processing`, `items[1]`, `items`); `None` for the document as a whole.
    fn anchor(&self, path: &str) -> Option<String> {
        let mut candidate = path;
        while !candidate.is_empty() {
            if self.is_anchor(candidate) {
                return Some(field_id(candidate));
            }
            candidate = match candidate.rfind(['.', '[']) {
                Some(cut) => &candidate[..cut],
                None => "",
            };
        }
        None
    }

    fn is_anchor(&self, path: &str) -> bool {
        if path == "items" || HEADER.iter().any(|spec| spec.name == path) {
            return true;
        }
        let Some((index, rest)) = path.strip_prefix("items[").and_then(|rest| rest.split_once(']')) else {
            return false;
        };
        let known_row = index.parse::<usize>().is_ok_and(|index| index < self.rows);
        let rest = rest.strip_prefix('.').unwrap_or(rest);
        known_row
            && (rest.is_empty()
                || GROUPS.iter().any(|(group, _, _, _)| *group == rest)
                || item_names().any(|name| name == rest))
    }

    fn has_values(&self, prefix: &str) -> bool {
        self.values.iter().any(|(name, value)| name.starts_with(prefix) && !value.is_empty())
    }
}

fn put(object: &mut Map<String, Value>, name: &str, value: &str) {
    if !value.is_empty() {
        object.insert(name.to_owned(), Value::String(value.to_owned()));
    }
}

/// The grid of an item's controls: six columns, one per field, that the optional groups line up with.
const ITEM_GRID: &str = "grid six";

/// A group of controls in a `<fieldset>` that also shows the errors about the group as a whole.
fn group(problems: &Problems, path: &str, legend: &str, hint: Option<&str>, body: Markup) -> Markup {
    let id = field_id(path);
    html! {
        fieldset id=(id) class="group" tabindex="-1" aria-describedby=[problems.described_by(&id)] {
            legend { (legend) }
            @if let Some(hint) = hint { p class="hint" { (hint) } }
            (problems.inline(&id))
            (body)
        }
    }
}

/// The form as it is drawn: its values, its problems and the choices of its selects.
struct View<'a> {
    ctx: &'a Ctx,
    form: &'a DeclarationForm,
    problems: &'a Problems,
    options: HashMap<&'static str, Vec<(String, String)>>,
}

impl View<'_> {
    /// The controls of `specs` in a grid of the class `grid`, named `prefix` + spec name. `required` marks the
    /// specs that say so (not in the item rows after the first: a row left blank is dropped, so none of its
    /// fields is needed).
    fn controls(&self, grid: &str, prefix: &str, specs: &[Spec], readonly: &[&str], required: bool) -> Markup {
        let ctx = self.ctx;
        html! {
            div class=(grid) {
                @for spec in specs {
                    @let name = format!("{prefix}{}", spec.name);
                    @let control = match spec.kind {
                        Kind::Text | Kind::Decimal => Control::Text,
                        Kind::Date => Control::Date,
                        Kind::Choice => Control::Select(self.options.get(spec.name).map_or(&[][..], Vec::as_slice)),
                    };
                    @let field = Field::new(&name, ctx.t(spec.label), self.form.value(&name))
                        .control(control)
                        .required(required && spec.required)
                        .readonly(readonly.contains(&spec.name));
                    @let field = match spec.hint { Some(hint) => field.hint(ctx.t(hint)), None => field };
                    @let field = match spec.datalist { Some(list) => field.datalist(list), None => field };
                    @let field = if matches!(spec.kind, Kind::Decimal) { field.inputmode("decimal") } else { field };
                    (field.render(ctx, self.problems))
                }
            }
        }
    }

    fn item_row(&self, index: usize) -> Markup {
        let (ctx, problems) = (self.ctx, self.problems);
        let prefix = format!("items[{index}].");
        let legend = tf(ctx.lang, Msg::ItemN, &[("n", &(index + 1).to_string())]);
        let body = html! {
            (self.controls(ITEM_GRID, &prefix, &ITEM, &[], index == 0))
            @for (name, legend, hint, specs) in &GROUPS {
                @let path = format!("{prefix}{name}");
                @let open = self.form.has_values(&path) || problems.described_by(&field_id(&path)).is_some()
                    || specs.iter().any(|spec| problems.described_by(&field_id(&format!("{path}.{}", spec.name))).is_some());
                details open[open] {
                    summary { (ctx.t(*legend)) }
                    (group(problems, &path, ctx.t(*legend), Some(ctx.t(*hint)), self.controls(ITEM_GRID, &format!("{path}."), specs, &[], true)))
                }
            }
        };
        html! {
            div class="item" data-index=(index) data-legend=(ctx.t(Msg::ItemN)) {
                (group(problems, &format!("items[{index}]"), &legend, None, body))
            }
        }
    }
}

fn render(ctx: &Ctx, api: &Shared, form: &DeclarationForm, problems: &Problems, enterprise: bool) -> Markup {
    let book = api.app.book();
    let options: HashMap<&'static str, Vec<(String, String)>> = [
        ("zone", choices(ctx.lang, Vocab::Zone, book.zones())),
        ("flow", choices(ctx.lang, Vocab::Flow, Flow::ALL.iter().map(|flow| flow.as_str()))),
        ("purpose", choices(ctx.lang, Vocab::Purpose, Purpose::ALL.iter().map(|purpose| purpose.as_str()))),
        ("value_basis", choices(ctx.lang, Vocab::ValueBasis, ValueBasis::ALL.iter().map(|basis| basis.as_str()))),
    ]
    .into_iter()
    .collect();
    let view = View { ctx, form, problems, options };
    let readonly: &[&str] = if enterprise { &["declarant"] } else { &[] };
    html! {
        (problems.summary(ctx))
        form method="post" action="/console/declarations/new" class="declaration-form" novalidate {
            (crate::console::forms::csrf_field(ctx))
            (group(problems, "header", ctx.t(Msg::DeclarationHeader), None, view.controls("grid", "", &HEADER, readonly, true)))
            section id=(field_id("items")) tabindex="-1" aria-labelledby="items-title" aria-describedby="items-hint" {
                h2 id="items-title" { (ctx.t(Msg::Items)) }
                p class="hint" id="items-hint" { (ctx.t(Msg::ItemsHint)) }
                (problems.inline(&field_id("items")))
                div class="items" {
                    @for index in 0..form.rows { (view.item_row(index)) }
                }
                button type="submit" name="action" value="add_item" class="secondary" data-add-item { (ctx.t(Msg::AddItem)) }
            }
            div class="actions" {
                button type="submit" name="action" value="submit" class="primary" { (ctx.t(Msg::SubmitDeclaration)) }
            }
        }
        datalist id="units" { @for unit in UNITS { option value=(unit) {} } }
        datalist id="currencies" { @for currency in CURRENCIES { option value=(currency) {} } }
    }
}

fn respond(ctx: &Ctx, status: StatusCode, body: Markup) -> Response {
    layout::respond_with(status, ctx, &Page::new(ctx.t(Msg::NavSubmit)).area(Area::Submit), body)
}

/// `GET /console/declarations/new`.
pub(crate) async fn form(State(api): State<Shared>, session: Session) -> Response {
    let ctx = &session.ctx;
    if !session.ctx.may(Area::Submit) {
        return errors::forbidden(ctx);
    }
    let today = api.app.now().date_naive().to_string();
    let form = DeclarationForm::blank(&session, &today);
    let enterprise = session.principal().party_kind == PartyKind::Enterprise;
    respond(ctx, StatusCode::OK, render(ctx, &api, &form, &Problems::default(), enterprise))
}

/// `POST /console/declarations/new`: one more item row, or the submission; its problems come back on the
/// form, a recorded declaration redirects to its page.
pub(crate) async fn submit(
    State(api): State<Shared>,
    session: Session,
    headers: HeaderMap,
    fields: FormFields,
) -> Response {
    let ctx = &session.ctx;
    if let Some(refused) = session.form_refusal(&headers, &fields) {
        return refused;
    }
    let enterprise = session.principal().party_kind == PartyKind::Enterprise;
    if fields.get("action") == "add_item" {
        let mut form = DeclarationForm::posted(&fields, false);
        form.rows = (form.rows + 1).min(Declaration::MAX_ITEMS);
        return respond(ctx, StatusCode::OK, render(ctx, &api, &form, &Problems::default(), enterprise));
    }
    let form = DeclarationForm::posted(&fields, true);
    let document = form.document();
    let (status, errors) = match api.app.submit(session.principal(), &document).await {
        Ok(Submitted::Created(body) | Submitted::Repeat(body)) => {
            let id = body.get("id").and_then(Value::as_i64).unwrap_or_default();
            return Redirect::to(&format!("/console/declarations/{id}")).into_response();
        }
        Err(AppError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Err(AppError::Conflict { declarant, reference, existing_id }) => {
            let message = format!(
                "declaration `{reference}` of `{declarant}` was recorded before with other content, as id {existing_id}"
            );
            (StatusCode::CONFLICT, FieldErrors::from(FieldError::new("conflict", "reference", message)))
        }
        Err(AppError::Forbidden { .. }) => {
            let message = "you may submit declarations of your own enterprise only";
            (StatusCode::FORBIDDEN, FieldErrors::from(FieldError::new("forbidden", "declarant", message)))
        }
        Err(error) => return errors::app(ctx, error),
    };
    let problems = Problems::new(ctx.lang, &errors, |path| form.anchor(path));
    respond(ctx, status, render(ctx, &api, &form, &problems, enterprise))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(pairs: &[(&str, &str)], compact: bool) -> DeclarationForm {
        DeclarationForm::posted(
            &FormFields(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
            compact,
        )
    }

    #[test]
    fn blank_rows_are_dropped_and_the_rest_renumbered() {
        let form = posted(
            &[
                ("reference", " HQ-1 "),
                ("items[0].hs", ""),
                ("items[1].hs", "84713000"),
                ("items[1].quantity", "2"),
                ("items[1].attributes.abv", "40"),
                ("items[2].hs", ""),
            ],
            true,
        );
        assert_eq!(form.rows, 1);
        let document = form.document();
        assert_eq!(document["reference"], "HQ-1");
        assert_eq!(document["items"][0]["hs"], "84713000");
        assert_eq!(document["items"][0]["quantity"], "2");
        assert_eq!(document["items"][0]["attributes"]["abv"], "40");
        assert!(document["items"][0].get("processing").is_none());
        assert!(document.get("importer").is_none());
        let kept = posted(&[("items[0].hs", ""), ("items[1].hs", "")], false);
        assert_eq!(kept.rows, 2);
    }

    #[test]
    fn errors_find_their_control_or_its_group() {
        let form = posted(&[("items[0].hs", "1"), ("items[1].hs", "2")], true);
        assert_eq!(form.anchor("items[1].hs").as_deref(), Some("f-items-1-hs"));
        assert_eq!(form.anchor("declared_on").as_deref(), Some("f-declared_on"));
        assert_eq!(form.anchor("items[0].processing").as_deref(), Some("f-items-0-processing"));
        assert_eq!(form.anchor("items[0].attributes.engine_cc").as_deref(), Some("f-items-0-attributes-engine_cc"));
        assert_eq!(form.anchor("items[0].documents[2].id").as_deref(), Some("f-items-0"));
        assert_eq!(form.anchor("items[7].hs").as_deref(), Some("f-items"));
        assert_eq!(form.anchor(""), None);
    }
}
