//! Text formats of the tariff data, parsed into versioned rows. Every problem in a file is reported, each
//! with its line number and column, before anything is used.
//!
//! - Tariff lines: the layout of `china_import_tariff_2026_subset.csv` (`hs8, chapter, ex_line, name_zh,
//!   mfn_rate_pct, general_rate_pct, provisional_rate_pct, …`); a rate cell holds a percent (`10`), a
//!   specific rate (`2.00/LTR`) or a compound one (`20+1.00/LTR`). An optional `effective_from` column
//!   overrides the date given for the whole file.
//! - VAT: `id, hs_from, hs_to, rate_pct, effective_from`.
//! - Consumption tax: `id, hs_from, hs_to, measure, lower, upper, ad_valorem_pct, specific_cny,
//!   specific_per, suspended, effective_from`.
//! - Exchange rates: `currency, month, cny_per_unit` (month as `YYYY-MM`).
//! - General-rate origins: `country, effective_from, active`.

use crate::rates::{DutyRate, QuantityBasis, Specific};
use crate::tables::{Condition, CtRow, ExchangeRateRow, TariffLine, VatRow};
use crate::versioned::Versioned;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;
use zonegate_domain::{CountryCode, CurrencyCode, FieldErrors, HsCode};

/// Most rows one import may carry (the full Chinese schedule has about 8,900 lines).
pub const IMPORT_ROWS_MAX: usize = 100_000;

struct Rows {
    headers: HashMap<String, usize>,
    records: Vec<(usize, csv::StringRecord)>,
}

fn read_rows(text: &str, required: &[&str], errors: &mut FieldErrors) -> Option<Rows> {
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = match reader.headers() {
        Ok(headers) => {
            headers.iter().enumerate().map(|(index, name)| (name.trim().to_owned(), index)).collect::<HashMap<_, _>>()
        }
        Err(error) => {
            errors.add("csv_malformed", "line 1", format!("the header row cannot be read: {error}"));
            return None;
        }
    };
    let missing: Vec<&str> = required.iter().copied().filter(|name| !headers.contains_key(*name)).collect();
    if !missing.is_empty() {
        errors.add("csv_column_missing", "line 1", format!("columns `{}` are missing", missing.join("`, `")));
        return None;
    }
    let mut records = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        if records.len() >= IMPORT_ROWS_MAX {
            errors.add(
                "csv_too_many_rows",
                format!("line {line}"),
                format!("a file may hold at most {IMPORT_ROWS_MAX} rows"),
            );
            return None;
        }
        match record {
            Ok(record) => records.push((line, record)),
            Err(error) => {
                errors.add("csv_malformed", format!("line {line}"), format!("the row cannot be read: {error}"))
            }
        }
    }
    Some(Rows { headers, records })
}

impl Rows {
    fn cell<'a>(&self, record: &'a csv::StringRecord, column: &str) -> &'a str {
        self.headers.get(column).and_then(|index| record.get(*index)).map(str::trim).unwrap_or("")
    }
}

fn field(line: usize, column: &str) -> String {
    format!("line {line}, {column}")
}

fn parse_date(text: &str, line: usize, column: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            errors.add("date_format", field(line, column), format!("`{text}` is not a date; write YYYY-MM-DD"));
            None
        }
    }
}

fn parse_decimal(text: &str, line: usize, column: &str, errors: &mut FieldErrors) -> Option<Decimal> {
    match Decimal::from_str(text) {
        Ok(value) if !value.is_sign_negative() => Some(value),
        _ => {
            errors.add("decimal_format", field(line, column), format!("`{text}` is not a non-negative decimal number"));
            None
        }
    }
}

fn parse_hs_prefix(text: &str, line: usize, column: &str, errors: &mut FieldErrors) -> String {
    if text.len() > 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        errors.add("hs_format", field(line, column), format!("`{text}` is not an HS prefix of up to 8 digits"));
    }
    text.to_owned()
}

fn parse_rate_cell(text: &str, line: usize, column: &str, errors: &mut FieldErrors) -> Option<DutyRate> {
    if text.is_empty() {
        return None;
    }
    match DutyRate::from_str(text) {
        Ok(rate) => Some(rate),
        Err(message) => {
            errors.add("rate_format", field(line, column), message);
            None
        }
    }
}

