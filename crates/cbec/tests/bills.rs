//! Tax bills, guarantees and signed payment notices.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use zonegate_cbec::bills::{
    canonical_json, is_period, parse_notice, period_of, sign_notice, signing_bytes, verify_notice, AgentKey, BillError,
    BillStatus, Secured, TaxAccounts,
};
use zonegate_domain::Uscc;

const AGENT: &str = "91350100M000100Y43";
const OTHER: &str = "91110000600001760P";

// ------------------------------------------------------------------------------------------------------
// Accounts: scenarios
// ------------------------------------------------------------------------------------------------------

#[test]
fn zero_tax_is_nothing_due_and_guarantee_room_is_first_fit() {
    let mut accounts = TaxAccounts::new();
    assert_eq!(accounts.bill(AGENT, "2026-11", 1, 0, 0), Secured::NothingDue);
    assert_eq!(accounts.bill(AGENT, "2026-11", 2, 600, 1_000), Secured::Guaranteed);
    assert_eq!(accounts.bill(AGENT, "2026-11", 3, 500, 1_000), Secured::Awaiting);
    // A smaller later order still fits what is left.
    assert_eq!(accounts.bill(AGENT, "2026-11", 4, 400, 1_000), Secured::Guaranteed);
    let view = accounts.bill_view(AGENT, "2026-11").unwrap();
    assert_eq!((view.orders, view.tax_fen, view.paid_fen, view.guaranteed_outstanding_fen), (4, 1_500, 0, 1_000));
    assert_eq!((view.awaiting, view.guaranteed, view.status), (1, 2, BillStatus::Open));
    assert_eq!(view.status.as_str(), "open");
    // Billing again changes nothing.
    assert_eq!(accounts.bill(AGENT, "2026-11", 3, 500, 1_000), Secured::Awaiting);
    assert_eq!(accounts.bill_view(AGENT, "2026-11").unwrap().tax_fen, 1_500);
    // The typed USCC names the same agent.
    let uscc = Uscc::parse(AGENT).unwrap();
    assert_eq!(accounts.bills_of(&uscc).len(), 1);
}

#[test]
fn payment_frees_the_guarantee_first_then_covers_awaiting_orders_in_billing_order() {
    let mut accounts = TaxAccounts::new();
    accounts.bill(AGENT, "2026-11", 1, 300, 500);
    accounts.bill(AGENT, "2026-11", 2, 400, 500); // awaiting
    accounts.bill(AGENT, "2026-11", 3, 100, 500); // guaranteed (room 200)
    accounts.bill(AGENT, "2026-11", 4, 150, 500); // awaiting (room 100)
    assert_eq!(accounts.awaiting_of(AGENT), vec![2, 4]);

    // 350 pays the guaranteed orders 1 and 3 (400 would be needed; 1 is paid, 50 goes to 3): room grows to
    // 500 − 50 = 450, which lets order 2 (400) in, then the credit goes to the guaranteed orders first.
    let applied = accounts.pay(AGENT, "2026-11", "PN1", 350).unwrap();
    assert_eq!(applied.settled, vec![1]);
    assert_eq!(applied.released, vec![2]);
    assert_eq!(accounts.order_state(1), Some(Secured::Paid));
    assert_eq!(accounts.order_state(2), Some(Secured::Guaranteed));
    assert_eq!(accounts.order_state(4), Some(Secured::Awaiting));
    assert_eq!(accounts.guarantee(AGENT).unwrap().reserved_fen, 450);

    assert_eq!(accounts.pay(AGENT, "2026-11", "PN1", 1), Err(BillError::Duplicate));
    assert_eq!(accounts.pay(AGENT, "2026-12", "PN2", 1), Err(BillError::UnknownBill));
    assert_eq!(accounts.pay(AGENT, "2026-11", "PN2", 0), Err(BillError::NonPositive));
    assert_eq!(accounts.pay(AGENT, "2026-11", "PN2", 601), Err(BillError::Overpaid { outstanding_fen: 600 }));
    let applied = accounts.pay(AGENT, "2026-11", "PN2", 600).unwrap();
    assert_eq!(applied.outstanding_fen, 0);
    assert_eq!(applied.into_iter().collect::<Vec<_>>(), vec![4]);
    let view = accounts.bill_view(AGENT, "2026-11").unwrap();
    assert_eq!((view.status, view.guaranteed_outstanding_fen, view.awaiting), (BillStatus::Paid, 0, 0));
    assert_eq!(view.notices, vec!["PN1".to_string(), "PN2".to_string()]);
    assert_eq!(accounts.notice("PN2"), Some((AGENT, "2026-11", 600)));
}

