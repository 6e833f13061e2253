//! The risk engine over HTTP: analysts draft and back-test rule sets, supervisors put them in force,
//! authorities publish and withdraw alerts, officers record inspection results, and every declaration
//! gets its channel and reasons from the engine.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::TimeZone;
use serde_json::{json, Value};
use tower::ServiceExt;
use zonegate_app::accounts::TokenInput;
use zonegate_app::{App, FixedClock, DEMO_PASSWORD};
use zonegate_server::{router, ServerConfig};
use zonegate_store_sqlite::SqliteStore;

const HQ: &str = "91440400MA4UJ0J57H";

struct Demo {
    app: Arc<App>,
    router: Router,
}

impl Demo {
    async fn new() -> Demo {
        let clock = FixedClock(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap());
        let app = Arc::new(App::open(Arc::new(SqliteStore::open_in_memory().unwrap()), Arc::new(clock)).await.unwrap());
        app.load_demo().await.unwrap();
        let router = router(app.clone(), ServerConfig::standard());
        Demo { app, router }
    }

    async fn token(&self, user_id: &str) -> String {
        let session = self.app.login(user_id, DEMO_PASSWORD).await.unwrap();
        let principal = self.app.authenticate_session(&session.secret).await.unwrap();
        let (_, token) = self
            .app
            .issue_token(&principal, TokenInput { name: Some("t".into()), ..TokenInput::default() })
            .await
            .unwrap();
        token
    }

