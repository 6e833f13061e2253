//! Property tests: random sequences of operations (valid and invalid) keep every
//! invariant after every step.

mod common;

use std::collections::HashMap;

use common::{check_invariants, setup_ledger, ts, Model};
use proptest::prelude::*;
use zonegate_ledger::{
    AccountId, AccountKind as K, Applied, Ledger, LedgerKey, Transfer, TransferCode as C, TransferError,
};

/// Canonical account-kind pair of each code (zone transfer and correction: inbound).
fn pair(code: C) -> (K, K) {
    match code {
        C::FirstLineEntry => (K::Outside, K::Stock),
        C::Export => (K::Stock, K::Outside),
        C::SecondLineExit => (K::Stock, K::Mainland),
        C::MainlandEntry => (K::Mainland, K::Stock),
        C::ZoneTransfer => (K::OtherZone, K::Stock),
        C::ProcessingConsume => (K::Stock, K::Consumed),
        C::ProcessingProduce => (K::Produced, K::Stock),
        C::ExhibitionOut => (K::Stock, K::Exhibited),
        C::ExhibitionBack => (K::Exhibited, K::Stock),
        C::ExhibitionSale => (K::Exhibited, K::Mainland),
        C::LeaseOut => (K::Stock, K::Leased),
        C::LeaseReturn => (K::Leased, K::Stock),
        C::WriteOff => (K::Stock, K::WrittenOff),
        C::StocktakeShortage => (K::Stock, K::Adjustment),
        C::StocktakeSurplus => (K::Adjustment, K::Stock),
        C::Correction => (K::Stock, K::Mainland),
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A new single-phase or pending transfer; `canonical` picks the code's kinds.
    New { ledger: usize, code: usize, canonical: bool, debit: usize, credit: usize, q: u64, v: u64, pending: bool },
    /// Post a known pending transfer (maybe already posted/voided) for q/v.
    Post { pick: usize, q: u64, v: u64 },
    /// Void a known pending transfer.
    Void { pick: usize },
    /// Reuse an existing id with identical (true) or different (false) fields.
    Repeat { pick: usize, identical: bool },
}

/// Zero now and then (to hit `zero_amount`), otherwise 1..max.
fn amount(max: u64) -> impl Strategy<Value = u64> {
    prop_oneof![1 => Just(0u64), 9 => 1..max]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..2usize, 0..22usize, prop::bool::weighted(0.85), 0..20usize, 0..20usize, amount(40), amount(400), any::<bool>())
            .prop_map(|(ledger, code, canonical, debit, credit, q, v, pending)| Op::New { ledger, code, canonical, debit, credit, q, v, pending }),
        2 => (any::<usize>(), amount(45), amount(450)).prop_map(|(pick, q, v)| Op::Post { pick, q, v }),
        1 => any::<usize>().prop_map(|pick| Op::Void { pick }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, identical)| Op::Repeat { pick, identical }),
    ]
}

/// A step is a batch of 1..=4 ops, either independent or one linked chain.
fn step() -> impl Strategy<Value = (Vec<Op>, bool)> {
    (prop::collection::vec(op(), 1..=4), any::<bool>())
}

struct World {
    ledger: Ledger,
    keys: Vec<LedgerKey>,
    accounts: Vec<HashMap<K, AccountId>>,
    all_accounts: Vec<AccountId>,
    model: Model,
    next_id: u128,
    clock: i64,
}

impl World {
    fn new() -> Self {
        let mut ledger = Ledger::new();
        let keys = vec![LedgerKey::new("91440400MA55AAAAAA", "M001"), LedgerKey::new("91440400MA55BBBBBB", "M001")];
        let accounts: Vec<_> =
            keys.iter().enumerate().map(|(i, k)| setup_ledger(&mut ledger, k, 100 * (i as u128 + 1))).collect();
        let mut all_accounts: Vec<AccountId> = accounts.iter().flat_map(|m| m.values().copied()).collect();
        all_accounts.sort();
        Self { ledger, keys, accounts, all_accounts, model: Model::default(), next_id: 1, clock: 0 }
    }

