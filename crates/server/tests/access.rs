//! Who may call what over HTTP: every route answers `401` without credentials and `403` to a user of
//! another party (or of a role that may not); sessions carry CSRF protection; logins and failed
//! authentications are rate-limited. (tests/logs.rs checks what the logs hold.)

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use chrono::TimeZone;
use serde_json::{json, Value};
use tower::ServiceExt;
use zonegate_app::accounts::TokenInput;
use zonegate_app::{App, FixedClock, DEMO_PASSWORD};
use zonegate_server::{router, ServerConfig, CSRF_HEADER, PUBLIC_ROUTES, ROUTES};
use zonegate_store_sqlite::SqliteStore;

const HQ: &str = "91440400MA4UJ0J57H";

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, body }
}

fn request(method: &Method, uri: &str, auth: Option<&str>, body: Option<&Value>) -> Request<Body> {
    let mut builder = Request::builder().method(method.clone()).uri(uri);
    if let Some(token) = auth {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("request")
}

struct Demo {
    app: Arc<App>,
    router: Router,
}

impl Demo {
    async fn new(config: ServerConfig) -> Demo {
        let clock = FixedClock(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap());
        let app = Arc::new(App::open(Arc::new(SqliteStore::open_in_memory().unwrap()), Arc::new(clock)).await.unwrap());
        app.load_demo().await.unwrap();
        let router = router(app.clone(), config);
        Demo { app, router }
    }

    /// A token of a demo user, and its id.
    async fn token(&self, user_id: &str) -> (String, String) {
        let session = self.app.login(user_id, DEMO_PASSWORD).await.unwrap();
        let principal = self.app.authenticate_session(&session.secret).await.unwrap();
        let input = TokenInput { name: Some("test".into()), ..TokenInput::default() };
        let (description, token) = self.app.issue_token(&principal, input).await.unwrap();
        (token, description["token_id"].as_str().unwrap().to_owned())
    }
}

fn declaration(declarant: &str, reference: &str) -> Value {
    json!({
        "reference": reference, "zone": "hengqin", "flow": "first_line_in", "declared_on": "2026-03-02",
        "declarant": declarant, "importer": declarant, "purpose": "own_use", "currency": "CNY",
        "exchange_rate": "1", "value_basis": "CIF", "freight": "0", "insurance": "0",
        "items": [ { "hs": "84713000", "quantity": "2", "unit": "C62", "value": "8000.00", "origin": "PT" } ]
    })
}

/// One protected route: a concrete request, and the demo user of another party (or a role without the
/// permission) who must get `403` for it.
struct Case {
    method: Method,
    template: &'static str,
    uri: String,
    body: Option<Value>,
    outsider: &'static str,
}

fn case(method: Method, template: &'static str, uri: &str, body: Option<Value>, outsider: &'static str) -> Case {
    Case { method, template, uri: uri.to_owned(), body, outsider }
}

#[tokio::test]
async fn every_route_needs_credentials_and_refuses_other_parties() {
    // One forged token per route from one client: allow them all (the limit has its own test).
    let mut config = ServerConfig::standard();
    config.logins_per_minute = 100;
    let demo = Demo::new(config).await;
    let (hq_token, hq_token_id) = demo.token("hq.declarant").await;
    let created =
        send(&demo.router, request(&Method::POST, "/v1/declarations", Some(&hq_token), Some(&declaration(HQ, "HQ-1"))))
            .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    let (iacm, _) = demo.token("macao.iacm").await;
    let alert = json!({ "id": "a-1", "title": "Shrimp", "severity": "high", "scope": { "hs": ["0306"] }, "valid_from": "2026-03-02" });
    let published = send(&demo.router, request(&Method::POST, "/v1/alerts", Some(&iacm), Some(&alert))).await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.body);
    let entry = json!({ "entries": [ { "item": "8528", "effective_from": "2026-03-02" } ] });
    let account = json!({ "user_id": "hq.clerk9", "party": HQ, "party_kind": "enterprise", "roles": ["declarant"], "password": "a long enough password" });
    let party = json!({ "uscc": HQ, "name": "Renamed", "zone_registered": true });
    // E-commerce documents of the demo importer as platform (parsed before they are authorized).
    let at = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
    let trio = zonegate_cbec::synthetic::trio("ACC", 1, 10, at, &mut zonegate_cbec::synthetic::Rng::new(1));
    let cases = vec![
        case(Method::POST, "/v1/accounts", "/v1/accounts", Some(account), "shop.declarant"),
        case(Method::GET, "/v1/accounts", &format!("/v1/accounts?party={HQ}"), None, "shop.declarant"),
        case(Method::GET, "/v1/accounts/{user_id}", "/v1/accounts/hq.declarant", None, "shop.declarant"),
        case(
            Method::POST,
            "/v1/accounts/{user_id}/deactivate",
            "/v1/accounts/hq.declarant/deactivate",
            None,
            "shop.declarant",
        ),
        case(
            Method::POST,
            "/v1/tokens",
            "/v1/tokens",
            Some(json!({ "name": "x", "user_id": "hq.declarant" })),
            "shop.declarant",
        ),
        case(Method::GET, "/v1/tokens", "/v1/tokens?user_id=hq.declarant", None, "shop.declarant"),
        case(Method::DELETE, "/v1/tokens/{token_id}", &format!("/v1/tokens/{hq_token_id}"), None, "shop.declarant"),
        case(Method::POST, "/v1/declarations", "/v1/declarations", Some(declaration(HQ, "HQ-2")), "shop.declarant"),
        case(Method::GET, "/v1/declarations", &format!("/v1/declarations?declarant={HQ}"), None, "shop.declarant"),
        case(Method::GET, "/v1/declarations/{id}", &format!("/v1/declarations/{id}"), None, "shop.declarant"),
        case(
            Method::GET,
            "/v1/declarations/{id}/events",
            &format!("/v1/declarations/{id}/events"),
            None,
            "shop.declarant",
        ),
        case(Method::GET, "/v1/stats/declarations", "/v1/stats/declarations", None, "bank.boc"),
        case(Method::POST, "/v1/enterprises", "/v1/enterprises", Some(party), "shop.declarant"),
        case(Method::GET, "/v1/enterprises", "/v1/enterprises", None, "shop.declarant"),
        case(Method::GET, "/v1/enterprises/{uscc}", &format!("/v1/enterprises/{HQ}"), None, "shop.declarant"),
        case(Method::GET, "/v1/zones", "/v1/zones", None, "bank.boc"),
        case(Method::GET, "/v1/zones/{zone}/lists", "/v1/zones/hengqin/lists", None, "macao.iacm"),
        case(Method::GET, "/v1/zones/{zone}/lists/{list}", "/v1/zones/hengqin/lists/not_exempt", None, "bank.boc"),
        case(
            Method::POST,
            "/v1/zones/{zone}/lists/{list}",
            "/v1/zones/hengqin/lists/not_exempt",
            Some(entry),
            "officer",
        ),
        case(Method::GET, "/v1/tariff/lines/{hs}", "/v1/tariff/lines/84713000", None, "bank.boc"),
        case(Method::GET, "/v1/tariff/search", "/v1/tariff/search?q=laptop", None, "macao.iacm"),
        case(Method::GET, "/v1/chain/verify", "/v1/chain/verify", None, "officer"),
        case(Method::GET, "/metrics", "/metrics", None, "hq.declarant"),
        case(Method::GET, "/v1/session", "/v1/session", None, ""),
        case(Method::DELETE, "/v1/session", "/v1/session", None, ""),
        case(
            Method::POST,
            "/v1/declarations/{id}/inspection",
            &format!("/v1/declarations/{id}/inspection"),
            Some(json!({ "outcome": "no_finding" })),
            "analyst",
        ),
        case(
            Method::GET,
            "/v1/declarations/{id}/inspection",
            &format!("/v1/declarations/{id}/inspection"),
            None,
            "shop.declarant",
        ),
        case(
            Method::GET,
            "/v1/enterprises/{uscc}/credit",
            &format!("/v1/enterprises/{HQ}/credit"),
            None,
            "shop.declarant",
        ),
        case(
            Method::POST,
            "/v1/enterprises/{uscc}/credit",
            &format!("/v1/enterprises/{HQ}/credit"),
            Some(json!({ "class": "advanced", "effective_from": "2026-03-02", "reason": "AEO certificate 2026-17" })),
            "officer",
        ),
        case(Method::GET, "/v1/risk/rulesets", "/v1/risk/rulesets", None, "hq.declarant"),
        case(Method::POST, "/v1/risk/rulesets", "/v1/risk/rulesets", Some(json!({ "rules": [] })), "officer"),
        case(Method::GET, "/v1/risk/rulesets/{version}", "/v1/risk/rulesets/1", None, "macao.iacm"),
        case(
            Method::POST,
            "/v1/risk/rulesets/{version}/activate",
            "/v1/risk/rulesets/1/activate",
            Some(json!({ "effective_from": "2026-03-02" })),
            "analyst",
        ),
        case(Method::GET, "/v1/risk/rulesets/{version}/backtest", "/v1/risk/rulesets/1/backtest", None, "officer"),
        case(Method::GET, "/v1/risk/parameters", "/v1/risk/parameters", None, "bank.boc"),
        case(
            Method::POST,
            "/v1/risk/parameters",
            "/v1/risk/parameters",
            Some(
                json!({ "effective_from": "2026-03-02", "parameters": zonegate_risk::params::RiskParameters::default() }),
            ),
            "analyst",
        ),
        case(Method::GET, "/v1/risk/report", "/v1/risk/report", None, "hq.admin"),
        case(
            Method::POST,
            "/v1/alerts",
            "/v1/alerts",
            Some(
                json!({ "id": "a-1", "title": "Shrimp", "severity": "high", "scope": { "hs": ["0306"] }, "valid_from": "2026-03-02" }),
            ),
            "bank.boc",
        ),
        case(Method::GET, "/v1/alerts", "/v1/alerts", None, "hq.declarant"),
        case(Method::GET, "/v1/zones/{zone}/whitelist", "/v1/zones/hengqin/whitelist", None, "bank.boc"),
        case(
            Method::POST,
            "/v1/zones/{zone}/whitelist",
            "/v1/zones/hengqin/whitelist",
            Some(
                json!({ "entries": [ { "enterprise": HQ, "product": "0203", "category": "macao_brand", "valid_from": "2026-03-02" } ] }),
            ),
            "officer",
        ),
        case(Method::GET, "/v1/ledgers/{uscc}", &format!("/v1/ledgers/{HQ}"), None, "shop.declarant"),
        case(
            Method::POST,
            "/v1/ledgers/{uscc}/{kind}",
            &format!("/v1/ledgers/{HQ}/items"),
            Some(
                json!({ "item_no": "M-1", "hs": "03031310", "unit": "KGM", "quantity_scale": 3, "treatment": "bonded" }),
            ),
            "officer",
        ),
        case(
            Method::GET,
            "/v1/ledgers/{uscc}/items/{item_no}",
            &format!("/v1/ledgers/{HQ}/items/M-1"),
            None,
            "bank.boc",
        ),
        case(Method::GET, "/v1/ledgers/{uscc}/documents", &format!("/v1/ledgers/{HQ}/documents"), None, "macao.iacm"),
        case(
            Method::GET,
            "/v1/ledgers/{uscc}/documents/{kind}/{number}",
            &format!("/v1/ledgers/{HQ}/documents/items/M-1"),
            None,
            "shop.declarant",
        ),
        case(Method::GET, "/v1/ledgers/{uscc}/patrol", &format!("/v1/ledgers/{HQ}/patrol"), None, "shop.declarant"),
        case(Method::GET, "/v1/ledgers/{uscc}/writeoff", &format!("/v1/ledgers/{HQ}/writeoff"), None, "bank.boc"),
        case(
            Method::POST,
            "/v1/alerts/{publisher}/{id}/withdraw",
            "/v1/alerts/authority:macao-iacm/a-1/withdraw",
            Some(json!({ "reason": "lifted" })),
            "officer",
        ),
        case(Method::POST, "/v1/cbec/orders", "/v1/cbec/orders", Some(trio.order.clone()), "shop.declarant"),
        case(Method::POST, "/v1/cbec/payments", "/v1/cbec/payments", Some(trio.payment.clone()), "hq.declarant"),
        case(Method::POST, "/v1/cbec/waybills", "/v1/cbec/waybills", Some(trio.waybill.clone()), "hq.declarant"),
        case(Method::POST, "/v1/cbec/batches", "/v1/cbec/batches", Some(json!(trio.entries())), "bank.boc"),
        case(
            Method::GET,
            "/v1/cbec/orders/{platform}/{order_no}",
            &format!("/v1/cbec/orders/{HQ}/{}", trio.order_no),
            None,
            "shop.declarant",
        ),
        case(
            Method::POST,
            "/v1/cbec/orders/{platform}/{order_no}/cancellation",
            &format!("/v1/cbec/orders/{HQ}/{}/cancellation", trio.order_no),
            Some(json!({ "reason": "out of stock" })),
            "shop.declarant",
        ),
        case(
            Method::POST,
            "/v1/cbec/orders/{platform}/{order_no}/returns",
            &format!("/v1/cbec/orders/{HQ}/{}/returns", trio.order_no),
            Some(
                json!({ "return_no": "R-1", "applied_at": "2026-03-02T10:00:00+08:00", "goods_back_at": "2026-03-03T10:00:00+08:00" }),
            ),
            "shop.declarant",
        ),
        case(
            Method::POST,
            "/v1/cbec/orders/{platform}/{order_no}/inspection",
            &format!("/v1/cbec/orders/{HQ}/{}/inspection", trio.order_no),
            Some(json!({ "outcome": "no_finding" })),
            "analyst",
        ),
        case(
            Method::POST,
            "/v1/cbec/tax-payments",
            "/v1/cbec/tax-payments",
            Some(json!({
                "notice_id": "N-1", "agent": HQ, "period": "2026-03", "amount": "10.00", "bank": "中国银行",
                "paid_at": "2026-03-02T10:00:00+08:00", "key_id": "k1", "signature": "AAAA"
            })),
            "shop.declarant",
        ),
        case(
            Method::GET,
            "/v1/cbec/agents/{uscc}/bills",
            &format!("/v1/cbec/agents/{HQ}/bills"),
            None,
            "shop.declarant",
        ),
        case(
            Method::POST,
            "/v1/cbec/agents/{uscc}/keys",
            &format!("/v1/cbec/agents/{HQ}/keys"),
            Some(json!({ "key_id": "k1", "public_key": "AAAA", "effective_from": "2026-03-02" })),
            "hq.declarant",
        ),
        case(
            Method::POST,
            "/v1/cbec/agents/{uscc}/guarantee",
            &format!("/v1/cbec/agents/{HQ}/guarantee"),
            Some(json!({ "amount": "1000.00", "bank": "中国银行", "effective_from": "2026-03-02" })),
            "hq.declarant",
        ),
        case(Method::GET, "/v1/cbec/incomplete", "/v1/cbec/incomplete", None, "analyst"),
        case(Method::GET, "/v1/cbec/overview", "/v1/cbec/overview", None, "hq.declarant"),
        case(
            Method::POST,
            "/v1/cbec/quota-lookups",
            "/v1/cbec/quota-lookups",
            Some(json!({ "id_number": zonegate_cbec::synthetic::buyer_id(1), "year": 2026 })),
            "analyst",
        ),
    ];
    // The table covers every route that is not public.
    let covered: BTreeSet<(String, String)> =
        cases.iter().map(|c| (c.method.as_str().to_lowercase(), c.template.to_owned())).collect();
    let protected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .filter(|route| !PUBLIC_ROUTES.contains(route))
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(covered, protected);

    let mut outsiders = std::collections::HashMap::new();
    for case in &cases {
        let anonymous = send(&demo.router, request(&case.method, &case.uri, None, case.body.as_ref())).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{} {} without credentials", case.method, case.uri);
        assert_eq!(anonymous.body["errors"][0]["code"], "unauthenticated");
        let forged = send(
            &demo.router,
            request(
                &case.method,
                &case.uri,
                Some("zgt_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                case.body.as_ref(),
            ),
        )
        .await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{} {} with a forged token", case.method, case.uri);
        // Asking about oneself (the session routes) cannot be refused to anyone authenticated.
        if case.outsider.is_empty() {
            continue;
        }
        if !outsiders.contains_key(case.outsider) {
            outsiders.insert(case.outsider, demo.token(case.outsider).await.0);
        }
        let refused =
            send(&demo.router, request(&case.method, &case.uri, Some(&outsiders[case.outsider]), case.body.as_ref()))
                .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{} {} as {}: {}",
            case.method,
            case.uri,
            case.outsider,
            refused.body
        );
        assert_eq!(refused.body["errors"][0]["code"], "forbidden");
    }
    // Nothing the refused requests carried was recorded.
    let supervisor = demo.token("supervisor").await.0;
    let listed = send(&demo.router, request(&Method::GET, "/v1/declarations", Some(&supervisor), None)).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        send(&demo.router, request(&Method::GET, "/v1/accounts/hq.clerk9", Some(&supervisor), None)).await.status,
        StatusCode::NOT_FOUND
    );
    let own = send(&demo.router, request(&Method::GET, &format!("/v1/declarations/{id}"), Some(&hq_token), None)).await;
    assert_eq!(own.status, StatusCode::OK);
}

