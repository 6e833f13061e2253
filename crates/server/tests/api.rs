//! End-to-end tests of the HTTP API: the router over a real app on an in-memory SQLite store with the demo
//! data, called in-process with `tower::ServiceExt::oneshot`. They pin the status codes, the JSON shapes of
//! interchange.md and the error envelope, and check that the OpenAPI document covers every route.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::TimeZone;
use serde_json::{json, Value};
use tower::ServiceExt;
use zonegate_app::{App, FixedClock};
use zonegate_server::{router, ServerConfig, ROUTES};
use zonegate_store_sqlite::SqliteStore;

const DEMO_IMPORTER: &str = "91440400MA4UJ0J57H";

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn demo_app() -> Result<Arc<App>, Box<dyn std::error::Error>> {
    let clock = FixedClock(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).single().ok_or("bad time")?);
    let app = App::open(Arc::new(SqliteStore::open_in_memory()?), Arc::new(clock)).await?;
    app.load_demo().await?;
    Ok(Arc::new(app))
}

/// An API token of a demo account, issued through the use case.
async fn token_of(app: &App, user_id: &str) -> Result<String, Box<dyn std::error::Error>> {
    let session = app.login(user_id, zonegate_app::DEMO_PASSWORD).await?;
    let principal = app.authenticate_session(&session.secret).await?;
    let input = zonegate_app::accounts::TokenInput { name: Some("api tests".into()), ..Default::default() };
    Ok(app.issue_token(&principal, input).await?.1)
}

/// The API as the demo's users call it: these tests are about the API's behaviour, not permissions
/// (tests/access.rs has those), so a request without credentials gets the token of the demo user who would
/// send it — the exempt importer's declarant for submissions, the supervisor for everything else.
async fn demo_router() -> Result<Router, Box<dyn std::error::Error>> {
    demo_router_with(ServerConfig::standard()).await
}

async fn demo_router_with(config: ServerConfig) -> Result<Router, Box<dyn std::error::Error>> {
    let app = demo_app().await?;
    let declarant = format!("Bearer {}", token_of(&app, "hq.declarant").await?);
    let supervisor = format!("Bearer {}", token_of(&app, "supervisor").await?);
    let authenticate = move |mut request: Request<Body>| {
        let submits = request.method() == Method::POST && request.uri().path() == "/v1/declarations";
        let token = if submits { declarant.clone() } else { supervisor.clone() };
        if !request.headers().contains_key(header::AUTHORIZATION) {
            request.headers_mut().insert(header::AUTHORIZATION, token.parse().expect("header value"));
        }
        async move { request }
    };
    Ok(router(app, config).layer(axum::middleware::map_request(authenticate)))
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The `field`s of an error envelope, checking its shape on the way.
    fn error_fields(&self) -> Vec<String> {
        let body = self.json();
        let errors = body["errors"].as_array().unwrap_or_else(|| panic!("not an error envelope: {body}"));
        assert!(!errors.is_empty(), "empty envelope: {body}");
        errors
            .iter()
            .map(|e| {
                assert!(e["code"].is_string() && e["message"].is_string(), "bad error entry: {e}");
                e["field"].as_str().unwrap_or_else(|| panic!("no field: {e}")).to_owned()
            })
            .collect()
    }

    fn error_codes(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e["code"].as_str().unwrap_or("").to_owned()).collect())
            .unwrap_or_default()
    }
}

async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    Reply { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
}

async fn get(router: &Router, uri: &str) -> Reply {
    send(router, Request::get(uri).body(Body::empty()).expect("request")).await
}

async fn post(router: &Router, uri: &str, body: &Value) -> Reply {
    post_raw(router, uri, body.to_string().into_bytes(), "application/json").await
}

async fn post_raw(router: &Router, uri: &str, body: Vec<u8>, content_type: &str) -> Reply {
    let request =
        Request::post(uri).header(header::CONTENT_TYPE, content_type).body(Body::from(body)).expect("request");
    send(router, request).await
}

