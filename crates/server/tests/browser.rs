//! The web console in a real browser: headless Chromium, driven over WebDriver (`chromedriver` and the
//! `fantoccini` client), against the platform served in-process on a real socket with the demo data.
//!
//! One test walks what people do: an enterprise declarant logs in, switches to English, submits a
//! declaration and reads its assessment, sees an inline error on a bad one, is refused another enterprise's
//! declaration; then a customs officer opens the monitor, whose charts Chart.js must actually draw, reads a
//! taxed declaration in a wide and a narrow window and the first one in Chinese; last, an auditor checks the
//! chain. Along the way it checks the layout people notice: a header on one row, tables that fit, dates as
//! the hints say. A screenshot of every step is saved to `target/browser-artifacts/NN-step.png`, next to
//! chromedriver's log.
//!
//! Skipped, saying why, when chromedriver is missing (`/usr/bin/chromedriver`, or the path in
//! `ZONEGATE_CHROMEDRIVER`; the browser is `/usr/bin/chromium` or `ZONEGATE_CHROMIUM`), unless
//! `ZONEGATE_REQUIRE_BROWSER` is set, as CI does: then a missing browser fails the test.

use std::future::Future;
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use zonegate_app::auth::Principal;
use zonegate_app::{App, Clock, StatsQuery, Submitted, DEMO_PASSWORD};
use zonegate_server::{router, ServerConfig};
use zonegate_store_sqlite::SqliteStore;

type Error = Box<dyn std::error::Error + Send + Sync>;
type TestResult<T = ()> = Result<T, Error>;

/// How long any wait for the page lasts before the step fails.
const WAIT: Duration = Duration::from_secs(10);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);
/// The browser window (CSS pixels); screenshots grow it to the page's height.
const WINDOW: (u32, u32) = (1366, 900);
/// The width of a narrow window (a tablet held upright).
const NARROW: u32 = 800;

/// The demo's exempt importer, whose declarant `hq.declarant` is.
const HQ: &str = "91440400MA4UJ0J57H";
/// The demo's duty-free shop, another enterprise.
const SHOP: &str = "91440400MA55H0P10R";

/// Fails the step with `message` unless `condition` holds (steps return errors rather than panic, so that
/// the page is photographed when one fails).
fn ensure(condition: bool, message: impl FnOnce() -> String) -> TestResult {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

// ---------------------------------------------------------------------------------------------------------
// The browser: chromedriver as a child process that is always stopped, and a WebDriver session on it.
// ---------------------------------------------------------------------------------------------------------

/// Where chromedriver and Chromium are, or `None` (after saying why) when the test should be skipped.
fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let driver =
        std::env::var_os("ZONEGATE_CHROMEDRIVER").map_or_else(|| "/usr/bin/chromedriver".into(), PathBuf::from);
    let chromium = std::env::var_os("ZONEGATE_CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    let missing: Vec<String> = [&driver, &chromium]
        .into_iter()
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
    if missing.is_empty() {
        return Some((driver, chromium));
    }
    // CI sets ZONEGATE_REQUIRE_BROWSER so that a missing browser fails the run instead of skipping it.
    assert!(
        std::env::var_os("ZONEGATE_REQUIRE_BROWSER").is_none(),
        "ZONEGATE_REQUIRE_BROWSER is set but {} is missing (apt-get install chromium chromium-driver)",
        missing.join(" and ")
    );
    println!(
        "skipped the browser test: {} is missing (apt-get install chromium chromium-driver, or set \
         ZONEGATE_CHROMEDRIVER and ZONEGATE_CHROMIUM)",
        missing.join(" and ")
    );
    None
}

/// A running chromedriver. Dropping it stops chromedriver and the browsers it started, also when a step
/// failed and the test is unwinding.
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    fn start(driver: &Path, log: &Path) -> TestResult<ChromeDriver> {
        let port = StdListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that the browsers it starts can be stopped with it.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", driver.display()))?;
        let mut chromedriver = ChromeDriver { child, port };
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = chromedriver.child.try_wait()? {
                return Err(format!("chromedriver exited at once ({status}); see {}", log.display()).into());
            }
            if Instant::now() > deadline {
                return Err(format!("chromedriver does not listen on port {port}; see {}", log.display()).into());
            }
            std::thread::sleep(POLL);
        }
        Ok(chromedriver)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Asks chromedriver to end its sessions and quit (`GET /shutdown`), which also closes their browsers.
    fn ask_to_quit(&self) -> std::io::Result<()> {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(3)))?;
        write!(stream, "GET /shutdown HTTP/1.1\r\nhost: 127.0.0.1:{}\r\nconnection: close\r\n\r\n", self.port)?;
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        Ok(())
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.ask_to_quit();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(POLL);
        }
        // Still running: kill its process group (chromedriver and any browser left behind). The child is not
        // reaped yet, so its id, which is the group's id, cannot have been reused.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver session on headless Chromium, with the platform's base URL and the screenshot folder.