fn cookie_of(reply: &Reply) -> String {
    let set_cookie = reply.headers.get(header::SET_COOKIE).expect("set-cookie").to_str().unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict") && set_cookie.contains("Secure"),
        "{set_cookie}"
    );
    set_cookie.split(';').next().unwrap().to_owned()
}

async fn login(router: &Router, user_id: &str, password: &str) -> Reply {
    let body = json!({ "user_id": user_id, "password": password });
    send(router, request(&Method::POST, "/v1/session", None, Some(&body))).await
}

fn with_cookie(mut request: Request<Body>, cookie: &str, csrf: Option<&str>) -> Request<Body> {
    request.headers_mut().insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
    if let Some(csrf) = csrf {
        request.headers_mut().insert(CSRF_HEADER, HeaderValue::from_str(csrf).unwrap());
    }
    request
}

#[tokio::test]
async fn sessions_need_their_csrf_token_to_change_state_and_end_at_logout() {
    let demo = Demo::new(ServerConfig::standard()).await;
    let wrong = login(&demo.router, "hq.declarant", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());
    let reply = login(&demo.router, "hq.declarant", DEMO_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["party"], HQ);
    let cookie = cookie_of(&reply);
    let csrf = reply.body["csrf_token"].as_str().unwrap().to_owned();

    let me = send(&demo.router, with_cookie(request(&Method::GET, "/v1/session", None, None), &cookie, None)).await;
    assert_eq!(me.body["user_id"], "hq.declarant");
    let document = declaration(HQ, "HQ-C1");
    let without = send(
        &demo.router,
        with_cookie(request(&Method::POST, "/v1/declarations", None, Some(&document)), &cookie, None),
    )
    .await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    assert_eq!(without.body["errors"][0]["code"], "csrf");
    let mut cross_site =
        with_cookie(request(&Method::POST, "/v1/declarations", None, Some(&document)), &cookie, Some(&csrf));
    cross_site.headers_mut().insert(header::HOST, HeaderValue::from_static("zonegate.example"));
    cross_site.headers_mut().insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
    assert_eq!(send(&demo.router, cross_site).await.status, StatusCode::FORBIDDEN);
    let with = send(
        &demo.router,
        with_cookie(request(&Method::POST, "/v1/declarations", None, Some(&document)), &cookie, Some(&csrf)),
    )
    .await;
    assert_eq!(with.status, StatusCode::CREATED, "{}", with.body);

    let out =
        send(&demo.router, with_cookie(request(&Method::DELETE, "/v1/session", None, None), &cookie, Some(&csrf)))
            .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().contains("Max-Age=0"));
    let after = send(&demo.router, with_cookie(request(&Method::GET, "/v1/session", None, None), &cookie, None)).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tokens_are_shown_once_and_stop_working_when_revoked() {
    let demo = Demo::new(ServerConfig::standard()).await;
    let (admin, _) = demo.token("hq.admin").await;
    let issued = send(
        &demo.router,
        request(
            &Method::POST,
            "/v1/tokens",
            Some(&admin),
            Some(&json!({ "name": "ERP", "user_id": "hq.declarant", "expires_in_days": 30 })),
        ),
    )
    .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.body);
    assert_eq!(issued.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    let token = issued.body["token"].as_str().unwrap().to_owned();
    let token_id = issued.body["token_id"].as_str().unwrap().to_owned();
    assert_eq!(issued.body["issued_by"], "hq.admin");
    let me = send(&demo.router, request(&Method::GET, "/v1/session", Some(&token), None)).await;
    assert_eq!(me.body["user_id"], "hq.declarant");
    let listed = send(&demo.router, request(&Method::GET, "/v1/tokens?user_id=hq.declarant", Some(&admin), None)).await;
    assert!(!listed.body.to_string().contains(&token[20..]), "the secret is never listed");
    let revoked =
        send(&demo.router, request(&Method::DELETE, &format!("/v1/tokens/{token_id}"), Some(&admin), None)).await;
    assert_eq!(revoked.body["state"], "revoked");
    assert_eq!(
        send(&demo.router, request(&Method::GET, "/v1/session", Some(&token), None)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let bad = send(
        &demo.router,
        request(
            &Method::POST,
            "/v1/tokens",
            Some(&admin),
            Some(&json!({ "name": "", "expires_in_days": 0, "colour": "red" })),
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
}

#[tokio::test]
async fn logins_are_rate_limited_per_user() {
    let mut config = ServerConfig::standard();
    config.logins_per_minute = 3;
    let demo = Demo::new(config).await;
    for _ in 0..3 {
        assert_eq!(login(&demo.router, "officer", "guess guess guess").await.status, StatusCode::UNAUTHORIZED);
    }
    let limited = login(&demo.router, "officer", DEMO_PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{}", limited.body);
    assert!(limited.body["retry_after_secs"].as_u64().unwrap() >= 1);
    // Another user is not held back by the first one's attempts.
    assert_eq!(login(&demo.router, "auditor", DEMO_PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn token_use_is_rate_limited_per_token() {
    let mut config = ServerConfig::standard();
    config.token_requests_per_second = 2;
    let demo = Demo::new(config).await;
    let (token, _) = demo.token("officer").await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(send(&demo.router, request(&Method::GET, "/v1/session", Some(&token), None)).await.status);
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let (other, _) = demo.token("auditor").await;
    assert_eq!(
        send(&demo.router, request(&Method::GET, "/v1/session", Some(&other), None)).await.status,
        StatusCode::OK
    );
}
