//! Shared helpers for the engine tests: a fake [`Policy`] over the shipped data, document builders and a
//! harness that feeds the engine and keeps every record it produces (for replay).

#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use zonegate_cbec::checks::Role;
use zonegate_cbec::documents::{canonical_json, canonical_sha256, parse_document, DocKind, Order, OrderKey};
use zonegate_cbec::engine::{
    china_day, return_request, Config, Engine, OrderView, Policy, QuotaView, Record, Refusal, Step, TaxPayment, Verdict,
};
use zonegate_cbec::identity::{check_character, ResidentId};
use zonegate_cbec::positive::{self, PositiveEntry, PositiveList};
use zonegate_cbec::tax::{self, Limits, OrderTax, TaxMode};
use zonegate_domain::{FieldErrors, HsCode, Uscc};
use zonegate_tariff::versioned::Versioned;
use zonegate_tariff::TariffBook;

pub const PLATFORM: &str = "91440400MA4UJ0J57H";
pub const ENTERPRISE: &str = "91440400MA55H0P10R";
pub const PAYCO: &str = "91350100M000100Y43";
pub const CARRIER: &str = "91440300MA5520010X";
/// A valid USCC registered for nothing.
pub const STRANGER: &str = "91440400MA5RD0010U";
pub const GTIN: &str = "06901234567892";

/// Milk powder (on the list, 13 % VAT): 3,000 CNY → 273.00.
pub const MILK: &str = "04021000";
/// Skin care (on the list).
pub const CREAM: &str = "33049900";
/// Wine (on the list).
pub const WINE: &str = "22042100";
/// Watches of precious metal (on the list; used for the indivisible item).
pub const WATCH: &str = "91011100";
/// Beer: in the tariff, not on the positive list.
pub const BEER: &str = "22030000";
/// Cane sugar: on the list with a 2 kg per-person cap. The shipped tariff subset has no chapter 17, so the
/// fake policy's book adds this line (a stand-in rate).
pub const SUGAR: &str = "17019910";

pub fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub fn uscc(text: &str) -> Uscc {
    Uscc::parse(text).unwrap()
}

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

pub fn key(order_no: &str) -> OrderKey {
    OrderKey { platform: uscc(PLATFORM), order_no: order_no.into() }
}

pub fn key_of(platform: &str, order_no: &str) -> OrderKey {
    OrderKey { platform: uscc(platform), order_no: order_no.into() }
}

/// A valid resident ID number for buyer `i` (distinct for distinct `i` below 1,000 × 3,000).
pub fn buyer_id(i: u32) -> String {
    let born = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(i64::from(i % 9000));
    let mut text = format!("440402{}{:03}", born.format("%Y%m%d"), (i / 9000) % 1000);
    let mut digits = [0u8; 17];
    digits.copy_from_slice(text.as_bytes());
    text.push(check_character(&digits));
    text
}

pub fn buyer_name(i: u32) -> String {
    format!("买家{i}")
}

pub fn buyer_key(i: u32) -> String {
    ResidentId::parse(&buyer_id(i)).unwrap().buyer_key()
}

/// The fake policy: registrations from a set, shipped limits, positive list and tariff, a guarantee per agent
/// and a risk channel per order number (default `release`).
pub struct FakePolicy {
    pub registered: HashSet<(String, Role)>,
    pub limits: Vec<Limits>,
    pub positive: PositiveList,
    pub book: TariffBook,
    pub guarantees: HashMap<String, i64>,
    pub channels: HashMap<String, String>,
}

