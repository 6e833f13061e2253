//! The three documents of an e-commerce order, typed, and their parsing from JSON.
//!
//! Every document names its order by `(platform, order_no)`: the [`OrderKey`]. Amounts are CNY decimals
//! carried as JSON strings (a JSON number for an amount is refused, as for declarations). Parsing checks each
//! document on its own (formats, check digits, sums); the checks across documents are in
//! [`crate::checks`].

use std::str::FromStr;

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::json::{Json, Object};
use sha2::{Digest, Sha256};
use zonegate_domain::codes::CodeError;
use zonegate_domain::{round_fen, CountryCode, FieldError, FieldErrors, HsCode, UnitCode, Uscc};

use crate::gtin::Gtin;
use crate::identity::ResidentId;

/// The key of an order on the platform: the platform's USCC and its order number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderKey {
    pub platform: Uscc,
    pub order_no: String,
}

impl std::fmt::Display for OrderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.platform, self.order_no)
    }
}

impl OrderKey {
    /// `platform/order_no`, as [`Display`](std::fmt::Display) writes it, in one allocation of the right size.
    pub fn text(&self) -> String {
        slash_joined(self.platform.as_str(), &self.order_no)
    }
}

/// `{company}/{number}`: the text of a key, allocated once (`format!` grows its buffer several times).
fn slash_joined(company: &str, number: &str) -> String {
    let mut text = String::with_capacity(company.len() + 1 + number.len());
    text.push_str(company);
    text.push('/');
    text.push_str(number);
    text
}

/// Which of the three documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKind {
    Order,
    Payment,
    Waybill,
}

impl DocKind {
    pub const ALL: [DocKind; 3] = [DocKind::Order, DocKind::Payment, DocKind::Waybill];
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Order => "order",
            DocKind::Payment => "payment",
            DocKind::Waybill => "waybill",
        }
    }
    pub fn parse(text: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// A person named on a document: the buyer (订购人) or the payer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The name as on the identity document, trimmed, 1..=50 characters.
    pub name: String,
    pub id: ResidentId,
    pub phone: Option<String>,
}

/// Where the goods go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consignee {
    pub name: String,
    pub address: String,
    pub phone: String,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    /// 1-based, as the platform numbered it (unique within the order, ascending).
    pub line: u32,
    /// The enterprise's product number (its bonded ledger's item number, 料号, when it keeps one).
    pub item_no: String,
    pub gtin: Gtin,
    pub hs: HsCode,
    pub name: String,
    pub origin: CountryCode,
    pub quantity: Decimal,
    pub unit: UnitCode,
    /// Net weight of the line in kilograms, when the unit is not KGM (used by per-person caps).
    pub net_kg: Option<Decimal>,
    /// Unit price and line total, CNY; `total = price × quantity` to the fen.
    pub price: Decimal,
    pub total: Decimal,
    /// The line is one item that cannot be split (domain-rules.md §3, the single-item exception).
    pub indivisible: bool,
}

/// The order, sent by the e-commerce platform (电子订单).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub key: OrderKey,
    /// The e-commerce enterprise selling the goods (电商企业): the owner of the bonded stock.
    pub enterprise: Uscc,
    /// The zone whose bonded stock the goods leave.
    pub zone: String,
    pub ordered_at: DateTime<FixedOffset>,
    pub buyer: Person,
    pub consignee: Consignee,
    /// Payment company and its transaction id, as the platform knows them.
    pub payment_company: Uscc,
    pub transaction_id: String,
    /// Sum of the item totals.
    pub goods_value: Decimal,
    pub freight: Decimal,
    pub insurance: Decimal,
    pub discount: Decimal,
    /// The tax the platform withheld from the buyer.
    pub tax_withheld: Decimal,
    /// What the buyer paid.
    pub paid: Decimal,
    pub items: Vec<OrderItem>,
}

impl Order {
    /// The actual transaction price (goods, freight, insurance, less discount): the taxable value and the
    /// amount counted against the limits (财关税〔2018〕49号).
    pub fn transaction_value(&self) -> Decimal {
        self.goods_value + self.freight + self.insurance - self.discount
    }

    /// One indivisible item alone: over the single limit it is still e-commerce, at the full goods rate.
    pub fn is_one_indivisible_item(&self) -> bool {
        matches!(self.items.as_slice(), [item] if item.indivisible)
    }
}

/// The payment, sent by the payment company (支付单).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub payment_company: Uscc,
    pub transaction_id: String,
    pub order: OrderKey,
    pub payer: Person,
    pub amount: Decimal,
    pub paid_at: DateTime<FixedOffset>,
}

