//! The submission use case end to end on the embedded store: recorded once, read back, listed, repeated,
//! refused, and every state change on the verified event chain.

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use zonegate_app::auth::Principal;
use zonegate_app::{App, AppError, FixedClock, ListQuery, Submitted};
use zonegate_policy::ListEntry;
use zonegate_store::Store;
use zonegate_store_sqlite::SqliteStore;

/// The local operator, who may do anything: these tests are about the use cases, not permissions.
fn op() -> Principal {
    Principal::platform("test")
}

async fn app_on(store: Arc<dyn Store>) -> App {
    let clock = Arc::new(FixedClock(Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()));
    let app = App::open(store, clock).await.unwrap();
    app.load_demo().await.unwrap();
    app
}

async fn app() -> App {
    app_on(Arc::new(SqliteStore::open_in_memory().unwrap())).await
}

fn laptops(reference: &str) -> Value {
    json!({
        "reference": reference,
        "zone": "hengqin",
        "flow": "first_line_in",
        "declared_on": "2026-03-02",
        "declarant": "91440400MA4UJ0J57H",
        "importer": "91440400MA4UJ0J57H",
        "purpose": "own_use",
        "currency": "MOP",
        "exchange_rate": "0.8812",
        "value_basis": "CIF",
        "freight": "0", "insurance": "0",
        "items": [ { "hs": "84713000", "description": "notebook computers", "quantity": "20", "unit": "C62",
                     "value": "160000.00", "origin": "PT" } ]
    })
}

fn cosmetics_to_mainland(reference: &str) -> Value {
    json!({
        "reference": reference, "flow": "second_line_out", "declared_on": "2026-03-05",
        "declarant": "91440400MA55H0P10R", "purpose": "resale", "currency": "USD", "exchange_rate": "7.1000",
        "items": [ { "hs": "33049900", "quantity": "100", "unit": "KGM", "value": "10000.00", "origin": "FR" } ]
    })
}

#[tokio::test]
async fn a_declaration_is_recorded_once_and_read_back() {
    let app = app().await;
    let Submitted::Created(body) = app.submit(&op(), &laptops("HQ-1")).await.unwrap() else {
        panic!("expected a new record")
    };
    assert_eq!(body["items"][0]["treatment"], "exempt");
    assert_eq!(body["items"][0]["customs_value_cny"], "140992.00");
    assert_eq!(body["totals"]["payable_cny"], "0.00");
    assert_eq!(body["channel"], "release");
    let id = body["id"].as_i64().unwrap();
    // The same document again, keys in another order: the first result, nothing new recorded.
    let mut again = laptops("HQ-1");
    again.as_object_mut().unwrap().remove("freight");
    again["freight"] = json!("0");
    let Submitted::Repeat(repeat) = app.submit(&op(), &again).await.unwrap() else { panic!("expected a repeat") };
    assert_eq!(repeat, body);
    // Another document under the same key is a conflict naming the first.
    let mut changed = laptops("HQ-1");
    changed["items"][0]["value"] = json!("150000.00");
    match app.submit(&op(), &changed).await {
        Err(AppError::Conflict { existing_id, .. }) => assert_eq!(existing_id, id),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let read = app.get_declaration(&op(), id).await.unwrap();
    assert_eq!(read["assessment"], body);
    assert_eq!(read["declaration"]["reference"], "HQ-1");
    let report = app.verify(&op()).await.unwrap();
    let events = app.store().events(0, 1000).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == "declaration.recorded").count(), 1);
    assert_eq!(report.events as usize, events.len());
}

#[tokio::test]
async fn taxes_of_a_second_line_import_match_the_worked_example_rates() {
    let app = app().await;
    let body = app.submit(&op(), &cosmetics_to_mainland("SL-1")).await.unwrap().body().clone();
    let item = &body["items"][0];
    assert_eq!(item["treatment"], "taxed");
    // Supplement MFN 1 %: 710.00; CT 15 %: 71,710 × 15/85 = 12,654.71; VAT 13 % of 84,364.71 = 10,967.41.
    assert_eq!(
        (item["duty_cny"].as_str(), item["consumption_tax_cny"].as_str(), item["vat_cny"].as_str()),
        (Some("710.00"), Some("12654.71"), Some("10967.41"))
    );
    assert_eq!(body["totals"]["payable_cny"], "24332.12");
    assert_eq!(item["basis"], json!(["second_line.import", "rate.mfn", "ct.cosmetics", "vat.standard"]));
    assert!(item["trace"].as_array().unwrap().len() >= 4);
}

