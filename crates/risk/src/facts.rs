//! The typed fact model that risk-rule conditions (CEL expressions, see
//! [`crate::expr`]) are written against.
//!
//! Every struct here is plain data with public fields: whoever evaluates rules
//! fills them from the domain types; nothing is computed lazily. The field
//! names are the CEL identifiers officers write, e.g. `decl.flow`,
//! `items.exists(i, i.origin == 'KP')`, `declarant.credit`, `history.findings`.
//!
//! # Money
//!
//! Monetary amounts (`*_cny`) are exposed to CEL as `double`s in CNY because
//! `decl.value_cny > 50000.0` reads better than a count of fen. The amounts
//! come from 2-decimal decimals; converting such a decimal to the nearest
//! `f64` is monotone (a larger decimal never becomes a smaller double) and a
//! 2-decimal literal written in a rule converts the same way, so comparing an
//! amount with a 2-decimal literal (`>`, `>=`, `==`, …) gives the same answer
//! as comparing the exact decimals. Only arithmetic on amounts (sums,
//! products) can pick up binary rounding. Whoever needs exact integers can use
//! the `value_fen` fields (`int`, 1 CNY = 100 fen) on `decl` and on items.
//!
//! Derived amounts are defined as: `unit_value_cny = value_cny / quantity`
//! (`0.0` when the quantity is 0) and `kg_value_cny = value_cny / net_kg`
//! (`0.0` when the net weight is 0 or unknown).

use serde::Serialize;

/// Everything a rule condition can see about one declaration.
///
/// The CEL identifiers are the field names: `decl`, `items`, `declarant`,
/// `importer`, `credit` and `history`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Facts {
    /// The declaration's header (`decl`).
    pub decl: Decl,
    /// The declaration's lines, in line order (`items`).
    pub items: Vec<Item>,
    /// The enterprise that lodged the declaration (`declarant`).
    pub declarant: Party,
    /// The importer (consignee) of the goods (`importer`).
    pub importer: Party,
    /// The effective credit class: the lower of the declarant's and the
    /// importer's (`advanced` > `ordinary` > `dishonest`).
    pub credit: String,
    /// The declarant's past record (`history`).
    pub history: History,
}

/// The declaration header, `decl` in CEL.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Decl {
    /// The declaration reference.
    pub reference: String,
    /// The special customs supervision zone code.
    pub zone: String,
    /// The movement: `first_line_in`, `first_line_out`, `second_line_out`,
    /// `second_line_in` or `zone_transfer`.
    pub flow: String,
    /// The declared purpose of the goods.
    pub purpose: String,
    /// The declaration date, `YYYY-MM-DD`.
    pub declared_on: String,
    /// The invoice currency (ISO 4217).
    pub currency: String,
    /// The declarant's unified social credit code (USCC).
    pub declarant: String,
    /// The importer's unified social credit code (USCC).
    pub importer: String,
    /// The sum of the items' customs values, in CNY (see the module docs on money).
    pub value_cny: f64,
    /// The same sum in fen (exact).
    pub value_fen: i64,
    /// The number of items.
    pub items_count: i64,
}

/// One declaration line, an element of `items` in CEL.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Item {
    /// The line number, 1-based.
    pub line: i64,
    /// The 8-digit HS code.
    pub hs: String,
    /// The first 6 digits of the HS code.
    pub hs6: String,
    /// The first 4 digits of the HS code (heading).
    pub hs4: String,
    /// The first 2 digits of the HS code (chapter).
    pub chapter: String,
    /// The goods description.
    pub description: String,
    /// The country of origin, ISO 3166 alpha-2; `""` when unknown.
    pub origin: String,
    /// The unit of quantity.
    pub unit: String,
    /// The quantity, in `unit`.
    pub quantity: f64,
    /// The net weight in kg; `0.0` when unknown.
    pub net_kg: f64,
    /// The customs value in CNY.
    pub value_cny: f64,
    /// The customs value in fen (exact).
    pub value_fen: i64,
    /// `value_cny / quantity`; `0.0` when the quantity is 0.
    pub unit_value_cny: f64,
    /// `value_cny / net_kg`; `0.0` when the net weight is 0.
    pub kg_value_cny: f64,
    /// The tariff treatment applied (e.g. `bonded`, `taxed`, `exempt`).
    pub treatment: String,
    /// The kinds of the supporting documents attached to the line.
    pub documents: Vec<String>,
}

/// An enterprise taking part in the declaration: `declarant` and `importer`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Party {
    /// The unified social credit code.
    pub uscc: String,
    /// The customs credit class: `advanced`, `ordinary` or `dishonest`.
    pub credit: String,
    /// The watch lists and programmes the enterprise is on (e.g. `rd_enterprise`).
    pub lists: Vec<String>,
    /// Whether the enterprise is registered in the zone.
    pub zone_registered: bool,
}

/// The declarant's past record, `history` in CEL.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct History {
    /// The number of past declarations.
    pub declarations: i64,
    /// How many of them were inspected.
    pub inspections: i64,
    /// How many inspections found a discrepancy.
    pub findings: i64,
    /// `findings / inspections`; `0.0` when there were no inspections.
    pub finding_rate: f64,
}

impl Facts {
    /// A realistic 2-item declaration (laptops and fasteners going out of the
    /// zone through the second line), used for validation dry-runs and docs.
    pub fn example() -> Facts {
        let declarant = "91440400MA4UJ0J57H".to_string();
        let importer = "91440400MA55H0P10R".to_string();
        Facts {
            decl: Decl {
                reference: "ZG2026000123".into(),
                zone: "hengqin".into(),
                flow: "second_line_out".into(),
                purpose: "resale".into(),
                declared_on: "2026-03-14".into(),
                currency: "USD".into(),
                declarant: declarant.clone(),
                importer: importer.clone(),
                value_cny: 128_460.50,
                value_fen: 12_846_050,
                items_count: 2,
            },
            items: vec![
                Item {
                    line: 1,
                    hs: "84713000".into(),
                    hs6: "847130".into(),
                    hs4: "8471".into(),
                    chapter: "84".into(),
                    description: "Portable laptop computer, 14 inch".into(),
                    origin: "CN".into(),
                    unit: "C62".into(),
                    quantity: 40.0,
                    net_kg: 64.0,
                    value_cny: 126_000.00,
                    value_fen: 12_600_000,
                    unit_value_cny: 3_150.00,
                    kg_value_cny: 1_968.75,
                    treatment: "bonded".into(),
                    documents: vec!["invoice".into(), "packing_list".into()],
                },
                Item {
                    line: 2,
                    hs: "73181500".into(),
                    hs6: "731815".into(),
                    hs4: "7318".into(),
                    chapter: "73".into(),
                    description: "Steel hex bolts M8".into(),
                    origin: "VN".into(),
                    unit: "KGM".into(),
                    quantity: 250.0,
                    net_kg: 250.0,
                    value_cny: 2_460.50,
                    value_fen: 246_050,
                    unit_value_cny: 9.842,
                    kg_value_cny: 9.842,
                    treatment: "taxed".into(),
                    documents: vec!["invoice".into()],
                },
            ],
            declarant: Party {
                uscc: declarant,
                credit: "ordinary".into(),
                lists: vec!["rd_enterprise".into()],
                zone_registered: true,
            },
            importer: Party { uscc: importer, credit: "advanced".into(), lists: vec![], zone_registered: false },
            credit: "ordinary".into(),
            history: History { declarations: 312, inspections: 18, findings: 2, finding_rate: 2.0 / 18.0 },
        }
    }
}
