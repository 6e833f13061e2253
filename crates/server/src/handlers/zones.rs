//! `/v1/zones`: zone profiles in force, the zone lists and their entries, and appending list entries.
//!
//! Lists are versioned data: an edit is a new row with an effective date (`active: false` removes an item
//! from that date on), never a change of an existing row.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde_json::{json, Map, Value};
use zonegate_app::auth::{Action, Resource};
use zonegate_domain::{FieldError, FieldErrors};
use zonegate_policy::book::LISTS;
use zonegate_policy::{ListEntry, ListKind, PolicyBook};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_date, JsonBody, Params, PathParams};
use crate::handlers::created;
use crate::Shared;

/// Most entries one append may carry.
pub(crate) const ENTRIES_MAX: usize = 1000;
/// Longest note.
const NOTE_LENGTH_MAX: usize = 500;

fn known_zone(book: &PolicyBook, zone: &str) -> Result<(), ApiError> {
    if book.zones().contains(&zone) {
        Ok(())
    } else {
        Err(ApiError::not_found("zone", format!("zone `{zone}` has no profile")))
    }
}

fn known_list(list: &str) -> Result<(&'static str, ListKind, &'static str), ApiError> {
    LISTS
        .iter()
        .find(|(name, _, _)| *name == list)
        .copied()
        .ok_or_else(|| ApiError::not_found("list", format!("`{list}` is not a zone list")))
}

fn holds(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Parties => "parties",
        ListKind::Goods => "goods",
    }
}

/// The `on` parameter (default today), after rejecting other parameters.
fn as_of(api: &Shared, params: &Params) -> Result<NaiveDate, ApiError> {
    let mut errors = FieldErrors::default();
    params.check(&["on"], &mut errors);
    let on = params.date("on", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    Ok(on.unwrap_or_else(|| api.app.now().date_naive()))
}

/// `GET /v1/zones`: every zone profile in force today.
pub(crate) async fn list_zones(State(api): State<Shared>, caller: Caller) -> Result<Response, ApiError> {
    let today = api.app.now().date_naive();
    let book = api.app.reference_book(&caller.principal)?;
    let items = book
        .zones()
        .into_iter()
        .filter_map(|zone| book.profile(zone, today))
        .map(|profile| serde_json::to_value(profile).map_err(|e| ApiError::internal(&e)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "as_of": today.to_string(), "items": items })).into_response())
}

/// `GET /v1/zones/{zone}/lists?on=`: the lists the platform knows, with the number of entries in force.
pub(crate) async fn list_lists(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(zone): PathParams<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let date = as_of(&api, &params)?;
    let book = api.app.reference_book(&caller.principal)?;
    known_zone(&book, &zone)?;
    // Parties can also be on a list through their own registration; those are counted apart, for those
    // who may list the enterprises.
    let parties = api.app.list_parties(&caller.principal).ok();
    let items: Vec<Value> = LISTS
        .iter()
        .map(|(name, kind, description)| {
            json!({
                "list": name,
                "holds": holds(*kind),
                "description": description,
                "entries": book.list_items(&zone, name, date).len(),
                "registered_parties": parties.as_ref().map(|parties| parties.iter().filter(|p| p.lists.iter().any(|l| l == name)).count()),
            })
        })
        .collect();
    Ok(Json(json!({ "zone": zone, "as_of": date.to_string(), "items": items })).into_response())
}

/// `GET /v1/zones/{zone}/lists/{list}?on=`: the entries in force on the date (default today).
pub(crate) async fn list_entries(
    State(api): State<Shared>,
    caller: Caller,
    PathParams((zone, list)): PathParams<(String, String)>,
    params: Params,
) -> Result<Response, ApiError> {
    let date = as_of(&api, &params)?;
    let book = api.app.reference_book(&caller.principal)?;
    known_zone(&book, &zone)?;
    let (name, kind, description) = known_list(&list)?;
    let items = book.list_items(&zone, name, date);
    Ok(Json(json!({
        "zone": zone,
        "list": name,
        "holds": holds(kind),
        "description": description,
        "as_of": date.to_string(),
        "items": items,
    }))
    .into_response())
}

/// `POST /v1/zones/{zone}/lists/{list}` with `{"entries":[{"item","effective_from","active"?,"note"?}],
/// }`: appends the entries, recorded as the caller's, (201 `{"appended": n}`), or 422 listing every problem.
pub(crate) async fn append_entries(
    State(api): State<Shared>,
    caller: Caller,
    PathParams((zone, list)): PathParams<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    api.app.authorize(&caller.principal, Action::ZoneListWrite, &Resource::Platform)?;
    known_zone(&api.app.book(), &zone)?;
    let (name, _, _) = known_list(&list)?;
    let entries = parse_append(&zone, name, &body).map_err(|errors| ApiError::invalid(&errors))?;
    let appended = match api.app.add_list_entries(&caller.principal, entries).await {
        Ok(appended) => appended,
        Err(zonegate_app::AppError::Invalid(errors)) => return Err(ApiError::invalid(&under_entries(errors))),
        Err(error) => return Err(error.into()),
    };
    Ok(created(&format!("/v1/zones/{zone}/lists/{name}"), json!({ "appended": appended })))
}

