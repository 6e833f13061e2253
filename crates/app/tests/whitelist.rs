//! The whitelist registry of measures 4 and 5 through the app: appended as policy rows, effective at once,
//! kept across a reload, and used by the assessment.

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use zonegate_app::auth::Principal;
use zonegate_app::{App, AppError, FixedClock, DEMO_PASSWORD};
use zonegate_policy::WhitelistEntry;
use zonegate_store_sqlite::SqliteStore;

const IMPORTER: &str = "91440400MA4UJ0J57H";

fn op() -> Principal {
    Principal::platform("test")
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

async fn app() -> App {
    let clock = Arc::new(FixedClock(Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()));
    let app = App::open(Arc::new(SqliteStore::open_in_memory().unwrap()), clock).await.unwrap();
    app.load_demo().await.unwrap();
    app
}

fn entry(product: &str, from: &str, active: bool) -> WhitelistEntry {
    WhitelistEntry {
        zone: "hengqin".into(),
        enterprise: IMPORTER.into(),
        product: product.into(),
        category: "macao_brand".into(),
        valid_from: date(from),
        valid_to: None,
        active,
        note: "test".into(),
    }
}

fn pork(reference: &str, flow: &str) -> Value {
    json!({
        "reference": reference, "zone": "hengqin", "flow": flow, "declared_on": "2026-03-02",
        "declarant": IMPORTER, "importer": IMPORTER, "purpose": "resale", "currency": "CNY", "exchange_rate": "1",
        "items": [ { "hs": "02031110", "quantity": "100", "unit": "KGM", "value": "10000.00", "origin": "PT" } ]
    })
}

fn codes(error: AppError) -> Vec<(String, String)> {
    match error {
        AppError::Invalid(errors) => errors.iter().map(|e| (e.code.to_owned(), e.field.clone())).collect(),
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn a_whitelist_entry_waives_the_licence_at_once_and_is_listed() {
    let app = app().await;
    let refused = app.submit(&op(), &pork("WL-1", "first_line_in")).await.unwrap_err();
    assert_eq!(codes(refused), [("licence_missing".to_owned(), "items[0].documents".to_owned())]);
    assert_eq!(app.add_whitelist_entries(&op(), vec![entry("0203", "2026-03-01", true)]).await.unwrap(), 1);
    let body = app.submit(&op(), &pork("WL-2", "first_line_in")).await.unwrap().body().clone();
    let basis: Vec<&str> = body["items"][0]["basis"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(basis.contains(&"licence_waived_whitelist"), "{basis:?}");
    // Listed on a date it is valid, not before.
    let listed = app.list_whitelist(&op(), "hengqin", date("2026-03-02")).unwrap();
    assert_eq!(listed, [entry("0203", "2026-03-01", true)]);
    assert!(app.list_whitelist(&op(), "hengqin", date("2026-02-28")).unwrap().is_empty());
    // Whitelisted goods stay in the zone.
    let out = app.submit(&op(), &pork("WL-3", "second_line_out")).await.unwrap_err();
    assert_eq!(codes(out), [("whitelist_second_line".to_owned(), "items[0].hs".to_owned())]);
    // The rows survive a reload from the store.
    app.reload().await.unwrap();
    assert_eq!(app.list_whitelist(&op(), "hengqin", date("2026-03-02")).unwrap().len(), 1);
    // A later row withdraws the entry.
    app.add_whitelist_entries(&op(), vec![entry("0203", "2026-03-02", false)]).await.unwrap();
    assert!(app.list_whitelist(&op(), "hengqin", date("2026-03-02")).unwrap().is_empty());
    let again = app.submit(&op(), &pork("WL-4", "first_line_in")).await.unwrap_err();
    assert_eq!(codes(again), [("licence_missing".to_owned(), "items[0].documents".to_owned())]);
}

#[tokio::test]
async fn bad_entries_are_refused_with_every_problem_and_nothing_is_appended() {
    let app = app().await;
    let before = app.store().policy_row_count().await.unwrap();
    let bad = WhitelistEntry {
        zone: "atlantis".into(),
        enterprise: "nope".into(),
        product: "x".into(),
        category: "wine".into(),
        ..entry("0203", "2026-03-01", true)
    };
    let expired = WhitelistEntry { valid_to: Some(date("2026-02-01")), ..entry("0203", "2026-03-01", true) };
    let error = app.add_whitelist_entries(&op(), vec![entry("0402", "2026-03-01", true), bad, expired]).await;
    let fields: Vec<String> =
        codes(error.unwrap_err()).into_iter().map(|(code, field)| format!("{code} {field}")).collect();
    assert_eq!(
        fields,
        [
            "zone_unknown entries[1].zone",
            "uscc_length entries[1].enterprise",
            "hs_format entries[1].product",
            "category_unknown entries[1].category",
            "validity_range entries[2].valid_to",
        ]
    );
    assert_eq!(app.store().policy_row_count().await.unwrap(), before);
}

#[tokio::test]
async fn only_those_who_may_edit_zone_lists_may_edit_the_whitelist() {
    let app = app().await;
    let session = app.login("hq.declarant", DEMO_PASSWORD).await.unwrap();
    let declarant = app.authenticate_session(&session.secret).await.unwrap();
    let refused = app.add_whitelist_entries(&declarant, vec![entry("0203", "2026-03-01", true)]).await;
    assert!(matches!(refused, Err(AppError::Forbidden { .. })), "{refused:?}");
    assert!(app.list_whitelist(&op(), "hengqin", date("2026-03-02")).unwrap().is_empty());
}

#[test]
fn whitelist_entries_round_trip_through_json() {
    let original = WhitelistEntry { valid_to: Some(date("2026-12-31")), ..entry("0203", "2026-01-01", true) };
    let text = serde_json::to_string(&original).unwrap();
    assert_eq!(serde_json::from_str::<WhitelistEntry>(&text).unwrap(), original);
    // `active` defaults to true; `valid_to` and `note` may be left out.
    let minimal: WhitelistEntry = serde_json::from_value(json!({
        "zone": "hengqin", "enterprise": IMPORTER, "product": "1211", "category": "tcm_material",
        "valid_from": "2026-01-01"
    }))
    .unwrap();
    assert!(minimal.active && minimal.valid_to.is_none() && minimal.note.is_empty());
}
