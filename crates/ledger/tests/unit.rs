//! Unit tests: every error id, two-phase transfers, linked chains, queries, write-off.

mod common;

use std::collections::HashMap;

use common::{item, setup_ledger, ts};
use zonegate_ledger::{
    Account, AccountError, AccountId, AccountKind as K, Applied, CountResult, Ledger, LedgerKey, PendingStatus,
    Transfer, TransferCode as C, TransferError as E, TransferId,
};

struct Fx {
    l: Ledger,
    a: HashMap<K, AccountId>,
    b: HashMap<K, AccountId>,
    key_a: LedgerKey,
}

fn fx() -> Fx {
    let mut l = Ledger::new();
    let key_a = LedgerKey::new("91440400MA55AAAAAA", "M001");
    let key_b = LedgerKey::new("91440400MA55AAAAAA", "F001");
    let a = setup_ledger(&mut l, &key_a, 100);
    let b = setup_ledger(&mut l, &key_b, 200);
    Fx { l, a, b, key_a }
}

fn entry(fx: &Fx, id: u128, q: u64, v: u64) -> Transfer {
    Transfer::new(id, fx.a[&K::Outside], fx.a[&K::Stock], q, v, C::FirstLineEntry, "QD5700261000000001", ts(id as i64))
}

fn exit(fx: &Fx, id: u128, q: u64, v: u64) -> Transfer {
    Transfer::new(id, fx.a[&K::Stock], fx.a[&K::Mainland], q, v, C::SecondLineExit, "QD5700262000000002", ts(id as i64))
}

fn stocked(q: u64, v: u64) -> Fx {
    let mut f = fx();
    let t = entry(&f, 1, q, v);
    assert_eq!(f.l.apply_single(&t), Ok(Applied::Created));
    f
}

fn avail(f: &Fx, k: K) -> (i128, i128) {
    let b = f.l.balance(f.a[&k]).expect("balance");
    (b.available_quantity, b.available_value_fen)
}

#[test]
fn error_ids_are_stable_snake_case() {
    assert_eq!(E::ExceedsCredits.id(), "exceeds_credits");
    assert_eq!(E::ExistsWithDifferentFields.to_string(), "exists_with_different_fields");
    assert_eq!(serde_json::to_string(&E::PostExceedsPending).expect("json"), "\"post_exceeds_pending\"");
    assert_eq!(AccountError::LedgerItemNotFound.id(), "ledger_item_not_found");
}

#[test]
fn id_must_not_be_zero() {
    let mut f = fx();
    let t = entry(&f, 0, 1, 1);
    assert_eq!(f.l.apply_single(&t), Err(E::IdMustNotBeZero));
}

#[test]
fn accounts_must_be_different() {
    let mut f = fx();
    let mut t = entry(&f, 1, 1, 1);
    t.credit_account_id = t.debit_account_id;
    t.code = C::Correction;
    assert_eq!(f.l.apply_single(&t), Err(E::AccountsMustBeDifferent));
}

#[test]
fn account_not_found() {
    let mut f = fx();
    let mut t = entry(&f, 1, 1, 1);
    t.debit_account_id = AccountId(999_999);
    assert_eq!(f.l.apply_single(&t), Err(E::AccountNotFound));
}

#[test]
fn ledger_mismatch() {
    let mut f = fx();
    let mut t = entry(&f, 1, 1, 1);
    t.debit_account_id = f.b[&K::Outside];
    assert_eq!(f.l.apply_single(&t), Err(E::LedgerMismatch));
}

#[test]
fn code_not_allowed_for_accounts() {
    let mut f = fx();
    let mut t = entry(&f, 1, 1, 1);
    t.code = C::Export;
    assert_eq!(f.l.apply_single(&t), Err(E::CodeNotAllowedForAccounts));
    t.code = C::Correction;
    assert_eq!(f.l.apply_single(&t), Ok(Applied::Created));
}

#[test]
fn zero_amount() {
    let mut f = fx();
    let t = entry(&f, 1, 0, 0);
    assert_eq!(f.l.apply_single(&t), Err(E::ZeroAmount));
    // Quantity-only and value-only movements are allowed.
    assert_eq!(f.l.apply_single(&entry(&f, 2, 5, 0)), Ok(Applied::Created));
    assert_eq!(f.l.apply_single(&entry(&f, 3, 0, 5)), Ok(Applied::Created));
}

