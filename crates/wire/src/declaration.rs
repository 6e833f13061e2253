//! Parsing the declaration document (interchange.md §1) into typed values.
//!
//! The parser walks the whole document and records every problem with its JSON path before giving up, so
//! a declarant fixes everything in one round trip. Money and quantities must be decimal strings: a JSON
//! number could already have lost precision in the sender's float.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::str::FromStr;
use zonegate_domain::{
    CountryCode, CurrencyCode, Declaration, Document, FieldErrors, Flow, HsCode, Item, Processing, Purpose, Reference,
    UnitCode, Uscc, ValueBasis, ZoneId,
};

/// Most characters of an item description.
pub const DESCRIPTION_LENGTH_MAX: usize = 512;
/// Most attributes or documents per item.
pub const ITEM_ENTRIES_MAX: usize = 32;
/// Largest amount accepted (10^15 CNY is far beyond any consignment and keeps arithmetic in range).
const AMOUNT_MAX: i64 = 1_000_000_000_000_000;

struct Parser {
    errors: FieldErrors,
}

#[derive(Clone, Copy, PartialEq)]
enum Sign {
    NonNegative,
    Positive,
}

impl Parser {
    fn text<'v>(&mut self, object: &'v Map<String, Value>, key: &str, path: &str, required: bool) -> Option<&'v str> {
        match object.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.errors.add("required", path, format!("`{key}` is required"));
                }
                None
            }
            Some(Value::String(text)) => Some(text.as_str()),
            Some(other) => {
                self.errors.add("type", path, format!("`{key}` must be a string, not {}", kind(other)));
                None
            }
        }
    }

    fn decimal(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
        sign: Sign,
    ) -> Option<Decimal> {
        if let Some(Value::Number(number)) = object.get(key) {
            self.errors.add(
                "type",
                path,
                format!("`{key}` must be a decimal string such as \"{number}\", not a JSON number"),
            );
            return None;
        }
        let text = self.text(object, key, path, required)?;
        self.decimal_text(text, path, sign)
    }

    fn decimal_text(&mut self, text: &str, path: &str, sign: Sign) -> Option<Decimal> {
        let well_formed = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
            && text.matches('.').count() <= 1;
        let value = if well_formed { Decimal::from_str(text).ok() } else { None };
        let Some(value) = value else {
            self.errors.add("decimal", path, format!("`{text}` is not a decimal number"));
            return None;
        };
        if value.is_sign_negative() && !value.is_zero() {
            self.errors.add("negative", path, format!("`{text}` is negative; amounts and quantities must not be"));
            return None;
        }
        if sign == Sign::Positive && value.is_zero() {
            self.errors.add("zero", path, format!("`{text}` must be above zero"));
            return None;
        }
        if value > Decimal::from(AMOUNT_MAX) {
            self.errors.add("too_large", path, format!("`{text}` is larger than any amount the platform accepts"));
            return None;
        }
        Some(value)
    }

    fn code<T, E: CodeLike>(
        &mut self,
        text: Option<&str>,
        path: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Option<T> {
        match parse(text?) {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.add(error.code(), path, error.message());
                None
            }
        }
    }

    fn choice<T>(
        &mut self,
        text: Option<&str>,
        path: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: String,
    ) -> Option<T> {
        let text = text?;
        let value = parse(text);
        if value.is_none() {
            self.errors.add("choice", path, format!("`{text}` is not one of {expected}"));
        }
        value
    }
}

trait CodeLike {
    fn code(&self) -> &'static str;
    fn message(&self) -> String;
}

