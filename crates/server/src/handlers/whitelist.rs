//! `/v1/zones/{zone}/whitelist`: the whitelist registry of measures 4 and 5 (enterprise × product pairs
//! exempt from the import licence, `macao_brand`, or from the herb import approval, `tcm_material`).
//!
//! Entries are versioned data like zone lists: an edit is a new row under the same enterprise, category and
//! product with a later `valid_from`; `active: false` withdraws the pair from that date on.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde_json::{json, Map, Value};
use zonegate_app::auth::{Action, Resource};
use zonegate_domain::FieldErrors;
use zonegate_policy::{PolicyBook, WhitelistEntry};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_date, JsonBody, Params, PathParams};
use crate::handlers::created;
use crate::handlers::zones::{self, kind};
use crate::Shared;

/// Longest note.
const NOTE_LENGTH_MAX: usize = 500;
/// The fields of one entry in a body (the zone is the path's).
const ENTRY_FIELDS: &[&str] = &["enterprise", "product", "category", "valid_from", "valid_to", "active", "note"];

fn known_zone(book: &PolicyBook, zone: &str) -> Result<(), ApiError> {
    if book.zones().contains(&zone) {
        Ok(())
    } else {
        Err(ApiError::not_found("zone", format!("zone `{zone}` has no profile")))
    }
}

/// `GET /v1/zones/{zone}/whitelist?on=`: the entries valid on the date (default today).
pub(crate) async fn list(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(zone): PathParams<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    params.check(&["on"], &mut errors);
    let on = params.date("on", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let date = on.unwrap_or_else(|| api.app.now().date_naive());
    let book = api.app.reference_book(&caller.principal)?;
    known_zone(&book, &zone)?;
    let items = api.app.list_whitelist(&caller.principal, &zone, date)?;
    Ok(Json(json!({ "zone": zone, "as_of": date.to_string(), "items": items })).into_response())
}

/// `POST /v1/zones/{zone}/whitelist` with `{"entries":[{"enterprise","product","category","valid_from",
/// "valid_to"?,"active"?,"note"?}]}`: appends the entries, recorded as the caller's (201 `{"appended": n}`),
/// or 422 listing every problem.
pub(crate) async fn append(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(zone): PathParams<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    api.app.authorize(&caller.principal, Action::ZoneListWrite, &Resource::Platform)?;
    known_zone(&api.app.book(), &zone)?;
    let entries = parse_append(&zone, &body).map_err(|errors| ApiError::invalid(&errors))?;
    // The app names fields `entries[i].field`, as this body does.
    let appended = match api.app.add_whitelist_entries(&caller.principal, entries).await {
        Ok(appended) => appended,
        Err(zonegate_app::AppError::Invalid(errors)) => return Err(ApiError::invalid(&errors)),
        Err(error) => return Err(error.into()),
    };
    Ok(created(&format!("/v1/zones/{zone}/whitelist"), json!({ "appended": appended })))
}

/// Reads the append body, reporting every problem with its JSON path.
fn parse_append(zone: &str, body: &Value) -> Result<Vec<WhitelistEntry>, FieldErrors> {
    zones::parse_entries(body, |fields, path, errors| parse_entry(zone, fields, path, errors))
}

fn text(fields: &Map<String, Value>, name: &str, path: &str, errors: &mut FieldErrors) -> Option<String> {
    match fields.get(name) {
        Some(Value::String(text)) => Some(text.clone()),
        None | Some(Value::Null) => {
            errors.add("required", format!("{path}.{name}"), format!("`{name}` is required"));
            None
        }
        Some(other) => {
            errors.add("type", format!("{path}.{name}"), format!("`{name}` must be a string, not {}", kind(other)));
            None
        }
    }
}

/// A date field: `Some(None)` when absent and optional.
fn date(
    fields: &Map<String, Value>,
    name: &str,
    required: bool,
    path: &str,
    errors: &mut FieldErrors,
) -> Option<Option<NaiveDate>> {
    match fields.get(name) {
        Some(Value::String(text)) => match parse_date(text) {
            Some(date) => Some(Some(date)),
            None => {
                errors.add("date", format!("{path}.{name}"), format!("`{text}` is not a date; write YYYY-MM-DD"));
                None
            }
        },
        None | Some(Value::Null) if !required => Some(None),
        None | Some(Value::Null) => {
            errors.add("required", format!("{path}.{name}"), format!("`{name}` is required"));
            None
        }
        Some(other) => {
            errors.add(
                "type",
                format!("{path}.{name}"),
                format!("`{name}` must be a date string, not {}", kind(other)),
            );
            None
        }
    }
}

fn parse_entry(
    zone: &str,
    fields: &Map<String, Value>,
    path: &str,
    errors: &mut FieldErrors,
) -> Option<WhitelistEntry> {
    for key in fields.keys().filter(|key| !ENTRY_FIELDS.contains(&key.as_str())) {
        let hint = if key == "zone" { ": the zone is the path's" } else { "" };
        errors.add("unknown_field", format!("{path}.{key}"), format!("`{key}` is not a field of an entry{hint}"));
    }
    let enterprise = text(fields, "enterprise", path, errors);
    let product = text(fields, "product", path, errors);
    let category = text(fields, "category", path, errors);
    let valid_from = date(fields, "valid_from", true, path, errors).flatten();
    let valid_to = date(fields, "valid_to", false, path, errors);
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
    // The entry's own checks run here too, so that they are reported with this body's other problems; the
    // app repeats them before appending.
    let probe = WhitelistEntry {
        zone: zone.to_owned(),
        enterprise: enterprise.clone().unwrap_or_default(),
        product: product.clone().unwrap_or_default(),
        category: category.clone().unwrap_or_default(),
        valid_from: valid_from.unwrap_or_default(),
        valid_to: valid_to.flatten(),
        active: true,
        note: String::new(),
    };
    let mut bad = false;
    for (code, field, message) in probe.problems() {
        let given = match field {
            "enterprise" => enterprise.is_some(),
            "product" => product.is_some(),
            "category" => category.is_some(),
            "valid_to" => valid_from.is_some(),
            _ => true,
        };
        if given {
            errors.add(code, format!("{path}.{field}"), message);
            bad = true;
        }
    }
    if bad {
        return None;
    }
    Some(WhitelistEntry {
        enterprise: enterprise?,
        product: product?,
        category: category?,
        valid_from: valid_from?,
        valid_to: valid_to?,
        active: active?,
        note: note?,
        ..probe
    })
}