/// The waybill, sent by the logistics company (运单).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waybill {
    pub logistics_company: Uscc,
    pub waybill_no: String,
    pub order: OrderKey,
    pub consignee: Consignee,
    pub freight: Decimal,
    pub insurance: Decimal,
    pub weight_kg: Decimal,
    pub packages: u32,
}

/// One parsed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Order(Order),
    Payment(Payment),
    Waybill(Waybill),
}

impl Document {
    pub fn kind(&self) -> DocKind {
        match self {
            Document::Order(_) => DocKind::Order,
            Document::Payment(_) => DocKind::Payment,
            Document::Waybill(_) => DocKind::Waybill,
        }
    }
    /// The order the document belongs to.
    pub fn order_key(&self) -> &OrderKey {
        match self {
            Document::Order(order) => &order.key,
            Document::Payment(payment) => &payment.order,
            Document::Waybill(waybill) => &waybill.order,
        }
    }
    /// The document's own identity, unique per kind: `platform/order_no` for an order,
    /// `payment_company/transaction_id` for a payment, `logistics_company/waybill_no` for a waybill.
    pub fn key(&self) -> String {
        match self {
            Document::Order(order) => order.key.text(),
            Document::Payment(payment) => slash_joined(payment.payment_company.as_str(), &payment.transaction_id),
            Document::Waybill(waybill) => slash_joined(waybill.logistics_company.as_str(), &waybill.waybill_no),
        }
    }
    /// The company that sent it (whose declarants may submit it).
    pub fn sender(&self) -> &Uscc {
        match self {
            Document::Order(order) => &order.key.platform,
            Document::Payment(payment) => &payment.payment_company,
            Document::Waybill(waybill) => &waybill.logistics_company,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Parsing from JSON.
// ---------------------------------------------------------------------------------------------------------

/// Most problems reported for one document; past it a final `too_many_problems` error is added.
pub const PROBLEMS_MAX: usize = 100;
/// Most entries in one batch.
pub const BATCH_MAX: usize = 20_000;
/// Most lines in one order.
pub const ITEMS_MAX: usize = 100;
/// Amounts and quantities must be below this (10^9).
const AMOUNT_LIMIT: i64 = 1_000_000_000;

const ORDER_FIELDS: &[&str] = &[
    "platform",
    "order_no",
    "enterprise",
    "zone",
    "ordered_at",
    "buyer",
    "consignee",
    "payment_company",
    "transaction_id",
    "goods_value",
    "freight",
    "insurance",
    "discount",
    "tax_withheld",
    "paid",
    "items",
];
const ITEM_FIELDS: &[&str] =
    &["line", "item_no", "gtin", "hs", "name", "origin", "quantity", "unit", "net_kg", "price", "total", "indivisible"];
const PERSON_FIELDS: &[&str] = &["name", "id_type", "id_number", "phone"];
const CONSIGNEE_FIELDS: &[&str] = &["name", "address", "phone"];
const PAYMENT_FIELDS: &[&str] =
    &["payment_company", "transaction_id", "platform", "order_no", "payer", "amount", "paid_at"];
const WAYBILL_FIELDS: &[&str] = &[
    "logistics_company",
    "waybill_no",
    "platform",
    "order_no",
    "consignee",
    "freight",
    "insurance",
    "weight_kg",
    "packages",
];

/// What a decimal field holds: money (2 decimals, JSON numbers refused as `amount_not_string`) or a
/// quantity or weight (6 decimals, `number_not_string`).
#[derive(Clone, Copy, PartialEq)]
enum Measure {
    Money,
    Quantity,
}

#[derive(Clone, Copy, PartialEq)]
enum Sign {
    NonNegative,
    Positive,
}

/// What a JSON value is, for messages (`must be a string, not a number`).
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `prefix.key`, or `key` at the top.
fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

struct Parser {
    errors: FieldErrors,
}

impl Parser {
    fn new() -> Self {
        Parser { errors: FieldErrors::default() }
    }

    fn add(&mut self, code: &'static str, field: impl Into<String>, message: impl Into<String>) {
        self.errors.add(code, field, message);
    }

    /// `value` as an object, or a `type` error naming it as `what` says (a closure: the name is only
    /// written for the error).
    fn object<'v>(&mut self, value: &'v Json<'v>, path: &str, what: impl FnOnce() -> String) -> Option<&'v Object<'v>> {
        match value {
            Json::Object(map) => Some(map),
            other => {
                self.add("type", path, format!("{} must be a JSON object, not {}", what(), other.kind()));
                None
            }
        }
    }

    /// Flags every key of `object` not in `known`.
    fn unknown_fields(&mut self, object: &Object, known: &[&str], prefix: &str, what: &str) {
        let mut unknown: Vec<&str> = object.keys().filter(|key| !known.contains(key)).collect();
        unknown.sort_unstable();
        unknown.dedup();
        for key in unknown {
            self.add("unknown_field", join(prefix, key), format!("`{key}` is not a field of {what}"));
        }
    }

    /// The value under `key`, or a `required` error (null counts as missing).
    fn field<'v>(&mut self, object: &'v Object<'v>, key: &str, prefix: &str) -> Option<&'v Json<'v>> {
        match object.get(key) {
            None | Some(Json::Null) => {
                self.add("required", join(prefix, key), format!("`{key}` is required"));
                None
            }
            Some(value) => Some(value),
        }
    }

    fn optional<'v>(object: &'v Object<'v>, key: &str) -> Option<&'v Json<'v>> {
        match object.get(key) {
            None | Some(Json::Null) => None,
            Some(value) => Some(value),
        }
    }

