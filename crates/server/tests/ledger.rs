//! The bonded ledger through the HTTP API (issue 5): a first-line entry reserved by its list and posted at
//! the gate, a processing run, an exhibition sale taxed at the sale, a rent instalment taxed on its date,
//! and the second-line exit of the processed goods with the 30 % test taken from the ledger. After every
//! step the enterprise's ledger reads back balanced. Enterprises write their own ledger only; gate passes
//! are customs acts.

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
const BUYER: &str = "91440300MA5520010X";

struct Reply {
    status: StatusCode,
    body: Value,
    text: String,
}

async fn send(router: &Router, method: Method, uri: &str, token: &str, body: Option<Value>) -> Reply {
    let builder = Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
    let request = match body {
        Some(body) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), text }
}

async fn token(app: &App, user_id: &str) -> String {
    let session = app.login(user_id, DEMO_PASSWORD).await.unwrap();
    let principal = app.authenticate_session(&session.secret).await.unwrap();
    let input = TokenInput { name: Some("test".into()), ..TokenInput::default() };
    app.issue_token(&principal, input).await.unwrap().1
}

struct Api {
    router: Router,
    hq: String,
    officer: String,
}

impl Api {
    async fn post(&self, kind: &str, body: Value, token: &str) -> Reply {
        send(&self.router, Method::POST, &format!("/v1/ledgers/{HQ}/{kind}"), token, Some(body)).await
    }

    async fn created(&self, kind: &str, body: Value) -> Value {
        let token = if kind == "gate-passes" { &self.officer } else { &self.hq };
        let reply = self.post(kind, body, token).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{kind}: {}", reply.text);
        reply.body
    }

