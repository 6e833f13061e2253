//! The e-commerce engine, one test per user-visible outcome: matching, the seven checks and the caps, the
//! limits, idempotency, tax security (bills, guarantees, payments), risk channels and inspections,
//! cancellations, returns, the incomplete report and replay.

mod support;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use support::*;
use zonegate_cbec::checks;
use zonegate_cbec::documents::DocKind;
use zonegate_cbec::engine::{Config, Disposition, Engine, Refusal, Status};

/// 2026-03-02 10:00 in China.
fn t0() -> DateTime<Utc> {
    at("2026-03-02T10:00:00+08:00")
}

/// A harness whose platform has a guarantee large enough for everything.
fn harness() -> Harness {
    let mut h = Harness::new();
    h.policy.guarantees.insert(PLATFORM.into(), 100_000_000);
    h
}

fn milk(order_no: &str, buyer: u32, at: DateTime<Utc>) -> Spec {
    Spec::new(order_no, buyer, vec![Line::kg(MILK, "2", "3000.00")], at)
}

fn kinds(step: &zonegate_cbec::engine::Step) -> Vec<&'static str> {
    step.records.iter().map(|r| r.kind).collect()
}

/// The step's decision as stored (JSON).
fn decision(step: &zonegate_cbec::engine::Step) -> Value {
    serde_json::from_str(&step.decision.as_ref().expect("the step decided the order").to_json()).unwrap()
}

fn assert_refused_for(step: &zonegate_cbec::engine::Step, id: &str) {
    assert_eq!(step.status, Status::Refused, "decision: {:#}", decision(step));
    let reasons = reasons(&decision(step));
    assert!(reasons.iter().any(|r| r == id), "reasons {reasons:?} lack {id}");
    assert_eq!(decision(step)["status"], "refused");
}

fn assert_quota(h: &Harness, buyer: u32, posted: i64, pending: i64) {
    let view = h.quota(buyer, 2026);
    assert_eq!((view.posted_fen, view.pending_fen), (posted, pending), "quota of buyer {buyer}: {view:?}");
    assert_eq!(view.available_fen, (2_600_000 - posted - pending).max(0));
}

fn codes(result: Result<zonegate_cbec::engine::Step, Refusal>) -> Vec<&'static str> {
    refusal_codes(&result.expect_err("the step is refused"))
}

const ALL_CHECKS: [&str; 8] = [
    checks::DOCUMENTS_CONSISTENT,
    checks::PARTIES_REGISTERED,
    checks::BUYER_IDENTITY,
    checks::PAID_MATCHES,
    checks::PAYER_IS_BUYER,
    checks::POSITIVE_LIST,
    checks::SINGLE_LIMIT,
    checks::ANNUAL_LIMIT,
];

#[test]
fn the_three_documents_in_any_order_match_at_the_third_and_release_the_order() {
    use DocKind::{Order as O, Payment as P, Waybill as W};
    let orders = [[O, P, W], [O, W, P], [P, O, W], [P, W, O], [W, O, P], [W, P, O]];
    let mut h = harness();
    for (i, sequence) in orders.iter().enumerate() {
        let buyer = i as u32 + 1;
        let spec = milk(&format!("SO-{i}"), buyer, t0());
        let docs = docs(&h.policy, &spec);
        assert_eq!(docs.order["tax_withheld"], "273.00");
        for (n, kind) in sequence.iter().enumerate() {
            let step = h.send(*kind, docs.get(*kind), t0() + Duration::minutes(n as i64)).unwrap();
            assert_eq!(step.disposition, Disposition::Recorded);
            assert_eq!(step.order_key, spec.key().to_string());
            if n < 2 {
                assert_eq!(step.status, Status::Incomplete);
                assert!(step.decision.is_none());
                assert_eq!(kinds(&step), [kind.as_str()]);
                assert_eq!(step.waiting_for.len(), 2 - n);
                assert!(!step.waiting_for.contains(&kind.as_str()));
                assert_eq!(h.view(&spec.key()).status, Status::Incomplete);
                assert_quota(&h, buyer, 0, 0);
                continue;
            }
            assert_eq!(step.status, Status::Released, "{sequence:?}");
            assert!(step.waiting_for.is_empty());
            assert_eq!(kinds(&step), [kind.as_str(), "decision"]);
            let decision = decision(&step);
            // The stored record is the decision answered.
            assert_eq!(step.records[1].value(), decision);
            assert_eq!(step.records[1].sha256, zonegate_cbec::documents::sha256_hex(&step.records[1].json));
            let checks = checks(&decision);
            for id in ALL_CHECKS {
                assert!(checks.contains(&(id.to_owned(), true)), "{id} passed in {checks:?}");
            }
            assert!(checks.iter().all(|(_, passed)| *passed));
            assert_eq!(decision["status"], "released");
            assert_eq!(decision["mode"], "ecommerce");
            assert_eq!(decision["tax"]["total_fen"], 27_300);
            assert_eq!(decision["tax"]["duty_fen"], 0);
            assert_eq!(decision["amount"], "3000.00");
            assert_eq!(decision["period"], "2026-03");
            assert_eq!(decision["tax_secured"], true);
            let trace = decision["trace"].as_array().expect("trace codes");
            assert!(!trace.is_empty());
            assert!(trace[0]["uri"].as_str().unwrap().starts_with("https://trace.zonegate.example/"));
            let view = h.view(&spec.key());
            assert_eq!(view.status, Status::Released);
            assert_eq!(view.tax_fen, Some(27_300));
            assert_eq!(view.tax_secured, Some(true));
            assert_eq!(view.channel.as_deref(), Some("release"));
            assert_eq!(view.released_at, Some(t0() + Duration::minutes(2)));
            assert_quota(&h, buyer, 300_000, 0);
        }
    }
    assert_eq!(h.engine.counts().get("released"), Some(&6));
    assert_eq!(h.engine.counts().get("incomplete").copied().unwrap_or(0), 0);
}