struct Browser {
    client: Client,
    base: String,
    artifacts: PathBuf,
    shots: usize,
}

impl Browser {
    async fn connect(
        driver: &ChromeDriver,
        chromium: &Path,
        profile: &Path,
        base: String,
        artifacts: PathBuf,
    ) -> TestResult<Browser> {
        let args = [
            // Flags the closed network needs: no sandbox in the container, no calls home.
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            &format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            &format!("--user-data-dir={}", profile.display()),
            // A Macao user whose browser asks for Portuguese, which the console does not offer: it must fall
            // back to its default, Chinese.
            "--lang=pt-PT",
            "--accept-lang=pt-PT,pt",
            // Chart.js then draws at once, without animation (console.js honours the setting).
            "--force-prefers-reduced-motion",
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let capabilities = capabilities.as_object().cloned().ok_or("the capabilities are a JSON object")?;
        // chromedriver speaks plain HTTP on loopback: no TLS connector is needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector).capabilities(capabilities).connect(&driver.url()).await?;
        Ok(Browser { client, base, artifacts, shots: 0 })
    }

    /// Opens a path of the platform, as if typed into the address bar.
    async fn open(&self, path: &str) -> TestResult {
        self.client.goto(&format!("{}{path}", self.base)).await?;
        Ok(())
    }

    /// The current path and query.
    async fn path(&self) -> TestResult<String> {
        let url = self.client.current_url().await?;
        Ok(match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        })
    }

