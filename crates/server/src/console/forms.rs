//! Form controls that are accessible by construction: every control has a `<label for>`, its hint and its
//! errors are tied to it with `aria-describedby`, and the problems of a form are summarised at the top in a
//! `role="alert"` list whose entries link to the controls.
//!
//! A control's `name` is the JSON path the API reports errors under (`declared_on`, `items[1].hs`), so an
//! error finds its control without a mapping table.

use axum::extract::{Form, FromRequest, Request};
use axum::http::StatusCode;
use maud::{html, Markup};
use zonegate_domain::{FieldError, FieldErrors};

use super::context::Ctx;
use super::format::message;
use super::glossary;
use super::i18n::{Lang, Msg};
use crate::error::ApiError;
use crate::Shared;

/// A submitted `application/x-www-form-urlencoded` body, as name/value pairs in their order.
pub(crate) struct FormFields(pub(crate) Vec<(String, String)>);

impl FromRequest<Shared> for FormFields {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &Shared) -> Result<FormFields, ApiError> {
        match Form::<Vec<(String, String)>>::from_request(request, state).await {
            Ok(Form(pairs)) => Ok(FormFields(pairs)),
            Err(rejection) => Err(ApiError::new(StatusCode::BAD_REQUEST, "form", "", rejection.body_text())),
        }
    }
}

impl FormFields {
    /// The first value of a field, trimmed; `""` when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.raw(name).trim()
    }

    /// The first value of a field as sent (a password keeps its spaces).
    pub(crate) fn raw(&self, name: &str) -> &str {
        self.0.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.as_str())
    }
}

/// The HTML id of the control named `name`: `items[1].hs` → `f-items-1-hs`.
pub(crate) fn field_id(name: &str) -> String {
    let mut id = String::from("f-");
    for c in name.chars() {
        match c {
            ']' => {}
            c if c.is_ascii_alphanumeric() || c == '_' => id.push(c),
            _ => id.push('-'),
        }
    }
    id
}

/// The hidden form token every POST form of a session carries.
pub(crate) fn csrf_field(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="_csrf" value=(ctx.csrf.as_deref().unwrap_or("")); }
}

/// One problem as shown: a sentence in the page's language and, in Chinese, the API's own message.
pub(crate) struct Problem {
    /// The id of the control (or group) it is shown next to; `None` for the document as a whole.
    anchor: Option<String>,
    text: String,
    detail: Option<String>,
}

