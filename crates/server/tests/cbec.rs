//! Cross-border e-commerce, bonded retail import 1210 (issue 6) through the HTTP API: the four companies
//! registered on the zone lists, the three documents sent one by one by their own companies, the tax bill
//! paid with a signed notice, a guarantee and batches (NDJSON and JSON) with bad entries beside good ones,
//! an order read back by its platform only, a cancellation, a return giving back the buyer's quota, a held
//! order inspected, the incomplete report, and the public traceability code with its page and QR image.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, TimeZone, Utc};
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use tower::ServiceExt;
use zonegate_app::accounts::TokenInput;
use zonegate_app::cbec::CbecConfig;
use zonegate_app::{App, Clock, DEMO_PASSWORD};
use zonegate_cbec::bills::{self, AgentKey};
use zonegate_cbec::synthetic::{self, Rng, Trio};
use zonegate_server::{router, ServerConfig};
use zonegate_store_sqlite::SqliteStore;

const PLATFORM: &str = synthetic::PLATFORM;
const TRACE_BASE: &str = "https://trace.zonegate.example";

/// A clock the test moves forward.
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

impl TestClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock") += by;
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0).unwrap()
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    text: String,
}

impl Reply {
    fn code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or_default()
    }

    fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Reply { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), text }
}

struct Api {
    router: Router,
}

impl Api {
    async fn call(&self, method: Method, uri: &str, token: &str, body: Option<&Value>) -> Reply {
        let builder =
            Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
        let request = match body {
            Some(body) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .expect("request");
        send(&self.router, request).await
    }

    async fn get(&self, uri: &str, token: &str) -> Reply {
        self.call(Method::GET, uri, token, None).await
    }

    async fn post(&self, uri: &str, token: &str, body: &Value) -> Reply {
        self.call(Method::POST, uri, token, Some(body)).await
    }

    /// A POST that must answer 201; its body.
    async fn created(&self, uri: &str, token: &str, body: &Value) -> Value {
        let reply = self.post(uri, token, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "POST {uri}: {}", reply.text);
        reply.body
    }

    async fn ndjson(&self, token: &str, lines: &[String]) -> Reply {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/v1/cbec/batches")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/x-ndjson")
            .body(Body::from(lines.join("\n")))
            .expect("request");
        send(&self.router, request).await
    }

    /// Anonymous GET with an `accept` header.
    async fn public(&self, uri: &str, accept: &str) -> Reply {
        let request = Request::builder().uri(uri).header(header::ACCEPT, accept).body(Body::empty()).expect("request");
        send(&self.router, request).await
    }

