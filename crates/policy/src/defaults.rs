//! The data shipped in the repository (`data/`), compiled in: the 2026 tariff subset and its supplement,
//! the VAT and consumption-tax tables, the Hengqin and Hainan profiles and their lists. It is the default
//! of a new store and the data of an offline `zonegate assess`.

use crate::book::{ListEntry, PolicyBook, WhitelistEntry, ZoneProfile};
use chrono::NaiveDate;
use std::str::FromStr;
use zonegate_domain::{FieldError, FieldErrors};
use zonegate_tariff::{import, CtRow, ExchangeRateRow, TariffBook, TariffLine, VatRow, Versioned};

/// The date the shipped 2026 schedule takes effect.
pub const SCHEDULE_2026_FROM: &str = "2026-01-01";

pub const TARIFF_2026_SUBSET: &str = include_str!("../../../data/tariff/china_2026_subset.csv");
pub const TARIFF_2026_SUPPLEMENT: &str = include_str!("../../../data/tariff/supplement_2026.csv");
pub const VAT_2026: &str = include_str!("../../../data/tariff/vat_2026.csv");
pub const CONSUMPTION_TAX_2026: &str = include_str!("../../../data/tariff/consumption_tax_2026.csv");
pub const GENERAL_RATE_ORIGINS: &str = include_str!("../../../data/tariff/general_rate_origins.csv");
pub const ZONE_PROFILES: &[&str] =
    &[include_str!("../../../data/zones/hengqin.toml"), include_str!("../../../data/zones/hainan.toml")];
pub const ZONE_LISTS: &str = include_str!("../../../data/zones/lists.csv");
/// The goods lists of measures 4 and 5 (`licence_required`, `tcm_approval_required`): example entries.
pub const LICENCE_LISTS: &str = include_str!("../data/licence_lists.csv");
pub const DEMO_LISTS: &str = include_str!("../../../data/demo/lists.csv");
pub const DEMO_EXCHANGE_RATES: &str = include_str!("../../../data/demo/exchange_rates.csv");
pub const DEMO_PARTIES: &str = include_str!("../../../data/demo/parties.json");

/// Policy data as rows, before it is indexed into a [`PolicyBook`]: the form the store keeps.
#[derive(Debug, Clone, Default)]
pub struct PolicyRows {
    pub tariff_lines: Vec<Versioned<TariffLine>>,
    pub vat: Vec<Versioned<VatRow>>,
    pub consumption_tax: Vec<Versioned<CtRow>>,
    pub exchange_rates: Vec<Versioned<ExchangeRateRow>>,
    pub general_rate_origins: Vec<Versioned<()>>,
    pub profiles: Vec<ZoneProfile>,
    pub lists: Vec<ListEntry>,
    /// Whitelisted enterprise × product pairs (measures 4 and 5).
    pub whitelist: Vec<WhitelistEntry>,
}

impl PolicyRows {
    pub fn extend(&mut self, other: PolicyRows) {
        self.tariff_lines.extend(other.tariff_lines);
        self.vat.extend(other.vat);
        self.consumption_tax.extend(other.consumption_tax);
        self.exchange_rates.extend(other.exchange_rates);
        self.general_rate_origins.extend(other.general_rate_origins);
        self.profiles.extend(other.profiles);
        self.lists.extend(other.lists);
        self.whitelist.extend(other.whitelist);
    }