pub fn book() -> TariffBook {
    let mut book = zonegate_policy::defaults::shipped_rows().expect("shipped policy data is valid").to_book().tariff;
    let milk = book.line(&HsCode::parse(MILK).unwrap(), day(2026, 3, 2)).expect("milk powder is in the book").clone();
    let mut sugar = milk;
    sugar.hs8 = SUGAR.into();
    sugar.name = "甘蔗糖".into();
    book.lines.insert(Versioned { key: SUGAR.into(), effective_from: day(2026, 1, 1), value: Some(sugar) });
    book
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

impl FakePolicy {
    pub fn new() -> FakePolicy {
        let mut registered = HashSet::new();
        registered.insert((PLATFORM.to_owned(), Role::Platform));
        registered.insert((ENTERPRISE.to_owned(), Role::Enterprise));
        registered.insert((PAYCO.to_owned(), Role::PaymentCompany));
        registered.insert((CARRIER.to_owned(), Role::LogisticsCompany));
        FakePolicy {
            registered,
            limits: tax::shipped_limits(),
            positive: positive::shipped(),
            book: book(),
            guarantees: HashMap::new(),
            channels: HashMap::new(),
        }
    }

    pub fn mode_for(&self, order: &Order, on: NaiveDate) -> TaxMode {
        let single = tax::limits_on(&self.limits, on).map_or(i64::MAX, |l| l.single_fen);
        let value = tax::to_fen(order.transaction_value()).unwrap_or(0);
        if value > single && order.items.len() == 1 && order.items[0].indivisible {
            TaxMode::FullGoodsRate
        } else {
            TaxMode::Ecommerce
        }
    }
}

impl Default for FakePolicy {
    fn default() -> FakePolicy {
        FakePolicy::new()
    }
}

impl Policy for FakePolicy {
    fn registered(&self, zone: &str, uscc: &Uscc, role: Role, _on: NaiveDate) -> bool {
        zone == "hengqin" && self.registered.contains(&(uscc.as_str().to_owned(), role))
    }
    fn limits(&self, on: NaiveDate) -> Option<Limits> {
        tax::limits_on(&self.limits, on).copied()
    }
    fn positive(&self, hs: &HsCode, on: NaiveDate) -> Option<PositiveEntry> {
        self.positive.covering(hs, on).cloned()
    }
    fn taxes(&self, order: &Order, on: NaiveDate, mode: TaxMode) -> Result<OrderTax, FieldErrors> {
        tax::order_taxes(&self.book, order, on, mode)
    }
    fn guarantee_fen(&self, agent: &Uscc, _on: NaiveDate) -> i64 {
        self.guarantees.get(agent.as_str()).copied().unwrap_or(0)
    }
    fn risk(&self, order: &Order, _tax: &OrderTax, _now: DateTime<Utc>) -> Verdict {
        let channel = self.channels.get(&order.key.order_no).cloned().unwrap_or_else(|| "release".into());
        Verdict { reasons: vec![format!("test.{channel}")], channel, detail: None }
    }
}

/// One order line.
#[derive(Debug, Clone)]
pub struct Line {
    pub hs: String,
    pub quantity: String,
    pub unit: String,
    pub net_kg: Option<String>,
    pub total: Decimal,
    pub indivisible: bool,
}

impl Line {
    /// `quantity` pieces (C62) for `total` CNY.
    pub fn pieces(hs: &str, quantity: u32, total: &str) -> Line {
        Line {
            hs: hs.into(),
            quantity: quantity.to_string(),
            unit: "C62".into(),
            net_kg: None,
            total: d(total),
            indivisible: false,
        }
    }
    /// `kg` kilograms (KGM, net weight the same) for `total` CNY.
    pub fn kg(hs: &str, kg: &str, total: &str) -> Line {
        Line {
            hs: hs.into(),
            quantity: kg.into(),
            unit: "KGM".into(),
            net_kg: Some(kg.into()),
            total: d(total),
            indivisible: false,
        }
    }
    pub fn indivisible(mut self) -> Line {
        self.indivisible = true;
        self
    }
}

/// An order to build documents for.
#[derive(Debug, Clone)]
pub struct Spec {
    pub platform: String,
    pub order_no: String,
    pub buyer: u32,
    pub lines: Vec<Line>,
    pub freight: Decimal,
    /// When the order was placed (the documents' own times).
    pub at: DateTime<Utc>,
}

impl Spec {
    pub fn new(order_no: &str, buyer: u32, lines: Vec<Line>, at: DateTime<Utc>) -> Spec {
        Spec { platform: PLATFORM.into(), order_no: order_no.into(), buyer, lines, freight: Decimal::ZERO, at }
    }
    pub fn value(&self) -> Decimal {
        self.lines.iter().map(|l| l.total).sum::<Decimal>() + self.freight
    }
    pub fn key(&self) -> OrderKey {
        key_of(&self.platform, &self.order_no)
    }
}

/// The three documents of an order.
#[derive(Debug, Clone)]
pub struct Docs {
    pub order: Value,
    pub payment: Value,
    pub waybill: Value,
}

impl Docs {
    pub fn get(&self, kind: DocKind) -> &Value {
        match kind {
            DocKind::Order => &self.order,
            DocKind::Payment => &self.payment,
            DocKind::Waybill => &self.waybill,
        }
    }
    /// Sets the order's withheld tax and the paid amount on both order and payment.
    pub fn set_paid(&mut self, tax: &str, paid: &str) {
        self.order["tax_withheld"] = json!(tax);
        self.order["paid"] = json!(paid);
        self.payment["amount"] = json!(paid);
    }
}

fn money(amount: Decimal) -> String {
    format!("{:.2}", amount)
}

/// Builds the three documents, the withheld tax computed with the policy (0 when not computable).
pub fn docs(policy: &FakePolicy, spec: &Spec) -> Docs {
    let ordered = spec.at.with_timezone(&zonegate_cbec::engine::china());
    let items: Vec<Value> = spec
        .lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let quantity = d(&line.quantity);
            let mut item = json!({
                "line": index + 1, "item_no": format!("SKU-{}", line.hs), "gtin": GTIN, "hs": line.hs,
                "name": format!("商品{}", line.hs), "origin": "NZ", "quantity": line.quantity, "unit": line.unit,
                "price": money((line.total / quantity).round_dp(2)), "total": money(line.total),
                "indivisible": line.indivisible,
            });
            if let Some(kg) = &line.net_kg {
                item["net_kg"] = json!(kg);
            }
            item
        })
        .collect();
    let goods: Decimal = spec.lines.iter().map(|l| l.total).sum();
    let id = buyer_id(spec.buyer);
    let name = buyer_name(spec.buyer);
    let consignee = json!({"name": name, "address": "广东省珠海市横琴新区环岛东路1号", "phone": "13800138000"});
    let transaction = format!("PAY-{}", spec.order_no);
    let mut order = json!({
        "platform": spec.platform, "order_no": spec.order_no, "enterprise": ENTERPRISE, "zone": "hengqin",
        "ordered_at": ordered.to_rfc3339(),
        "buyer": {"name": name, "id_type": "resident_id", "id_number": id, "phone": "13800138000"},
        "consignee": consignee,
        "payment_company": PAYCO, "transaction_id": transaction,
        "goods_value": money(goods), "freight": money(spec.freight), "insurance": "0.00", "discount": "0.00",
        "tax_withheld": "0.00", "paid": money(spec.value()),
        "items": items,
    });
    // The tax the platform withholds: what the policy computes.
    let parsed = match parse_document(DocKind::Order, &order) {
        Ok(zonegate_cbec::documents::Document::Order(order)) => order,
        other => panic!("test order does not parse: {other:?}"),
    };
    let on = china_day(spec.at);
    let tax = policy.taxes(&parsed, on, policy.mode_for(&parsed, on)).map(|t| t.total_fen).unwrap_or(0);
    let tax = Decimal::new(tax, 2);
    order["tax_withheld"] = json!(money(tax));
    let paid = money(spec.value() + tax);
    order["paid"] = json!(paid);
    let payment = json!({
        "payment_company": PAYCO, "transaction_id": transaction, "platform": spec.platform, "order_no": spec.order_no,
        "payer": {"name": name, "id_type": "resident_id", "id_number": id},
        "amount": paid, "paid_at": (ordered + chrono::Duration::minutes(1)).to_rfc3339(),
    });
    let waybill = json!({
        "logistics_company": CARRIER, "waybill_no": format!("WB-{}", spec.order_no), "platform": spec.platform,
        "order_no": spec.order_no, "consignee": consignee,
        "freight": money(spec.freight), "insurance": "0.00", "weight_kg": "2.5", "packages": 1
    });
    Docs { order, payment, waybill }
}

