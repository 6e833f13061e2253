//! Write-off (核销) reports per enterprise, stock counts, JSON and CSV.
//!
//! [`write_off_report`] gathers the [`WriteOffStatement`] of every item of an enterprise for a period and
//! compares each with a physical count; [`WriteOffReport::to_csv`] renders it; [`plan_stocktake`] plans
//! the adjustments that make book stock equal the count.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::documents::Problem;
use crate::engine::Ledger;
use crate::model::{AccountKind, LedgerItem, LedgerKey, Transfer, TransferCode, Treatment};
use crate::movement::{format_quantity, link, plan_movement, DocumentIds, Line};
use crate::writeoff::{CountResult, WriteOffStatement};

impl Ledger {
    /// The enterprise's ledger items, sorted by item number.
    pub fn enterprise_items(&self, enterprise: &str) -> Vec<&LedgerItem> {
        let mut items: Vec<&LedgerItem> = self.items().filter(|i| i.key.enterprise_uscc == enterprise).collect();
        items.sort_by(|a, b| a.key.item_no.cmp(&b.key.item_no));
        items
    }
}

/// One item of a write-off report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOffRow {
    /// Item number (料号).
    pub item_no: String,
    /// HS code.
    pub hs_code: String,
    /// Declared unit.
    pub unit: String,
    /// Decimal places of the item's quantities.
    pub quantity_scale: u8,
    /// Customs treatment.
    pub treatment: Treatment,
    /// The item's statement for the period.
    pub statement: WriteOffStatement,
    /// Physically counted quantity (smallest unit), if counted.
    pub counted: Option<u64>,
    /// Comparison of the count with the closing book stock, if counted.
    pub result: Option<CountResult>,
}

/// The write-off (核销) report of an enterprise for `[from, to)`: one row per ledger item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOffReport {
    /// Enterprise USCC.
    pub enterprise: String,
    /// Period start (inclusive).
    pub from: DateTime<Utc>,
    /// Period end (exclusive).
    pub to: DateTime<Utc>,
    /// One row per item, by item number.
    pub rows: Vec<WriteOffRow>,
}

/// Builds the write-off report of `enterprise` for `[from, to)`; `counts` maps item numbers to counted
/// quantities (smallest unit). Items not in `counts` have no count and no result.
pub fn write_off_report(
    ledger: &Ledger,
    enterprise: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    counts: &BTreeMap<String, u64>,
) -> WriteOffReport {
    let rows = ledger
        .enterprise_items(enterprise)
        .into_iter()
        .filter_map(|item| {
            let statement = ledger.write_off_statement(&item.key, from, to)?;
            let counted = counts.get(&item.key.item_no).copied();
            let result = counted.map(|c| statement.compare(c as i128));
            Some(WriteOffRow {
                item_no: item.key.item_no.clone(),
                hs_code: item.hs_code.clone(),
                unit: item.unit.clone(),
                quantity_scale: item.quantity_scale,
                treatment: item.treatment,
                statement,
                counted,
                result,
            })
        })
        .collect();
    WriteOffReport { enterprise: enterprise.to_string(), from, to, rows }
}

/// Formats signed fen as yuan with two decimals (`-1234` → `-12.34`).
pub fn format_yuan(fen: i128) -> String {
    format_quantity(fen, 2)
}

/// Quotes a CSV field per RFC 4180 when it contains a comma, a double quote, CR or LF.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV columns of [`WriteOffReport::to_csv`].
pub const CSV_HEADER: [&str; 15] = [
    "item_no",
    "hs_code",
    "unit",
    "opening",
    "entries",
    "production",
    "exits",
    "consumption",
    "write_offs",
    "other_in",
    "other_out",
    "closing",
    "counted",
    "difference",
    "closing_value_cny",
];