    async fn order(&self, order_no: &str, token: &str) -> Value {
        let reply = self.get(&format!("/v1/cbec/orders/{PLATFORM}/{order_no}"), token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    async fn quota(&self, id_number: &str, officer: &str) -> Value {
        let reply =
            self.post("/v1/cbec/quota-lookups", officer, &json!({ "id_number": id_number, "year": 2026 })).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["quota"].clone()
    }
}

async fn demo_token(app: &App, user_id: &str) -> String {
    let session = app.login(user_id, DEMO_PASSWORD).await.unwrap();
    let principal = app.authenticate_session(&session.secret).await.unwrap();
    let input = TokenInput { name: Some("test".into()), ..TokenInput::default() };
    app.issue_token(&principal, input).await.unwrap().1
}

/// Tokens of a declarant of each company (the platform, the payment and logistics companies, the
/// e-commerce enterprise) and of a customs officer.
struct Tokens {
    platform: String,
    payment: String,
    logistics: String,
    enterprise: String,
    officer: String,
}

async fn set_up(api: &Api, app: &App) -> Tokens {
    let supervisor = demo_token(app, "supervisor").await;
    let officer = demo_token(app, "officer").await;
    for (list, uscc) in synthetic::REGISTRATIONS {
        let entries = json!({ "entries": [ { "item": uscc, "effective_from": "2026-01-01" } ] });
        let appended = api.created(&format!("/v1/zones/{}/lists/{list}", synthetic::ZONE), &supervisor, &entries).await;
        assert_eq!(appended["appended"], 1);
    }
    // The payment company is not among the demo enterprises: customs registers it first.
    let party = json!({ "uscc": synthetic::PAYMENT_COMPANY, "name": "Demo Pay", "zone_registered": false,
                        "lists": [], "credit_class": "ordinary" });
    api.created("/v1/enterprises", &officer, &party).await;
    let mut tokens = Vec::new();
    for (user_id, party) in
        [("pay.declarant", synthetic::PAYMENT_COMPANY), ("logistics.declarant", synthetic::LOGISTICS_COMPANY)]
    {
        let account = json!({ "user_id": user_id, "party": party, "party_kind": "enterprise",
                              "roles": ["declarant"], "password": "a long enough password 2026" });
        api.created("/v1/accounts", &supervisor, &account).await;
        let token = api.created("/v1/tokens", &supervisor, &json!({ "name": "cbec", "user_id": user_id })).await;
        tokens.push(token["token"].as_str().expect("a token").to_owned());
    }
    let platform = api.created("/v1/tokens", &supervisor, &json!({ "name": "cbec", "user_id": "hq.declarant" })).await;
    let logistics = tokens.pop().unwrap();
    let payment = tokens.pop().unwrap();
    Tokens {
        platform: platform["token"].as_str().unwrap().to_owned(),
        payment,
        logistics,
        enterprise: demo_token(app, "shop.declarant").await,
        officer,
    }
}

async fn open(clock: Arc<TestClock>, config: Option<CbecConfig>) -> (Arc<App>, Api) {
    let app = Arc::new(App::open(Arc::new(SqliteStore::open_in_memory().unwrap()), clock).await.unwrap());
    if let Some(config) = config {
        app.configure_cbec(config).unwrap();
    }
    app.load_demo().await.unwrap();
    let api = Api { router: router(app.clone(), ServerConfig::standard()) };
    (app, api)
}

fn trio(run: &str, n: u64, at: DateTime<Utc>, rng: &mut Rng) -> Trio {
    synthetic::trio(run, n, 1_000_000, at, rng)
}

fn line(kind: &str, document: &Value) -> String {
    json!({ "kind": kind, "document": document }).to_string()
}

/// CNY decimal text ("123.45") to fen.
fn fen(text: &str) -> i64 {
    let (yuan, cents) = text.split_once('.').unwrap_or((text, "0"));
    yuan.parse::<i64>().unwrap() * 100 + format!("{cents:0<2}").parse::<i64>().unwrap()
}

/// Signs a payment notice of the platform's bill.
fn notice(id: &str, period: &str, amount_fen: i64, key: &SigningKey, at: DateTime<Utc>) -> Value {
    let mut notice = json!({
        "notice_id": id, "agent": PLATFORM, "period": period, "amount": bills::fen_text(amount_fen),
        "bank": "中国银行珠海分行", "paid_at": at.with_timezone(&zonegate_cbec::engine::china()).to_rfc3339(),
        "key_id": "boc-1",
    });
    notice["signature"] = json!(bills::sign_notice(&notice, key));
    notice
}

#[tokio::test]
async fn e_commerce_orders_go_from_documents_to_release_and_trace_through_the_api() {
    let clock = Arc::new(TestClock(Mutex::new(start())));
    let (app, api) = open(clock.clone(), None).await;
    let t = set_up(&api, &app).await;
    let mut rng = Rng::new(6);
    let now = start();

    // ---- One by one, each document by its own company; without a guarantee the tax must be paid first.
    let first = trio("HTTP", 1, now, &mut rng);
    let waybill = api.created("/v1/cbec/waybills", &t.logistics, &first.waybill).await;
    assert_eq!(waybill["status"], "incomplete");
    assert_eq!(waybill["waiting_for"], json!(["order", "payment"]));
    assert!(waybill.get("decision").is_none());
    let payment = api.created("/v1/cbec/payments", &t.payment, &first.payment).await;
    assert_eq!(payment["status"], "incomplete");
    assert_eq!(payment["waiting_for"], json!(["order"]));
    let sent = api.post("/v1/cbec/orders", &t.platform, &first.order).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    let location = sent.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert_eq!(location, format!("/v1/cbec/orders/{PLATFORM}/{}", first.order_no));
    let order = sent.body;
    assert_eq!(order["status"], "awaiting_tax", "{order:#}");
    let decision = &order["decision"];
    assert_eq!(decision["agent"], PLATFORM);
    assert!(decision["checks"].as_array().unwrap().iter().all(|c| c["passed"] == json!(true)), "{decision:#}");
    // The same order again answers the first result; another body under its number is a conflict.
    let again = api.post("/v1/cbec/orders", &t.platform, &first.order).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["decision"], *decision);
    let mut other = first.order.clone();
    other["consignee"]["phone"] = json!("13900000000");
    assert_eq!(api.post("/v1/cbec/orders", &t.platform, &other).await.status, StatusCode::CONFLICT);
    // A company sends only its own documents.
    let second = trio("HTTP", 2, now, &mut rng);
    let refused = api.post("/v1/cbec/waybills", &t.platform, &second.waybill).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.code(), "forbidden");