    /// The string `prefix.key` holds (the path is written only for an error: most documents have none).
    fn string_value<'v>(&mut self, value: &'v Json<'v>, key: &str, prefix: &str) -> Option<&'v str> {
        match value {
            Json::String(text) => Some(text),
            other => {
                self.add("type", join(prefix, key), format!("`{key}` must be a string, not {}", other.kind()));
                None
            }
        }
    }

    fn text<'v>(&mut self, object: &'v Object<'v>, key: &str, prefix: &str) -> Option<&'v str> {
        let value = self.field(object, key, prefix)?;
        self.string_value(value, key, prefix)
    }

    /// A trimmed free text of `min..=max` characters.
    fn free_text(&mut self, object: &Object, key: &str, prefix: &str, max: usize) -> Option<String> {
        let text = self.text(object, key, prefix)?.trim();
        let count = text.chars().count();
        if count == 0 {
            self.add("required", join(prefix, key), format!("`{key}` must not be blank"));
            return None;
        }
        if count > max {
            self.add(
                "too_long",
                join(prefix, key),
                format!("`{key}` has {count} characters; at most {max} are allowed"),
            );
            return None;
        }
        if text.chars().any(char::is_control) {
            self.add("control_character", join(prefix, key), format!("`{key}` contains a control character"));
            return None;
        }
        Some(text.to_owned())
    }

    /// A document number: 1..=50 characters of `[A-Za-z0-9_.-]`.
    fn number(&mut self, object: &Object, key: &str, prefix: &str) -> Option<String> {
        let text = self.text(object, key, prefix)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        if text.is_empty() || text.len() > 50 || !text.chars().all(allowed) {
            self.add(
                "number_format",
                join(prefix, key),
                format!("`{text}` is not a valid `{key}`; use 1 to 50 characters of A-Z, a-z, 0-9, `_`, `.`, `-`"),
            );
            return None;
        }
        Some(text.to_owned())
    }

    /// A phone number at `prefix.key` (the path is only joined for the error).
    fn phone_text(&mut self, text: &str, prefix: &str, key: &str) -> Option<String> {
        let text = text.trim();
        let count = text.chars().count();
        let allowed = |c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ');
        if !(5..=20).contains(&count) || !text.chars().all(allowed) || !text.chars().any(|c| c.is_ascii_digit()) {
            self.add(
                "phone_format",
                join(prefix, key),
                format!("`{text}` is not a phone number; use 5 to 20 characters of digits, `+`, `-` and spaces"),
            );
            return None;
        }
        Some(text.to_owned())
    }

    fn phone(&mut self, object: &Object, key: &str, prefix: &str) -> Option<String> {
        let text = self.text(object, key, prefix)?;
        self.phone_text(text, prefix, key)
    }

    fn zone(&mut self, object: &Object, key: &str, prefix: &str) -> Option<String> {
        let text = self.text(object, key, prefix)?;
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
        if text.is_empty() || text.len() > 16 || !text.chars().all(allowed) {
            self.add(
                "zone_format",
                join(prefix, key),
                format!("`{text}` is not a zone; use 1 to 16 characters of a-z, 0-9, `_` (e.g. `hengqin`)"),
            );
            return None;
        }
        Some(text.to_owned())
    }