impl WriteOffReport {
    /// The report as CSV: a header row ([`CSV_HEADER`]) and one row per item, lines ending in `\n`.
    /// Quantities are formatted at the item's scale; `counted` and `difference` (counted − closing) are
    /// empty for items without a count; `closing_value_cny` is yuan with two decimals. Fields containing
    /// a comma, a double quote or a line break are quoted per RFC 4180.
    pub fn to_csv(&self) -> String {
        let mut out = CSV_HEADER.join(",");
        out.push('\n');
        for r in &self.rows {
            let s = &r.statement;
            let q = |v: i128| format_quantity(v, r.quantity_scale);
            let fields = [
                r.item_no.clone(),
                r.hs_code.clone(),
                r.unit.clone(),
                q(s.opening.quantity),
                q(s.entries.quantity),
                q(s.production.quantity),
                q(s.exits.quantity),
                q(s.consumption.quantity),
                q(s.write_offs.quantity),
                q(s.other_in.quantity),
                q(s.other_out.quantity),
                q(s.closing.quantity),
                r.counted.map(|c| q(c as i128)).unwrap_or_default(),
                r.counted.map(|c| q(c as i128 - s.closing.quantity)).unwrap_or_default(),
                format_yuan(s.closing.value_fen),
            ];
            let fields: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }
}

/// Plans the stock-count adjustments of a report, one linked chain, so that book stock equals the count
/// afterwards: each shortage is a `stocktake_shortage` (stock → adjustment) at the average cost of the
/// stock, each surplus a `stocktake_surplus` (adjustment → stock) valued at the average unit value of the
/// item's available stock (half up). Shortages come first (transfer indices `0..`), then surpluses.
/// Rows without a count or balanced produce nothing; a report with nothing to adjust plans no transfers.
///
/// Problems (all at once, field `rows[i].counted`): `report_stale` when the item's book stock now (posted,
/// custody accounts) differs from the report's closing (re-run the report up to now);
/// `stock_insufficient` when a shortage exceeds what is available in stock (e.g. goods out on
/// exhibition or lease, or reserved); `value_basis_missing` for a surplus of an item with no stock value
/// to value it by; `item_unknown` for an item no longer on the ledger.
pub fn plan_stocktake(
    ledger: &Ledger,
    ids: DocumentIds<'_>,
    report: &WriteOffReport,
    at: DateTime<Utc>,
) -> Result<Vec<Transfer>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut shortages: Vec<(usize, Line)> = Vec::new();
    let mut surpluses: Vec<(usize, Line)> = Vec::new();
    for (i, row) in report.rows.iter().enumerate() {
        let field = format!("rows[{i}].counted");
        let diff = match row.result {
            Some(CountResult::Shortage(d)) => -d,
            Some(CountResult::Surplus(d)) => d,
            _ => continue,
        };
        let key = LedgerKey::new(&report.enterprise, &row.item_no);
        let Some(stock) = ledger.account_of(&report.enterprise, &row.item_no, AccountKind::Stock) else {
            problems.push(Problem::new(
                "item_unknown",
                field,
                format!("item `{}` has no stock account on the ledger of {}", row.item_no, report.enterprise),
            ));
            continue;
        };
        let scale = row.quantity_scale;
        let book: i128 = ledger
            .accounts_of(&key)
            .iter()
            .filter(|r| r.account.kind.is_custody())
            .map(|r| r.balances.quantity.posted_net())
            .sum();
        if book != row.statement.closing.quantity {
            problems.push(Problem::new(
                "report_stale",
                field,
                format!(
                    "item `{}`: book stock is {} now, the report closed at {}; re-run the report",
                    row.item_no,
                    format_quantity(book, scale),
                    format_quantity(row.statement.closing.quantity, scale)
                ),
            ));
            continue;
        }
        let Ok(quantity) = u64::try_from(diff.unsigned_abs()) else {
            problems.push(Problem::new("quantity_too_large", field, "the difference overflows"));
            continue;
        };
        let Some(b) = ledger.balance(stock) else { continue };
        if diff < 0 {
            if quantity as i128 > b.available_quantity {
                problems.push(Problem::new(
                    "stock_insufficient",
                    field,
                    format!(
                        "item `{}`: shortage of {} but only {} available in stock; bring goods back from \
                         exhibition or lease, or settle reservations, first",
                        row.item_no,
                        format_quantity(quantity as i128, scale),
                        format_quantity(b.available_quantity.max(0), scale)
                    ),
                ));
                continue;
            }
            shortages.push((i, Line { item_no: row.item_no.clone(), quantity, value_fen: None }));
        } else {
            let (q, v) = (b.available_quantity, b.available_value_fen);
            if q <= 0 || v <= 0 {
                problems.push(Problem::new(
                    "value_basis_missing",
                    field,
                    format!(
                        "item `{}`: surplus of {} but no valued stock to value it by",
                        row.item_no,
                        format_quantity(quantity as i128, scale)
                    ),
                ));
                continue;
            }
            let (q, v) = (q as u128, v as u128);
            let Ok(value) = u64::try_from((v * quantity as u128 + q / 2) / q) else {
                problems.push(Problem::new("value_too_large", field, "the surplus value overflows"));
                continue;
            };
            surpluses.push((i, Line { item_no: row.item_no.clone(), quantity, value_fen: Some(value) }));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let remap = |rows: &[(usize, Line)], ps: Vec<Problem>| -> Vec<Problem> {
        ps.into_iter()
            .map(|mut p| {
                let k = p
                    .field
                    .strip_prefix("lines[")
                    .and_then(|r| r.split_once(']'))
                    .and_then(|(k, _)| k.parse::<usize>().ok());
                p.field = match k.and_then(|k| rows.get(k)) {
                    Some((i, _)) => format!("rows[{i}].counted"),
                    None => "rows".to_string(),
                };
                p
            })
            .collect()
    };
    let mut transfers = Vec::new();
    if !shortages.is_empty() {
        let lines: Vec<Line> = shortages.iter().map(|(_, l)| l.clone()).collect();
        let planned = plan_movement(
            ledger,
            ids,
            0,
            TransferCode::StocktakeShortage,
            AccountKind::Stock,
            AccountKind::Adjustment,
            &lines,
            false,
            at,
        );
        match planned {
            Ok(t) => transfers.extend(t),
            Err(ps) => problems.extend(remap(&shortages, ps)),
        }
    }
    if !surpluses.is_empty() {
        let lines: Vec<Line> = surpluses.iter().map(|(_, l)| l.clone()).collect();
        let planned = plan_movement(
            ledger,
            ids,
            shortages.len() as u32,
            TransferCode::StocktakeSurplus,
            AccountKind::Adjustment,
            AccountKind::Stock,
            &lines,
            false,
            at,
        );
        match planned {
            Ok(t) => transfers.extend(t),
            Err(ps) => problems.extend(remap(&surpluses, ps)),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    link(&mut transfers);
    Ok(transfers)
}