    /// Reads the ledger and checks every item balances; returns item → (stock, exhibited, leased).
    async fn balanced(&self) -> std::collections::BTreeMap<String, (String, String, String)> {
        let reply = send(&self.router, Method::GET, &format!("/v1/ledgers/{HQ}"), &self.hq, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let mut out = std::collections::BTreeMap::new();
        for item in reply.body["items"].as_array().unwrap() {
            assert_eq!(item["trial_balance_zero"], true, "{item}");
            let q = |k: &str| item["balances"][k]["quantity"].as_str().unwrap_or("").to_owned();
            out.insert(item["item_no"].as_str().unwrap().to_owned(), (q("stock"), q("exhibited"), q("leased")));
        }
        out
    }

    async fn declare(&self, document: Value) -> (i64, Value) {
        let reply = send(&self.router, Method::POST, "/v1/declarations", &self.hq, Some(document)).await;
        assert!(reply.status.is_success(), "{}", reply.text);
        let id = reply.body["id"].as_i64().unwrap();
        if reply.body["channel"] == "inspection" {
            let uri = format!("/v1/declarations/{id}/inspection");
            let done =
                send(&self.router, Method::POST, &uri, &self.officer, Some(json!({ "outcome": "no_finding" }))).await;
            assert!(done.status.is_success(), "{}", done.text);
        }
        (id, reply.body)
    }
}

fn declaration(reference: &str, flow: &str, purpose: &str, importer: &str, items: Value) -> Value {
    json!({
        "reference": reference, "flow": flow, "declared_on": "2026-03-02", "declarant": HQ, "importer": importer,
        "purpose": purpose, "currency": "CNY", "exchange_rate": "1", "value_basis": "CIF", "items": items
    })
}

fn stock(q: &str) -> (String, String, String) {
    (q.to_owned(), "0".to_owned(), "0".to_owned())
}

#[tokio::test]
async fn processed_goods_are_followed_end_to_end_through_the_api() {
    let clock = FixedClock(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap());
    let app = Arc::new(App::open(Arc::new(SqliteStore::open_in_memory().unwrap()), Arc::new(clock)).await.unwrap());
    app.load_demo().await.unwrap();
    let api = Api {
        router: router(app.clone(), ServerConfig::standard()),
        hq: token(&app, "hq.declarant").await,
        officer: token(&app, "officer").await,
    };
    let shop = token(&app, "shop.declarant").await;

    for (item_no, hs, unit, scale, treatment, origin) in [
        ("FISH", "03031310", "KGM", 0, "bonded", "NO"),
        ("CAN", "23091010", "C62", 0, "bonded", "CN"),
        ("PRESS", "84798999", "C62", 0, "bonded", "DE"),
    ] {
        api.created(
            "items",
            json!({ "item_no": item_no, "hs": hs, "unit": unit, "quantity_scale": scale,
            "treatment": treatment, "origin": origin }),
        )
        .await;
    }
    // Another enterprise may neither write nor read this ledger.
    let other = api
        .post(
            "items",
            json!({ "item_no": "X", "hs": "03031310", "unit": "KGM", "quantity_scale": 0, "treatment": "bonded" }),
            &shop,
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert_eq!(
        send(&api.router, Method::GET, &format!("/v1/ledgers/{HQ}"), &shop, None).await.status,
        StatusCode::FORBIDDEN
    );

    // First line in: the list reserves, the gate (customs) posts.
    let (fish, _) = api
        .declare(declaration(
            "F-1",
            "first_line_in",
            "processing",
            HQ,
            json!([{ "hs": "03031310", "quantity": "1000", "unit": "KGM", "value": "60000.00", "origin": "NO" }]),
        ))
        .await;
    api.created(
        "lists",
        json!({ "number": "QD-1", "declaration_id": fish, "movement": "first_line_entry",
        "lines": [{ "item_no": "FISH", "quantity": "1000", "value_cny": "60000.00" }] }),
    )
    .await;
    let pending = api.balanced().await;
    assert_eq!(pending["FISH"], stock("0"));
    // The enterprise cannot pass its own goods through the gate.
    let own_gate = api.post("gate-passes", json!({ "number": "HF-1", "list": "QD-1" }), &api.hq).await;
    assert_eq!(own_gate.status, StatusCode::FORBIDDEN);
    let over = api
        .post(
            "gate-passes",
            json!({ "number": "HF-1", "list": "QD-1", "lines": [{ "item_no": "FISH", "quantity": "1001" }] }),
            &api.officer,
        )
        .await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", over.text);
    assert_eq!(over.body["errors"][0]["code"], "gate_pass_exceeds_list");
    assert_eq!(over.body["errors"][0]["field"], "lines[0].quantity");
    api.created("gate-passes", json!({ "number": "HF-1", "list": "QD-1" })).await;
    assert_eq!(api.balanced().await["FISH"], stock("1000"));
    // The same gate pass again is answered with its first result, not applied twice.
    let again = api.post("gate-passes", json!({ "number": "HF-1", "list": "QD-1" }), &api.officer).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(api.balanced().await["FISH"], stock("1000"));

    // Processing: one can takes 0.4 kg of fish (2 kg per 5 cans).
    api.created(
        "boms",
        json!({ "product": "CAN", "version": 1, "effective_from": "2026-01-01",
        "materials": [{ "item_no": "FISH", "quantity": "2", "per": "5" }] }),
    )
    .await;
    let run = api
        .created(
            "processing-runs",
            json!({ "number": "RUN-1", "product": "CAN", "quantity": "2000", "produced_on": "2026-03-02" }),
        )
        .await;
    assert_eq!(run["result"]["imported_materials_cny"], "48000.00");
    let after_run = api.balanced().await;
    assert_eq!((after_run["FISH"].clone(), after_run["CAN"].clone()), (stock("200"), stock("2000")));

    // Exhibition: 10 cans out, 4 sold and taxed at the sale.
    api.created(
        "exhibitions",
        json!({ "number": "EX-1", "venue": "Expo", "opened_on": "2026-03-02", "allowed_until": "2026-03-20",
        "lines": [{ "item_no": "CAN", "quantity": "10" }] }),
    )
    .await;
    let sale = api
        .created(
            "exhibition-sales",
            json!({ "number": "S-1", "exhibition": "EX-1", "sold_on": "2026-03-02",
        "lines": [{ "item_no": "CAN", "quantity": "4", "price_cny": "1000.00" }] }),
        )
        .await;
    assert_eq!(sale["result"]["taxes"]["duty_cny"], "100.00");
    assert_eq!(api.balanced().await["CAN"], ("1990".to_owned(), "6".to_owned(), "0".to_owned()));
    let patrol =
        send(&api.router, Method::GET, &format!("/v1/ledgers/{HQ}/patrol?on=2026-03-21"), &api.officer, None).await;
    assert_eq!(patrol.body["findings"][0]["finding"], "overdue", "{}", patrol.text);

    // Lease: a press, bonded, leased to a mainland lessee; the first instalment is taxed on its date.
    let (press, _) = api
        .declare(declaration(
            "P-1",
            "first_line_in",
            "lease",
            HQ,
            json!([{ "hs": "84798999", "quantity": "1", "unit": "C62", "value": "500000.00", "origin": "DE" }]),
        ))
        .await;
    api.created(
        "lists",
        json!({ "number": "QD-P", "declaration_id": press, "movement": "first_line_entry",
        "lines": [{ "item_no": "PRESS", "quantity": "1", "value_cny": "500000.00" }] }),
    )
    .await;
    api.created("gate-passes", json!({ "number": "HF-P", "list": "QD-P" })).await;
    api.created(
        "leases",
        json!({ "number": "L-1", "lessee": BUYER, "lessee_in_mainland": true, "starts_on": "2026-03-01",
        "ends_on": "2026-12-31", "lines": [{ "item_no": "PRESS", "quantity": "1" }],
        "schedule": [{ "due_on": "2026-03-01", "rent_cny": "10000.00" }] }),
    )
    .await;
    let rent = api.created("lease-instalments", json!({ "number": "L-1-1", "lease": "L-1", "instalment": 1 })).await;
    assert_eq!(rent["result"]["taxes"]["duty_cny"], "500.00");
    assert_eq!(api.balanced().await["PRESS"], ("0".to_owned(), "0".to_owned(), "1".to_owned()));

    // Second line out: 1,000 cans for 40,000.00. Materials from the ledger: 24,000.00 imported, so the value
    // added is (40,000 − 24,000) / 24,000 = 66.7 % ≥ 30 %: no duty.
    let (exit, assessed) = api.declare(declaration("C-OUT", "second_line_out", "resale", BUYER,
        json!([{ "hs": "23091010", "quantity": "1000", "unit": "C62", "value": "40000.00", "origin": "CN", "item_no": "CAN" }]))).await;
    assert_eq!(assessed["items"][0]["treatment"], "zero_value_added_duty", "{assessed}");
    api.created(
        "lists",
        json!({ "number": "QD-E", "declaration_id": exit, "movement": "second_line_exit",
        "lines": [{ "item_no": "CAN", "quantity": "1000" }] }),
    )
    .await;
    api.created("gate-passes", json!({ "number": "HF-E", "list": "QD-E" })).await;
    assert_eq!(api.balanced().await["CAN"], ("990".to_owned(), "6".to_owned(), "0".to_owned()));

    // Every document is listed in order; the write-off statement comes as CSV too.
    let docs =
        send(&api.router, Method::GET, &format!("/v1/ledgers/{HQ}/documents?limit=500"), &api.officer, None).await;
    assert_eq!(docs.body["items"].as_array().unwrap().len(), 15, "{}", docs.text);
    let csv = send(
        &api.router,
        Method::GET,
        &format!("/v1/ledgers/{HQ}/writeoff?from=2026-03-01&to=2026-03-02&format=csv"),
        &api.officer,
        None,
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.text.lines().any(|l| l.starts_with("FISH,03031310,KGM,0,1000,")), "{}", csv.text);
    let item = send(&api.router, Method::GET, &format!("/v1/ledgers/{HQ}/items/CAN"), &api.officer, None).await;
    assert_eq!(item.body["made_in_zone"]["quantity"], "996", "made 2,000, 4 sold at the exhibition, 1,000 left");
}
