//! Bonded exhibitions (measure 2): goods out of stock to a venue and back, sales into the customs
//! territory, and the data patrol over what is still on exhibition.
//!
//! Exhibited goods stay bonded in the `exhibited` custody account: moving them out and back does not
//! change book stock. A sale moves them to `mainland` at book value (average cost of the exhibited goods);
//! the sale price is separate data the app taxes. Unsold goods come back to stock.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::documents::{with_problems, Problem};
use crate::engine::Ledger;
use crate::model::{AccountKind, Transfer, TransferCode};
use crate::movement::{plan_movement, DocumentIds, Line};

/// An exhibition of bonded goods at a venue outside the enterprise's premises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exhibition {
    /// Exhibition (filing) number.
    pub number: String,
    /// Where the goods are shown.
    pub venue: String,
    /// First day of the exhibition.
    pub opened_on: NaiveDate,
    /// Last day the goods may stay out; they are overdue from the next day on.
    pub allowed_until: NaiveDate,
    /// The goods sent out.
    pub lines: Vec<Line>,
}

impl Exhibition {
    /// Problems with the exhibition head, all at once: `number_empty` (`number`), `venue_empty`
    /// (`venue`), `dates_unordered` (`allowed_until` before `opened_on`), `period_too_long`
    /// (`allowed_until` more than `max_days` days after `opened_on`, e.g. 180). Lines are checked by
    /// [`plan_exhibition_out`].
    pub fn problems(&self, max_days: u32) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.number.trim().is_empty() {
            problems.push(Problem::new("number_empty", "number", "the exhibition needs a number"));
        }
        if self.venue.trim().is_empty() {
            problems.push(Problem::new("venue_empty", "venue", "the exhibition needs a venue"));
        }
        let days = (self.allowed_until - self.opened_on).num_days();
        if days < 0 {
            problems.push(Problem::new(
                "dates_unordered",
                "allowed_until",
                format!("allowed until {} is before the opening on {}", self.allowed_until, self.opened_on),
            ));
        } else if days > i64::from(max_days) {
            problems.push(Problem::new(
                "period_too_long",
                "allowed_until",
                format!("{days} days out; at most {max_days} days after the opening"),
            ));
        }
        problems
    }
}

fn at_book_value(lines: &[Line]) -> Vec<Line> {
    lines.iter().map(|l| Line { value_fen: None, ..l.clone() }).collect()
}

/// Plans sending the exhibition's goods out (`exhibition_out`, stock → exhibited) at average cost, one
/// linked chain. Reports the head's problems ([`Exhibition::problems`]) together with the lines'
/// (`lines[i].…`, see [`plan_movement`]). Line values are ignored: goods move at book value.
pub fn plan_exhibition_out(
    ledger: &Ledger,
    ids: DocumentIds<'_>,
    exhibition: &Exhibition,
    max_days: u32,
    at: DateTime<Utc>,
) -> Result<Vec<Transfer>, Vec<Problem>> {
    let problems = exhibition.problems(max_days);
    let planned = plan_movement(
        ledger,
        ids,
        0,
        TransferCode::ExhibitionOut,
        AccountKind::Stock,
        AccountKind::Exhibited,
        &at_book_value(&exhibition.lines),
        false,
        at,
    );
    with_problems(problems, planned)
}

/// Plans bringing exhibited goods back (`exhibition_back`, exhibited → stock) at the average cost of the
/// exhibited goods. Problems as [`plan_movement`]; `stock_insufficient` means more than is still out.
pub fn plan_exhibition_back(
    ledger: &Ledger,
    ids: DocumentIds<'_>,
    lines: &[Line],
    at: DateTime<Utc>,
) -> Result<Vec<Transfer>, Vec<Problem>> {
    plan_movement(
        ledger,
        ids,
        0,
        TransferCode::ExhibitionBack,
        AccountKind::Exhibited,
        AccountKind::Stock,
        &at_book_value(lines),
        false,
        at,
    )
}

/// Plans a sale of exhibited goods into the customs territory (`exhibition_sale`, exhibited → mainland)
/// at book value: the average cost of the exhibited goods. Line values are ignored (the sale price is
/// separate data the app taxes). Problems as [`plan_movement`].
pub fn plan_exhibition_sale(
    ledger: &Ledger,
    ids: DocumentIds<'_>,
    lines: &[Line],
    at: DateTime<Utc>,
) -> Result<Vec<Transfer>, Vec<Problem>> {
    plan_movement(
        ledger,
        ids,
        0,
        TransferCode::ExhibitionSale,
        AccountKind::Exhibited,
        AccountKind::Mainland,
        &at_book_value(lines),
        false,
        at,
    )
}

/// What happened to one item of an exhibition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExhibitedItem {
    /// Quantity sent out.
    pub out: u64,
    /// Quantity brought back.
    pub back: u64,
    /// Quantity sold (with a recorded, taxed sale).
    pub sold: u64,
}

impl ExhibitedItem {
    /// What should still be at the venue: `out − back − sold` (never below zero).
    pub fn on_exhibition(&self) -> u64 {
        self.out.saturating_sub(self.back).saturating_sub(self.sold)
    }
}

