//! The e-commerce state machine: documents in, orders matched, decided, released, cancelled or returned.
//!
//! No I/O: every command takes the time it happens, and what it needs of policy (registrations, limits,
//! the positive list, tax rates, guarantees, the risk channel) comes through [`Policy`]. A command either
//! changes nothing and says why, or returns the [`Record`]s that must be stored, in order, for the change to
//! be durable; the caller stores them and [`Engine::replay`]s them into a fresh engine at start-up, which
//! rebuilds the same state without asking policy again (decisions are replayed as recorded, not re-made).
//!
//! Lifecycle of an order: `incomplete` (documents missing) → when the third arrives, the checks run →
//! `refused` (a check failed: the buyer's quota is untouched) or accepted: the transaction value is reserved
//! on the buyer's annual quota, the tax billed to the platform, the risk channel decided → `released` (channel
//! release and tax secured: the reservation is posted), `awaiting_tax` (released as soon as its bill is paid
//! or the guarantee has room), `held` (an officer's inspection decides). Before release an order may be
//! `cancelled` (reservation voided, tax unbilled); after release it may be returned within 30 days (goods back
//! within 45): the returned lines' value is restored to the quota.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

// The engine's maps hash client-chosen keys (order numbers): foldhash is fast and seeded per process.
use foldhash::{HashMap as FastMap, HashSet as FastSet};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zonegate_domain::{FieldError, FieldErrors, HsCode, Uscc};

use crate::bills::{Secured, TaxAccounts};
use crate::checks::{self, CheckOutcome, Role};
use crate::decision::{Assessment, Decision, OriginLine, Problem, StoredDecision};
use crate::documents::{DocKind, Document, Order, OrderKey, Payment, Waybill};
use crate::positive::PositiveEntry;
use crate::quota::{QuotaBook, QuotaError, Reservation};
use crate::tax::{Limits, OrderTax, TaxMode};

/// China Standard Time: days, years and bill periods are counted in it.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The calendar day in China of an instant.
pub fn china_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&china()).date_naive()
}

/// What the engine asks of policy data and the other engines.
pub trait Policy {
    /// Whether the company is registered for the role in the zone on the date.
    fn registered(&self, zone: &str, uscc: &Uscc, role: Role, on: NaiveDate) -> bool;
    /// The limits in force.
    fn limits(&self, on: NaiveDate) -> Option<Limits>;
    /// The positive-list entry covering the goods, if they are on the list.
    fn positive(&self, hs: &HsCode, on: NaiveDate) -> Option<PositiveEntry>;
    /// The order's taxes in the given mode: the figures and basis ids ([`crate::tax::order_figures`]); a
    /// trace, if any, is dropped before the decision is stored.
    fn taxes(&self, order: &Order, on: NaiveDate, mode: TaxMode) -> Result<OrderTax, FieldErrors>;
    /// The agent's guarantee in force, in fen (0 without one).
    fn guarantee_fen(&self, agent: &Uscc, on: NaiveDate) -> i64;
    /// The risk channel of an accepted order.
    fn risk(&self, order: &Order, tax: &OrderTax, now: DateTime<Utc>) -> Verdict;
}

/// The risk engine's answer for an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// `release`, `document_check`, `sample_then_release`, `inspection`, `hold` or `refuse`.
    pub channel: String,
    pub reasons: Vec<String>,
    /// The risk engine's figures (stored with the decision); `null` when no risk engine decided.
    #[serde(default)]
    pub detail: Option<RiskDetail>,
}

/// The figures behind a risk engine's channel, as stored with the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskDetail {
    /// The ids of the rules that fired.
    pub rules_fired: Vec<String>,
    /// The lower credit class of platform and enterprise.
    pub credit_class: Cow<'static, str>,
    /// The reproducible draw in [0, 1).
    pub draw: f64,
    /// The risk the budget selects on.
    pub risk: f64,
    /// The rule set version in force.
    pub rule_set: Option<i64>,
    /// The learned model, when one scored the order.
    pub model: Option<String>,
}

impl Verdict {
    pub fn releases(&self) -> bool {
        self.channel == "release"
    }
    pub fn refuses(&self) -> bool {
        self.channel == "refuse"
    }
}

/// Engine parameters (zone data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Documents of an order still incomplete after this long are reported.
    pub incomplete_after: Duration,
    /// A return must be applied for within this many days of release …
    pub return_apply_days: i64,
    /// … and the goods be back within this many.
    pub return_goods_days: i64,
    /// Base of the traceability URIs (`https://…`, no trailing slash).
    pub trace_base: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            incomplete_after: Duration::hours(24),
            return_apply_days: 30,
            return_goods_days: 45,
            trace_base: "https://trace.zonegate.example".into(),
        }
    }
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Incomplete,
    Refused,
    AwaitingTax,
    Held,
    Released,
    Cancelled,
    Returned,
    PartlyReturned,
}

impl Status {
    /// Whether the order was released (and may have come back since, in part or whole).
    pub fn was_released(self) -> bool {
        matches!(self, Status::Released | Status::PartlyReturned | Status::Returned)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Incomplete => "incomplete",
            Status::Refused => "refused",
            Status::AwaitingTax => "awaiting_tax",
            Status::Held => "held",
            Status::Released => "released",
            Status::Cancelled => "cancelled",
            Status::Returned => "returned",
            Status::PartlyReturned => "partly_returned",
        }
    }
}

/// A record to store: a document as received, or a change the engine made.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `order`, `payment`, `waybill`, `decision`, `release`, `inspection`, `cancellation`, `return`,
    /// `tax_payment`.
    pub kind: &'static str,
    /// Unique per kind.
    pub key: String,
    /// The order it concerns (empty for tax payments).
    pub order_key: String,
    /// The body as stored: a document's or command's canonical JSON, or the text of the engine's own record.
    pub json: String,
    /// Hex SHA-256: of the request's canonical JSON for documents and commands, of `json` for the engine's
    /// own records.
    pub sha256: String,
}

impl Record {
    fn new(kind: &'static str, key: String, order_key: String, json: String, sha256: String) -> Record {
        Record { kind, key, order_key, json, sha256 }
    }

    /// The engine's own record: its text and the text's hash.
    fn written(kind: &'static str, key: &OrderKey, json: String) -> Record {
        let sha256 = crate::documents::sha256_hex(&json);
        let text = key.text();
        Record::new(kind, text.clone(), text, json, sha256)
    }

    /// The body as a JSON value.
    pub fn value(&self) -> Value {
        // Every record's text was written from JSON by the engine or its caller.
        serde_json::from_str(&self.json).expect("a record holds JSON")
    }
}

/// The record kinds, in the order a replay understands them.
pub const RECORD_KINDS: [&str; 9] =
    ["order", "payment", "waybill", "decision", "release", "inspection", "cancellation", "return", "tax_payment"];

/// What happened to one document or command.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// New: recorded.
    Recorded,
    /// The same body under the same key was recorded before: nothing changes.
    Repeat,
}

