//! Bonded ledgers end to end on the embedded store (issue 5): a first-line entry reserved and posted at
//! the gate in two vehicles, a cancelled list, domestic materials, a processing run under a bill of
//! materials, an exhibition with a return, a taxed sale and a data patrol, a lease taxed per instalment,
//! a second-line exit whose 30 % test comes from the ledger, and a stock count with a taxed shortage. The
//! ledger balances after every step, and a reopened app replays to the same balances.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use zonegate_app::auth::Principal;
use zonegate_app::ledger::LedgerRecorded;
use zonegate_app::{App, AppError, FixedClock, Submitted};
use zonegate_store::Store;
use zonegate_store_sqlite::SqliteStore;

const HQ: &str = "91440400MA4UJ0J57H";
const BUYER: &str = "91440300MA5520010X";

fn op() -> Principal {
    Principal::platform("test")
}

async fn open(store: Arc<dyn Store>) -> App {
    let clock = Arc::new(FixedClock(Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()));
    let app = App::open(store, clock).await.unwrap();
    app.load_demo().await.unwrap();
    app
}

async fn record(app: &App, kind: &str, body: Value) -> Value {
    match app.record_ledger(&op(), HQ, kind, &body).await {
        Ok(LedgerRecorded::Created(v)) => v,
        other => panic!("{kind} {body}: expected a new record, got {other:?}"),
    }
}

async fn refused(app: &App, kind: &str, body: Value) -> Vec<(String, String)> {
    match app.record_ledger(&op(), HQ, kind, &body).await {
        Err(AppError::Invalid(errors)) => errors.0.into_iter().map(|e| (e.code.to_owned(), e.field)).collect(),
        other => panic!("{kind}: expected invalid, got {other:?}"),
    }
}

/// Submits a declaration and makes sure it is released (an inspection channel gets a clear inspection).
async fn declare(app: &App, document: Value) -> (i64, Value) {
    let body = match app.submit(&op(), &document).await.unwrap() {
        Submitted::Created(body) | Submitted::Repeat(body) => body,
    };
    let id = body["id"].as_i64().unwrap();
    if body["channel"] == "inspection" {
        app.record_inspection(&op(), id, &json!({ "outcome": "no_finding" })).await.unwrap();
    }
    (id, body)
}

fn declaration(reference: &str, flow: &str, purpose: &str, importer: &str, items: Value) -> Value {
    json!({
        "reference": reference, "flow": flow, "declared_on": "2026-03-02", "declarant": HQ, "importer": importer,
        "purpose": purpose, "currency": "CNY", "exchange_rate": "1", "value_basis": "CIF", "items": items
    })
}

fn stock(app: &App, item: &str) -> (i128, i128, i128) {
    let balances = app.ledger_balances().unwrap();
    *balances.get(&(HQ.to_owned(), item.to_owned())).unwrap_or(&(0, 0, 0))
}

fn check(app: &App) {
    assert!(app.ledger_trial_balance_ok().unwrap(), "every item's accounts sum to zero");
    for ((_, item), (posted, available, custody)) in app.ledger_balances().unwrap() {
        assert!(posted >= 0 && available >= 0 && custody >= 0, "{item}: never negative");
    }
}

