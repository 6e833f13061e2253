//! The rows of the tariff book: tariff lines, VAT rows, consumption-tax rows, exchange rates and the
//! origins that pay the general rate. All are versioned by [`VersionedSet`].

use crate::rates::{DutyRate, QuantityBasis, Specific};
use crate::versioned::VersionedSet;
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use zonegate_domain::{CountryCode, CurrencyCode, HsCode};

/// One version of an 8-digit tariff line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TariffLine {
    pub hs8: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfn: Option<DutyRate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general: Option<DutyRate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisional: Option<DutyRate>,
    /// The provisional rate covers only part of the line (an `ex` line of the provisional-rate annex).
    #[serde(default)]
    pub ex_line: bool,
}

/// A VAT row: the rate for tariff lines in `hs_from..=hs_to` (prefixes); the longest matching prefix wins,
/// and a row with empty bounds is the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VatRow {
    pub id: String,
    pub hs_from: String,
    pub hs_to: String,
    pub rate_pct: Decimal,
}

/// What a consumption-tax condition measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// The item's `engine_cc` attribute.
    EngineCc,
    /// Customs value in CNY per `per` units of `basis` (beer per tonne, cigarettes per 200, watches per piece).
    UnitValueCny { per: Decimal, basis: QuantityBasis },
}

/// A bound of a condition: `>1000`, `>=250`, `<=1500`, `<3000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    pub value: Decimal,
    pub inclusive: bool,
}

/// A range condition on a measure; both bounds optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub measure: Measure,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<Bound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<Bound>,
}

impl Condition {
    pub fn holds(&self, value: Decimal) -> bool {
        let above = self.lower.is_none_or(|b| if b.inclusive { value >= b.value } else { value > b.value });
        let below = self.upper.is_none_or(|b| if b.inclusive { value <= b.value } else { value < b.value });
        above && below
    }

    /// Parses `">1000"`, `">=250"` into a lower bound and `"<=1500"`, `"<3000"` into an upper bound.
    pub fn parse_bound(text: &str) -> Result<Option<Bound>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let (inclusive, number) = if let Some(rest) = text.strip_prefix(">=").or_else(|| text.strip_prefix("<=")) {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix('>').or_else(|| text.strip_prefix('<')) {
            (false, rest)
        } else {
            return Err(format!("`{text}` is not a bound; write `>1000`, `>=250`, `<=1500` or `<3000`"));
        };
        let value =
            Decimal::from_str(number.trim()).map_err(|_| format!("`{text}` has no number after its operator"))?;
        Ok(Some(Bound { value, inclusive }))
    }

    /// Parses a measure: `engine_cc` or `unit_value_cny_per_200_C62`.
    pub fn parse_measure(text: &str) -> Result<Measure, String> {
        if text == "engine_cc" {
            return Ok(Measure::EngineCc);
        }
        let bad =
            || format!("`{text}` is not a measure; write `engine_cc` or `unit_value_cny_per_<n>_<LTR|KGM|TNE|C62>`");
        let rest = text.strip_prefix("unit_value_cny_per_").ok_or_else(bad)?;
        let (per, basis) = rest.split_once('_').ok_or_else(bad)?;
        Ok(Measure::UnitValueCny {
            per: Decimal::from_str(per).map_err(|_| bad())?,
            basis: QuantityBasis::parse(basis).ok_or_else(bad)?,
        })
    }
}

/// A consumption-tax row (interchange.md §4). Among the rows whose range holds a line, those with the
/// longest `hs_from` apply; of those, the one whose condition holds. A row with zero rates means "none".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtRow {
    pub id: String,
    pub hs_from: String,
    pub hs_to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    #[serde(default)]
    pub ad_valorem_pct: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specific: Option<Specific>,
    /// Collection suspended: the row applies and its tax is zero (aviation kerosene).
    #[serde(default)]
    pub suspended: bool,
}

impl CtRow {
    pub fn rate(&self) -> DutyRate {
        let ad_valorem_pct = (!self.ad_valorem_pct.is_zero()).then_some(self.ad_valorem_pct);
        DutyRate { ad_valorem_pct, specific: self.specific }
    }
    pub fn is_none(&self) -> bool {
        self.suspended || (self.ad_valorem_pct.is_zero() && self.specific.is_none_or(|s| s.amount_cny.is_zero()))
    }
}

/// A monthly exchange rate: CNY per unit of `currency`, valid in the calendar month of its date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRateRow {
    pub currency: String,
    pub cny_per_unit: Decimal,
}

/// Everything the tax computation reads, as versioned rows.
#[derive(Debug, Clone, Default)]
pub struct TariffBook {
    /// Key: the 8-digit line.
    pub lines: VersionedSet<TariffLine>,
    /// Key: row id.
    pub vat: VersionedSet<VatRow>,
    /// Key: row id.
    pub consumption_tax: VersionedSet<CtRow>,
    /// Key: currency code; value valid only within the month of its `effective_from`.
    pub exchange_rates: VersionedSet<ExchangeRateRow>,
    /// Key: ISO alpha-2; presence means goods of that origin pay the general rate.
    pub general_rate_origins: VersionedSet<()>,
}

impl TariffBook {
    pub fn line(&self, hs: &HsCode, date: NaiveDate) -> Option<&TariffLine> {
        self.lines.in_force(hs.as_str(), date)
    }

    pub fn pays_general_rate(&self, origin: &CountryCode, date: NaiveDate) -> bool {
        self.general_rate_origins.in_force(origin.as_str(), date).is_some()
    }

    /// The VAT row for a line: the longest matching prefix wins; a tie goes to the lower id.
    pub fn vat_row(&self, hs: &HsCode, date: NaiveDate) -> Option<&VatRow> {
        self.vat
            .all_in_force(date)
            .map(|(_, row)| row)
            .filter(|row| row.hs_from.is_empty() || hs.in_range(&row.hs_from, &row.hs_to))
            .max_by(|a, b| a.hs_from.len().cmp(&b.hs_from.len()).then_with(|| b.id.cmp(&a.id)))
    }

    /// The consumption-tax rows that may apply to a line: those of the most specific matching range.
    pub fn ct_candidates(&self, hs: &HsCode, date: NaiveDate) -> Vec<&CtRow> {
        let matching: Vec<&CtRow> = self
            .consumption_tax
            .all_in_force(date)
            .map(|(_, row)| row)
            .filter(|row| hs.in_range(&row.hs_from, &row.hs_to))
            .collect();
        let longest = matching.iter().map(|row| row.hs_from.len()).max().unwrap_or(0);
        let mut rows: Vec<&CtRow> = matching.into_iter().filter(|row| row.hs_from.len() == longest).collect();
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        rows
    }

    /// CNY per unit of `currency` for a date: CNY is 1; others need a row of the same month.
    pub fn exchange_rate(&self, currency: &CurrencyCode, date: NaiveDate) -> Option<Decimal> {
        if currency.as_str() == "CNY" {
            return Some(Decimal::ONE);
        }
        let (from, row) = self.exchange_rates.in_force_since(currency.as_str(), date)?;
        (from.year() == date.year() && from.month() == date.month()).then_some(row.cny_per_unit)
    }
}