/// Parses a tariff file of the `china_2026` layout. Rows take effect on `effective_from` unless the file
/// has its own `effective_from` column.
pub fn tariff_lines(text: &str, effective_from: NaiveDate) -> Result<Vec<Versioned<TariffLine>>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let required = ["hs8", "name_zh", "mfn_rate_pct", "general_rate_pct", "provisional_rate_pct"];
    let Some(rows) = read_rows(text, &required, &mut errors) else { return Err(errors) };
    let mut out = Vec::with_capacity(rows.records.len());
    let mut seen: HashMap<(String, NaiveDate), usize> = HashMap::new();
    for (line, record) in &rows.records {
        let line = *line;
        let hs8 = rows.cell(record, "hs8");
        if hs8.len() != 8 || HsCode::parse(hs8).is_err() {
            errors.add("hs_format", field(line, "hs8"), format!("`{hs8}` is not an 8-digit tariff line"));
        }
        let date = match rows.cell(record, "effective_from") {
            "" => Some(effective_from),
            text => parse_date(text, line, "effective_from", &mut errors),
        };
        let ex_line = match rows.cell(record, "ex_line") {
            "" | "false" => false,
            "true" => true,
            other => {
                errors.add("bool_format", field(line, "ex_line"), format!("`{other}` is not `true` or `false`"));
                false
            }
        };
        let line_row = TariffLine {
            hs8: hs8.to_owned(),
            name: rows.cell(record, "name_zh").to_owned(),
            mfn: parse_rate_cell(rows.cell(record, "mfn_rate_pct"), line, "mfn_rate_pct", &mut errors),
            general: parse_rate_cell(rows.cell(record, "general_rate_pct"), line, "general_rate_pct", &mut errors),
            provisional: parse_rate_cell(
                rows.cell(record, "provisional_rate_pct"),
                line,
                "provisional_rate_pct",
                &mut errors,
            ),
            ex_line,
        };
        if let Some(date) = date {
            if let Some(first) = seen.insert((hs8.to_owned(), date), line) {
                errors.add(
                    "duplicate_row",
                    field(line, "hs8"),
                    format!("line `{hs8}` already has a row for {date} at line {first}"),
                );
            }
            out.push(Versioned { key: hs8.to_owned(), effective_from: date, value: Some(line_row) });
        }
    }
    errors.into_result(out)
}

/// Parses the VAT table.
pub fn vat_rows(text: &str) -> Result<Vec<Versioned<VatRow>>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(rows) = read_rows(text, &["id", "hs_from", "hs_to", "rate_pct", "effective_from"], &mut errors) else {
        return Err(errors);
    };
    let mut out = Vec::new();
    for (line, record) in &rows.records {
        let line = *line;
        let id = rows.cell(record, "id").to_owned();
        if id.is_empty() {
            errors.add("id_missing", field(line, "id"), "every row needs an id");
        }
        let hs_from = parse_hs_prefix(rows.cell(record, "hs_from"), line, "hs_from", &mut errors);
        let hs_to = parse_hs_prefix(rows.cell(record, "hs_to"), line, "hs_to", &mut errors);
        let rate = parse_decimal(rows.cell(record, "rate_pct"), line, "rate_pct", &mut errors);
        let date = parse_date(rows.cell(record, "effective_from"), line, "effective_from", &mut errors);
        if let (Some(rate_pct), Some(date)) = (rate, date) {
            let row = VatRow { id: id.clone(), hs_from, hs_to, rate_pct };
            out.push(Versioned { key: id, effective_from: date, value: Some(row) });
        }
    }
    errors.into_result(out)
}