#[tokio::test]
async fn goods_can_be_followed_from_the_first_line_through_processing_to_the_second_line() {
    let dir = std::env::temp_dir().join(format!("zonegate-ledger-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.db");
    let app = open(Arc::new(SqliteStore::open(&path).unwrap())).await;

    // The electronic ledger's items: imported fish (bonded), domestic milk powder, canned product, a machine.
    for (item_no, hs, unit, scale, treatment, origin) in [
        ("FISH", "03031310", "KGM", 3, "bonded", "NO"),
        ("MILK", "04021000", "KGM", 3, "domestic", "CN"),
        ("CAN", "23091010", "C62", 0, "bonded", "CN"),
        ("PRESS", "84798999", "C62", 0, "bonded", "DE"),
    ] {
        let body = json!({ "item_no": item_no, "hs": hs, "unit": unit, "quantity_scale": scale, "treatment": treatment, "origin": origin });
        record(&app, "items", body).await;
    }
    let bad_item = refused(
        &app,
        "items",
        json!({ "item_no": "X", "hs": "9999", "unit": "??", "quantity_scale": 9, "treatment": "bonded" }),
    )
    .await;
    assert_eq!(bad_item.len(), 3, "every problem at once: {bad_item:?}");
    check(&app);

    // First line: 1,000 kg of fish, bonded; the list reserves, the gate posts in two vehicles.
    let (fish_decl, assessed) = declare(
        &app,
        declaration(
            "FISH-1",
            "first_line_in",
            "processing",
            HQ,
            json!([{ "hs": "03031310", "quantity": "1000", "unit": "KGM", "value": "60000.00", "origin": "NO" }]),
        ),
    )
    .await;
    assert_eq!(assessed["items"][0]["treatment"], "bonded");
    let list = json!({ "number": "QD5790261000000001", "declaration_id": fish_decl, "movement": "first_line_entry",
        "lines": [{ "item_no": "FISH", "quantity": "1000.000", "value_cny": "60000.00" }] });
    record(&app, "lists", list.clone()).await;
    assert_eq!(stock(&app, "FISH"), (0, 0, 0), "reserved, not yet in stock");
    // The same list again is a repeat; another body under its number a conflict.
    assert!(matches!(app.record_ledger(&op(), HQ, "lists", &list).await, Ok(LedgerRecorded::Repeat(_))));
    let mut other = list.clone();
    other["lines"][0]["quantity"] = json!("999");
    assert!(matches!(app.record_ledger(&op(), HQ, "lists", &other).await, Err(AppError::Clash(_))));
    record(
        &app,
        "gate-passes",
        json!({ "number": "HF-1", "list": "QD5790261000000001", "vehicle": "粤C12345",
        "lines": [{ "item_no": "FISH", "quantity": "600" }] }),
    )
    .await;
    assert_eq!(stock(&app, "FISH"), (600_000, 600_000, 600_000));
    let over = refused(
        &app,
        "gate-passes",
        json!({ "number": "HF-2", "list": "QD5790261000000001",
        "lines": [{ "item_no": "FISH", "quantity": "400.001" }] }),
    )
    .await;
    assert_eq!(over, vec![("gate_pass_exceeds_list".to_owned(), "lines[0].quantity".to_owned())]);
    record(&app, "gate-passes", json!({ "number": "HF-2", "list": "QD5790261000000001" })).await;
    assert_eq!(stock(&app, "FISH"), (1_000_000, 1_000_000, 1_000_000));
    let item = app.ledger_item(&op(), HQ, "FISH").unwrap();
    assert_eq!(item["balances"]["stock"]["value_cny"], "60000.00");
    check(&app);

    // A second list cancelled: its reservation is voided and nothing reaches the stock.
    let (fish2, _) = declare(
        &app,
        declaration(
            "FISH-2",
            "first_line_in",
            "processing",
            HQ,
            json!([{ "hs": "03031310", "quantity": "50", "unit": "KGM", "value": "3000.00", "origin": "NO" }]),
        ),
    )
    .await;
    record(
        &app,
        "lists",
        json!({ "number": "QD-2", "declaration_id": fish2, "movement": "first_line_entry",
        "lines": [{ "item_no": "FISH", "quantity": "50", "value_cny": "3000.00" }] }),
    )
    .await;
    record(&app, "list-cancellations", json!({ "number": "QD-2", "list": "QD-2", "reason": "shipment split" })).await;
    assert_eq!(stock(&app, "FISH"), (1_000_000, 1_000_000, 1_000_000));
    let closed = refused(&app, "gate-passes", json!({ "number": "HF-3", "list": "QD-2" })).await;
    assert_eq!(closed[0].0, "list_closed");
    // A list must match its declaration's flow and goods.
    let wrong = refused(
        &app,
        "lists",
        json!({ "number": "QD-3", "declaration_id": fish2, "movement": "export",
        "lines": [{ "item_no": "MILK", "quantity": "1" }, { "item_no": "NOPE", "quantity": "1" }] }),
    )
    .await;
    let codes: Vec<&str> = wrong.iter().map(|(c, _)| c.as_str()).collect();
    assert!(
        codes.contains(&"movement_flow_mismatch")
            && codes.contains(&"hs_not_on_declaration")
            && codes.contains(&"item_unknown"),
        "{wrong:?}"
    );

    // Domestic milk powder over the second line into the zone.
    let (milk, _) = declare(
        &app,
        declaration(
            "MILK-1",
            "second_line_in",
            "processing",
            HQ,
            json!([{ "hs": "04021000", "quantity": "500", "unit": "KGM", "value": "15000.00", "origin": "CN" }]),
        ),
    )
    .await;
    record(
        &app,
        "lists",
        json!({ "number": "QD-M1", "declaration_id": milk, "movement": "mainland_entry",
        "lines": [{ "item_no": "MILK", "quantity": "500", "value_cny": "15000.00" }] }),
    )
    .await;
    record(&app, "gate-passes", json!({ "number": "HF-M1", "list": "QD-M1" })).await;
    check(&app);

    // Processing: a can takes 0.2 kg of fish and 0.05 kg of milk powder.
    record(&app, "boms", json!({ "product": "CAN", "version": 1, "effective_from": "2026-01-01",
        "materials": [{ "item_no": "FISH", "quantity": "0.2", "per": "1" }, { "item_no": "MILK", "quantity": "0.05", "per": "1" }] })).await;
    let run = record(
        &app,
        "processing-runs",
        json!({ "number": "RUN-1", "product": "CAN", "quantity": "2000", "produced_on": "2026-03-02" }),
    )
    .await;
    assert_eq!(run["result"]["imported_materials_cny"], "24000.00");
    assert_eq!(run["result"]["domestic_materials_cny"], "3000.00");
    assert_eq!(stock(&app, "FISH"), (600_000, 600_000, 600_000));
    assert_eq!(stock(&app, "CAN"), (2000, 2000, 2000));
    let too_much = refused(
        &app,
        "processing-runs",
        json!({ "number": "RUN-2", "product": "CAN", "quantity": "10000", "produced_on": "2026-03-02" }),
    )
    .await;
    assert_eq!(too_much.iter().filter(|(c, _)| c == "stock_insufficient").count(), 2, "{too_much:?}");
    check(&app);

    // Exhibition: 100 cans out, 30 back, 20 sold (taxed at the sale), a patrol counts 45 of the 50 left.
    record(
        &app,
        "exhibitions",
        json!({ "number": "EX-1", "venue": "Hengqin expo hall", "opened_on": "2026-03-02",
        "allowed_until": "2026-03-31", "lines": [{ "item_no": "CAN", "quantity": "100" }] }),
    )
    .await;
    assert_eq!(stock(&app, "CAN"), (1900, 1900, 2000), "exhibited goods stay in custody");
    record(
        &app,
        "exhibition-returns",
        json!({ "number": "EXR-1", "exhibition": "EX-1", "lines": [{ "item_no": "CAN", "quantity": "30" }] }),
    )
    .await;
    let sale = record(
        &app,
        "exhibition-sales",
        json!({ "number": "EXS-1", "exhibition": "EX-1", "sold_on": "2026-03-02",
        "lines": [{ "item_no": "CAN", "quantity": "20", "price_cny": "5000.00" }] }),
    )
    .await;
    // 5,000.00 at the 10 % provisional duty = 500.00; VAT 9 % of 5,500.00 = 495.00.
    assert_eq!(sale["result"]["taxes"]["duty_cny"], "500.00");
    assert_eq!(sale["result"]["taxes"]["vat_cny"], "495.00");
    assert_eq!(stock(&app, "CAN"), (1930, 1930, 1980));
    record(&app, "patrols", json!({ "number": "PT-1", "exhibition": "EX-1", "counted_on": "2026-03-02", "counts": [{ "item_no": "CAN", "quantity": "45" }] })).await;
    let patrol = app.ledger_patrol(&op(), HQ, chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()).unwrap();
    let findings: Vec<(String, u64)> = patrol["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["finding"].as_str().unwrap().to_owned(), f["quantity"].as_u64().unwrap()))
        .collect();
    assert!(findings.contains(&("sold_without_tax".to_owned(), 5)), "{findings:?}");
    assert!(findings.contains(&("overdue".to_owned(), 50)), "{findings:?}");
    let in_time = app.ledger_patrol(&op(), HQ, chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()).unwrap();
    assert!(!in_time["findings"].as_array().unwrap().iter().any(|f| f["finding"] == "overdue"));
    check(&app);

    // A machine entered bonded for leasing, leased to a mainland lessee; the due instalment is taxed.
    let (press, _) = declare(
        &app,
        declaration(
            "PRESS-1",
            "first_line_in",
            "lease",
            HQ,
            json!([{ "hs": "84798999", "quantity": "2", "unit": "C62", "value": "800000.00", "origin": "DE" }]),
        ),
    )
    .await;
    record(
        &app,
        "lists",
        json!({ "number": "QD-P1", "declaration_id": press, "movement": "first_line_entry",
        "lines": [{ "item_no": "PRESS", "quantity": "2", "value_cny": "800000.00" }] }),
    )
    .await;
    record(&app, "gate-passes", json!({ "number": "HF-P1", "list": "QD-P1" })).await;
    record(&app, "leases", json!({ "number": "LS-1", "lessee": BUYER, "lessee_in_mainland": true,
        "starts_on": "2026-03-01", "ends_on": "2027-02-28", "lines": [{ "item_no": "PRESS", "quantity": "1" }],
        "schedule": [{ "due_on": "2026-03-01", "rent_cny": "20000.00" }, { "due_on": "2026-09-01", "rent_cny": "20000.00" }],
        "entrusted_supervision": { "office": "Gongbei Customs", "location": "Zhuhai Doumen plant" } })).await;
    assert_eq!(stock(&app, "PRESS"), (1, 1, 2), "leased goods stay bonded");
    let rent = record(&app, "lease-instalments", json!({ "number": "LS-1-1", "lease": "LS-1", "instalment": 1 })).await;
    // 20,000.00 at 5 % = 1,000.00 duty; VAT 13 % of 21,000.00 = 2,730.00.
    assert_eq!(rent["result"]["taxes"]["duty_cny"], "1000.00");
    assert_eq!(rent["result"]["taxes"]["vat_cny"], "2730.00");
    let early =
        refused(&app, "lease-instalments", json!({ "number": "LS-1-2", "lease": "LS-1", "instalment": 2 })).await;
    assert_eq!(early[0].0, "instalment_not_due");
    check(&app);

    // Second line: 1,000 cans sold into the mainland. The ledger supplies the materials (12,000.00 imported,
    // 1,500.00 domestic): (20,000 − 13,500) / 13,500 = 48 % ≥ 30 %, so no duty.
    let exit = json!([{ "hs": "23091010", "quantity": "1000", "unit": "C62", "value": "20000.00", "origin": "CN", "item_no": "CAN" }]);
    let (exit_decl, exit_assessed) =
        declare(&app, declaration("CAN-OUT-1", "second_line_out", "resale", BUYER, exit)).await;
    assert_eq!(exit_assessed["items"][0]["treatment"], "zero_value_added_duty", "{exit_assessed}");
    assert_eq!(exit_assessed["items"][0]["duty_cny"], "0.00");
    // Typed figures that disagree with the ledger are refused.
    let lying = json!([{ "hs": "23091010", "quantity": "10", "unit": "C62", "value": "200.00", "item_no": "CAN",
        "processing": { "imported_materials_cny": "1.00", "domestic_materials_cny": "1.00", "sale_price_cny": "200.00" } }]);
    match app.submit(&op(), &declaration("CAN-OUT-LIE", "second_line_out", "resale", BUYER, lying)).await {
        Err(AppError::Invalid(errors)) => {
            assert!(errors.0.iter().any(|e| e.code == "processing_disagrees_with_ledger"))
        }
        other => panic!("expected the ledger's figures to win, got {other:?}"),
    }
    record(
        &app,
        "lists",
        json!({ "number": "QD-E1", "declaration_id": exit_decl, "movement": "second_line_exit",
        "lines": [{ "item_no": "CAN", "quantity": "1000" }] }),
    )
    .await;
    assert_eq!(stock(&app, "CAN"), (1930, 930, 1980), "reserved for the exit");
    record(&app, "gate-passes", json!({ "number": "HF-E1", "list": "QD-E1" })).await;
    assert_eq!(stock(&app, "CAN"), (930, 930, 980));
    let can = app.ledger_item(&op(), HQ, "CAN").unwrap();
    assert_eq!(can["made_in_zone"]["quantity"], "980", "made 2,000, sold 20 at the exhibition, 1,000 left: {can}");
    check(&app);

    // Stock count: 5 kg of fish missing → adjusted, and taxed as if imported today.
    let count = record(
        &app,
        "stocktakes",
        json!({ "number": "HX-2026-1", "from": "2026-01-01",
        "counts": [{ "item_no": "FISH", "quantity": "595" }, { "item_no": "CAN", "quantity": "980" }] }),
    )
    .await;
    let rows = count["result"]["report"]["rows"].as_array().unwrap();
    let fish_row = rows.iter().find(|r| r["item_no"] == "FISH").unwrap();
    assert_eq!(fish_row["closing"]["quantity"], "600.000");
    assert_eq!(fish_row["result"]["result"], "shortage");
    // 5 kg × 60.00 = 300.00: duty 15.00 (5 % provisional) and VAT 28.35 are each under the 50.00
    // threshold, so nothing is payable.
    assert_eq!(count["result"]["shortage_taxes"]["duty_cny"], "15.00");
    assert_eq!(count["result"]["shortage_taxes"]["payable_cny"], "0.00");
    assert_eq!(stock(&app, "FISH"), (595_000, 595_000, 595_000));
    check(&app);

    // A wrong posting is never edited: a supervisor's correction moves it back, naming what it corrects.
    let fix = json!({ "number": "COR-1", "item_no": "MILK", "from": "stock", "to": "mainland", "quantity": "1",
        "value_cny": "30.00", "reason": "one bag counted twice at the gate", "corrects": "gate_pass/HF-M1" });
    let corrected = record(&app, "corrections", fix).await;
    assert_eq!(corrected["result"]["transfers"][0]["code"], "correction");
    assert_eq!(stock(&app, "MILK"), (399_000, 399_000, 399_000));
    let unknown = refused(
        &app,
        "corrections",
        json!({ "number": "COR-2", "item_no": "MILK", "from": "stock", "to": "mainland",
        "quantity": "1000", "value_cny": "1.00", "reason": "", "corrects": "gate_pass/NOPE" }),
    )
    .await;
    let codes: Vec<&str> = unknown.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(codes, ["required", "document_unknown", "stock_insufficient"], "{unknown:?}");
    check(&app);

    // The write-off statement: opening + entries − exits − consumption = closing, also as CSV.
    let (report, csv) = app
        .ledger_write_off(
            &op(),
            HQ,
            chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        )
        .unwrap();
    let fish = report["rows"].as_array().unwrap().iter().find(|r| r["item_no"] == "FISH").unwrap();
    assert_eq!(fish["entries"]["quantity"], "1000.000");
    assert_eq!(fish["consumption"]["quantity"], "400.000");
    assert_eq!(fish["closing"]["quantity"], "595.000");
    assert!(csv.lines().next().unwrap().starts_with("item_no,hs_code,unit,opening"));
    assert!(csv.lines().any(|l| l.starts_with("FISH,03031310,KGM,0.000,1000.000")), "{csv}");

    // Reopened on the same file: the engine replays the log and every index folds back.
    let before = app.ledger_balances().unwrap();
    drop(app);
    let again = open(Arc::new(SqliteStore::open(&path).unwrap())).await;
    assert_eq!(again.ledger_balances().unwrap(), before);
    check(&again);
    let can = again.ledger_item(&op(), HQ, "CAN").unwrap();
    assert_eq!(can["made_in_zone"]["quantity"], "980");
    // The closed list stays closed, the taxed instalment stays taxed, and the chain verifies.
    assert_eq!(refused(&again, "gate-passes", json!({ "number": "HF-9", "list": "QD-2" })).await[0].0, "list_closed");
    assert!(matches!(
        again
            .record_ledger(
                &op(),
                HQ,
                "lease-instalments",
                &json!({ "number": "LS-1-1b", "lease": "LS-1", "instalment": 1 })
            )
            .await,
        Err(AppError::Invalid(_))
    ));
    let chain = again.verify(&op()).await.unwrap();
    assert!(chain.events > 20, "{chain:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
