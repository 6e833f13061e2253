//! Cross-border e-commerce through the app: registrations as zone lists, documents in any order and in
//! batches, the decision stored with its documents, repeats and conflicts, the quota, and a reopen that
//! replays the stored log to the same state.

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use zonegate_app::auth::Principal;
use zonegate_app::{App, AppError, FixedClock};
use zonegate_cbec::synthetic::{self, Rng};
use zonegate_store_sqlite::SqliteStore;

fn op() -> Principal {
    Principal::platform("test")
}

async fn register(app: &App) {
    let entries = zonegate_app::cbec::synthetic_registrations(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), "test");
    app.add_list_entries(&op(), entries).await.unwrap();
    // The platform's bank guarantee secures its buyers' tax until its bills are paid.
    let guarantee = json!({"amount": "1000000.00", "bank": "中国银行珠海分行", "effective_from": "2026-01-01"});
    app.cbec_set_guarantee(&op(), synthetic::PLATFORM, &guarantee).await.unwrap();
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0).unwrap()
}

#[tokio::test]
async fn three_documents_in_any_order_are_matched_released_and_replayed_after_a_reopen() {
    let dir = std::env::temp_dir().join(format!("zonegate-cbec-app-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("z.db");
    let clock = Arc::new(FixedClock(now()));
    let app = App::open(Arc::new(SqliteStore::open(&path).unwrap()), clock.clone()).await.unwrap();
    register(&app).await;
    let mut rng = Rng::new(1);
    let trio = synthetic::trio("APP", 1, 100, now(), &mut rng);

    let first = app.cbec_submit(&op(), "waybill", trio.waybill.clone()).await.unwrap();
    assert!(first.created);
    assert_eq!(first.body["status"], "incomplete");
    assert_eq!(first.body["waiting_for"], json!(["order", "payment"]));
    app.cbec_submit(&op(), "payment", trio.payment.clone()).await.unwrap();
    let last = app.cbec_submit(&op(), "order", trio.order.clone()).await.unwrap();
    assert_eq!(last.body["status"], "released", "{:#}", last.body);
    let decision = &last.body["decision"];
    assert!(decision["checks"].as_array().unwrap().iter().all(|c| c["passed"] == json!(true)));
    assert!(decision["trace"].as_array().is_some_and(|codes| !codes.is_empty()));

    // A repeat answers the first result, decision included; another body under the same key is a conflict.
    let again = app.cbec_submit(&op(), "order", trio.order.clone()).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.body["decision"], *decision);
    let mut other = trio.order.clone();
    other["consignee"]["phone"] = json!("13900000000");
    assert!(matches!(app.cbec_submit(&op(), "order", other).await, Err(AppError::Clash(_))));

    // A batch: one good order, a malformed line, a wrong check digit; the good one goes through.
    let good = synthetic::trio("APP", 2, 100, now(), &mut rng);
    let mut bad_id = synthetic::trio("APP", 3, 100, now(), &mut rng);
    bad_id.order["buyer"]["id_number"] = json!("110105194912310021");
    let mut lines: Vec<String> = good.entries().iter().map(Value::to_string).collect();
    lines.insert(1, "{\"kind\": \"order\", \"document\": {".into());
    lines.push(bad_id.entries()[0].to_string());
    let result = app.cbec_batch(&op(), &lines.join("\n")).await.unwrap().to_value();
    assert_eq!(result["recorded"], 3, "{result:#}");
    assert_eq!(result["refused"], 2);
    let results = result["results"].as_array().unwrap();
    assert_eq!(results[1]["error"]["problems"][0]["code"], "json_malformed");
    assert_eq!(results[3]["status"], "released");
    assert_eq!(results[4]["error"]["problems"][0]["field"], "buyer.id_number");
    assert_eq!(results[4]["error"]["problems"][0]["code"], "id_number_check_digit");
    // The same batch again changes nothing.
    let replayed = app.cbec_batch(&op(), &lines.join("\n")).await.unwrap().to_value();
    assert_eq!(replayed["recorded"], 0);
    assert_eq!(replayed["repeated"], 3);

    let order = app.cbec_order(&op(), synthetic::PLATFORM, &trio.order_no).await.unwrap();
    let kinds: Vec<&str> = order["records"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["waybill", "payment", "order", "decision"]);
    let buyer = trio.order["buyer"]["id_number"].as_str().unwrap().to_owned();
    let quota = app.cbec_quota(&op(), &buyer, 2026).unwrap();
    let overview = app.cbec_overview(&op()).unwrap();
    drop(app);

    // Reopen: the log replays to the same state.
    let app = App::open(Arc::new(SqliteStore::open(&path).unwrap()), clock).await.unwrap();
    assert_eq!(app.cbec_quota(&op(), &buyer, 2026).unwrap(), quota);
    assert_eq!(app.cbec_overview(&op()).unwrap(), overview);
    let again = app.cbec_submit(&op(), "payment", trio.payment.clone()).await.unwrap();
    assert!(!again.created);
    assert!(app.store().verify_chain().await.is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_read_order_explains_its_tax_and_says_when_the_rates_no_longer_explain_it() {
    let app = App::open(Arc::new(SqliteStore::open_in_memory().unwrap()), Arc::new(FixedClock(now()))).await.unwrap();
    register(&app).await;
    let mut rng = Rng::new(7);
    let trio = synthetic::trio("EXP", 1, 100, now(), &mut rng);
    for document in trio.entries() {
        let body = document["document"].clone();
        app.cbec_submit(&op(), document["kind"].as_str().unwrap(), body).await.unwrap();
    }
    let key = format!("{}/{}", synthetic::PLATFORM, trio.order_no);

    // The stored decision holds each line's figures and basis ids, not the texts of the arithmetic.
    let stored = app.store().get_cbec_record("decision", &key).await.unwrap();
    let stored: Value = serde_json::from_str(&stored.body_json).unwrap();
    let lines = stored["tax"]["lines"].as_array().unwrap();
    assert!(!lines.is_empty() && lines.iter().all(|line| line.get("trace").is_none()), "{stored:#}");
    assert!(lines.iter().all(|line| line["basis"][0] == "cbec.rate_70pct"));

    // Read back, every line carries the arithmetic that gave its stored figures.
    let decision_of = |order: &Value| {
        order["records"].as_array().unwrap().iter().find(|r| r["kind"] == "decision").unwrap()["body"].clone()
    };
    let read = decision_of(&app.cbec_order(&op(), synthetic::PLATFORM, &trio.order_no).await.unwrap());
    assert_eq!(read["tax"]["total_fen"], stored["tax"]["total_fen"]);
    for (line, figures) in read["tax"]["lines"].as_array().unwrap().iter().zip(lines) {
        let trace: Vec<&str> = line["trace"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        let value = format!("taxable value: {}.", figures["value_fen"].as_i64().unwrap() / 100);
        assert!(trace[0].starts_with(&value), "{trace:?}");
        let vat_fen = figures["vat_fen"].as_i64().unwrap();
        let vat = format!("{}.{:02} CNY", vat_fen / 100, vat_fen % 100);
        assert!(trace.last().unwrap().contains("× 70%") && trace.last().unwrap().ends_with(&vat), "{trace:?}");
        assert_eq!(line["vat_fen"], figures["vat_fen"]);
    }
    assert!(read.get("tax_trace_unavailable").is_none());

    // Passed checks are stored by id alone; read back, each says what it compared.
    let stored_checks = stored["checks"].as_array().unwrap();
    assert!(stored_checks.len() >= 8 && stored_checks.iter().all(|c| c["passed"] == true && c.get("detail").is_none()));
    let detail = |id: &str| {
        let check = read["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone();
        check["detail"].as_str().unwrap().to_owned()
    };
    let amount = stored["amount"].as_str().unwrap();
    assert_eq!(detail("cbec.single_limit"), format!("{amount} CNY within the single limit of 5000.00 CNY"));
    assert_eq!(detail("cbec.annual_limit"), "within the annual limit of 26000.00 CNY");
    assert!(
        detail("cbec.buyer_identity").starts_with("buyer named, ID ") && detail("cbec.buyer_identity").contains('*')
    );
    assert!(detail("cbec.paid_matches_price_and_tax").ends_with("CNY paid"));
    assert!(read["checks"].as_array().unwrap().iter().all(|c| c["detail"].as_str().is_some_and(|d| !d.is_empty())));

    // A VAT row corrected for the decision's day no longer gives the stored figures: they stand, unexplained.
    let mut rows = zonegate_policy::defaults::PolicyRows::default();
    rows.vat.push(zonegate_tariff::Versioned {
        key: "vat.standard".into(),
        effective_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        value: Some(zonegate_tariff::tables::VatRow {
            id: "vat.standard".into(),
            hs_from: String::new(),
            hs_to: String::new(),
            rate_pct: 9.into(),
        }),
    });
    app.append_policy(&op(), rows).await.unwrap();
    let read = decision_of(&app.cbec_order(&op(), synthetic::PLATFORM, &trio.order_no).await.unwrap());
    assert_eq!(read["tax"], stored["tax"]);
    assert!(read["tax_trace_unavailable"].as_str().unwrap().contains("other figures"), "{read:#}");
}