/// A refusal of a document or command: it changes nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Another body was recorded under the same key.
    Conflict { kind: &'static str, key: String },
    /// The request is wrong for the state it meets; each problem names its field.
    Invalid(FieldErrors),
}

impl Refusal {
    fn one(code: &'static str, field: &str, message: impl Into<String>) -> Refusal {
        Refusal::Invalid(FieldErrors(vec![FieldError::new(code, field, message)]))
    }
}

/// The answer to an accepted document or command, with the records to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub disposition: Disposition,
    pub order_key: String,
    pub status: Status,
    /// The documents still missing, while incomplete.
    pub waiting_for: Vec<&'static str>,
    /// Records to store, in order (empty for a repeat).
    pub records: Vec<Record>,
    /// The decision of the order when this step made it (a repeat carries none: the stored decision record
    /// is the first answer; the engine does not keep decisions in memory).
    pub decision: Option<Box<Decision>>,
    /// Orders this step released besides its own (a tax payment releases those it secures).
    pub released: Vec<String>,
}

/// One line's figures, kept for returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineFigures {
    pub line: u32,
    pub value_fen: i64,
    pub tax_fen: i64,
    /// (cap id, grams) counted for the line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<(String, i64)>,
    #[serde(default)]
    pub returned: bool,
}

/// What the engine keeps of a decided order.
#[derive(Debug, Clone, PartialEq)]
struct Decided {
    id: u64,
    buyer: String,
    year: i32,
    agent: Uscc,
    period: String,
    amount_fen: i64,
    tax_fen: i64,
    channel: String,
    /// The officer's inspection cleared it (or none was needed).
    cleared: bool,
    /// Tax paid or guaranteed (or none due).
    secured: bool,
    released_at: Option<DateTime<Utc>>,
    lines: Vec<LineFigures>,
    /// The order itself until it is released (its items get their codes then) or closed.
    order: Option<Box<Order>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Waiting {
    order: Option<Order>,
    payment: Option<Payment>,
    waybill: Option<Waybill>,
    first_seen: Option<DateTime<Utc>>,
}

impl Waiting {
    fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.order.is_none() {
            missing.push("order");
        }
        if self.payment.is_none() {
            missing.push("payment");
        }
        if self.waybill.is_none() {
            missing.push("waybill");
        }
        missing
    }
    fn is_complete(&self) -> bool {
        self.order.is_some() && self.payment.is_some() && self.waybill.is_some()
    }
    fn has(&self, kind: DocKind) -> bool {
        match kind {
            DocKind::Order => self.order.is_some(),
            DocKind::Payment => self.payment.is_some(),
            DocKind::Waybill => self.waybill.is_some(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct OrderEntry {
    status: Status,
    waiting: Option<Box<Waiting>>,
    decided: Option<Box<Decided>>,
    /// Keys of its documents by kind (to refuse a second payment or waybill for the same order).
    documents: [Option<String>; 3],
}

impl OrderEntry {
    /// An order not yet seen: its first document gives it its `waiting` state.
    fn new() -> OrderEntry {
        OrderEntry { status: Status::Incomplete, waiting: None, decided: None, documents: [None, None, None] }
    }
}

fn doc_index(kind: DocKind) -> usize {
    match kind {
        DocKind::Order => 0,
        DocKind::Payment => 1,
        DocKind::Waybill => 2,
    }
}

/// An order still incomplete, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incomplete {
    pub order: String,
    pub first_seen: DateTime<Utc>,
    pub have: Vec<&'static str>,
    pub missing: Vec<&'static str>,
}

/// The state of one order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderView {
    pub order: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_fen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_secured: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
}

/// A buyer's year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotaView {
    pub year: i32,
    pub limit_fen: i64,
    pub posted_fen: i64,
    pub pending_fen: i64,
    pub available_fen: i64,
}

/// A record's SHA-256 as `seen` keeps it: the 32 bytes of a lowercase hex digest (every digest this engine and
/// the app write), else the text as given, so two digests are equal exactly when their texts are.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Digest {
    Bytes([u8; 32]),
    Text(Box<str>),
}

impl Digest {
    fn of(text: &str) -> Digest {
        let mut bytes = [0u8; 32];
        // `hex` also reads upper case, which would make two texts equal: only lower case is taken as bytes.
        if !text.bytes().any(|b| b.is_ascii_uppercase()) && hex::decode_to_slice(text, &mut bytes).is_ok() {
            Digest::Bytes(bytes)
        } else {
            Digest::Text(text.into())
        }
    }
}

