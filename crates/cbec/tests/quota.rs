//! The quota book: reserve, post, void and restore sequences, refusals that change nothing, and a property
//! test of random operations against a simple model.

use chrono::NaiveDate;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};
use zonegate_cbec::quota::{QuotaBook, QuotaError, QuotaView, Reservation, ReservationState};
use zonegate_cbec::tax::Limits;

const ALICE: &str = "00112233445566778899aabbccddeeff";
const BOB: &str = "ffeeddccbbaa99887766554433221100";

fn limits() -> Limits {
    Limits { single_fen: 500_000, annual_fen: 2_600_000, effective_from: NaiveDate::from_ymd_opt(2019, 1, 1).unwrap() }
}

fn caps() -> HashMap<String, i64> {
    HashMap::from([("sugar".to_owned(), 2_000), ("rice".to_owned(), 20_000)])
}

fn reservation(id: u64, buyer: &str, amount_fen: i64, caps: &[(&str, i64)]) -> Reservation {
    Reservation {
        id,
        buyer: buyer.into(),
        year: 2026,
        amount_fen,
        caps: caps.iter().map(|(cap, grams)| ((*cap).to_owned(), *grams)).collect(),
    }
}

fn view(book: &QuotaBook, buyer: &str) -> QuotaView {
    book.account(buyer, 2026).expect("the account exists")
}

#[test]
fn reserve_post_void_and_restore() {
    let mut book = QuotaBook::new();
    book.reserve(&reservation(1, ALICE, 300_000, &[("sugar", 1_500)]), &limits(), &caps()).unwrap();
    book.reserve(&reservation(2, ALICE, 400_000, &[]), &limits(), &caps()).unwrap();
    let alice = view(&book, ALICE);
    assert_eq!((alice.posted_fen, alice.pending_fen, alice.available_fen(&limits())), (0, 700_000, 1_900_000));
    assert_eq!((alice.caps[0].cap.as_str(), alice.caps[0].pending_g), ("sugar", 1_500));

    book.post(1).unwrap();
    book.void(2).unwrap();
    let alice = view(&book, ALICE);
    assert_eq!((alice.posted_fen, alice.pending_fen), (300_000, 0));
    assert_eq!((alice.caps[0].posted_g, alice.caps[0].pending_g), (1_500, 0));
    assert_eq!(book.state(1), Some(ReservationState::Posted));
    assert_eq!(book.state(2), Some(ReservationState::Voided));

    // A partial return, then the rest.
    book.restore(1, 100_000, &[("sugar".into(), 500)]).unwrap();
    assert_eq!((view(&book, ALICE).posted_fen, view(&book, ALICE).caps[0].posted_g), (200_000, 1_000));
    assert_eq!(
        book.restore(1, 200_001, &[]),
        Err(QuotaError::RestoreExceeds { id: 1, what: "amount".into(), requested: 200_001, remaining: 200_000 })
    );
    assert!(matches!(book.restore(1, 0, &[("rice".into(), 1)]), Err(QuotaError::RestoreExceeds { .. })));
    book.restore(1, 200_000, &[("sugar".into(), 1_000)]).unwrap();
    assert_eq!(view(&book, ALICE).posted_fen, 0);

    // Bob is untouched, and years are separate.
    assert!(book.account(BOB, 2026).is_none());
    assert!(book.account(ALICE, 2025).is_none());
}

#[test]
fn state_errors_name_the_reservation() {
    let mut book = QuotaBook::new();
    book.reserve(&reservation(7, ALICE, 1_000, &[]), &limits(), &caps()).unwrap();
    assert_eq!(book.reserve(&reservation(7, BOB, 1, &[]), &limits(), &caps()), Err(QuotaError::AlreadyExists(7)));
    assert_eq!(book.post(8), Err(QuotaError::Unknown(8)));
    assert_eq!(book.restore(7, 1, &[]), Err(QuotaError::NotPosted(7)));
    book.void(7).unwrap();
    assert_eq!(book.void(7), Err(QuotaError::NotPending(7)));
    assert_eq!(book.post(7), Err(QuotaError::NotPending(7)));
    assert_eq!(book.reserve(&reservation(7, ALICE, 1, &[]), &limits(), &caps()), Err(QuotaError::AlreadyExists(7)));
    assert_eq!(QuotaError::AlreadyExists(7).code(), "cbec.reservation_exists");
}