#[test]
fn an_inconsistent_payment_amount_refuses_the_order_and_leaves_the_quota() {
    let mut h = harness();
    let mut docs = docs(&h.policy, &milk("SO-1", 1, t0()));
    docs.payment["amount"] = json!("3200.00");
    let step = h.send_all(&docs, t0());
    assert_refused_for(&step, checks::DOCUMENTS_CONSISTENT);
    assert_eq!(kinds(&step), ["waybill", "decision"]);
    assert!(decision(&step).get("tax").is_none());
    assert_quota(&h, 1, 0, 0);
    assert_eq!(h.view(&key("SO-1")).tax_fen, None);

    // A waybill whose freight differs from the order's fails the same check alone.
    let mut docs = docs_for(&h, "SO-2", 2);
    docs.waybill["freight"] = json!("10.00");
    let step = h.send_all(&docs, t0());
    assert_refused_for(&step, checks::DOCUMENTS_CONSISTENT);
    assert_eq!(reasons(&decision(&step)), [checks::DOCUMENTS_CONSISTENT]);
    assert_quota(&h, 2, 0, 0);
}

fn docs_for(h: &Harness, order_no: &str, buyer: u32) -> Docs {
    docs(&h.policy, &milk(order_no, buyer, t0()))
}

#[test]
fn an_unregistered_logistics_company_refuses_the_order() {
    let mut h = harness();
    let mut docs = docs_for(&h, "SO-1", 1);
    docs.waybill["logistics_company"] = json!(STRANGER);
    let step = h.send_all(&docs, t0());
    assert_refused_for(&step, checks::PARTIES_REGISTERED);
    assert_eq!(reasons(&decision(&step)), [checks::PARTIES_REGISTERED]);
    assert_quota(&h, 1, 0, 0);
}

#[test]
fn a_payer_other_than_the_buyer_refuses_the_order() {
    let mut h = harness();
    let mut docs = docs_for(&h, "SO-1", 1);
    docs.payment["payer"] = json!({"name": buyer_name(9), "id_type": "resident_id", "id_number": buyer_id(9)});
    let step = h.send_all(&docs, t0());
    assert_refused_for(&step, checks::PAYER_IS_BUYER);
    assert_eq!(reasons(&decision(&step)), [checks::PAYER_IS_BUYER]);
    assert_quota(&h, 1, 0, 0);
    assert_quota(&h, 9, 0, 0);
}

#[test]
fn paid_must_match_price_and_tax_within_five_percent() {
    let mut h = harness();
    // 3,000 + 0 tax against 3,273 paid: 273 off, more than 5 % of 3,273 (163.65).
    let mut docs = docs_for(&h, "SO-1", 1);
    docs.set_paid("0.00", "3273.00");
    let step = h.send_all(&docs, t0());
    assert_refused_for(&step, checks::PAID_MATCHES);
    assert_eq!(reasons(&decision(&step)), [checks::PAID_MATCHES]);
    assert_quota(&h, 1, 0, 0);

    // 3,000 + 200 against 3,273: 73 off, within 5 %.
    let mut docs = docs_for(&h, "SO-2", 2);
    docs.set_paid("200.00", "3273.00");
    let step = h.send_all(&docs, t0());
    assert_eq!(step.status, Status::Released, "{:#}", decision(&step));
    assert_eq!(decision(&step)["tax"]["total_fen"], 27_300);
    assert_quota(&h, 2, 300_000, 0);
}