    async fn call(&self, method: Method, uri: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        let builder =
            Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
        let request = match body {
            Some(body) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

fn laptops(reference: &str, value: &str) -> Value {
    json!({
        "reference": reference, "zone": "hengqin", "flow": "first_line_in", "declared_on": "2026-03-02",
        "declarant": HQ, "importer": HQ, "purpose": "resale", "currency": "CNY",
        "exchange_rate": "1", "value_basis": "CIF", "freight": "0", "insurance": "0",
        "items": [ { "hs": "84713000", "description": "Laptop computers", "quantity": "2", "unit": "C62", "value": value, "origin": "PT" } ]
    })
}

fn reasons(body: &Value) -> Vec<String> {
    body["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn rules_are_validated_backtested_put_in_force_and_decide_the_channel() {
    let demo = Demo::new().await;
    let (analyst, supervisor, declarant, officer) = (
        demo.token("analyst").await,
        demo.token("supervisor").await,
        demo.token("hq.declarant").await,
        demo.token("officer").await,
    );

    // The shipped rule set is in force: a plain declaration is released (unless drawn at random).
    let (status, first) =
        demo.call(Method::POST, "/v1/declarations", &declarant, Some(laptops("R-1", "8000.00"))).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["risk"]["rule_set"], 1);
    assert_eq!(first["risk"]["credit_class"], "ordinary");
    assert!(first["risk"]["draw"].as_f64().is_some_and(|d| (0.0..1.0).contains(&d)));

    // A draft with mistakes: every problem at once, conditions with line and column.
    let bad = json!({ "rules": [
        { "id": "Bad Id", "condition": "decl.flow == 'first_line_in'", "channel": "inspection", "effective_from": "2026-03-02" },
        { "id": "typo", "condition": "items.exists(i, i.orgin == 'PT')", "channel": "inspection", "effective_from": "2026-03-02" },
        { "id": "types", "condition": "decl.value_cny == 'a lot'", "weight": 1.0, "effective_from": "2026-03-02" },
        { "id": "no.action", "condition": "true", "effective_from": "2026-03-02" }
    ]});
    let (status, errors) = demo.call(Method::POST, "/v1/risk/rulesets", &analyst, Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{errors}");
    let fields: Vec<&str> = errors["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"rules[0].id") && fields.contains(&"rules[1].condition"), "{errors}");
    assert!(fields.contains(&"rules[2].condition") && fields.contains(&"rules[3].channel"), "{errors}");
    let typo = errors["errors"].as_array().unwrap().iter().find(|e| e["field"] == "rules[1].condition").unwrap();
    let message = typo["message"].as_str().unwrap();
    assert!(message.starts_with("line 1, column ") && message.contains("origin"), "{message}");

    // A valid draft is saved as version 2, by the analyst; saving it again returns version 2.
    let draft = json!({ "note": "laptops over 10,000", "rules": [
        { "id": "laptops.high_value", "description": "Laptops over 10,000 CNY", "condition": "items.exists(i, i.hs4 == '8471' && i.value_cny > 10000.0)", "channel": "inspection", "effective_from": "2026-01-01" }
    ]});
    let (status, saved) = demo.call(Method::POST, "/v1/risk/rulesets", &analyst, Some(draft.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["version"], 2);
    assert_eq!(saved["author"], "analyst");
    assert_eq!(saved["in_force"], false);
    let (status, again) = demo.call(Method::POST, "/v1/risk/rulesets", &analyst, Some(draft)).await;
    assert_eq!((status, again["version"].clone()), (StatusCode::OK, json!(2)));

    // Not in force yet: a high-value declaration is not selected by it.
    let (_, before) = demo.call(Method::POST, "/v1/declarations", &declarant, Some(laptops("R-2", "30000.00"))).await;
    assert!(!reasons(&before).contains(&"rule:laptops.high_value".to_owned()));
    let (_, inspected) =
        demo.call(Method::POST, "/v1/declarations", &declarant, Some(laptops("R-3", "50000.00"))).await;

    // An officer records findings on R-3: repeat is idempotent, another body a conflict.
    let id3 = inspected["id"].as_i64().unwrap();
    let finding = json!({ "outcome": "finding", "findings": ["undervalued: invoice shows 65,000"] });
    let uri = format!("/v1/declarations/{id3}/inspection");
    let (status, recorded) = demo.call(Method::POST, &uri, &officer, Some(finding.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{recorded}");
    assert_eq!(demo.call(Method::POST, &uri, &officer, Some(finding)).await.0, StatusCode::OK);
    let (status, _) = demo.call(Method::POST, &uri, &officer, Some(json!({ "outcome": "no_finding" }))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = demo.call(Method::POST, &uri, &officer, Some(json!({ "outcome": "finding" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a finding needs findings");

    // The back-test replays the recorded declarations against the draft.
    let (status, report) = demo.call(Method::GET, "/v1/risk/rulesets/2/backtest", &analyst, None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["declarations"], 3);
    assert_eq!(report["selected"], 2, "{report}");
    assert_eq!(report["selected_findings"], 1);
    assert_eq!(report["rules"][0]["id"], "laptops.high_value");
    assert_eq!(report["rules"][0]["hit_rate"], 1.0);

    // The analyst may not put it in force; the supervisor may, not backdated.
    let today = json!({ "effective_from": "2026-03-02" });
    assert_eq!(
        demo.call(Method::POST, "/v1/risk/rulesets/2/activate", &analyst, Some(today.clone())).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = demo
        .call(
            Method::POST,
            "/v1/risk/rulesets/2/activate",
            &supervisor,
            Some(json!({ "effective_from": "2026-03-01" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, active) = demo.call(Method::POST, "/v1/risk/rulesets/2/activate", &supervisor, Some(today)).await;
    assert_eq!((status, active["in_force"].clone()), (StatusCode::OK, json!(true)), "{active}");

    // In force: the rule sends the goods to inspection and is named first.
    let (_, after) = demo.call(Method::POST, "/v1/declarations", &declarant, Some(laptops("R-4", "30000.00"))).await;
    assert_eq!(after["channel"], "inspection", "{after}");
    assert_eq!(reasons(&after)[0], "rule:laptops.high_value");
    assert_eq!(after["risk"]["rule_set"], 2);
    assert_eq!(after["risk"]["rules_fired"][0]["id"], "laptops.high_value");
    // The stored record shows the same decision.
    let (_, stored) = demo.call(Method::GET, &format!("/v1/declarations/{}", after["id"]), &officer, None).await;
    assert_eq!(stored["assessment"]["channel"], "inspection");

    // Hit rates per rule come from recorded inspections.
    let (_, report) = demo.call(Method::GET, "/v1/risk/report", &officer, None).await;
    assert_eq!(report["inspected"], 1);
    assert_eq!(report["findings"], 1);
}

#[tokio::test]
async fn alerts_from_an_authority_hold_goods_until_withdrawn() {
    let demo = Demo::new().await;
    let (iacm, declarant, officer) =
        (demo.token("macao.iacm").await, demo.token("hq.declarant").await, demo.token("officer").await);
    let alert = json!({
        "id": "laptop-batteries-2026-03", "title": "Counterfeit laptop batteries", "severity": "critical",
        "scope": { "hs": ["847130"], "text": ["laptop"] }, "valid_from": "2026-03-01", "valid_to": "2026-03-31"
    });
    let (status, published) = demo.call(Method::POST, "/v1/alerts", &iacm, Some(alert.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{published}");
    assert_eq!(published["key"], "authority:macao-iacm/laptop-batteries-2026-03");
    assert_eq!(demo.call(Method::POST, "/v1/alerts", &iacm, Some(alert.clone())).await.0, StatusCode::OK);
    let mut changed = alert;
    changed["severity"] = json!("low");
    assert_eq!(demo.call(Method::POST, "/v1/alerts", &iacm, Some(changed)).await.0, StatusCode::CONFLICT);
    let (_, listed) = demo.call(Method::GET, "/v1/alerts?active=true", &officer, None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let (_, held) = demo.call(Method::POST, "/v1/declarations", &declarant, Some(laptops("A-1", "8000.00"))).await;
    assert_eq!(held["channel"], "hold", "{held}");
    assert_eq!(reasons(&held)[..2], ["hard_stop", "alert:authority:macao-iacm/laptop-batteries-2026-03"]);

    // The officer's party did not publish it; the authority withdraws it.
    let uri = "/v1/alerts/authority:macao-iacm/laptop-batteries-2026-03/withdraw";
    assert_eq!(demo.call(Method::POST, uri, &officer, Some(json!({}))).await.0, StatusCode::FORBIDDEN);
    let (status, withdrawn) = demo.call(Method::POST, uri, &iacm, Some(json!({ "reason": "batch recalled" }))).await;
    assert_eq!(status, StatusCode::OK, "{withdrawn}");
    assert_eq!(withdrawn["withdrawn"]["by"], "macao.iacm");
    let (_, listed) = demo.call(Method::GET, "/v1/alerts?active=true", &officer, None).await;
    assert!(listed["items"].as_array().unwrap().is_empty());
    let (_, released) = demo.call(Method::POST, "/v1/declarations", &declarant, Some(laptops("A-2", "8000.00"))).await;
    assert_ne!(released["channel"], "hold", "{released}");
}

#[tokio::test]
async fn credit_classes_are_versioned_and_the_lower_class_applies() {
    let demo = Demo::new().await;
    let (supervisor, officer, declarant) =
        (demo.token("supervisor").await, demo.token("officer").await, demo.token("hq.declarant").await);
    let change = json!({ "class": "dishonest", "effective_from": "2026-03-02", "reason": "Penalty decision 拱关缉违字〔2026〕12号" });
    let uri = format!("/v1/enterprises/{HQ}/credit");
    assert_eq!(demo.call(Method::POST, &uri, &officer, Some(change.clone())).await.0, StatusCode::FORBIDDEN);
    let (status, errors) = demo.call(Method::POST, &uri, &supervisor, Some(json!({ "class": "bad" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors["errors"].as_array().unwrap().len(), 3, "class, effective_from and reason: {errors}");
    let (status, history) = demo.call(Method::POST, &uri, &supervisor, Some(change)).await;
    assert_eq!(status, StatusCode::CREATED, "{history}");
    assert_eq!(history["class"], "dishonest");
    assert_eq!(history["registered_class"], "ordinary");
    assert_eq!(history["changes"][0]["by"], "supervisor");

    let mut selected = 0;
    for n in 0..20 {
        let (_, body) =
            demo.call(Method::POST, "/v1/declarations", &declarant, Some(laptops(&format!("C-{n}"), "8000.00"))).await;
        assert_eq!(body["risk"]["credit_class"], "dishonest", "{body}");
        selected += usize::from(body["channel"] == "inspection");
    }
    assert!(selected >= 12, "dishonest enterprises are inspected at 80 % or more: {selected}/20");
}