    fn timestamp(&mut self, object: &Object, key: &str, prefix: &str) -> Option<DateTime<FixedOffset>> {
        let text = self.text(object, key, prefix)?;
        match DateTime::parse_from_rfc3339(text) {
            Ok(time) => Some(time),
            Err(_) => {
                self.add(
                    "timestamp",
                    join(prefix, key),
                    format!("`{text}` is not an RFC 3339 time with an offset, such as `2026-11-28T10:15:00+08:00`"),
                );
                None
            }
        }
    }

    fn code<T, E>(
        &mut self,
        object: &Object,
        key: &str,
        prefix: &str,
        parse: impl Fn(&str) -> Result<T, E>,
        error: impl Fn(E) -> (&'static str, String),
    ) -> Option<T> {
        let text = self.text(object, key, prefix)?;
        match parse(text) {
            Ok(value) => Some(value),
            Err(problem) => {
                let (code, message) = error(problem);
                self.add(code, join(prefix, key), message);
                None
            }
        }
    }

    fn domain_code<T>(
        &mut self,
        object: &Object,
        key: &str,
        prefix: &str,
        parse: impl Fn(&str) -> Result<T, CodeError>,
    ) -> Option<T> {
        self.code(object, key, prefix, parse, |error| (error.code, error.message))
    }

    fn decimal(&mut self, object: &Object, key: &str, prefix: &str, measure: Measure, sign: Sign) -> Option<Decimal> {
        let value = self.field(object, key, prefix)?;
        self.decimal_value(value, key, prefix, measure, sign)
    }

    fn decimal_value(
        &mut self,
        value: &Json,
        key: &str,
        prefix: &str,
        measure: Measure,
        sign: Sign,
    ) -> Option<Decimal> {
        let path = || join(prefix, key);
        let (places, not_string) = match measure {
            Measure::Money => (2, "amount_not_string"),
            Measure::Quantity => (6, "number_not_string"),
        };
        if let Json::Number(number) = value {
            self.add(
                not_string,
                path(),
                format!("`{key}` must be a decimal string such as \"{number}\", not a JSON number"),
            );
            return None;
        }
        let text = self.string_value(value, key, prefix)?;
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let well_formed = !whole.is_empty()
            && whole.len() <= 28
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.len() <= 28
            && fraction.bytes().all(|b| b.is_ascii_digit())
            && (fraction.is_empty() != digits.contains('.'));
        let parsed = if well_formed { Decimal::from_str(text).ok() } else { None };
        let Some(parsed) = parsed else {
            self.add("decimal", path(), format!("`{text}` is not a decimal number such as `12.50`"));
            return None;
        };
        if parsed.is_sign_negative() && !parsed.is_zero() {
            self.add("negative", path(), format!("`{text}` is negative; `{key}` must not be"));
            return None;
        }
        if sign == Sign::Positive && parsed.is_zero() {
            self.add("zero", path(), format!("`{text}` must be above zero"));
            return None;
        }
        if parsed.normalize().scale() > places {
            self.add("scale", path(), format!("`{text}` has more than {places} decimal places"));
            return None;
        }
        if parsed >= Decimal::from(AMOUNT_LIMIT) {
            self.add("too_large", path(), format!("`{text}` is too large; it must be below 1000000000"));
            return None;
        }
        Some(parsed.abs())
    }

    fn integer(
        &mut self,
        object: &Object,
        key: &str,
        prefix: &str,
        range: std::ops::RangeInclusive<u32>,
    ) -> Option<u32> {
        let value = self.field(object, key, prefix)?;
        let path = || join(prefix, key);
        let Json::Number(number) = value else {
            self.add("type", path(), format!("`{key}` must be an integer, not {}", value.kind()));
            return None;
        };
        let Some(integer) = number.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| range.contains(n)) else {
            self.add(
                "range",
                path(),
                format!("`{number}` is not an integer from {} to {}", range.start(), range.end()),
            );
            return None;
        };
        Some(integer)
    }

