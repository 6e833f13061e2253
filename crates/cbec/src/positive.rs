//! The positive list (跨境电子商务零售进口商品清单): the only goods that may be imported as cross-border
//! e-commerce retail, with the per-person annual caps some of them carry (domain-rules.md §3).
//!
//! Policy as data: each row names a tariff-line prefix and the dates it is in force, and a later row for the
//! same prefix supersedes the earlier one from its `effective_from` (the rows are kept in a
//! [`VersionedSet`] keyed by prefix). Goods are covered by the in-force row with the longest matching prefix.
//!
//! Provenance of the shipped data (`data/positive_list.csv`): the list as adjusted by eight ministries
//! (财政部等八部门, announced 2022-01-28, in force 2022-03-01). The file is a representative subset
//! by heading or chapter, **not** the 1,476 ten-digit lines of the official list; it illustrates the
//! categories (dairy and infant food, foods and drinks, cosmetics, clothing, small appliances, …) and the
//! two per-person caps (sugar 2 kg, rice 20 kg). Prefixes are 2 to 8 digits because tariff lines
//! ([`HsCode`]) are 8 digits; a ten-digit official line is represented by its eight-digit line.

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::HashMap;
use zonegate_domain::{FieldError, FieldErrors, HsCode};
use zonegate_tariff::{Versioned, VersionedSet};

/// The shipped list (see the module documentation for its provenance).
pub const POSITIVE_LIST_CSV: &str = include_str!("../data/positive_list.csv");

/// A per-person annual cap on the net weight of some listed goods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cap {
    /// Stable id shared by every row of the capped goods (`sugar`, `rice`).
    pub id: String,
    pub per_person_year_kg: Decimal,
}

impl Cap {
    /// The cap in grams (the unit of the quota book), or `None` when it is not a whole number of grams.
    pub fn per_person_year_g(&self) -> Option<i64> {
        kg_to_g(self.per_person_year_kg)
    }
}

/// Converts kilograms to whole grams exactly, or `None` when it is not a whole number of grams.
pub fn kg_to_g(kg: Decimal) -> Option<i64> {
    let grams = kg * Decimal::from(1000);
    if grams.fract().is_zero() {
        grams.to_i64()
    } else {
        None
    }
}

/// One row of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositiveEntry {
    /// 2 to 8 digits: a chapter, heading, subheading or tariff line.
    pub hs_prefix: String,
    pub effective_from: NaiveDate,
    /// Last day in force, inclusive; `None` while open.
    pub effective_to: Option<NaiveDate>,
    pub cap: Option<Cap>,
    /// What the goods are, for people.
    pub note: String,
}

impl PositiveEntry {
    /// True when the row is in force on `date` by its own dates.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.effective_from <= date && self.effective_to.is_none_or(|to| date <= to)
    }
}

/// The list, indexed by prefix.
#[derive(Debug, Clone, Default)]
pub struct PositiveList {
    rows: VersionedSet<PositiveEntry>,
}

impl PositiveList {
    /// Indexes the entries in order: a later entry for the same prefix and date wins.
    pub fn new(entries: impl IntoIterator<Item = PositiveEntry>) -> PositiveList {
        let mut rows = VersionedSet::new();
        for entry in entries {
            rows.insert(Versioned {
                key: entry.hs_prefix.clone(),
                effective_from: entry.effective_from,
                value: Some(entry),
            });
        }
        PositiveList { rows }
    }

    /// The entry covering `hs` on `on`: the longest prefix whose current version is in force that day.
    /// `None`: the goods are not on the list.
    pub fn covering(&self, hs: &HsCode, on: NaiveDate) -> Option<&PositiveEntry> {
        let line = hs.as_str();
        (2..=line.len())
            .rev()
            .find_map(|length| self.rows.in_force(&line[..length], on).filter(|entry| entry.in_force_on(on)))
    }