    /// The URL and title, for error messages.
    async fn describe_page(&self) -> String {
        let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| format!("? ({e})"));
        let title = self.client.title().await.unwrap_or_default();
        format!("{url} (“{title}”)")
    }

    /// Waits for an element to be on the page.
    async fn find(&self, css: &str) -> TestResult<Element> {
        match self.client.wait().at_most(WAIT).every(POLL).for_element(Locator::Css(css)).await {
            Ok(element) => Ok(element),
            Err(error) => Err(format!("no `{css}` on {} within {WAIT:?}: {error}", self.describe_page().await).into()),
        }
    }

    /// Evaluates a script (a function body: it must `return`) until it returns something truthy (not `null`,
    /// `false`, `0` or `""`), and returns that; fails naming `what` after the wait.
    async fn until(&self, what: &str, script: &str) -> TestResult<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.client.execute(script, vec![]).await?;
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return Ok(value);
            }
            if Instant::now() > deadline {
                let page = self.describe_page().await;
                return Err(format!("{what}: not so within {WAIT:?} on {page} (last value {value})").into());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for the path (with query) to satisfy `ok`, and returns it.
    async fn until_path(&self, what: &str, ok: impl Fn(&str) -> bool) -> TestResult<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let path = self.path().await?;
            if ok(&path) {
                return Ok(path);
            }
            if Instant::now() > deadline {
                return Err(format!("{what}: still at {path} after {WAIT:?}").into());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for the page's `<html lang>` to be `lang`.
    async fn until_lang(&self, lang: &str) -> TestResult {
        let script = format!("return document.documentElement.lang === {}", json!(lang));
        self.until(&format!("the page is in `{lang}`"), &script).await.map(drop)
    }

    /// Waits for the `<h1>` to read `title`.
    async fn until_title(&self, title: &str) -> TestResult {
        let script = format!(
            "var h = document.querySelector('main h1'); return !!h && h.textContent.trim() === {}",
            json!(title)
        );
        self.until(&format!("the page's heading is `{title}`"), &script).await.map(drop)
    }

    /// The visible text of the page.
    async fn text(&self) -> TestResult<String> {
        let value = self.client.execute("return document.body ? document.body.innerText : ''", vec![]).await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// The visible text of the first element matching `css`.
    async fn text_of(&self, css: &str) -> TestResult<String> {
        Ok(self.find(css).await?.text().await?.trim().to_owned())
    }

    /// Types `value` into the text control `css`, replacing what it held.
    async fn fill(&self, css: &str, value: &str) -> TestResult {
        let input = self.find(css).await?;
        input.clear().await?;
        input.send_keys(value).await?;
        let typed = input.prop("value").await?.unwrap_or_default();
        ensure(typed == value, || format!("`{css}` holds `{typed}` after typing `{value}`"))
    }

    /// Chooses the option with value `value` of the `<select>` `css`.
    async fn choose(&self, css: &str, value: &str) -> TestResult {
        self.find(css).await?.select_by_value(value).await?;
        Ok(())
    }

    /// Clicks the element `css`.
    async fn click(&self, css: &str) -> TestResult {
        self.find(css).await?.click().await?;
        Ok(())
    }

    /// Checks what a script (a function body) returns: `true`, or else a description of the problem.
    async fn check(&self, script: &str) -> TestResult {
        match self.client.execute(script, vec![]).await? {
            Value::Bool(true) => Ok(()),
            problem => Err(format!("on {}: {problem}", self.describe_page().await).into()),
        }
    }

    /// Checks that the header holds the brand, the navigation, the user and the language switch on one row.
    async fn header_is_one_row(&self) -> TestResult {
        self.check(
            "var brand = document.querySelector('.brand').getBoundingClientRect(), \
                 lang = document.querySelector('.lang-switch').getBoundingClientRect(); \
             return (lang.top < brand.bottom && brand.top < lang.bottom) || \
               ('the header wraps: the brand at ' + brand.top + ', the language switch at ' + lang.top);",
        )
        .await
    }

    /// Checks that the element `css` shows all its content without scrolling sideways.
    async fn fits(&self, css: &str) -> TestResult {
        let script = format!(
            "var e = document.querySelector({css}); \
             return !!e && e.scrollWidth <= e.clientWidth || \
               ({css} + ' scrolls sideways: ' + (e ? e.scrollWidth + ' px in ' + e.clientWidth : 'missing'));",
            css = json!(css)
        );
        self.check(&script).await
    }

    /// Saves a screenshot of the whole page as `NN-name.png`, in the usual window.
    async fn screenshot(&mut self, name: &str) -> TestResult<PathBuf> {
        self.screenshot_at(name, WINDOW.0).await
    }

    /// Saves a screenshot of the whole page as `NN-name.png` in a window `width` pixels wide: the window grows
    /// to the page's height (plus what the window itself takes), the page is scrolled to its top, and the
    /// window returns to its usual size after.
    async fn screenshot_at(&mut self, name: &str, width: u32) -> TestResult<PathBuf> {
        self.shots += 1;
        self.client.set_window_size(width, WINDOW.1).await?;
        let measure = "window.scrollTo(0, 0); \
             return [document.documentElement.scrollHeight, Math.max(0, window.outerHeight - window.innerHeight)];";
        let sizes: Vec<u64> = serde_json::from_value(self.client.execute(measure, vec![]).await?)?;
        let wanted = sizes.iter().sum::<u64>().clamp(u64::from(WINDOW.1), 8000);
        self.client.set_window_size(width, u32::try_from(wanted).unwrap_or(WINDOW.1)).await?;
        let png = self.client.screenshot().await;
        self.client.set_window_size(WINDOW.0, WINDOW.1).await?;
        let path = self.artifacts.join(format!("{:02}-{name}.png", self.shots));
        std::fs::write(&path, png?)?;
        Ok(path)
    }
}

// ---------------------------------------------------------------------------------------------------------
// The platform: the demo on SQLite in a temporary folder, served on a loopback socket.
// ---------------------------------------------------------------------------------------------------------

struct Platform {
    app: Arc<App>,
    base: String,
    /// A declaration of the duty-free shop, which `hq.declarant` must not see.
    foreign_id: i64,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _folder: tempfile::TempDir,
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A valid second-line declaration of the duty-free shop (as in the app's submission tests).
fn cosmetics_to_mainland(reference: &str) -> Value {
    json!({
        "reference": reference, "flow": "second_line_out", "declared_on": "2026-03-05",
        "declarant": SHOP, "purpose": "resale", "currency": "USD", "exchange_rate": "7.1000",
        "items": [ { "hs": "33049900", "quantity": "100", "unit": "KGM", "value": "10000.00", "origin": "FR" } ]
    })
}

/// The platform's clock: 2026-03-06 08:00 UTC when the test starts, running on from there. The day is the
/// same on every run (the submission form's default date, the monitor's default range of the last 30 days,
/// inside the demo data's validity), and the decision times the monitor shows are real measurements.
struct RunningClock {
    start: DateTime<Utc>,
    began: Instant,
}

impl Clock for RunningClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::TimeDelta::from_std(self.began.elapsed()).unwrap_or_default()
    }
}

async fn start_platform() -> TestResult<Platform> {
    let folder = tempfile::tempdir()?;
    let store = SqliteStore::open(&folder.path().join("zonegate.db"))?;
    let start = chrono::Utc.with_ymd_and_hms(2026, 3, 6, 8, 0, 0).single().ok_or("bad time")?;
    let app = Arc::new(App::open(Arc::new(store), Arc::new(RunningClock { start, began: Instant::now() })).await?);
    app.load_demo().await?;
    let Submitted::Created(foreign) =
        app.submit(&Principal::platform("test"), &cosmetics_to_mainland("SL-BROWSER-1")).await?
    else {
        return Err("the shop's declaration was not new".into());
    };
    let foreign_id = foreign["id"].as_i64().ok_or("no id")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let service =
        router(Arc::clone(&app), ServerConfig::standard()).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, service).await });
    // `localhost`, not 127.0.0.1: browsers keep the session's `Secure` cookie over plain HTTP for localhost.
    Ok(Platform { app, base: format!("http://localhost:{port}"), foreign_id, server, _folder: folder })
}