    fn person(&mut self, object: &Object, key: &str, phone_required: bool) -> Option<Person> {
        let value = self.field(object, key, "")?;
        let map = self.object(value, key, || format!("`{key}`"))?;
        self.unknown_fields(map, PERSON_FIELDS, key, "a person");
        let name = self.free_text(map, "name", key, 50);
        let id_type = self.text(map, "id_type", key);
        let id_type_ok = match id_type {
            Some("resident_id") => true,
            Some(other) => {
                self.add(
                    "id_type_unsupported",
                    join(key, "id_type"),
                    format!("`{other}` is not a supported identity document; only `resident_id` is"),
                );
                false
            }
            None => false,
        };
        let id = self.code(map, "id_number", key, ResidentId::parse, |error| (error.code(), error.to_string()));
        let phone = if phone_required {
            self.phone(map, "phone", key).map(Some)
        } else {
            match Self::optional(map, "phone") {
                None => Some(None),
                Some(value) => {
                    let text = self.string_value(value, "phone", key)?;
                    self.phone_text(text, key, "phone").map(Some)
                }
            }
        };
        if !id_type_ok {
            return None;
        }
        Some(Person { name: name?, id: id?, phone: phone? })
    }

    fn consignee(&mut self, object: &Object, key: &str) -> Option<Consignee> {
        let value = self.field(object, key, "")?;
        let map = self.object(value, key, || format!("`{key}`"))?;
        self.unknown_fields(map, CONSIGNEE_FIELDS, key, "a consignee");
        let name = self.free_text(map, "name", key, 50);
        let address = self.free_text(map, "address", key, 200);
        let phone = self.phone(map, "phone", key);
        Some(Consignee { name: name?, address: address?, phone: phone? })
    }

    fn order_key(&mut self, object: &Object) -> Option<OrderKey> {
        let platform = self.domain_code(object, "platform", "", Uscc::parse);
        let order_no = self.number(object, "order_no", "");
        Some(OrderKey { platform: platform?, order_no: order_no? })
    }

    fn item(&mut self, index: usize, value: &Json) -> Option<OrderItem> {
        let prefix = format!("items[{index}]");
        let map = self.object(value, &prefix, || "an item".to_owned())?;
        self.unknown_fields(map, ITEM_FIELDS, &prefix, "an item");
        let line = self.integer(map, "line", &prefix, 1..=u32::MAX);
        let item_no = self.free_text(map, "item_no", &prefix, 50);
        let gtin = self.code(map, "gtin", &prefix, Gtin::parse, |error| (error.code(), error.to_string()));
        let hs = self.domain_code(map, "hs", &prefix, HsCode::parse);
        let name = self.free_text(map, "name", &prefix, 250);
        let origin = self.domain_code(map, "origin", &prefix, CountryCode::parse);
        let quantity = self.decimal(map, "quantity", &prefix, Measure::Quantity, Sign::Positive);
        let unit = self.domain_code(map, "unit", &prefix, UnitCode::parse);
        let net_kg = match Self::optional(map, "net_kg") {
            None => Some(None),
            Some(value) => self.decimal_value(value, "net_kg", &prefix, Measure::Quantity, Sign::Positive).map(Some),
        };
        let price = self.decimal(map, "price", &prefix, Measure::Money, Sign::NonNegative);
        let total = self.decimal(map, "total", &prefix, Measure::Money, Sign::NonNegative);
        let indivisible = match Self::optional(map, "indivisible") {
            None => Some(false),
            Some(Json::Bool(flag)) => Some(*flag),
            Some(other) => {
                self.add(
                    "type",
                    join(&prefix, "indivisible"),
                    format!("`indivisible` must be a boolean, not {}", other.kind()),
                );
                None
            }
        };
        if let (Some(price), Some(quantity), Some(total)) = (price, quantity, total) {
            let expected = round_fen(price * quantity);
            if expected != total {
                self.add(
                    "total_mismatch",
                    join(&prefix, "total"),
                    format!("`{total}` is not price × quantity (`{price}` × `{quantity}` = `{expected}`)"),
                );
            }
        }
        Some(OrderItem {
            line: line?,
            item_no: item_no?,
            gtin: gtin?,
            hs: hs?,
            name: name?,
            origin: origin?,
            quantity: quantity?,
            unit: unit?,
            net_kg: net_kg?,
            price: price?,
            total: total?,
            indivisible: indivisible?,
        })
    }