/// What was recorded under each (kind, key): one map per kind, so a lookup borrows the key instead of
/// building an owned pair, and each digest is kept in 32 bytes instead of a 64-byte string.
#[derive(Default)]
struct Seen(FastMap<&'static str, FastMap<String, Digest>>);

impl Seen {
    fn get(&self, kind: &str, key: &str) -> Option<&Digest> {
        self.0.get(kind)?.get(key)
    }

    fn insert(&mut self, kind: &'static str, key: String, sha256: &str) {
        self.0.entry(kind).or_default().insert(key, Digest::of(sha256));
    }
}

/// The engine.
pub struct Engine {
    config: Config,
    /// (record kind, key) → SHA-256 of what was recorded under it.
    seen: Seen,
    orders: FastMap<OrderKey, OrderEntry>,
    /// Orders with documents waiting, for the incomplete report.
    incomplete: FastSet<OrderKey>,
    /// Order id → key (ids number decided orders for the quota book and the bills). Ids are given in order
    /// from 1 (`accept`): id `n` is at index `n - 1`, and the next id is one past the last.
    by_id: Vec<OrderKey>,
    /// Traceability serial prefix → the released order's id.
    traces: FastMap<[u8; crate::trace::PREFIX_LENGTH], u64>,
    quota: QuotaBook,
    bills: TaxAccounts,
    /// Set while replaying the log: releases come from their own records then, not from the step.
    replaying: bool,
    /// Counts by status, for the overview.
    counts: BTreeMap<&'static str, u64>,
}

fn fen(amount: Decimal) -> i64 {
    (amount * Decimal::ONE_HUNDRED).round().to_i64().unwrap_or(i64::MAX)
}

fn yuan(fen: i64) -> String {
    Decimal::new(fen, 2).to_string()
}

fn period_of(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// Grams of an order line counted against a cap: its net weight (`net_kg`, else a quantity in KGM or TNE).
fn line_grams(item: &crate::documents::OrderItem) -> Option<i64> {
    let kg = match (item.net_kg, item.unit.as_str()) {
        (Some(kg), _) => kg,
        (None, "KGM") => item.quantity,
        (None, "TNE") => item.quantity * Decimal::ONE_THOUSAND,
        (None, "GRM") => item.quantity / Decimal::ONE_THOUSAND,
        _ => return None,
    };
    (kg * Decimal::ONE_THOUSAND).ceil().to_i64()
}

impl Engine {
    pub fn new(config: Config) -> Engine {
        Engine {
            config,
            seen: Seen::default(),
            orders: FastMap::default(),
            incomplete: FastSet::default(),
            by_id: Vec::new(),
            traces: FastMap::default(),
            quota: QuotaBook::default(),
            bills: TaxAccounts::default(),
            replaying: false,
            counts: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the configuration; the state is kept and the new configuration applies to later steps.
    pub fn set_config(&mut self, config: Config) {
        self.config = config;
    }

    /// The id the next accepted order gets.
    fn next_id(&self) -> u64 {
        self.by_id.len() as u64 + 1
    }

    /// The key of the order with a quota and bill id.
    fn key_of(&self, id: u64) -> Option<&OrderKey> {
        self.by_id.get(usize::try_from(id).ok()?.checked_sub(1)?)
    }

    fn set_status(&mut self, key: &OrderKey, status: Status) {
        let Some(entry) = self.orders.get_mut(key) else { return };
        if entry.status != status {
            if let Some(count) = self.counts.get_mut(entry.status.as_str()) {
                *count = count.saturating_sub(1);
            }
            *self.counts.entry(status.as_str()).or_default() += 1;
            entry.status = status;
        }
    }

    /// Checks a request's key: `Ok(true)` new, `Ok(false)` a repeat, `Err` a conflict.
    fn check_seen(&self, kind: &'static str, key: &str, sha: &str) -> Result<bool, Refusal> {
        match self.seen.get(kind, key) {
            None => Ok(true),
            Some(first) if *first == Digest::of(sha) => Ok(false),
            Some(_) => Err(Refusal::Conflict { kind, key: key.to_owned() }),
        }
    }

    fn repeat(&self, order: &OrderKey) -> Step {
        let entry = self.orders.get(order);
        Step {
            disposition: Disposition::Repeat,
            order_key: order.to_string(),
            status: entry.map_or(Status::Incomplete, |e| e.status),
            waiting_for: entry.and_then(|e| e.waiting.as_ref()).map(|w| w.missing()).unwrap_or_default(),
            records: Vec::new(),
            decision: None,
            released: Vec::new(),
        }
    }

    /// Receives one parsed document. `json` is the document's canonical JSON and `sha256` its hash.
    pub fn receive(
        &mut self,
        policy: &dyn Policy,
        document: Document,
        json: String,
        sha256: String,
        now: DateTime<Utc>,
    ) -> Result<Step, Refusal> {
        let kind = document.kind();
        let key = document.key();
        let order_key = document.order_key().clone();
        if !self.check_seen(kind.as_str(), &key, &sha256)? {
            return Ok(self.repeat(&order_key));
        }
        // The platform must be registered (a document for an unknown platform's order can never complete).
        let day = china_day(now);
        if let Document::Order(order) = &document {
            if !policy.registered(&order.zone, &order.key.platform, Role::Platform, day) {
                return Err(Refusal::one(
                    "platform_unregistered",
                    "platform",
                    format!(
                        "`{}` is not a registered e-commerce platform in zone `{}`",
                        order.key.platform, order.zone
                    ),
                ));
            }
        }
        if let Some(entry) = self.orders.get(&order_key) {
            if let Some(other) = &entry.documents[doc_index(kind)] {
                return Err(Refusal::one(
                    "order_has_document",
                    "order_no",
                    format!("order `{order_key}` already has the {} `{other}`", kind.as_str()),
                ));
            }
            if entry.waiting.is_none() {
                return Err(Refusal::one(
                    "order_closed",
                    "order_no",
                    format!("order `{order_key}` is {} and takes no more documents", entry.status.as_str()),
                ));
            }
        }
        let record = Record::new(kind.as_str(), key.clone(), order_key.text(), json, sha256);
        self.insert_document(document, key, &record.sha256, now);
        let mut records = vec![record];
        let complete = self.orders.get(&order_key).and_then(|e| e.waiting.as_ref()).is_some_and(|w| w.is_complete());
        let mut decision = None;
        let mut released = Vec::new();
        if complete {
            let (made, mut more, others) = self.decide(policy, &order_key, now);
            decision = Some(made);
            records.append(&mut more);
            released = others;
        }
        let entry = &self.orders[&order_key];
        Ok(Step {
            disposition: Disposition::Recorded,
            order_key: order_key.text(),
            status: entry.status,
            waiting_for: entry.waiting.as_ref().map(|w| w.missing()).unwrap_or_default(),
            records,
            decision,
            released,
        })
    }

    fn insert_document(&mut self, document: Document, key: String, sha256: &str, now: DateTime<Utc>) {
        let kind = document.kind();
        self.seen.insert(kind.as_str(), key.clone(), sha256);
        let order_key = document.order_key();
        if !self.orders.contains_key(order_key) {
            // The order's first document: its key is copied into the map only now.
            *self.counts.entry(Status::Incomplete.as_str()).or_default() += 1;
            self.orders.insert(order_key.clone(), OrderEntry::new());
        }
        let entry = self.orders.get_mut(order_key).expect("inserted above");
        entry.documents[doc_index(kind)] = Some(key);
        if entry.waiting.is_none() {
            // A new order (or, in replay only, a closed one: live, a closed order takes no documents).
            entry.waiting = Some(Box::default());
            self.incomplete.insert(order_key.clone());
        }
        let waiting = entry.waiting.as_mut().expect("set above");
        waiting.first_seen.get_or_insert(now);
        match document {
            Document::Order(order) => waiting.order = Some(order),
            Document::Payment(payment) => waiting.payment = Some(payment),
            Document::Waybill(waybill) => waiting.waybill = Some(waybill),
        }
    }

    /// Runs the checks on a complete order and decides it; returns the decision, its record (first) with the
    /// `release` records of other orders its billing released, and their keys.
    fn decide(
        &mut self,
        policy: &dyn Policy,
        key: &OrderKey,
        now: DateTime<Utc>,
    ) -> (Box<Decision>, Vec<Record>, Vec<String>) {
        let waiting = self.orders.get_mut(key).and_then(|e| e.waiting.take()).expect("a complete order is waiting");
        self.incomplete.remove(key);
        let (Some(order), Some(payment), Some(waybill)) = (waiting.order, waiting.payment, waiting.waybill) else {
            unreachable!("decide is called on complete orders only")
        };
        let day = china_day(now);
        let mut outcomes: Vec<CheckOutcome> = vec![
            checks::documents_consistent(&order, &payment, &waybill),
            checks::parties_registered(&order, &waybill, day, &|uscc, role| {
                policy.registered(&order.zone, uscc, role, day)
            }),
            checks::buyer_identity(&order, day),
            checks::paid_matches(&order),
            checks::payer_is_buyer(&order, &payment),
        ];
        // The positive list and its caps.
        let mut off_list = Vec::new();
        let mut caps: BTreeMap<String, (i64, i64)> = BTreeMap::new(); // cap → (grams, limit g)
        let mut line_caps: Vec<Vec<(String, i64)>> = Vec::new();
        for (index, item) in order.items.iter().enumerate() {
            let mut these = Vec::new();
            match policy.positive(&item.hs, day) {
                None => off_list.push(format!("line {} (`{}`, items[{index}].hs)", item.line, item.hs)),
                Some(entry) => {
                    if let Some(cap) = entry.cap {
                        let limit_g =
                            (cap.per_person_year_kg * Decimal::ONE_THOUSAND).floor().to_i64().unwrap_or(i64::MAX);
                        match line_grams(item) {
                            Some(grams) => {
                                let slot = caps.entry(cap.id.clone()).or_insert((0, limit_g));
                                slot.0 += grams;
                                these.push((cap.id.clone(), grams));
                            }
                            None => off_list.push(format!(
                                "line {} (`{}`) is capped per person by weight but has no `net_kg`",
                                item.line, item.hs
                            )),
                        }
                    }
                }
            }
            line_caps.push(these);
        }
        outcomes.push(if off_list.is_empty() {
            CheckOutcome::pass(checks::POSITIVE_LIST)
        } else {
            CheckOutcome::fail(checks::POSITIVE_LIST, format!("not on the positive list: {}", off_list.join(", ")))
        });

        // Limits: single transaction, then the buyer's year.
        let limits = policy.limits(day);
        let amount_fen = fen(order.transaction_value());
        let mut mode = TaxMode::Ecommerce;
        match &limits {
            None => outcomes
                .push(CheckOutcome::fail(checks::SINGLE_LIMIT, format!("no e-commerce limits in force on {day}"))),
            Some(limits) if amount_fen <= limits.single_fen => outcomes.push(CheckOutcome::pass(checks::SINGLE_LIMIT)),
            Some(_) if order.is_one_indivisible_item() => {
                mode = TaxMode::FullGoodsRate;
                outcomes.push(CheckOutcome::pass(checks::SINGLE_LIMIT));
            }
            Some(limits) => outcomes.push(CheckOutcome::fail(
                checks::SINGLE_LIMIT,
                format!(
                    "{} CNY over the single limit of {} CNY: declare as general trade (full tax)",
                    yuan(amount_fen),
                    yuan(limits.single_fen)
                ),
            )),
        }
        let buyer = order.buyer.id.buyer_key();
        let year = day.year();
        let id = self.next_id();
        let reservation = Reservation {
            id,
            buyer: buyer.clone(),
            year,
            amount_fen,
            caps: caps.iter().map(|(cap, (grams, _))| (cap.clone(), *grams)).collect(),
        };
        let cap_limits: HashMap<String, i64> = caps.iter().map(|(cap, (_, limit))| (cap.clone(), *limit)).collect();
        if let Some(limits) = &limits {
            match self.quota.check(&reservation, limits, &cap_limits) {
                Ok(()) => {
                    outcomes.push(CheckOutcome::pass(checks::ANNUAL_LIMIT));
                    if !caps.is_empty() {
                        outcomes.push(CheckOutcome::pass(checks::PER_PERSON_CAP));
                    }
                }
                Err(error @ QuotaError::OverCap { .. }) => {
                    outcomes.push(CheckOutcome::pass(checks::ANNUAL_LIMIT));
                    outcomes.push(CheckOutcome::fail(checks::PER_PERSON_CAP, error.to_string()));
                }
                Err(error) => outcomes.push(CheckOutcome::fail(
                    checks::ANNUAL_LIMIT,
                    format!("{error}: declare as general trade (full tax)"),
                )),
            }
        }

        let failed: Vec<String> = outcomes.iter().filter(|o| !o.passed).map(|o| o.id.to_owned()).collect();
        let mut decision = Decision {
            order: key.text(),
            decided_at: now,
            day,
            checks: outcomes,
            buyer,
            year,
            amount: yuan(amount_fen),
            status: Status::Refused,
            reasons: Vec::new(),
            tax_problems: Vec::new(),
            quota_problem: None,
            assessment: None,
        };
        if !failed.is_empty() {
            decision.reasons = failed;
            return self.refuse(key, decision);
        }
        let tax = match policy.taxes(&order, day, mode) {
            Ok(tax) => tax,
            Err(errors) => {
                decision.reasons = vec!["cbec.tax_not_computable".into()];
                decision.tax_problems = errors.iter().map(Problem::from).collect();
                return self.refuse(key, decision);
            }
        };
        let verdict = policy.risk(&order, &tax, now);
        let guarantee = policy.guarantee_fen(&order.key.platform, day);
        let lines: Vec<LineFigures> = order
            .items
            .iter()
            .zip(&tax.lines)
            .zip(line_caps)
            .map(|((item, line), caps)| LineFigures {
                line: item.line,
                value_fen: line.value_fen,
                tax_fen: line.duty_fen + line.consumption_tax_fen + line.vat_fen,
                caps,
                returned: false,
            })
            .collect();
        let figures = DecisionFigures {
            buyer: decision.buyer.clone(),
            year,
            amount_fen,
            caps: reservation.caps,
            tax_fen: tax.total_fen,
            agent: order.key.platform.clone(),
            period: period_of(day),
            guarantee_fen: guarantee,
            channel: verdict.channel.clone(),
            lines,
        };
        let mut assessment = Box::new(Assessment {
            mode: match mode {
                TaxMode::Ecommerce => "ecommerce",
                TaxMode::FullGoodsRate => "full_goods_rate",
            },
            tax: tax.without_trace(),
            tax_withheld: order.tax_withheld.to_string(),
            risk: verdict,
            agent: order.key.platform.as_str().to_owned(),
            period: figures.period.clone(),
            guarantee_fen: guarantee,
            lines: figures.lines.clone(),
            enterprise: order.enterprise.as_str().to_owned(),
            zone: order.zone.clone(),
            origin: order
                .items
                .iter()
                .map(|i| OriginLine {
                    line: i.line,
                    origin: i.origin.as_str().to_owned(),
                    gtin: i.gtin.as_str().to_owned(),
                    name: i.name.clone(),
                })
                .collect(),
            tax_secured: None,
            released_at: None,
            trace: None,
        });
        let trace = crate::trace::codes_for(&self.config.trace_base, &order);
        let outcome = match self.accept(key, figures, now, order) {
            Ok(outcome) => outcome,
            Err(problem) => {
                decision.reasons = vec!["cbec.quota_refused".into()];
                decision.quota_problem = Some(problem);
                decision.assessment = Some(assessment);
                return self.refuse(key, decision);
            }
        };
        decision.status = outcome.status;
        assessment.tax_secured = Some(outcome.secured);
        if outcome.status == Status::Released {
            assessment.released_at = Some(now);
            assessment.trace = Some(trace);
        }
        if assessment.risk.refuses() {
            decision.reasons = assessment.risk.reasons.clone();
        }
        decision.assessment = Some(assessment);
        let record = self.record_decision(key, &decision);
        let (mut records, released) = self.secure(outcome.freed, now);
        records.insert(0, record);
        (Box::new(decision), records, released)
    }

    /// A refusal decided on the order's own facts: nothing reserved or billed.
    fn refuse(&mut self, key: &OrderKey, mut decision: Decision) -> (Box<Decision>, Vec<Record>, Vec<String>) {
        decision.status = Status::Refused;
        self.set_status(key, Status::Refused);
        let record = self.record_decision(key, &decision);
        (Box::new(decision), vec![record], Vec::new())
    }

    /// Marks orders whose tax became secured; live, releases those cleared and awaiting their tax.
    fn secure(&mut self, ids: Vec<u64>, now: DateTime<Utc>) -> (Vec<Record>, Vec<String>) {
        let (mut records, mut released) = (Vec::new(), Vec::new());
        for id in ids {
            let Some(key) = self.key_of(id).cloned() else { continue };
            let Some(entry) = self.orders.get_mut(&key) else { continue };
            let Some(decided) = entry.decided.as_mut() else { continue };
            decided.secured = true;
            if entry.status == Status::AwaitingTax && !self.replaying {
                records.push(self.release(&key, now));
                released.push(key.to_string());
            }
        }
        (records, released)
    }

    fn record_decision(&mut self, key: &OrderKey, decision: &Decision) -> Record {
        let record = Record::written("decision", key, decision.to_json());
        self.seen.insert("decision", key.text(), &record.sha256);
        record
    }

    /// Applies an accepted order's figures: reserve, bill, and release when cleared and secured. Used live
    /// and in replay (with the figures as recorded).
    fn accept(
        &mut self,
        key: &OrderKey,
        figures: DecisionFigures,
        now: DateTime<Utc>,
        order: Order,
    ) -> Result<Accepted, String> {
        let id = self.next_id();
        self.by_id.push(key.clone());
        let reservation = Reservation {
            id,
            buyer: figures.buyer.clone(),
            year: figures.year,
            amount_fen: figures.amount_fen,
            caps: figures.caps,
        };
        // Checked before (live) or accepted before (replay): the reservation cannot be refused here unless the
        // limits changed between check and reserve, which one engine call excludes.
        self.quota.reserve_unchecked(reservation).map_err(|e| e.to_string())?;
        let channel_refuses = figures.channel == "refuse";
        let cleared = figures.channel == "release";
        let (secured, freed) = if channel_refuses {
            (false, Vec::new())
        } else {
            let secured = self.bills.bill(&figures.agent, &figures.period, id, figures.tax_fen, figures.guarantee_fen);
            (!matches!(secured, Secured::Awaiting), self.bills.take_released())
        };
        let status = if channel_refuses {
            let _ = self.quota.void(id);
            Status::Refused
        } else if !cleared {
            Status::Held
        } else if secured {
            let _ = self.quota.post(id);
            Status::Released
        } else {
            Status::AwaitingTax
        };
        let entry = self.orders.get_mut(key).expect("accepted orders are known");
        entry.decided = Some(Box::new(Decided {
            id,
            buyer: figures.buyer,
            year: figures.year,
            agent: figures.agent,
            period: figures.period,
            amount_fen: figures.amount_fen,
            tax_fen: figures.tax_fen,
            channel: figures.channel,
            cleared,
            secured,
            released_at: (status == Status::Released).then_some(now),
            lines: figures.lines,
            order: matches!(status, Status::Held | Status::AwaitingTax).then(|| Box::new(order)),
        }));
        if status == Status::Released {
            self.traces.insert(crate::trace::serial_prefix_bytes(key), id);
        }
        self.set_status(key, status);
        Ok(Accepted { status, secured, freed })
    }
}

/// What an accepted order's decision carries for replay.
#[derive(Debug, Clone, PartialEq)]
struct DecisionFigures {
    buyer: String,
    year: i32,
    amount_fen: i64,
    caps: Vec<(String, i64)>,
    tax_fen: i64,
    agent: Uscc,
    period: String,
    guarantee_fen: i64,
    channel: String,
    lines: Vec<LineFigures>,
}

impl DecisionFigures {
    /// Reads the figures back from a stored decision.
    fn from_stored(stored: &StoredDecision) -> Result<DecisionFigures, String> {
        let missing = |name: &str| format!("decision without `{name}`");
        let amount = stored
            .amount
            .parse::<Decimal>()
            .map(fen)
            .map_err(|e| format!("decision `amount` `{}`: {e}", stored.amount))?;
        let mut caps: Vec<(String, i64)> = Vec::new();
        for (cap, grams) in stored.lines.iter().flat_map(|line| line.caps.iter()) {
            match caps.iter_mut().find(|(c, _)| c == cap) {
                Some(slot) => slot.1 += grams,
                None => caps.push((cap.clone(), *grams)),
            }
        }
        let agent = stored.agent.as_deref().ok_or_else(|| missing("agent"))?;
        Ok(DecisionFigures {
            buyer: stored.buyer.clone(),
            year: stored.year,
            amount_fen: amount,
            caps,
            tax_fen: stored.tax.as_ref().ok_or_else(|| missing("tax.total_fen"))?.total_fen,
            agent: Uscc::parse(agent).map_err(|e| format!("decision `agent`: {e:?}"))?,
            period: stored.period.clone().ok_or_else(|| missing("period"))?,
            guarantee_fen: stored.guarantee_fen.ok_or_else(|| missing("guarantee_fen"))?,
            channel: stored.risk.as_ref().ok_or_else(|| missing("risk.channel"))?.channel.clone(),
            lines: stored.lines.clone(),
        })
    }
}

struct Accepted {
    status: Status,
    secured: bool,
    /// Other orders the billing secured (a larger guarantee lets earlier ones through).
    freed: Vec<u64>,
}

/// A return as requested (GACC Ann. 2020 No. 45): which lines, when applied for, when the goods came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnRequest {
    /// The return's own number (unique per order).
    pub return_no: String,
    /// Lines returned; empty means every line not yet returned.
    pub lines: Vec<u32>,
    pub applied_at: DateTime<Utc>,
    pub goods_back_at: DateTime<Utc>,
}

/// A verified tax payment for a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxPayment {
    pub notice_id: String,
    pub agent: Uscc,
    pub period: String,
    pub amount_fen: i64,
}

impl Engine {
    fn known(&self, key: &OrderKey) -> Result<&OrderEntry, Refusal> {
        self.orders.get(key).ok_or_else(|| {
            Refusal::one("order_unknown", "order_no", format!("no document of order `{key}` was received"))
        })
    }

    fn step(&self, key: &OrderKey, records: Vec<Record>, released: Vec<String>) -> Step {
        let entry = &self.orders[key];
        Step {
            disposition: Disposition::Recorded,
            order_key: key.to_string(),
            status: entry.status,
            waiting_for: entry.waiting.as_ref().map(|w| w.missing()).unwrap_or_default(),
            records,
            decision: None,
            released,
        }
    }

    /// Releases a cleared, secured order: posts its reservation and gives each item its code.
    fn release(&mut self, key: &OrderKey, now: DateTime<Utc>) -> Record {
        let base = self.config.trace_base.clone();
        let entry = self.orders.get_mut(key).expect("released orders are known");
        let decided = entry.decided.as_mut().expect("released orders are decided");
        decided.released_at = Some(now);
        let id = decided.id;
        let order = decided.order.take();
        let _ = self.quota.post(id);
        let codes = order.as_ref().map(|order| crate::trace::codes_for(&base, order)).unwrap_or_default();
        self.traces.insert(crate::trace::serial_prefix_bytes(key), id);
        self.set_status(key, Status::Released);
        let body = json!({"order": key.to_string(), "released_at": now, "trace": codes});
        let record = Record::written("release", key, crate::documents::canonical_json(&body));
        self.seen.insert("release", key.to_string(), &record.sha256);
        record
    }

    /// An officer's result for a held order: `finding = false` clears it (released once its tax is secured),
    /// `true` refuses it (reservation voided, tax unbilled).
    pub fn inspect(
        &mut self,
        key: &OrderKey,
        finding: bool,
        body: Value,
        sha256: String,
        now: DateTime<Utc>,
    ) -> Result<Step, Refusal> {
        if !self.check_seen("inspection", &key.to_string(), &sha256)? {
            return Ok(self.repeat(key));
        }
        let entry = self.known(key)?;
        if entry.status != Status::Held {
            return Err(Refusal::one(
                "order_not_held",
                "order_no",
                format!("order `{key}` is {}, not held for inspection", entry.status.as_str()),
            ));
        }
        self.seen.insert("inspection", key.to_string(), &sha256);
        let json = crate::documents::canonical_json(&body);
        let mut records = vec![Record::new("inspection", key.to_string(), key.to_string(), json, sha256)];
        let decided = self.orders.get_mut(key).and_then(|e| e.decided.as_mut()).expect("held orders are decided");
        let (id, secured) = (decided.id, decided.secured);
        let mut released = Vec::new();
        if finding {
            decided.order = None;
            let _ = self.quota.void(id);
            let freed = self.bills.unbill(id).unwrap_or_default();
            self.set_status(key, Status::Refused);
            let (mut more, others) = self.secure(freed, now);
            records.append(&mut more);
            released = others;
        } else {
            decided.cleared = true;
            if secured {
                records.push(self.release(key, now));
            } else {
                self.set_status(key, Status::AwaitingTax);
            }
        }
        Ok(self.step(key, records, released))
    }

    /// The platform cancels an order before release: an incomplete order takes no more documents; a decided
    /// one gives back its reservation and leaves its bill.
    pub fn cancel(&mut self, key: &OrderKey, body: Value, sha256: String, now: DateTime<Utc>) -> Result<Step, Refusal> {
        if !self.check_seen("cancellation", &key.to_string(), &sha256)? {
            return Ok(self.repeat(key));
        }
        let status = self.known(key)?.status;
        let mut freed = Vec::new();
        match status {
            Status::Incomplete => {
                let entry = self.orders.get_mut(key).expect("known");
                entry.waiting = None;
                self.incomplete.remove(key);
            }
            Status::AwaitingTax | Status::Held => {
                let decided = self.orders.get_mut(key).and_then(|e| e.decided.as_mut()).expect("decided");
                let id = decided.id;
                // Refused by the bill (a refund is due): nothing may have changed yet.
                freed =
                    self.bills.unbill(id).map_err(|error| Refusal::one(error.code(), "order_no", error.to_string()))?;
                decided.order = None;
                let _ = self.quota.void(id);
            }
            Status::Released | Status::PartlyReturned => {
                return Err(Refusal::one(
                    "order_released",
                    "order_no",
                    format!("order `{key}` was released: apply for a return instead"),
                ))
            }
            Status::Refused | Status::Cancelled | Status::Returned => {
                return Err(Refusal::one("order_closed", "order_no", format!("order `{key}` is {}", status.as_str())))
            }
        }
        self.seen.insert("cancellation", key.to_string(), &sha256);
        self.set_status(key, Status::Cancelled);
        let json = crate::documents::canonical_json(&body);
        let record = Record::new("cancellation", key.to_string(), key.to_string(), json, sha256);
        let (mut releases, released) = self.secure(freed, now);
        let mut records = vec![record];
        records.append(&mut releases);
        Ok(self.step(key, records, released))
    }

    /// A return of released goods: applied for within the configured days of release, goods back within
    /// theirs; the returned lines' value (and capped weight) goes back to the buyer's year and their tax is
    /// not collected.
    pub fn return_goods(
        &mut self,
        key: &OrderKey,
        request: &ReturnRequest,
        body: Value,
        sha256: String,
        now: DateTime<Utc>,
    ) -> Result<Step, Refusal> {
        let record_key = format!("{key}/{}", request.return_no);
        if !self.check_seen("return", &record_key, &sha256)? {
            return Ok(self.repeat(key));
        }
        let entry = self.known(key)?;
        let Some(decided) =
            entry.decided.as_ref().filter(|_| matches!(entry.status, Status::Released | Status::PartlyReturned))
        else {
            return Err(Refusal::one(
                "order_not_released",
                "order_no",
                format!("order `{key}` is {}: only released goods are returned", entry.status.as_str()),
            ));
        };
        let released = decided.released_at.expect("released orders have a release time");
        let mut errors = FieldErrors::default();
        // Days are calendar days in China: the n-th day after release ends at midnight China time.
        let days_after = |at: DateTime<Utc>| (china_day(at) - china_day(released)).num_days();
        if request.applied_at < released || days_after(request.applied_at) > self.config.return_apply_days {
            errors.add(
                "return_too_late",
                "applied_at",
                format!(
                    "a return is applied for within {} days of release ({released}); this one on {}",
                    self.config.return_apply_days, request.applied_at
                ),
            );
        }
        if request.goods_back_at < released || days_after(request.goods_back_at) > self.config.return_goods_days {
            errors.add(
                "return_goods_late",
                "goods_back_at",
                format!(
                    "returned goods are back within {} days of release ({released}); these on {}",
                    self.config.return_goods_days, request.goods_back_at
                ),
            );
        }
        let wanted: Vec<u32> = if request.lines.is_empty() {
            decided.lines.iter().filter(|l| !l.returned).map(|l| l.line).collect()
        } else {
            request.lines.clone()
        };
        for (index, line) in wanted.iter().enumerate() {
            match decided.lines.iter().find(|l| l.line == *line) {
                None => {
                    errors.add("line_unknown", format!("lines[{index}]"), format!("order `{key}` has no line {line}"))
                }
                Some(figures) if figures.returned => {
                    errors.add("line_returned", format!("lines[{index}]"), format!("line {line} was returned before"))
                }
                Some(_) => {}
            }
        }
        if wanted.is_empty() {
            errors.add("nothing_to_return", "lines", format!("every line of order `{key}` was returned"));
        }
        if !errors.is_empty() {
            return Err(Refusal::Invalid(errors));
        }
        let (mut amount, mut tax, mut caps) = (0i64, 0i64, Vec::<(String, i64)>::new());
        for figures in decided.lines.iter().filter(|l| wanted.contains(&l.line)) {
            amount += figures.value_fen;
            tax += figures.tax_fen;
            caps.extend(figures.caps.iter().cloned());
        }
        let id = decided.id;
        // The quota first: a refusal there must leave the lines as they were.
        if let Err(error) = self.quota.restore(id, amount, &caps) {
            return Err(Refusal::one("quota_restore", "lines", error.to_string()));
        }
        // The returned goods' tax is not collected: it comes off the agent's bill (an order whose tax was
        // never billed, refused or zero, has nothing to take off).
        let freed = match self.bills.order_bill(id).map(|(_, _, billed)| billed) {
            // The lines' taxes add up to the order's; `min` only guards the bill against a rounding surprise.
            Some(billed) => self.bills.credit_return(id, tax.min(billed)).expect("within what the order was billed"),
            None => Vec::new(),
        };
        let decided = self.orders.get_mut(key).and_then(|e| e.decided.as_mut()).expect("checked above");
        for figures in decided.lines.iter_mut().filter(|l| wanted.contains(&l.line)) {
            figures.returned = true;
        }
        let all = decided.lines.iter().all(|l| l.returned);
        self.seen.insert("return", record_key.clone(), &sha256);
        self.set_status(key, if all { Status::Returned } else { Status::PartlyReturned });
        let mut body = body;
        body["restored"] = json!(yuan(amount));
        body["tax_not_collected"] = json!(yuan(tax));
        let json = crate::documents::canonical_json(&body);
        let mut records = vec![Record::new("return", record_key, key.to_string(), json, sha256)];
        // What the freed credit or guarantee room now secures is released (from its own records in replay).
        let (mut releases, released) = self.secure(freed, now);
        records.append(&mut releases);
        Ok(self.step(key, records, released))
    }

    /// A verified tax payment for an agent's bill: the orders it secures are released (when cleared).
    pub fn pay(
        &mut self,
        payment: &TaxPayment,
        body: Value,
        sha256: String,
        now: DateTime<Utc>,
    ) -> Result<Step, Refusal> {
        if !self.check_seen("tax_payment", &payment.notice_id, &sha256)? {
            let mut step = self.repeat(&OrderKey { platform: payment.agent.clone(), order_no: String::new() });
            step.order_key = String::new();
            return Ok(step);
        }
        let secured = self
            .bills
            .pay(payment.agent.as_str(), &payment.period, &payment.notice_id, payment.amount_fen)
            .map_err(|error| Refusal::one(error.code(), "amount", error.to_string()))?;
        self.seen.insert("tax_payment", payment.notice_id.clone(), &sha256);
        let json = crate::documents::canonical_json(&body);
        let mut records = vec![Record::new("tax_payment", payment.notice_id.clone(), String::new(), json, sha256)];
        let (mut releases, released) = self.secure(secured.released, now);
        records.append(&mut releases);
        Ok(Step {
            disposition: Disposition::Recorded,
            order_key: String::new(),
            status: Status::Released,
            waiting_for: Vec::new(),
            records,
            decision: None,
            released,
        })
    }
}

impl Engine {
    /// Rebuilds state from one stored record (in log order), without asking policy: decisions are applied as
    /// recorded. An `Err` means the log does not replay (a bug or a damaged store): the caller stops.
    pub fn replay(&mut self, kind: &str, key: &str, json: &str, sha256: &str, at: DateTime<Utc>) -> Result<(), String> {
        self.replaying = true;
        let result = self.replay_one(kind, key, json, sha256, at);
        self.replaying = false;
        result
    }

    fn replay_one(&mut self, kind: &str, key: &str, json: &str, sha256: &str, at: DateTime<Utc>) -> Result<(), String> {
        let fail = |what: &str| format!("replay of {kind} `{key}`: {what}");
        if kind == "decision" {
            let stored: StoredDecision =
                serde_json::from_str(json).map_err(|e| fail(&format!("the decision does not read: {e}")))?;
            return self.replay_decision(key, &stored, sha256, at).map_err(|e| fail(&e));
        }
        if let Some(doc_kind) = DocKind::parse(kind) {
            let body = crate::json::Json::parse(json).map_err(|e| fail(&format!("not JSON: {e}")))?;
            let document = crate::documents::parse_json_document(doc_kind, &body)
                .map_err(|errors| fail(&format!("the stored document no longer parses: {}", errors.0[0])))?;
            self.insert_document(document, key.to_owned(), sha256, at);
            return Ok(());
        }
        let body: Value = serde_json::from_str(json).map_err(|e| fail(&format!("not JSON: {e}")))?;
        let body = &body;
        match kind {
            "release" => {
                let order_key = self.order_key_of(key).ok_or_else(|| fail("unknown order"))?;
                let released_at = body["released_at"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map_or(at, |t| t.with_timezone(&Utc));
                let status = self.orders[&order_key].status;
                if status == Status::Released {
                    return Ok(()); // released by the payment replayed before it
                }
                self.release(&order_key, released_at);
                Ok(())
            }
            "inspection" => {
                let order_key = self.order_key_of(key).ok_or_else(|| fail("unknown order"))?;
                let finding = body["outcome"].as_str() == Some("finding");
                self.inspect(&order_key, finding, body.clone(), sha256.to_owned(), at)
                    .map(drop)
                    .map_err(|r| fail(&format!("{r:?}")))
            }
            "cancellation" => {
                let order_key = self.order_key_of(key).ok_or_else(|| fail("unknown order"))?;
                self.cancel(&order_key, body.clone(), sha256.to_owned(), at)
                    .map(drop)
                    .map_err(|r| fail(&format!("{r:?}")))
            }
            "return" => {
                // `platform/order_no/return_no`: neither a USCC nor an order number has a `/`, a return
                // number may.
                let mut parts = key.splitn(3, '/');
                let (Some(platform), Some(order_no), Some(return_no)) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(fail("key without a return number"));
                };
                let order_key =
                    self.order_key_of(&format!("{platform}/{order_no}")).ok_or_else(|| fail("unknown order"))?;
                let request = return_request(return_no, body).map_err(|e| fail(&e))?;
                let mut stored = body.clone();
                if let Some(object) = stored.as_object_mut() {
                    object.remove("restored");
                    object.remove("tax_not_collected");
                }
                self.return_goods(&order_key, &request, stored, sha256.to_owned(), at)
                    .map(drop)
                    .map_err(|r| fail(&format!("{r:?}")))
            }
            "tax_payment" => {
                let payment = tax_payment_of(body).map_err(|e| fail(&e))?;
                // Releases are replayed from their own records, which follow in the log.
                let secured = self
                    .bills
                    .pay(payment.agent.as_str(), &payment.period, &payment.notice_id, payment.amount_fen)
                    .map_err(|e| fail(&e.to_string()))?;
                self.seen.insert("tax_payment", payment.notice_id.clone(), sha256);
                self.secure(secured.released, at);
                Ok(())
            }
            other => Err(fail(&format!("unknown record kind `{other}`"))),
        }
    }

    fn replay_decision(
        &mut self,
        key: &str,
        stored: &StoredDecision,
        sha256: &str,
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        let order_key = self.order_key_of(key).ok_or("no documents before the decision")?;
        let waiting =
            self.orders.get_mut(&order_key).and_then(|e| e.waiting.take()).ok_or("the order is not waiting")?;
        self.incomplete.remove(&order_key);
        self.seen.insert("decision", key.to_owned(), sha256);
        if stored.risk.is_none() {
            // Refused by the checks (or the tax): nothing reserved.
            self.set_status(&order_key, stored.status);
            return Ok(());
        }
        let figures = DecisionFigures::from_stored(stored)?;
        let order = waiting.order.ok_or("the order document is missing")?;
        let decided_at = stored.decided_at.unwrap_or(at);
        let outcome = self.accept(&order_key, figures, decided_at, order)?;
        self.secure(outcome.freed, decided_at);
        if outcome.status != stored.status {
            return Err(format!("replays to {}, recorded {}", outcome.status.as_str(), stored.status.as_str()));
        }
        Ok(())
    }

    fn order_key_of(&self, text: &str) -> Option<OrderKey> {
        let (platform, order_no) = text.split_once('/')?;
        let key = OrderKey { platform: Uscc::parse(platform).ok()?, order_no: order_no.to_owned() };
        self.orders.contains_key(&key).then_some(key)
    }

    /// The order's state, when any of its documents was received.
    pub fn order(&self, key: &OrderKey) -> Option<OrderView> {
        let entry = self.orders.get(key)?;
        let decided = entry.decided.as_deref();
        Some(OrderView {
            order: key.to_string(),
            status: entry.status,
            waiting_for: entry.waiting.as_ref().map(|w| w.missing()).unwrap_or_default(),
            channel: decided.map(|d| d.channel.clone()),
            tax_fen: decided.map(|d| d.tax_fen),
            tax_secured: decided.map(|d| d.secured),
            released_at: decided.and_then(|d| d.released_at),
        })
    }

    /// A buyer's year against the limits in force.
    pub fn quota_view(&self, buyer: &str, year: i32, limits: &Limits) -> QuotaView {
        let (posted, pending) = self.quota.account(buyer, year).map_or((0, 0), |a| (a.posted_fen, a.pending_fen));
        QuotaView {
            year,
            limit_fen: limits.annual_fen,
            posted_fen: posted,
            pending_fen: pending,
            available_fen: (limits.annual_fen - posted - pending).max(0),
        }
    }

    /// Orders whose documents have waited longer than the configured time, oldest first.
    pub fn incomplete(&self, now: DateTime<Utc>) -> Vec<Incomplete> {
        let cutoff = now - self.config.incomplete_after;
        let mut found: Vec<Incomplete> = self
            .incomplete
            .iter()
            .filter_map(|key| {
                let waiting = self.orders.get(key)?.waiting.as_ref()?;
                let first_seen = waiting.first_seen?;
                (first_seen <= cutoff).then(|| Incomplete {
                    order: key.to_string(),
                    first_seen,
                    have: DocKind::ALL.into_iter().filter(|k| waiting.has(*k)).map(DocKind::as_str).collect(),
                    missing: waiting.missing(),
                })
            })
            .collect();
        found.sort_by(|a, b| (a.first_seen, &a.order).cmp(&(b.first_seen, &b.order)));
        found
    }

    /// The released order a traceability serial belongs to.
    pub fn traced(&self, serial: &str) -> Option<&OrderKey> {
        let prefix: [u8; crate::trace::PREFIX_LENGTH] =
            crate::trace::prefix_of_serial(serial)?.as_bytes().try_into().ok()?;
        self.key_of(*self.traces.get(&prefix)?)
    }

    /// Orders by status.
    pub fn counts(&self) -> &BTreeMap<&'static str, u64> {
        &self.counts
    }

    /// The agent's bills.
    pub fn bills(&self) -> &TaxAccounts {
        &self.bills
    }
}

/// Reads a return request from its JSON (`lines`, `applied_at`, `goods_back_at`).
pub fn return_request(return_no: &str, body: &Value) -> Result<ReturnRequest, String> {
    let time = |name: &str| {
        body[name]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| format!("`{name}` is an RFC 3339 time"))
    };
    let lines = match &body["lines"] {
        Value::Null => Vec::new(),
        Value::Array(lines) => lines
            .iter()
            .map(|l| l.as_u64().and_then(|l| u32::try_from(l).ok()).ok_or("`lines` are line numbers".to_owned()))
            .collect::<Result<_, _>>()?,
        _ => return Err("`lines` is a list of line numbers".into()),
    };
    Ok(ReturnRequest {
        return_no: return_no.to_owned(),
        lines,
        applied_at: time("applied_at")?,
        goods_back_at: time("goods_back_at")?,
    })
}