/// `target/browser-artifacts`, emptied of an earlier run's screenshots and log.
fn artifacts_folder() -> TestResult<PathBuf> {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let folder = tmp.parent().unwrap_or(tmp).join("browser-artifacts");
    std::fs::create_dir_all(&folder)?;
    for entry in std::fs::read_dir(&folder)?.flatten() {
        if entry.path().extension().is_some_and(|ext| ext == "png" || ext == "log") {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(folder)
}

// ---------------------------------------------------------------------------------------------------------
// The test and its steps.
// ---------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_a_real_browser() -> TestResult {
    let Some((driver_path, chromium)) = browser_binaries() else { return Ok(()) };
    let started = Instant::now();
    let artifacts = artifacts_folder()?;
    let platform = start_platform().await?;
    let profile = tempfile::tempdir()?;
    let driver = ChromeDriver::start(&driver_path, &artifacts.join("chromedriver.log"))?;
    let mut browser =
        Browser::connect(&driver, &chromium, profile.path(), platform.base.clone(), artifacts.clone()).await?;

    let outcome = steps(&mut browser, &platform).await;
    if outcome.is_err() {
        // The page as it was when the step failed.
        let _ = browser.screenshot("failed").await;
    }
    let _ = browser.client.close().await;
    drop(driver);
    println!("browser test took {:.1} s; screenshots in {}", started.elapsed().as_secs_f64(), artifacts.display());
    outcome
}

async fn steps(browser: &mut Browser, platform: &Platform) -> TestResult {
    step("a. log in, in English", log_in_after_switching_to_english(browser)).await?;
    let id = step("b. submit a declaration", submit_a_declaration_and_read_its_assessment(browser, platform)).await?;
    step("c. inline error", a_bad_hs_code_is_shown_next_to_its_field(browser)).await?;
    step("d. another enterprise", another_enterprises_declaration_is_refused(browser, platform, id)).await?;
    step("e. monitor", the_officer_sees_the_charts_drawn(browser, platform)).await?;
    step("f. in Chinese", the_officer_reads_the_declaration_in_chinese(browser, platform, id)).await?;
    step("g. auditor", the_auditor_verifies_the_chain(browser)).await?;
    Ok(())
}

/// Runs one step, naming it in its error.
async fn step<T>(name: &str, future: impl Future<Output = TestResult<T>>) -> TestResult<T> {
    let started = Instant::now();
    let value = future.await.map_err(|e| format!("step `{name}` failed: {e}"))?;
    println!("step {name}: ok ({} ms)", started.elapsed().as_millis());
    Ok(value)
}

/// Microseconds as the console writes milliseconds: up to three decimals, trailing zeros dropped.
fn millis(us: i64) -> String {
    let text = format!("{}.{:03}", us / 1000, (us % 1000).abs());
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Logs in through the form.
async fn log_in(browser: &Browser, user_id: &str) -> TestResult {
    browser.fill("#f-user_id", user_id).await?;
    browser.fill("#f-password", DEMO_PASSWORD).await?;
    browser.click("form.login button[type=submit]").await?;
    browser.until_path("the login leads on", |path| !path.starts_with("/console/login")).await?;
    let shown = browser.text_of("header .user-id").await?;
    ensure(shown == user_id, || format!("the header names `{shown}`, not `{user_id}`"))
}

/// a. `/console` sends a visitor to the login page, in Chinese; the language link switches it to English;
/// `hq.declarant` logs in and lands on the declarations, still in English.
async fn log_in_after_switching_to_english(browser: &mut Browser) -> TestResult {
    browser.open("/console").await?;
    let path = browser.until_path("a visitor is sent to log in", |path| path.starts_with("/console/login")).await?;
    ensure(path.contains("next="), || format!("the login page does not know where to go next: {path}"))?;
    browser.until_lang("zh-Hans").await?;
    browser.until_title("登录").await?;
    ensure(browser.text().await?.contains("用户名"), || "the login form is not labelled in Chinese".into())?;
    browser.screenshot("login-zh").await?;

    browser.click("nav.lang-switch a[hreflang=en]").await?;
    browser.until_lang("en").await?;
    browser.until_title("Log in").await?;
    ensure(browser.path().await?.contains("next="), || "switching the language lost `next`".into())?;
    browser.screenshot("login-en").await?;

    log_in(browser, "hq.declarant").await?;
    browser.until_path("the declarant lands on the declarations", |path| path == "/console/declarations").await?;
    browser.until_lang("en").await?;
    browser.until_title("Declarations").await?;
    ensure(browser.text().await?.contains("No declaration matches."), || "the new user's list is not empty".into())?;
    // The header names the user's enterprise by its registered name, and keeps to one row.
    let party = browser.text_of("header .user-party").await?;
    ensure(party == "Hengqin Demo Trading Co.", || format!("the header names the party `{party}`"))?;
    browser.header_is_one_row().await?;
    browser.screenshot("declarations-empty").await?;
    Ok(())
}

/// Fills the submission form with the notebook computers of `examples/first_line_in.json`.
async fn fill_laptops(browser: &Browser, reference: &str, hs: &str) -> TestResult {
    browser.fill("#f-reference", reference).await?;
    browser.choose("#f-zone", "hengqin").await?;
    browser.choose("#f-flow", "first_line_in").await?;
    let declarant = browser.find("#f-declarant").await?;
    let (value, readonly) = (declarant.prop("value").await?, declarant.attr("readonly").await?);
    ensure(value.as_deref() == Some(HQ) && readonly.is_some(), || {
        format!("the declarant should be the user's own enterprise, read-only; it is {value:?} (readonly {readonly:?})")
    })?;
    browser.fill("#f-importer", HQ).await?;
    browser.choose("#f-purpose", "own_use").await?;
    browser.fill("#f-currency", "MOP").await?;
    browser.fill("#f-exchange_rate", "0.8812").await?;
    browser.choose("#f-value_basis", "CIF").await?;
    browser.fill("#f-freight", "0").await?;
    browser.fill("#f-insurance", "0").await?;
    browser.fill("#f-items-0-hs", hs).await?;
    browser.fill("#f-items-0-description", "notebook computers").await?;
    browser.fill("#f-items-0-quantity", "20").await?;
    browser.fill("#f-items-0-unit", "C62").await?;
    browser.fill("#f-items-0-value", "160000.00").await?;
    browser.fill("#f-items-0-origin", "PT").await?;
    Ok(())
}

/// b. The declarant opens the form from the navigation, submits the laptops and reads the assessment:
/// exempt, the customs value, the rule ids with their explanations. Returns the declaration's id.
async fn submit_a_declaration_and_read_its_assessment(browser: &mut Browser, platform: &Platform) -> TestResult<i64> {
    browser.click("nav.site-nav a[href='/console/declarations/new']").await?;
    browser.until_path("the form opens", |path| path == "/console/declarations/new").await?;
    browser.until_title("New declaration").await?;
    let date = browser.find("#f-declared_on").await?.prop("value").await?;
    ensure(date.as_deref() == Some("2026-03-06"), || {
        format!("the declaration date should default to today: {date:?}")
    })?;
    // The date shows as the hint says (not in the browser's locale), only the first item is marked required,
    // and the six fields of an item share one row.
    browser
        .check(
            "var date = document.getElementById('f-declared_on'), \
                 hint = document.getElementById(date.getAttribute('aria-describedby')), \
                 marked = Array.from(document.querySelectorAll('.item')).map(function (row) { \
                   return row.querySelectorAll('abbr.required').length; }), \
                 tops = Array.from(document.querySelector('.item .grid.six').querySelectorAll(':scope > .field > input')) \
                   .map(function (input) { return input.getBoundingClientRect().top; }); \
             return (date.type === 'text' && hint.textContent.indexOf('YYYY-MM-DD') >= 0 && \
                     marked[0] === 4 && marked[1] === 0 && marked[2] === 0 && \
                     tops.length === 6 && tops.every(function (top) { return top === tops[0]; })) || \
               JSON.stringify({ type: date.type, hint: hint.textContent, marked: marked, tops: tops });",
        )
        .await?;
    // "Add item" adds a fourth row in place, renumbered and, like the other rows after the first, not required.
    browser.click("[data-add-item]").await?;
    browser
        .check(
            "var rows = document.querySelectorAll('.item'), last = rows[rows.length - 1]; \
             return (rows.length === 4 && !!last.querySelector('#f-items-3-hs') && \
                     !last.querySelector('abbr.required, [required]') && \
                     document.activeElement === last.querySelector('input')) || \
               ('after adding a row: ' + rows.length + ' rows, the last one ' + last.innerHTML.slice(0, 300));",
        )
        .await?;
    fill_laptops(browser, "HQ-BROWSER-001", "84713000").await?;
    browser.screenshot("form-filled").await?;

    browser.click("button[name=action][value=submit]").await?;
    let path = browser
        .until_path("the declaration is recorded", |path| {
            path.strip_prefix("/console/declarations/").is_some_and(|id| id.parse::<i64>().is_ok())
        })
        .await?;
    let id: i64 = path.trim_start_matches("/console/declarations/").parse()?;
    browser.until_title("Declaration HQ-BROWSER-001").await?;

    // What the page shows is what was recorded.
    let recorded = platform.app.get_declaration(&Principal::platform("test"), id).await?;
    let item = &recorded["assessment"]["items"][0];
    ensure(item["treatment"] == "exempt" && item["customs_value_cny"] == "140992.00", || {
        format!("unexpected assessment: {}", recorded["assessment"])
    })?;
    let cells: Value = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('section[aria-labelledby=items] tbody tr:first-child td')) \
             .map(function (td) { return td.innerText.trim(); })",
            vec![],
        )
        .await?;
    let cells: Vec<String> = serde_json::from_value(cells)?;
    // Columns: HS, description, quantity, value, origin, treatment, customs value, duty, consumption tax, VAT.
    ensure(cells.len() == 10, || format!("the items table's first row has cells {cells:?}"))?;
    ensure(cells[0] == "84713000" && cells[5] == "Exempt" && cells[6] == "140,992.00", || {
        format!("the items table shows {cells:?}; expected HS 84713000, Exempt, 140,992.00")
    })?;
    let rules: Value = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('.item-rules ul.rules li')).map(function (li) { \
             var code = li.querySelector('code'), text = li.querySelector('span'); \
             return [code ? code.textContent.trim() : '', text ? text.textContent.trim() : '']; })",
            vec![],
        )
        .await?;
    let rules: Vec<(String, String)> = serde_json::from_value(rules)?;
    let basis: Vec<&str> = item["basis"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    ensure(!basis.is_empty() && basis.contains(&"first_line.exempt_equipment"), || format!("basis {basis:?}"))?;
    for id in &basis {
        let shown = rules.iter().find(|(code, _)| code == id);
        ensure(shown.is_some_and(|(_, text)| !text.is_empty()), || {
            format!("rule `{id}` is not shown with an explanation; the page has {rules:?}")
        })?;
    }
    let exempt = rules.iter().find(|(code, _)| code == "first_line.exempt_equipment").map(|(_, text)| text.as_str());
    ensure(exempt.is_some_and(|text| text.starts_with("First line in: equipment")), || {
        format!("the exemption is explained as {exempt:?}")
    })?;
    let text = browser.text().await?;
    ensure(text.contains("Release"), || "the channel is not shown".into())?;
    // Money has two decimals, and the eleven columns of the items fit the window.
    let freight = browser.text_of("dl.facts div:nth-child(9) dd").await?;
    ensure(freight == "0.00", || format!("the freight reads `{freight}`"))?;
    browser.fits("section[aria-labelledby=items] .table-scroll").await?;
    browser.screenshot("declaration-detail").await?;
    Ok(id)
}