#[test]
fn over_the_limits_is_refused_and_nothing_changes() {
    let mut book = QuotaBook::new();
    book.reserve(&reservation(1, ALICE, 2_500_000, &[("sugar", 1_800)]), &limits(), &caps()).unwrap();
    let before = view(&book, ALICE);

    let over = book.reserve(&reservation(2, ALICE, 100_001, &[]), &limits(), &caps()).unwrap_err();
    assert_eq!(over, QuotaError::OverAnnual { used_fen: 2_500_000, amount_fen: 100_001, limit_fen: 2_600_000 });
    assert_eq!(over.code(), "cbec.annual_limit");

    let over = book.reserve(&reservation(3, ALICE, 100, &[("sugar", 201)]), &limits(), &caps()).unwrap_err();
    assert_eq!(over, QuotaError::OverCap { cap: "sugar".into(), used_g: 1_800, amount_g: 201, limit_g: 2_000 });
    assert_eq!(over.code(), "cbec.per_person_cap");
    // A cap named twice counts twice.
    assert!(book.check(&reservation(4, ALICE, 0, &[("sugar", 100), ("sugar", 101)]), &limits(), &caps()).is_err());
    assert_eq!(
        book.reserve(&reservation(5, ALICE, 1, &[("salt", 1)]), &limits(), &caps()),
        Err(QuotaError::UnknownCap("salt".into()))
    );
    assert_eq!(book.reserve(&reservation(6, ALICE, -1, &[]), &limits(), &caps()), Err(QuotaError::NegativeAmount));
    assert!(matches!(
        book.reserve(&reservation(6, "not-a-key", 1, &[]), &limits(), &caps()),
        Err(QuotaError::InvalidBuyer(_))
    ));

    assert_eq!(view(&book, ALICE), before);
    assert_eq!(book.reservations(), 1);
    assert_eq!(book.state(2), None);
    // Exactly up to the limits fits; the check alone changes nothing either.
    book.check(&reservation(2, ALICE, 100_000, &[("sugar", 200)]), &limits(), &caps()).unwrap();
    assert_eq!(view(&book, ALICE), before);
    book.reserve(&reservation(2, ALICE, 100_000, &[("sugar", 200)]), &limits(), &caps()).unwrap();
    assert_eq!(view(&book, ALICE).available_fen(&limits()), 0);
    // Voiding frees the room again.
    book.void(1).unwrap();
    assert_eq!(view(&book, ALICE).available_fen(&limits()), 2_500_000);
}

#[test]
fn replayed_reservations_skip_the_limits_but_not_the_ids() {
    let mut book = QuotaBook::new();
    book.reserve_unchecked(reservation(1, ALICE, 3_000_000, &[("sugar", 5_000)])).unwrap();
    assert_eq!(view(&book, ALICE).pending_fen, 3_000_000);
    assert_eq!(book.reserve_unchecked(reservation(1, ALICE, 1, &[])), Err(QuotaError::AlreadyExists(1)));
    book.post(1).unwrap();
    assert_eq!(view(&book, ALICE).available_fen(&limits()), 0);
}

#[test]
fn settled_reservations_can_be_forgotten_and_the_totals_stay() {
    let mut book = QuotaBook::new();
    book.reserve(&reservation(1, ALICE, 1_000, &[("rice", 5_000)]), &limits(), &caps()).unwrap();
    assert_eq!(book.forget(1), Err(QuotaError::NotPosted(1)));
    book.post(1).unwrap();
    book.forget(1).unwrap();
    assert_eq!((book.state(1), book.reservations()), (None, 0));
    assert_eq!(book.restore(1, 1, &[]), Err(QuotaError::Unknown(1)));
    let alice = view(&book, ALICE);
    assert_eq!((alice.posted_fen, alice.caps[0].posted_g), (1_000, 5_000));
}

// The model: every reservation with its state and what is still posted of it.
#[derive(Debug, Clone)]
struct Model {
    amount: i64,
    sugar: i64,
    buyer: usize,
    year: i32,
    state: ReservationState,
    restored: i64,
    restored_sugar: i64,
}

#[derive(Debug, Clone)]
enum Op {
    Reserve { id: u64, buyer: usize, year: i32, amount: i64, sugar: i64 },
    Post(u64),
    Void(u64),
    Restore { id: u64, amount: i64, sugar: i64 },
}

const BUYERS: [&str; 3] = [ALICE, BOB, "0123456789abcdef0123456789abcdef"];
const LIMIT: i64 = 2_600_000;
const SUGAR: i64 = 2_000;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..24, 0usize..3, 2025i32..2027, 0i64..1_200_000, prop_oneof![Just(0i64), 0i64..1_200])
            .prop_map(|(id, buyer, year, amount, sugar)| Op::Reserve { id, buyer, year, amount, sugar }),
        2 => (0u64..24).prop_map(Op::Post),
        1 => (0u64..24).prop_map(Op::Void),
        1 => (0u64..24, 0i64..1_200_000, 0i64..1_200).prop_map(|(id, amount, sugar)| Op::Restore { id, amount, sugar }),
    ]
}

