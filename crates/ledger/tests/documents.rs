//! Document planners: processing (BOM), material content, exhibitions and patrols, leases, write-off
//! reports, CSV and stocktakes.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use zonegate_ledger::movement::plan_movement;
use zonegate_ledger::{
    patrol, plan_exhibition_back, plan_exhibition_out, plan_exhibition_sale, plan_lease_out, plan_lease_return,
    plan_processing, plan_stocktake, write_off_report, Account, AccountId, AccountKind as K, Amount, Bom, BomBook,
    BomLine, CountResult, DocumentIds, Entrusted, Exhibition, ExhibitionState, Instalment, Lease, Ledger, LedgerItem,
    LedgerKey, Line, MaterialContent, PatrolKind, Problem, Transfer, TransferCode as C, Treatment, WriteOffStatement,
};

const E: &str = "91440400MA55AAAAAA";
const OTHER: &str = "91440400MA55BBBBBB";

fn ts(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600 + secs, 0).single().expect("valid")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn ids<'a>(kind: &'a str, number: &'a str) -> DocumentIds<'a> {
    DocumentIds { enterprise: E, kind, number }
}

fn add_item(l: &mut Ledger, enterprise: &str, item_no: &str, treatment: Treatment, scale: u8) {
    let key = LedgerKey::new(enterprise, item_no);
    l.create_item(LedgerItem {
        key: key.clone(),
        hs_code: "8471300000".into(),
        unit: "011".into(),
        quantity_scale: scale,
        treatment,
    })
    .expect("item");
    for kind in K::ALL {
        l.create_account(Account::new(AccountId::derive(&key, kind).0, key.clone(), kind)).expect("account");
    }
}

fn line(item_no: &str, quantity: u64) -> Line {
    Line { item_no: item_no.into(), quantity, value_fen: None }
}

/// Applies transfers, asserting each succeeded and every item's trial balance is zero.
fn apply_ok(l: &mut Ledger, transfers: &[Transfer]) {
    for r in l.apply(transfers) {
        assert!(r.is_ok(), "apply failed: {r:?}");
    }
    let keys: Vec<LedgerKey> = l.items().map(|i| i.key.clone()).collect();
    for key in keys {
        assert!(l.trial_balance(&key).expect("tb").is_balanced(), "{key:?} unbalanced");
    }
}

/// First-line entry of `quantity` at `value` fen.
fn enter(l: &mut Ledger, item_no: &str, quantity: u64, value: u64, number: &str, at: i64) {
    let lines = [Line { item_no: item_no.into(), quantity, value_fen: Some(value) }];
    let t = plan_movement(l, ids("entry", number), 0, C::FirstLineEntry, K::Outside, K::Stock, &lines, false, ts(at))
        .expect("entry");
    apply_ok(l, &t);
}

fn bal(l: &Ledger, item_no: &str, kind: K) -> (i128, i128) {
    let b = l.balance(l.account_of(E, item_no, kind).expect("account")).expect("balance");
    (b.posted_quantity, b.posted_value_fen)
}

fn has(problems: &[Problem], code: &str, field: &str) -> bool {
    problems.iter().any(|p| p.code == code && p.field == field)
}

// ---------------------------------------------------------------- processing

fn processing_fixture() -> Ledger {
    let mut l = Ledger::new();
    add_item(&mut l, E, "A", Treatment::Bonded, 0);
    add_item(&mut l, E, "B", Treatment::Domestic, 0);
    add_item(&mut l, E, "X", Treatment::Exempt, 0);
    add_item(&mut l, E, "P", Treatment::Bonded, 0);
    enter(&mut l, "A", 100, 1001, "A1", 1);
    enter(&mut l, "B", 30, 900, "B1", 2);
    enter(&mut l, "X", 10, 55, "X1", 3);
    l
}

fn bom() -> Bom {
    Bom {
        product_item_no: "P".into(),
        version: 1,
        effective_from: day(2026, 1, 1),
        materials: vec![
            BomLine { item_no: "A".into(), quantity: 3, per: 2 },
            BomLine { item_no: "B".into(), quantity: 1, per: 3 },
            BomLine { item_no: "X".into(), quantity: 1, per: 10 },
        ],
    }
}