    pub fn len(&self) -> usize {
        self.tariff_lines.len()
            + self.vat.len()
            + self.consumption_tax.len()
            + self.exchange_rates.len()
            + self.general_rate_origins.len()
            + self.profiles.len()
            + self.lists.len()
            + self.whitelist.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Indexes the rows, in order: a later row for the same key and date wins.
    pub fn to_book(&self) -> PolicyBook {
        let mut tariff = TariffBook::default();
        self.tariff_lines.iter().cloned().for_each(|row| tariff.lines.insert(row));
        self.vat.iter().cloned().for_each(|row| tariff.vat.insert(row));
        self.consumption_tax.iter().cloned().for_each(|row| tariff.consumption_tax.insert(row));
        self.exchange_rates.iter().cloned().for_each(|row| tariff.exchange_rates.insert(row));
        self.general_rate_origins.iter().cloned().for_each(|row| tariff.general_rate_origins.insert(row));
        let mut book = PolicyBook::new(tariff);
        self.profiles.iter().cloned().for_each(|profile| book.add_profile(profile));
        self.lists.iter().cloned().for_each(|entry| book.add_list_entry(entry));
        self.whitelist.iter().cloned().for_each(|entry| book.add_whitelist_entry(entry));
        book
    }
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::from_str(text).unwrap_or(NaiveDate::MIN)
}

/// Parses a zone list file (`zone, list, item, effective_from, active, note`), checking every entry.
pub fn list_entries(text: &str) -> Result<Vec<ListEntry>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut out = Vec::new();
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(error) => {
            return Err(
                FieldError::new("csv_malformed", "line 1", format!("the header row cannot be read: {error}")).into()
            )
        }
    };
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(zone), Some(list), Some(item), Some(from)) =
        (column("zone"), column("list"), column("item"), column("effective_from"))
    else {
        return Err(FieldError::new(
            "csv_column_missing",
            "line 1",
            "columns `zone`, `list`, `item`, `effective_from` are required",
        )
        .into());
    };
    let (active, note) = (column("active"), column("note"));
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                errors.add("csv_malformed", format!("line {line}"), format!("the row cannot be read: {error}"));
                continue;
            }
        };
        let cell = |position: Option<usize>| position.and_then(|p| record.get(p)).map(str::trim).unwrap_or("");
        let Ok(effective_from) = NaiveDate::parse_from_str(cell(Some(from)), "%Y-%m-%d") else {
            errors.add(
                "date_format",
                format!("line {line}, effective_from"),
                format!("`{}` is not a date; write YYYY-MM-DD", cell(Some(from))),
            );
            continue;
        };
        let entry = ListEntry {
            zone: cell(Some(zone)).to_owned(),
            list: cell(Some(list)).to_owned(),
            item: cell(Some(item)).to_owned(),
            effective_from,
            active: cell(active) != "false",
            note: cell(note).to_owned(),
        };
        for (code, field, message) in entry.problems() {
            errors.add(code, format!("line {line}, {field}"), message);
        }
        out.push(entry);
    }
    errors.into_result(out)
}

fn take<T: Default>(errors: &mut FieldErrors, result: Result<T, FieldErrors>, file: &str) -> T {
    result.unwrap_or_else(|problems| {
        for problem in problems.0 {
            errors.add(problem.code, format!("{file}: {}", problem.field), problem.message);
        }
        T::default()
    })
}

/// The shipped policy data (no demo entries). Errors here are bugs in `data/` and are caught by tests.
pub fn shipped_rows() -> Result<PolicyRows, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut rows = PolicyRows::default();
    let from = date(SCHEDULE_2026_FROM);
    rows.tariff_lines = take(&mut errors, import::tariff_lines(TARIFF_2026_SUBSET, from), "china_2026_subset.csv");
    rows.tariff_lines.extend(take(
        &mut errors,
        import::tariff_lines(TARIFF_2026_SUPPLEMENT, from),
        "supplement_2026.csv",
    ));
    rows.vat = take(&mut errors, import::vat_rows(VAT_2026), "vat_2026.csv");
    rows.consumption_tax =
        take(&mut errors, import::consumption_tax_rows(CONSUMPTION_TAX_2026), "consumption_tax_2026.csv");
    rows.general_rate_origins =
        take(&mut errors, import::general_rate_origin_rows(GENERAL_RATE_ORIGINS), "general_rate_origins.csv");
    rows.lists = take(&mut errors, list_entries(ZONE_LISTS), "lists.csv");
    rows.lists.extend(take(&mut errors, list_entries(LICENCE_LISTS), "licence_lists.csv"));
    for text in ZONE_PROFILES {
        match ZoneProfile::from_toml(text) {
            Ok(profile) => rows.profiles.push(profile),
            Err(error) => errors.add("profile_invalid", "zones", error.0),
        }
    }
    errors.into_result(rows)
}

/// The demo additions: illustrative list entries and monthly exchange rates.
pub fn demo_rows() -> Result<PolicyRows, FieldErrors> {
    Ok(PolicyRows {
        lists: list_entries(DEMO_LISTS)?,
        exchange_rates: import::exchange_rate_rows(DEMO_EXCHANGE_RATES)?,
        ..PolicyRows::default()
    })
}