#[test]
fn exceeds_credits_on_quantity_and_on_value() {
    let mut f = stocked(10, 1000);
    assert_eq!(f.l.apply_single(&exit(&f, 2, 11, 10)), Err(E::ExceedsCredits));
    assert_eq!(f.l.apply_single(&exit(&f, 3, 1, 1001)), Err(E::ExceedsCredits));
    assert_eq!(f.l.apply_single(&exit(&f, 4, 10, 1000)), Ok(Applied::Created));
    assert_eq!(avail(&f, K::Stock), (0, 0));
}

#[test]
fn exceeds_credits_counts_pending_debits() {
    let mut f = stocked(10, 1000);
    assert_eq!(f.l.apply_single(&exit(&f, 2, 7, 700).pending()), Ok(Applied::Created));
    assert_eq!(avail(&f, K::Stock), (3, 300));
    assert_eq!(f.l.apply_single(&exit(&f, 3, 4, 400)), Err(E::ExceedsCredits));
    assert_eq!(f.l.apply_single(&exit(&f, 4, 3, 300)), Ok(Applied::Created));
}

#[test]
fn exceeds_debits() {
    let mut f = fx();
    let key = LedgerKey::new("91440400MA55AAAAAA", "X1");
    f.l.create_item(item(&key.enterprise_uscc, &key.item_no)).expect("item");
    let src = Account::new(900, key.clone(), K::Outside);
    let mut quota = Account::new(901, key, K::Stock);
    quota.flags.debits_must_not_exceed_credits = false;
    quota.flags.credits_must_not_exceed_debits = true;
    f.l.create_account(src).expect("src");
    f.l.create_account(quota).expect("quota");
    let t = Transfer::new(1, AccountId(900), AccountId(901), 1, 1, C::FirstLineEntry, "r", ts(0));
    assert_eq!(f.l.apply_single(&t), Err(E::ExceedsDebits));
}

#[test]
fn flags_are_mutually_exclusive() {
    let mut f = fx();
    let mut t = entry(&f, 1, 1, 1).pending();
    t.flags.void_pending = true;
    t.pending_id = Some(TransferId(5));
    assert_eq!(f.l.apply_single(&t), Err(E::FlagsAreMutuallyExclusive));
}

#[test]
fn pending_id_rules() {
    let mut f = fx();
    let mut t = entry(&f, 1, 1, 1);
    t.pending_id = Some(TransferId(7));
    assert_eq!(f.l.apply_single(&t), Err(E::PendingIdMustBeNone));
    let mut p = entry(&f, 2, 1, 1);
    p.flags.post_pending = true;
    assert_eq!(f.l.apply_single(&p), Err(E::PendingIdRequired));
    p.pending_id = Some(TransferId(2));
    assert_eq!(f.l.apply_single(&p), Err(E::PendingIdMustBeDifferent));
    p.pending_id = Some(TransferId(77));
    assert_eq!(f.l.apply_single(&p), Err(E::PendingNotFound));
}

#[test]
fn pending_transfer_not_pending() {
    let mut f = stocked(10, 10);
    let single = entry(&f, 1, 10, 10);
    let post = Transfer::post_of(2, &single, 1, 1, "gate", ts(2));
    assert_eq!(f.l.apply_single(&post), Err(E::PendingTransferNotPending));
}

#[test]
fn pending_already_posted_and_voided() {
    let mut f = fx();
    let p = entry(&f, 1, 10, 100).pending();
    f.l.apply_single(&p).expect("pending");
    f.l.apply_single(&Transfer::post_of(2, &p, 10, 100, "gate", ts(2))).expect("post");
    assert_eq!(f.l.apply_single(&Transfer::post_of(3, &p, 1, 1, "gate", ts(3))), Err(E::PendingAlreadyPosted));
    assert_eq!(f.l.apply_single(&Transfer::void_of(4, &p, "cancel", ts(4))), Err(E::PendingAlreadyPosted));
    let p2 = entry(&f, 5, 10, 100).pending();
    f.l.apply_single(&p2).expect("pending");
    f.l.apply_single(&Transfer::void_of(6, &p2, "cancel", ts(6))).expect("void");
    assert_eq!(f.l.apply_single(&Transfer::void_of(7, &p2, "cancel", ts(7))), Err(E::PendingAlreadyVoided));
    assert_eq!(f.l.apply_single(&Transfer::post_of(8, &p2, 1, 1, "gate", ts(8))), Err(E::PendingAlreadyVoided));
    assert_eq!(f.l.pending_status(TransferId(1)), Some(PendingStatus::Posted));
    assert_eq!(f.l.pending_status(TransferId(5)), Some(PendingStatus::Voided));
}