#[test]
fn a_paid_awaiting_order_follows_the_cumulative_rule() {
    let mut accounts = TaxAccounts::new();
    accounts.bill(AGENT, "2026-11", 1, 500, 0);
    accounts.bill(AGENT, "2026-11", 2, 100, 0);
    // 100 does not cover order 1, so order 2 (paid ≥ cumulative 600 needed) waits too.
    assert!(accounts.pay(AGENT, "2026-11", "PN1", 100).unwrap().released.is_empty());
    assert_eq!(accounts.pay(AGENT, "2026-11", "PN2", 400).unwrap().released, vec![1]);
    assert_eq!(accounts.pay(AGENT, "2026-11", "PN3", 100).unwrap().released, vec![2]);
}

#[test]
fn unbilling_returns_room_and_refuses_what_would_need_a_refund() {
    let mut accounts = TaxAccounts::new();
    accounts.bill(AGENT, "2026-11", 1, 800, 1_000);
    accounts.bill(OTHER, "2026-11", 9, 50, 0);
    accounts.bill(AGENT, "2026-12", 2, 700, 1_000); // awaiting, another period
    assert_eq!(accounts.unbill(1), Ok(vec![2]));
    assert_eq!(accounts.order_state(1), None);
    assert!(accounts.bill_view(AGENT, "2026-11").is_none(), "an empty bill without payments goes");
    assert_eq!(accounts.unbill(1), Err(BillError::UnknownOrder));

    accounts.bill(AGENT, "2026-12", 3, 100, 1_000);
    accounts.pay(AGENT, "2026-12", "PN1", 750).unwrap();
    // 750 paid of 800: taking off order 3 (100) would leave 750 paid of 700.
    assert_eq!(accounts.unbill(3), Err(BillError::RefundDue));
    assert_eq!(accounts.order_state(3), Some(Secured::Guaranteed));
    // Nothing of the other agent moved.
    assert_eq!(accounts.order_state(9), Some(Secured::Awaiting));
}

#[test]
fn a_larger_guarantee_secures_the_earliest_awaiting_order_first() {
    let mut accounts = TaxAccounts::new();
    accounts.bill(AGENT, "2026-11", 1, 500, 0);
    accounts.bill(AGENT, "2026-11", 2, 200, 0);
    accounts.bill(AGENT, "2026-11", 3, 300, 0);
    assert_eq!(accounts.guarantee_changed(AGENT, 600), vec![1]);
    // Room 300: order 2 (200) fits, order 3 (300) then does not.
    assert_eq!(accounts.guarantee_changed(AGENT, 800), vec![2]);
    // Lowering keeps what is guaranteed.
    assert!(accounts.guarantee_changed(AGENT, 100).is_empty());
    assert_eq!(accounts.order_state(2), Some(Secured::Guaranteed));
    let guarantee = accounts.guarantee(AGENT).unwrap();
    assert_eq!((guarantee.reserved_fen, guarantee.room_fen(), guarantee.awaiting), (700, 0, 1));

    // A raised limit given when billing first lets earlier orders in: order 3 takes the room before order 4.
    assert_eq!(accounts.bill(AGENT, "2026-11", 4, 10, 1_000), Secured::Awaiting);
    assert_eq!(accounts.take_released(), vec![3]);
    assert!(accounts.take_released().is_empty());
    let billed = accounts.bill_detailed(AGENT, "2026-11", 5, 10, 1_020);
    assert_eq!((billed.secured, billed.released), (Secured::Guaranteed, vec![4]));
}