    // ---- The bill, paid with a notice signed by the agent's registered key.
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let registered = api
        .created(
            &format!("/v1/cbec/agents/{PLATFORM}/keys"),
            &t.officer,
            &json!({ "key_id": "boc-1", "public_key": AgentKey::public_text(&key.verifying_key().to_bytes()),
                     "effective_from": "2026-01-01" }),
        )
        .await;
    assert_eq!(registered["agent"], PLATFORM);
    let bills = api.get(&format!("/v1/cbec/agents/{PLATFORM}/bills"), &t.platform).await;
    assert_eq!(bills.status, StatusCode::OK, "{}", bills.text);
    let bill = bills.body["bills"][0].clone();
    let outstanding = bill["outstanding_fen"].as_i64().unwrap();
    assert!(outstanding > 0, "{bill:#}");
    assert_eq!(bill["awaiting"], 1);
    let period = bill["period"].as_str().unwrap();
    // A notice altered after signing is refused and changes nothing.
    let mut tampered = notice("N-TAMPERED", period, outstanding, &key, now);
    tampered["amount"] = json!(bills::fen_text(outstanding + 100));
    let rejected = api.post("/v1/cbec/tax-payments", &t.platform, &tampered).await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", rejected.text);
    assert_eq!(rejected.code(), "signature_invalid");
    assert_eq!(rejected.body["errors"][0]["field"], "signature");
    // Signed by another key: refused too.
    let stranger = notice("N-STRANGER", period, outstanding, &SigningKey::from_bytes(&[8u8; 32]), now);
    assert_eq!(api.post("/v1/cbec/tax-payments", &t.platform, &stranger).await.code(), "signature_invalid");
    assert_eq!(api.order(&first.order_no, &t.platform).await["order"]["status"], "awaiting_tax");
    let paid = api.created("/v1/cbec/tax-payments", &t.platform, &notice("N-1", period, outstanding, &key, now)).await;
    assert_eq!(paid["kind"], "tax_payment");
    assert_eq!(paid["key"], "N-1");
    let view = api.order(&first.order_no, &t.platform).await;
    assert_eq!(view["order"]["status"], "released", "{view:#}");
    let after = api.get(&format!("/v1/cbec/agents/{PLATFORM}/bills"), &t.platform).await;
    assert_eq!(after.body["bills"][0]["outstanding_fen"], 0, "{}", after.text);