fn declaration(reference: &str, value: &str) -> Value {
    json!({
        "reference": reference,
        "zone": "hengqin",
        "flow": "first_line_in",
        "declared_on": "2026-03-02",
        "declarant": DEMO_IMPORTER,
        "importer": DEMO_IMPORTER,
        "purpose": "own_use",
        "currency": "CNY",
        "value_basis": "CIF",
        "items": [
            { "hs": "84713000", "description": "notebook computers", "quantity": "20", "unit": "C62", "value": value, "origin": "PT" }
        ]
    })
}

async fn declaration_count(router: &Router) -> usize {
    let reply = get(router, "/v1/declarations?limit=500").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json()["items"].as_array().map(Vec::len).unwrap_or(usize::MAX)
}

#[tokio::test]
async fn submit_is_created_then_repeat_then_conflict() -> TestResult {
    let router = demo_router().await?;
    let document = declaration("HQ-2026-000123", "160000.00");

    let created = post(&router, "/v1/declarations", &document).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let body = created.json();
    assert_eq!(body["reference"], "HQ-2026-000123");
    assert_eq!(body["flow"], "first_line_in");
    assert_eq!(body["items"][0]["treatment"], "exempt", "{body}");
    assert_eq!(body["totals"]["payable_cny"], "0.00");
    let id = body["id"].as_i64().ok_or("no id")?;
    assert_eq!(created.headers[header::LOCATION], format!("/v1/declarations/{id}").as_str());

    let repeat = post(&router, "/v1/declarations", &document).await;
    assert_eq!(repeat.status, StatusCode::OK, "{}", repeat.text);
    assert_eq!(repeat.json(), body, "a repeat answers with the first result");

    let conflict = post(&router, "/v1/declarations", &declaration("HQ-2026-000123", "150000.00")).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.text);
    assert_eq!(conflict.error_codes(), ["conflict"]);
    assert_eq!(conflict.error_fields(), ["reference"]);
    assert_eq!(conflict.json()["existing_id"], id);
    let message = conflict.json()["errors"][0]["message"].as_str().unwrap_or("").to_owned();
    assert!(message.contains(&id.to_string()), "{message}");

    let fetched = get(&router, &format!("/v1/declarations/{id}")).await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.text);
    let record = fetched.json();
    assert_eq!(record["id"], id);
    assert_eq!(record["declaration"], document);
    assert_eq!(record["assessment"], body);

    let missing = get(&router, "/v1/declarations/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_codes(), ["not_found"]);
    let not_a_number = get(&router, "/v1/declarations/abc").await;
    assert_eq!(not_a_number.status, StatusCode::NOT_FOUND);
    assert_eq!(not_a_number.error_codes(), ["not_found"]);
    Ok(())
}

#[tokio::test]
async fn listing_filters_and_pages_with_a_cursor() -> TestResult {
    let router = demo_router().await?;
    for n in 0..5 {
        let reply = post(&router, "/v1/declarations", &declaration(&format!("HQ-PAGE-{n}"), "1000.00")).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    let mut seen = Vec::new();
    let mut uri = "/v1/declarations?flow=first_line_in&declarant=91440400MA4UJ0J57H&limit=2".to_owned();
    for _ in 0..10 {
        let reply = get(&router, &uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let page = reply.json();
        let items = page["items"].as_array().ok_or("no items")?;
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|item| item["reference"].as_str().unwrap_or("").to_owned()));
        match page["next_after"].as_i64() {
            Some(after) => {
                uri = format!("/v1/declarations?flow=first_line_in&declarant=91440400MA4UJ0J57H&limit=2&after={after}")
            }
            None => {
                assert!(page["next_after"].is_null());
                break;
            }
        }
    }
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(distinct.len(), 5, "no duplicates: {seen:?}");

    let exempt =
        get(&router, "/v1/declarations?treatment=exempt&declared_from=2026-03-01&declared_to=2026-03-02").await;
    assert_eq!(exempt.json()["items"].as_array().map(Vec::len), Some(5), "{}", exempt.text);
    let taxed = get(&router, "/v1/declarations?treatment=taxed").await;
    assert_eq!(taxed.json()["items"].as_array().map(Vec::len), Some(0), "{}", taxed.text);
    let later = get(&router, "/v1/declarations?declared_from=2026-03-03").await;
    assert_eq!(later.json()["items"].as_array().map(Vec::len), Some(0), "{}", later.text);
    let outbound = get(&router, "/v1/declarations?flow=first_line_out").await;
    assert_eq!(outbound.json()["items"].as_array().map(Vec::len), Some(0), "{}", outbound.text);

    let invalid = get(&router, "/v1/declarations?flow=sideways&declared_from=2026-13-01&limit=0&after=x").await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", invalid.text);
    let fields: BTreeSet<String> = invalid.error_fields().into_iter().collect();
    for field in ["flow", "declared_from", "limit", "after"] {
        assert!(fields.contains(field), "{field} missing: {}", invalid.text);
    }
    let too_many = get(&router, "/v1/declarations?limit=501").await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_many.error_fields(), ["limit"]);
    let unknown = get(&router, "/v1/declarations?flows=first_line_in").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.error_codes(), ["parameter_unknown"]);
    Ok(())
}