/// The engine, the policy and every record produced, with the time of its step.
pub struct Harness {
    pub engine: Engine,
    pub policy: FakePolicy,
    pub log: Vec<(Record, DateTime<Utc>)>,
    pub keys: BTreeSet<OrderKey>,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with(FakePolicy::new())
    }

    pub fn with(policy: FakePolicy) -> Harness {
        Harness { engine: Engine::new(Config::default()), policy, log: Vec::new(), keys: BTreeSet::new() }
    }

    fn keep(&mut self, result: &Result<Step, Refusal>, now: DateTime<Utc>) {
        if let Ok(step) = result {
            for record in &step.records {
                self.log.push((record.clone(), now));
            }
        }
    }

    pub fn send(&mut self, kind: DocKind, body: &Value, now: DateTime<Utc>) -> Result<Step, Refusal> {
        let document =
            parse_document(kind, body).unwrap_or_else(|e| panic!("test {} does not parse: {e:?}", kind.as_str()));
        self.keys.insert(document.order_key().clone());
        let result = self.engine.receive(&self.policy, document, canonical_json(body), canonical_sha256(body), now);
        self.keep(&result, now);
        result
    }

    /// Sends order, payment and waybill in that order; returns the last step.
    pub fn send_all(&mut self, docs: &Docs, now: DateTime<Utc>) -> Step {
        for kind in [DocKind::Order, DocKind::Payment] {
            let step = self.send(kind, docs.get(kind), now).unwrap();
            assert!(step.decision.is_none(), "decided before the third document");
        }
        self.send(DocKind::Waybill, &docs.waybill, now).unwrap()
    }

    pub fn place(&mut self, spec: &Spec) -> Step {
        let docs = docs(&self.policy, spec);
        self.send_all(&docs, spec.at)
    }

    pub fn cancel(&mut self, key: &OrderKey, now: DateTime<Utc>) -> Result<Step, Refusal> {
        let body = json!({"order": key.to_string(), "reason": "buyer cancelled"});
        let result = self.engine.cancel(key, body.clone(), canonical_sha256(&body), now);
        self.keep(&result, now);
        result
    }

    pub fn inspect(&mut self, key: &OrderKey, finding: bool, now: DateTime<Utc>) -> Result<Step, Refusal> {
        let body = json!({"order": key.to_string(), "outcome": if finding { "finding" } else { "clear" }});
        let result = self.engine.inspect(key, finding, body.clone(), canonical_sha256(&body), now);
        self.keep(&result, now);
        result
    }

    pub fn pay(
        &mut self,
        notice: &str,
        agent: &str,
        period: &str,
        amount_fen: i64,
        now: DateTime<Utc>,
    ) -> Result<Step, Refusal> {
        let body = json!({"notice_id": notice, "agent": agent, "period": period, "amount": Decimal::new(amount_fen, 2).to_string()});
        let payment = TaxPayment { notice_id: notice.into(), agent: uscc(agent), period: period.into(), amount_fen };
        let result = self.engine.pay(&payment, body.clone(), canonical_sha256(&body), now);
        self.keep(&result, now);
        result
    }

    pub fn return_goods(
        &mut self,
        key: &OrderKey,
        return_no: &str,
        lines: &[u32],
        applied_at: DateTime<Utc>,
        goods_back_at: DateTime<Utc>,
    ) -> Result<Step, Refusal> {
        let body =
            json!({"lines": lines, "applied_at": applied_at.to_rfc3339(), "goods_back_at": goods_back_at.to_rfc3339()});
        let request = return_request(return_no, &body).unwrap();
        let result = self.engine.return_goods(key, &request, body.clone(), canonical_sha256(&body), applied_at);
        self.keep(&result, applied_at);
        result
    }

    pub fn view(&self, key: &OrderKey) -> OrderView {
        self.engine.order(key).unwrap_or_else(|| panic!("order {key} unknown"))
    }

    pub fn quota(&self, buyer: u32, year: i32) -> QuotaView {
        let limits = tax::limits_on(&self.policy.limits, day(year, 6, 1)).copied().unwrap();
        self.engine.quota_view(&buyer_key(buyer), year, &limits)
    }

    /// A fresh engine with every record replayed.
    pub fn replayed(&self) -> Engine {
        let mut engine = Engine::new(Config::default());
        for (record, now) in &self.log {
            engine
                .replay(record.kind, &record.key, &record.json, &record.sha256, *now)
                .unwrap_or_else(|e| panic!("replay failed: {e}"));
        }
        engine
    }

    /// Asserts a replayed engine shows the same orders, quotas (of `buyers` in `years`) and bills.
    pub fn assert_replay_equal(&self, replayed: &Engine, buyers: impl IntoIterator<Item = u32>, years: &[i32]) {
        for key in &self.keys {
            assert_eq!(replayed.order(key), self.engine.order(key), "order {key} after replay");
        }
        for buyer in buyers {
            for &year in years {
                let limits = tax::limits_on(&self.policy.limits, day(year, 6, 1)).copied().unwrap();
                assert_eq!(
                    replayed.quota_view(&buyer_key(buyer), year, &limits),
                    self.engine.quota_view(&buyer_key(buyer), year, &limits),
                    "quota of buyer {buyer} in {year} after replay"
                );
            }
        }
        for agent in [PLATFORM, STRANGER] {
            assert_eq!(replayed.bills().bills_of(agent), self.engine.bills().bills_of(agent), "bills of {agent}");
            assert_eq!(replayed.bills().guarantee(agent), self.engine.bills().guarantee(agent), "guarantee of {agent}");
        }
        assert_eq!(replayed.counts(), self.engine.counts(), "counts after replay");
    }
}

impl Default for Harness {
    fn default() -> Harness {
        Harness::new()
    }
}

/// The failed check ids of a decision.
pub fn reasons(decision: &Value) -> Vec<String> {
    decision["reasons"]
        .as_array()
        .map(|r| r.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// The ids of the checks of a decision, with whether each passed.
pub fn checks(decision: &Value) -> Vec<(String, bool)> {
    decision["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_owned(), c["passed"].as_bool().unwrap()))
        .collect()
}

pub fn refusal_codes(refusal: &Refusal) -> Vec<&'static str> {
    match refusal {
        Refusal::Invalid(errors) => errors.iter().map(|e| e.code).collect(),
        Refusal::Conflict { .. } => vec!["conflict"],
    }
}