#[test]
fn periods_are_months_in_china_time() {
    let late = chrono::DateTime::parse_from_rfc3339("2026-11-30T17:00:00Z").unwrap();
    assert_eq!(period_of(late), "2026-12");
    let early = chrono::DateTime::parse_from_rfc3339("2026-11-30T23:59:59+08:00").unwrap();
    assert_eq!(period_of(early), "2026-11");
    assert!(is_period("2026-11"));
    assert!(!is_period("2026-13") && !is_period("2026-1") && !is_period("2026/11"));
}

// ------------------------------------------------------------------------------------------------------
// Accounts: random operations against a model
// ------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Bill { agent: usize, period: usize, tax: i64, limit: i64 },
    Unbill { pick: usize },
    Pay { agent: usize, period: usize, amount: i64, pick_notice: u8 },
    Guarantee { agent: usize, limit: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize, 0..2usize, prop_oneof![Just(0i64), 1..600i64], 0..1_500i64)
            .prop_map(|(agent, period, tax, limit)| Op::Bill { agent, period, tax, limit }),
        1 => any::<usize>().prop_map(|pick| Op::Unbill { pick }),
        2 => (0..2usize, 0..3usize, 1..900i64, 0..20u8)
            .prop_map(|(agent, period, amount, pick_notice)| Op::Pay { agent, period, amount, pick_notice }),
        1 => (0..2usize, 0..1_500i64).prop_map(|(agent, limit)| Op::Guarantee { agent, limit }),
    ]
}

const AGENTS: [&str; 2] = [AGENT, OTHER];
const PERIODS: [&str; 3] = ["2026-11", "2026-12", "2027-01"];

/// What the model knows: the live orders (id → agent, period, tax) in billing order, and the limits.
#[derive(Default)]
struct Model {
    orders: BTreeMap<u64, (usize, usize, i64)>,
    limits: [i64; 2],
    next_id: u64,
    notices: BTreeSet<String>,
}

fn states(accounts: &TaxAccounts, model: &Model) -> BTreeMap<u64, Secured> {
    model.orders.keys().map(|id| (*id, accounts.order_state(*id).expect("a live order has a state"))).collect()
}