#[tokio::test]
async fn invalid_input_lists_every_problem_and_stores_nothing() {
    let app = app().await;
    let mut bad = laptops("BAD-1");
    bad["declarant"] = json!("91440400MA4UJ0J57X");
    bad["items"][0]["hs"] = json!("99999999");
    bad["items"][0]["value"] = json!("-5");
    bad["items"][0]["quantity"] = json!(20);
    let Err(AppError::Invalid(errors)) = app.submit(&op(), &bad).await else { panic!("expected invalid") };
    let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.code, e.field.as_str())).collect();
    for expected in [
        ("uscc_check_character", "declarant"),
        ("hs_unknown", "items[0].hs"),
        ("negative", "items[0].value"),
        ("type", "items[0].quantity"),
    ] {
        assert!(found.contains(&expected), "{expected:?} missing from {found:?}");
    }
    let (items, _) = app.list_declarations(&op(), ListQuery::default()).await.unwrap();
    assert!(items.is_empty());
    assert!(app.store().events(0, 1000).await.unwrap().iter().all(|e| e.kind != "declaration.recorded"));
}

#[tokio::test]
async fn missing_rates_and_unknown_parties_are_refused() {
    let app = app().await;
    // 0207.1411 has no MFN rate in the schedule: taxed goods cannot be assessed.
    let mut chicken = cosmetics_to_mainland("SL-2");
    chicken["items"][0]["hs"] = json!("02071411");
    let Err(AppError::Invalid(errors)) = app.submit(&op(), &chicken).await else { panic!("expected invalid") };
    assert_eq!((errors.0[0].code, errors.0[0].field.as_str()), ("rate_missing", "items[0].hs"));
    // A valid USCC the platform does not know.
    let mut stranger = laptops("HQ-9");
    stranger["declarant"] = json!("91350100M000100Y43");
    stranger["importer"] = json!("91350100M000100Y43");
    let Err(AppError::Invalid(errors)) = app.submit(&op(), &stranger).await else { panic!("expected invalid") };
    assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["declarant", "importer"]);
    // Without an exchange rate and with no monthly rate for the month.
    let mut no_rate = cosmetics_to_mainland("SL-3");
    no_rate.as_object_mut().unwrap().remove("exchange_rate");
    no_rate["currency"] = json!("GBP");
    let Err(AppError::Invalid(errors)) = app.submit(&op(), &no_rate).await else { panic!("expected invalid") };
    assert_eq!(errors.0[0].code, "exchange_rate_missing");
    // The demo's monthly rate table covers USD.
    no_rate["currency"] = json!("USD");
    assert!(app.submit(&op(), &no_rate).await.is_ok());
}