/// The app names entry fields `[i].item`; in this body they are `entries[i].item`.
fn under_entries(errors: FieldErrors) -> FieldErrors {
    FieldErrors(
        errors
            .0
            .into_iter()
            .map(|error| {
                let field = if error.field.starts_with('[') { format!("entries{}", error.field) } else { error.field };
                FieldError { field, ..error }
            })
            .collect(),
    )
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads the append body, reporting every problem with its JSON path.
fn parse_append(zone: &str, list: &str, body: &Value) -> Result<Vec<ListEntry>, FieldErrors> {
    parse_entries(body, |fields, path, errors| parse_entry(zone, list, fields, path, errors))
}

/// Reads `{"entries": [{…}, …]}` (1 to [`ENTRIES_MAX`] objects, no other member), each entry by `entry`,
/// reporting every problem with its JSON path (`entries[i].field`).
pub(crate) fn parse_entries<T>(
    body: &Value,
    mut entry: impl FnMut(&Map<String, Value>, &str, &mut FieldErrors) -> Option<T>,
) -> Result<Vec<T>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(object) = body.as_object() else {
        errors.add("type", "", format!("the body must be a JSON object, not {}", kind(body)));
        return Err(errors);
    };
    for key in object.keys().filter(|key| *key != "entries") {
        let hint = if key == "author" { ": the author of a change is the caller" } else { "" };
        errors.add("unknown_field", key.as_str(), format!("`{key}` is not a field of an append{hint}"));
    }
    let mut entries = Vec::new();
    match object.get("entries") {
        Some(Value::Array(list)) if list.is_empty() => {
            errors.add("required", "entries", "at least one entry is required")
        }
        Some(Value::Array(list)) if list.len() > ENTRIES_MAX => errors.add(
            "too_many",
            "entries",
            format!("{} entries; one append may carry at most {ENTRIES_MAX}", list.len()),
        ),
        Some(Value::Array(list)) => {
            for (index, value) in list.iter().enumerate() {
                let path = format!("entries[{index}]");
                match value.as_object() {
                    Some(fields) => {
                        if let Some(parsed) = entry(fields, &path, &mut errors) {
                            entries.push(parsed);
                        }
                    }
                    None => errors.add("type", path, format!("an entry must be an object, not {}", kind(value))),
                }
            }
        }
        None | Some(Value::Null) => errors.add("required", "entries", "`entries` is required"),
        Some(other) => errors.add("type", "entries", format!("`entries` must be an array, not {}", kind(other))),
    }
    errors.into_result(entries)
}

fn parse_entry(
    zone: &str,
    list: &str,
    fields: &Map<String, Value>,
    path: &str,
    errors: &mut FieldErrors,
) -> Option<ListEntry> {
    let item = match fields.get("item") {
        Some(Value::String(item)) => Some(item.clone()),
        None | Some(Value::Null) => {
            errors.add("required", format!("{path}.item"), "`item` (a USCC or an HS prefix) is required");
            None
        }
        Some(other) => {
            errors.add("type", format!("{path}.item"), format!("`item` must be a string, not {}", kind(other)));
            None
        }
    };
    let effective_from = match fields.get("effective_from") {
        Some(Value::String(text)) => {
            let date = parse_date(text);
            if date.is_none() {
                errors.add(
                    "date",
                    format!("{path}.effective_from"),
                    format!("`{text}` is not a date; write YYYY-MM-DD"),
                );
            }
            date
        }
        None | Some(Value::Null) => {
            errors.add("required", format!("{path}.effective_from"), "`effective_from` is required");
            None
        }
        Some(other) => {
            errors.add(
                "type",
                format!("{path}.effective_from"),
                format!("`effective_from` must be a date string, not {}", kind(other)),
            );
            None
        }
    };
    let active = match fields.get("active") {
        None | Some(Value::Null) => Some(true),
        Some(Value::Bool(active)) => Some(*active),
        Some(other) => {
            errors.add("type", format!("{path}.active"), format!("`active` must be a boolean, not {}", kind(other)));
            None
        }
    };
    let note = match fields.get("note") {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(note)) if note.chars().count() <= NOTE_LENGTH_MAX => Some(note.clone()),
        Some(Value::String(_)) => {
            errors.add(
                "too_long",
                format!("{path}.note"),
                format!("a note may have at most {NOTE_LENGTH_MAX} characters"),
            );
            None
        }
        Some(other) => {
            errors.add("type", format!("{path}.note"), format!("`note` must be a string, not {}", kind(other)));
            None
        }
    };
    // The item's own checks (USCC or HS prefix, by the list's kind) run here too, so that they are
    // reported together with this body's other problems; the app repeats them before appending.
    let item = item?;
    let probe = ListEntry {
        zone: zone.to_owned(),
        list: list.to_owned(),
        item: item.clone(),
        effective_from: effective_from.unwrap_or_default(),
        active: true,
        note: String::new(),
    };
    let problems = probe.problems();
    for (code, field, message) in &problems {
        errors.add(code, format!("{path}.{field}"), message.clone());
    }
    if !problems.is_empty() {
        return None;
    }
    Some(ListEntry { effective_from: effective_from?, active: active?, note: note?, ..probe })
}
