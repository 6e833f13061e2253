//! Movements: 核注清单 reservations, 核放单 posts, cancellations, single-phase moves at average cost.
//!
//! Planners read the ledger and return the transfers a document makes, or every problem with it; they
//! change nothing. The caller applies the transfers ([`Ledger::apply`]) and records them. Transfer ids are
//! derived from the document ([`TransferId::derive`]), so a document planned twice names the same
//! transfers. A document's transfers form one linked chain: they commit all or nothing.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::documents::Problem;
use crate::engine::Ledger;
use crate::model::{AccountId, AccountKind, LedgerKey, Transfer, TransferCode, TransferId};

/// One line of a movement document: goods of one ledger item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// Item number (料号) on the enterprise's ledger.
    pub item_no: String,
    /// Quantity in the item's smallest unit.
    pub quantity: u64,
    /// Value in fen; `None` means "at average cost of the goods moved" (only when goods leave a holding
    /// account such as stock).
    pub value_fen: Option<u64>,
}

/// Names the transfers of one document.
#[derive(Debug, Clone, Copy)]
pub struct DocumentIds<'a> {
    pub enterprise: &'a str,
    pub kind: &'a str,
    pub number: &'a str,
}

impl DocumentIds<'_> {
    /// The id of the document's `index`-th transfer.
    pub fn transfer(&self, index: u32) -> TransferId {
        TransferId::derive(self.enterprise, self.kind, self.number, index)
    }

    /// What transfers of this document carry as their reference: `kind/number`.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.kind, self.number)
    }
}

/// `amount × part / whole`, rounded half up (`whole > 0`, `part ≤ whole`).
pub fn pro_rata(amount: u64, part: u64, whole: u64) -> u64 {
    if part == whole {
        return amount;
    }
    let scaled = amount as u128 * part as u128;
    let whole = whole as u128;
    ((scaled + whole / 2) / whole) as u64
}

impl Ledger {
    /// The account of `kind` on the enterprise's item, if the item and account exist.
    pub fn account_of(&self, enterprise: &str, item_no: &str, kind: AccountKind) -> Option<AccountId> {
        let key = LedgerKey::new(enterprise, item_no);
        let id = AccountId::derive(&key, kind);
        self.account(id).map(|_| id)
    }

    /// The average-cost value (fen) of `quantity` of the goods an account may still give (posted, less
    /// reservations): all of the available value when `quantity` is all of the available quantity, else
    /// its share rounded half up. `None` for an unknown account or more than is available.
    pub fn value_of(&self, account: AccountId, quantity: u64) -> Option<u64> {
        let b = self.balance(account)?;
        let (q, v) = (b.available_quantity, b.available_value_fen);
        if quantity as i128 > q || q <= 0 {
            return None;
        }
        let v = v.max(0) as u128;
        let (q, quantity) = (q as u128, quantity as u128);
        if quantity == q {
            return u64::try_from(v).ok();
        }
        u64::try_from((v * quantity + q / 2) / q).ok()
    }
}

/// Formats an integer quantity with its scale (`1500`, 3 → `1.500`).
pub fn format_quantity(quantity: i128, scale: u8) -> String {
    if scale == 0 {
        return quantity.to_string();
    }
    let sign = if quantity < 0 { "-" } else { "" };
    let q = quantity.unsigned_abs();
    let div = 10u128.pow(scale as u32);
    format!("{sign}{}.{:0width$}", q / div, q % div, width = scale as usize)
}