    fn build(&mut self, op: &Op) -> Option<Transfer> {
        self.clock += 1;
        let id = self.next_id;
        self.next_id += 1;
        let pendings: Vec<&Transfer> = {
            let mut v: Vec<_> = self.model.pendings.values().collect();
            v.sort_by_key(|t| t.id);
            v
        };
        match *op {
            Op::New { ledger, code, canonical, debit, credit, q, v, pending } => {
                // Indices past the end are extra first-line entries, to build up stock.
                let code = C::ALL.get(code).copied().unwrap_or(C::FirstLineEntry);
                let (d, c) = if canonical {
                    let (dk, ck) = pair(code);
                    (self.accounts[ledger][&dk], self.accounts[ledger][&ck])
                } else {
                    let n = self.all_accounts.len();
                    (self.all_accounts[debit % n], self.all_accounts[credit % n])
                };
                let t = Transfer::new(id, d, c, q, v, code, format!("QD{id}"), ts(self.clock));
                Some(if pending { t.pending() } else { t })
            }
            Op::Post { pick, q, v } => {
                let p = pendings.get(pick % pendings.len().max(1))?;
                Some(Transfer::post_of(id, p, q, v, "SAS121", ts(self.clock)))
            }
            Op::Void { pick } => {
                let p = pendings.get(pick % pendings.len().max(1))?;
                Some(Transfer::void_of(id, p, "cancel", ts(self.clock)))
            }
            Op::Repeat { pick, identical } => {
                let log = &self.model.log;
                let mut t = log.get(pick % log.len().max(1))?.clone();
                if !identical {
                    t.quantity += 1;
                }
                Some(t)
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_step(steps in prop::collection::vec(step(), 1..40)) {
        let mut w = World::new();
        for (ops, chained) in steps {
            let mut batch: Vec<Transfer> = ops.iter().filter_map(|o| w.build(o)).collect();
            if batch.is_empty() {
                continue;
            }
            // Repeats keep their stored `linked` flag; only chain the fresh ones.
            let is_repeat: Vec<bool> = batch.iter().map(|t| w.ledger.transfer(t.id).is_some()).collect();
            let n = batch.len();
            if chained {
                for (i, t) in batch.iter_mut().enumerate() {
                    if !is_repeat[i] {
                        t.flags.linked = i + 1 < n;
                    }
                }
            }
            let before = w.ledger.clone();
            let before_balances: Vec<_> = w.all_accounts.iter().map(|a| w.ledger.balance(*a)).collect();
            let results = w.ledger.apply(&batch);
            prop_assert_eq!(results.len(), n);

            // A failed linked chain changes nothing.
            let whole_chain = batch[..n - 1].iter().all(|t| t.flags.linked) && !batch[n - 1].flags.linked;
            if n > 1 && whole_chain && results.iter().any(|r| r.is_err()) {
                prop_assert_eq!(&w.ledger, &before, "failed chain changed state");
                prop_assert!(results.iter().all(|r| r.is_err()));
            }
            // Idempotent repeats, conflicting repeats.
            for (t, r) in batch.iter().zip(&results) {
                if let Some(stored) = before.transfer(t.id) {
                    if stored == t {
                        prop_assert!(matches!(r, Ok(Applied::AlreadyExists) | Err(TransferError::LinkedEventFailed | TransferError::LinkedEventChainOpen)), "{:?}", r);
                    } else {
                        prop_assert!(matches!(r, Err(TransferError::ExistsWithDifferentFields | TransferError::LinkedEventFailed | TransferError::LinkedEventChainOpen)), "{:?}", r);
                    }
                }
            }
            // A lone void restores both accounts' pending counters exactly.
            if n == 1 && batch[0].flags.void_pending && results[0] == Ok(Applied::Created) {
                let p = w.model.pendings[&batch[0].pending_id.expect("pid")].clone();
                let i = w.all_accounts.iter().position(|a| *a == p.debit_account_id).expect("acc");
                let (b0, b1) = (before_balances[i].expect("b"), w.ledger.balance(p.debit_account_id).expect("b"));
                prop_assert_eq!(b1.available_quantity, b0.available_quantity + p.quantity as i128);
                prop_assert_eq!(b1.available_value_fen, b0.available_value_fen + p.value_fen as i128);
                prop_assert_eq!(b1.posted_quantity, b0.posted_quantity);
            }
            w.model.record_results(&batch, &results);
            if let Err(e) = check_invariants(&w.ledger, &w.model, &w.keys, true) {
                return Err(TestCaseError::fail(e));
            }
            // Re-applying every stored transfer of the batch alone is a no-op.
            let snapshot = w.ledger.clone();
            for (t, r) in batch.iter().zip(&results) {
                if r == &Ok(Applied::Created) && !t.flags.linked {
                    prop_assert_eq!(w.ledger.apply_single(t), Ok(Applied::AlreadyExists));
                }
            }
            prop_assert_eq!(&w.ledger, &snapshot);
        }
        // The write-off statement's book stock equals the custody balances.
        for (k, key) in w.keys.iter().enumerate() {
            let st = w.ledger.write_off_statement(key, ts(-1), ts(w.clock + 1)).expect("statement");
            let mut custody = (0i128, 0i128);
            for kind in [K::Stock, K::Exhibited, K::Leased] {
                let b = w.ledger.balance(w.accounts[k][&kind]).expect("balance");
                custody.0 += b.posted_quantity;
                custody.1 += b.posted_value_fen;
            }
            prop_assert_eq!((st.closing.quantity, st.closing.value_fen), custody);
        }
    }
}