#[tokio::test]
async fn listing_filters_and_pages() {
    let app = app().await;
    for index in 0..5 {
        app.submit(&op(), &laptops(&format!("HQ-{index}"))).await.unwrap();
    }
    for index in 0..3 {
        app.submit(&op(), &cosmetics_to_mainland(&format!("SL-{index}"))).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (items, next) =
            app.list_declarations(&op(), ListQuery { after, limit: Some(3), ..ListQuery::default() }).await.unwrap();
        seen.extend(items.iter().map(|i| i["reference"].as_str().unwrap().to_owned()));
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
    let (taxed, _) = app
        .list_declarations(&op(), ListQuery { treatment: Some("taxed".into()), ..ListQuery::default() })
        .await
        .unwrap();
    assert_eq!(taxed.len(), 3);
    let (by_flow, _) = app
        .list_declarations(&op(), ListQuery { flow: Some("first_line_in".into()), ..ListQuery::default() })
        .await
        .unwrap();
    assert_eq!(by_flow.len(), 5);
    let on = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    let (dated, _) = app
        .list_declarations(
            &op(),
            ListQuery { declared_from: on("2026-03-03"), declared_to: on("2026-03-31"), ..ListQuery::default() },
        )
        .await
        .unwrap();
    assert_eq!(dated.len(), 3);
    let (mine, _) = app
        .list_declarations(&op(), ListQuery { declarant: Some("91440400MA55H0P10R".into()), ..ListQuery::default() })
        .await
        .unwrap();
    assert_eq!(mine.len(), 3);
    let Err(AppError::Invalid(errors)) = app
        .list_declarations(&op(), ListQuery { flow: Some("sideways".into()), limit: Some(0), ..ListQuery::default() })
        .await
    else {
        panic!()
    };
    assert_eq!(errors.len(), 2);
}

#[tokio::test]
async fn list_edits_are_new_rows_effective_from_their_date() {
    let app = app().await;
    let entry = |active: bool, from: &str| ListEntry {
        zone: "hengqin".into(),
        list: "not_exempt".into(),
        item: "847130".into(),
        effective_from: NaiveDate::parse_from_str(from, "%Y-%m-%d").unwrap(),
        active,
        note: "test".into(),
    };
    app.add_list_entries(&Principal::platform("officer-1"), vec![entry(true, "2026-03-02")]).await.unwrap();
    let body = app.submit(&op(), &laptops("HQ-L1")).await.unwrap().body().clone();
    assert_eq!(body["items"][0]["treatment"], "bonded");
    app.add_list_entries(&Principal::platform("officer-1"), vec![entry(false, "2026-03-02")]).await.unwrap();
    let body = app.submit(&op(), &laptops("HQ-L2")).await.unwrap().body().clone();
    assert_eq!(body["items"][0]["treatment"], "exempt");
    // A bad entry is refused with every problem, and nothing is appended.
    let before = app.store().policy_row_count().await.unwrap();
    let bad = ListEntry {
        zone: "atlantis".into(),
        list: "no_such_list".into(),
        item: "x".into(),
        ..entry(true, "2026-03-02")
    };
    let Err(AppError::Invalid(errors)) = app.add_list_entries(&Principal::platform("officer-1"), vec![bad]).await
    else {
        panic!()
    };
    assert_eq!(errors.len(), 2);
    assert_eq!(app.store().policy_row_count().await.unwrap(), before);
}

#[tokio::test]
async fn a_reopened_store_keeps_policy_parties_and_declarations() {
    let dir = std::env::temp_dir().join(format!("zonegate-app-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("reopen.db");
    let _ = std::fs::remove_file(&path);
    let id = {
        let app = app_on(Arc::new(SqliteStore::open(&path).unwrap())).await;
        app.submit(&op(), &laptops("HQ-R")).await.unwrap().body()["id"].as_i64().unwrap()
    };
    let app = app_on(Arc::new(SqliteStore::open(&path).unwrap())).await;
    assert_eq!(app.get_declaration(&op(), id).await.unwrap()["reference"], "HQ-R");
    assert!(matches!(app.submit(&op(), &laptops("HQ-R")).await.unwrap(), Submitted::Repeat(_)));
    assert!(app.get_party(&op(), "91440400MA4UJ0J57H").is_ok());
    app.verify(&op()).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_repeat_returns_the_first_result_even_after_policy_changes() {
    let app = app().await;
    let first = app.submit(&op(), &laptops("HQ-P")).await.unwrap().body().clone();
    assert_eq!(first["items"][0]["treatment"], "exempt");
    let entry = ListEntry {
        zone: "hengqin".into(),
        list: "not_exempt".into(),
        item: "8471".into(),
        effective_from: NaiveDate::parse_from_str("2026-01-01", "%Y-%m-%d").unwrap(),
        active: true,
        note: String::new(),
    };
    app.add_list_entries(&Principal::platform("officer-2"), vec![entry]).await.unwrap();
    let Submitted::Repeat(again) = app.submit(&op(), &laptops("HQ-P")).await.unwrap() else {
        panic!("expected a repeat")
    };
    assert_eq!(again, first);
    // Even a repeat that today's data would refuse (a rate table removed) gets its first result back.
    let mut rows = zonegate_policy::defaults::PolicyRows::default();
    rows.exchange_rates.push(zonegate_tariff::Versioned {
        key: "USD".into(),
        effective_from: NaiveDate::parse_from_str("2026-03-01", "%Y-%m-%d").unwrap(),
        value: None,
    });
    let mut priced = cosmetics_to_mainland("SL-R");
    priced.as_object_mut().unwrap().remove("exchange_rate");
    let first = app.submit(&op(), &priced).await.unwrap().body().clone();
    app.append_policy(&Principal::platform("officer-2"), rows).await.unwrap();
    let Submitted::Repeat(again) = app.submit(&op(), &priced).await.unwrap() else { panic!("expected a repeat") };
    assert_eq!(again, first);
    let mut other = cosmetics_to_mainland("SL-S");
    other.as_object_mut().unwrap().remove("exchange_rate");
    assert!(matches!(app.submit(&op(), &other).await, Err(AppError::Invalid(_))));
}