#[test]
fn pending_fields_mismatch_post_exceeds_and_void_amount() {
    let mut f = fx();
    let p = entry(&f, 1, 10, 100).pending();
    f.l.apply_single(&p).expect("pending");
    let mut wrong_code = Transfer::post_of(2, &p, 1, 1, "gate", ts(2));
    wrong_code.code = C::Correction;
    assert_eq!(f.l.apply_single(&wrong_code), Err(E::PendingFieldsMismatch));
    assert_eq!(f.l.apply_single(&Transfer::post_of(3, &p, 11, 100, "gate", ts(3))), Err(E::PostExceedsPending));
    assert_eq!(f.l.apply_single(&Transfer::post_of(4, &p, 10, 101, "gate", ts(4))), Err(E::PostExceedsPending));
    assert_eq!(f.l.apply_single(&Transfer::post_of(5, &p, 0, 0, "gate", ts(5))), Err(E::ZeroAmount));
    let mut v = Transfer::void_of(6, &p, "cancel", ts(6));
    v.quantity = 3;
    assert_eq!(f.l.apply_single(&v), Err(E::VoidAmountMismatch));
    v.quantity = 10;
    v.value_fen = 100;
    assert_eq!(f.l.apply_single(&v), Ok(Applied::Created));
}

#[test]
fn exists_with_different_fields_and_idempotent_repeat() {
    let mut f = fx();
    let t = entry(&f, 1, 10, 100);
    assert_eq!(f.l.apply_single(&t), Ok(Applied::Created));
    let before = f.l.clone();
    assert_eq!(f.l.apply_single(&t), Ok(Applied::AlreadyExists));
    assert_eq!(f.l, before);
    let mut t2 = t.clone();
    t2.quantity = 11;
    assert_eq!(f.l.apply_single(&t2), Err(E::ExistsWithDifferentFields));
    let mut t3 = t.clone();
    t3.reference = "other".into();
    assert_eq!(f.l.apply_single(&t3), Err(E::ExistsWithDifferentFields));
    assert_eq!(f.l, before);
}

#[test]
fn pending_then_full_post() {
    let mut f = stocked(100, 10_000);
    let p = exit(&f, 2, 40, 4000).pending();
    f.l.apply_single(&p).expect("pending");
    assert_eq!(avail(&f, K::Stock), (60, 6000));
    let b = f.l.balance(f.a[&K::Stock]).expect("b");
    assert_eq!(b.posted_quantity, 100);
    f.l.apply_single(&Transfer::post_of(3, &p, 40, 4000, "SAS121", ts(3))).expect("post");
    let b = f.l.balance(f.a[&K::Stock]).expect("b");
    assert_eq!((b.posted_quantity, b.available_quantity), (60, 60));
    assert_eq!(b.balances.quantity.debits_pending, 0);
    let m = f.l.balance(f.a[&K::Mainland]).expect("m");
    assert_eq!(m.posted_quantity, 40);
    assert_eq!(m.balances.quantity.credits_pending, 0);
}

#[test]
fn pending_then_partial_post_releases_the_rest() {
    let mut f = stocked(100, 10_000);
    let p = exit(&f, 2, 40, 4000).pending();
    f.l.apply_single(&p).expect("pending");
    f.l.apply_single(&Transfer::post_of(3, &p, 25, 2500, "SAS121", ts(3))).expect("post");
    assert_eq!(avail(&f, K::Stock), (75, 7500));
    let b = f.l.balance(f.a[&K::Stock]).expect("b");
    assert_eq!(b.balances.quantity.debits_pending, 0);
    assert_eq!(b.posted_quantity, 75);
    assert!(f.l.trial_balance(&f.key_a).expect("tb").is_balanced());
}