/// c. A declaration with an HS code that does not exist comes back with the problem in the summary and next
/// to the HS field, the typed values kept; nothing is recorded.
async fn a_bad_hs_code_is_shown_next_to_its_field(browser: &mut Browser) -> TestResult {
    browser.open("/console/declarations/new").await?;
    browser.until_title("New declaration").await?;
    fill_laptops(browser, "HQ-BROWSER-002", "99999999").await?;
    browser.click("button[name=action][value=submit]").await?;
    browser.find("#error-summary").await?;
    ensure(browser.path().await? == "/console/declarations/new", || "a refused form should come back".into())?;
    let inline = browser.text_of("#e-f-items-0-hs").await?;
    ensure(inline.contains("99999999"), || format!("the error next to the HS code reads `{inline}`"))?;
    let quoted = browser.text_of("#e-f-items-0-hs code").await?;
    ensure(quoted == "99999999" && !inline.contains('`'), || format!("the HS code is not set as code: `{inline}`"))?;
    let layout: Value = browser
        .client
        .execute(
            "var input = document.getElementById('f-items-0-hs'), errors = document.getElementById('e-f-items-0-hs'); \
             return { same_field: errors.closest('.field') === input.closest('.field'), \
                      invalid: input.getAttribute('aria-invalid'), \
                      described: input.getAttribute('aria-describedby'), \
                      value: input.value, \
                      reference: document.getElementById('f-reference').value, \
                      other_errors: document.querySelectorAll('.field-errors').length, \
                      linked: !!document.querySelector('#error-summary a[href=\"#f-items-0-hs\"]') }",
            vec![],
        )
        .await?;
    ensure(layout["same_field"] == true, || format!("the error is not in the HS code's field: {layout}"))?;
    ensure(layout["invalid"] == "true", || format!("the HS input is not marked invalid: {layout}"))?;
    let described = layout["described"].as_str().unwrap_or_default();
    ensure(described.split(' ').any(|id| id == "e-f-items-0-hs"), || format!("not described by its error: {layout}"))?;
    ensure(layout["value"] == "99999999" && layout["reference"] == "HQ-BROWSER-002", || {
        format!("the typed values were not kept: {layout}")
    })?;
    ensure(layout["other_errors"] == 1, || format!("only the HS code is wrong: {layout}"))?;
    ensure(layout["linked"] == true, || format!("the summary does not link to the field: {layout}"))?;
    browser.screenshot("inline-error").await?;
    Ok(())
}