/// A patrol count at the venue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatrolCount {
    /// Day of the count.
    pub on: NaiveDate,
    /// Quantity found per item number; an item missing from the count was not found (zero).
    pub counts: BTreeMap<String, u64>,
}

/// The state of one exhibition, built by the app from its documents (out, back, sale) and patrols.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExhibitionState {
    /// Exhibition number.
    pub exhibition: String,
    /// Last day the goods may stay out.
    pub allowed_until: NaiveDate,
    /// Per item number.
    pub items: BTreeMap<String, ExhibitedItem>,
    /// The latest patrol count, if any.
    pub last_patrol: Option<PatrolCount>,
}

impl ExhibitionState {
    /// A state with nothing out yet.
    pub fn new(exhibition: impl Into<String>, allowed_until: NaiveDate) -> Self {
        Self { exhibition: exhibition.into(), allowed_until, items: BTreeMap::new(), last_patrol: None }
    }

    /// The state right after the exhibition's goods went out.
    pub fn from_exhibition(exhibition: &Exhibition) -> Self {
        let mut s = Self::new(exhibition.number.clone(), exhibition.allowed_until);
        for l in &exhibition.lines {
            s.record_out(&l.item_no, l.quantity);
        }
        s
    }

    /// Records goods sent out.
    pub fn record_out(&mut self, item_no: &str, quantity: u64) {
        self.items.entry(item_no.to_string()).or_default().out += quantity;
    }

    /// Records goods brought back.
    pub fn record_back(&mut self, item_no: &str, quantity: u64) {
        self.items.entry(item_no.to_string()).or_default().back += quantity;
    }

    /// Records goods sold (a recorded, taxed sale).
    pub fn record_sale(&mut self, item_no: &str, quantity: u64) {
        self.items.entry(item_no.to_string()).or_default().sold += quantity;
    }

    /// Records a patrol count; it replaces the last one unless that one is later.
    pub fn record_patrol(&mut self, on: NaiveDate, counts: BTreeMap<String, u64>) {
        if self.last_patrol.as_ref().is_some_and(|p| p.on > on) {
            return;
        }
        self.last_patrol = Some(PatrolCount { on, counts });
    }
}

/// Kind of a patrol finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatrolKind {
    /// Goods still on exhibition after `allowed_until`.
    Overdue,
    /// The last count found fewer goods than should be there: gone without a recorded, taxed sale.
    SoldWithoutTax,
    /// The last count found more goods than should be there.
    CountSurplus,
}

/// One anomaly found by the data patrol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatrolFinding {
    /// Exhibition number.
    pub exhibition: String,
    /// Item number.
    pub item_no: String,
    /// What was found.
    pub finding: PatrolKind,
    /// Quantity concerned (overdue quantity, missing quantity, surplus quantity).
    pub quantity: u64,
    /// Explanation for people.
    pub detail: String,
}

/// The data patrol report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatrolReport {
    /// Findings, by exhibition (input order) then item number.
    pub findings: Vec<PatrolFinding>,
}

/// Runs the data patrol over the exhibitions on `today`:
/// * `overdue`: goods still out (`out − back − sold > 0`) when `today > allowed_until`;
/// * `sold_without_tax`: the last patrol counted fewer than `out − back − sold` (an item missing from the
///   count counts as zero);
/// * `count_surplus`: the last patrol counted more (also items counted that never went out).
///
/// The count is compared with the state as recorded now, so the app builds the state up to the patrol.
pub fn patrol(states: &[ExhibitionState], today: NaiveDate) -> PatrolReport {
    let mut findings = Vec::new();
    for s in states {
        let mut items: BTreeMap<&str, u64> = s.items.iter().map(|(k, v)| (k.as_str(), v.on_exhibition())).collect();
        if let Some(p) = &s.last_patrol {
            for k in p.counts.keys() {
                items.entry(k.as_str()).or_insert(0);
            }
        }
        for (item_no, expected) in items {
            let mut finding = |kind: PatrolKind, quantity: u64, detail: String| {
                findings.push(PatrolFinding {
                    exhibition: s.exhibition.clone(),
                    item_no: item_no.to_string(),
                    finding: kind,
                    quantity,
                    detail,
                })
            };
            if expected > 0 && today > s.allowed_until {
                finding(
                    PatrolKind::Overdue,
                    expected,
                    format!("{expected} still on exhibition after {} (allowed until)", s.allowed_until),
                );
            }
            if let Some(p) = &s.last_patrol {
                let counted = p.counts.get(item_no).copied().unwrap_or(0);
                if counted < expected {
                    finding(
                        PatrolKind::SoldWithoutTax,
                        expected - counted,
                        format!(
                            "patrol on {} counted {counted}, {expected} should be on exhibition: {} gone without a \
                             recorded sale",
                            p.on,
                            expected - counted
                        ),
                    );
                } else if counted > expected {
                    finding(
                        PatrolKind::CountSurplus,
                        counted - expected,
                        format!("patrol on {} counted {counted}, only {expected} should be on exhibition", p.on),
                    );
                }
            }
        }
    }
    PatrolReport { findings }
}