#[test]
fn pending_then_void_restores_available_exactly() {
    let mut f = stocked(100, 10_000);
    let before = f.l.balance(f.a[&K::Stock]).expect("b");
    let p = exit(&f, 2, 40, 4000).pending();
    f.l.apply_single(&p).expect("pending");
    assert_eq!(avail(&f, K::Stock), (60, 6000));
    f.l.apply_single(&Transfer::void_of(3, &p, "cancel", ts(3))).expect("void");
    assert_eq!(f.l.balance(f.a[&K::Stock]).expect("b"), before);
    assert_eq!(f.l.balance(f.a[&K::Mainland]).expect("m").balances, Default::default());
}

#[test]
fn pending_entry_credit_is_not_available_until_posted() {
    let mut f = fx();
    let p = entry(&f, 1, 10, 100).pending();
    f.l.apply_single(&p).expect("pending");
    assert_eq!(avail(&f, K::Stock), (0, 0));
    assert_eq!(f.l.apply_single(&exit(&f, 2, 1, 10)), Err(E::ExceedsCredits));
    f.l.apply_single(&Transfer::post_of(3, &p, 10, 100, "gate", ts(3))).expect("post");
    assert_eq!(avail(&f, K::Stock), (10, 100));
}

#[test]
fn linked_chain_failure_changes_nothing() {
    let mut f = stocked(10, 100);
    let before = f.l.clone();
    // Processing: consume 10 of material A, produce 5 of finished good B, but the
    // consumption of 11 fails the whole chain.
    let consume = Transfer::new(2, f.a[&K::Stock], f.a[&K::Consumed], 11, 100, C::ProcessingConsume, "list", ts(2));
    let produce = Transfer::new(3, f.b[&K::Produced], f.b[&K::Stock], 5, 100, C::ProcessingProduce, "list", ts(2));
    let r = f.l.apply(&[produce.clone().linked(), consume.clone()]);
    assert_eq!(r, vec![Err(E::LinkedEventFailed), Err(E::ExceedsCredits)]);
    assert_eq!(f.l, before);
    let mut ok_consume = consume;
    ok_consume.quantity = 10;
    let r = f.l.apply(&[produce.linked(), ok_consume]);
    assert_eq!(r, vec![Ok(Applied::Created), Ok(Applied::Created)]);
}

#[test]
fn linked_chain_open_at_end_of_batch_fails() {
    let mut f = fx();
    let before = f.l.clone();
    let r = f.l.apply(&[entry(&f, 1, 1, 1).linked(), entry(&f, 2, 1, 1).linked()]);
    assert_eq!(r, vec![Err(E::LinkedEventFailed), Err(E::LinkedEventChainOpen)]);
    assert_eq!(f.l, before);
}

#[test]
fn independent_transfers_commit_individually() {
    let mut f = fx();
    let r = f.l.apply(&[entry(&f, 1, 5, 5), exit(&f, 2, 6, 6), exit(&f, 3, 5, 5)]);
    assert_eq!(r, vec![Ok(Applied::Created), Err(E::ExceedsCredits), Ok(Applied::Created)]);
}

#[test]
fn chain_sees_its_own_earlier_members_and_rolls_back_pending_state() {
    let mut f = stocked(10, 100);
    let before = f.l.clone();
    let p = exit(&f, 2, 4, 40).pending();
    let post = Transfer::post_of(3, &p, 4, 40, "gate", ts(3));
    let bad = exit(&f, 4, 100, 1);
    let r = f.l.apply(&[p.clone().linked(), post.clone().linked(), bad]);
    assert_eq!(r, vec![Err(E::LinkedEventFailed), Err(E::LinkedEventFailed), Err(E::ExceedsCredits)]);
    assert_eq!(f.l, before);
    assert_eq!(f.l.pending_status(TransferId(2)), None);
}

