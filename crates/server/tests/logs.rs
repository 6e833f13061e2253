//! What the logs hold after logins, refusals and account creation: failed logins and refusals are there,
//! by user fingerprint; passwords, tokens, session secrets, login names and personal data are not.
//!
//! Its own test binary with one test, because it installs the process-wide tracing subscriber (a
//! thread-local one misses events whose callsites other tests' threads registered first).

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use chrono::TimeZone;
use serde_json::{json, Value};
use tower::ServiceExt;
use zonegate_app::accounts::TokenInput;
use zonegate_app::{App, FixedClock, DEMO_PASSWORD};
use zonegate_server::{router, ServerConfig};
use zonegate_store_sqlite::SqliteStore;

/// Captures what the tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn post(uri: &str, auth: Option<&str>, body: &Value) -> Request<Body> {
    let mut builder = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = auth {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::from(body.to_string())).expect("request")
}

#[tokio::test]
async fn logs_hold_no_passwords_tokens_or_personal_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");

    let clock = FixedClock(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap());
    let app = Arc::new(App::open(Arc::new(SqliteStore::open_in_memory().unwrap()), Arc::new(clock)).await.unwrap());
    app.load_demo().await.unwrap();
    let router = router(app.clone(), ServerConfig::standard());
    let session = app.login("supervisor", DEMO_PASSWORD).await.unwrap();
    let principal = app.authenticate_session(&session.secret).await.unwrap();
    let input = TokenInput { name: Some("test".into()), ..TokenInput::default() };
    let supervisor = app.issue_token(&principal, input).await.unwrap().1;

    let person = json!({ "user_id": "chan.taiman", "party": "customs:hengqin", "party_kind": "customs", "roles": ["officer"],
                         "password": "Secret-Pass-Word-9", "display_name": "陳大文", "id_number": "M123456(7)" });
    let (status, _, body) = send(&router, post("/v1/accounts", Some(&supervisor), &person)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let wrong = json!({ "user_id": "chan.taiman", "password": "Wrong-Pass-Word-0" });
    assert_eq!(send(&router, post("/v1/session", None, &wrong)).await.0, StatusCode::UNAUTHORIZED);
    let right = json!({ "user_id": "chan.taiman", "password": "Secret-Pass-Word-9" });
    let (status, headers, _) = send(&router, post("/v1/session", None, &right)).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
    let secret = cookie.split_once('=').unwrap().1.to_owned();
    // An officer may not verify the chain: the refusal is logged, by fingerprint.
    let mut verify = Request::get("/v1/chain/verify").body(Body::empty()).unwrap();
    verify.headers_mut().insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
    assert_eq!(send(&router, verify).await.0, StatusCode::FORBIDDEN);
    let forged = "zgt_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let mut whoami = Request::builder().method(Method::GET).uri("/v1/session").body(Body::empty()).unwrap();
    whoami.headers_mut().insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {forged}")).unwrap());
    assert_eq!(send(&router, whoami).await.0, StatusCode::UNAUTHORIZED);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("login failed"), "failed logins are logged:\n{logs}");
    assert!(logs.contains("refused"), "refusals are logged:\n{logs}");
    assert!(logs.contains("authentication failed"), "bad tokens are logged:\n{logs}");
    assert!(logs.contains(&zonegate_server::fingerprint("chan.taiman")), "users appear by fingerprint:\n{logs}");
    for secret_or_personal in [
        "Secret-Pass-Word-9",
        "Wrong-Pass-Word-0",
        "陳大文",
        "M123456",
        "chan.taiman",
        &supervisor[4..],
        &secret,
        "AAAAAAAAAAAAAAAA",
    ] {
        assert!(!logs.contains(secret_or_personal), "`{secret_or_personal}` appears in the logs:\n{logs}");
    }
}