#[tokio::test]
async fn an_invalid_declaration_reports_every_problem_and_stores_nothing() -> TestResult {
    let router = demo_router().await?;
    let mut document = declaration("HQ-BAD-1", "-5");
    document["declarant"] = json!("91440400MA4UJ0J57X");
    document["importer"] = json!(DEMO_IMPORTER);
    document["items"][0]["hs"] = json!("99999999");
    let reply = post(&router, "/v1/declarations", &document).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    let fields = reply.error_fields();
    for field in ["declarant", "items[0].hs", "items[0].value"] {
        assert!(fields.iter().any(|f| f == field), "{field} missing: {}", reply.text);
    }
    assert_eq!(declaration_count(&router).await, 0);

    let not_an_object = post(&router, "/v1/declarations", &json!([1, 2])).await;
    assert_eq!(not_an_object.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", not_an_object.text);
    Ok(())
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_stores_nothing() -> TestResult {
    let router = demo_router().await?;
    let mut document = declaration("HQ-BIG-1", "100.00");
    document["padding"] = json!("x".repeat(ServerConfig::standard().body_limit_bytes + 1));
    let reply = post(&router, "/v1/declarations", &document).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", reply.text);
    assert_eq!(reply.error_codes(), ["body_too_large"]);
    assert_eq!(declaration_count(&router).await, 0);

    let mut small = ServerConfig::standard();
    small.body_limit_bytes = 64;
    let strict = router_with(small).await?;
    let reply = post(&strict, "/v1/declarations", &declaration("HQ-BIG-2", "100.00")).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", reply.text);
    assert_eq!(reply.error_codes(), ["body_too_large"]);
    Ok(())
}

async fn router_with(config: ServerConfig) -> Result<Router, Box<dyn std::error::Error>> {
    demo_router_with(config).await
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type_get_the_envelope() -> TestResult {
    let router = demo_router().await?;
    let reply =
        post_raw(&router, "/v1/declarations", b"{\"reference\": \"x\",\n  oops}".to_vec(), "application/json").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.error_codes(), ["json"]);
    let message = reply.json()["errors"][0]["message"].as_str().unwrap_or("").to_owned();
    assert!(message.contains("line 2") && message.contains("column"), "{message}");

    let empty = post_raw(&router, "/v1/declarations", Vec::new(), "application/json; charset=utf-8").await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.text);

    let text =
        post_raw(&router, "/v1/declarations", declaration("HQ-T", "1.00").to_string().into_bytes(), "text/plain").await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", text.text);
    assert_eq!(text.error_codes(), ["content_type"]);
    assert_eq!(declaration_count(&router).await, 0);
    Ok(())
}

#[tokio::test]
async fn unknown_routes_and_methods_get_the_envelope_and_every_reply_has_a_request_id() -> TestResult {
    let router = demo_router().await?;
    let reply = get(&router, "/v2/nothing").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_codes(), ["not_found"]);
    assert!(reply.headers.contains_key("x-request-id"), "a request id is set when missing");

    let wrong = send(&router, Request::delete("/v1/declarations").body(Body::empty())?).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED, "{}", wrong.text);
    assert_eq!(wrong.error_codes(), ["method_not_allowed"]);

    let echoed = send(&router, Request::get("/healthz").header("x-request-id", "req-42").body(Body::empty())?).await;
    assert_eq!(echoed.status, StatusCode::OK);
    assert_eq!(echoed.json(), json!({ "status": "ok" }));
    assert_eq!(echoed.headers["x-request-id"], "req-42");
    Ok(())
}