    /// Every cap in force on `on`, in grams, by cap id (for the quota book). A cap named by several rows
    /// takes the smallest figure.
    pub fn cap_limits_g(&self, on: NaiveDate) -> HashMap<String, i64> {
        let mut caps: HashMap<String, i64> = HashMap::new();
        for (_, entry) in self.rows.all_in_force(on) {
            let Some(cap) = entry.cap.as_ref().filter(|_| entry.in_force_on(on)) else { continue };
            let Some(grams) = cap.per_person_year_g() else { continue };
            caps.entry(cap.id.clone()).and_modify(|limit| *limit = (*limit).min(grams)).or_insert(grams);
        }
        caps
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The shipped list. The data is compiled in and checked by a test, so a failure here is a bug in
/// `data/positive_list.csv`.
pub fn shipped() -> PositiveList {
    PositiveList::new(parse_csv(POSITIVE_LIST_CSV).expect("data/positive_list.csv is valid (checked by a test)"))
}

const COLUMNS: [&str; 6] = ["hs_prefix", "effective_from", "effective_to", "cap_id", "cap_kg_per_person_year", "note"];

/// Parses a list file (`hs_prefix, effective_from, effective_to, cap_id, cap_kg_per_person_year, note`),
/// reporting every bad row with field `rows[i].column` (`i` counts data rows from 0).
pub fn parse_csv(text: &str) -> Result<Vec<PositiveEntry>, FieldErrors> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(error) => {
            return Err(
                FieldError::new("csv_malformed", "header", format!("the header row cannot be read: {error}")).into()
            )
        }
    };
    let mut positions = [0usize; 6];
    let mut errors = FieldErrors::default();
    for (slot, name) in positions.iter_mut().zip(COLUMNS) {
        match headers.iter().position(|header| header.trim() == name) {
            Some(position) => *slot = position,
            None => errors.add("csv_column_missing", "header", format!("column `{name}` is required")),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let [prefix_at, from_at, to_at, cap_id_at, cap_kg_at, note_at] = positions;
    let mut entries = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let field = |column: &str| format!("rows[{index}].{column}");
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                errors.add("csv_malformed", format!("rows[{index}]"), format!("the row cannot be read: {error}"));
                continue;
            }
        };
        let cell = |position: usize| record.get(position).map(str::trim).unwrap_or("");
        let before = errors.len();