/// Parses the consumption-tax table.
pub fn consumption_tax_rows(text: &str) -> Result<Vec<Versioned<CtRow>>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let required = [
        "id",
        "hs_from",
        "hs_to",
        "measure",
        "lower",
        "upper",
        "ad_valorem_pct",
        "specific_cny",
        "specific_per",
        "effective_from",
    ];
    let Some(rows) = read_rows(text, &required, &mut errors) else { return Err(errors) };
    let mut out = Vec::new();
    for (line, record) in &rows.records {
        let line = *line;
        let id = rows.cell(record, "id").to_owned();
        if id.is_empty() {
            errors.add("id_missing", field(line, "id"), "every row needs an id");
        }
        let hs_from = parse_hs_prefix(rows.cell(record, "hs_from"), line, "hs_from", &mut errors);
        let hs_to = parse_hs_prefix(rows.cell(record, "hs_to"), line, "hs_to", &mut errors);
        if hs_from.is_empty() || hs_to.is_empty() {
            errors.add("hs_format", field(line, "hs_from"), "a consumption-tax row needs both bounds");
        }
        let condition = match rows.cell(record, "measure") {
            "" => None,
            measure => {
                let measure = Condition::parse_measure(measure)
                    .map_err(|m| errors.add("measure_format", field(line, "measure"), m))
                    .ok();
                let lower = Condition::parse_bound(rows.cell(record, "lower"))
                    .map_err(|m| errors.add("bound_format", field(line, "lower"), m))
                    .ok()
                    .flatten();
                let upper = Condition::parse_bound(rows.cell(record, "upper"))
                    .map_err(|m| errors.add("bound_format", field(line, "upper"), m))
                    .ok()
                    .flatten();
                measure.map(|measure| Condition { measure, lower, upper })
            }
        };
        let ad_valorem_pct = match rows.cell(record, "ad_valorem_pct") {
            "" => Some(Decimal::ZERO),
            text => parse_decimal(text, line, "ad_valorem_pct", &mut errors),
        };
        if ad_valorem_pct.is_some_and(|pct| pct >= Decimal::from(100)) {
            errors.add(
                "rate_format",
                field(line, "ad_valorem_pct"),
                "an ad valorem consumption tax must be below 100 %",
            );
        }
        let specific = match (rows.cell(record, "specific_cny"), rows.cell(record, "specific_per")) {
            ("", "") => None,
            (amount, per) => {
                let amount = parse_decimal(amount, line, "specific_cny", &mut errors);
                let per_basis = QuantityBasis::parse(per);
                if per_basis.is_none() {
                    errors.add(
                        "unit_unknown",
                        field(line, "specific_per"),
                        format!("`{per}` is not one of `LTR`, `KGM`, `TNE`, `C62`"),
                    );
                }
                amount.zip(per_basis).map(|(amount_cny, per)| Specific { amount_cny, per })
            }
        };
        let suspended = rows.cell(record, "suspended") == "true";
        let date = parse_date(rows.cell(record, "effective_from"), line, "effective_from", &mut errors);
        if let (Some(ad_valorem_pct), Some(date)) = (ad_valorem_pct, date) {
            let row = CtRow { id: id.clone(), hs_from, hs_to, condition, ad_valorem_pct, specific, suspended };
            out.push(Versioned { key: id, effective_from: date, value: Some(row) });
        }
    }
    errors.into_result(out)
}

/// Parses monthly exchange rates.
pub fn exchange_rate_rows(text: &str) -> Result<Vec<Versioned<ExchangeRateRow>>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(rows) = read_rows(text, &["currency", "month", "cny_per_unit"], &mut errors) else { return Err(errors) };
    let mut out = Vec::new();
    for (line, record) in &rows.records {
        let line = *line;
        let currency = rows.cell(record, "currency");
        if let Err(error) = CurrencyCode::parse(currency) {
            errors.add(error.code, field(line, "currency"), error.message);
        }
        let month = rows.cell(record, "month");
        let date = parse_date(&format!("{month}-01"), line, "month", &mut errors);
        let rate = parse_decimal(rows.cell(record, "cny_per_unit"), line, "cny_per_unit", &mut errors);
        if rate.is_some_and(|rate| rate.is_zero()) {
            errors.add("decimal_format", field(line, "cny_per_unit"), "an exchange rate must be above zero");
        }
        if let (Some(date), Some(cny_per_unit)) = (date, rate) {
            let row = ExchangeRateRow { currency: currency.to_owned(), cny_per_unit };
            out.push(Versioned { key: currency.to_owned(), effective_from: date, value: Some(row) });
        }
    }
    errors.into_result(out)
}

/// Parses the general-rate origins: `active=false` removes an origin from its date on.
pub fn general_rate_origin_rows(text: &str) -> Result<Vec<Versioned<()>>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(rows) = read_rows(text, &["country", "effective_from"], &mut errors) else { return Err(errors) };
    let mut out = Vec::new();
    for (line, record) in &rows.records {
        let line = *line;
        let country = rows.cell(record, "country");
        if let Err(error) = CountryCode::parse(country) {
            errors.add(error.code, field(line, "country"), error.message);
        }
        let active = rows.cell(record, "active") != "false";
        if let Some(date) = parse_date(rows.cell(record, "effective_from"), line, "effective_from", &mut errors) {
            out.push(Versioned { key: country.to_owned(), effective_from: date, value: active.then_some(()) });
        }
    }
    errors.into_result(out)
}
