//! E-commerce orders (1210) drawing on the enterprise's bonded ledger: a released order's goods leave stock
//! for the mainland once (not while held, not again on a repeat), a return brings them back, a draw the
//! stock cannot cover leaves the order released with the refusal in its view and in the data patrol, and
//! orders released while no draw could be made are drawn when the app starts again.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use zonegate_app::auth::Principal;
use zonegate_app::cbec::CbecConfig;
use zonegate_app::ledger::LedgerRecorded;
use zonegate_app::{App, FixedClock};
use zonegate_cbec::synthetic::{self, Rng, Trio};
use zonegate_domain::{CreditClass, Party, Uscc};
use zonegate_store_sqlite::SqliteStore;

const ENTERPRISE: &str = synthetic::ENTERPRISE;
const PLATFORM: &str = synthetic::PLATFORM;

/// The synthetic goods: (item number, HS).
const GOODS: [(&str, &str); 4] = [
    ("SKU-06901234567892", "04021000"),
    ("SKU-09501101530003", "04021000"),
    ("SKU-04006381333931", "33049900"),
    ("SKU-00012345600012", "33049900"),
];

fn op() -> Principal {
    Principal::platform("test")
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0).unwrap()
}

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zonegate-cbec-ledger-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("z.db")
}

async fn open(path: &std::path::Path) -> App {
    App::open(Arc::new(SqliteStore::open(path).unwrap()), Arc::new(FixedClock(now()))).await.unwrap()
}

/// Registrations as zone lists, the platform's guarantee, and the enterprise as a known party.
async fn register(app: &App) {
    register_without_guarantee(app).await;
    guarantee(app).await;
}

/// The platform's bank guarantee secures its buyers' tax until its bills are paid.
async fn guarantee(app: &App) {
    let guarantee = json!({"amount": "1000000.00", "bank": "中国银行珠海分行", "effective_from": "2026-01-01"});
    app.cbec_set_guarantee(&op(), PLATFORM, &guarantee).await.unwrap();
}

/// Registrations as zone lists and the enterprise as a known party; without a guarantee the tax must be
/// secured before an order is released.
async fn register_without_guarantee(app: &App) {
    let entries = zonegate_app::cbec::synthetic_registrations(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), "test");
    app.add_list_entries(&op(), entries).await.unwrap();
    let party = Party {
        uscc: Uscc::parse(ENTERPRISE).unwrap(),
        name: "横琴跨境电商测试企业".into(),
        zone_registered: true,
        lists: Vec::new(),
        credit_class: CreditClass::Ordinary,
    };
    app.put_party(&op(), &party).await.unwrap();
}

/// The enterprise's bonded ledger: the synthetic goods in `unit` (whole units), each with `opening` in stock
/// at 50.00 CNY a unit.
async fn ledger(app: &App, goods: &[(&str, &str)], unit: &str, opening: u64) {
    for (item_no, hs) in goods {
        let item = json!({"item_no": item_no, "hs": hs, "unit": unit, "quantity_scale": 0, "treatment": "bonded"});
        assert!(matches!(app.record_ledger(&op(), ENTERPRISE, "items", &item).await, Ok(LedgerRecorded::Created(_))));
        if opening > 0 {
            let open = json!({
                "number": format!("OPEN-{item_no}"), "item_no": item_no, "from": "outside", "to": "stock",
                "quantity": opening.to_string(), "value_cny": format!("{}.00", opening * 50),
                "reason": "opening stock", "corrects": format!("item/{item_no}"),
            });
            let recorded = app.record_ledger(&op(), ENTERPRISE, "corrections", &open).await;
            assert!(matches!(recorded, Ok(LedgerRecorded::Created(_))), "{recorded:?}");
        }
    }
}

/// (stock, mainland) quantities of an item.
fn balances(app: &App, item_no: &str) -> (i64, i64) {
    let item = app.ledger_item(&op(), ENTERPRISE, item_no).unwrap();
    let q = |kind: &str| item["balances"][kind]["quantity"].as_str().unwrap_or("0").parse::<i64>().unwrap();
    (q("stock"), q("mainland"))
}

fn all_balances(app: &App) -> BTreeMap<String, (i64, i64)> {
    GOODS.iter().map(|(item_no, _)| (item_no.to_string(), balances(app, item_no))).collect()
}

/// What an order takes of each item.
fn wanted(trio: &Trio) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for item in trio.order["items"].as_array().unwrap() {
        let q: i64 = item["quantity"].as_str().unwrap().parse().unwrap();
        *out.entry(item["item_no"].as_str().unwrap().to_owned()).or_default() += q;
    }
    out
}