#[test]
fn goods_off_the_positive_list_refuse_the_order() {
    let mut h = harness();
    let spec = Spec::new("SO-1", 1, vec![Line::kg(MILK, "1", "1000.00"), Line::pieces(BEER, 6, "120.00")], t0());
    let step = h.place(&spec);
    assert_refused_for(&step, checks::POSITIVE_LIST);
    assert_eq!(reasons(&decision(&step)), [checks::POSITIVE_LIST]);
    let detail =
        decision(&step)["checks"].as_array().unwrap().iter().find(|c| c["id"] == checks::POSITIVE_LIST).unwrap()
            ["detail"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(detail.contains("line 2"), "{detail}");
    assert_quota(&h, 1, 0, 0);
}

#[test]
fn over_the_single_limit_is_general_trade() {
    let mut h = harness();
    let spec = Spec::new("SO-1", 1, vec![Line::kg(MILK, "4", "6000.00")], t0());
    let step = h.place(&spec);
    assert_refused_for(&step, checks::SINGLE_LIMIT);
    assert_eq!(reasons(&decision(&step)), [checks::SINGLE_LIMIT]);
    let single =
        decision(&step)["checks"].as_array().unwrap().iter().find(|c| c["id"] == checks::SINGLE_LIMIT).unwrap()
            ["detail"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(single.contains("general trade"), "{single}");
    assert_quota(&h, 1, 0, 0);

    // Exactly 5,000 is within.
    let step = h.place(&Spec::new("SO-2", 2, vec![Line::kg(MILK, "4", "5000.00")], t0()));
    assert_eq!(step.status, Status::Released);
    assert_quota(&h, 2, 500_000, 0);
}

#[test]
fn a_single_indivisible_item_over_the_single_limit_pays_the_full_goods_rate() {
    let mut h = harness();
    let spec = Spec::new("SO-1", 1, vec![Line::pieces(WATCH, 1, "6000.00").indivisible()], t0());
    let step = h.place(&spec);
    let decision = decision(&step);
    assert_eq!(step.status, Status::Released, "{decision:#}");
    assert_eq!(decision["mode"], "full_goods_rate");
    assert!(decision["tax"]["duty_fen"].as_i64().unwrap() > 0);
    assert!(checks(&decision).iter().all(|(_, passed)| *passed));
    assert_quota(&h, 1, 600_000, 0);

    // Two lines, one of them indivisible: no exception.
    let spec = Spec::new(
        "SO-2",
        2,
        vec![Line::pieces(WATCH, 1, "5500.00").indivisible(), Line::pieces(CREAM, 1, "100.00")],
        t0(),
    );
    let step = h.place(&spec);
    assert_refused_for(&step, checks::SINGLE_LIMIT);
    assert_quota(&h, 2, 0, 0);
}

#[test]
fn two_orders_past_the_annual_limit_refuse_the_second() {
    let mut h = harness();
    let big = Spec::new("SO-1", 1, vec![Line::pieces(WATCH, 1, "22000.00").indivisible()], t0());
    assert_eq!(h.place(&big).status, Status::Released);
    assert_quota(&h, 1, 2_200_000, 0);
    let step = h.place(&Spec::new("SO-2", 1, vec![Line::kg(MILK, "3", "4500.00")], t0() + Duration::hours(1)));
    assert_refused_for(&step, checks::ANNUAL_LIMIT);
    assert_eq!(reasons(&decision(&step)), [checks::ANNUAL_LIMIT]);
    assert_quota(&h, 1, 2_200_000, 0);
    // What fits still passes: 22,000 + 4,000 = 26,000.
    let step = h.place(&Spec::new("SO-3", 1, vec![Line::kg(MILK, "2", "4000.00")], t0() + Duration::hours(2)));
    assert_eq!(step.status, Status::Released);
    assert_quota(&h, 1, 2_600_000, 0);
    assert_eq!(h.quota(1, 2026).available_fen, 0);
    // Another buyer and the next year are untouched.
    assert_quota(&h, 2, 0, 0);
    let step = h.place(&Spec::new("SO-4", 1, vec![Line::kg(MILK, "1", "100.00")], at("2027-01-01T00:30:00+08:00")));
    assert_eq!(step.status, Status::Released, "{:#}", decision(&step));
    assert_eq!(h.quota(1, 2027).posted_fen, 10_000);
}

#[test]
fn sugar_over_two_kilograms_a_year_is_refused_by_the_per_person_cap() {
    let mut h = harness();
    let step = h.place(&Spec::new("SO-1", 1, vec![Line::kg(SUGAR, "1.5", "60.00")], t0()));
    assert_eq!(step.status, Status::Released, "{:#}", decision(&step));
    assert!(checks(&decision(&step)).contains(&(checks::PER_PERSON_CAP.to_owned(), true)));
    assert_quota(&h, 1, 6_000, 0);

    let step = h.place(&Spec::new("SO-2", 1, vec![Line::kg(SUGAR, "1", "40.00")], t0() + Duration::hours(1)));
    assert_refused_for(&step, checks::PER_PERSON_CAP);
    assert_eq!(reasons(&decision(&step)), [checks::PER_PERSON_CAP]);
    assert!(checks(&decision(&step)).contains(&(checks::ANNUAL_LIMIT.to_owned(), true)));
    assert_quota(&h, 1, 6_000, 0);

    // Exactly the remaining 0.5 kg passes; one order of 2.5 kg for somebody else does not.
    let step = h.place(&Spec::new("SO-3", 1, vec![Line::kg(SUGAR, "0.5", "20.00")], t0() + Duration::hours(2)));
    assert_eq!(step.status, Status::Released);
    let step = h.place(&Spec::new("SO-4", 2, vec![Line::kg(SUGAR, "2.5", "100.00")], t0()));
    assert_refused_for(&step, checks::PER_PERSON_CAP);
    assert_quota(&h, 2, 0, 0);
}

#[test]
fn a_repeated_document_changes_nothing_and_another_body_under_its_key_conflicts() {
    let mut h = harness();
    let docs = docs_for(&h, "SO-1", 1);
    h.send(DocKind::Order, &docs.order, t0()).unwrap();
    let again = h.send(DocKind::Order, &docs.order, t0() + Duration::minutes(5)).unwrap();
    assert_eq!(again.disposition, Disposition::Repeat);
    assert!(again.records.is_empty());
    assert_eq!(again.status, Status::Incomplete);
    assert_eq!(again.waiting_for, ["payment", "waybill"]);

    let mut other = docs.order.clone();
    other["consignee"]["phone"] = json!("13900000000");
    let refusal = h.send(DocKind::Order, &other, t0()).unwrap_err();
    assert!(matches!(&refusal, Refusal::Conflict { kind: "order", key: k } if *k == key("SO-1").to_string()));

    h.send(DocKind::Payment, &docs.payment, t0()).unwrap();
    let last = h.send(DocKind::Waybill, &docs.waybill, t0()).unwrap();
    assert_eq!(last.status, Status::Released);
    let log = h.log.len();
    for kind in DocKind::ALL {
        let again = h.send(kind, docs.get(kind), t0() + Duration::hours(1)).unwrap();
        assert_eq!(again.disposition, Disposition::Repeat);
        assert!(again.records.is_empty());
        assert_eq!(again.status, Status::Released);
    }
    // The repeat of the third document changes nothing and says where the order stands (the caller reads
    // the decision from the store).
    let again = h.send(DocKind::Waybill, &docs.waybill, t0() + Duration::hours(1)).unwrap();
    assert!(last.decision.is_some() && again.decision.is_none());
    assert_eq!(again.status, Status::Released);
    assert_eq!(h.log.len(), log);
    assert_quota(&h, 1, 300_000, 0);
    let mut other = docs.waybill.clone();
    other["weight_kg"] = json!("9");
    assert!(matches!(h.send(DocKind::Waybill, &other, t0()), Err(Refusal::Conflict { kind: "waybill", .. })));
}

#[test]
fn a_second_payment_for_an_order_is_refused() {
    let mut h = harness();
    let docs = docs_for(&h, "SO-1", 1);
    h.send(DocKind::Payment, &docs.payment, t0()).unwrap();
    let mut second = docs.payment.clone();
    second["transaction_id"] = json!("PAY-OTHER");
    assert_eq!(codes(h.send(DocKind::Payment, &second, t0())), ["order_has_document"]);
    assert_eq!(h.view(&key("SO-1")).waiting_for, ["order", "waybill"]);
    // Still true once the order is decided.
    h.send(DocKind::Order, &docs.order, t0()).unwrap();
    h.send(DocKind::Waybill, &docs.waybill, t0()).unwrap();
    assert_eq!(codes(h.send(DocKind::Payment, &second, t0())), ["order_has_document"]);
}

#[test]
fn an_order_of_an_unregistered_platform_is_refused() {
    let mut h = harness();
    let mut spec = milk("SO-1", 1, t0());
    spec.platform = STRANGER.into();
    let docs = docs(&h.policy, &spec);
    assert_eq!(codes(h.send(DocKind::Order, &docs.order, t0())), ["platform_unregistered"]);
    assert!(h.engine.order(&spec.key()).is_none());
    assert!(h.log.is_empty());
    // Not remembered: once registered, the same order is taken.
    h.policy.registered.insert((STRANGER.into(), zonegate_cbec::checks::Role::Platform));
    assert_eq!(h.send(DocKind::Order, &docs.order, t0()).unwrap().disposition, Disposition::Recorded);
}

#[test]
fn without_a_guarantee_the_order_awaits_its_tax_until_the_bill_is_paid() {
    let mut h = Harness::new();
    let step = h.place(&milk("SO-1", 1, t0()));
    assert_eq!(step.status, Status::AwaitingTax);
    assert_eq!(decision(&step)["tax_secured"], false);
    assert!(decision(&step).get("trace").is_none());
    let view = h.view(&key("SO-1"));
    assert_eq!((view.tax_secured, view.released_at), (Some(false), None));
    assert_quota(&h, 1, 0, 300_000);
    let bill = h.engine.bills().bill_view(PLATFORM, "2026-03").unwrap();
    assert_eq!((bill.tax_fen, bill.outstanding_fen, bill.awaiting), (27_300, 27_300, 1));

    // Overpaying, a wrong period and an unknown agent are refused and change nothing.
    assert_eq!(codes(h.pay("N-0", PLATFORM, "2026-03", 27_301, t0())), ["payment_overpaid"]);
    assert_eq!(codes(h.pay("N-0", PLATFORM, "2026-04", 27_300, t0())), ["bill_unknown"]);
    assert_eq!(codes(h.pay("N-0", STRANGER, "2026-03", 27_300, t0())), ["bill_unknown"]);
    assert_eq!(h.view(&key("SO-1")).status, Status::AwaitingTax);

    let paid_at = t0() + Duration::hours(3);
    let step = h.pay("N-1", PLATFORM, "2026-03", 27_300, paid_at).unwrap();
    assert_eq!(step.released, [key("SO-1").to_string()]);
    assert_eq!(kinds(&step), ["tax_payment", "release"]);
    let release = &step.records[1];
    assert_eq!(release.key, key("SO-1").to_string());
    assert!(!release.value()["trace"].as_array().unwrap().is_empty());
    let view = h.view(&key("SO-1"));
    assert_eq!((view.status, view.tax_secured, view.released_at), (Status::Released, Some(true), Some(paid_at)));
    assert_quota(&h, 1, 300_000, 0);
    assert!(h.engine.traced(&trace_serial(&release.value())).is_some());

    // The same notice again is a repeat; another notice for a paid bill is an overpayment.
    let again = h.pay("N-1", PLATFORM, "2026-03", 27_300, paid_at).unwrap();
    assert_eq!(again.disposition, Disposition::Repeat);
    assert!(again.records.is_empty());
    assert_eq!(codes(h.pay("N-2", PLATFORM, "2026-03", 1, paid_at)), ["payment_overpaid"]);
}

fn trace_serial(body: &Value) -> String {
    let uri = body["trace"][0]["uri"].as_str().unwrap();
    uri.rsplit('/').next().unwrap().to_owned()
}

#[test]
fn the_bill_period_is_the_month_in_china() {
    let mut h = Harness::new();
    // 2026-03-31 20:00 UTC is 2026-04-01 04:00 in China.
    let now = at("2026-03-31T20:00:00Z");
    let step = h.place(&milk("SO-1", 1, now));
    assert_eq!(step.status, Status::AwaitingTax);
    assert_eq!(decision(&step)["period"], "2026-04");
    assert_eq!(decision(&step)["day"], "2026-04-01");
    assert_eq!(codes(h.pay("N-1", PLATFORM, "2026-03", 27_300, now)), ["bill_unknown"]);
    let step = h.pay("N-1", PLATFORM, "2026-04", 27_300, now).unwrap();
    assert_eq!(step.released, [key("SO-1").to_string()]);
}

#[test]
fn a_guarantee_releases_at_once_until_it_is_used_up() {
    let mut h = Harness::new();
    h.policy.guarantees.insert(PLATFORM.into(), 50_000);
    let step = h.place(&milk("SO-1", 1, t0()));
    assert_eq!(step.status, Status::Released);
    assert_eq!(decision(&step)["guarantee_fen"], 50_000);
    assert_quota(&h, 1, 300_000, 0);
    let step = h.place(&milk("SO-2", 2, t0()));
    assert_eq!(step.status, Status::AwaitingTax, "273 + 273 > 500 of guarantee");
    assert_quota(&h, 2, 0, 300_000);
    let guarantee = h.engine.bills().guarantee(PLATFORM).unwrap();
    assert_eq!((guarantee.limit_fen, guarantee.reserved_fen, guarantee.awaiting), (50_000, 27_300, 1));

    // Paying the first order's tax frees the room: the second is released by the payment.
    let step = h.pay("N-1", PLATFORM, "2026-03", 27_300, t0() + Duration::hours(1)).unwrap();
    assert_eq!(step.released, [key("SO-2").to_string()]);
    assert_eq!(h.view(&key("SO-2")).status, Status::Released);
    assert_quota(&h, 2, 300_000, 0);

    // A larger guarantee given with a later order lets waiting ones through at that order's decision.
    h.policy.guarantees.insert(PLATFORM.into(), 0);
    assert_eq!(h.place(&milk("SO-3", 3, t0() + Duration::hours(2))).status, Status::AwaitingTax);
    h.policy.guarantees.insert(PLATFORM.into(), 1_000_000);
    let step = h.place(&milk("SO-4", 4, t0() + Duration::hours(3)));
    assert_eq!(step.status, Status::Released);
    assert_eq!(step.released, [key("SO-3").to_string()]);
    assert_eq!(kinds(&step), ["waybill", "decision", "release"]);
    assert_eq!(h.view(&key("SO-3")).status, Status::Released);
    assert_quota(&h, 3, 300_000, 0);
}

#[test]
fn an_order_sent_to_inspection_is_held_until_the_officer_decides() {
    let mut h = harness();
    h.policy.channels.insert("SO-1".into(), "inspection".into());
    let step = h.place(&milk("SO-1", 1, t0()));
    assert_eq!(step.status, Status::Held);
    assert_eq!(decision(&step)["risk"]["channel"], "inspection");
    assert_quota(&h, 1, 0, 300_000);
    assert_eq!(h.view(&key("SO-1")).channel.as_deref(), Some("inspection"));

    let step = h.inspect(&key("SO-1"), false, t0() + Duration::hours(2)).unwrap();
    assert_eq!(step.status, Status::Released);
    assert_eq!(kinds(&step), ["inspection", "release"]);
    assert_quota(&h, 1, 300_000, 0);
    assert_eq!(h.view(&key("SO-1")).released_at, Some(t0() + Duration::hours(2)));
    // Once decided, another inspection is refused; the same one is a repeat.
    assert_eq!(h.inspect(&key("SO-1"), false, t0()).unwrap().disposition, Disposition::Repeat);
    assert!(matches!(h.inspect(&key("SO-1"), true, t0()), Err(Refusal::Conflict { .. })));
    assert_eq!(codes(h.inspect(&key("SO-9"), false, t0())), ["order_unknown"]);
}

#[test]
fn a_cleared_order_without_secured_tax_waits_for_its_payment() {
    let mut h = Harness::new();
    h.policy.channels.insert("SO-1".into(), "inspection".into());
    assert_eq!(h.place(&milk("SO-1", 1, t0())).status, Status::Held);
    // The tax paid while held secures it but does not release it.
    let step = h.pay("N-1", PLATFORM, "2026-03", 27_300, t0()).unwrap();
    assert!(step.released.is_empty());
    assert_eq!(kinds(&step), ["tax_payment"]);
    let view = h.view(&key("SO-1"));
    assert_eq!((view.status, view.tax_secured), (Status::Held, Some(true)));
    assert_quota(&h, 1, 0, 300_000);
    assert_eq!(h.inspect(&key("SO-1"), false, t0()).unwrap().status, Status::Released);
    assert_quota(&h, 1, 300_000, 0);

    h.policy.channels.insert("SO-2".into(), "inspection".into());
    assert_eq!(h.place(&milk("SO-2", 2, t0())).status, Status::Held);
    let step = h.inspect(&key("SO-2"), false, t0()).unwrap();
    assert_eq!(step.status, Status::AwaitingTax);
    assert_eq!(kinds(&step), ["inspection"]);
    let step = h.pay("N-2", PLATFORM, "2026-03", 27_300, t0()).unwrap();
    assert_eq!(step.released, [key("SO-2").to_string()]);
    assert_quota(&h, 2, 300_000, 0);
}

#[test]
fn a_finding_refuses_the_held_order_and_voids_its_reservation() {
    let mut h = harness();
    h.policy.channels.insert("SO-1".into(), "inspection".into());
    h.place(&milk("SO-1", 1, t0()));
    assert_quota(&h, 1, 0, 300_000);
    let step = h.inspect(&key("SO-1"), true, t0() + Duration::hours(1)).unwrap();
    assert_eq!(step.status, Status::Refused);
    assert_eq!(kinds(&step), ["inspection"]);
    assert_quota(&h, 1, 0, 0);
    let bill = h.engine.bills().bill_view(PLATFORM, "2026-03");
    assert!(bill.as_ref().is_none_or(|bill| bill.orders == 0 && bill.tax_fen == 0), "{bill:?}");
    assert_eq!(h.engine.bills().guarantee(PLATFORM).unwrap().reserved_fen, 0);
    assert_eq!(codes(h.inspect(&key("SO-2"), true, t0())), ["order_unknown"]);
    // A released order is not held.
    h.place(&milk("SO-2", 2, t0()));
    assert_eq!(codes(h.inspect(&key("SO-2"), true, t0())), ["order_not_held"]);
}

#[test]
fn the_refuse_channel_refuses_the_order() {
    let mut h = harness();
    h.policy.channels.insert("SO-1".into(), "refuse".into());
    let step = h.place(&milk("SO-1", 1, t0()));
    assert_eq!(step.status, Status::Refused);
    assert_eq!(reasons(&decision(&step)), ["test.refuse"]);
    assert_quota(&h, 1, 0, 0);
    assert!(h.engine.bills().bill_view(PLATFORM, "2026-03").is_none());
    assert_eq!(codes(h.cancel(&key("SO-1"), t0())), ["order_closed"]);
}

#[test]
fn cancelling_an_incomplete_order_closes_it() {
    let mut h = harness();
    let docs = docs_for(&h, "SO-1", 1);
    h.send(DocKind::Order, &docs.order, t0()).unwrap();
    let step = h.cancel(&key("SO-1"), t0()).unwrap();
    assert_eq!(step.status, Status::Cancelled);
    assert_eq!(kinds(&step), ["cancellation"]);
    assert!(step.waiting_for.is_empty());
    assert_eq!(codes(h.send(DocKind::Payment, &docs.payment, t0())), ["order_closed"]);
    assert_eq!(h.cancel(&key("SO-1"), t0()).unwrap().disposition, Disposition::Repeat);
    assert!(h.engine.incomplete(t0() + Duration::days(3)).is_empty());
    assert_quota(&h, 1, 0, 0);
    assert_eq!(codes(h.cancel(&key("SO-9"), t0())), ["order_unknown"]);
}

#[test]
fn cancelling_an_awaiting_or_held_order_voids_its_reservation() {
    let mut h = Harness::new();
    assert_eq!(h.place(&milk("SO-1", 1, t0())).status, Status::AwaitingTax);
    assert_quota(&h, 1, 0, 300_000);
    let step = h.cancel(&key("SO-1"), t0()).unwrap();
    assert_eq!(step.status, Status::Cancelled);
    assert_quota(&h, 1, 0, 0);
    assert!(h.engine.bills().bill_view(PLATFORM, "2026-03").is_none());

    h.policy.guarantees.insert(PLATFORM.into(), 100_000);
    h.policy.channels.insert("SO-2".into(), "inspection".into());
    assert_eq!(h.place(&milk("SO-2", 2, t0())).status, Status::Held);
    assert_quota(&h, 2, 0, 300_000);
    assert_eq!(h.cancel(&key("SO-2"), t0()).unwrap().status, Status::Cancelled);
    assert_quota(&h, 2, 0, 0);
    assert_eq!(h.engine.bills().guarantee(PLATFORM).unwrap().reserved_fen, 0);
    assert_eq!(codes(h.inspect(&key("SO-2"), false, t0())), ["order_not_held"]);
}

#[test]
fn a_released_order_is_not_cancelled() {
    let mut h = harness();
    h.place(&milk("SO-1", 1, t0()));
    assert_eq!(codes(h.cancel(&key("SO-1"), t0())), ["order_released"]);
    assert_eq!(h.view(&key("SO-1")).status, Status::Released);
    assert_quota(&h, 1, 300_000, 0);
}

#[test]
fn a_cancellation_refused_for_a_refund_changes_nothing() {
    // A held order whose bill was paid: cancelling it would need a refund.
    let mut h = Harness::new();
    h.policy.channels.insert("SO-1".into(), "inspection".into());
    h.place(&milk("SO-1", 1, t0()));
    h.pay("N-1", PLATFORM, "2026-03", 27_300, t0()).unwrap();
    assert_eq!(codes(h.cancel(&key("SO-1"), t0())), ["bill_refund_due"]);
    assert_eq!(h.view(&key("SO-1")).status, Status::Held);
    // The order is still whole: cleared, it is released with its trace codes.
    let step = h.inspect(&key("SO-1"), false, t0()).unwrap();
    assert_eq!(step.status, Status::Released);
    assert!(!step.records[1].value()["trace"].as_array().unwrap().is_empty(), "{:#}", step.records[1].value());
}

fn two_lines(order_no: &str, buyer: u32, at: DateTime<Utc>) -> Spec {
    Spec::new(order_no, buyer, vec![Line::kg(MILK, "2", "3000.00"), Line::pieces(CREAM, 2, "1000.00")], at)
}

#[test]
fn returns_within_the_window_restore_the_quota() {
    let mut h = harness();
    assert_eq!(h.place(&two_lines("SO-1", 1, t0())).status, Status::Released);
    assert_quota(&h, 1, 400_000, 0);

    // Line 2 first: partly returned.
    let step = h.return_goods(&key("SO-1"), "R1", &[2], t0() + Duration::days(10), t0() + Duration::days(20)).unwrap();
    assert_eq!(step.status, Status::PartlyReturned);
    assert_eq!(kinds(&step), ["return"]);
    assert_eq!(step.records[0].key, format!("{}/R1", key("SO-1")));
    assert_eq!(step.records[0].value()["restored"], "1000.00");
    assert_quota(&h, 1, 300_000, 0);
    // The same line again is refused; the rest (no lines named) returns the order.
    let again = h.return_goods(&key("SO-1"), "R2", &[2], t0() + Duration::days(11), t0() + Duration::days(20));
    assert_eq!(codes(again), ["line_returned"]);
    assert_eq!(codes(h.return_goods(&key("SO-1"), "R2", &[7], t0() + Duration::days(11), t0())), ["line_unknown"]);
    let step = h.return_goods(&key("SO-1"), "R2", &[], t0() + Duration::days(29), t0() + Duration::days(44)).unwrap();
    assert_eq!(step.status, Status::Returned);
    assert_eq!(step.records[0].value()["restored"], "3000.00");
    assert_quota(&h, 1, 0, 0);
    assert_eq!(
        codes(h.return_goods(&key("SO-1"), "R3", &[], t0() + Duration::days(12), t0() + Duration::days(12))),
        ["order_not_released"]
    );
    // The freed quota is usable again.
    let big = Spec::new("SO-2", 1, vec![Line::pieces(WATCH, 1, "26000.00").indivisible()], t0() + Duration::days(40));
    assert_eq!(h.place(&big).status, Status::Released);
    assert_quota(&h, 1, 2_600_000, 0);
}

#[test]
fn a_whole_return_of_a_one_line_order_returns_it() {
    let mut h = harness();
    h.place(&milk("SO-1", 1, t0()));
    let step = h.return_goods(&key("SO-1"), "R1", &[1], t0() + Duration::days(1), t0() + Duration::days(2)).unwrap();
    assert_eq!(step.status, Status::Returned);
    assert_eq!(step.records[0].value()["tax_not_collected"], "273.00");
    assert_quota(&h, 1, 0, 0);
}

#[test]
fn a_returned_guaranteed_order_takes_its_tax_off_the_bill_and_frees_the_room() {
    let mut h = Harness::new();
    h.policy.guarantees.insert(PLATFORM.into(), 50_000);
    assert_eq!(h.place(&milk("SO-1", 1, t0())).status, Status::Released);
    assert_eq!(h.place(&milk("SO-2", 2, t0())).status, Status::AwaitingTax, "273 + 273 > 500 of guarantee");
    let bill = h.engine.bills().bill_view(PLATFORM, "2026-03").unwrap();
    assert_eq!((bill.tax_fen, bill.outstanding_fen), (54_600, 54_600));

    // SO-1 comes back: its 273.00 is not collected, so the bill owes 273.00 and the room it held is free
    // again, which secures and releases SO-2.
    let step = h.return_goods(&key("SO-1"), "R1", &[1], t0() + Duration::days(1), t0() + Duration::days(2)).unwrap();
    assert_eq!(step.status, Status::Returned);
    assert_eq!(step.records[0].value()["tax_not_collected"], "273.00");
    assert_eq!(kinds(&step), ["return", "release"]);
    assert_eq!(step.released, [key("SO-2").to_string()]);
    assert_eq!(h.view(&key("SO-2")).status, Status::Released);
    let bill = h.engine.bills().bill_view(PLATFORM, "2026-03").unwrap();
    assert_eq!((bill.tax_fen, bill.outstanding_fen, bill.refund_due_fen), (27_300, 27_300, 0));
    let guarantee = h.engine.bills().guarantee(PLATFORM).unwrap();
    assert_eq!(guarantee.reserved_fen, 27_300);
    // The log replays to the same bill and orders.
    let replayed = h.replayed();
    assert_eq!(replayed.bills().bill_view(PLATFORM, "2026-03"), h.engine.bills().bill_view(PLATFORM, "2026-03"));
    assert_eq!(replayed.bills().guarantee(PLATFORM), h.engine.bills().guarantee(PLATFORM));
    assert_eq!(replayed.order(&key("SO-2")).unwrap().status, Status::Released);
}

#[test]
fn a_return_after_the_bill_was_paid_leaves_a_refund_due() {
    let mut h = Harness::new();
    assert_eq!(h.place(&milk("SO-1", 1, t0())).status, Status::AwaitingTax);
    h.pay("N-1", PLATFORM, "2026-03", 27_300, t0() + Duration::hours(1)).unwrap();
    assert_eq!(h.view(&key("SO-1")).status, Status::Released);
    h.return_goods(&key("SO-1"), "R1", &[], t0() + Duration::days(3), t0() + Duration::days(4)).unwrap();
    let bill = h.engine.bills().bill_view(PLATFORM, "2026-03").unwrap();
    assert_eq!((bill.tax_fen, bill.paid_fen, bill.outstanding_fen, bill.refund_due_fen), (0, 27_300, 0, 27_300));
    // The paid credit goes to the bill's next order: a later order of the same month is paid by it at once.
    let step = h.place(&milk("SO-2", 2, t0() + Duration::days(5)));
    assert_eq!(step.status, Status::Released);
    let bill = h.engine.bills().bill_view(PLATFORM, "2026-03").unwrap();
    assert_eq!((bill.tax_fen, bill.outstanding_fen, bill.refund_due_fen), (27_300, 0, 0));
    assert_eq!(h.replayed().bills().bill_view(PLATFORM, "2026-03"), h.engine.bills().bill_view(PLATFORM, "2026-03"));
}

#[test]
fn returns_outside_the_window_are_refused() {
    let mut h = harness();
    h.place(&two_lines("SO-1", 1, t0()));
    let late = h.return_goods(&key("SO-1"), "R1", &[], t0() + Duration::days(31), t0() + Duration::days(32));
    assert_eq!(codes(late), ["return_too_late"]);
    let late = h.return_goods(&key("SO-1"), "R1", &[], t0() + Duration::days(5), t0() + Duration::days(46));
    assert_eq!(codes(late), ["return_goods_late"]);
    let early = h.return_goods(&key("SO-1"), "R1", &[], t0() - Duration::days(1), t0() + Duration::days(1));
    assert_eq!(codes(early), ["return_too_late"]);
    assert_eq!(h.view(&key("SO-1")).status, Status::Released);
    assert_quota(&h, 1, 400_000, 0);
    // Days are calendar days in China: released on 2026-03-02 at 10:00, the 30th day ends on 2026-04-01 at
    // midnight, whatever the hour of release.
    let step = h
        .return_goods(&key("SO-1"), "R1", &[1], at("2026-04-01T23:30:00+08:00"), at("2026-04-16T23:30:00+08:00"))
        .unwrap();
    assert_eq!(step.status, Status::PartlyReturned);
    let late =
        h.return_goods(&key("SO-1"), "R2", &[2], at("2026-04-02T00:10:00+08:00"), at("2026-04-02T00:10:00+08:00"));
    assert_eq!(codes(late), ["return_too_late"]);
    // Not released: no return.
    let mut h = Harness::new();
    h.place(&milk("SO-2", 2, t0()));
    assert_eq!(
        codes(h.return_goods(&key("SO-2"), "R1", &[], t0() + Duration::days(1), t0() + Duration::days(1))),
        ["order_not_released"]
    );
}

#[test]
fn the_incomplete_report_lists_orders_waiting_too_long() {
    let mut h = harness();
    let a = docs_for(&h, "SO-A", 1);
    let b = docs_for(&h, "SO-B", 2);
    let c = docs_for(&h, "SO-C", 3);
    h.send(DocKind::Order, &a.order, t0()).unwrap();
    h.send(DocKind::Payment, &b.payment, t0() + Duration::hours(2)).unwrap();
    h.send(DocKind::Waybill, &b.waybill, t0() + Duration::hours(3)).unwrap();
    h.send(DocKind::Order, &c.order, t0()).unwrap();
    h.send(DocKind::Payment, &c.payment, t0()).unwrap();
    h.send(DocKind::Waybill, &c.waybill, t0()).unwrap();
    assert!(h.engine.incomplete(t0() + Duration::hours(23)).is_empty());
    let report = h.engine.incomplete(t0() + Duration::hours(25));
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].order, key("SO-A").to_string());
    assert_eq!(report[0].first_seen, t0());
    assert_eq!(report[0].have, ["order"]);
    assert_eq!(report[0].missing, ["payment", "waybill"]);
    let report = h.engine.incomplete(t0() + Duration::hours(26));
    assert_eq!(
        report.iter().map(|i| i.order.as_str()).collect::<Vec<_>>(),
        [key("SO-A").to_string(), key("SO-B").to_string()]
    );
    assert_eq!(report[1].have, ["payment", "waybill"]);
    assert_eq!(report[1].missing, ["order"]);
    // Completing it takes it off.
    h.send(DocKind::Payment, &a.payment, t0() + Duration::hours(30)).unwrap();
    h.send(DocKind::Waybill, &a.waybill, t0() + Duration::hours(30)).unwrap();
    assert_eq!(h.engine.incomplete(t0() + Duration::hours(31)).len(), 1);
    // The configured time is used.
    let mut engine = Engine::new(Config { incomplete_after: Duration::hours(1), ..Config::default() });
    let document = zonegate_cbec::documents::parse_document(DocKind::Order, &a.order).unwrap();
    let sha = zonegate_cbec::documents::canonical_sha256(&a.order);
    let json = zonegate_cbec::documents::canonical_json(&a.order);
    engine.receive(&h.policy, document, json, sha, t0()).unwrap();
    assert_eq!(engine.incomplete(t0() + Duration::minutes(61)).len(), 1);
}

