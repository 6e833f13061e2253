//! Inspection results become training data: declarations are recorded, officers record outcomes, a model
//! is trained on them, and the next platform scores new declarations with it and explains the score.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use zonegate_app::auth::Principal;
use zonegate_app::risk::RiskConfig;
use zonegate_app::{App, FixedClock, Submitted};
use zonegate_risk::learned::LearnedModel;
use zonegate_store::Store;
use zonegate_store_sqlite::SqliteStore;

const HQ: &str = "91440400MA4UJ0J57H";
const SHOP: &str = "91440400MA55H0P10R";

fn op() -> Principal {
    Principal::platform("test")
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock(Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()))
}

fn declaration(declarant: &str, reference: &str, value: u32, origin: &str) -> Value {
    json!({
        "reference": reference, "zone": "hengqin", "flow": "first_line_in", "declared_on": "2026-03-02",
        "declarant": declarant, "importer": declarant, "purpose": "resale", "currency": "CNY",
        "exchange_rate": "1", "value_basis": "CIF", "freight": "0", "insurance": "0",
        "items": [ { "hs": "84713000", "description": "notebook computers", "quantity": "10", "unit": "C62",
                     "value": format!("{value}.00"), "origin": origin } ]
    })
}

fn id_of(submitted: Submitted) -> i64 {
    match submitted {
        Submitted::Created(body) | Submitted::Repeat(body) => body["id"].as_i64().unwrap(),
    }
}

#[tokio::test]
async fn recorded_inspections_train_the_score_the_platform_then_uses() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let app = App::open(store.clone(), clock()).await.unwrap();
    app.load_demo().await.unwrap();
    // The shop's goods are found at fault, the trading company's are not.
    for n in 0..120u32 {
        let (declarant, finding) = if n % 2 == 0 { (SHOP, true) } else { (HQ, false) };
        let origin = ["PT", "JP", "DE"][(n % 3) as usize];
        let id =
            id_of(app.submit(&op(), &declaration(declarant, &format!("L-{n}"), 1_000 + n * 37, origin)).await.unwrap());
        let outcome = if finding {
            json!({ "outcome": "finding", "findings": ["undervalued"] })
        } else {
            json!({ "outcome": "no_finding" })
        };
        app.record_inspection(&op(), id, &outcome).await.unwrap();
    }
    let examples = app.training_examples(&op()).await.unwrap();
    assert_eq!(examples.len(), 120);
    assert_eq!(examples.iter().filter(|(_, finding)| *finding).count(), 60);
    // The label does not leak through the history: the example's own inspection is taken out.
    let (first, _) = &examples[0];
    assert_eq!(first.history.inspections, 59, "60 inspections of the shop, less its own");

    let options = zonegate_score::TrainOptions { max_trees: 30, ..zonegate_score::TrainOptions::fast() };
    let (model, _) = LearnedModel::train(&examples, None, &options, "learned-1".into()).unwrap();
    let scorer: Arc<dyn zonegate_risk::Scorer> = Arc::new(model);
    let config = RiskConfig { scorer: Some(scorer), ..RiskConfig::demo() };
    let next = App::open_with(store, clock(), config).await.unwrap();

    let shop = next.submit(&op(), &declaration(SHOP, "N-1", 5_000, "PT")).await.unwrap();
    let hq = next.submit(&op(), &declaration(HQ, "N-2", 5_000, "PT")).await.unwrap();
    let (shop, hq) = (shop.body(), hq.body());
    assert_eq!(shop["risk"]["model"], "learned-1");
    let (shop_score, hq_score) = (shop["risk"]["score"].as_f64().unwrap(), hq["risk"]["score"].as_f64().unwrap());
    assert!(shop_score > 0.8 && hq_score < 0.2, "shop {shop_score}, trading company {hq_score}");
    // The shop's score sends it to inspection within the budget, and the top features say why.
    assert_eq!(shop["channel"], "inspection", "{shop}");
    assert!(shop["reasons"].as_array().unwrap().contains(&json!("score.top_share")));
    let features: Vec<&str> =
        shop["risk"]["top_features"].as_array().unwrap().iter().map(|f| f["feature"].as_str().unwrap()).collect();
    assert!(
        features.iter().any(|f| ["declarant", "importer", "history_finding_rate", "history_inspections"].contains(f)),
        "{features:?}"
    );
}