    // ---- A guarantee, then batches: each company's documents, the platform's orders last.
    api.created(
        &format!("/v1/cbec/agents/{PLATFORM}/guarantee"),
        &t.officer,
        &json!({ "amount": "1000000.00", "bank": "中国银行珠海分行", "effective_from": "2026-01-01" }),
    )
    .await;
    let good: Vec<Trio> = (10..13).map(|n| trio("HTTP", n, now, &mut rng)).collect();
    let mut bad_id = trio("HTTP", 13, now, &mut rng);
    bad_id.order["buyer"]["id_number"] = json!("110105194912310021");
    let orphan = trio("HTTP", 14, now, &mut rng);
    let with_bad = || good.iter().chain([&bad_id]);
    let waybills: Vec<Value> = with_bad().map(|o| json!({ "kind": "waybill", "document": o.waybill })).collect();
    let reply = api.post("/v1/cbec/batches", &t.logistics, &json!(waybills)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!((reply.body["recorded"].as_i64(), reply.body["refused"].as_i64()), (Some(4), Some(0)), "{}", reply.text);
    let payments: Vec<String> = with_bad().chain([&orphan]).map(|o| line("payment", &o.payment)).collect();
    let reply = api.ndjson(&t.payment, &payments).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["recorded"], 5, "{}", reply.text);
    assert_eq!(reply.body["results"][4]["status"], "incomplete");
    assert_eq!(reply.body["results"][4]["waiting_for"], json!(["order", "waybill"]));

