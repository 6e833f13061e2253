//! Bonded leasing (measure 6): lease contracts on bonded stock, their rent schedule, and off-site
//! entrusted supervision.
//!
//! Leased goods move from `stock` to the `leased` custody account (`lease_out`) and come back with
//! `lease_return`; while leased they stay bonded and count in book stock. When the lessee is in the
//! mainland, the app assesses tax per rent instalment ([`Lease::instalments_due`]).
//!
//! **Entrusted supervision** (委托监管): heavy equipment that cannot physically enter the zone is leased
//! out while it stays off-site under the supervision of another customs office. Such goods are booked
//! exactly like other leased goods: they stay in the `leased` custody account (still bonded, still in
//! book stock), and the lease carries [`Lease::entrusted_supervision`] naming the supervising office
//! and the location.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::documents::{with_problems, Problem};
use crate::engine::Ledger;
use crate::model::{AccountKind, Transfer, TransferCode};
use crate::movement::{plan_movement, DocumentIds, Line};

/// One rent instalment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instalment {
    /// Day the rent is due.
    pub due_on: NaiveDate,
    /// Rent in fen (> 0).
    pub rent_fen: u64,
}

/// Off-site entrusted supervision of leased goods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entrusted {
    /// The customs office supervising the goods.
    pub office: String,
    /// Where the goods are.
    pub location: String,
}

/// A lease contract on bonded stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Contract number.
    pub number: String,
    /// Lessee name.
    pub lessee: String,
    /// Whether the lessee is in the customs territory (tax per rent instalment).
    pub lessee_in_mainland: bool,
    /// The goods leased.
    pub lines: Vec<Line>,
    /// First day of the lease.
    pub starts_on: NaiveDate,
    /// Last day of the lease.
    pub ends_on: NaiveDate,
    /// Rent instalments, strictly ascending due dates within `[starts_on, ends_on]`.
    pub schedule: Vec<Instalment>,
    /// Set when the goods stay off-site under entrusted supervision; they remain in the `leased` custody
    /// account (still bonded).
    pub entrusted_supervision: Option<Entrusted>,
}

impl Lease {
    /// Problems with the contract head and schedule, all at once: `number_empty` (`number`),
    /// `lessee_empty` (`lessee`), `dates_unordered` (`ends_on` before `starts_on`), `schedule_empty`
    /// (`schedule`), `due_not_ascending` and `due_outside_lease` (`schedule[i].due_on`), `rent_zero`
    /// (`schedule[i].rent_fen`), `office_empty` / `location_empty`
    /// (`entrusted_supervision.office` / `.location`). Lines are checked by [`plan_lease_out`].
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.number.trim().is_empty() {
            problems.push(Problem::new("number_empty", "number", "the lease needs a contract number"));
        }
        if self.lessee.trim().is_empty() {
            problems.push(Problem::new("lessee_empty", "lessee", "the lease needs a lessee"));
        }
        let ordered = self.starts_on <= self.ends_on;
        if !ordered {
            problems.push(Problem::new(
                "dates_unordered",
                "ends_on",
                format!("the lease ends on {} before it starts on {}", self.ends_on, self.starts_on),
            ));
        }
        if self.schedule.is_empty() {
            problems.push(Problem::new("schedule_empty", "schedule", "the lease has at least one rent instalment"));
        }
        let mut previous: Option<NaiveDate> = None;
        for (i, inst) in self.schedule.iter().enumerate() {
            let field = |name: &str| format!("schedule[{i}].{name}");
            if let Some(p) = previous {
                if inst.due_on <= p {
                    problems.push(Problem::new(
                        "due_not_ascending",
                        field("due_on"),
                        format!("due on {} is not after the previous instalment's {p}", inst.due_on),
                    ));
                }
            }
            if ordered && (inst.due_on < self.starts_on || inst.due_on > self.ends_on) {
                problems.push(Problem::new(
                    "due_outside_lease",
                    field("due_on"),
                    format!("due on {} is outside the lease {} – {}", inst.due_on, self.starts_on, self.ends_on),
                ));
            }
            if inst.rent_fen == 0 {
                problems.push(Problem::new("rent_zero", field("rent_fen"), "the rent must be above zero"));
            }
            previous = Some(inst.due_on);
        }
        if let Some(e) = &self.entrusted_supervision {
            if e.office.trim().is_empty() {
                problems.push(Problem::new(
                    "office_empty",
                    "entrusted_supervision.office",
                    "entrusted supervision names the supervising customs office",
                ));
            }
            if e.location.trim().is_empty() {
                problems.push(Problem::new(
                    "location_empty",
                    "entrusted_supervision.location",
                    "entrusted supervision names where the goods are",
                ));
            }
        }
        problems
    }

    /// The instalments due on or before `on` (index into the schedule, instalment), in schedule order.
    /// The app assesses each one once (tax per rent instalment when `lessee_in_mainland`), remembering
    /// the indices already assessed.
    pub fn instalments_due(&self, on: NaiveDate) -> Vec<(usize, &Instalment)> {
        self.schedule.iter().enumerate().filter(|(_, i)| i.due_on <= on).collect()
    }

    /// Σ rent of the whole schedule (fen).
    pub fn total_rent_fen(&self) -> u128 {
        self.schedule.iter().map(|i| i.rent_fen as u128).sum()
    }
}

/// Plans leasing the contract's goods out (`lease_out`, stock → leased) at average cost, one linked
/// chain. Reports [`Lease::problems`] together with the lines' problems (see [`plan_movement`]). Line
/// values are ignored: goods move at book value.
pub fn plan_lease_out(
    ledger: &Ledger,
    ids: DocumentIds<'_>,
    lease: &Lease,
    at: DateTime<Utc>,
) -> Result<Vec<Transfer>, Vec<Problem>> {
    let problems = lease.problems();
    let lines: Vec<Line> = lease.lines.iter().map(|l| Line { value_fen: None, ..l.clone() }).collect();
    let planned = plan_movement(
        ledger,
        ids,
        0,
        TransferCode::LeaseOut,
        AccountKind::Stock,
        AccountKind::Leased,
        &lines,
        false,
        at,
    );
    with_problems(problems, planned)
}

/// Plans leased goods coming back (`lease_return`, leased → stock) at the average cost of the leased
/// goods. Line values are ignored. Problems as [`plan_movement`]; `stock_insufficient` means more than is
/// leased out.
pub fn plan_lease_return(
    ledger: &Ledger,
    ids: DocumentIds<'_>,
    lines: &[Line],
    at: DateTime<Utc>,
) -> Result<Vec<Transfer>, Vec<Problem>> {
    let lines: Vec<Line> = lines.iter().map(|l| Line { value_fen: None, ..l.clone() }).collect();
    plan_movement(ledger, ids, 0, TransferCode::LeaseReturn, AccountKind::Leased, AccountKind::Stock, &lines, false, at)
}