#[test]
fn bom_validation_reports_every_problem_at_once() {
    let l = processing_fixture();
    assert!(bom().problems(&l, E).is_empty());
    let bad = Bom {
        product_item_no: "NOPE".into(),
        version: 0,
        effective_from: day(2026, 1, 1),
        materials: vec![
            BomLine { item_no: "Z".into(), quantity: 1, per: 1 },
            BomLine { item_no: "A".into(), quantity: 0, per: 0 },
            BomLine { item_no: "A".into(), quantity: 1, per: 1 },
            BomLine { item_no: "NOPE".into(), quantity: 1, per: 1 },
        ],
    };
    let p = bad.problems(&l, E);
    assert!(has(&p, "version_zero", "version"), "{p:?}");
    assert!(has(&p, "item_unknown", "product_item_no"));
    assert!(has(&p, "item_unknown", "materials[0].item_no"));
    assert!(has(&p, "quantity_zero", "materials[1].quantity"));
    assert!(has(&p, "per_zero", "materials[1].per"));
    assert!(has(&p, "item_repeated", "materials[2].item_no"));
    assert!(has(&p, "material_is_product", "materials[3].item_no"));
    assert_eq!(p.len(), 7);
    let empty = Bom { materials: vec![], ..bom() };
    assert!(has(&empty.problems(&l, E), "materials_empty", "materials"));
    // The planner reports the same problems and plans nothing.
    let err = plan_processing(&l, ids("proc", "1"), &bad, 0, ts(10)).expect_err("invalid");
    assert!(has(&err, "quantity_zero", "quantity"));
    assert_eq!(err.len(), 8);
}

#[test]
fn bom_book_versions_and_in_force() {
    let mut book = BomBook::new();
    let v1 = bom();
    let v2 = Bom { version: 2, effective_from: day(2026, 3, 1), ..bom() };
    let mut v3 = Bom { version: 3, effective_from: day(2026, 3, 1), ..bom() };
    v3.materials[0].quantity = 4;
    book.add(E, v1.clone()).expect("v1");
    book.add(E, v3.clone()).expect("v3");
    book.add(E, v2.clone()).expect("v2");
    book.add(E, v1.clone()).expect("same body again is fine");
    let mut changed = v1.clone();
    changed.materials[1].per = 4;
    let err = book.add(E, changed).expect_err("different body");
    assert_eq!((err.code, err.field.as_str()), ("bom_version_exists", "version"));
    assert_eq!(book.in_force(E, "P", day(2025, 12, 31)), None);
    assert_eq!(book.in_force(E, "P", day(2026, 2, 28)), Some(&v1));
    assert_eq!(book.in_force(E, "P", day(2026, 3, 1)), Some(&v3), "tie → highest version");
    assert_eq!(book.in_force(OTHER, "P", day(2026, 3, 1)), None);
    assert_eq!(book.get(E, "P", 2), Some(&v2));
    assert_eq!(book.get(E, "P", 9), None);
    assert_eq!(book.versions(E, "P").len(), 3);
}

#[test]
fn processing_consumes_ceil_quantities_at_average_cost_and_produces_the_sum() {
    let mut l = processing_fixture();
    let plan = plan_processing(&l, ids("proc", "R1"), &bom(), 5, ts(10)).expect("plan");
    // A: ceil(5×3/2) = 8 at (1001×8 + 50)/100 = 80; B: ceil(5/3) = 2 at 60; X: ceil(5/10) = 1 at 6 (5.5 up).
    let got: Vec<(&str, u64, u64, bool)> =
        plan.consumed.iter().map(|c| (c.item_no.as_str(), c.quantity, c.value_fen, c.imported)).collect();
    assert_eq!(got, vec![("A", 8, 80, true), ("B", 2, 60, false), ("X", 1, 6, true)]);
    assert_eq!(plan.imported_materials_fen, 86);
    assert_eq!(plan.domestic_materials_fen, 60);
    assert_eq!(plan.product_value_fen, 146);
    assert_eq!(plan.transfers.len(), 4);
    assert!(plan.transfers[..3].iter().all(|t| t.code == C::ProcessingConsume && t.flags.linked));
    let last = plan.transfers.last().expect("product");
    assert_eq!((last.code, last.quantity, last.value_fen, last.flags.linked), (C::ProcessingProduce, 5, 146, false));
    apply_ok(&mut l, &plan.transfers);
    assert_eq!(bal(&l, "A", K::Stock), (92, 921));
    assert_eq!(bal(&l, "A", K::Consumed), (8, 80));
    assert_eq!(bal(&l, "B", K::Stock), (28, 840));
    assert_eq!(bal(&l, "X", K::Stock), (9, 49));
    assert_eq!(bal(&l, "P", K::Stock), (5, 146));
    // Planned twice → the same transfer ids (idempotent document).
    let again = plan_processing(&l, ids("proc", "R1"), &bom(), 5, ts(10)).expect("plan");
    assert_eq!(again.transfers[0].id, plan.transfers[0].id);
}