/// d. The shop's declaration is refused to the exempt importer's declarant (403 page) and is not in their
/// list, which holds their own declaration only.
async fn another_enterprises_declaration_is_refused(
    browser: &mut Browser,
    platform: &Platform,
    own: i64,
) -> TestResult {
    browser.open(&format!("/console/declarations/{}", platform.foreign_id)).await?;
    browser.until_title("Not allowed").await?;
    let text = browser.text().await?;
    ensure(!text.contains("SL-BROWSER-1") && !text.contains(SHOP), || format!("the 403 page tells too much: {text}"))?;
    // The page's status, as the browser receives it.
    let status = browser
        .client
        .execute_async(
            "var done = arguments[arguments.length - 1]; \
             fetch(arguments[0], { credentials: 'same-origin' }).then(function (r) { done(r.status); }, \
             function (e) { done(String(e)); });",
            vec![json!(format!("/console/declarations/{}", platform.foreign_id))],
        )
        .await?;
    ensure(status == 403, || format!("another enterprise's declaration answers {status}, not 403"))?;
    browser.screenshot("forbidden").await?;

    browser.open("/console/declarations").await?;
    browser.until_title("Declarations").await?;
    let links: Value = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('table.data tbody tr th a')) \
             .map(function (a) { return a.getAttribute('href'); })",
            vec![],
        )
        .await?;
    let links: Vec<String> = serde_json::from_value(links)?;
    ensure(links == [format!("/console/declarations/{own}")], || {
        format!("the list should hold declaration {own} only, not {}: {links:?}", platform.foreign_id)
    })?;
    let text = browser.text().await?;
    ensure(text.contains("HQ-BROWSER-001") && !text.contains("SL-BROWSER-1"), || format!("the list shows: {text}"))?;
    browser.screenshot("declarations-own").await?;
    Ok(())
}