/// Reads the payment's figures from a stored, verified notice.
pub fn tax_payment_of(body: &Value) -> Result<TaxPayment, String> {
    let text = |name: &str| body[name].as_str().ok_or_else(|| format!("notice without `{name}`"));
    let amount: Decimal = text("amount")?.parse().map_err(|e| format!("notice `amount`: {e}"))?;
    Ok(TaxPayment {
        notice_id: text("notice_id")?.to_owned(),
        agent: Uscc::parse(text("agent")?).map_err(|e| format!("notice `agent`: {e:?}"))?,
        period: text("period")?.to_owned(),
        amount_fen: fen(amount),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_equals_another_exactly_when_their_texts_do() {
        let hex = "00ff10a9".repeat(8);
        assert!(matches!(Digest::of(&hex), Digest::Bytes(bytes) if bytes[..4] == [0x00, 0xff, 0x10, 0xa9]));
        assert_eq!(Digest::of(&hex), Digest::of(&hex.clone()));
        // Upper case, short, long or not hex: kept as text, so never equal to the lowercase digest.
        for other in [hex.to_uppercase(), hex[..62].to_owned(), format!("{hex}0"), format!("{}zz", &hex[..62])] {
            assert!(matches!(Digest::of(&other), Digest::Text(_)), "{other}");
            assert_ne!(Digest::of(&other), Digest::of(&hex));
            assert_eq!(Digest::of(&other), Digest::of(&other));
        }
    }

    #[test]
    fn seen_keeps_each_kind_apart() {
        let mut seen = Seen::default();
        let hex = "ab".repeat(32);
        seen.insert("order", "P/1".to_owned(), &hex);
        assert_eq!(seen.get("order", "P/1"), Some(&Digest::of(&hex)));
        assert_eq!(seen.get("payment", "P/1"), None);
        assert_eq!(seen.get("order", "P/2"), None);
    }
}