fn check(accounts: &TaxAccounts, model: &Model) {
    for (a, agent) in AGENTS.iter().enumerate() {
        let mut reserved = 0;
        let mut seen = 0;
        for view in accounts.bills_of(*agent) {
            let p = PERIODS.iter().position(|p| *p == view.period).unwrap();
            let orders = accounts.orders_of(*agent, &view.period);
            // Σ tax of the bill = Σ of its orders' taxes, which are the model's.
            let expected: Vec<(u64, i64)> = model
                .orders
                .iter()
                .filter(|(_, (oa, op, _))| (*oa, *op) == (a, p))
                .map(|(id, (_, _, tax))| (*id, *tax))
                .collect();
            assert_eq!(orders.iter().map(|(id, tax, _)| (*id, *tax)).collect::<Vec<_>>(), expected);
            assert_eq!(view.tax_fen, expected.iter().map(|(_, tax)| tax).sum::<i64>());
            assert!(0 <= view.paid_fen && view.paid_fen <= view.tax_fen, "paid ≤ tax: {view:?}");
            assert_eq!(view.status == BillStatus::Paid, view.paid_fen == view.tax_fen);
            seen += orders.len();
            // Every order in exactly one state, consistent with its tax.
            for (_, tax, state) in &orders {
                assert_eq!(*state == Secured::NothingDue, *tax == 0);
            }
            let count = |s: Secured| orders.iter().filter(|(_, _, state)| *state == s).count();
            assert_eq!((view.guaranteed, view.awaiting), (count(Secured::Guaranteed), count(Secured::Awaiting)));
            // The bill's credit is spent: guaranteed orders first, then awaiting ones, in billing order.
            let paid_orders: i64 = orders.iter().filter(|(_, _, s)| *s == Secured::Paid).map(|(_, t, _)| t).sum();
            let credit = view.paid_fen - paid_orders;
            assert!(credit >= 0);
            let guaranteed_tax: i64 =
                orders.iter().filter(|(_, _, s)| *s == Secured::Guaranteed).map(|(_, t, _)| t).sum();
            let first = |s: Secured| orders.iter().find(|(_, _, state)| *state == s).map(|(_, t, _)| *t);
            if let Some(tax) = first(Secured::Guaranteed) {
                assert!(credit < tax, "credit {credit} left while guaranteed order of {tax} is unpaid");
                assert_eq!(view.guaranteed_outstanding_fen, guaranteed_tax - credit);
            } else {
                assert_eq!(view.guaranteed_outstanding_fen, 0);
                if let Some(tax) = first(Secured::Awaiting) {
                    assert!(credit < tax, "FIFO: credit {credit} covers the earliest awaiting order ({tax})");
                } else {
                    assert_eq!(credit, 0);
                }
            }
            reserved += view.guaranteed_outstanding_fen;
        }
        assert_eq!(seen, model.orders.values().filter(|(oa, _, _)| *oa == a).count());
        if let Some(guarantee) = accounts.guarantee(*agent) {
            assert_eq!(guarantee.reserved_fen, reserved);
            assert_eq!(guarantee.limit_fen, model.limits[a]);
            // FIFO: the earliest awaiting order does not fit the room.
            let awaiting = accounts.awaiting_of(*agent);
            if let Some(first) = awaiting.first() {
                let tax = model.orders[first].2;
                assert!(tax > guarantee.limit_fen - reserved, "earliest awaiting order {first} fits the room");
            }
        }
    }
}

