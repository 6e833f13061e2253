//! In-memory throughput of `Ledger::apply`: batched (8,190 per batch, TigerBeetle's
//! batch size) and one transfer at a time. Measures only; asserts nothing.
//!
//! `cargo run --release -p zonegate-ledger --example ledger_speed`

use std::time::Instant;

use chrono::{TimeZone, Utc};
use zonegate_ledger::{
    Account, AccountId, AccountKind, Ledger, LedgerItem, LedgerKey, Transfer, TransferCode, Treatment,
};

const TOTAL: usize = 8_190 * 50;
const BATCH: usize = 8_190;
const ITEMS: u128 = 100;

fn setup() -> Ledger {
    let mut l = Ledger::new();
    for i in 0..ITEMS {
        let key = LedgerKey::new("91440400MA55AAAAAA", format!("M{i:04}"));
        l.create_item(LedgerItem {
            key: key.clone(),
            hs_code: "8471300000".into(),
            unit: "011".into(),
            quantity_scale: 3,
            treatment: Treatment::Bonded,
        })
        .expect("item");
        for (k, kind) in [AccountKind::Outside, AccountKind::Stock, AccountKind::Mainland].into_iter().enumerate() {
            l.create_account(Account::new(i * 10 + k as u128 + 1, key.clone(), kind)).expect("account");
        }
    }
    l
}

/// Alternating first-line entries and second-line exits spread over the items.
fn transfers() -> Vec<Transfer> {
    let t0 = Utc.timestamp_opt(1_767_225_600, 0).single().expect("ts");
    (0..TOTAL)
        .map(|n| {
            let item = (n as u128 / 2) % ITEMS;
            let (d, c, code) =
                if n % 2 == 0 { (1, 2, TransferCode::FirstLineEntry) } else { (2, 3, TransferCode::SecondLineExit) };
            Transfer::new(
                n as u128 + 1,
                AccountId(item * 10 + d),
                AccountId(item * 10 + c),
                1_000,
                12_000,
                code,
                "QD570026I000000001",
                t0 + chrono::Duration::seconds(n as i64),
            )
        })
        .collect()
}

fn main() {
    let ts = transfers();

    let mut l = setup();
    let start = Instant::now();
    let mut ok = 0usize;
    for chunk in ts.chunks(BATCH) {
        ok += l.apply(chunk).iter().filter(|r| r.is_ok()).count();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "batched ({BATCH}/batch): {TOTAL} transfers ({ok} ok) in {secs:.3} s = {:.0} transfers/s",
        TOTAL as f64 / secs
    );

    let mut l = setup();
    let start = Instant::now();
    let mut ok = 0usize;
    for t in &ts {
        ok += l.apply_single(t).is_ok() as usize;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("one at a time: {TOTAL} transfers ({ok} ok) in {secs:.3} s = {:.0} transfers/s", TOTAL as f64 / secs);
}