/// The problems of one submitted form.
#[derive(Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    /// Places each error next to the control `anchor_of` finds for its JSON path.
    pub(crate) fn new(lang: Lang, errors: &FieldErrors, anchor_of: impl Fn(&str) -> Option<String>) -> Problems {
        Problems(errors.iter().map(|error| Problem::new(lang, error, anchor_of(&error.field))).collect())
    }

    /// Places each error next to the control of the same name, if it is one of `names`.
    pub(crate) fn for_fields(lang: Lang, errors: &FieldErrors, names: &[&str]) -> Problems {
        Problems::new(lang, errors, |field| names.contains(&field).then(|| field_id(field)))
    }

    /// One problem of the document as a whole.
    pub(crate) fn general(text: &str) -> Problems {
        Problems(vec![Problem { anchor: None, text: text.to_owned(), detail: None }])
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn at<'a>(&'a self, anchor: &'a str) -> impl Iterator<Item = &'a Problem> + 'a {
        self.0.iter().filter(move |problem| problem.anchor.as_deref() == Some(anchor))
    }

    /// The `aria-describedby` id of the problems shown at `anchor`, if there are any.
    pub(crate) fn described_by(&self, anchor: &str) -> Option<String> {
        self.at(anchor).next().map(|_| error_id(anchor))
    }

    /// The problems shown at `anchor` (a control or a group of controls).
    pub(crate) fn inline(&self, anchor: &str) -> Markup {
        let problems: Vec<&Problem> = self.at(anchor).collect();
        html! {
            @if !problems.is_empty() {
                ul class="field-errors" id=(error_id(anchor)) {
                    @for problem in problems { li { (problem.render()) } }
                }
            }
        }
    }

    /// The list of every problem at the top of the form.
    pub(crate) fn summary(&self, ctx: &Ctx) -> Markup {
        html! {
            @if !self.is_empty() {
                div class="error-summary" role="alert" tabindex="-1" id="error-summary" {
                    h2 { (ctx.t(Msg::ErrorSummaryTitle)) }
                    ul {
                        @for problem in &self.0 {
                            li {
                                @match &problem.anchor {
                                    Some(anchor) => a href={ "#" (anchor) } { (problem.render()) },
                                    None => (problem.render()),
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn error_id(anchor: &str) -> String {
    format!("e-{anchor}")
}

impl Problem {
    fn new(lang: Lang, error: &FieldError, anchor: Option<String>) -> Problem {
        match (lang, glossary::error_text(lang, error.code)) {
            (Lang::Zh, Some(text)) => Problem { anchor, text: text.to_owned(), detail: Some(error.message.clone()) },
            _ => Problem { anchor, text: error.message.clone(), detail: None },
        }
    }

    fn render(&self) -> Markup {
        html! {
            (message(&self.text))
            @if let Some(detail) = &self.detail {
                " " span class="detail" lang="en" { "(" (message(detail)) ")" }
            }
        }
    }
}

/// How a control is written.
pub(crate) enum Control<'a> {
    Text,
    /// A date typed as `YYYY-MM-DD`, as the API writes dates, whatever the browser's locale: a text input with
    /// that pattern and a hint saying so (a native date picker would show the locale's format instead).
    Date,
    Password,
    /// A choice; the values with their labels. An empty first choice is added unless the field is required
    /// and has a value.
    Select(&'a [(String, String)]),
}

/// One labelled control.
pub(crate) struct Field<'a> {
    name: &'a str,
    label: &'a str,
    value: &'a str,
    control: Control<'a>,
    required: bool,
    readonly: bool,
    hint: Option<&'a str>,
    autocomplete: Option<&'a str>,
    datalist: Option<&'a str>,
    inputmode: Option<&'a str>,
}

impl<'a> Field<'a> {
    pub(crate) fn new(name: &'a str, label: &'a str, value: &'a str) -> Field<'a> {
        Field {
            name,
            label,
            value,
            control: Control::Text,
            required: false,
            readonly: false,
            hint: None,
            autocomplete: None,
            datalist: None,
            inputmode: None,
        }
    }

    pub(crate) fn control(self, control: Control<'a>) -> Field<'a> {
        Field { control, ..self }
    }

    pub(crate) fn required(self, required: bool) -> Field<'a> {
        Field { required, ..self }
    }

    pub(crate) fn readonly(self, readonly: bool) -> Field<'a> {
        Field { readonly, ..self }
    }

    pub(crate) fn hint(self, hint: &'a str) -> Field<'a> {
        Field { hint: Some(hint), ..self }
    }

    pub(crate) fn autocomplete(self, autocomplete: &'a str) -> Field<'a> {
        Field { autocomplete: Some(autocomplete), ..self }
    }

    /// The on-screen keyboard to offer (`decimal` for amounts).
    pub(crate) fn inputmode(self, inputmode: &'a str) -> Field<'a> {
        Field { inputmode: Some(inputmode), ..self }
    }

    /// Suggestions from the `<datalist>` with this id.
    pub(crate) fn datalist(self, id: &'a str) -> Field<'a> {
        Field { datalist: Some(id), ..self }
    }

    /// The label, the control, its hint and its problems.
    pub(crate) fn render(&self, ctx: &Ctx, problems: &Problems) -> Markup {
        let id = field_id(self.name);
        let hint_id = format!("h-{id}");
        let date = matches!(self.control, Control::Date);
        let hint = self.hint.or_else(|| date.then(|| ctx.t(Msg::DateHint)));
        let described: Vec<String> =
            hint.map(|_| hint_id.clone()).into_iter().chain(problems.described_by(&id)).collect();
        let described = (!described.is_empty()).then(|| described.join(" "));
        let invalid = problems.described_by(&id).is_some().then_some("true");
        html! {
            div class="field" {
                label for=(id) {
                    (self.label)
                    @if self.required { " " abbr class="required" title=(ctx.t(Msg::Required)) { "*" } }
                }
                @match self.control {
                    Control::Select(options) => {
                        select id=(id) name=(self.name) required[self.required] aria-invalid=[invalid]
                            aria-describedby=[described.as_deref()] {
                            @if !self.required || self.value.is_empty() {
                                option value="" { (ctx.t(Msg::ChooseOption)) }
                            }
                            @for (value, label) in options {
                                option value=(value) selected[value == self.value] { (label) }
                            }
                        }
                    }
                    _ => {
                        input id=(id) name=(self.name) type=(self.input_type()) value=(self.value)
                            required[self.required] readonly[self.readonly] aria-invalid=[invalid]
                            aria-describedby=[described.as_deref()] autocomplete=[self.autocomplete]
                            list=[self.datalist] inputmode=[self.inputmode]
                            pattern=[date.then_some("[0-9]{4}-[0-9]{2}-[0-9]{2}")] maxlength=[date.then_some(10)]
                            class=[date.then_some("date")];
                    }
                }
                @if let Some(hint) = hint { p class="hint" id=(hint_id) { (hint) } }
                (problems.inline(&id))
            }
        }
    }

    fn input_type(&self) -> &'static str {
        match self.control {
            Control::Password => "password",
            Control::Text | Control::Date | Control::Select(_) => "text",
        }
    }
}

/// Choices of a vocabulary (flows, treatments, …) labelled in the page's language.
pub(crate) fn choices<'a>(
    lang: Lang,
    vocab: glossary::Vocab,
    codes: impl IntoIterator<Item = &'a str>,
) -> Vec<(String, String)> {
    codes.into_iter().map(|code| (code.to_owned(), glossary::label(lang, vocab, code).into_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_json_path() {
        assert_eq!(field_id("items[12].processing.sale_price_cny"), "f-items-12-processing-sale_price_cny");
        assert_eq!(field_id("declared_on"), "f-declared_on");
    }
}
