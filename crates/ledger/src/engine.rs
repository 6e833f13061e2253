//! The in-memory engine: account registry, transfer application, queries.

use std::collections::HashMap;

use crate::error::{AccountError, TransferError};
use crate::model::{
    Account, AccountBalances, AccountId, AccountKind, AccountRecord, Applied, Balances, LedgerItem, LedgerKey,
    PendingStatus, Transfer, TransferId,
};
use serde::{Deserialize, Serialize};

/// One step to undo when a linked chain fails.
#[derive(Debug)]
struct Undo {
    id: TransferId,
    debit: AccountId,
    credit: AccountId,
    old_debit: AccountBalances,
    old_credit: AccountBalances,
    /// For a post/void: the pending transfer whose status went back to `Pending`.
    /// For a new pending transfer: its own id, whose status entry is removed.
    pending_change: Option<(TransferId, bool)>,
}

/// The double-entry bonded ledger: ledger items, accounts with balances, the
/// append-only transfer log, and the status of pending transfers.
///
/// All state changes go through [`Ledger::create_item`], [`Ledger::create_account`]
/// and [`Ledger::apply`]. Pure and deterministic: no I/O, clock or randomness.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    items: HashMap<LedgerKey, LedgerItem>,
    accounts: HashMap<AccountId, AccountRecord>,
    ledger_accounts: HashMap<LedgerKey, Vec<AccountId>>,
    transfers: Vec<Transfer>,
    transfer_index: HashMap<TransferId, usize>,
    account_transfers: HashMap<AccountId, Vec<usize>>,
    pending_status: HashMap<TransferId, PendingStatus>,
}

/// Balance view of one account, with the derived figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceView {
    /// The raw counters.
    pub balances: AccountBalances,
    /// Posted net quantity (`credits_posted − debits_posted`).
    pub posted_quantity: i128,
    /// Posted net value in fen.
    pub posted_value_fen: i128,
    /// Available quantity (`credits_posted − debits_posted − debits_pending`).
    pub available_quantity: i128,
    /// Available value in fen.
    pub available_value_fen: i128,
}

/// One row of a trial balance (nets are `credits − debits`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialBalanceRow {
    /// The account.
    pub account_id: AccountId,
    /// Its kind.
    pub kind: AccountKind,
    /// Posted net quantity.
    pub posted_quantity: i128,
    /// Posted net value (fen).
    pub posted_value_fen: i128,
    /// Pending net quantity.
    pub pending_quantity: i128,
    /// Pending net value (fen).
    pub pending_value_fen: i128,
}

/// Per-ledger trial balance: every total must be zero in a double-entry ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialBalance {
    /// The ledger.
    pub ledger: LedgerKey,
    /// One row per account, in creation order.
    pub rows: Vec<TrialBalanceRow>,
    /// Σ posted net quantity.
    pub total_posted_quantity: i128,
    /// Σ posted net value.
    pub total_posted_value_fen: i128,
    /// Σ pending net quantity.
    pub total_pending_quantity: i128,
    /// Σ pending net value.
    pub total_pending_value_fen: i128,
}

impl TrialBalance {
    /// True when all four totals are zero.
    pub fn is_balanced(&self) -> bool {
        self.total_posted_quantity == 0
            && self.total_posted_value_fen == 0
            && self.total_pending_quantity == 0
            && self.total_pending_value_fen == 0
    }
}

fn exclusive_flags(t: &Transfer) -> bool {
    let f = t.flags;
    (f.pending as u8 + f.post_pending as u8 + f.void_pending as u8) <= 1
}

fn fits_debit(b: &Balances, amount: u64) -> bool {
    b.debits_pending + b.debits_posted + amount as u128 <= b.credits_posted
}