    let orders = vec![
        line("order", &good[0].order),
        "{\"kind\": \"order\", \"document\": {".to_owned(),
        line("order", &good[1].order),
        line("order", &bad_id.order),
        line("order", &good[2].order),
        line("order", &good[0].order),
        line("waybill", &second.waybill),
    ];
    let reply = api.ndjson(&t.platform, &orders).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let batch = &reply.body;
    assert_eq!(
        (batch["recorded"].as_i64(), batch["repeated"].as_i64(), batch["refused"].as_i64()),
        (Some(3), Some(1), Some(3)),
        "{batch:#}"
    );
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results.len(), orders.len());
    for (index, result) in results.iter().enumerate() {
        assert_eq!(result["index"], index);
    }
    for index in [0, 2, 4] {
        assert_eq!(results[index]["result"], "recorded", "{:#}", results[index]);
        assert_eq!(results[index]["status"], "released", "{:#}", results[index]);
        assert!(results[index]["decision"]["trace"].as_array().is_some_and(|c| !c.is_empty()));
    }
    assert_eq!(results[1]["error"]["problems"][0]["code"], "json_malformed");
    assert_eq!(results[3]["error"]["problems"][0]["field"], "buyer.id_number");
    assert_eq!(results[3]["error"]["problems"][0]["code"], "id_number_check_digit");
    assert_eq!(results[5]["result"], "repeat");
    assert_eq!(results[5]["order"], results[0]["order"]);
    assert_eq!(results[6]["error"]["code"], "forbidden", "{:#}", results[6]);
    // The same batch again: every good entry a repeat, nothing recorded.
    let replayed = api.ndjson(&t.platform, &orders).await.body;
    assert_eq!(
        (replayed["recorded"].as_i64(), replayed["repeated"].as_i64(), replayed["refused"].as_i64()),
        (Some(0), Some(4), Some(3)),
        "{replayed:#}"
    );
    // A JSON array of documents of companies that are not the caller's: each refused alone.
    let customs =
        api.post("/v1/cbec/batches", &t.officer, &json!([ { "kind": "order", "document": good[0].order } ])).await;
    assert_eq!(customs.status, StatusCode::FORBIDDEN, "{}", customs.text);
    let plain = api.call(Method::POST, "/v1/cbec/batches", &t.platform, None).await;
    assert_eq!(plain.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", plain.text);

    // ---- The order reads back with its records, for its platform only.
    let view = api.order(&good[0].order_no, &t.platform).await;
    assert_eq!(view["order"]["status"], "released");
    let kinds: Vec<&str> = view["records"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["waybill", "payment", "order", "decision"], "{view:#}");
    let recorders: Vec<&str> =
        view["records"].as_array().unwrap().iter().map(|r| r["recorded_by"].as_str().unwrap()).collect();
    assert_eq!(recorders[..3], ["logistics.declarant", "pay.declarant", "hq.declarant"]);
    let uri = format!("/v1/cbec/orders/{PLATFORM}/{}", good[0].order_no);
    for outsider in [&t.payment, &t.enterprise] {
        let refused = api.get(&uri, outsider).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        assert_eq!(refused.code(), "forbidden");
    }
    assert_eq!(api.get(&uri, &t.officer).await.status, StatusCode::OK);
    let missing = api.get(&format!("/v1/cbec/orders/{PLATFORM}/NO-SUCH-ORDER"), &t.platform).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // ---- A cancellation of an incomplete order: it takes no more documents.
    let dropped = trio("HTTP", 20, now, &mut rng);
    api.created("/v1/cbec/waybills", &t.logistics, &dropped.waybill).await;
    let cancel_uri = format!("/v1/cbec/orders/{PLATFORM}/{}/cancellation", dropped.order_no);
    let no_reason = api.post(&cancel_uri, &t.platform, &json!({})).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.body["errors"][0]["field"], "reason");
    let cancelled = api.created(&cancel_uri, &t.platform, &json!({ "reason": "the buyer changed their mind" })).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled:#}");
    let late = api.post("/v1/cbec/payments", &t.payment, &dropped.payment).await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", late.text);
    assert_eq!(late.code(), "order_closed");
    // A released order is not cancelled: it is returned.
    let released_cancel = api
        .post(
            &format!("/v1/cbec/orders/{PLATFORM}/{}/cancellation", good[1].order_no),
            &t.platform,
            &json!({ "reason": "x" }),
        )
        .await;
    assert_eq!(released_cancel.code(), "order_released", "{}", released_cancel.text);

    // ---- A return within 30 days gives the value back to the buyer's year.
    let buyer = good[0].order["buyer"]["id_number"].as_str().unwrap().to_owned();
    let before = api.quota(&buyer, &t.officer).await;
    assert!(before["posted_fen"].as_i64().unwrap() > 0, "{before:#}");
    assert_eq!(
        before["available_fen"].as_i64().unwrap(),
        before["limit_fen"].as_i64().unwrap()
            - before["posted_fen"].as_i64().unwrap()
            - before["pending_fen"].as_i64().unwrap()
    );
    let china = zonegate_cbec::engine::china();
    let return_uri = format!("/v1/cbec/orders/{PLATFORM}/{}/returns", good[0].order_no);
    let too_late = api
        .post(
            &return_uri,
            &t.platform,
            &json!({ "return_no": "R-LATE", "applied_at": (now + Duration::days(31)).with_timezone(&china).to_rfc3339(),
                     "goods_back_at": (now + Duration::days(32)).with_timezone(&china).to_rfc3339() }),
        )
        .await;
    assert_eq!(too_late.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", too_late.text);
    assert_eq!(too_late.code(), "return_too_late");
    clock.advance(Duration::days(10));
    let returned = api
        .created(
            &return_uri,
            &t.platform,
            &json!({ "return_no": "R-1", "applied_at": (now + Duration::days(10)).with_timezone(&china).to_rfc3339(),
                     "goods_back_at": (now + Duration::days(12)).with_timezone(&china).to_rfc3339() }),
        )
        .await;
    assert_eq!(returned["status"], "returned", "{returned:#}");
    let after = api.quota(&buyer, &t.officer).await;
    let record = api.order(&good[0].order_no, &t.platform).await["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "return")
        .cloned()
        .expect("the return is recorded");
    let restored = fen(record["body"]["restored"].as_str().unwrap());
    assert!(restored > 0);
    assert_eq!(before["posted_fen"].as_i64().unwrap() - after["posted_fen"].as_i64().unwrap(), restored);
    assert_eq!(after["available_fen"].as_i64().unwrap() - before["available_fen"].as_i64().unwrap(), restored);
    assert!(after["posted_fen"].as_i64().unwrap() >= 0);
    // Nobody but customs looks a buyer up.
    let lookup = api.post("/v1/cbec/quota-lookups", &t.platform, &json!({ "id_number": buyer, "year": 2026 })).await;
    assert_eq!(lookup.status, StatusCode::FORBIDDEN);
    let wrong = api
        .post("/v1/cbec/quota-lookups", &t.officer, &json!({ "id_number": "110105194912310021", "year": 2026 }))
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.code(), "id_number_check_digit");
    assert!(!lookup.text.contains(&buyer) && !wrong.text.contains("110105194912310021"));

    // ---- Orders whose documents wait longer than a day: the orphan payment (the clock is 10 days on).
    let report = api.get("/v1/cbec/incomplete", &t.officer).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!(report.body["older_than_seconds"], 86_400);
    let waiting: Vec<&Value> = report.body["orders"].as_array().unwrap().iter().collect();
    let orphan_key = format!("{PLATFORM}/{}", orphan.order_no);
    let entry = waiting.iter().find(|o| o["order"] == orphan_key.as_str()).expect("the orphan payment is reported");
    assert_eq!(entry["have"], json!(["payment"]));
    assert_eq!(entry["missing"], json!(["order", "waybill"]));
    assert!(
        waiting.iter().all(|o| o["order"] != format!("{PLATFORM}/{}", dropped.order_no).as_str()),
        "cancelled: {waiting:?}"
    );
    assert_eq!(api.get("/v1/cbec/incomplete", &t.platform).await.status, StatusCode::FORBIDDEN);
    let overview = api.get("/v1/cbec/overview", &t.officer).await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.text);
    assert_eq!(overview.body["orders"]["cancelled"], 1, "{}", overview.text);
    assert_eq!(overview.body["orders"]["returned"], 1, "{}", overview.text);

    // ---- The public traceability code: no credentials.
    let codes = results[2]["decision"]["trace"].as_array().unwrap();
    let uri = codes[0]["uri"].as_str().unwrap();
    let path = uri.strip_prefix(TRACE_BASE).expect("a code of the configured base");
    let (gtin, serial) = {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        assert_eq!((parts[0], parts[2]), ("01", "21"), "{path}");
        (parts[1].to_owned(), parts[3].to_owned())
    };
    let facts = api.public(path, "application/json").await;
    assert_eq!(facts.status, StatusCode::OK, "{}", facts.text);
    assert!(facts.content_type().starts_with("application/json"));
    assert_eq!(facts.body["code"]["uri"], uri);
    assert_eq!(facts.body["goods"]["origin"], "NZ");
    assert_eq!(facts.body["goods"]["gtin"].as_str().unwrap().trim_start_matches('0'), gtin.trim_start_matches('0'));
    assert_eq!(facts.body["clearance"]["mode"], "1210");
    assert_eq!(facts.body["clearance"]["order"], good[1].order_no.as_str());
    assert_eq!(facts.body["release"]["status"], "released");
    assert!(facts.body["release"]["released_at"].is_string() || facts.body["release"]["released_at"].is_number());
    assert!(!facts.text.contains(good[1].order["buyer"]["id_number"].as_str().unwrap()), "no buyer data");
    assert!(!facts.text.contains(good[1].order["buyer"]["name"].as_str().unwrap()), "no buyer data");
    let page = api.public(path, "text/html,application/xhtml+xml").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"), "{}", page.content_type());
    assert!(page.text.contains("NZ") && page.text.contains(&good[1].order_no), "{}", page.text);
    let qr = api.public(&format!("/v1/cbec/trace/{gtin}/{serial}/qr.svg"), "*/*").await;
    assert_eq!(qr.status, StatusCode::OK, "{}", qr.text);
    assert_eq!(qr.content_type(), "image/svg+xml");
    assert!(qr.text.contains("<svg"), "{}", qr.text);
    let unknown = api.public(&format!("/01/{gtin}/21/{serial}X"), "application/json").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    assert_eq!(unknown.code(), "not_found");
    let unknown_qr = api.public(&format!("/v1/cbec/trace/{gtin}/21NOPE/qr.svg"), "*/*").await;
    assert_eq!(unknown_qr.status, StatusCode::NOT_FOUND);
    // The first order, released by its payment, carries its codes in the release record.
    let released = api.order(&first.order_no, &t.platform).await;
    assert!(released["records"].as_array().unwrap().iter().any(|r| r["kind"] == "release"), "{released:#}");
}