#[test]
fn replaying_the_records_rebuilds_the_same_engine() {
    let mut h = Harness::new();
    h.policy.guarantees.insert(PLATFORM.into(), 60_000);
    let t = |hours: i64| t0() + Duration::hours(hours);
    // Released at once, then partly and wholly returned.
    h.place(&two_lines("SO-1", 1, t(0)));
    h.return_goods(&key("SO-1"), "R1", &[1], t(24), t(48)).unwrap();
    // Guaranteed, then waiting for its tax, released by a payment.
    h.place(&milk("SO-2", 2, t(1)));
    assert_eq!(h.place(&milk("SO-3", 3, t(2))).status, Status::AwaitingTax);
    h.pay("N-1", PLATFORM, "2026-03", 40_000, t(3)).unwrap();
    // Held, cleared; held, found; held and cancelled; refused by the channel.
    for (no, channel) in [("SO-4", "inspection"), ("SO-5", "inspection"), ("SO-6", "hold"), ("SO-7", "refuse")] {
        h.policy.channels.insert(no.into(), channel.into());
    }
    for (i, no) in ["SO-4", "SO-5", "SO-6", "SO-7"].iter().enumerate() {
        h.place(&milk(no, 4 + i as u32, t(4)));
    }
    h.inspect(&key("SO-4"), false, t(5)).unwrap();
    h.inspect(&key("SO-5"), true, t(5)).unwrap();
    h.cancel(&key("SO-6"), t(5)).unwrap();
    // Refused by a check; an incomplete order and a cancelled incomplete one.
    let mut bad = docs_for(&h, "SO-8", 8);
    bad.waybill["logistics_company"] = json!(STRANGER);
    h.send_all(&bad, t(6));
    let incomplete = docs_for(&h, "SO-9", 9);
    h.send(DocKind::Payment, &incomplete.payment, t(6)).unwrap();
    let cancelled = docs_for(&h, "SO-10", 10);
    h.send(DocKind::Order, &cancelled.order, t(6)).unwrap();
    h.cancel(&key("SO-10"), t(7)).unwrap();
    // Sugar caps, the next month's bill, a payment of it.
    h.place(&Spec::new("SO-11", 11, vec![Line::kg(SUGAR, "1.5", "60.00")], t(8)));
    h.place(&milk("SO-12", 12, at("2026-04-03T10:00:00+08:00")));
    h.pay("N-2", PLATFORM, "2026-04", 27_300, at("2026-04-03T12:00:00+08:00")).unwrap();
    h.return_goods(&key("SO-1"), "R2", &[], t(72), t(80)).unwrap();

    let replayed = h.replayed();
    h.assert_replay_equal(&replayed, 1..=12, &[2026]);
    for key in &h.keys {
        assert!(replayed.order(key).is_some());
    }
    assert_eq!(replayed.incomplete(t(100)), h.engine.incomplete(t(100)));
    assert_eq!(replayed.bills().bill_view(PLATFORM, "2026-03"), h.engine.bills().bill_view(PLATFORM, "2026-03"));

    // The replayed engine answers repeats as the live one did, and refuses the same things.
    let mut h2 = Harness { engine: replayed, policy: FakePolicy::new(), log: Vec::new(), keys: h.keys.clone() };
    let docs = docs_for(&h2, "SO-2", 2);
    let again = h2.send(DocKind::Waybill, &docs.waybill, t(200)).unwrap();
    assert_eq!(again.disposition, Disposition::Repeat);
    assert!(again.records.is_empty());
    assert_eq!(again.status, Status::Released);
    let mut other = docs.order.clone();
    other["consignee"]["phone"] = json!("13900000000");
    assert!(matches!(h2.send(DocKind::Order, &other, t(200)), Err(Refusal::Conflict { .. })));
    assert_eq!(h2.pay("N-1", PLATFORM, "2026-03", 40_000, t(200)).unwrap().disposition, Disposition::Repeat);
    assert_eq!(h2.cancel(&key("SO-6"), t(200)).unwrap().disposition, Disposition::Repeat);
    assert_eq!(h2.send(DocKind::Payment, &incomplete.payment, t(200)).unwrap().disposition, Disposition::Repeat);
    assert_eq!(codes(h2.send(DocKind::Payment, &cancelled.payment, t(200))), ["order_closed"]);
    // Traces survive the replay.
    let serial = trace_serial(&h.log.iter().find(|(r, _)| r.kind == "release").unwrap().0.value());
    assert_eq!(h2.engine.traced(&serial), h.engine.traced(&serial));
    assert!(h2.engine.traced(&serial).is_some());
}