#[tokio::test]
async fn enterprises_are_created_read_and_listed() -> TestResult {
    let router = demo_router().await?;
    let party = json!({ "uscc": "91440400MA4UJ0J57X", "name": "Test Trading", "zone_registered": true,
                        "lists": ["rd_enterprise"], "credit_class": "advanced" });
    let invalid = post(&router, "/v1/enterprises", &party).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY, "check character X is wrong: {}", invalid.text);
    assert_eq!(invalid.error_fields(), ["uscc"]);

    // A new code with a valid GB 32100-2015 check character.
    let check = zonegate_domain::codes::uscc_check_character("91440400MA0000001").ok_or("bad alphabet")?;
    let uscc = format!("91440400MA0000001{check}");
    let mut party = party;
    party["uscc"] = json!(uscc);
    let created = post(&router, "/v1/enterprises", &party).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.json(), party);

    let fetched = get(&router, &format!("/v1/enterprises/{uscc}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json(), party, "the new version is current");

    let listed = get(&router, "/v1/enterprises").await;
    let items = listed.json()["items"].as_array().cloned().ok_or("no items")?;
    assert!(items.len() >= 6, "the demo parties are listed: {}", listed.text);
    assert!(items.contains(&party));

    let missing = get(&router, "/v1/enterprises/91440400MA4UJ0J570").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_fields(), ["uscc"]);

    let several = post(&router, "/v1/enterprises", &json!({ "uscc": "123", "name": "", "credit_class": "good" })).await;
    assert_eq!(several.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(several.error_fields().len(), 3, "{}", several.text);
    Ok(())
}

#[tokio::test]
async fn zones_and_list_entries() -> TestResult {
    let router = demo_router().await?;
    let zones = get(&router, "/v1/zones").await;
    assert_eq!(zones.status, StatusCode::OK, "{}", zones.text);
    let hengqin = zones.json()["items"]
        .as_array()
        .and_then(|a| a.iter().find(|z| z["id"] == "hengqin").cloned())
        .ok_or("no hengqin")?;
    assert_eq!(hengqin["first_line_model"], "exempt_equipment");
    assert_eq!(hengqin["waiver_threshold_cny"], "50.00");

    let lists = get(&router, "/v1/zones/hengqin/lists").await;
    assert_eq!(lists.status, StatusCode::OK, "{}", lists.text);
    let not_exempt_count = |body: &Value| {
        body["items"]
            .as_array()
            .and_then(|a| a.iter().find(|l| l["list"] == "not_exempt"))
            .and_then(|l| l["entries"].as_u64())
    };
    let before = not_exempt_count(&lists.json()).ok_or("no not_exempt list")?;

    let append = json!({ "entries": [
        { "item": "8528", "effective_from": "2026-03-01", "note": "monitors" },
        { "item": "9006", "effective_from": "2026-04-01" } ] });
    let appended = post(&router, "/v1/zones/hengqin/lists/not_exempt", &append).await;
    assert_eq!(appended.status, StatusCode::CREATED, "{}", appended.text);
    assert_eq!(appended.json(), json!({ "appended": 2 }));

    let today = get(&router, "/v1/zones/hengqin/lists/not_exempt").await;
    assert_eq!(today.status, StatusCode::OK, "{}", today.text);
    let items: Vec<String> = today.json()["items"]
        .as_array()
        .ok_or("no items")?
        .iter()
        .map(|e| e["item"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(items.contains(&"8528".to_owned()) && !items.contains(&"9006".to_owned()), "{items:?}");
    let april = get(&router, "/v1/zones/hengqin/lists/not_exempt?on=2026-04-01").await;
    assert!(april.text.contains("\"9006\""), "{}", april.text);
    let lists = get(&router, "/v1/zones/hengqin/lists").await;
    assert_eq!(not_exempt_count(&lists.json()), Some(before + 1));

    let removal = json!({ "entries": [ { "item": "8528", "effective_from": "2026-05-01", "active": false } ] });
    assert_eq!(post(&router, "/v1/zones/hengqin/lists/not_exempt", &removal).await.status, StatusCode::CREATED);
    let may = get(&router, "/v1/zones/hengqin/lists/not_exempt?on=2026-05-01").await;
    assert!(!may.text.contains("\"8528\""), "{}", may.text);

    let invalid = json!({ "entries": [ { "item": "12345678901", "effective_from": "2026-02-30" }, { "effective_from": "2026-03-01", "active": "yes" } ] });
    let rejected = post(&router, "/v1/zones/hengqin/lists/not_exempt", &invalid).await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", rejected.text);
    let fields: BTreeSet<String> = rejected.error_fields().into_iter().collect();
    for field in ["entries[0].item", "entries[0].effective_from", "entries[1].item", "entries[1].active"] {
        assert!(fields.contains(field), "{field} missing: {}", rejected.text);
    }
    let party_list = json!({ "entries": [ { "item": "91440400MA4UJ0J57X", "effective_from": "2026-03-01" } ] });
    let rejected = post(&router, "/v1/zones/hengqin/lists/exempt_importer", &party_list).await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", rejected.text);
    assert_eq!(rejected.error_fields(), ["entries[0].item"]);

    assert_eq!(get(&router, "/v1/zones/atlantis/lists").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&router, "/v1/zones/hengqin/lists/favourites").await.status, StatusCode::NOT_FOUND);
    let bad_date = get(&router, "/v1/zones/hengqin/lists/not_exempt?on=yesterday").await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_date.error_fields(), ["on"]);
    Ok(())
}

#[tokio::test]
async fn tariff_lines_and_nomenclature_search() -> TestResult {
    let router = demo_router().await?;
    let computers = get(&router, "/v1/tariff/lines/84713000").await;
    assert_eq!(computers.status, StatusCode::OK, "{}", computers.text);
    let body = computers.json();
    assert_eq!(body["hs"], "84713000");
    assert_eq!(body["as_of"], "2026-03-02");
    assert_eq!(body["vat_rate"], "13");

    let spirits = get(&router, "/v1/tariff/lines/22083000?on=2026-06-30").await;
    assert_eq!(spirits.status, StatusCode::OK, "{}", spirits.text);
    let body = spirits.json();
    assert_eq!(body["as_of"], "2026-06-30");
    assert!(body["consumption_tax_rows"].as_array().is_some_and(|rows| !rows.is_empty()), "{body}");

    let unknown = get(&router, "/v1/tariff/lines/99999999").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    assert_eq!(unknown.error_fields(), ["hs"]);
    let malformed = get(&router, "/v1/tariff/lines/84a").await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", malformed.text);
    assert_eq!(malformed.error_fields(), ["hs"]);
    let bad_date = get(&router, "/v1/tariff/lines/84713000?on=2026-02-30").await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);

    let found = get(&router, "/v1/tariff/search?q=portable&limit=50").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    let codes: Vec<String> = found.json()["items"]
        .as_array()
        .ok_or("no items")?
        .iter()
        .map(|e| e["code"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(codes.contains(&"847130".to_owned()), "{codes:?}");

    let no_query = get(&router, "/v1/tariff/search?limit=1000").await;
    assert_eq!(no_query.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: BTreeSet<String> = no_query.error_fields().into_iter().collect();
    assert_eq!(fields, BTreeSet::from(["q".to_owned(), "limit".to_owned()]));
    Ok(())
}

#[tokio::test]
async fn the_chain_verifies_after_writes() -> TestResult {
    let router = demo_router().await?;
    let before = get(&router, "/v1/chain/verify").await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    let events_before = before.json()["events"].as_i64().ok_or("no events")?;
    assert_eq!(
        post(&router, "/v1/declarations", &declaration("HQ-CHAIN-1", "100.00")).await.status,
        StatusCode::CREATED
    );
    let after = get(&router, "/v1/chain/verify").await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    let body = after.json();
    assert_eq!(body["events"].as_i64(), Some(events_before + 1));
    assert!(body["head_hash"].as_str().is_some_and(|h| !h.is_empty()));
    assert_ne!(body["head_hash"], before.json()["head_hash"]);
    Ok(())
}

#[tokio::test]
async fn metrics_count_requests_and_submissions() -> TestResult {
    let router = demo_router().await?;
    assert_eq!(get(&router, "/healthz").await.status, StatusCode::OK);
    assert_eq!(
        post(&router, "/v1/declarations", &declaration("HQ-METRICS-1", "100.00")).await.status,
        StatusCode::CREATED
    );
    // A second router in the same process reuses the one recorder instead of panicking.
    let second = demo_router().await?;
    let metrics = get(&second, "/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK, "{}", metrics.text);
    assert!(metrics.headers[header::CONTENT_TYPE].to_str()?.starts_with("text/plain"));
    assert!(metrics.text.contains("zonegate_http_requests_total"), "{}", metrics.text);
    assert!(metrics.text.contains(r#"route="/healthz""#), "{}", metrics.text);
    assert!(metrics.text.contains("zonegate_http_request_duration_seconds_bucket"), "{}", metrics.text);
    assert!(metrics.text.contains(r#"zonegate_declarations_submitted_total{outcome="created"}"#), "{}", metrics.text);
    Ok(())
}

/// Every `$ref`-reachable property name under a schema.
fn property_names(doc: &Value, schema: &Value, names: &mut BTreeSet<String>, depth: usize) {
    if depth > 16 {
        return;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = reference.trim_start_matches('#');
        if let Some(target) = doc.pointer(pointer) {
            property_names(doc, target, names, depth + 1);
        }
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            names.insert(name.clone());
            property_names(doc, property, names, depth + 1);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = schema.get(key) {
            property_names(doc, inner, names, depth + 1);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for inner in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            property_names(doc, inner, names, depth + 1);
        }
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() -> TestResult {
    let router = demo_router().await?;
    let reply = get(&router, "/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "not OpenAPI 3.x");
    let paths = doc["paths"].as_object().ok_or("no paths")?;

    const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];
    let routed: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .filter(|(m, _)| METHODS.contains(&m.as_str()))
                .map(move |(m, _)| (m.clone(), path.clone()))
        })
        .collect();
    assert_eq!(routed, documented, "ROUTES and openapi.json paths differ");

    // Every route is really served by the router: no route answers with the router's fallback.
    for (method, path) in ROUTES {
        let uri = path
            .replace("{id}", "1")
            .replace("{uscc}", DEMO_IMPORTER)
            .replace("{zone}", "hengqin")
            .replace("{list}", "not_exempt")
            .replace("{hs}", "84713000");
        let method = Method::from_bytes(method.to_uppercase().as_bytes())?;
        let request = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))?;
        let reply = send(&router, request).await;
        assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert!(!reply.text.contains("no route for"), "{method} {uri}: {}", reply.text);
    }

    // Path parameters are declared; operations have responses.
    for (method, path) in ROUTES {
        let operation = &doc["paths"][path][method];
        assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path} has no responses");
        let declared: BTreeSet<String> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect();
        let in_template: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        assert_eq!(declared, in_template, "{method} {path}");
    }

    // Every local $ref resolves.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"").skip(1) {
        let target = piece.split('"').next().unwrap_or("");
        assert!(doc.pointer(target.trim_start_matches('#')).is_some(), "dangling $ref {target}");
    }

    let mut names = BTreeSet::new();
    property_names(&doc, &doc["components"]["schemas"]["Assessment"], &mut names, 0);
    for field in [
        "reference",
        "flow",
        "items",
        "treatment",
        "customs_value_cny",
        "duty_cny",
        "consumption_tax_cny",
        "vat_cny",
        "basis",
        "totals",
        "payable_cny",
        "waived",
        "channel",
        "reasons",
    ] {
        assert!(names.contains(field), "the assessment schema lacks `{field}`");
    }
    let declaration_schema =
        &doc["paths"]["/v1/declarations"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(declaration_schema, "#/components/schemas/Declaration");
    let envelope = &doc["components"]["schemas"]["ErrorEnvelope"]["properties"]["errors"]["items"]["$ref"];
    assert_eq!(envelope, "#/components/schemas/FieldError");
    Ok(())
}