/// Plans a movement of goods between two account kinds of each line's item, one transfer per line, all
/// linked. `pending` makes them reservations (核注清单 pre-deduction) instead of posted moves.
///
/// Problems: `item_unknown` (`lines[i].item_no`), `item_repeated`, `quantity_zero`
/// (`lines[i].quantity`), `stock_insufficient` when goods leave a holding account that has less available,
/// `value_required` (`lines[i].value_cny`) when goods come from a non-holding account without a value.
#[allow(clippy::too_many_arguments)]
pub fn plan_movement(
    ledger: &Ledger,
    ids: DocumentIds<'_>,
    first_index: u32,
    code: TransferCode,
    from: AccountKind,
    to: AccountKind,
    lines: &[Line],
    pending: bool,
    at: DateTime<Utc>,
) -> Result<Vec<Transfer>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut transfers = Vec::with_capacity(lines.len());
    let mut seen = HashSet::new();
    if lines.is_empty() {
        problems.push(Problem::new("lines_empty", "lines", "a document moves at least one line of goods"));
    }
    for (i, line) in lines.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        if !seen.insert(line.item_no.as_str()) {
            problems.push(Problem::new(
                "item_repeated",
                field("item_no"),
                format!("item `{}` appears on more than one line; put its quantity on one line", line.item_no),
            ));
            continue;
        }
        let key = LedgerKey::new(ids.enterprise, &line.item_no);
        let Some(item) = ledger.item(&key) else {
            problems.push(Problem::new(
                "item_unknown",
                field("item_no"),
                format!("item `{}` is not on the ledger of {}", line.item_no, ids.enterprise),
            ));
            continue;
        };
        let (Some(debit), Some(credit)) = (
            ledger.account_of(ids.enterprise, &line.item_no, from),
            ledger.account_of(ids.enterprise, &line.item_no, to),
        ) else {
            problems.push(Problem::new(
                "item_unknown",
                field("item_no"),
                format!("item `{}` has no {from:?}/{to:?} accounts", line.item_no),
            ));
            continue;
        };
        if line.quantity == 0 {
            problems.push(Problem::new("quantity_zero", field("quantity"), "the quantity must be above zero"));
            continue;
        }
        let holding = from.default_flags().debits_must_not_exceed_credits;
        let available = ledger.balance(debit).map(|b| b.available_quantity).unwrap_or(0);
        if holding && line.quantity as i128 > available {
            problems.push(Problem::new(
                "stock_insufficient",
                field("quantity"),
                format!(
                    "item `{}`: {} asked, {} available in {}",
                    line.item_no,
                    format_quantity(line.quantity as i128, item.quantity_scale),
                    format_quantity(available.max(0), item.quantity_scale),
                    serde_json::to_string(&from).unwrap_or_default().trim_matches('"')
                ),
            ));
            continue;
        }
        let value = match (line.value_fen, holding) {
            (Some(v), _) => v,
            (None, true) => ledger.value_of(debit, line.quantity).unwrap_or(0),
            (None, false) => {
                problems.push(Problem::new(
                    "value_required",
                    field("value_cny"),
                    format!("item `{}`: goods entering the ledger need their value", line.item_no),
                ));
                continue;
            }
        };
        let index = first_index + transfers.len() as u32;
        let mut t =
            Transfer::new(ids.transfer(index).0, debit, credit, line.quantity, value, code, ids.reference(), at);
        t.flags.pending = pending;
        transfers.push(t);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    link(&mut transfers);
    Ok(transfers)
}

/// Marks every transfer but the last as linked, so the batch is one chain.
pub fn link(transfers: &mut [Transfer]) {
    let n = transfers.len();
    for (i, t) in transfers.iter_mut().enumerate() {
        t.flags.linked = i + 1 < n;
    }
}

/// One line of a gate pass (核放单): how much of the list's item passed the gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassLine {
    pub item_no: String,
    pub quantity: u64,
}