#[test]
fn processing_with_insufficient_materials_is_refused_per_material() {
    let mut l = processing_fixture();
    let before = l.clone();
    let err = plan_processing(&l, ids("proc", "R2"), &bom(), 100, ts(10)).expect_err("short");
    // A needs 150 (100 held), B needs 34 (30 held), X needs 10 (10 held: fine).
    assert_eq!(err.len(), 2, "{err:?}");
    assert!(has(&err, "stock_insufficient", "materials[0].quantity"));
    assert!(has(&err, "stock_insufficient", "materials[1].quantity"));
    assert!(err[0].message.contains("`A`") && err[0].message.contains("50 missing"), "{}", err[0].message);
    assert!(err[1].message.contains("`B`") && err[1].message.contains("4 missing"), "{}", err[1].message);
    apply_ok(&mut l, &[]);
    assert_eq!(l, before);
}

#[test]
fn material_content_share_and_take_are_exact() {
    let mut c = MaterialContent::default();
    c.add(4, 500, 100);
    c.add(3, 500, 233);
    assert_eq!(c.share(8), None);
    assert_eq!(c.share(7), Some((1000, 333)));
    assert_eq!(c.share(1), Some((143, 48))); // 142.86 → 143, 47.57 → 48
    let mut imported = 0;
    let mut domestic = 0;
    for q in [1, 2, 1, 3] {
        let (i, d) = c.take(q).expect("take");
        imported += i;
        domestic += d;
    }
    assert_eq!((imported, domestic), (1000, 333));
    assert_eq!(c, MaterialContent::default());
    assert_eq!(c.take(1), None);
    assert_eq!(c.take(0), Some((0, 0)));
}

// ---------------------------------------------------------------- exhibition

fn exhibition(lines: Vec<Line>) -> Exhibition {
    Exhibition {
        number: "EX-1".into(),
        venue: "Hengqin Expo Hall".into(),
        opened_on: day(2026, 3, 1),
        allowed_until: day(2026, 3, 31),
        lines,
    }
}

#[test]
fn exhibition_validation() {
    let mut l = Ledger::new();
    add_item(&mut l, E, "W", Treatment::Bonded, 0);
    let ok = exhibition(vec![line("W", 1)]);
    assert!(ok.problems(180).is_empty());
    assert!(has(&ok.problems(29), "period_too_long", "allowed_until"));
    assert!(ok.problems(30).is_empty());
    let bad = Exhibition { venue: " ".into(), allowed_until: day(2026, 2, 1), ..exhibition(vec![line("W", 5)]) };
    let err = plan_exhibition_out(&l, ids("exh", "EX-1"), &bad, 180, ts(1)).expect_err("bad");
    assert!(has(&err, "venue_empty", "venue"));
    assert!(has(&err, "dates_unordered", "allowed_until"));
    assert!(has(&err, "stock_insufficient", "lines[0].quantity"), "{err:?}");
}

