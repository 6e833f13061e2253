//! Write-off (核销) statements computed from the posted transfers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::Ledger;
use crate::model::{LedgerKey, TransferCode};

/// A signed quantity / value pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Amount {
    /// Quantity in the item's smallest unit.
    pub quantity: i128,
    /// Value in fen.
    pub value_fen: i128,
}

impl Amount {
    fn add(&mut self, q: u64, v: u64) {
        self.quantity += q as i128;
        self.value_fen += v as i128;
    }
    fn sub(&mut self, q: u64, v: u64) {
        self.quantity -= q as i128;
        self.value_fen -= v as i128;
    }
    fn plus(self, o: Amount) -> Amount {
        Amount { quantity: self.quantity + o.quantity, value_fen: self.value_fen + o.value_fen }
    }
    fn minus(self, o: Amount) -> Amount {
        Amount { quantity: self.quantity - o.quantity, value_fen: self.value_fen - o.value_fen }
    }
}

/// Outcome of comparing the book stock with a physical count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "quantity")]
pub enum CountResult {
    /// Count equals book stock.
    Balanced,
    /// Count below book stock by this quantity (taxable, possibly penalised).
    Shortage(i128),
    /// Count above book stock by this quantity.
    Surplus(i128),
}

/// A 核销 statement for one ledger item and a period `[from, to)`.
///
/// Book stock means goods under bonded custody: the accounts of kinds
/// [`AccountKind::is_custody`](crate::AccountKind::is_custody) (stock, exhibited,
/// leased). Only posted amounts count, at the timestamp of the transfer that posted
/// them (a single-phase transfer, or the `post_pending` transfer of a two-phase
/// one); reservations are not movements. Movements between two custody accounts
/// (e.g. exhibition out/back) do not change book stock and are not listed.
///
/// `closing = opening + entries + production + other_in − exits − consumption −
/// write_offs − other_out`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOffStatement {
    /// The ledger.
    pub ledger: LedgerKey,
    /// Period start (inclusive).
    pub from: DateTime<Utc>,
    /// Period end (exclusive).
    pub to: DateTime<Utc>,
    /// Book stock at `from`.
    pub opening: Amount,
    /// First-line entries, mainland-to-zone entries and incoming zone transfers.
    pub entries: Amount,
    /// Finished goods produced into stock.
    pub production: Amount,
    /// Exports, second-line exits, exhibition sales and outgoing zone transfers.
    pub exits: Amount,
    /// Materials consumed in processing.
    pub consumption: Amount,
    /// Approved write-offs (destruction, scrap).
    pub write_offs: Amount,
    /// Other inflows (stocktake surplus, corrections).
    pub other_in: Amount,
    /// Other outflows (stocktake shortage, corrections).
    pub other_out: Amount,
    /// Inflows by code.
    pub inflows_by_code: BTreeMap<TransferCode, Amount>,
    /// Outflows by code.
    pub outflows_by_code: BTreeMap<TransferCode, Amount>,
    /// Book stock at `to`.
    pub closing: Amount,
}

impl WriteOffStatement {
    /// Compares the book stock with a counted quantity.
    pub fn compare(&self, counted_quantity: i128) -> CountResult {
        let diff = counted_quantity - self.closing.quantity;
        match diff {
            0 => CountResult::Balanced,
            d if d < 0 => CountResult::Shortage(-d),
            d => CountResult::Surplus(d),
        }
    }
}

impl Ledger {
    /// Computes the 核销 statement of `ledger` for `[from, to)` from the posted
    /// transfers (`None` if the ledger item is unknown).
    pub fn write_off_statement(
        &self,
        ledger: &LedgerKey,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Option<WriteOffStatement> {
        self.item(ledger)?;
        let mut s = WriteOffStatement {
            ledger: ledger.clone(),
            from,
            to,
            opening: Amount::default(),
            entries: Amount::default(),
            production: Amount::default(),
            exits: Amount::default(),
            consumption: Amount::default(),
            write_offs: Amount::default(),
            other_in: Amount::default(),
            other_out: Amount::default(),
            inflows_by_code: BTreeMap::new(),
            outflows_by_code: BTreeMap::new(),
            closing: Amount::default(),
        };
        let custody =
            |id| self.account(id).map(|r| r.account.ledger == *ledger && r.account.kind.is_custody()).unwrap_or(false);
        // Only transfers touching one of the item's custody accounts can change its book stock.
        for t in self.custody_transfers(ledger) {
            if t.flags.pending || t.flags.void_pending || t.timestamp >= to {
                continue;
            }
            let into = custody(t.credit_account_id);
            let out_of = custody(t.debit_account_id);
            if into == out_of {
                continue;
            }
            if t.timestamp < from {
                if into {
                    s.opening.add(t.quantity, t.value_fen);
                } else {
                    s.opening.sub(t.quantity, t.value_fen);
                }
                continue;
            }
            use TransferCode as C;
            if into {
                s.inflows_by_code.entry(t.code).or_default().add(t.quantity, t.value_fen);
                let bucket = match t.code {
                    C::FirstLineEntry | C::MainlandEntry | C::ZoneTransfer => &mut s.entries,
                    C::ProcessingProduce => &mut s.production,
                    _ => &mut s.other_in,
                };
                bucket.add(t.quantity, t.value_fen);
            } else {
                s.outflows_by_code.entry(t.code).or_default().add(t.quantity, t.value_fen);
                let bucket = match t.code {
                    C::Export | C::SecondLineExit | C::ExhibitionSale | C::ZoneTransfer => &mut s.exits,
                    C::ProcessingConsume => &mut s.consumption,
                    C::WriteOff => &mut s.write_offs,
                    _ => &mut s.other_out,
                };
                bucket.add(t.quantity, t.value_fen);
            }
        }
        s.closing = s
            .opening
            .plus(s.entries)
            .plus(s.production)
            .plus(s.other_in)
            .minus(s.exits)
            .minus(s.consumption)
            .minus(s.write_offs)
            .minus(s.other_out);
        Some(s)
    }
}
