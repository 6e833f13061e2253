//! Shared test helpers: an independent model of the balances and invariant checks.
#![allow(dead_code)]

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use zonegate_ledger::{
    Account, AccountBalances, AccountId, AccountKind, Applied, Ledger, LedgerItem, LedgerKey, Transfer, TransferError,
    TransferId, Treatment,
};

/// Timestamp `secs` seconds after 2026-01-01.
pub fn ts(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600 + secs, 0).single().expect("valid")
}

pub fn item(uscc: &str, item_no: &str) -> LedgerItem {
    LedgerItem {
        key: LedgerKey::new(uscc, item_no),
        hs_code: "8471300000".into(),
        unit: "011".into(),
        quantity_scale: 3,
        treatment: Treatment::Bonded,
    }
}

/// Registers an item and one account per kind; ids are `base + kind index + 1`.
pub fn setup_ledger(ledger: &mut Ledger, key: &LedgerKey, base: u128) -> HashMap<AccountKind, AccountId> {
    ledger.create_item(item(&key.enterprise_uscc, &key.item_no)).expect("item");
    let mut map = HashMap::new();
    for (i, kind) in AccountKind::ALL.iter().enumerate() {
        let id = base + i as u128 + 1;
        ledger.create_account(Account::new(id, key.clone(), *kind)).expect("account");
        map.insert(*kind, AccountId(id));
    }
    map
}

/// Independent model: replays the transfers the engine reported as created.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub balances: HashMap<AccountId, AccountBalances>,
    pub pendings: HashMap<TransferId, Transfer>,
    pub log: Vec<Transfer>,
}

impl Model {
    pub fn record(&mut self, t: &Transfer) {
        let (q, v) = (t.quantity as u128, t.value_fen as u128);
        if t.flags.post_pending || t.flags.void_pending {
            let p = self.pendings[&t.pending_id.expect("pending id")].clone();
            let (pq, pv) = (p.quantity as u128, p.value_fen as u128);
            let d = self.balances.entry(t.debit_account_id).or_default();
            d.quantity.debits_pending -= pq;
            d.value_fen.debits_pending -= pv;
            if t.flags.post_pending {
                d.quantity.debits_posted += q;
                d.value_fen.debits_posted += v;
            }
            let c = self.balances.entry(t.credit_account_id).or_default();
            c.quantity.credits_pending -= pq;
            c.value_fen.credits_pending -= pv;
            if t.flags.post_pending {
                c.quantity.credits_posted += q;
                c.value_fen.credits_posted += v;
            }
        } else if t.flags.pending {
            let d = self.balances.entry(t.debit_account_id).or_default();
            d.quantity.debits_pending += q;
            d.value_fen.debits_pending += v;
            let c = self.balances.entry(t.credit_account_id).or_default();
            c.quantity.credits_pending += q;
            c.value_fen.credits_pending += v;
            self.pendings.insert(t.id, t.clone());
        } else {
            let d = self.balances.entry(t.debit_account_id).or_default();
            d.quantity.debits_posted += q;
            d.value_fen.debits_posted += v;
            let c = self.balances.entry(t.credit_account_id).or_default();
            c.quantity.credits_posted += q;
            c.value_fen.credits_posted += v;
        }
        self.log.push(t.clone());
    }

    /// Records every transfer of `batch` whose result is `Created`.
    pub fn record_results(&mut self, batch: &[Transfer], results: &[Result<Applied, TransferError>]) {
        assert_eq!(batch.len(), results.len());
        for (t, r) in batch.iter().zip(results) {
            if r == &Ok(Applied::Created) {
                self.record(t);
            }
        }
    }
}

/// Checks every invariant; `full_log` also compares the whole transfer log.
pub fn check_invariants(ledger: &Ledger, model: &Model, keys: &[LedgerKey], full_log: bool) -> Result<(), String> {
    for key in keys {
        let tb = ledger.trial_balance(key).ok_or("missing ledger")?;
        if !tb.is_balanced() {
            return Err(format!("trial balance of {key:?} not zero: {tb:?}"));
        }
        for rec in ledger.accounts_of(key) {
            let id = rec.account.id;
            let expected = model.balances.get(&id).copied().unwrap_or_default();
            if rec.balances != expected {
                return Err(format!("account {id:?} balances {:?} != sum of its transfers {expected:?}", rec.balances));
            }
            if rec.account.flags.debits_must_not_exceed_credits {
                let b = ledger.balance(id).ok_or("missing balance")?;
                if b.available_quantity < 0
                    || b.available_value_fen < 0
                    || b.posted_quantity < 0
                    || b.posted_value_fen < 0
                {
                    return Err(format!("limited account {id:?} went negative: {b:?}"));
                }
            }
        }
    }
    let log = ledger.transfers();
    if log.len() != model.log.len() || log.last() != model.log.last() {
        return Err(format!("transfer log length {} != model {}", log.len(), model.log.len()));
    }
    if full_log && log != model.log.as_slice() {
        return Err("transfer log differs from model".into());
    }
    Ok(())
}
