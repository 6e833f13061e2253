//! A quick measurement of the e-commerce log's durable write rate on a database file with the default
//! `synchronous=FULL`: 400,000 records of ~400-byte JSON in batches of 4,000, a few batches in flight.
//! Run it in release, optionally naming the directory for the database (default: the temp directory):
//!
//! ```text
//! cargo run --release -p zonegate-store-sqlite --example cbec_throughput [-- DIR]
//! ```

use std::collections::VecDeque;
use std::time::Instant;

use chrono::{DateTime, Utc};
use zonegate_store::chain::sha256_hex;
use zonegate_store::{CbecRecord, NewCbecBatch, Store};
use zonegate_store_sqlite::SqliteStore;

const RECORDS: usize = 400_000;
const BATCH: usize = 4_000;
/// Batches enqueued before the oldest one's receipt is awaited, unless `CBEC_IN_FLIGHT` says otherwise.
const IN_FLIGHT: usize = 4;

/// The records of one order-like document of about 400 bytes; every third record is a decision.
fn record(seq: i64, at: DateTime<Utc>) -> CbecRecord {
    let order = seq / 4;
    let (kind, key) = match seq % 4 {
        0 => ("order", format!("P{}/SO{order:010}", order % 17)),
        1 => ("payment", format!("PAY{order:012}")),
        2 => ("waybill", format!("WB{order:012}")),
        _ => ("decision", format!("P{}/SO{order:010}", order % 17)),
    };
    let body_json = format!(
        "{{\"kind\":\"{kind}\",\"key\":\"{key}\",\"platform\":\"P{platform}\",\"order_no\":\"SO{order:010}\",\
         \"buyer\":{{\"name\":\"买家{buyer}\",\"id_type\":\"1\",\"id_no\":\"46010019{birth:06}{serial:04}\",\
         \"phone\":\"138{phone:08}\"}},\"goods\":[{{\"g_num\":1,\"hs\":\"3304990099\",\"name\":\"面霜 50ml\",\
         \"qty\":{qty},\"price\":\"{price}.{cents:02}\"}}],\"freight\":\"{freight}.00\",\"insured\":\"0.00\",\
         \"currency\":\"142\",\"ebc_code\":\"46019609{platform:02}\",\"logistics\":\"YTO\",\"declared_at\":\"{at}\"}}",
        platform = order % 17,
        buyer = order % 9_973,
        birth = 800_101 + (order * 37) % 200_000,
        serial = (order * 7) % 10_000,
        phone = (order * 7_919) % 100_000_000,
        qty = 1 + order % 5,
        price = 50 + (order * 13) % 950,
        cents = order % 100,
        freight = 5 + order % 20,
        at = at.to_rfc3339(),
    );
    CbecRecord {
        seq,
        kind: kind.to_owned(),
        key,
        order_key: format!("P{}/SO{order:010}", order % 17),
        body_sha256: sha256_hex(&body_json),
        body_json,
        recorded_by: "cbec-gateway".to_owned(),
        recorded_at: at,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let base = std::env::args_os().nth(1).map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("zonegate-cbec-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let store = SqliteStore::open(&dir.join("zonegate.db")).expect("open file store");

    let at = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
    let batches: Vec<NewCbecBatch> = (0..RECORDS / BATCH)
        .map(|b| {
            let after_seq = (b * BATCH) as i64;
            NewCbecBatch { after_seq, records: (1..=BATCH as i64).map(|i| record(after_seq + i, at)).collect() }
        })
        .collect();
    let body_bytes: usize = batches.iter().flat_map(|b| &b.records).map(|r| r.body_json.len()).sum();

    let in_flight: usize =
        std::env::var("CBEC_IN_FLIGHT").ok().and_then(|n| n.parse().ok()).unwrap_or(IN_FLIGHT).max(1);
    let started = Instant::now();
    let mut receipts = VecDeque::new();
    for batch in batches {
        if receipts.len() == in_flight {
            let receipt: zonegate_store::CbecReceipt = receipts.pop_front().unwrap();
            receipt.durable().await.expect("batch committed");
        }
        receipts.push_back(store.enqueue_cbec(batch).await.expect("batch queued"));
    }
    for receipt in receipts {
        receipt.durable().await.expect("batch committed");
    }
    let elapsed = started.elapsed();
    assert_eq!(store.cbec_last_seq().await.unwrap(), RECORDS as i64);
    let rate = RECORDS as f64 / elapsed.as_secs_f64();
    let db_bytes: u64 = ["zonegate.db", "zonegate.db-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(dir.join(name)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "cbec: {RECORDS} records ({:.0} bytes of JSON each) in batches of {BATCH}, {in_flight} in flight, \
         synchronous=FULL: {elapsed:.2?}, {rate:.0} records/s ({:.0} orders/s at 4 records an order); \
         database + WAL {:.1} MB",
        body_bytes as f64 / RECORDS as f64,
        rate / 4.0,
        db_bytes as f64 / 1e6,
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
