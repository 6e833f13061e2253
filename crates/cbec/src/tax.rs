//! The cross-border e-commerce retail import tax (跨境电子商务零售进口税收政策, domain-rules.md §3).
//!
//! Within the limits duty is 0 and VAT and consumption tax are 70 % of the statutory amounts (财关税〔2016〕
//! 18号, 〔2018〕49号); the taxable value is the actual transaction price (goods, freight and insurance, less
//! discounts) and there is no 50 CNY waiver. A single indivisible item over the single limit, alone on its
//! order and within the annual limit, stays e-commerce but is taxed in full at goods rates.
//!
//! The statutory figures come from the tariff arithmetic ([`compute_item`]): one item at a time, each tax
//! rounded to the fen, with the ids of the rate rows used. Money leaves this module in fen (`i64`).

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zonegate_domain::{round_fen, FieldErrors, Item};
use zonegate_tariff::compute::{apportion_fen, compute_item_with, ItemTaxInput, TaxesDue, Trace};
use zonegate_tariff::TariffBook;

use crate::documents::Order;

/// The single-transaction limit since 2019-01-01, fen (5,000 CNY). The figures in force are data:
/// [`shipped_limits`].
pub const SINGLE_LIMIT_FEN: i64 = 500_000;
/// The annual per-person limit since 2019-01-01, fen (26,000 CNY).
pub const ANNUAL_LIMIT_FEN: i64 = 2_600_000;

/// Basis id of the 70 % rate within the limits.
pub const BASIS_RATE_70PCT: &str = "cbec.rate_70pct";
/// Basis id of the full goods rates for a single indivisible item over the single limit.
pub const BASIS_INDIVISIBLE_FULL_RATE: &str = "cbec.indivisible_full_rate";

/// The share of the statutory VAT and consumption tax collected within the limits, percent.
pub fn ecommerce_rate_pct() -> Decimal {
    Decimal::from(70)
}

/// The e-commerce limits from a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub single_fen: i64,
    pub annual_fen: i64,
    pub effective_from: NaiveDate,
}

/// The limits in force on `date`: the row with the latest `effective_from` on or before it (the later of
/// two rows on the same date).
pub fn limits_on(rows: &[Limits], date: NaiveDate) -> Option<&Limits> {
    rows.iter().filter(|row| row.effective_from <= date).fold(None, |best: Option<&Limits>, row| match best {
        Some(best) if best.effective_from > row.effective_from => Some(best),
        _ => Some(row),
    })
}

/// The shipped limits: 2,000 / 20,000 CNY from 2016-04-08 (财关税〔2016〕18号) and 5,000 / 26,000 CNY from
/// 2019-01-01 (财关税〔2018〕49号).
pub fn shipped_limits() -> Vec<Limits> {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN);
    vec![
        Limits { single_fen: 200_000, annual_fen: 2_000_000, effective_from: date(2016, 4, 8) },
        Limits { single_fen: SINGLE_LIMIT_FEN, annual_fen: ANNUAL_LIMIT_FEN, effective_from: date(2019, 1, 1) },
    ]
}

/// How an order is taxed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxMode {
    /// Within the limits: no duty, 70 % of the statutory VAT and consumption tax.
    Ecommerce,
    /// A single indivisible item over the single limit: duty, consumption tax and VAT in full.
    FullGoodsRate,
}

/// The taxes of one order line, fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTax {
    /// The platform's line number.
    pub line: u32,
    /// The line's share of the transaction value: its taxable value.
    pub value_fen: i64,
    pub duty_fen: i64,
    pub consumption_tax_fen: i64,
    pub vat_fen: i64,
    pub basis: Vec<String>,
    /// Each step of the arithmetic, readable by an officer. A decision stores the figures and the basis
    /// ids, not these texts (they were half its size): they are rendered again when the order is read,
    /// from the order and the tariff data in force on the decision's day ([`OrderTax::explains`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<String>,
}

impl LineTax {
    /// The figures of the line, without its trace.
    fn figures(&self) -> (u32, i64, i64, i64, i64, &[String]) {
        (self.line, self.value_fen, self.duty_fen, self.consumption_tax_fen, self.vat_fen, &self.basis)
    }
}

