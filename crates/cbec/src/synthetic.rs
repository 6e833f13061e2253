//! Seeded e-commerce traffic for benchmarks, load and crash tests: valid orders, payments and waybills of a
//! fixed set of registered companies and a population of buyers, deterministic for a seed.
//!
//! The goods are milk powder (VAT 13 %, no consumption tax) and skin care (15 % consumption tax), both on
//! the positive list; the withheld tax is the e-commerce figure computed here the same way `tax` does
//! (70 % of VAT on the value, and of consumption tax for skin care), so check (6) passes.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::engine::china;
use crate::identity::check_character;

/// The companies of the synthetic traffic (valid USCCs). Register them on `cbec_platform`,
/// `cbec_enterprise`, `cbec_payment` and `cbec_logistics` of zone [`ZONE`].
pub const PLATFORM: &str = "91440400MA4UJ0J57H";
pub const ENTERPRISE: &str = "91440400MA55H0P10R";
pub const PAYMENT_COMPANY: &str = "91350100M000100Y43";
pub const LOGISTICS_COMPANY: &str = "91440300MA5520010X";
pub const ZONE: &str = "hengqin";

/// (zone list, company) pairs to register before sending the traffic.
pub const REGISTRATIONS: [(&str, &str); 4] = [
    ("cbec_platform", PLATFORM),
    ("cbec_enterprise", ENTERPRISE),
    ("cbec_payment", PAYMENT_COMPANY),
    ("cbec_logistics", LOGISTICS_COMPANY),
];

/// (HS, name, GTIN, unit price in fen, e-commerce tax rate in 1/10,000 of the value).
const GOODS: [(&str, &str, &str, i64, i64); 4] = [
    ("04021000", "全脂奶粉 900g", "06901234567892", 19_800, 910),
    ("04021000", "脱脂奶粉 800g", "09501101530003", 26_800, 910),
    ("33049900", "保湿面霜 50ml", "04006381333931", 32_000, 2306),
    ("33049900", "精华液 30ml", "00012345600012", 45_900, 2306),
];

/// A valid resident ID number for buyer `i` (distinct for `i` below 9,000,000).
pub fn buyer_id(i: u32) -> String {
    let born = NaiveDate::from_ymd_opt(1960, 1, 1).expect("a date") + Duration::days(i64::from(i % 9000));
    let mut text = format!("440402{}{:03}", born.format("%Y%m%d"), (i / 9000) % 1000);
    let mut digits = [0u8; 17];
    digits.copy_from_slice(text.as_bytes());
    text.push(check_character(&digits));
    text
}

/// The generator of synthetic orders (the platform's one SplitMix64).
pub use zonegate_domain::rng::SplitMix64 as Rng;

fn money(fen: i64) -> String {
    Decimal::new(fen, 2).to_string()
}

/// The three documents of one order.
#[derive(Debug, Clone, PartialEq)]
pub struct Trio {
    pub order_no: String,
    pub order: Value,
    pub payment: Value,
    pub waybill: Value,
}

impl Trio {
    /// The three as batch entries (`{"kind", "document"}`), in the given order of kinds.
    pub fn entries(&self) -> [Value; 3] {
        [
            json!({"kind": "order", "document": self.order}),
            json!({"kind": "payment", "document": self.payment}),
            json!({"kind": "waybill", "document": self.waybill}),
        ]
    }
}

/// Order `n` of a run: 1–3 lines, a buyer among `buyers`, ordered at `at`. Values stay far below the single
/// limit; with enough buyers (≥ n / 40) nobody reaches the annual limit.
pub fn trio(run: &str, n: u64, buyers: u32, at: DateTime<Utc>, rng: &mut Rng) -> Trio {
    let order_no = format!("{run}-{n:09}");
    let buyer = (rng.below(u64::from(buyers.max(1)))) as u32;
    let id = buyer_id(buyer);
    let name = format!("买家{buyer}");
    let lines = 1 + rng.below(3) as usize;
    let mut items = Vec::with_capacity(lines);
    let (mut goods, mut tax) = (0i64, 0i64);
    for line in 0..lines {
        let (hs, item_name, gtin, price, rate) = GOODS[(line + rng.below(4) as usize) % GOODS.len()];
        let quantity = 1 + rng.below(2) as i64;
        let total = price * quantity;
        goods += total;
        // Half-up to the fen, like the tax module; within the 5 % tolerance either way.
        tax += (total * rate + 5_000) / 10_000;
        items.push(json!({
            "line": line + 1, "item_no": format!("SKU-{gtin}"), "gtin": gtin, "hs": hs, "name": item_name,
            "origin": "NZ", "quantity": quantity.to_string(), "unit": "C62", "net_kg": "0.9",
            "price": money(price), "total": money(total),
        }));
    }
    let freight = 1_000;
    let paid = goods + freight + tax;
    let ordered = at.with_timezone(&china());
    let consignee = json!({"name": name, "address": "广东省珠海市横琴新区环岛东路1889号", "phone": "13800138000"});
    let transaction = format!("P{order_no}");
    let order = json!({
        "platform": PLATFORM, "order_no": order_no, "enterprise": ENTERPRISE, "zone": ZONE,
        "ordered_at": ordered.to_rfc3339(),
        "buyer": {"name": name, "id_type": "resident_id", "id_number": id, "phone": "13800138000"},
        "consignee": consignee,
        "payment_company": PAYMENT_COMPANY, "transaction_id": transaction,
        "goods_value": money(goods), "freight": money(freight), "insurance": "0.00", "discount": "0.00",
        "tax_withheld": money(tax), "paid": money(paid),
        "items": items,
    });
    let payment = json!({
        "payment_company": PAYMENT_COMPANY, "transaction_id": transaction, "platform": PLATFORM,
        "order_no": order_no, "payer": {"name": name, "id_type": "resident_id", "id_number": id},
        "amount": money(paid), "paid_at": (ordered + Duration::seconds(30)).to_rfc3339(),
    });
    let waybill = json!({
        "logistics_company": LOGISTICS_COMPANY, "waybill_no": format!("W{order_no}"), "platform": PLATFORM,
        "order_no": order_no, "consignee": consignee, "freight": money(freight), "insurance": "0.00",
        "weight_kg": "2.1", "packages": 1,
    });
    Trio { order_no, order, payment, waybill }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::{parse_document, DocKind};

    #[test]
    fn generated_documents_parse_and_ids_are_valid() {
        let mut rng = Rng::new(7);
        let at = DateTime::parse_from_rfc3339("2026-11-28T02:00:00Z").unwrap().with_timezone(&Utc);
        for n in 0..200 {
            let trio = trio("T", n, 1_000, at, &mut rng);
            parse_document(DocKind::Order, &trio.order).unwrap();
            parse_document(DocKind::Payment, &trio.payment).unwrap();
            parse_document(DocKind::Waybill, &trio.waybill).unwrap();
        }
        for i in [0, 1, 8_999, 9_000, 123_456, 8_999_999] {
            crate::identity::ResidentId::parse(&buyer_id(i)).unwrap();
        }
    }
}