/// e. The declarant logs out; the customs officer logs in and opens the monitor: three charts that
/// Chart.js drew (painted pixels on each canvas), their data tables, and the decision-time figures; then
/// the list of every enterprise's declarations.
async fn the_officer_sees_the_charts_drawn(browser: &mut Browser, platform: &Platform) -> TestResult {
    browser.click("form[action='/console/logout'] button[type=submit]").await?;
    browser.until_path("logging out leads to the login page", |path| path.starts_with("/console/login")).await?;
    browser.until_title("Log in").await?;
    // The monitor is closed after logout; logging in from there leads back to it.
    browser.open("/console/monitor").await?;
    browser.until_path("the monitor asks to log in", |path| path.starts_with("/console/login?next=")).await?;
    log_in(browser, "officer").await?;
    browser.until_path("the officer lands on the monitor", |path| path == "/console/monitor").await?;
    browser.until_title("Monitoring centre").await?;
    let party = browser.text_of("header .user-party").await?;
    ensure(party == "Hengqin Customs", || format!("the header names the customs office `{party}`"))?;
    browser.header_is_one_row().await?;
    let drawn = browser
        .until(
            "Chart.js drew the three charts",
            "var canvases = Array.from(document.querySelectorAll('canvas')); \
             if (canvases.length < 3 || !window.Chart || Object.keys(Chart.instances).length < 3) { return false; } \
             var painted = canvases.map(function (canvas) { \
               if (!canvas.width || !canvas.height) { return 0; } \
               var pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data, n = 0; \
               for (var i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) { n++; } } \
               return n; }); \
             return painted.every(function (n) { return n > 0; }) && \
               { charts: Object.keys(Chart.instances).length, painted: painted, \
                 sizes: canvases.map(function (c) { return [c.id, c.width, c.height]; }) };",
        )
        .await?;
    println!("  monitor: {drawn}");
    let ids: Vec<&str> = drawn["sizes"].as_array().into_iter().flatten().filter_map(|s| s[0].as_str()).collect();
    ensure(ids == ["chart-flows", "chart-treatments", "chart-taxes"], || format!("canvases {ids:?}"))?;

    // The numbers behind the charts, in the data tables (inside <details>).
    let tables: Value = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('figure.chart details table')) \
             .map(function (t) { return t.textContent; })",
            vec![],
        )
        .await?;
    let tables: Vec<String> = serde_json::from_value(tables)?;
    ensure(tables.len() == 3, || format!("{} data tables", tables.len()))?;
    ensure(tables[1].contains("Exempt") && tables[1].contains("Taxed"), || format!("treatments table: {}", tables[1]))?;
    ensure(tables[0].contains("2026-03-02") || tables[0].contains("2026-03-06"), || format!("flows: {}", tables[0]))?;
    ensure(tables[2].contains("24,332.12"), || format!("the taxes table lacks the shop's 24,332.12: {}", tables[2]))?;

    let figures: Value = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('dl.figures > div')).map(function (d) { \
             return [d.querySelector('dt').textContent.trim(), d.querySelector('dd').textContent.trim()]; })",
            vec![],
        )
        .await?;
    let figures: Vec<(String, String)> = serde_json::from_value(figures)?;
    ensure(figures.len() == 2 && figures[0].0 == "Median" && figures[1].0 == "90th percentile", || {
        format!("decision-time figures {figures:?}")
    })?;
    // The figures are the platform's own, in milliseconds.
    let range = (NaiveDate::from_ymd_opt(2026, 2, 5), NaiveDate::from_ymd_opt(2026, 3, 6));
    let (Some(declared_from), Some(declared_to)) = range else { return Err("bad dates".into()) };
    let query = StatsQuery { zone: None, declarant: None, declared_from, declared_to };
    let stats = platform.app.stats(&Principal::platform("test"), query).await?;
    let expected = [stats.decision_us_p50, stats.decision_us_p90].map(|us| us.map(|us| format!("{} ms", millis(us))));
    let shown = figures.iter().map(|(_, figure)| Some(figure.clone())).collect::<Vec<_>>();
    ensure(shown == expected, || format!("the page shows {shown:?}, the platform measured {expected:?}"))?;
    println!("  decision time: {figures:?}");
    browser.screenshot("monitor").await?;

    browser.click("nav.site-nav a[href='/console/declarations']").await?;
    browser.until_path("the officer opens the declarations", |path| path == "/console/declarations").await?;
    let text = browser.text().await?;
    ensure(text.contains("HQ-BROWSER-001") && text.contains("SL-BROWSER-1"), || {
        format!("customs should see every enterprise's declarations: {text}")
    })?;
    ensure(text.contains("Hengqin Demo Trading Co.") && text.contains("Hengqin Demo Retail Shop"), || {
        format!("the declarants are not named: {text}")
    })?;
    browser.screenshot("officer-declarations").await?;
    Ok(())
}