impl CodeLike for zonegate_domain::codes::CodeError {
    fn code(&self) -> &'static str {
        self.code
    }
    fn message(&self) -> String {
        self.message.clone()
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a declaration document. `Err` holds every problem found.
pub fn parse(value: &Value) -> Result<Declaration, FieldErrors> {
    let mut p = Parser { errors: FieldErrors::default() };
    let Some(object) = value.as_object() else {
        p.errors.add("type", "", format!("a declaration must be a JSON object, not {}", kind(value)));
        return Err(p.errors);
    };
    let reference = p.text(object, "reference", "reference", true);
    let reference = p.code(reference, "reference", Reference::parse);
    let zone = p.text(object, "zone", "zone", false).unwrap_or("hengqin").to_owned();
    let flow = p.text(object, "flow", "flow", true);
    let flow = p.choice(flow, "flow", Flow::parse, Flow::expected());
    let declared_on =
        p.text(object, "declared_on", "declared_on", true).and_then(|text| {
            match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(date) if text.len() == 10 => Some(date),
                _ => {
                    p.errors.add("date", "declared_on", format!("`{text}` is not a date; write YYYY-MM-DD"));
                    None
                }
            }
        });
    let declarant = p.text(object, "declarant", "declarant", true);
    let declarant = p.code(declarant, "declarant", Uscc::parse);
    let importer = match p.text(object, "importer", "importer", false) {
        Some(text) => p.code(Some(text), "importer", Uscc::parse),
        None => declarant.clone(),
    };
    let purpose = p.text(object, "purpose", "purpose", true);
    let purpose = p.choice(purpose, "purpose", Purpose::parse, Purpose::expected());
    let currency = p.text(object, "currency", "currency", true);
    let currency = p.code(currency, "currency", CurrencyCode::parse);
    let exchange_rate = match object.get("exchange_rate") {
        None | Some(Value::Null) => None,
        Some(_) => p.decimal(object, "exchange_rate", "exchange_rate", false, Sign::Positive),
    };
    let value_basis = p.text(object, "value_basis", "value_basis", false).unwrap_or("CIF").to_owned();
    let value_basis = p.choice(Some(&value_basis), "value_basis", ValueBasis::parse, ValueBasis::expected());
    let freight = p.decimal(object, "freight", "freight", false, Sign::NonNegative).unwrap_or_default();
    let insurance = p.decimal(object, "insurance", "insurance", false, Sign::NonNegative).unwrap_or_default();
    let items = match object.get("items") {
        Some(Value::Array(items)) if items.is_empty() => {
            p.errors.add("required", "items", "a declaration needs at least one item");
            Vec::new()
        }
        Some(Value::Array(items)) if items.len() > Declaration::MAX_ITEMS => {
            p.errors.add(
                "too_many",
                "items",
                format!("{} items; a declaration may carry at most {}", items.len(), Declaration::MAX_ITEMS),
            );
            Vec::new()
        }
        Some(Value::Array(items)) => {
            items.iter().enumerate().filter_map(|(index, item)| parse_item(&mut p, index, item)).collect()
        }
        Some(other) => {
            p.errors.add("type", "items", format!("`items` must be an array, not {}", kind(other)));
            Vec::new()
        }
        None => {
            p.errors.add("required", "items", "`items` is required");
            Vec::new()
        }
    };
    if !p.errors.is_empty() {
        return Err(p.errors);
    }
    match (reference, flow, declared_on, declarant, importer, purpose, currency, value_basis) {
        (
            Some(reference),
            Some(flow),
            Some(declared_on),
            Some(declarant),
            Some(importer),
            Some(purpose),
            Some(currency),
            Some(value_basis),
        ) => Ok(Declaration {
            reference,
            zone: ZoneId(zone),
            flow,
            declared_on,
            declarant,
            importer,
            purpose,
            currency,
            exchange_rate,
            value_basis,
            freight,
            insurance,
            items,
        }),
        _ => {
            p.errors.add("internal", "", "the document could not be parsed");
            Err(p.errors)
        }
    }
}