/// Plans a gate pass over the open reservations of a list (`open`: the list's pending transfers still
/// pending, one per item). Each line posts that much of its item's reservation, at its share of the
/// reserved value; what is left stays reserved as a new pending transfer, so a list can pass the gate in
/// several vehicles. `lines = None` passes everything still open.
///
/// Problems: `item_not_on_list` / `item_repeated` (`lines[i].item_no`), `quantity_zero`,
/// `gate_pass_exceeds_list` (`lines[i].quantity`) when more passes than the list has left, `list_closed`
/// when nothing of the list is open.
pub fn plan_gate_pass(
    ledger: &Ledger,
    ids: DocumentIds<'_>,
    open: &[&Transfer],
    lines: Option<&[PassLine]>,
    at: DateTime<Utc>,
) -> Result<Vec<Transfer>, Vec<Problem>> {
    let mut problems = Vec::new();
    if open.is_empty() {
        problems.push(Problem::new("list_closed", "list", "nothing of this list is still waiting at the gate"));
        return Err(problems);
    }
    let item_of = |t: &Transfer| ledger.account(t.debit_account_id).map(|r| r.account.ledger.item_no.clone());
    let wanted: Vec<(&Transfer, u64)> = match lines {
        None => open.iter().map(|t| (*t, t.quantity)).collect(),
        Some(lines) => {
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            if lines.is_empty() {
                problems.push(Problem::new("lines_empty", "lines", "a gate pass carries at least one line"));
            }
            for (i, line) in lines.iter().enumerate() {
                let field = |name: &str| format!("lines[{i}].{name}");
                if !seen.insert(line.item_no.as_str()) {
                    problems.push(Problem::new(
                        "item_repeated",
                        field("item_no"),
                        format!("item `{}` appears on more than one line", line.item_no),
                    ));
                    continue;
                }
                let Some(t) = open.iter().find(|t| item_of(t).as_deref() == Some(line.item_no.as_str())) else {
                    problems.push(Problem::new(
                        "item_not_on_list",
                        field("item_no"),
                        format!("item `{}` is not waiting on this list", line.item_no),
                    ));
                    continue;
                };
                if line.quantity == 0 {
                    problems.push(Problem::new("quantity_zero", field("quantity"), "the quantity must be above zero"));
                    continue;
                }
                if line.quantity > t.quantity {
                    let scale =
                        ledger.item(&LedgerKey::new(ids.enterprise, &line.item_no)).map_or(0, |i| i.quantity_scale);
                    problems.push(Problem::new(
                        "gate_pass_exceeds_list",
                        field("quantity"),
                        format!(
                            "item `{}`: {} on this pass, only {} of the list has not passed the gate",
                            line.item_no,
                            format_quantity(line.quantity as i128, scale),
                            format_quantity(t.quantity as i128, scale)
                        ),
                    ));
                    continue;
                }
                out.push((*t, line.quantity));
            }
            out
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut transfers = Vec::new();
    for (pending, quantity) in wanted {
        let value = pro_rata(pending.value_fen, quantity, pending.quantity);
        let index = transfers.len() as u32;
        transfers.push(Transfer::post_of(ids.transfer(index).0, pending, quantity, value, ids.reference(), at));
        if quantity < pending.quantity {
            let index = transfers.len() as u32;
            let mut rest = Transfer::new(
                ids.transfer(index).0,
                pending.debit_account_id,
                pending.credit_account_id,
                pending.quantity - quantity,
                pending.value_fen - value,
                pending.code,
                pending.reference.clone(),
                at,
            );
            rest.flags.pending = true;
            transfers.push(rest);
        }
    }
    link(&mut transfers);
    Ok(transfers)
}

/// Plans voiding every open reservation (a cancelled list).
pub fn plan_cancel(ids: DocumentIds<'_>, open: &[&Transfer], at: DateTime<Utc>) -> Result<Vec<Transfer>, Vec<Problem>> {
    if open.is_empty() {
        return Err(vec![Problem::new("list_closed", "list", "nothing of this list is still reserved")]);
    }
    let mut transfers: Vec<Transfer> = open
        .iter()
        .enumerate()
        .map(|(i, pending)| Transfer::void_of(ids.transfer(i as u32).0, pending, ids.reference(), at))
        .collect();
    link(&mut transfers);
    Ok(transfers)
}