    /// The items of an order, with their line numbering checked; `None` when any item failed.
    fn items(&mut self, object: &Object) -> Option<Vec<OrderItem>> {
        let value = self.field(object, "items", "")?;
        let Json::Array(list) = value else {
            self.add("type", "items", format!("`items` must be an array, not {}", value.kind()));
            return None;
        };
        if list.is_empty() {
            self.add("required", "items", "an order needs at least one item");
            return None;
        }
        if list.len() > ITEMS_MAX {
            self.add("too_many", "items", format!("{} items; an order may have at most {ITEMS_MAX}", list.len()));
            return None;
        }
        let parsed: Vec<Option<OrderItem>> =
            list.iter().enumerate().map(|(index, item)| self.item(index, item)).collect();
        // Line numbers, from the JSON so that they are checked even when another field of the item failed.
        let mut previous: Option<u64> = None;
        let mut seen = std::collections::BTreeSet::new();
        for (index, item) in list.iter().enumerate() {
            let Some(line) = item.get("line").and_then(Json::as_u64).filter(|&line| line >= 1) else { continue };
            if !seen.insert(line) {
                self.add(
                    "line_duplicate",
                    format!("items[{index}].line"),
                    format!("line `{line}` appears more than once"),
                );
            } else if previous.is_some_and(|previous| line < previous) {
                self.add(
                    "line_order",
                    format!("items[{index}].line"),
                    format!("line `{line}` comes after a higher line; number lines in ascending order from 1"),
                );
            }
            previous = Some(previous.map_or(line, |previous| previous.max(line)));
        }
        parsed.into_iter().collect()
    }

    /// The errors, capped at [`PROBLEMS_MAX`], or `value`.
    fn finish<T>(mut self, value: Option<T>) -> Result<T, FieldErrors> {
        if self.errors.len() > PROBLEMS_MAX {
            let more = self.errors.len() - PROBLEMS_MAX;
            self.errors.0.truncate(PROBLEMS_MAX);
            self.add(
                "too_many_problems",
                "",
                format!("{more} more problems were found; fix these and send the document again"),
            );
        }
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => {
                if self.errors.is_empty() {
                    self.add("internal", "", "the document could not be parsed");
                }
                Err(self.errors)
            }
        }
    }
}

/// Parses an order (电子订单). `Err` holds every problem found (at most [`PROBLEMS_MAX`] and a last
/// `too_many_problems`).
pub fn parse_order(value: &Value) -> Result<Order, FieldErrors> {
    order_from(&Json::from(value))
}

fn order_from(value: &Json) -> Result<Order, FieldErrors> {
    let mut p = Parser::new();
    let Some(object) = p.object(value, "", || "an order".to_owned()) else { return p.finish(None) };
    p.unknown_fields(object, ORDER_FIELDS, "", "an order");
    let key = p.order_key(object);
    let enterprise = p.domain_code(object, "enterprise", "", Uscc::parse);
    let zone = p.zone(object, "zone", "");
    let ordered_at = p.timestamp(object, "ordered_at", "");
    let buyer = p.person(object, "buyer", true);
    let consignee = p.consignee(object, "consignee");
    let payment_company = p.domain_code(object, "payment_company", "", Uscc::parse);
    let transaction_id = p.number(object, "transaction_id", "");
    let money = |p: &mut Parser, key: &str| p.decimal(object, key, "", Measure::Money, Sign::NonNegative);
    let goods_value = money(&mut p, "goods_value");
    let freight = money(&mut p, "freight");
    let insurance = money(&mut p, "insurance");
    let discount = money(&mut p, "discount");
    let tax_withheld = money(&mut p, "tax_withheld");
    let paid = money(&mut p, "paid");
    let items = p.items(object);
    if let (Some(goods_value), Some(items)) = (goods_value, &items) {
        let sum: Decimal = items.iter().map(|item| item.total).sum();
        if sum != goods_value {
            p.add(
                "goods_value_mismatch",
                "goods_value",
                format!("`{goods_value}` is not the sum of the item totals (`{sum}`)"),
            );
        }
    }
    if let (Some(goods_value), Some(freight), Some(insurance), Some(discount)) =
        (goods_value, freight, insurance, discount)
    {
        let ceiling = goods_value + freight + insurance;
        if discount > ceiling {
            p.add(
                "discount_too_large",
                "discount",
                format!("`{discount}` is more than goods, freight and insurance together (`{ceiling}`)"),
            );
        }
    }
    let order = (|| {
        Some(Order {
            key: key?,
            enterprise: enterprise?,
            zone: zone?,
            ordered_at: ordered_at?,
            buyer: buyer?,
            consignee: consignee?,
            payment_company: payment_company?,
            transaction_id: transaction_id?,
            goods_value: goods_value?,
            freight: freight?,
            insurance: insurance?,
            discount: discount?,
            tax_withheld: tax_withheld?,
            paid: paid?,
            items: items?,
        })
    })();
    p.finish(order)
}

/// Parses a payment (支付单). `Err` holds every problem found.
pub fn parse_payment(value: &Value) -> Result<Payment, FieldErrors> {
    payment_from(&Json::from(value))
}