fn run(ops: Vec<Op>) {
    let mut accounts = TaxAccounts::new();
    let mut model = Model::default();
    for op in ops {
        let before = states(&accounts, &model);
        let reserved_before: Vec<i64> =
            AGENTS.iter().map(|a| accounts.guarantee(*a).map_or(0, |g| g.reserved_fen)).collect();
        let mut reported: Vec<u64> = Vec::new();
        let mut limit_lowered = false;
        match op {
            Op::Bill { agent, period, tax, limit } => {
                let id = model.next_id;
                model.next_id += 1;
                limit_lowered = limit < model.limits[agent];
                model.limits[agent] = limit;
                let secured = accounts.bill(AGENTS[agent], PERIODS[period], id, tax, limit);
                model.orders.insert(id, (agent, period, tax));
                assert_eq!(accounts.order_state(id), Some(secured));
                reported.extend(accounts.take_released());
            }
            Op::Unbill { pick } => {
                if model.orders.is_empty() {
                    assert_eq!(accounts.unbill(u64::MAX), Err(BillError::UnknownOrder));
                    continue;
                }
                let id = *model.orders.keys().nth(pick % model.orders.len()).unwrap();
                let (a, p, tax) = model.orders[&id];
                let view = accounts.bill_view(AGENTS[a], PERIODS[p]).unwrap();
                match accounts.unbill(id) {
                    Ok(released) => {
                        model.orders.remove(&id);
                        reported.extend(released);
                    }
                    Err(error) => {
                        assert_eq!(error, BillError::RefundDue);
                        assert!(view.paid_fen > view.tax_fen - tax);
                    }
                }
            }
            Op::Pay { agent, period, amount, pick_notice } => {
                let notice = format!("PN{pick_notice}");
                let view = accounts.bill_view(AGENTS[agent], PERIODS[period]);
                let result = accounts.pay(AGENTS[agent], PERIODS[period], &notice, amount);
                match (&result, view) {
                    _ if model.notices.contains(&notice) => assert_eq!(result, Err(BillError::Duplicate)),
                    (_, None) => assert_eq!(result, Err(BillError::UnknownBill)),
                    (_, Some(view)) if amount > view.outstanding_fen => {
                        assert_eq!(result, Err(BillError::Overpaid { outstanding_fen: view.outstanding_fen }))
                    }
                    (Ok(applied), Some(view)) => {
                        assert_eq!(applied.paid_fen, view.paid_fen + amount);
                        model.notices.insert(notice);
                        reported.extend(applied.released.iter().copied());
                        for id in &applied.settled {
                            assert_eq!(before[id], Secured::Guaranteed);
                        }
                    }
                    (Err(error), Some(_)) => panic!("refused: {error}"),
                }
            }
            Op::Guarantee { agent, limit } => {
                limit_lowered = limit < model.limits[agent];
                model.limits[agent] = limit;
                reported.extend(accounts.guarantee_changed(AGENTS[agent], limit));
            }
        }
        check(&accounts, &model);
        let after = states(&accounts, &model);
        // Secured orders stay secured; a paid order stays paid; every order secured now is reported, once.
        let mut newly: Vec<u64> = Vec::new();
        for (id, state) in &after {
            match before.get(id) {
                Some(Secured::Awaiting) if *state != Secured::Awaiting => newly.push(*id),
                Some(previous) if previous.is_secured() => {
                    assert!(state.is_secured(), "order {id} fell back to awaiting");
                    if *previous == Secured::Paid {
                        assert_eq!(*state, Secured::Paid);
                    }
                }
                _ => {}
            }
        }
        let mut sorted = reported.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), reported.len(), "an order reported twice: {reported:?}");
        assert_eq!(sorted, newly, "reported releases differ from the state changes");
        // Reservations grow beyond the limit only... never: what exceeds it was reserved under a larger one.
        for (a, agent) in AGENTS.iter().enumerate() {
            if let Some(guarantee) = accounts.guarantee(*agent) {
                let grew = guarantee.reserved_fen > reserved_before[a];
                assert!(
                    !grew || guarantee.reserved_fen <= guarantee.limit_fen,
                    "reserved {} over the limit {} (lowered: {limit_lowered})",
                    guarantee.reserved_fen,
                    guarantee.limit_fen
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_the_invariants(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops);
    }
}

// ------------------------------------------------------------------------------------------------------
// Payment notices
// ------------------------------------------------------------------------------------------------------

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn agent_key(seed: u8, key_id: &str, from: &str, to: Option<&str>) -> AgentKey {
    AgentKey {
        agent: Uscc::parse(AGENT).unwrap(),
        key_id: key_id.to_string(),
        public_key: signing_key(seed).verifying_key().to_bytes(),
        effective_from: from.parse().unwrap(),
        effective_to: to.map(|to| to.parse().unwrap()),
    }
}

fn notice() -> Value {
    json!({
        "notice_id": "PN2026110001",
        "agent": AGENT,
        "period": "2026-11",
        "amount": "1234.56",
        "bank": "ICBC Zhuhai",
        "paid_at": "2026-11-28T12:00:00+08:00",
        "key_id": "k1",
    })
}

fn signed(seed: u8) -> Value {
    let mut value = notice();
    value["signature"] = Value::String(sign_notice(&value, &signing_key(seed)));
    value
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

#[test]
fn signing_bytes_are_key_sorted_compact_and_leave_out_the_signature() {
    // Keys inserted out of order, nested, with a signature member.
    let mut inner = Map::new();
    inner.insert("z".into(), json!(1));
    inner.insert("a".into(), json!([true, null, "x y"]));
    let mut outer = Map::new();
    outer.insert("signature".into(), json!("c2ln"));
    outer.insert("b".into(), Value::Object(inner));
    outer.insert("a".into(), json!("é\"\n"));
    let value = Value::Object(outer);
    let bytes = signing_bytes(&value);
    assert_eq!(String::from_utf8(bytes).unwrap(), r#"{"a":"é\"\n","b":{"a":[true,null,"x y"],"z":1}}"#);
    // serde_json's own output is key-sorted only without its `preserve_order` feature, which the workspace
    // build enables through another crate: the canonical form must not depend on it.
    let plain = serde_json::to_string(&value).unwrap();
    if plain.starts_with(r#"{"a""#) {
        assert_eq!(canonical_json(&value), plain, "without preserve_order, serde_json is already canonical");
    } else {
        assert!(plain.starts_with(r#"{"signature""#), "preserve_order keeps insertion order: {plain}");
    }
    // Whitespace and order of the input do not matter.
    let reordered: Value = serde_json::from_str(
        r#"{ "key_id":"k1", "paid_at":"2026-11-28T12:00:00+08:00", "bank":"ICBC Zhuhai", "amount":"1234.56",
             "period":"2026-11", "agent":"91350100M000100Y43", "notice_id":"PN2026110001" }"#,
    )
    .unwrap();
    assert_eq!(signing_bytes(&reordered), signing_bytes(&notice()));
}

#[test]
fn a_notice_parses_to_its_typed_form() {
    let value = signed(7);
    let parsed = parse_notice(&value).unwrap();
    assert_eq!(parsed.notice_id, "PN2026110001");
    assert_eq!(parsed.agent.as_str(), AGENT);
    assert_eq!(parsed.amount_fen, 123_456);
    assert_eq!(parsed.amount().to_string(), "1234.56");
    assert_eq!(parsed.paid_at.to_rfc3339(), "2026-11-28T12:00:00+08:00");
    let mut whole = value.clone();
    whole["amount"] = json!("12");
    assert_eq!(parse_notice(&whole).unwrap().amount_fen, 1_200);
}

#[test]
fn every_problem_of_a_notice_is_reported_at_once() {
    let value = json!({
        "notice_id": "PN 1",
        "agent": "91350100M000100Y44",
        "period": "2026-13",
        "amount": 12.5,
        "paid_at": "yesterday",
        "key_id": "",
        "signature": 5,
        "extra": 1,
    });
    let errors = parse_notice(&value).unwrap_err();
    let found: BTreeSet<(String, &str)> = errors.iter().map(|e| (e.field.clone(), e.code)).collect();
    let expected: BTreeSet<(String, &str)> = [
        ("extra", "unknown_field"),
        ("notice_id", "notice_id_format"),
        ("period", "period_format"),
        ("amount", "type"),
        ("bank", "required"),
        ("paid_at", "datetime"),
        ("key_id", "required"),
        ("signature", "type"),
    ]
    .into_iter()
    .map(|(field, code)| (field.to_string(), code))
    .collect();
    let agent_errors: Vec<_> = errors.iter().filter(|e| e.field == "agent").collect();
    assert_eq!(agent_errors.len(), 1, "{errors}");
    let without_agent: BTreeSet<_> = found.into_iter().filter(|(field, _)| field != "agent").collect();
    assert_eq!(without_agent, expected, "{errors}");

    for (amount, code) in [
        ("0.00", "zero"),
        ("-1", "negative"),
        ("1.234", "decimals"),
        ("1e3", "decimal"),
        (".5", "decimal"),
        ("", "required"),
    ] {
        let mut value = signed(7);
        value["amount"] = json!(amount);
        let errors = parse_notice(&value).unwrap_err();
        assert_eq!(errors.iter().map(|e| (e.field.as_str(), e.code)).collect::<Vec<_>>(), vec![("amount", code)]);
    }
    assert_eq!(parse_notice(&json!([1])).unwrap_err().iter().next().unwrap().code, "type");
}

#[test]
fn a_signed_notice_verifies_and_a_tampered_one_does_not() {
    let keys = [agent_key(7, "k1", "2026-01-01", None)];
    let value = signed(7);
    let notice = parse_notice(&value).unwrap();
    assert_eq!(verify_notice(&value, &notice, &keys, day("2026-11-28")), Ok(()));

    // The amount changed after signing.
    let mut tampered = value.clone();
    tampered["amount"] = json!("2234.56");
    let tampered_notice = parse_notice(&tampered).unwrap();
    let error = verify_notice(&tampered, &tampered_notice, &keys, day("2026-11-28")).unwrap_err();
    assert_eq!((error.code, error.field.as_str()), ("signature_invalid", "signature"));
    // The typed notice does not match the JSON it claims to come from.
    let error = verify_notice(&value, &tampered_notice, &keys, day("2026-11-28")).unwrap_err();
    assert_eq!(error.code, "signature_invalid");
    // Signed with another key.
    let other = signed(8);
    let error = verify_notice(&other, &parse_notice(&other).unwrap(), &keys, day("2026-11-28")).unwrap_err();
    assert_eq!(error.code, "signature_invalid");
}

#[test]
fn keys_must_be_the_agents_and_in_force() {
    let value = signed(7);
    let notice = parse_notice(&value).unwrap();
    let expired = [agent_key(7, "k1", "2025-01-01", Some("2026-10-31"))];
    let error = verify_notice(&value, &notice, &expired, day("2026-11-28")).unwrap_err();
    assert_eq!((error.code, error.field.as_str()), ("signature_key_unknown", "key_id"));
    assert_eq!(verify_notice(&value, &notice, &expired, day("2026-10-31")), Ok(()), "the last day is in force");
    let future = [agent_key(7, "k1", "2026-12-01", None)];
    assert_eq!(verify_notice(&value, &notice, &future, day("2026-11-28")).unwrap_err().code, "signature_key_unknown");
    let other_id = [agent_key(7, "k2", "2026-01-01", None)];
    assert_eq!(verify_notice(&value, &notice, &other_id, day("2026-11-28")).unwrap_err().code, "signature_key_unknown");
    let mut other_agent = agent_key(7, "k1", "2026-01-01", None);
    other_agent.agent = Uscc::parse(OTHER).unwrap();
    assert_eq!(
        verify_notice(&value, &notice, &[other_agent], day("2026-11-28")).unwrap_err().code,
        "signature_key_unknown"
    );
    // Rotation: the key in force on the date is the one used.
    let rotated = [agent_key(9, "k1", "2025-01-01", Some("2026-06-30")), agent_key(7, "k1", "2026-07-01", None)];
    assert_eq!(verify_notice(&value, &notice, &rotated, day("2026-11-28")), Ok(()));
}

#[test]
fn malformed_signatures_are_format_errors() {
    let keys = [agent_key(7, "k1", "2026-01-01", None)];
    for bad in ["not base64!", "c2hvcnQ=", ""] {
        let mut value = signed(7);
        value["signature"] = json!(bad);
        let Ok(notice) = parse_notice(&value) else {
            assert_eq!(bad, "", "only the empty signature fails parsing");
            continue;
        };
        let error = verify_notice(&value, &notice, &keys, day("2026-11-28")).unwrap_err();
        assert_eq!((error.code, error.field.as_str()), ("signature_format", "signature"), "{bad}");
    }
}

#[test]
fn public_keys_round_trip_through_their_text_form() {
    let public = signing_key(7).verifying_key().to_bytes();
    let text = AgentKey::public_text(&public);
    assert_eq!(AgentKey::parse_public(&text), Ok(public));
    assert_eq!(AgentKey::parse_public("c2hvcnQ=").unwrap_err().code, "public_key_format");
    assert_eq!(AgentKey::parse_public("%%%").unwrap_err().code, "public_key_format");
}
