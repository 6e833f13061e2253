//! End-to-end tests of the web console: the router over a real app on an in-memory SQLite store with the
//! demo data and accounts, called in-process with `tower::ServiceExt::oneshot`. They pin the language
//! choice, the login flow, what each role sees, the form token, the submission form's inline errors, the
//! monitoring centre's charts and tables, and the bundled assets.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use chrono::TimeZone;
use serde_json::{json, Value};
use tower::ServiceExt;
use zonegate_app::auth::Principal;
use zonegate_app::{App, FixedClock, Submitted, DEMO_PASSWORD};
use zonegate_server::{router, ServerConfig};
use zonegate_store_sqlite::SqliteStore;

const HQ: &str = "91440400MA4UJ0J57H";
const SHOP: &str = "91440400MA55H0P10R";

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Reply {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn location(&self) -> &str {
        self.header(header::LOCATION)
    }

    /// The value of the first `attribute="…"` after `marker` in the page.
    fn attribute_after(&self, marker: &str, attribute: &str) -> String {
        let at = self.text.find(marker).unwrap_or_else(|| panic!("`{marker}` not in the page:\n{}", self.text));
        let rest = &self.text[at..];
        let start = rest.find(&format!("{attribute}=\"")).expect("attribute") + attribute.len() + 2;
        rest[start..rest[start..].find('"').expect("closing quote") + start].replace("&amp;", "&")
    }

    fn assert_contains(&self, needle: &str) {
        assert!(self.text.contains(needle), "`{needle}` not in the page ({}):\n{}", self.status, self.text);
    }

    fn assert_lacks(&self, needle: &str) {
        assert!(!self.text.contains(needle), "`{needle}` is in the page:\n{}", self.text);
    }
}

/// A logged-in browser: its session cookie and the form token of its pages.
struct Browser {
    cookie: String,
    csrf: String,
}