#[test]
fn exhibition_out_back_and_sale() {
    let mut l = Ledger::new();
    add_item(&mut l, E, "W", Treatment::Bonded, 0);
    enter(&mut l, "W", 10, 1000, "W1", 1);
    let ex = exhibition(vec![Line { item_no: "W".into(), quantity: 6, value_fen: Some(1) }]);
    let out = plan_exhibition_out(&l, ids("exh-out", "EX-1"), &ex, 180, ts(10)).expect("out");
    assert_eq!((out[0].code, out[0].quantity, out[0].value_fen), (C::ExhibitionOut, 6, 600));
    apply_ok(&mut l, &out);
    assert_eq!(bal(&l, "W", K::Exhibited), (6, 600));
    let back = plan_exhibition_back(&l, ids("exh-back", "EX-1"), &[line("W", 2)], ts(20)).expect("back");
    apply_ok(&mut l, &back);
    let too_much = plan_exhibition_sale(&l, ids("exh-sale", "S0"), &[line("W", 5)], ts(30)).expect_err("only 4");
    assert!(has(&too_much, "stock_insufficient", "lines[0].quantity"));
    // The sale price is not the book value: line values are ignored.
    let sale = plan_exhibition_sale(
        &l,
        ids("exh-sale", "S1"),
        &[Line { item_no: "W".into(), quantity: 3, value_fen: Some(99_999) }],
        ts(30),
    )
    .expect("sale");
    assert_eq!((sale[0].code, sale[0].value_fen), (C::ExhibitionSale, 300));
    apply_ok(&mut l, &sale);
    assert_eq!(bal(&l, "W", K::Exhibited), (1, 100));
    assert_eq!(bal(&l, "W", K::Stock), (6, 600));
    assert_eq!(bal(&l, "W", K::Mainland), (3, 300));
    let s = l.write_off_statement(&LedgerKey::new(E, "W"), ts(0), ts(100)).expect("statement");
    assert_eq!((s.exits.quantity, s.closing.quantity), (3, 7));
}

#[test]
fn patrol_findings() {
    let ex = exhibition(vec![line("W", 6), line("V", 2)]);
    let mut st = ExhibitionState::from_exhibition(&ex);
    st.record_back("W", 2);
    st.record_sale("W", 3);
    st.record_back("V", 2);
    // On the last allowed day nothing is overdue; the next day W's remaining 1 is.
    assert!(patrol(std::slice::from_ref(&st), day(2026, 3, 31)).findings.is_empty());
    let r = patrol(std::slice::from_ref(&st), day(2026, 4, 1));
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!(
        (f.exhibition.as_str(), f.item_no.as_str(), f.finding, f.quantity),
        ("EX-1", "W", PatrolKind::Overdue, 1)
    );
    // A patrol finds nothing of W: 1 gone without a taxed sale; a stray item counts as surplus.
    st.record_patrol(day(2026, 3, 20), BTreeMap::from([("U".to_string(), 2)]));
    let r = patrol(std::slice::from_ref(&st), day(2026, 3, 21));
    let kinds: Vec<(&str, PatrolKind, u64)> =
        r.findings.iter().map(|f| (f.item_no.as_str(), f.finding, f.quantity)).collect();
    assert_eq!(kinds, vec![("U", PatrolKind::CountSurplus, 2), ("W", PatrolKind::SoldWithoutTax, 1)]);
    // An older patrol does not replace a newer one; a newer one does.
    st.record_patrol(day(2026, 3, 10), BTreeMap::new());
    assert_eq!(st.last_patrol.as_ref().map(|p| p.on), Some(day(2026, 3, 20)));
    st.record_patrol(day(2026, 3, 25), BTreeMap::from([("W".to_string(), 4)]));
    let r = patrol(&[st], day(2026, 3, 25));
    assert_eq!(r.findings.len(), 1);
    assert_eq!((r.findings[0].finding, r.findings[0].quantity), (PatrolKind::CountSurplus, 3));
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["findings"][0]["finding"], "count_surplus");
    assert_eq!(serde_json::to_value(PatrolKind::SoldWithoutTax).expect("json"), "sold_without_tax");
}

// ---------------------------------------------------------------- lease