/// The taxes of an order, fen; totals are sums of the line figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTax {
    pub lines: Vec<LineTax>,
    pub duty_fen: i64,
    pub consumption_tax_fen: i64,
    pub vat_fen: i64,
    pub total_fen: i64,
    /// The mode's id, then every line's basis ids, each once, in order of first use.
    pub basis: Vec<String>,
}

impl OrderTax {
    /// Whether `self` (computed again, with its trace) explains the stored `figures`: every line's value,
    /// taxes and basis ids are the same, so its trace is the arithmetic that gave them.
    pub fn explains(&self, stored: &OrderTax) -> bool {
        self.total_fen == stored.total_fen
            && self.basis == stored.basis
            && self.lines.len() == stored.lines.len()
            && self.lines.iter().zip(&stored.lines).all(|(a, b)| a.figures() == b.figures())
    }

    /// The same figures without the trace texts: what a decision stores.
    pub fn without_trace(mut self) -> OrderTax {
        for line in &mut self.lines {
            line.trace = Vec::new();
        }
        self
    }
}

/// An amount in whole fen, or `None` when it has fractions of a fen or does not fit.
pub fn to_fen(amount: Decimal) -> Option<i64> {
    let fen = amount * Decimal::ONE_HUNDRED;
    if fen.fract().is_zero() {
        fen.to_i64()
    } else {
        None
    }
}