fn payment_from(value: &Json) -> Result<Payment, FieldErrors> {
    let mut p = Parser::new();
    let Some(object) = p.object(value, "", || "a payment".to_owned()) else { return p.finish(None) };
    p.unknown_fields(object, PAYMENT_FIELDS, "", "a payment");
    let payment_company = p.domain_code(object, "payment_company", "", Uscc::parse);
    let transaction_id = p.number(object, "transaction_id", "");
    let order = p.order_key(object);
    let payer = p.person(object, "payer", false);
    let amount = p.decimal(object, "amount", "", Measure::Money, Sign::NonNegative);
    let paid_at = p.timestamp(object, "paid_at", "");
    let payment = (|| {
        Some(Payment {
            payment_company: payment_company?,
            transaction_id: transaction_id?,
            order: order?,
            payer: payer?,
            amount: amount?,
            paid_at: paid_at?,
        })
    })();
    p.finish(payment)
}

/// Parses a waybill (运单). `Err` holds every problem found.
pub fn parse_waybill(value: &Value) -> Result<Waybill, FieldErrors> {
    waybill_from(&Json::from(value))
}

fn waybill_from(value: &Json) -> Result<Waybill, FieldErrors> {
    let mut p = Parser::new();
    let Some(object) = p.object(value, "", || "a waybill".to_owned()) else { return p.finish(None) };
    p.unknown_fields(object, WAYBILL_FIELDS, "", "a waybill");
    let logistics_company = p.domain_code(object, "logistics_company", "", Uscc::parse);
    let waybill_no = p.number(object, "waybill_no", "");
    let order = p.order_key(object);
    let consignee = p.consignee(object, "consignee");
    let freight = p.decimal(object, "freight", "", Measure::Money, Sign::NonNegative);
    let insurance = p.decimal(object, "insurance", "", Measure::Money, Sign::NonNegative);
    let weight_kg = p.decimal(object, "weight_kg", "", Measure::Quantity, Sign::Positive);
    let packages = p.integer(object, "packages", "", 1..=999);
    let waybill = (|| {
        Some(Waybill {
            logistics_company: logistics_company?,
            waybill_no: waybill_no?,
            order: order?,
            consignee: consignee?,
            freight: freight?,
            insurance: insurance?,
            weight_kg: weight_kg?,
            packages: packages?,
        })
    })();
    p.finish(waybill)
}

/// Parses a document of the given kind from a `serde_json` tree (a single document of the HTTP API, tests).
pub fn parse_document(kind: DocKind, value: &Value) -> Result<Document, FieldErrors> {
    parse_json_document(kind, &Json::from(value))
}