fn fits_credit(b: &Balances, amount: u64) -> bool {
    b.credits_pending + b.credits_posted + amount as u128 <= b.debits_posted
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a ledger item (电子账册 line). Idempotent for an identical item.
    pub fn create_item(&mut self, item: LedgerItem) -> Result<Applied, AccountError> {
        match self.items.get(&item.key) {
            Some(existing) if *existing == item => Ok(Applied::AlreadyExists),
            Some(_) => Err(AccountError::ExistsWithDifferentFields),
            None => {
                self.ledger_accounts.entry(item.key.clone()).or_default();
                self.items.insert(item.key.clone(), item);
                Ok(Applied::Created)
            }
        }
    }

    /// Creates an account on a registered ledger item. Idempotent for an identical account.
    pub fn create_account(&mut self, account: Account) -> Result<Applied, AccountError> {
        if account.id.0 == 0 {
            return Err(AccountError::IdMustNotBeZero);
        }
        if let Some(existing) = self.accounts.get(&account.id) {
            return if existing.account == account {
                Ok(Applied::AlreadyExists)
            } else {
                Err(AccountError::ExistsWithDifferentFields)
            };
        }
        let Some(list) = self.ledger_accounts.get_mut(&account.ledger) else {
            return Err(AccountError::LedgerItemNotFound);
        };
        list.push(account.id);
        self.accounts.insert(account.id, AccountRecord { account, balances: AccountBalances::default() });
        Ok(Applied::Created)
    }

    /// Applies a batch of transfers in order.
    ///
    /// Semantics (TigerBeetle's): a *linked chain* is a maximal run of consecutive
    /// transfers whose `linked` flag is set, plus the first transfer after them
    /// without it. Each chain commits all-or-nothing: if any member fails, every
    /// effect of the chain is rolled back, the failing member reports its own error
    /// and the others report `linked_event_failed`. A transfer that is not part of a
    /// chain commits or fails on its own. A chain still open at the end of the batch
    /// fails entirely (`linked_event_chain_open` on its last member). Later transfers
    /// see the effects of earlier successful ones. One result per input, same order.
    pub fn apply(&mut self, batch: &[Transfer]) -> Vec<Result<Applied, TransferError>> {
        let n = batch.len();
        let mut results = Vec::with_capacity(n);
        let mut i = 0;
        while i < n {
            let mut j = i;
            while j < n && batch[j].flags.linked {
                j += 1;
            }
            if j == n {
                for _ in i..n - 1 {
                    results.push(Err(TransferError::LinkedEventFailed));
                }
                results.push(Err(TransferError::LinkedEventChainOpen));
                break;
            }
            if i == j {
                results.push(self.apply_one(&batch[i]).map(|(a, _)| a));
                i += 1;
                continue;
            }
            let mut undo = Vec::with_capacity(j + 1 - i);
            let mut failed = None;
            let start = results.len();
            for (k, t) in batch.iter().enumerate().take(j + 1).skip(i) {
                match self.apply_one(t) {
                    Ok((a, u)) => {
                        results.push(Ok(a));
                        undo.extend(u);
                    }
                    Err(e) => {
                        failed = Some((k, e));
                        break;
                    }
                }
            }
            if let Some((k, e)) = failed {
                while let Some(u) = undo.pop() {
                    self.rollback(u);
                }
                results.truncate(start);
                for m in i..=j {
                    results.push(Err(if m == k { e } else { TransferError::LinkedEventFailed }));
                }
            }
            i = j + 1;
        }
        results
    }

    /// Applies a single transfer (a batch of one; a `linked` flag makes it an open chain).
    pub fn apply_single(&mut self, transfer: &Transfer) -> Result<Applied, TransferError> {
        self.apply(std::slice::from_ref(transfer)).remove(0)
    }

    fn rollback(&mut self, u: Undo) {
        let idx = self.transfers.len() - 1;
        debug_assert_eq!(self.transfers[idx].id, u.id);
        self.transfers.pop();
        self.transfer_index.remove(&u.id);
        for acc in [u.debit, u.credit] {
            if let Some(list) = self.account_transfers.get_mut(&acc) {
                debug_assert_eq!(list.last(), Some(&idx));
                list.pop();
                if list.is_empty() {
                    self.account_transfers.remove(&acc);
                }
            }
        }
        if let Some(r) = self.accounts.get_mut(&u.debit) {
            r.balances = u.old_debit;
        }
        if let Some(r) = self.accounts.get_mut(&u.credit) {
            r.balances = u.old_credit;
        }
        match u.pending_change {
            Some((pid, true)) => {
                self.pending_status.insert(pid, PendingStatus::Pending);
            }
            Some((pid, false)) => {
                self.pending_status.remove(&pid);
            }
            None => {}
        }
    }

    /// Validates and applies one transfer; returns the undo record when state changed.
    fn apply_one(&mut self, t: &Transfer) -> Result<(Applied, Option<Undo>), TransferError> {
        if t.id.0 == 0 {
            return Err(TransferError::IdMustNotBeZero);
        }
        if !exclusive_flags(t) {
            return Err(TransferError::FlagsAreMutuallyExclusive);
        }
        if let Some(&idx) = self.transfer_index.get(&t.id) {
            return if self.transfers[idx] == *t {
                Ok((Applied::AlreadyExists, None))
            } else {
                Err(TransferError::ExistsWithDifferentFields)
            };
        }
        let two_phase_end = t.flags.post_pending || t.flags.void_pending;
        match (two_phase_end, t.pending_id) {
            (true, None) => return Err(TransferError::PendingIdRequired),
            (false, Some(_)) => return Err(TransferError::PendingIdMustBeNone),
            (true, Some(p)) if p == t.id => return Err(TransferError::PendingIdMustBeDifferent),
            _ => {}
        }
        if t.debit_account_id == t.credit_account_id {
            return Err(TransferError::AccountsMustBeDifferent);
        }
        let (Some(dr), Some(cr)) = (self.accounts.get(&t.debit_account_id), self.accounts.get(&t.credit_account_id))
        else {
            return Err(TransferError::AccountNotFound);
        };
        if dr.account.ledger != cr.account.ledger {
            return Err(TransferError::LedgerMismatch);
        }
        if !t.code.allows(dr.account.kind, cr.account.kind) {
            return Err(TransferError::CodeNotAllowedForAccounts);
        }
        let old_debit = dr.balances;
        let old_credit = cr.balances;
        let mut new_debit = old_debit;
        let mut new_credit = old_credit;
        let pending_change;

        if let (true, Some(pid)) = (two_phase_end, t.pending_id) {
            let Some(&pidx) = self.transfer_index.get(&pid) else {
                return Err(TransferError::PendingNotFound);
            };
            let p = &self.transfers[pidx];
            match self.pending_status.get(&pid) {
                None => return Err(TransferError::PendingTransferNotPending),
                Some(PendingStatus::Posted) => return Err(TransferError::PendingAlreadyPosted),
                Some(PendingStatus::Voided) => return Err(TransferError::PendingAlreadyVoided),
                Some(PendingStatus::Pending) => {}
            }
            if p.debit_account_id != t.debit_account_id
                || p.credit_account_id != t.credit_account_id
                || p.code != t.code
            {
                return Err(TransferError::PendingFieldsMismatch);
            }
            let (pq, pv) = (p.quantity as u128, p.value_fen as u128);
            if t.flags.post_pending {
                if t.quantity == 0 && t.value_fen == 0 {
                    return Err(TransferError::ZeroAmount);
                }
                if t.quantity > p.quantity || t.value_fen > p.value_fen {
                    return Err(TransferError::PostExceedsPending);
                }
                new_debit.quantity.debits_posted += t.quantity as u128;
                new_debit.value_fen.debits_posted += t.value_fen as u128;
                new_credit.quantity.credits_posted += t.quantity as u128;
                new_credit.value_fen.credits_posted += t.value_fen as u128;
            } else {
                let zero = t.quantity == 0 && t.value_fen == 0;
                let exact = t.quantity == p.quantity && t.value_fen == p.value_fen;
                if !zero && !exact {
                    return Err(TransferError::VoidAmountMismatch);
                }
            }
            new_debit.quantity.debits_pending -= pq;
            new_debit.value_fen.debits_pending -= pv;
            new_credit.quantity.credits_pending -= pq;
            new_credit.value_fen.credits_pending -= pv;
            self.pending_status
                .insert(pid, if t.flags.post_pending { PendingStatus::Posted } else { PendingStatus::Voided });
            pending_change = Some((pid, true));
        } else {
            if t.quantity == 0 && t.value_fen == 0 {
                return Err(TransferError::ZeroAmount);
            }
            if dr.account.flags.debits_must_not_exceed_credits
                && (!fits_debit(&old_debit.quantity, t.quantity) || !fits_debit(&old_debit.value_fen, t.value_fen))
            {
                return Err(TransferError::ExceedsCredits);
            }
            if cr.account.flags.credits_must_not_exceed_debits
                && (!fits_credit(&old_credit.quantity, t.quantity) || !fits_credit(&old_credit.value_fen, t.value_fen))
            {
                return Err(TransferError::ExceedsDebits);
            }
            let (q, v) = (t.quantity as u128, t.value_fen as u128);
            if t.flags.pending {
                new_debit.quantity.debits_pending += q;
                new_debit.value_fen.debits_pending += v;
                new_credit.quantity.credits_pending += q;
                new_credit.value_fen.credits_pending += v;
                self.pending_status.insert(t.id, PendingStatus::Pending);
                pending_change = Some((t.id, false));
            } else {
                new_debit.quantity.debits_posted += q;
                new_debit.value_fen.debits_posted += v;
                new_credit.quantity.credits_posted += q;
                new_credit.value_fen.credits_posted += v;
                pending_change = None;
            }
        }

        // Commit (no failure possible from here on).
        if let Some(r) = self.accounts.get_mut(&t.debit_account_id) {
            r.balances = new_debit;
        }
        if let Some(r) = self.accounts.get_mut(&t.credit_account_id) {
            r.balances = new_credit;
        }
        let idx = self.transfers.len();
        self.transfers.push(t.clone());
        self.transfer_index.insert(t.id, idx);
        self.account_transfers.entry(t.debit_account_id).or_default().push(idx);
        self.account_transfers.entry(t.credit_account_id).or_default().push(idx);
        Ok((
            Applied::Created,
            Some(Undo {
                id: t.id,
                debit: t.debit_account_id,
                credit: t.credit_account_id,
                old_debit,
                old_credit,
                pending_change,
            }),
        ))
    }

    /// The ledger item registered under `key`.
    pub fn item(&self, key: &LedgerKey) -> Option<&LedgerItem> {
        self.items.get(key)
    }

    /// All registered ledger items (unordered).
    pub fn items(&self) -> impl Iterator<Item = &LedgerItem> {
        self.items.values()
    }

    /// An account with its balances.
    pub fn account(&self, id: AccountId) -> Option<&AccountRecord> {
        self.accounts.get(&id)
    }

    /// Accounts of a ledger in creation order.
    pub fn accounts_of(&self, ledger: &LedgerKey) -> Vec<&AccountRecord> {
        self.ledger_accounts
            .get(ledger)
            .map(|ids| ids.iter().filter_map(|id| self.accounts.get(id)).collect())
            .unwrap_or_default()
    }

    /// Balance view (pending, posted, available) of an account.
    pub fn balance(&self, id: AccountId) -> Option<BalanceView> {
        self.accounts.get(&id).map(|r| {
            let b = r.balances;
            BalanceView {
                balances: b,
                posted_quantity: b.quantity.posted_net(),
                posted_value_fen: b.value_fen.posted_net(),
                available_quantity: b.quantity.available(),
                available_value_fen: b.value_fen.available(),
            }
        })
    }

    /// A transfer by id.
    pub fn transfer(&self, id: TransferId) -> Option<&Transfer> {
        self.transfer_index.get(&id).map(|&i| &self.transfers[i])
    }

    /// Status of a pending transfer (`None` if `id` is not a pending transfer).
    pub fn pending_status(&self, id: TransferId) -> Option<PendingStatus> {
        self.pending_status.get(&id).copied()
    }

    /// All applied transfers, in application order.
    pub fn transfers(&self) -> &[Transfer] {
        &self.transfers
    }

    /// Transfers touching an account (as debit or credit), in application order.
    pub fn account_transfers(&self, id: AccountId) -> Vec<&Transfer> {
        self.account_transfers.get(&id).map(|ix| ix.iter().map(|&i| &self.transfers[i]).collect()).unwrap_or_default()
    }

    /// Transfers touching the custody accounts ([`AccountKind::is_custody`]) of a ledger, each once, in
    /// application order: the union of those accounts' transfer lists.
    pub(crate) fn custody_transfers(&self, ledger: &LedgerKey) -> Vec<&Transfer> {
        let mut ix: Vec<usize> = self
            .ledger_accounts
            .get(ledger)
            .into_iter()
            .flatten()
            .filter(|id| self.accounts.get(id).is_some_and(|r| r.account.kind.is_custody()))
            .filter_map(|id| self.account_transfers.get(id))
            .flatten()
            .copied()
            .collect();
        ix.sort_unstable();
        ix.dedup();
        ix.into_iter().map(|i| &self.transfers[i]).collect()
    }

    /// The trial balance of a ledger (`None` if the item is unknown).
    pub fn trial_balance(&self, ledger: &LedgerKey) -> Option<TrialBalance> {
        let ids = self.ledger_accounts.get(ledger)?;
        let mut tb = TrialBalance {
            ledger: ledger.clone(),
            rows: Vec::with_capacity(ids.len()),
            total_posted_quantity: 0,
            total_posted_value_fen: 0,
            total_pending_quantity: 0,
            total_pending_value_fen: 0,
        };
        for id in ids {
            let r = &self.accounts[id];
            let b = r.balances;
            let row = TrialBalanceRow {
                account_id: *id,
                kind: r.account.kind,
                posted_quantity: b.quantity.posted_net(),
                posted_value_fen: b.value_fen.posted_net(),
                pending_quantity: b.quantity.pending_net(),
                pending_value_fen: b.value_fen.pending_net(),
            };
            tb.total_posted_quantity += row.posted_quantity;
            tb.total_posted_value_fen += row.posted_value_fen;
            tb.total_pending_quantity += row.pending_quantity;
            tb.total_pending_value_fen += row.pending_value_fen;
            tb.rows.push(row);
        }
        Some(tb)
    }
}