/// f. The officer reads the shop's declaration, with consumption tax, in English: its items fit the window,
/// and on a narrow screen they scroll in their own box, not the page. Then the officer switches back to
/// Chinese on the declaration: the treatment and the page are in Chinese.
async fn the_officer_reads_the_declaration_in_chinese(
    browser: &mut Browser,
    platform: &Platform,
    id: i64,
) -> TestResult {
    browser.open(&format!("/console/declarations/{}", platform.foreign_id)).await?;
    browser.until_title("Declaration SL-BROWSER-1").await?;
    browser.fits("section[aria-labelledby=items] .table-scroll").await?;
    browser.screenshot("declaration-taxed").await?;
    browser.client.set_window_size(NARROW, WINDOW.1).await?;
    let page = browser.fits("html").await;
    browser.client.set_window_size(WINDOW.0, WINDOW.1).await?;
    page?;
    browser.screenshot_at("declaration-narrow", NARROW).await?;

    browser.open(&format!("/console/declarations/{id}")).await?;
    browser.until_title("Declaration HQ-BROWSER-001").await?;
    browser.click("nav.lang-switch a[hreflang=zh-Hans]").await?;
    browser.until_lang("zh-Hans").await?;
    browser.until_title("申报单 HQ-BROWSER-001").await?;
    let text = browser.text().await?;
    ensure(text.contains("免税") && text.contains("140,992.00"), || format!("the Chinese page shows: {text}"))?;
    browser.screenshot("declaration-zh").await?;
    browser.open("/console/monitor").await?;
    browser.until_lang("zh-Hans").await?;
    browser.until("the charts are drawn", "return window.Chart && Object.keys(Chart.instances).length === 3").await?;
    browser.screenshot("monitor-zh").await?;
    Ok(())
}

/// g. The auditor, whose navigation is the longest, logs in: the header still keeps to one row; the full
/// chain check passes.
async fn the_auditor_verifies_the_chain(browser: &mut Browser) -> TestResult {
    browser.click("form[action='/console/logout'] button[type=submit]").await?;
    browser.until_path("logging out leads to the login page", |path| path.starts_with("/console/login")).await?;
    browser.open("/console/chain?lang=en").await?;
    browser.until_path("the chain asks to log in", |path| path.starts_with("/console/login?next=")).await?;
    log_in(browser, "auditor").await?;
    browser.until_title("Chain verification").await?;
    browser.header_is_one_row().await?;
    let result = browser.text_of("p.result").await?;
    ensure(result.contains("intact"), || format!("the chain check reads `{result}`"))?;
    browser.screenshot("chain").await?;
    Ok(())
}