#[test]
fn queries_account_transfers_and_trial_balance() {
    let mut f = stocked(10, 100);
    f.l.apply_single(&exit(&f, 2, 3, 30)).expect("exit");
    let ts_ = f.l.account_transfers(f.a[&K::Stock]);
    assert_eq!(ts_.iter().map(|t| t.id.0).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(f.l.account_transfers(f.a[&K::Mainland]).len(), 1);
    let tb = f.l.trial_balance(&f.key_a).expect("tb");
    assert!(tb.is_balanced());
    assert_eq!(tb.rows.len(), K::ALL.len());
    assert!(f.l.trial_balance(&LedgerKey::new("x", "y")).is_none());
}

#[test]
fn account_creation_errors() {
    let mut f = fx();
    let key = f.key_a.clone();
    assert_eq!(f.l.create_account(Account::new(0, key.clone(), K::Stock)), Err(AccountError::IdMustNotBeZero));
    assert_eq!(f.l.create_account(Account::new(101, key.clone(), K::Stock)), Ok(Applied::AlreadyExists));
    assert_eq!(f.l.create_account(Account::new(101, key, K::Mainland)), Err(AccountError::ExistsWithDifferentFields));
    assert_eq!(
        f.l.create_account(Account::new(5000, LedgerKey::new("x", "y"), K::Stock)),
        Err(AccountError::LedgerItemNotFound)
    );
}

#[test]
fn write_off_statement_and_count() {
    let mut f = fx();
    let a = f.a.clone();
    let t =
        |id: u128, d: K, c: K, q: u64, code, at: i64| Transfer::new(id, a[&d], a[&c], q, q * 10, code, "doc", ts(at));
    let p = t(3, K::Outside, K::Stock, 50, C::FirstLineEntry, 30).pending();
    let batch = vec![
        t(1, K::Outside, K::Stock, 100, C::FirstLineEntry, 10), // before period
        t(2, K::Stock, K::Mainland, 20, C::SecondLineExit, 20), // before period
        p.clone(),
        Transfer::post_of(4, &p, 40, 400, "SAS121", ts(110)), // posted in period
        t(5, K::Stock, K::Consumed, 15, C::ProcessingConsume, 120),
        t(6, K::Stock, K::Exhibited, 10, C::ExhibitionOut, 130), // internal: not a movement
        t(7, K::Exhibited, K::Mainland, 4, C::ExhibitionSale, 140),
        t(8, K::Stock, K::Outside, 6, C::Export, 150),
        t(9, K::Stock, K::WrittenOff, 1, C::WriteOff, 160),
        t(10, K::Stock, K::Mainland, 5, C::SecondLineExit, 250), // after period
    ];
    assert!(f.l.apply(&batch).iter().all(|r| r.is_ok()));
    let s = f.l.write_off_statement(&f.key_a, ts(100), ts(200)).expect("statement");
    assert_eq!(s.opening.quantity, 80);
    assert_eq!(s.entries.quantity, 40);
    assert_eq!(s.consumption.quantity, 15);
    assert_eq!(s.exits.quantity, 10);
    assert_eq!(s.write_offs.quantity, 1);
    assert_eq!(s.closing.quantity, 80 + 40 - 15 - 10 - 1);
    assert_eq!(s.closing.value_fen, s.closing.quantity * 10);
    assert_eq!(s.outflows_by_code[&C::ExhibitionSale].quantity, 4);
    assert_eq!(s.compare(94), CountResult::Balanced);
    assert_eq!(s.compare(90), CountResult::Shortage(4));
    assert_eq!(s.compare(95), CountResult::Surplus(1));
    // Book stock at the end = custody balances now (stock + exhibited + leased).
    let all = f.l.write_off_statement(&f.key_a, ts(0), ts(10_000)).expect("all");
    let custody: i128 =
        [K::Stock, K::Exhibited, K::Leased].iter().map(|k| f.l.balance(a[k]).expect("b").posted_quantity).sum();
    assert_eq!(all.closing.quantity, custody);
}

#[test]
fn records_round_trip_through_json() {
    let mut f = stocked(10, 100);
    let p = exit(&f, 2, 3, 30).pending().linked();
    let json = serde_json::to_string(&p).expect("ser");
    let back: Transfer = serde_json::from_str(&json).expect("de");
    assert_eq!(back, p);
    assert!(json.contains("\"second_line_exit\""));
    let rec = f.l.account(f.a[&K::Stock]).expect("acc").clone();
    let back: zonegate_ledger::AccountRecord =
        serde_json::from_str(&serde_json::to_string(&rec).expect("ser")).expect("de");
    assert_eq!(back, rec);
    let s = f.l.write_off_statement(&f.key_a, ts(0), ts(10)).expect("s");
    let _ = serde_json::to_string(&s).expect("statement json");
    let _ = f.l.apply_single(&p);
}