#[tokio::test]
async fn a_held_order_waits_for_its_inspection() {
    // Every accepted order to inspection (a zone without e-commerce risk rules of its own).
    let config = CbecConfig { default_channel: Some("inspection".into()), ..CbecConfig::default() };
    let clock = Arc::new(TestClock(Mutex::new(start())));
    let (app, api) = open(clock, Some(config)).await;
    let t = set_up(&api, &app).await;
    api.created(
        &format!("/v1/cbec/agents/{PLATFORM}/guarantee"),
        &t.officer,
        &json!({ "amount": "1000000.00", "bank": "中国银行珠海分行", "effective_from": "2026-01-01" }),
    )
    .await;
    let mut rng = Rng::new(9);
    let (held, refused) = (trio("HELD", 1, start(), &mut rng), trio("HELD", 2, start(), &mut rng));
    let waiting = trio("HELD", 3, start(), &mut rng);
    api.created("/v1/cbec/waybills", &t.logistics, &waiting.waybill).await;
    for order in [&held, &refused] {
        api.created("/v1/cbec/waybills", &t.logistics, &order.waybill).await;
        api.created("/v1/cbec/payments", &t.payment, &order.payment).await;
        let decided = api.created("/v1/cbec/orders", &t.platform, &order.order).await;
        assert_eq!(decided["status"], "held", "{decided:#}");
        assert_eq!(decided["decision"]["risk"]["channel"], "inspection", "{decided:#}");
    }
    let buyer = refused.order["buyer"]["id_number"].as_str().unwrap().to_owned();
    let reserved = api.quota(&buyer, &t.officer).await;
    assert!(reserved["pending_fen"].as_i64().unwrap() > 0, "{reserved:#}");

    let inspect = |order: &Trio| format!("/v1/cbec/orders/{PLATFORM}/{}/inspection", order.order_no);
    // The platform does not inspect; customs does.
    let by_platform = api.post(&inspect(&held), &t.platform, &json!({ "outcome": "no_finding" })).await;
    assert_eq!(by_platform.status, StatusCode::FORBIDDEN);
    let bad = api.post(&inspect(&held), &t.officer, &json!({ "outcome": "maybe" })).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let cleared = api.created(&inspect(&held), &t.officer, &json!({ "outcome": "no_finding" })).await;
    assert_eq!(cleared["status"], "released", "{cleared:#}");
    let found =
        api.created(&inspect(&refused), &t.officer, &json!({ "outcome": "finding", "note": "labels missing" })).await;
    assert_eq!(found["status"], "refused", "{found:#}");
    // The refused order's reservation is given back; an order that is not held is not inspected.
    let freed = api.quota(&buyer, &t.officer).await;
    assert!(freed["pending_fen"].as_i64().unwrap() < reserved["pending_fen"].as_i64().unwrap(), "{freed:#}");
    let again = api.post(&inspect(&held), &t.officer, &json!({ "outcome": "no_finding" })).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["status"], "released");
    let changed = api.post(&inspect(&held), &t.officer, &json!({ "outcome": "finding" })).await;
    assert_eq!(changed.status, StatusCode::CONFLICT, "{}", changed.text);
    let not_held = api.post(&inspect(&waiting), &t.officer, &json!({ "outcome": "no_finding" })).await;
    assert_eq!(not_held.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", not_held.text);
    assert_eq!(not_held.code(), "order_not_held");
}