/// Parses a document of the given kind.
pub fn parse_json_document(kind: DocKind, value: &Json) -> Result<Document, FieldErrors> {
    match kind {
        DocKind::Order => order_from(value).map(Document::Order),
        DocKind::Payment => payment_from(value).map(Document::Payment),
        DocKind::Waybill => waybill_from(value).map(Document::Waybill),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Batches.
// ---------------------------------------------------------------------------------------------------------

/// One entry of a batch: the kind of document and its JSON, not yet parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<'a> {
    pub kind: DocKind,
    pub body: Json<'a>,
}

/// Puts `prefix` before every error's field: `[3].document` + `items[0].gtin` → `[3].document.items[0].gtin`.
pub fn prefix_errors(errors: FieldErrors, prefix: &str) -> FieldErrors {
    FieldErrors(
        errors
            .0
            .into_iter()
            .map(|error| FieldError {
                field: if error.field.is_empty() {
                    prefix.to_owned()
                } else if error.field.starts_with('[') {
                    format!("{prefix}{}", error.field)
                } else {
                    format!("{prefix}.{}", error.field)
                },
                ..error
            })
            .collect(),
    )
}

fn envelope(index: usize, value: Json<'_>) -> Result<Envelope<'_>, FieldErrors> {
    // The entry's path, written only for an error.
    let at = |field: &str| format!("[{index}]{field}");
    let mut map = match value {
        Json::Object(map) => map,
        other => {
            return Err(FieldError::new(
                "type",
                at(""),
                format!("an entry must be an object with `kind` and `document`, not {}", other.kind()),
            )
            .into())
        }
    };
    let mut errors = FieldErrors::default();
    let kind = match map.get("kind") {
        None | Some(Json::Null) => {
            errors.add("required", at(".kind"), "`kind` is required (`order`, `payment` or `waybill`)");
            None
        }
        Some(Json::String(text)) => {
            let kind = DocKind::parse(text);
            if kind.is_none() {
                errors.add(
                    "kind_unknown",
                    at(".kind"),
                    format!("`{text}` is not a kind of document; use `order`, `payment` or `waybill`"),
                );
            }
            kind
        }
        Some(other) => {
            errors.add("type", at(".kind"), format!("`kind` must be a string, not {}", other.kind()));
            None
        }
    };
    let body = match map.remove("document") {
        None | Some(Json::Null) => {
            errors.add("required", at(".document"), "`document` is required");
            None
        }
        Some(body @ Json::Object(_)) => Some(body),
        Some(other) => {
            errors.add("type", at(".document"), format!("`document` must be an object, not {}", other.kind()));
            None
        }
    };
    match (kind, body) {
        (Some(kind), Some(body)) if errors.is_empty() => Ok(Envelope { kind, body }),
        _ => Err(errors),
    }
}

fn too_large(count: usize) -> Vec<Result<Envelope<'static>, FieldErrors>> {
    vec![Err(
        FieldError::new("batch_too_large", "", format!("{count} entries; a batch may have at most {BATCH_MAX}")).into()
    )]
}

/// Splits a batch into its entries, in order. The batch is a JSON array of envelopes
/// (`[{"kind":"order","document":{…}}, …]`) when its first non-space character is `[`, else NDJSON (one
/// envelope per line, blank lines ignored). An entry that is not well formed gives an `Err` naming `[i]`
/// (its position among the entries) and the others are still returned; a malformed array, or more than
/// [`BATCH_MAX`] entries, gives a single `Err`. The documents are not parsed: see [`parse_batch`].
pub fn split_batch(body: &str) -> Vec<Result<Envelope<'_>, FieldErrors>> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    if body.trim_start().starts_with('[') {
        let entries: Vec<Json<'_>> = match Json::parse(body) {
            Ok(Json::Array(entries)) => entries,
            Ok(other) => vec![other],
            Err(error) => {
                return vec![Err(FieldError::new(
                    "json_malformed",
                    "",
                    format!("the batch is not a JSON array: {error}"),
                )
                .into())]
            }
        };
        if entries.len() > BATCH_MAX {
            return too_large(entries.len());
        }
        return entries.into_iter().enumerate().map(|(index, entry)| envelope(index, entry)).collect();
    }
    let lines: Vec<(usize, &str)> =
        body.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()).map(|(n, line)| (n + 1, line)).collect();
    if lines.len() > BATCH_MAX {
        return too_large(lines.len());
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(index, (number, line))| match Json::parse(line) {
            Ok(value) => envelope(index, value),
            Err(error) => Err(FieldError::new(
                "json_malformed",
                format!("[{index}]"),
                format!("line {number} of the batch is not JSON: {error}"),
            )
            .into()),
        })
        .collect()
}

/// Splits a batch and parses each document; a document's errors are named `[i].document.<field>`.
pub fn parse_batch(body: &str) -> Vec<Result<Document, FieldErrors>> {
    split_batch(body)
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let entry = entry?;
            parse_json_document(entry.kind, &entry.body)
                .map_err(|errors| prefix_errors(errors, &format!("[{index}].document")))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Canonical form.
// ---------------------------------------------------------------------------------------------------------

/// The canonical text of a JSON value: object keys sorted (by bytes) at every depth, no whitespace.
///
/// Written by [`Json::canonical`] rather than `serde_json::to_string`: serde_json keeps insertion order
/// whenever any crate in the build enables its `preserve_order` feature (the workspace's lock file shows it
/// does), so its output is not key-sorted in every build.
pub fn canonical_json(value: &Value) -> String {
    Json::from(value).canonical()
}

/// Hex SHA-256 of a text (of canonical JSON, for the hash of a document already written canonically).
pub fn sha256_hex(text: &str) -> String {
    // Into a buffer of the right size: `{:x}` goes through the formatter two digits at a time and
    // `hex::encode` collects chars one by one.
    let mut digits = [0u8; 64];
    hex::encode_to_slice(Sha256::digest(text.as_bytes()), &mut digits).expect("32 bytes are 64 hex digits");
    String::from_utf8(digits.to_vec()).expect("hex digits are ASCII")
}

/// Hex SHA-256 of [`canonical_json`]: the same for the same document whatever its key order or spacing.
pub fn canonical_sha256(value: &Value) -> String {
    hex::encode(Sha256::digest(canonical_json(value).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_is_the_lowercase_digest() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
