//! Facts from the domain: the declaration, its assessed items and its parties, as rule conditions see them.

use crate::engine::lower_class;
use crate::facts::{Decl, Facts, History, Item, Party};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use zonegate_domain::{CreditClass, Declaration};

/// What the assessment found for one item.
pub struct AssessedItem<'a> {
    pub customs_value_cny: Decimal,
    pub treatment: &'a str,
}

/// A party as the risk engine sees it: its credit class in force and the zone lists it is on.
pub struct PartyView<'a> {
    pub uscc: &'a str,
    pub credit: CreditClass,
    pub lists: Vec<String>,
    pub zone_registered: bool,
}

/// A declarant's record so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Record {
    pub declarations: i64,
    pub inspections: i64,
    pub findings: i64,
}

fn to_f64(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

fn to_fen(value: Decimal) -> i64 {
    (value * Decimal::ONE_HUNDRED).round().to_i64().unwrap_or(i64::MAX)
}

fn party(view: &PartyView<'_>) -> Party {
    Party {
        uscc: view.uscc.to_owned(),
        credit: view.credit.as_str().to_owned(),
        lists: view.lists.clone(),
        zone_registered: view.zone_registered,
    }
}

/// The net weight of an item in kilograms: its quantity when declared in kilograms or tonnes, else the
/// `net_kg` attribute, else 0 (unknown).
fn net_kg(item: &zonegate_domain::Item) -> Decimal {
    match item.unit.as_str() {
        "KGM" => item.quantity,
        "TNE" => item.quantity * Decimal::ONE_THOUSAND,
        _ => item.attributes.get("net_kg").copied().unwrap_or_default(),
    }
}

/// Builds the facts. `items` holds the assessment of each declared item, in order.
pub fn facts_of(
    declaration: &Declaration,
    items: &[AssessedItem<'_>],
    declarant: &PartyView<'_>,
    importer: &PartyView<'_>,
    record: Record,
) -> Facts {
    let mut total = Decimal::ZERO;
    let facts_items: Vec<Item> = declaration
        .items
        .iter()
        .zip(items)
        .enumerate()
        .map(|(index, (item, assessed))| {
            let value = assessed.customs_value_cny;
            total += value;
            let kg = net_kg(item);
            let hs = item.hs.to_string();
            let ratio = |by: Decimal| if by.is_zero() { 0.0 } else { to_f64(value / by) };
            Item {
                line: index as i64 + 1,
                hs6: hs[..6].to_owned(),
                hs4: hs[..4].to_owned(),
                chapter: hs[..2].to_owned(),
                hs,
                description: item.description.clone(),
                origin: item.origin.as_ref().map(|o| o.as_str().to_owned()).unwrap_or_default(),
                unit: item.unit.as_str().to_owned(),
                quantity: to_f64(item.quantity),
                net_kg: to_f64(kg),
                value_cny: to_f64(value),
                value_fen: to_fen(value),
                unit_value_cny: ratio(item.quantity),
                kg_value_cny: ratio(kg),
                treatment: assessed.treatment.to_owned(),
                documents: item.documents.iter().map(|d| d.kind.clone()).collect(),
            }
        })
        .collect();
    Facts {
        decl: Decl {
            reference: declaration.reference.to_string(),
            zone: declaration.zone.as_str().to_owned(),
            flow: declaration.flow.as_str().to_owned(),
            purpose: declaration.purpose.as_str().to_owned(),
            declared_on: declaration.declared_on.format("%Y-%m-%d").to_string(),
            currency: declaration.currency.as_str().to_owned(),
            declarant: declaration.declarant.to_string(),
            importer: declaration.importer.to_string(),
            value_cny: to_f64(total),
            value_fen: to_fen(total),
            items_count: facts_items.len() as i64,
        },
        items: facts_items,
        declarant: party(declarant),
        importer: party(importer),
        credit: lower_class(declarant.credit, importer.credit).as_str().to_owned(),
        history: History {
            declarations: record.declarations,
            inspections: record.inspections,
            findings: record.findings,
            finding_rate: if record.inspections == 0 {
                0.0
            } else {
                record.findings as f64 / record.inspections as f64
            },
        },
    }
}