fn lease() -> Lease {
    Lease {
        number: "L-1".into(),
        lessee: "Mainland Shipping Co.".into(),
        lessee_in_mainland: true,
        lines: vec![line("M", 1)],
        starts_on: day(2026, 1, 1),
        ends_on: day(2026, 12, 31),
        schedule: vec![
            Instalment { due_on: day(2026, 1, 1), rent_fen: 100_000 },
            Instalment { due_on: day(2026, 4, 1), rent_fen: 100_000 },
            Instalment { due_on: day(2026, 7, 1), rent_fen: 100_000 },
        ],
        entrusted_supervision: Some(Entrusted { office: "Gongbei Customs".into(), location: "Gaolan port".into() }),
    }
}

#[test]
fn lease_validation_reports_every_problem() {
    assert!(lease().problems().is_empty());
    let mut bad = lease();
    bad.lessee = String::new();
    bad.schedule = vec![
        Instalment { due_on: day(2025, 12, 1), rent_fen: 1 },
        Instalment { due_on: day(2026, 5, 1), rent_fen: 0 },
        Instalment { due_on: day(2026, 5, 1), rent_fen: 5 },
    ];
    bad.entrusted_supervision = Some(Entrusted { office: "".into(), location: " ".into() });
    let p = bad.problems();
    assert!(has(&p, "lessee_empty", "lessee"));
    assert!(has(&p, "due_outside_lease", "schedule[0].due_on"));
    assert!(has(&p, "rent_zero", "schedule[1].rent_fen"));
    assert!(has(&p, "due_not_ascending", "schedule[2].due_on"));
    assert!(has(&p, "office_empty", "entrusted_supervision.office"));
    assert!(has(&p, "location_empty", "entrusted_supervision.location"));
    assert_eq!(p.len(), 6, "{p:?}");
    let unordered = Lease { ends_on: day(2025, 1, 1), schedule: vec![], ..lease() };
    let p = unordered.problems();
    assert!(has(&p, "dates_unordered", "ends_on"));
    assert!(has(&p, "schedule_empty", "schedule"));
}

#[test]
fn lease_instalments_due_and_movements() {
    let l0 = lease();
    assert!(l0.instalments_due(day(2025, 12, 31)).is_empty());
    let due: Vec<usize> = l0.instalments_due(day(2026, 4, 1)).iter().map(|(i, _)| *i).collect();
    assert_eq!(due, vec![0, 1]);
    assert_eq!(l0.instalments_due(day(2027, 1, 1)).len(), 3);

    let mut l = Ledger::new();
    add_item(&mut l, E, "M", Treatment::Bonded, 0);
    enter(&mut l, "M", 3, 3_000_000, "M1", 1);
    let out = plan_lease_out(&l, ids("lease", "L-1"), &l0, ts(10)).expect("out");
    assert_eq!((out[0].code, out[0].value_fen), (C::LeaseOut, 1_000_000));
    apply_ok(&mut l, &out);
    // Leased goods (also under entrusted supervision off-site) stay in custody: book stock unchanged.
    assert_eq!(bal(&l, "M", K::Leased), (1, 1_000_000));
    let s = l.write_off_statement(&LedgerKey::new(E, "M"), ts(0), ts(100)).expect("statement");
    assert_eq!(s.closing.quantity, 3);
    let err = plan_lease_return(&l, ids("lease-return", "L-1"), &[line("M", 2)], ts(20)).expect_err("only 1");
    assert!(has(&err, "stock_insufficient", "lines[0].quantity"));
    let back = plan_lease_return(&l, ids("lease-return", "L-1"), &[line("M", 1)], ts(20)).expect("back");
    apply_ok(&mut l, &back);
    assert_eq!(bal(&l, "M", K::Stock), (3, 3_000_000));
    let bad = Lease { lessee: "".into(), lines: vec![line("NOPE", 1)], ..lease() };
    let err = plan_lease_out(&l, ids("lease", "L-2"), &bad, ts(30)).expect_err("bad");
    assert!(has(&err, "lessee_empty", "lessee") && has(&err, "item_unknown", "lines[0].item_no"));
}

// ---------------------------------------------------------------- write-off report