/// What the model says: `true` when the operation should succeed.
fn expected(models: &BTreeMap<u64, Model>, op: &Op) -> bool {
    let used = |buyer: usize, year: i32, pick: fn(&Model) -> i64, restored: fn(&Model) -> i64| -> i64 {
        models
            .values()
            .filter(|m| m.buyer == buyer && m.year == year && m.state != ReservationState::Voided)
            .map(|m| pick(m) - restored(m))
            .sum()
    };
    match *op {
        Op::Reserve { id, buyer, year, amount, sugar } => {
            !models.contains_key(&id)
                && used(buyer, year, |m| m.amount, |m| m.restored) + amount <= LIMIT
                && (sugar == 0 || used(buyer, year, |m| m.sugar, |m| m.restored_sugar) + sugar <= SUGAR)
        }
        Op::Post(id) | Op::Void(id) => models.get(&id).is_some_and(|m| m.state == ReservationState::Pending),
        Op::Restore { id, amount, sugar } => models.get(&id).is_some_and(|m| {
            m.state == ReservationState::Posted
                && amount <= m.amount - m.restored
                && (sugar == 0 || sugar <= m.sugar - m.restored_sugar)
        }),
    }
}

fn apply(book: &mut QuotaBook, op: &Op) -> Result<(), QuotaError> {
    match *op {
        Op::Reserve { id, buyer, year, amount, sugar } => {
            let caps_used = if sugar > 0 { vec![("sugar".to_owned(), sugar)] } else { Vec::new() };
            let r = Reservation { id, buyer: BUYERS[buyer].into(), year, amount_fen: amount, caps: caps_used };
            book.reserve(&r, &limits(), &caps())
        }
        Op::Post(id) => book.post(id),
        Op::Void(id) => book.void(id),
        Op::Restore { id, amount, sugar } => {
            let caps_returned = if sugar > 0 { vec![("sugar".to_owned(), sugar)] } else { Vec::new() };
            book.restore(id, amount, &caps_returned)
        }
    }
}

fn update(models: &mut BTreeMap<u64, Model>, op: &Op) {
    match *op {
        Op::Reserve { id, buyer, year, amount, sugar } => {
            let state = ReservationState::Pending;
            models.insert(id, Model { amount, sugar, buyer, year, state, restored: 0, restored_sugar: 0 });
        }
        Op::Post(id) | Op::Void(id) => {
            if let Some(m) = models.get_mut(&id) {
                m.state = if matches!(op, Op::Post(_)) { ReservationState::Posted } else { ReservationState::Voided };
            }
        }
        Op::Restore { id, amount, sugar } => {
            if let Some(m) = models.get_mut(&id) {
                m.restored += amount;
                m.restored_sugar += sugar;
            }
        }
    }
}

fn sums(models: &BTreeMap<u64, Model>, buyer: usize, year: i32) -> (i64, i64, i64, i64) {
    let mut out = (0, 0, 0, 0);
    for m in models.values().filter(|m| m.buyer == buyer && m.year == year) {
        match m.state {
            ReservationState::Pending => {
                out.1 += m.amount;
                out.3 += m.sugar;
            }
            ReservationState::Posted => {
                out.0 += m.amount - m.restored;
                out.2 += m.sugar - m.restored_sugar;
            }
            ReservationState::Voided => {}
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn the_book_follows_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        let mut book = QuotaBook::new();
        let mut models: BTreeMap<u64, Model> = BTreeMap::new();
        for op in &ops {
            let should = expected(&models, op);
            let result = apply(&mut book, op);
            prop_assert_eq!(result.is_ok(), should, "{:?} gave {:?}", op, result);
            if should {
                update(&mut models, op);
            }
            for (id, m) in &models {
                prop_assert_eq!(book.state(*id), Some(m.state));
            }
            for (buyer, key) in BUYERS.iter().enumerate() {
                for year in 2025..2027 {
                    let (posted, pending, posted_g, pending_g) = sums(&models, buyer, year);
                    let view = book.account(key, year);
                    let (got, got_g) = match &view {
                        Some(view) => (
                            (view.posted_fen, view.pending_fen),
                            view.caps.iter().find(|c| c.cap == "sugar").map_or((0, 0), |c| (c.posted_g, c.pending_g)),
                        ),
                        None => ((0, 0), (0, 0)),
                    };
                    prop_assert_eq!(got, (posted, pending), "buyer {} year {}", buyer, year);
                    prop_assert_eq!(got_g, (posted_g, pending_g), "buyer {} year {} sugar", buyer, year);
                    prop_assert!(posted + pending <= LIMIT);
                    prop_assert!(posted_g + pending_g <= SUGAR);
                    prop_assert!(posted >= 0 && pending >= 0 && posted_g >= 0 && pending_g >= 0);
                }
            }
        }
    }
}