        let hs_prefix = cell(prefix_at);
        if !(2..=8).contains(&hs_prefix.len()) || !hs_prefix.bytes().all(|b| b.is_ascii_digit()) {
            errors.add(
                "hs_prefix_format",
                field("hs_prefix"),
                format!("`{hs_prefix}` is not a tariff-line prefix; give 2 to 8 digits"),
            );
        }
        let date = |column: &str, text: &str, errors: &mut FieldErrors| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| {
                    errors.add("date_format", field(column), format!("`{text}` is not a date; write YYYY-MM-DD"))
                })
                .ok()
        };
        let effective_from = date("effective_from", cell(from_at), &mut errors);
        let effective_to = match cell(to_at) {
            "" => None,
            text => date("effective_to", text, &mut errors),
        };
        if let (Some(from), Some(to)) = (effective_from, effective_to) {
            if to < from {
                errors.add("date_order", field("effective_to"), format!("`{to}` is before effective_from `{from}`"));
            }
        }
        let cap = match (cell(cap_id_at), cell(cap_kg_at)) {
            ("", "") => None,
            ("", _) => {
                errors.add("cap_incomplete", field("cap_id"), "a cap needs an id as well as a weight");
                None
            }
            (_, "") => {
                errors.add("cap_incomplete", field("cap_kg_per_person_year"), "a cap needs a weight as well as an id");
                None
            }
            (id, kg) => {
                if !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                    errors.add(
                        "cap_id_format",
                        field("cap_id"),
                        format!("`{id}` is not a cap id; use lowercase letters, digits and `_`"),
                    );
                }
                match kg.parse::<Decimal>() {
                    Ok(value) if value > Decimal::ZERO && kg_to_g(value).is_some() => {
                        Some(Cap { id: id.to_owned(), per_person_year_kg: value })
                    }
                    _ => {
                        errors.add(
                            "cap_kg_format",
                            field("cap_kg_per_person_year"),
                            format!("`{kg}` is not a positive weight in kilograms with at most 3 decimals"),
                        );
                        None
                    }
                }
            }
        };
        if errors.len() > before {
            continue;
        }
        if let Some(effective_from) = effective_from {
            entries.push(PositiveEntry {
                hs_prefix: hs_prefix.to_owned(),
                effective_from,
                effective_to,
                cap,
                note: cell(note_at).to_owned(),
            });
        }
    }
    errors.into_result(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn hs(text: &str) -> HsCode {
        HsCode::parse(text).unwrap()
    }

    #[test]
    fn the_shipped_list_parses_and_covers_its_examples() {
        let entries = parse_csv(POSITIVE_LIST_CSV).unwrap();
        assert!(entries.len() >= 35);
        let list = shipped();
        let on = date("2026-03-01");
        assert_eq!(list.covering(&hs("04021000"), on).unwrap().hs_prefix, "0402");
        assert_eq!(list.covering(&hs("61091000"), on).unwrap().hs_prefix, "61");
        assert_eq!(list.covering(&hs("19011010"), on).unwrap().hs_prefix, "190110");
        assert!(list.covering(&hs("19019000"), on).is_none());
        assert!(list.covering(&hs("02013000"), on).is_none(), "meat is not on the list");
        assert!(list.covering(&hs("04021000"), date("2022-02-28")).is_none(), "before the 2022 list");
        let sugar = list.covering(&hs("17019990"), on).unwrap().cap.clone().unwrap();
        assert_eq!((sugar.id.as_str(), sugar.per_person_year_g()), ("sugar", Some(2_000)));
        let caps = list.cap_limits_g(on);
        assert_eq!(caps.get("rice"), Some(&20_000));
        assert_eq!(caps.len(), 2);
    }

    fn entry(prefix: &str, from: &str, to: Option<&str>, note: &str) -> PositiveEntry {
        PositiveEntry {
            hs_prefix: prefix.into(),
            effective_from: date(from),
            effective_to: to.map(date),
            cap: None,
            note: note.into(),
        }
    }

    #[test]
    fn the_longest_prefix_in_force_wins_and_later_rows_supersede() {
        let list = PositiveList::new([
            entry("33", "2019-01-01", None, "chapter"),
            entry("3304", "2019-01-01", Some("2021-12-31"), "heading, expired"),
            entry("330499", "2022-03-01", None, "subheading"),
            entry("33", "2023-01-01", Some("2023-12-31"), "chapter, second version"),
        ]);
        assert_eq!(list.covering(&hs("33049900"), date("2020-01-01")).unwrap().note, "heading, expired");
        assert_eq!(list.covering(&hs("33041000"), date("2022-01-01")).unwrap().note, "chapter");
        assert_eq!(list.covering(&hs("33049900"), date("2022-06-01")).unwrap().note, "subheading");
        assert_eq!(list.covering(&hs("33030000"), date("2023-06-01")).unwrap().note, "chapter, second version");
        assert!(list.covering(&hs("33030000"), date("2024-01-01")).is_none());
        assert!(list.covering(&hs("33030000"), date("2018-12-31")).is_none());
    }

    #[test]
    fn every_bad_row_is_reported_with_its_field() {
        let text = "hs_prefix,effective_from,effective_to,cap_id,cap_kg_per_person_year,note\n\
                    0402,2022-03-01,,,,ok\n\
                    04a2,2022-13-01,,,,bad prefix and date\n\
                    1701,2022-03-01,2021-01-01,sugar,,bad order and half a cap\n\
                    1006,2022-03-01,,Rice,0.0001,bad cap\n";
        let errors = parse_csv(text).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "rows[1].hs_prefix",
                "rows[1].effective_from",
                "rows[2].effective_to",
                "rows[2].cap_kg_per_person_year",
                "rows[3].cap_id",
                "rows[3].cap_kg_per_person_year"
            ]
        );
        let missing = parse_csv("hs_prefix,note\n0402,x\n").unwrap_err();
        assert_eq!(missing.len(), 4);
    }
}