fn parse_item(p: &mut Parser, index: usize, value: &Value) -> Option<Item> {
    let path = |key: &str| format!("items[{index}].{key}");
    let Some(object) = value.as_object() else {
        p.errors.add("type", format!("items[{index}]"), format!("an item must be an object, not {}", kind(value)));
        return None;
    };
    let hs = p.text(object, "hs", &path("hs"), true);
    let hs = p.code(hs, &path("hs"), HsCode::parse);
    let description = p.text(object, "description", &path("description"), false).unwrap_or("").to_owned();
    if description.chars().count() > DESCRIPTION_LENGTH_MAX {
        p.errors.add(
            "too_long",
            path("description"),
            format!("a description may have at most {DESCRIPTION_LENGTH_MAX} characters"),
        );
    }
    let quantity = p.decimal(object, "quantity", &path("quantity"), true, Sign::Positive);
    let unit = p.text(object, "unit", &path("unit"), true);
    let unit = p.code(unit, &path("unit"), UnitCode::parse);
    let item_value = p.decimal(object, "value", &path("value"), true, Sign::NonNegative);
    let origin = match p.text(object, "origin", &path("origin"), false) {
        Some(text) => p.code(Some(text), &path("origin"), CountryCode::parse).map(Some),
        None => Some(None),
    };
    let mut attributes = BTreeMap::new();
    match object.get("attributes") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) if map.len() > ITEM_ENTRIES_MAX => {
            p.errors.add("too_many", path("attributes"), format!("at most {ITEM_ENTRIES_MAX} attributes"));
        }
        Some(Value::Object(map)) => {
            for key in map.keys() {
                let field = format!("{}.{key}", path("attributes"));
                if let Some(value) = p.decimal(map, key, &field, true, Sign::NonNegative) {
                    attributes.insert(key.clone(), value);
                }
            }
        }
        Some(other) => {
            p.errors.add("type", path("attributes"), format!("`attributes` must be an object, not {}", kind(other)))
        }
    }
    let processing = match object.get("processing") {
        None | Some(Value::Null) => Some(None),
        Some(Value::Object(map)) => {
            let field = |key: &str| format!("{}.{key}", path("processing"));
            let imported =
                p.decimal(map, "imported_materials_cny", &field("imported_materials_cny"), true, Sign::NonNegative);
            let domestic =
                p.decimal(map, "domestic_materials_cny", &field("domestic_materials_cny"), true, Sign::NonNegative);
            let sale = p.decimal(map, "sale_price_cny", &field("sale_price_cny"), true, Sign::NonNegative);
            match (imported, domestic, sale) {
                (Some(imported_materials_cny), Some(domestic_materials_cny), Some(sale_price_cny)) => {
                    Some(Some(Processing { imported_materials_cny, domestic_materials_cny, sale_price_cny }))
                }
                _ => None,
            }
        }
        Some(other) => {
            p.errors.add("type", path("processing"), format!("`processing` must be an object, not {}", kind(other)));
            None
        }
    };
    let mut documents = Vec::new();
    match object.get("documents") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) if list.len() > ITEM_ENTRIES_MAX => {
            p.errors.add("too_many", path("documents"), format!("at most {ITEM_ENTRIES_MAX} documents"))
        }
        Some(Value::Array(list)) => {
            for (position, document) in list.iter().enumerate() {
                let field = format!("{}[{position}]", path("documents"));
                match document.as_object() {
                    Some(map) => {
                        let kind_text = p.text(map, "type", &format!("{field}.type"), true).map(str::to_owned);
                        let id = p.text(map, "id", &format!("{field}.id"), true).map(str::to_owned);
                        if let (Some(kind), Some(id)) = (kind_text, id) {
                            documents.push(Document { kind, id });
                        }
                    }
                    None => {
                        p.errors.add("type", field, format!("a document must be an object, not {}", kind(document)))
                    }
                }
            }
        }
        Some(other) => {
            p.errors.add("type", path("documents"), format!("`documents` must be an array, not {}", kind(other)))
        }
    }
    Some(Item {
        hs: hs?,
        description,
        quantity: quantity?,
        unit: unit?,
        value: item_value?,
        origin: origin?,
        attributes,
        processing: processing?,
        documents,
    })
}

/// The tariff lines named in a document whose `hs` parses, with their item index: used to report unknown
/// lines together with other problems of a document that failed to parse.
pub fn hs_codes(value: &Value) -> Vec<(usize, HsCode)> {
    let Some(items) = value.get("items").and_then(Value::as_array) else { return Vec::new() };
    items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| {
            item.get("hs").and_then(Value::as_str).and_then(|hs| HsCode::parse(hs).ok()).map(|hs| (index, hs))
        })
        .collect()
}