/// The original write-off statement: a scan of every transfer of the ledger.
fn reference_statement(l: &Ledger, key: &LedgerKey, from: DateTime<Utc>, to: DateTime<Utc>) -> WriteOffStatement {
    fn add(a: &mut Amount, t: &Transfer, sign: i128) {
        a.quantity += sign * t.quantity as i128;
        a.value_fen += sign * t.value_fen as i128;
    }
    let mut s = WriteOffStatement {
        ledger: key.clone(),
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
    let custody = |id| l.account(id).is_some_and(|r| r.account.ledger == *key && r.account.kind.is_custody());
    for t in l.transfers() {
        if t.flags.pending || t.flags.void_pending || t.timestamp >= to {
            continue;
        }
        let (into, out_of) = (custody(t.credit_account_id), custody(t.debit_account_id));
        if into == out_of {
            continue;
        }
        if t.timestamp < from {
            add(&mut s.opening, t, if into { 1 } else { -1 });
            continue;
        }
        if into {
            add(s.inflows_by_code.entry(t.code).or_default(), t, 1);
            let bucket = match t.code {
                C::FirstLineEntry | C::MainlandEntry | C::ZoneTransfer => &mut s.entries,
                C::ProcessingProduce => &mut s.production,
                _ => &mut s.other_in,
            };
            add(bucket, t, 1);
        } else {
            add(s.outflows_by_code.entry(t.code).or_default(), t, 1);
            let bucket = match t.code {
                C::Export | C::SecondLineExit | C::ExhibitionSale | C::ZoneTransfer => &mut s.exits,
                C::ProcessingConsume => &mut s.consumption,
                C::WriteOff => &mut s.write_offs,
                _ => &mut s.other_out,
            };
            add(bucket, t, 1);
        }
    }
    let sum = |xs: &[Amount]| Amount {
        quantity: xs.iter().map(|a| a.quantity).sum(),
        value_fen: xs.iter().map(|a| a.value_fen).sum(),
    };
    let plus = sum(&[s.opening, s.entries, s.production, s.other_in]);
    let minus = sum(&[s.exits, s.consumption, s.write_offs, s.other_out]);
    s.closing = Amount { quantity: plus.quantity - minus.quantity, value_fen: plus.value_fen - minus.value_fen };
    s
}

/// A deterministic pseudo-random ledger over two enterprises with every code, pending, posts and voids.
fn random_ledger(seed: u64, steps: usize) -> Ledger {
    let mut rng = seed;
    let mut next = move |n: u64| {
        rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (rng >> 33) % n
    };
    let mut l = Ledger::new();
    let items = [(E, "I1"), (E, "I2"), (E, "I3"), (OTHER, "I1"), (OTHER, "J")];
    for (e, i) in items {
        add_item(&mut l, e, i, Treatment::Bonded, 2);
    }
    let pairs = [
        (C::FirstLineEntry, K::Outside, K::Stock),
        (C::FirstLineEntry, K::Outside, K::Stock),
        (C::MainlandEntry, K::Mainland, K::Stock),
        (C::Export, K::Stock, K::Outside),
        (C::SecondLineExit, K::Stock, K::Mainland),
        (C::ZoneTransfer, K::Stock, K::OtherZone),
        (C::ZoneTransfer, K::OtherZone, K::Stock),
        (C::ProcessingConsume, K::Stock, K::Consumed),
        (C::ProcessingProduce, K::Produced, K::Stock),
        (C::ExhibitionOut, K::Stock, K::Exhibited),
        (C::ExhibitionBack, K::Exhibited, K::Stock),
        (C::ExhibitionSale, K::Exhibited, K::Mainland),
        (C::LeaseOut, K::Stock, K::Leased),
        (C::LeaseReturn, K::Leased, K::Stock),
        (C::WriteOff, K::Stock, K::WrittenOff),
        (C::StocktakeShortage, K::Stock, K::Adjustment),
        (C::StocktakeSurplus, K::Adjustment, K::Stock),
        (C::Correction, K::Consumed, K::Stock),
    ];
    let mut pendings: Vec<Transfer> = Vec::new();
    for step in 0..steps {
        let id = 1_000 + step as u128;
        let at = ts(next(1_000) as i64);
        if !pendings.is_empty() && next(4) == 0 {
            let p = pendings.swap_remove(next(pendings.len() as u64) as usize);
            let t = if next(2) == 0 {
                let q = 1 + next(p.quantity);
                Transfer::post_of(id, &p, q, p.value_fen * q / p.quantity, "post", at)
            } else {
                Transfer::void_of(id, &p, "void", at)
            };
            l.apply(&[t]);
            continue;
        }
        let (e, i) = items[next(items.len() as u64) as usize];
        let key = LedgerKey::new(e, i);
        let (code, d, c) = pairs[next(pairs.len() as u64) as usize];
        let q = 1 + next(50);
        let mut t = Transfer::new(
            id,
            AccountId::derive(&key, d),
            AccountId::derive(&key, c),
            q,
            q * (1 + next(20)),
            code,
            "doc",
            at,
        );
        if next(3) == 0 {
            t = t.pending();
            if l.apply(std::slice::from_ref(&t))[0].is_ok() {
                pendings.push(t);
            }
        } else {
            l.apply(&[t]);
        }
    }
    l
}

#[test]
fn write_off_report_equals_the_full_scan_statement_on_random_ledgers() {
    for seed in 1..=6 {
        let l = random_ledger(seed, 600);
        assert!(l.transfers().len() > 100, "seed {seed}: only {} applied", l.transfers().len());
        let (from, to) = (ts(300), ts(700));
        let counts = BTreeMap::from([("I2".to_string(), 7)]);
        let r = write_off_report(&l, E, from, to, &counts);
        let items: Vec<&str> = r.rows.iter().map(|r| r.item_no.as_str()).collect();
        assert_eq!(items, vec!["I1", "I2", "I3"]);
        for row in &r.rows {
            let key = LedgerKey::new(E, &row.item_no);
            assert_eq!(row.statement, reference_statement(&l, &key, from, to), "seed {seed} item {}", row.item_no);
            assert_eq!(Some(&row.statement), l.write_off_statement(&key, from, to).as_ref());
        }
        assert_eq!(r.rows[1].counted, Some(7));
        assert_eq!(r.rows[1].result, Some(r.rows[1].statement.compare(7)));
        assert_eq!(r.rows[0].result, None);
        for (e, i) in [(OTHER, "I1"), (OTHER, "J")] {
            let key = LedgerKey::new(e, i);
            for (f, t) in [(ts(0), ts(2_000)), (ts(500), ts(501)), (ts(900), ts(100))] {
                assert_eq!(l.write_off_statement(&key, f, t), Some(reference_statement(&l, &key, f, t)));
            }
        }
    }
}

#[test]
fn csv_header_rows_and_quoting() {
    let mut l = Ledger::new();
    l.create_item(LedgerItem {
        key: LedgerKey::new(E, "A,\"1\""),
        hs_code: "8471300000".into(),
        unit: "set\nof 2".into(),
        quantity_scale: 3,
        treatment: Treatment::Bonded,
    })
    .expect("item");
    let key = LedgerKey::new(E, "A,\"1\"");
    for kind in K::ALL {
        l.create_account(Account::new(AccountId::derive(&key, kind).0, key.clone(), kind)).expect("account");
    }
    add_item(&mut l, E, "B", Treatment::Domestic, 0);
    let t = plan_movement(
        &l,
        ids("entry", "1"),
        0,
        C::FirstLineEntry,
        K::Outside,
        K::Stock,
        &[
            Line { item_no: "A,\"1\"".into(), quantity: 12_500, value_fen: Some(123_456) },
            Line { item_no: "B".into(), quantity: 4, value_fen: Some(5) },
        ],
        false,
        ts(5),
    )
    .expect("entry");
    apply_ok(&mut l, &t);
    let r = write_off_report(&l, E, ts(0), ts(10), &BTreeMap::from([("B".to_string(), 3)]));
    let csv = r.to_csv();
    let lines: Vec<&str> = csv.split_terminator('\n').collect();
    assert_eq!(
        lines[0],
        "item_no,hs_code,unit,opening,entries,production,exits,consumption,write_offs,other_in,other_out,closing,\
         counted,difference,closing_value_cny"
    );
    assert_eq!(
        &csv[lines[0].len() + 1..],
        "\"A,\"\"1\"\"\",8471300000,\"set\nof 2\",0.000,12.500,0.000,0.000,0.000,0.000,0.000,0.000,12.500,,,\
         1234.56\nB,8471300000,011,0,4,0,0,0,0,0,0,4,3,-1,0.05\n"
    );
}

// ---------------------------------------------------------------- stocktake

#[test]
fn stocktake_makes_book_stock_equal_the_count() {
    let mut l = Ledger::new();
    add_item(&mut l, E, "S", Treatment::Bonded, 0);
    add_item(&mut l, E, "T", Treatment::Bonded, 0);
    add_item(&mut l, E, "U", Treatment::Bonded, 0);
    add_item(&mut l, E, "Z", Treatment::Bonded, 0);
    enter(&mut l, "S", 10, 1000, "S1", 1);
    enter(&mut l, "T", 3, 100, "T1", 2);
    enter(&mut l, "U", 5, 50, "U1", 3);
    let counts = BTreeMap::from([("S".to_string(), 7), ("T".to_string(), 5), ("U".to_string(), 5)]);
    let r = write_off_report(&l, E, ts(0), ts(100), &counts);
    assert_eq!(r.rows[0].result, Some(CountResult::Shortage(3)));
    assert_eq!(r.rows[1].result, Some(CountResult::Surplus(2)));
    assert_eq!(r.rows[2].result, Some(CountResult::Balanced));
    assert_eq!(r.rows[3].result, None);
    let t = plan_stocktake(&l, ids("stocktake", "2026Q1"), &r, ts(100)).expect("plan");
    assert_eq!(t.len(), 2);
    assert_eq!((t[0].code, t[0].quantity, t[0].value_fen, t[0].flags.linked), (C::StocktakeShortage, 3, 300, true));
    // 100 / 3 per unit × 2 = 66.67 → 67.
    assert_eq!((t[1].code, t[1].quantity, t[1].value_fen, t[1].flags.linked), (C::StocktakeSurplus, 2, 67, false));
    apply_ok(&mut l, &t);
    let after = write_off_report(&l, E, ts(0), ts(200), &counts);
    for row in after.rows.iter().filter(|r| r.counted.is_some()) {
        assert_eq!(Some(row.statement.closing.quantity as u64), row.counted, "{}", row.item_no);
        assert_eq!(row.result, Some(CountResult::Balanced));
    }
    assert_eq!(after.rows[0].statement.other_out.quantity, 3);
    assert_eq!(after.rows[1].statement.other_in.value_fen, 67);
    // The old report is now stale; a surplus of an item without any valued stock is refused.
    let err = plan_stocktake(&l, ids("stocktake", "again"), &r, ts(200)).expect_err("stale");
    assert!(has(&err, "report_stale", "rows[0].counted") && has(&err, "report_stale", "rows[1].counted"));
    let z = write_off_report(&l, E, ts(0), ts(200), &BTreeMap::from([("Z".to_string(), 1)]));
    let err = plan_stocktake(&l, ids("stocktake", "z"), &z, ts(200)).expect_err("no basis");
    assert!(has(&err, "value_basis_missing", "rows[3].counted"), "{err:?}");
    // Nothing to adjust → nothing planned.
    assert_eq!(plan_stocktake(&l, ids("stocktake", "none"), &after, ts(200)), Ok(vec![]));
}

#[test]
fn stocktake_shortage_beyond_stock_is_refused() {
    let mut l = Ledger::new();
    add_item(&mut l, E, "S", Treatment::Bonded, 0);
    enter(&mut l, "S", 10, 1000, "S1", 1);
    let ex = exhibition(vec![line("S", 8)]);
    let out = plan_exhibition_out(&l, ids("exh", "EX"), &ex, 180, ts(2)).expect("out");
    apply_ok(&mut l, &out);
    let r = write_off_report(&l, E, ts(0), ts(100), &BTreeMap::from([("S".to_string(), 5)]));
    assert_eq!(r.rows[0].result, Some(CountResult::Shortage(5)));
    let err = plan_stocktake(&l, ids("stocktake", "x"), &r, ts(100)).expect_err("only 2 in stock");
    assert!(has(&err, "stock_insufficient", "rows[0].counted"));
}