async fn submit(app: &App, trio: &Trio) -> Value {
    app.cbec_submit(&op(), "payment", trio.payment.clone()).await.unwrap();
    app.cbec_submit(&op(), "waybill", trio.waybill.clone()).await.unwrap();
    app.cbec_submit(&op(), "order", trio.order.clone()).await.unwrap().body
}

async fn view(app: &App, trio: &Trio) -> Value {
    app.cbec_order(&op(), PLATFORM, &trio.order_no).await.unwrap()
}

async fn draw_documents(app: &App) -> usize {
    app.ledger_documents(&op(), ENTERPRISE, Some("cbec_release"), None, 100).await.unwrap().len()
}

fn patrol_findings(app: &App) -> Vec<Value> {
    let patrol = app.ledger_patrol(&op(), ENTERPRISE, NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()).unwrap();
    patrol["cbec"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_released_order_draws_its_goods_once_and_a_return_puts_them_back() {
    let path = temp_db("release");
    let app = open(&path).await;
    register(&app).await;
    ledger(&app, &GOODS, "C62", 10).await;
    let mut rng = Rng::new(11);
    // An order of two lines or more, so that one line can come back before the others.
    let trio = (1..)
        .map(|n| synthetic::trio("LDG", n, 100, now(), &mut rng))
        .find(|t| t.order["items"].as_array().unwrap().len() >= 2)
        .unwrap();
    let before = all_balances(&app);

    let answer = submit(&app, &trio).await;
    assert_eq!(answer["status"], "released", "{answer:#}");
    let after = all_balances(&app);
    for (item_no, (stock, mainland)) in &after {
        let q = wanted(&trio).get(item_no).copied().unwrap_or(0);
        assert_eq!(*stock, before[item_no].0 - q, "{item_no}: stock falls by the order's quantity");
        assert_eq!(*mainland, before[item_no].1 + q, "{item_no}: the goods are in the mainland account");
    }
    assert!(app.ledger_trial_balance_ok().unwrap());

    let order = view(&app, &trio).await;
    let draw = &order["ledger_draw"];
    assert_eq!(draw["status"], "drawn", "{draw:#}");
    assert_eq!(draw["document"], format!("cbec_release/{PLATFORM}~{}", trio.order_no));
    assert_eq!(draw["lines"].as_array().unwrap().len(), trio.order["items"].as_array().unwrap().len());
    // Average cost: 50.00 a unit.
    for line in draw["lines"].as_array().unwrap() {
        let q: u64 = line["quantity"].as_str().unwrap().parse().unwrap();
        assert_eq!(line["value_cny"], format!("{}.00", q * 50));
    }

    // The same documents again, alone or in a batch, draw nothing more.
    let again = app.cbec_submit(&op(), "order", trio.order.clone()).await.unwrap();
    assert!(!again.created);
    let batch: Vec<String> = trio.entries().iter().map(Value::to_string).collect();
    let replayed = app.cbec_batch(&op(), &batch.join("\n")).await.unwrap().to_value();
    assert_eq!(replayed["repeated"], 3, "{replayed:#}");
    assert_eq!(all_balances(&app), after);
    assert_eq!(draw_documents(&app).await, 1);
    assert!(patrol_findings(&app).is_empty());

    // Returns with the goods back: line 1 first, then the rest; each comes back into stock once.
    let back = |return_no: &str, lines: Value| {
        let mut body = json!({
            "return_no": return_no,
            "applied_at": (now() + Duration::hours(2)).to_rfc3339(),
            "goods_back_at": (now() + Duration::days(3)).to_rfc3339(),
        });
        if !lines.is_null() {
            body["lines"] = lines;
        }
        body
    };
    let first_line = &trio.order["items"][0];
    let first_item = first_line["item_no"].as_str().unwrap().to_owned();
    let first_q: i64 = first_line["quantity"].as_str().unwrap().parse().unwrap();
    let returned = app.cbec_return(&op(), PLATFORM, &trio.order_no, back("R-1", json!([1]))).await.unwrap();
    assert!(returned.created, "{:#}", returned.body);
    assert_eq!(returned.body["status"], "partly_returned");
    let partly = all_balances(&app);
    assert_eq!(partly[&first_item], (after[&first_item].0 + first_q, after[&first_item].1 - first_q));
    let returned = app.cbec_return(&op(), PLATFORM, &trio.order_no, back("R-2", Value::Null)).await.unwrap();
    assert!(returned.created, "{:#}", returned.body);
    assert_eq!(all_balances(&app), before, "every line came back into stock");
    let again = app.cbec_return(&op(), PLATFORM, &trio.order_no, back("R-2", Value::Null)).await.unwrap();
    assert!(!again.created);
    assert_eq!(all_balances(&app), before);
    let returns = app.ledger_documents(&op(), ENTERPRISE, Some("cbec_return"), None, 100).await.unwrap();
    assert_eq!(returns.len(), 2);
    assert_eq!(returns[0]["document"]["return"], format!("cbec_return/{PLATFORM}/{}/R-1", trio.order_no));
    assert_eq!(returns[0]["document"]["lines"], json!([1]));
    let order = view(&app, &trio).await;
    assert!(order["ledger_draw"]["lines"].as_array().unwrap().iter().all(|l| l["returned"] == json!(true)));
    assert!(app.ledger_trial_balance_ok().unwrap());
    drop(app);

    // Reopened: the same balances, nothing drawn or returned again.
    let app = open(&path).await;
    assert_eq!(all_balances(&app), before);
    assert_eq!(draw_documents(&app).await, 1);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn a_held_order_draws_only_when_its_inspection_clears_it() {
    let path = temp_db("held");
    let app = open(&path).await;
    register(&app).await;
    ledger(&app, &GOODS, "C62", 10).await;
    app.configure_cbec(CbecConfig { default_channel: Some("inspection".into()), ..CbecConfig::default() }).unwrap();
    let mut rng = Rng::new(12);
    let trio = synthetic::trio("HLD", 1, 100, now(), &mut rng);
    let before = all_balances(&app);

    let answer = submit(&app, &trio).await;
    assert_eq!(answer["status"], "held", "{answer:#}");
    assert_eq!(all_balances(&app), before, "nothing leaves stock while the order is held");
    let order = view(&app, &trio).await;
    assert_eq!(order["ledger_draw"]["status"], "none");
    assert_eq!(order["ledger_draw"]["reason"], "not_released");

    let inspected = app.cbec_inspect(&op(), PLATFORM, &trio.order_no, json!({"outcome": "no_finding"})).await.unwrap();
    assert_eq!(inspected.body["status"], "released", "{:#}", inspected.body);
    for (item_no, (stock, mainland)) in all_balances(&app) {
        let q = wanted(&trio).get(&item_no).copied().unwrap_or(0);
        assert_eq!((stock, mainland), (before[&item_no].0 - q, before[&item_no].1 + q), "{item_no}");
    }
    assert_eq!(view(&app, &trio).await["ledger_draw"]["status"], "drawn");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn an_order_awaiting_its_tax_draws_when_another_step_releases_it() {
    let path = temp_db("tax");
    let app = open(&path).await;
    register_without_guarantee(&app).await;
    ledger(&app, &GOODS, "C62", 10).await;
    let mut rng = Rng::new(15);
    let first = synthetic::trio("TAX", 1, 100, now(), &mut rng);
    let before = all_balances(&app);

    let answer = submit(&app, &first).await;
    assert_eq!(answer["status"], "awaiting_tax", "{answer:#}");
    assert_eq!(all_balances(&app), before, "nothing leaves stock before the tax is secured");
    assert_eq!(view(&app, &first).await["ledger_draw"]["reason"], "not_released");

    // A guarantee is lodged; the next order's billing secures the first one, which that step releases.
    guarantee(&app).await;
    let second = synthetic::trio("TAX", 2, 100, now(), &mut rng);
    let answer = submit(&app, &second).await;
    assert_eq!(answer["status"], "released", "{answer:#}");
    assert_eq!(answer["released"], json!([format!("{PLATFORM}/{}", first.order_no)]), "{answer:#}");
    let mut total = wanted(&first);
    for (item_no, q) in wanted(&second) {
        *total.entry(item_no).or_default() += q;
    }
    for (item_no, (stock, mainland)) in all_balances(&app) {
        let q = total.get(&item_no).copied().unwrap_or(0);
        assert_eq!((stock, mainland), (before[&item_no].0 - q, before[&item_no].1 + q), "{item_no}");
    }
    assert_eq!(view(&app, &first).await["ledger_draw"]["status"], "drawn");
    assert_eq!(draw_documents(&app).await, 2);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn a_draw_the_stock_cannot_cover_is_refused_and_shown_while_the_order_stays_released() {
    let path = temp_db("short");
    let app = open(&path).await;
    register(&app).await;
    // Milk powder kept in kilograms (the orders count pieces), skin care in pieces but none in stock.
    ledger(&app, &GOODS[..2], "KGM", 10).await;
    ledger(&app, &GOODS[2..], "C62", 0).await;
    let mut rng = Rng::new(13);
    // An order with both kinds of goods.
    let trio = (1..)
        .map(|n| synthetic::trio("SHT", n, 100, now(), &mut rng))
        .find(|t| {
            let hs: Vec<&str> =
                t.order["items"].as_array().unwrap().iter().map(|i| i["hs"].as_str().unwrap()).collect();
            hs.contains(&"04021000") && hs.contains(&"33049900")
        })
        .unwrap();
    let before = all_balances(&app);

    let answer = submit(&app, &trio).await;
    assert_eq!(answer["status"], "released", "customs released the goods: {answer:#}");
    assert_eq!(all_balances(&app), before, "a refused draw takes nothing");

    let order = view(&app, &trio).await;
    assert_eq!(order["order"]["status"], "released");
    let draw = &order["ledger_draw"];
    assert_eq!(draw["status"], "refused", "{draw:#}");
    let problems = draw["problems"].as_array().unwrap();
    let items = trio.order["items"].as_array().unwrap();
    // Every line is a problem: its unit (milk powder) or its quantity (skin care, no stock).
    let mut named: Vec<String> = problems.iter().map(|p| p["field"].as_str().unwrap().to_owned()).collect();
    named.sort();
    named.dedup();
    let mut expected: Vec<String> = Vec::new();
    let mut first_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let item_no = item["item_no"].as_str().unwrap();
        if item["hs"] == "04021000" {
            expected.push(format!("items[{i}].unit"));
        } else if first_of.insert(item_no, i).is_none() {
            expected.push(format!("items[{i}].quantity"));
        }
    }
    expected.sort();
    assert_eq!(named, expected, "{problems:#?}");
    for p in problems {
        let code = p["code"].as_str().unwrap();
        assert!(code == "unit_mismatch" || code == "stock_insufficient", "{p}");
    }

    let findings = patrol_findings(&app);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["finding"], "cbec_draw_refused");
    assert_eq!(findings[0]["order"], format!("{PLATFORM}/{}", trio.order_no));
    assert_eq!(findings[0]["problems"], draw["problems"]);
    drop(app);

    // The refusal is durable: after a reopen it is still shown, and nothing is drawn again.
    let app = open(&path).await;
    assert_eq!(view(&app, &trio).await["ledger_draw"]["status"], "refused");
    assert_eq!(patrol_findings(&app).len(), 1);
    assert_eq!(draw_documents(&app).await, 1);
    assert_eq!(all_balances(&app), before);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn orders_released_before_their_draw_was_recorded_are_drawn_once_when_the_app_starts() {
    let path = temp_db("reconcile");
    let app = open(&path).await;
    register(&app).await;
    let mut rng = Rng::new(14);
    let trios: Vec<Trio> = (1..=3).map(|n| synthetic::trio("REC", n, 100, now(), &mut rng)).collect();
    // Released while the enterprise kept no ledger: nothing to draw from, and nothing is looked up.
    for trio in &trios {
        assert_eq!(submit(&app, trio).await["status"], "released");
    }
    assert_eq!(view(&app, &trios[0]).await["ledger_draw"]["reason"], "no_ledger");
    // The ledger is opened; the orders are released but not drawn (as after a crash between the e-commerce
    // commit and the draw).
    ledger(&app, &GOODS, "C62", 20).await;
    let before = all_balances(&app);
    assert_eq!(view(&app, &trios[0]).await["ledger_draw"]["status"], "pending");
    assert_eq!(draw_documents(&app).await, 0);
    drop(app);

    let app = open(&path).await;
    assert_eq!(draw_documents(&app).await, trios.len(), "every released order is drawn");
    let mut total: BTreeMap<String, i64> = BTreeMap::new();
    for trio in &trios {
        for (item_no, q) in wanted(trio) {
            *total.entry(item_no).or_default() += q;
        }
        assert_eq!(view(&app, trio).await["ledger_draw"]["status"], "drawn");
    }
    let drawn = all_balances(&app);
    for (item_no, (stock, mainland)) in &drawn {
        let q = total.get(item_no).copied().unwrap_or(0);
        assert_eq!((*stock, *mainland), (before[item_no].0 - q, before[item_no].1 + q), "{item_no}");
    }
    assert!(app.ledger_trial_balance_ok().unwrap());
    drop(app);

    // Started again: nothing is drawn twice.
    let app = open(&path).await;
    assert_eq!(draw_documents(&app).await, trios.len());
    assert_eq!(all_balances(&app), drawn);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn an_order_whose_goods_the_ledger_does_not_keep_draws_nothing() {
    let path = temp_db("other");
    let app = open(&path).await;
    register(&app).await;
    ledger(&app, &[("OTHER-1", "04021000")], "C62", 5).await;
    let mut rng = Rng::new(16);
    let trio = synthetic::trio("OTH", 1, 100, now(), &mut rng);
    assert_eq!(submit(&app, &trio).await["status"], "released");
    let draw = view(&app, &trio).await["ledger_draw"].clone();
    assert_eq!(draw, json!({"status": "none", "reason": "no_ledger_items", "enterprise": ENTERPRISE}));
    assert_eq!(draw_documents(&app).await, 0);
    assert_eq!(balances(&app, "OTHER-1"), (5, 0));
    assert!(patrol_findings(&app).is_empty());
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