/// Fen as CNY.
pub fn fen_to_cny(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

/// Rounded CNY (half-up) in fen.
fn rounded_fen(amount: Decimal) -> i64 {
    to_fen(round_fen(amount)).unwrap_or(i64::MAX)
}

fn exact_fen(amount: Decimal, field: String, errors: &mut FieldErrors) -> i64 {
    to_fen(amount).unwrap_or_else(|| {
        errors.add("amount_precision", field, format!("`{amount}` is not an amount in whole fen"));
        0
    })
}

/// The domain item the tariff arithmetic sees for an order line.
fn item_of(line: &crate::documents::OrderItem, value: Decimal) -> Item {
    let mut attributes = BTreeMap::new();
    if let Some(net_kg) = line.net_kg {
        attributes.insert("net_kg".to_owned(), net_kg);
    }
    Item {
        hs: line.hs,
        description: line.name.clone(),
        quantity: line.quantity,
        unit: line.unit.clone(),
        value,
        origin: Some(line.origin.clone()),
        attributes,
        processing: None,
        documents: Vec::new(),
    }
}

/// The taxes of an order on `date` (the rate date: the day the list is declared) in `mode`.
///
/// The transaction value (goods + freight + insurance − discount) is apportioned over the lines by their
/// totals, exactly to the fen; each line is computed by the tariff arithmetic and, in
/// [`TaxMode::Ecommerce`], its consumption tax and VAT are each taken at 70 % and rounded to the fen.
/// Errors name the order's fields (`items[i].hs` for a line the tariff book cannot tax).
pub fn order_taxes(book: &TariffBook, order: &Order, date: NaiveDate, mode: TaxMode) -> Result<OrderTax, FieldErrors> {
    order_taxes_with(book, order, date, mode, Trace::Written)
}

/// [`order_taxes`] without the trace texts: the same figures and basis ids, what a decision stores
/// ([`OrderTax::without_trace`]) at a fraction of the cost.
pub fn order_figures(
    book: &TariffBook,
    order: &Order,
    date: NaiveDate,
    mode: TaxMode,
) -> Result<OrderTax, FieldErrors> {
    order_taxes_with(book, order, date, mode, Trace::Skipped)
}

fn order_taxes_with(
    book: &TariffBook,
    order: &Order,
    date: NaiveDate,
    mode: TaxMode,
    written: Trace,
) -> Result<OrderTax, FieldErrors> {
    let mut errors = FieldErrors::default();
    for (index, line) in order.items.iter().enumerate() {
        exact_fen(line.total, format!("items[{index}].total"), &mut errors);
    }
    let value_fen = exact_fen(order.transaction_value(), "transaction_value".to_owned(), &mut errors);
    if order.items.is_empty() {
        errors.add("items_missing", "items", "the order has no lines");
    }
    if value_fen < 0 {
        errors.add(
            "transaction_value_negative",
            "discount",
            format!("the transaction value `{}` is below zero", order.transaction_value()),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let weights: Vec<Decimal> = order.items.iter().map(|line| line.total).collect();
    let shares = apportion_fen(value_fen, &weights);

    let (due, mode_basis) = match mode {
        TaxMode::Ecommerce => (TaxesDue::NO_DUTY, BASIS_RATE_70PCT),
        TaxMode::FullGoodsRate => (TaxesDue::ALL, BASIS_INDIVISIBLE_FULL_RATE),
    };
    let share = ecommerce_rate_pct() / Decimal::ONE_HUNDRED;
    let mut lines = Vec::with_capacity(order.items.len());
    for (index, (line, line_fen)) in order.items.iter().zip(shares).enumerate() {
        let value = fen_to_cny(line_fen);
        let item = item_of(line, value);
        let input = ItemTaxInput { index, item: &item, customs_value_cny: value };
        let statutory = match compute_item_with(book, date, input, due, written) {
            Ok(taxes) => taxes,
            Err(problems) => {
                errors.extend(problems);
                continue;
            }
        };
        let mut trace = Vec::new();
        written.push(&mut trace, || {
            format!(
                "taxable value: {value} CNY (line total {} of the transaction value {} CNY, apportioned to the fen)",
                line.total,
                order.transaction_value()
            )
        });
        trace.extend(statutory.trace); // empty when skipped
        let mut basis = Vec::with_capacity(1 + statutory.basis.len());
        basis.push(mode_basis.to_owned());
        basis.extend(statutory.basis);
        let (duty_fen, consumption_tax_fen, vat_fen) = match mode {
            TaxMode::Ecommerce => {
                let ct = round_fen(statutory.consumption_tax_cny * share);
                let vat = round_fen(statutory.vat_cny * share);
                written.push(&mut trace, || {
                    format!(
                        "e-commerce ({BASIS_RATE_70PCT}): duty 0; consumption tax {} × 70% = {ct} CNY; VAT {} × 70% = {vat} CNY",
                        statutory.consumption_tax_cny, statutory.vat_cny
                    )
                });
                (0, rounded_fen(ct), rounded_fen(vat))
            }
            TaxMode::FullGoodsRate => {
                written.push(&mut trace, || {
                    format!(
                        "single indivisible item over the limit ({BASIS_INDIVISIBLE_FULL_RATE}): duty, consumption tax and VAT in full"
                    )
                });
                (
                    rounded_fen(statutory.duty_cny),
                    rounded_fen(statutory.consumption_tax_cny),
                    rounded_fen(statutory.vat_cny),
                )
            }
        };
        lines.push(LineTax {
            line: line.line,
            value_fen: line_fen,
            duty_fen,
            consumption_tax_fen,
            vat_fen,
            basis,
            trace,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let duty_fen = lines.iter().map(|line| line.duty_fen).sum();
    let consumption_tax_fen = lines.iter().map(|line| line.consumption_tax_fen).sum();
    let vat_fen = lines.iter().map(|line| line.vat_fen).sum();
    let mut basis: Vec<String> = Vec::new();
    for id in lines.iter().flat_map(|line| line.basis.iter()) {
        if !basis.contains(id) {
            basis.push(id.clone());
        }
    }
    Ok(OrderTax {
        lines,
        duty_fen,
        consumption_tax_fen,
        vat_fen,
        total_fen: duty_fen + consumption_tax_fen + vat_fen,
        basis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_limits_in_force_follow_their_dates() {
        let rows = shipped_limits();
        assert!(limits_on(&rows, date(2016, 4, 7)).is_none());
        assert_eq!(limits_on(&rows, date(2016, 4, 8)).unwrap().single_fen, 200_000);
        assert_eq!(limits_on(&rows, date(2018, 12, 31)).unwrap().annual_fen, 2_000_000);
        assert_eq!(limits_on(&rows, date(2019, 1, 1)).unwrap().annual_fen, ANNUAL_LIMIT_FEN);
        assert_eq!(limits_on(&rows, date(2026, 6, 1)).unwrap().single_fen, SINGLE_LIMIT_FEN);
    }

    #[test]
    fn fen_conversion_is_exact() {
        assert_eq!(to_fen(Decimal::new(27300, 2)), Some(27_300));
        assert_eq!(to_fen(Decimal::new(2730, 1)), Some(27_300));
        assert_eq!(to_fen(Decimal::new(2731, 3)), None);
        assert_eq!(to_fen(Decimal::new(-150, 2)), Some(-150));
    }
}