struct Console {
    app: Arc<App>,
    router: Router,
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

impl Console {
    async fn new() -> Console {
        let clock = FixedClock(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).single().expect("time"));
        let store = SqliteStore::open_in_memory().expect("store");
        let app = Arc::new(App::open(Arc::new(store), Arc::new(clock)).await.expect("app"));
        app.load_demo().await.expect("demo data");
        let router = router(app.clone(), ServerConfig::standard());
        Console { app, router }
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        Reply { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn get(&self, uri: &str, browser: Option<&Browser>) -> Reply {
        let mut request = Request::get(uri);
        if let Some(browser) = browser {
            request = request.header(header::COOKIE, &browser.cookie);
        }
        self.send(request.body(Body::empty()).expect("request")).await
    }

    async fn post(&self, uri: &str, browser: Option<&Browser>, pairs: &[(&str, &str)]) -> Reply {
        let mut request = Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(browser) = browser {
            request = request.header(header::COOKIE, &browser.cookie);
        }
        self.send(request.body(Body::from(form_body(pairs))).expect("request")).await
    }

    /// Logs a demo user in through the login form and reads the form token from the next page.
    async fn login(&self, user_id: &str) -> Browser {
        let reply = self
            .post(
                "/console/login",
                None,
                &[("user_id", user_id), ("password", DEMO_PASSWORD), ("next", "/console/declarations")],
            )
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
        assert_eq!(reply.location(), "/console/declarations");
        let cookie = reply.header(header::SET_COOKIE).split(';').next().expect("cookie").to_owned();
        assert!(cookie.starts_with("zg_session="), "{cookie}");
        let mut browser = Browser { cookie, csrf: String::new() };
        let page = self.get("/console/declarations", Some(&browser)).await;
        browser.csrf = page.attribute_after("name=\"_csrf\"", "value");
        assert!(!browser.csrf.is_empty());
        browser
    }

    /// Records a declaration as the platform operator; returns its id.
    async fn declare(&self, declarant: &str, reference: &str) -> i64 {
        let document = declaration(declarant, reference);
        match self.app.submit(&Principal::platform("test"), &document).await.expect("submitted") {
            Submitted::Created(body) | Submitted::Repeat(body) => body["id"].as_i64().expect("id"),
        }
    }
}

fn declaration(declarant: &str, reference: &str) -> Value {
    json!({
        "reference": reference, "zone": "hengqin", "flow": "first_line_in", "declared_on": "2026-03-02",
        "declarant": declarant, "importer": declarant, "purpose": "own_use", "currency": "CNY",
        "exchange_rate": "1", "value_basis": "CIF",
        "items": [ { "hs": "84713000", "quantity": "2", "unit": "C62", "value": "8000.00", "origin": "PT" } ]
    })
}

#[tokio::test]
async fn the_login_page_is_chinese_by_default_and_english_on_request() {
    let console = Console::new().await;
    let page = console.get("/console/login", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header(header::CONTENT_TYPE).starts_with("text/html"));
    page.assert_contains("<html lang=\"zh-Hans\">");
    page.assert_contains("用户名");
    page.assert_contains("<label for=\"f-user_id\">");
    page.assert_contains("class=\"skip-link\" href=\"#main\"");
    page.assert_contains("hreflang=\"en\"");
    let csp = page.header(header::CONTENT_SECURITY_POLICY);
    assert!(
        csp.contains("default-src 'self'")
            && csp.contains("script-src 'self'")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    page.assert_lacks("<style");
    page.assert_lacks(" style=");
    page.assert_lacks("<script>");

    let english = console.get("/console/login?lang=en", None).await;
    english.assert_contains("<html lang=\"en\">");
    english.assert_contains("User id");
    let cookie = english.header(header::SET_COOKIE);
    assert!(
        cookie.starts_with("zg_lang=en") && cookie.contains("Path=/console") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let remembered = console
        .send(Request::get("/console/login").header(header::COOKIE, "zg_lang=en").body(Body::empty()).expect("request"))
        .await;
    remembered.assert_contains("<html lang=\"en\">");
    let asked = console
        .send(
            Request::get("/console/login")
                .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    asked.assert_contains("<html lang=\"en\">");
    let chinese = console
        .send(
            Request::get("/console/login")
                .header(header::ACCEPT_LANGUAGE, "zh-CN,en;q=0.5")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    chinese.assert_contains("<html lang=\"zh-Hans\">");
}

#[tokio::test]
async fn visitors_are_sent_to_the_login_page_and_a_failed_login_says_not_which_part_was_wrong() {
    let console = Console::new().await;
    let reply = console.get("/console/declarations?flow=first_line_in", None).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(reply.location().starts_with("/console/login?next="), "{}", reply.location());
    let home = console.get("/console", None).await;
    assert_eq!((home.status, home.location()), (StatusCode::SEE_OTHER, "/console/declarations"));

    for (user, password) in [("hq.declarant", "not the password"), ("nobody.here", DEMO_PASSWORD)] {
        let reply = console.post("/console/login?lang=en", None, &[("user_id", user), ("password", password)]).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        reply.assert_contains("The user id or the password is not right.");
        reply.assert_contains("role=\"alert\"");
        assert!(reply.header(header::SET_COOKIE).starts_with("zg_lang"), "no session cookie on failure");
    }
    // `next` never leads off the console.
    let reply = console
        .post(
            "/console/login",
            None,
            &[("user_id", "officer"), ("password", DEMO_PASSWORD), ("next", "https://evil.example/")],
        )
        .await;
    assert_eq!((reply.status, reply.location()), (StatusCode::SEE_OTHER, "/console/declarations"));
}

#[tokio::test]
async fn a_declarant_sees_only_their_party_and_gets_the_403_page_for_another() {
    let console = Console::new().await;
    let own = console.declare(HQ, "HQ-OWN-1").await;
    let other = console.declare(SHOP, "SHOP-OTHER-1").await;
    let browser = console.login("hq.declarant").await;

    let list = console.get("/console/declarations", Some(&browser)).await;
    assert_eq!(list.status, StatusCode::OK);
    list.assert_contains("HQ-OWN-1");
    list.assert_lacks("SHOP-OTHER-1");
    list.assert_lacks("id=\"f-declarant\"");
    list.assert_contains("<th scope=\"col\">");
    list.assert_contains("href=\"/console/declarations/new\"");
    list.assert_lacks("href=\"/console/monitor\"");

    let detail = console.get(&format!("/console/declarations/{own}"), Some(&browser)).await;
    assert_eq!(detail.status, StatusCode::OK);
    detail.assert_contains("first_line.exempt_equipment");
    detail.assert_contains("免税进口主体为自用或基础设施建设进口的设备");
    detail.assert_contains("declaration.recorded");
    detail.assert_contains("✓ 一致");
    detail.assert_lacks("href=\"/console/chain\"");

    let refused = console.get(&format!("/console/declarations/{other}"), Some(&browser)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    refused.assert_contains("无权访问");
    refused.assert_lacks("SHOP-OTHER-1");
    let missing = console.get("/console/declarations/999999?lang=en", Some(&browser)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    missing.assert_contains("Not found");

    for page in ["/console/monitor", "/console/enterprises", "/console/chain"] {
        let reply = console.get(page, Some(&browser)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{page}");
    }
    // The zone lists are reference data every enterprise may read.
    assert_eq!(console.get("/console/zones", Some(&browser)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn customs_users_see_every_party_filter_and_the_customs_pages() {
    let console = Console::new().await;
    console.declare(HQ, "HQ-A").await;
    console.declare(SHOP, "SHOP-B").await;
    let officer = console.login("officer").await;

    let list = console.get("/console/declarations", Some(&officer)).await;
    list.assert_contains("HQ-A");
    list.assert_contains("SHOP-B");
    list.assert_contains("id=\"f-declarant\"");
    for area in ["/console/monitor", "/console/enterprises", "/console/zones"] {
        list.assert_contains(&format!("href=\"{area}\""));
    }
    list.assert_lacks("href=\"/console/declarations/new\"");

    let filtered = console.get(&format!("/console/declarations?declarant={SHOP}"), Some(&officer)).await;
    filtered.assert_contains("SHOP-B");
    filtered.assert_lacks("HQ-A");

    let invalid =
        console.get("/console/declarations?flow=sideways&declared_from=2026-13-01&lang=en", Some(&officer)).await;
    assert_eq!(invalid.status, StatusCode::OK);
    invalid.assert_contains("role=\"alert\"");
    invalid.assert_contains("id=\"e-f-flow\"");
    invalid.assert_contains("id=\"e-f-declared_from\"");
    invalid.assert_contains("aria-describedby=\"e-f-flow\"");

    let enterprises = console.get("/console/enterprises", Some(&officer)).await;
    assert_eq!(enterprises.status, StatusCode::OK);
    enterprises.assert_contains(HQ);
    enterprises.assert_contains("免税进口主体名单");
    let zones = console.get("/console/zones", Some(&officer)).await;
    assert_eq!(zones.status, StatusCode::OK);
    zones.assert_contains("href=\"/console/zones/hengqin/lists/equipment_scope\"");
    let entries = console.get("/console/zones/hengqin/lists/equipment_scope?on=2026-03-02", Some(&officer)).await;
    assert_eq!(entries.status, StatusCode::OK);
    entries.assert_contains("<th scope=\"row\" class=\"code\">84</th>");
    entries.assert_contains("2024-03-01");
    let unknown = console.get("/console/zones/hengqin/lists/no_such_list", Some(&officer)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // The full chain check is for auditors and supervisors.
    assert_eq!(console.get("/console/chain", Some(&officer)).await.status, StatusCode::FORBIDDEN);
    let auditor = console.login("auditor").await;
    let chain = console.get("/console/chain?lang=en", Some(&auditor)).await;
    assert_eq!(chain.status, StatusCode::OK);
    chain.assert_contains("The event chain is intact");
}

#[tokio::test]
async fn post_forms_without_the_form_token_are_refused() {
    let console = Console::new().await;
    let browser = console.login("hq.declarant").await;
    for path in ["/console/declarations/new", "/console/logout"] {
        let missing = console.post(path, Some(&browser), &[("reference", "X-1")]).await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN, "{path}");
        let wrong = console.post(path, Some(&browser), &[("_csrf", "forged")]).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{path}");
    }
    // The session still works, and a real logout ends it.
    let out = console.post("/console/logout", Some(&browser), &[("_csrf", &browser.csrf)]).await;
    assert_eq!((out.status, out.location()), (StatusCode::SEE_OTHER, "/console/login"));
    let after = console.get("/console/declarations", Some(&browser)).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_submission_form_shows_errors_inline_and_records_a_valid_declaration() {
    let console = Console::new().await;
    let browser = console.login("hq.declarant").await;
    let form = console.get("/console/declarations/new", Some(&browser)).await;
    assert_eq!(form.status, StatusCode::OK);
    form.assert_contains(&format!("name=\"declarant\" type=\"text\" value=\"{HQ}\""));
    for row in 0..3 {
        form.assert_contains(&format!("name=\"items[{row}].hs\""));
    }
    form.assert_lacks("name=\"items[3].hs\"");
    form.assert_contains("<label for=\"f-items-0-hs\">");
    form.assert_contains("data-add-item");

    // "Add item" works without JavaScript: the form comes back with one more row, values kept.
    let more = console
        .post(
            "/console/declarations/new",
            Some(&browser),
            &[
                ("_csrf", &browser.csrf),
                ("action", "add_item"),
                ("reference", "KEEP-ME"),
                ("items[0].hs", ""),
                ("items[1].hs", ""),
                ("items[2].hs", ""),
            ],
        )
        .await;
    assert_eq!(more.status, StatusCode::OK);
    more.assert_contains("name=\"items[3].hs\"");
    more.assert_contains("value=\"KEEP-ME\"");

    let mut invalid = vec![
        ("_csrf", browser.csrf.as_str()),
        ("action", "submit"),
        ("reference", "HQ-FORM-1"),
        ("zone", "hengqin"),
        ("flow", "first_line_in"),
        ("declared_on", "2026-02-30"),
        ("declarant", HQ),
        ("currency", "CNY"),
        ("exchange_rate", "1"),
        ("value_basis", "CIF"),
        ("items[0].hs", ""),
        ("items[1].hs", "123"),
        ("items[1].quantity", "2"),
        ("items[1].unit", "C62"),
        ("items[1].value", "100.00"),
    ];
    let reply = console.post("/console/declarations/new?lang=en", Some(&browser), &invalid).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    reply.assert_contains("role=\"alert\"");
    // The blank first row was dropped, so the bad HS code is on row 0 now, with its error tied to it.
    reply.assert_contains("id=\"e-f-items-0-hs\"");
    reply.assert_contains("href=\"#f-items-0-hs\"");
    reply.assert_contains("aria-describedby=\"h-f-items-0-hs e-f-items-0-hs\"");
    reply.assert_contains("value=\"123\"");
    reply.assert_contains("id=\"e-f-declared_on\"");
    reply.assert_contains("id=\"e-f-purpose\"");
    reply.assert_contains("value=\"HQ-FORM-1\"");

    let chinese = console.post("/console/declarations/new", Some(&browser), &invalid).await;
    chinese.assert_contains("此项必填");

    invalid.retain(|(name, _)| !["declared_on", "items[1].hs"].contains(name));
    let valid: Vec<(&str, &str)> = invalid
        .into_iter()
        .chain([("declared_on", "2026-03-02"), ("purpose", "own_use"), ("items[1].hs", "84713000")])
        .collect();
    let recorded = console.post("/console/declarations/new", Some(&browser), &valid).await;
    assert_eq!(recorded.status, StatusCode::SEE_OTHER, "{}", recorded.text);
    assert!(recorded.location().starts_with("/console/declarations/"), "{}", recorded.location());
    let detail = console.get(recorded.location(), Some(&browser)).await;
    assert_eq!(detail.status, StatusCode::OK);
    detail.assert_contains("HQ-FORM-1");
    detail.assert_contains("84713000");
    // Submitting the same document again leads to the same declaration.
    let again = console.post("/console/declarations/new", Some(&browser), &valid).await;
    assert_eq!(again.location(), recorded.location());
}

#[tokio::test]
async fn the_monitor_has_chart_canvases_data_tables_and_its_data_island() {
    let console = Console::new().await;
    console.declare(HQ, "HQ-M1").await;
    console.declare(SHOP, "SHOP-M2").await;
    let officer = console.login("officer").await;
    let page = console.get("/console/monitor", Some(&officer)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    for canvas in ["chart-flows", "chart-treatments", "chart-taxes"] {
        page.assert_contains(&format!("<canvas id=\"{canvas}\" role=\"img\""));
    }
    page.assert_contains("<details><summary>数据表</summary><table class=\"data\">");
    page.assert_contains("<th scope=\"row\">2026-03-02</th>");
    page.assert_contains("<script type=\"application/json\" id=\"monitor-data\">");
    page.assert_contains("/console/assets/vendor/chart.umd.min.");
    page.assert_contains("从提交到作出决定的时间");
    // The default range is the last 30 days up to the app's today.
    page.assert_contains("value=\"2026-02-01\"");
    page.assert_contains("value=\"2026-03-02\"");
    let island =
        page.text.split("id=\"monitor-data\">").nth(1).and_then(|rest| rest.split("</script>").next()).expect("island");
    let data: Value = serde_json::from_str(island).expect("the island is JSON");
    assert_eq!(data["days"].as_array().map(Vec::len), Some(30));
    let counts: i64 = data["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .flat_map(|f| f["counts"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c.as_i64())
        .sum();
    assert_eq!(counts, 2);

    let reversed = console.get("/console/monitor?from=2026-03-05&to=2026-03-01", Some(&officer)).await;
    assert_eq!(reversed.status, StatusCode::UNPROCESSABLE_ENTITY);
    reversed.assert_contains("id=\"e-f-from\"");
}

#[tokio::test]
async fn assets_are_bundled_with_their_content_types_and_cached_by_content_hash() {
    let console = Console::new().await;
    let page = console.get("/console/login", None).await;
    let css = page.attribute_after("rel=\"stylesheet\"", "href");
    let js = page.attribute_after("<script defer", "src");
    for (url, content_type) in [(css.as_str(), "text/css"), (js.as_str(), "text/javascript")] {
        let asset = console.get(url, None).await;
        assert_eq!(asset.status, StatusCode::OK, "{url}");
        assert!(asset.header(header::CONTENT_TYPE).starts_with(content_type), "{url}");
        assert_eq!(asset.header(header::CACHE_CONTROL), "public, max-age=31536000, immutable");
        assert!(!asset.header(header::ETAG).is_empty());
    }
    let chart = console.get("/console/assets/vendor/chart.umd.min.js", None).await;
    assert_eq!(chart.status, StatusCode::OK);
    assert!(chart.header(header::CONTENT_TYPE).starts_with("text/javascript"));
    assert!(chart.text.starts_with("/*!\n * Chart.js v4"));
    let etag = chart.header(header::ETAG).to_owned();
    let revalidated = console
        .send(
            Request::get("/console/assets/vendor/chart.umd.min.js")
                .header(header::IF_NONE_MATCH, etag)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert_eq!(console.get("/console/assets/nothing.js", None).await.status, StatusCode::NOT_FOUND);
    let unknown = console.get("/console/no/such/page", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    unknown.assert_contains("未找到");
}

#[tokio::test]
async fn pages_name_parties_for_people_and_write_values_as_the_api_does() {
    let console = Console::new().await;
    let own = console.declare(HQ, "HQ-NAMES-1").await;
    console.declare(SHOP, "SHOP-NAMES-2").await;

    // The header names the customs office and an enterprise by name, not by party id.
    let officer = console.login("officer").await;
    let list = console.get("/console/declarations", Some(&officer)).await;
    list.assert_contains("<span class=\"user-party\" title=\"customs:hengqin\">横琴海关</span>");
    let english = console.get("/console/declarations?lang=en", Some(&officer)).await;
    english.assert_contains(">Hengqin Customs</span>");
    // The declarants are named above their USCC.
    for (name, uscc) in [("Hengqin Demo Trading Co.", HQ), ("Hengqin Demo Retail Shop", SHOP)] {
        list.assert_contains(&format!(
            "<span class=\"party-name\">{name}</span><span class=\"code party-id\">{uscc}</span>"
        ));
    }
    // Dates are typed as the API writes them, whatever the browser's locale.
    list.assert_contains("name=\"declared_from\" type=\"text\"");
    list.assert_contains("pattern=\"[0-9]{4}-[0-9]{2}-[0-9]{2}\"");
    list.assert_lacks("type=\"date\"");

    // Money has two decimals and separators; the three taxes share one heading.
    let detail = console.get(&format!("/console/declarations/{own}?lang=en"), Some(&officer)).await;
    detail.assert_contains("<td class=\"num\">8,000.00</td>");
    detail.assert_contains("<th scope=\"colgroup\" colspan=\"3\" class=\"taxes\">Taxes (CNY)</th>");
    detail.assert_contains("Value (CNY)");

    let declarant = console.login("hq.declarant").await;
    let own_list = console.get("/console/declarations", Some(&declarant)).await;
    own_list.assert_contains("<span class=\"user-party\" title=\"91440400MA4UJ0J57H\">Hengqin Demo Trading Co.</span>");
    own_list.assert_contains("<span class=\"party-name\">Hengqin Demo Trading Co.</span>");

    // Only the first item row is marked required: blank rows are dropped.
    let form = console.get("/console/declarations/new?lang=en", Some(&declarant)).await;
    form.assert_contains("<label for=\"f-items-0-hs\">HS code <abbr class=\"required\"");
    form.assert_contains("<label for=\"f-items-1-hs\">HS code</label>");
    form.assert_contains("Fill in at least one item.");

    // A value the API quotes in backticks is shown as code.
    let fields = [
        ("_csrf", declarant.csrf.as_str()),
        ("action", "submit"),
        ("reference", "HQ-NAMES-3"),
        ("zone", "hengqin"),
        ("flow", "first_line_in"),
        ("declared_on", "2026-03-02"),
        ("declarant", HQ),
        ("purpose", "own_use"),
        ("currency", "CNY"),
        ("exchange_rate", "1"),
        ("value_basis", "CIF"),
        ("items[0].hs", "99999999"),
        ("items[0].quantity", "2"),
        ("items[0].unit", "C62"),
        ("items[0].value", "100.00"),
    ];
    let refused = console.post("/console/declarations/new?lang=en", Some(&declarant), &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    refused.assert_contains("tariff line <code>99999999</code>");
    refused.assert_lacks("`99999999`");
}

/// The token shown once on the page, and the id in its revoke form.
fn shown_token(page: &Reply) -> String {
    let start = page.text.find("id=\"new-token\">").expect("the new token box") + "id=\"new-token\">".len();
    page.text[start..start + page.text[start..].find('<').expect("end of the token")].to_owned()
}

fn revoke_action(page: &Reply) -> String {
    let start = page.text.find("action=\"/console/account/tokens/").expect("a revoke form") + "action=\"".len();
    page.text[start..start + page.text[start..].find('"').expect("closing quote")].to_owned()
}

impl Console {
    async fn whoami(&self, token: &str) -> StatusCode {
        let request = Request::get("/v1/session")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        self.send(request).await.status
    }
}

#[tokio::test]
async fn a_declarant_issues_an_api_token_sees_it_once_uses_it_and_revokes_it() {
    let console = Console::new().await;
    let browser = console.login("hq.declarant").await;

    let start = console.get("/console/declarations", Some(&browser)).await;
    start.assert_contains("class=\"user-id\" href=\"/console/account\"");
    let page = console.get("/console/account", Some(&browser)).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("我的账户");
    page.assert_contains("hq.declarant");
    page.assert_contains("<dd>申报员</dd>");
    page.assert_contains("您还没有 API 令牌。");
    page.assert_contains("<label for=\"f-expires_in_days\">");
    page.assert_contains("value=\"90\"");
    page.assert_lacks("id=\"new-token\"");

    let bad = console
        .post(
            "/console/account/tokens?lang=en",
            Some(&browser),
            &[("_csrf", &browser.csrf), ("name", "ci"), ("expires_in_days", "400")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("aria-describedby=\"h-f-expires_in_days e-f-expires_in_days\"");
    bad.assert_contains("id=\"e-f-expires_in_days\"");
    bad.assert_lacks("id=\"new-token\"");

    let missing = console.post("/console/account/tokens", Some(&browser), &[("name", "ci")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);

    let issued = console
        .post(
            "/console/account/tokens?lang=en",
            Some(&browser),
            &[("_csrf", &browser.csrf), ("name", "ci pipeline"), ("expires_in_days", "30")],
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text);
    assert_eq!(issued.header(header::CACHE_CONTROL), "no-store");
    issued.assert_contains("Copy it now; it will not be shown again.");
    let token = shown_token(&issued);
    assert!(token.starts_with("zgt_"), "{token}");
    issued.assert_contains("ci pipeline");
    assert_eq!(console.whoami(&token).await, StatusCode::OK);

    let again = console.get("/console/account", Some(&browser)).await;
    again.assert_contains("ci pipeline");
    again.assert_contains("有效");
    again.assert_lacks(&token);
    let action = revoke_action(&again);

    let forged = console.post(&action, Some(&browser), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(console.whoami(&token).await, StatusCode::OK);

    let revoked = console.post(&action, Some(&browser), &[("_csrf", &browser.csrf)]).await;
    assert_eq!((revoked.status, revoked.location()), (StatusCode::SEE_OTHER, "/console/account"));
    assert_eq!(console.whoami(&token).await, StatusCode::UNAUTHORIZED);
    let after = console.get("/console/account", Some(&browser)).await;
    after.assert_contains("已撤销");
    after.assert_lacks("action=\"/console/account/tokens/");

    // Another user's page never shows these tokens, nor may they revoke them.
    let other = console.login("shop.declarant").await;
    other_lacks_token(&console, &other).await;
    let refused = console.post(&action, Some(&other), &[("_csrf", &other.csrf)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn other_lacks_token(console: &Console, browser: &Browser) {
    let page = console.get("/console/account", Some(browser)).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_lacks("ci pipeline");
}

#[tokio::test]
async fn an_enterprise_admin_manages_the_accounts_of_their_own_enterprise_only() {
    let console = Console::new().await;
    let admin = console.login("hq.admin").await;

    let page = console.get("/console/accounts", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let mine = console.get("/console/account", Some(&admin)).await;
    mine.assert_contains("<a href=\"/console/accounts\">管理账户</a>");
    page.assert_contains("账户管理");
    page.assert_contains("hq.declarant");
    page.assert_contains("Demo declarant, exempt importer");
    page.assert_lacks("shop.declarant");
    page.assert_lacks("id=\"f-party\" name=\"party\" type=\"text\" value=\"\"");
    assert_eq!(page.attribute_after("id=\"f-party\"", "value"), HQ);
    page.assert_contains("action=\"/console/accounts/hq.declarant/deactivate\"");
    page.assert_lacks("action=\"/console/accounts/hq.admin/deactivate\"");
    page.assert_contains("id=\"f-roles-declarant\"");
    page.assert_lacks("id=\"f-roles-officer\"");

    let form = |password: &'static str| {
        vec![
            ("_csrf", admin.csrf.clone()),
            ("user_id", "hq.clerk".to_owned()),
            ("party", SHOP.to_owned()),
            ("party_kind", "customs".to_owned()),
            ("roles", "declarant".to_owned()),
            ("display_name", "New clerk".to_owned()),
            ("password", password.to_owned()),
        ]
    };
    let pairs = |form: &[(&'static str, String)]| -> Vec<(&'static str, String)> { form.to_vec() };
    let short = pairs(&form("short"));
    let short: Vec<(&str, &str)> = short.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = console.post("/console/accounts", Some(&admin), &short).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    refused.assert_contains("role=\"alert\"");
    refused.assert_contains("id=\"e-f-password\"");
    refused.assert_contains("aria-describedby=\"h-f-password e-f-password\"");
    refused.assert_contains("密码长度不符合要求");
    refused.assert_contains("value=\"hq.clerk\"");
    refused.assert_lacks("value=\"short\"");

    let good = pairs(&form(DEMO_PASSWORD));
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let missing = console.post("/console/accounts", Some(&admin), &good[1..]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let created = console.post("/console/accounts", Some(&admin), &good).await;
    assert_eq!((created.status, created.location()), (StatusCode::SEE_OTHER, "/console/accounts"), "{}", created.text);
    // The party and its kind are the admin's own, whatever the form said.
    let account =
        console.app.get_account(&Principal::platform("test"), "hq.clerk").await.expect("the account was created");
    assert_eq!((account["party"].as_str(), account["party_kind"].as_str()), (Some(HQ), Some("enterprise")));
    let listed = console.get("/console/accounts", Some(&admin)).await;
    listed.assert_contains("hq.clerk");
    listed.assert_contains("New clerk");
    let clerk = console.login("hq.clerk").await;
    let again = console.post("/console/accounts", Some(&admin), &good).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    again.assert_contains("id=\"e-f-user_id\"");

    let deactivated =
        console.post("/console/accounts/hq.clerk/deactivate", Some(&admin), &[("_csrf", &admin.csrf)]).await;
    assert_eq!((deactivated.status, deactivated.location()), (StatusCode::SEE_OTHER, "/console/accounts"));
    assert_eq!(console.get("/console/account", Some(&clerk)).await.status, StatusCode::SEE_OTHER);

    let other = console.get(&format!("/console/accounts?party={SHOP}"), Some(&admin)).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    other.assert_lacks("shop.declarant");
    let foreign =
        console.post("/console/accounts/shop.declarant/deactivate", Some(&admin), &[("_csrf", &admin.csrf)]).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn declarants_may_not_open_the_accounts_and_supervisors_filter_every_party() {
    let console = Console::new().await;
    let shop = console.login("shop.declarant").await;
    let start = console.get("/console/declarations", Some(&shop)).await;
    start.assert_lacks("href=\"/console/accounts\"");
    console.get("/console/account", Some(&shop)).await.assert_lacks("href=\"/console/accounts\"");
    let refused = console.get("/console/accounts", Some(&shop)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    refused.assert_contains("无权访问");
    refused.assert_lacks("hq.declarant");

    let supervisor = console.login("supervisor").await;
    let all = console.get("/console/accounts?lang=en", Some(&supervisor)).await;
    assert_eq!(all.status, StatusCode::OK);
    all.assert_contains("hq.declarant");
    all.assert_contains("shop.declarant");
    all.assert_contains("Hengqin Customs");
    all.assert_contains("id=\"f-roles-officer\"");
    let one = console.get(&format!("/console/accounts?party={SHOP}"), Some(&supervisor)).await;
    assert_eq!(one.status, StatusCode::OK);
    one.assert_contains("shop.declarant");
    one.assert_lacks("hq.declarant");

    let auditor = console.login("auditor").await;
    let read_only = console.get("/console/accounts", Some(&auditor)).await;
    assert_eq!(read_only.status, StatusCode::OK);
    read_only.assert_contains("hq.declarant");
    read_only.assert_lacks("method=\"post\" action=\"/console/accounts\"");
    read_only.assert_lacks("/deactivate\"");
}

#[tokio::test]
async fn officers_see_the_rules_in_force_and_record_inspection_results_from_the_declaration() {
    let console = Console::new().await;
    let id = console.declare(HQ, "HQ-R1").await;
    let officer = console.login("officer").await;

    let risk = console.get("/console/risk?lang=en", Some(&officer)).await;
    assert_eq!(risk.status, StatusCode::OK);
    let monitor = console.get("/console/monitor", Some(&officer)).await;
    monitor.assert_contains("href=\"/console/risk\"");
    risk.assert_contains("prohibited.solid_waste");
    risk.assert_contains("items.exists(i, i.hs4 in [");
    risk.assert_contains("No alert is active");
    risk.assert_contains("No inspection result yet");
    let declarant = console.login("hq.declarant").await;
    assert_eq!(console.get("/console/risk", Some(&declarant)).await.status, StatusCode::FORBIDDEN);

    // The declaration page explains the channel and offers the officer the inspection form.
    let detail = console.get(&format!("/console/declarations/{id}?lang=en"), Some(&officer)).await;
    detail.assert_contains("Why this channel");
    detail.assert_contains("Random draw");
    detail.assert_contains(&format!("action=\"/console/declarations/{id}/inspection\""));
    // The declarant sees the result section but no form.
    let own = console.get(&format!("/console/declarations/{id}?lang=en"), Some(&declarant)).await;
    own.assert_contains("No result recorded yet");
    own.assert_lacks(&format!("action=\"/console/declarations/{id}/inspection\""));

    let recorded = console
        .post(
            &format!("/console/declarations/{id}/inspection"),
            Some(&officer),
            &[
                ("_csrf", &officer.csrf),
                ("outcome", "finding"),
                ("findings", "undervalued\n\nwrong origin"),
                ("notes", "sampled 2 units"),
            ],
        )
        .await;
    assert_eq!(recorded.status, StatusCode::SEE_OTHER, "{}", recorded.text);
    let detail = console.get(&format!("/console/declarations/{id}?lang=en"), Some(&officer)).await;
    detail.assert_contains("wrong origin");
    detail.assert_contains("sampled 2 units");
    detail.assert_lacks(&format!("action=\"/console/declarations/{id}/inspection\""));
    let risk = console.get("/console/risk?lang=en", Some(&officer)).await;
    risk.assert_contains("100.0 %");
}

#[tokio::test]
async fn a_macao_authority_publishes_and_withdraws_alerts_in_the_console() {
    let console = Console::new().await;
    let iacm = console.login("macao.iacm").await;
    let page = console.get("/console/alerts?lang=en", Some(&iacm)).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("href=\"/console/alerts\"");
    page.assert_contains("No alert is active");
    page.assert_contains("Publish an alert");

    // No scope and a bad HS prefix: every problem next to its control.
    let refused = console
        .post(
            "/console/alerts?lang=en",
            Some(&iacm),
            &[("_csrf", &iacm.csrf), ("id", "a 1"), ("title", ""), ("severity", "high"), ("valid_from", "2026-03-02")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    refused.assert_contains("role=\"alert\"");
    refused.assert_contains("id=\"e-f-hs\"");
    refused.assert_contains("id=\"e-f-title\"");

    let published = console
        .post(
            "/console/alerts",
            Some(&iacm),
            &[
                ("_csrf", &iacm.csrf),
                ("id", "shrimp-2026-03"),
                ("title", "Frozen shrimp: nitrofuran residues"),
                ("severity", "high"),
                ("hs", "0306, 030617"),
                ("origins", "VN"),
                ("valid_from", "2026-03-02"),
                ("valid_to", "2026-04-30"),
            ],
        )
        .await;
    assert_eq!(published.status, StatusCode::SEE_OTHER, "{}", published.text);
    let page = console.get("/console/alerts?lang=en", Some(&iacm)).await;
    page.assert_contains("Frozen shrimp: nitrofuran residues");
    page.assert_contains("HS: 0306, 030617 · origin: VN");
    let withdraw = page.attribute_after("Frozen shrimp", "action");
    assert_eq!(withdraw, "/console/alerts/authority:macao-iacm/shrimp-2026-03/withdraw");

    // Officers find it on the risk page; they may not withdraw another party's alert.
    let officer = console.login("officer").await;
    let risk = console.get("/console/risk?lang=en", Some(&officer)).await;
    risk.assert_contains("Frozen shrimp: nitrofuran residues");
    risk.assert_lacks("href=\"/console/alerts\" aria-current");
    let theirs = console.get("/console/alerts?lang=en", Some(&officer)).await;
    theirs.assert_lacks(&format!("action=\"{withdraw}\""));
    let refused = console.post(&withdraw, Some(&officer), &[("_csrf", &officer.csrf)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let withdrawn = console.post(&withdraw, Some(&iacm), &[("_csrf", &iacm.csrf)]).await;
    assert_eq!(withdrawn.status, StatusCode::SEE_OTHER, "{}", withdrawn.text);
    let page = console.get("/console/alerts?lang=en", Some(&iacm)).await;
    page.assert_contains("withdrawn (macao.iacm)");
    let declarant = console.login("hq.declarant").await;
    assert_eq!(console.get("/console/alerts", Some(&declarant)).await.status, StatusCode::FORBIDDEN);
}