#[test]
fn a_returned_sugar_line_gives_its_weight_back_to_the_cap() {
    let mut h = harness();
    h.place(&Spec::new("SO-1", 1, vec![Line::kg(SUGAR, "2", "80.00")], t0()));
    let step = h.place(&Spec::new("SO-2", 1, vec![Line::kg(SUGAR, "0.5", "20.00")], t0() + Duration::hours(1)));
    assert_refused_for(&step, checks::PER_PERSON_CAP);
    h.return_goods(&key("SO-1"), "R1", &[], t0() + Duration::days(2), t0() + Duration::days(3)).unwrap();
    assert_quota(&h, 1, 0, 0);
    let step = h.place(&Spec::new("SO-3", 1, vec![Line::kg(SUGAR, "2", "80.00")], t0() + Duration::days(4)));
    assert_eq!(step.status, Status::Released, "{:#}", decision(&step));
    let replayed = h.replayed();
    h.assert_replay_equal(&replayed, [1], &[2026]);
}

#[test]
fn a_return_number_with_a_slash_replays() {
    let mut h = harness();
    h.place(&two_lines("SO-1", 1, t0()));
    let step =
        h.return_goods(&key("SO-1"), "RMA/2026/7", &[2], t0() + Duration::days(1), t0() + Duration::days(2)).unwrap();
    assert_eq!(step.records[0].key, format!("{}/RMA/2026/7", key("SO-1")));
    let replayed = h.replayed();
    h.assert_replay_equal(&replayed, [1], &[2026]);
    assert_eq!(replayed.order(&key("SO-1")).unwrap().status, Status::PartlyReturned);
}
