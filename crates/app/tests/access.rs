//! Accounts, sessions, tokens and permissions through the use cases, on the embedded store: who can log
//! in, for how long, and what each party's users can see and change.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use zonegate_app::accounts::{AccountInput, TokenInput};
use zonegate_app::auth::Principal;
use zonegate_app::{App, AppError, Clock, ListQuery, StatsQuery, Submitted, DEMO_PASSWORD};
use zonegate_store::Store;
use zonegate_store_sqlite::SqliteStore;

/// A clock the test moves forward.
struct TestClock(AtomicI64);

impl TestClock {
    fn advance(&self, by: Duration) {
        self.0.fetch_add(by.num_microseconds().unwrap(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0.load(Ordering::SeqCst)).unwrap()
    }
}

async fn demo() -> (App, Arc<TestClock>, Arc<dyn Store>) {
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(start.timestamp_micros())));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let app = App::open(store.clone(), clock.clone()).await.unwrap();
    app.load_demo().await.unwrap();
    (app, clock, store)
}

async fn login(app: &App, user_id: &str) -> Principal {
    let session = app.login(user_id, DEMO_PASSWORD).await.unwrap();
    app.authenticate_session(&session.secret).await.unwrap()
}

fn declaration(declarant: &str, reference: &str) -> Value {
    json!({
        "reference": reference, "zone": "hengqin", "flow": "first_line_in", "declared_on": "2026-03-02",
        "declarant": declarant, "importer": declarant, "purpose": "own_use", "currency": "CNY",
        "exchange_rate": "1", "value_basis": "CIF", "freight": "0", "insurance": "0",
        "items": [ { "hs": "84713000", "quantity": "2", "unit": "C62", "value": "8000.00", "origin": "PT" } ]
    })
}

const HQ: &str = "91440400MA4UJ0J57H";
const SHOP: &str = "91440400MA55H0P10R";

#[tokio::test]
async fn demo_users_log_in_and_wrong_passwords_do_not() {
    let (app, _, _) = demo().await;
    let officer = login(&app, "officer").await;
    assert_eq!(officer.party, "customs:hengqin");
    assert_eq!(officer.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(), vec!["officer"]);
    assert!(matches!(app.login("officer", "hengqin-demo-2025").await, Err(AppError::Unauthenticated)));
    assert!(matches!(app.login("nobody", DEMO_PASSWORD).await, Err(AppError::Unauthenticated)));
    assert!(matches!(app.authenticate_session("not-a-session").await, Err(AppError::Unauthenticated)));
    // Loading the demo again creates nobody twice.
    assert_eq!(app.load_demo().await.unwrap(), 0);
}

#[tokio::test]
async fn sessions_end_at_logout_and_expire() {
    let (app, clock, _) = demo().await;
    let first = app.login("auditor", DEMO_PASSWORD).await.unwrap();
    app.authenticate_session(&first.secret).await.unwrap();
    app.logout(&first.secret).await.unwrap();
    assert!(matches!(app.authenticate_session(&first.secret).await, Err(AppError::Unauthenticated)));

    let second = app.login("auditor", DEMO_PASSWORD).await.unwrap();
    clock.advance(Duration::hours(7));
    app.authenticate_session(&second.secret).await.unwrap();
    clock.advance(Duration::hours(1));
    assert!(matches!(app.authenticate_session(&second.secret).await, Err(AppError::Unauthenticated)));
}

#[tokio::test]
async fn tokens_work_until_revoked_or_expired_and_never_show_their_hash() {
    let (app, clock, _) = demo().await;
    let clerk = login(&app, "hq.declarant").await;
    let input = TokenInput { name: Some("ERP connector".into()), expires_in_days: Some(2), user_id: None };
    let (description, token) = app.issue_token(&clerk, input).await.unwrap();
    assert!(token.starts_with("zgt_"));
    assert_eq!(description["state"], "active");
    assert!(description.get("secret_sha256").is_none());
    assert_eq!(app.authenticate_token(&token).await.unwrap(), clerk);
    // A token with the right id and a wrong secret is refused.
    let forged = format!("{}{}", &token[..token.len() - 1], if token.ends_with('A') { 'B' } else { 'A' });
    assert!(matches!(app.authenticate_token(&forged).await, Err(AppError::Unauthenticated)));

    clock.advance(Duration::days(2));
    assert!(matches!(app.authenticate_token(&token).await, Err(AppError::Unauthenticated)));

    let (description, token) =
        app.issue_token(&clerk, TokenInput { name: Some("nightly".into()), ..TokenInput::default() }).await.unwrap();
    let token_id = description["token_id"].as_str().unwrap().to_owned();
    // Another enterprise's user may not revoke it; the owner may, and twice is the same revocation.
    let shop = login(&app, "shop.declarant").await;
    assert!(matches!(app.revoke_token(&shop, &token_id).await, Err(AppError::Forbidden { .. })));
    let revoked = app.revoke_token(&clerk, &token_id).await.unwrap();
    assert_eq!(revoked["state"], "revoked");
    assert_eq!(app.revoke_token(&clerk, &token_id).await.unwrap()["revoked_at"], revoked["revoked_at"]);
    assert!(matches!(app.authenticate_token(&token).await, Err(AppError::Unauthenticated)));
    let listed = app.list_tokens(&clerk, None).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|t| t.get("secret_sha256").is_none() && t.get("token").is_none()));
}

#[tokio::test]
async fn a_deactivated_account_loses_its_sessions_and_tokens_at_once() {
    let (app, _, _) = demo().await;
    let session = app.login("shop.declarant", DEMO_PASSWORD).await.unwrap();
    let shop = app.authenticate_session(&session.secret).await.unwrap();
    let (_, token) =
        app.issue_token(&shop, TokenInput { name: Some("pos".into()), ..TokenInput::default() }).await.unwrap();
    let supervisor = login(&app, "supervisor").await;
    let body = app.deactivate_account(&supervisor, "shop.declarant").await.unwrap();
    assert_eq!(body["active"], false);
    assert!(matches!(app.authenticate_session(&session.secret).await, Err(AppError::Unauthenticated)));
    assert!(matches!(app.authenticate_token(&token).await, Err(AppError::Unauthenticated)));
    assert!(matches!(app.login("shop.declarant", DEMO_PASSWORD).await, Err(AppError::Unauthenticated)));
}

#[tokio::test]
async fn enterprise_users_see_and_submit_only_for_their_own_party() {
    let (app, _, store) = demo().await;
    let hq = login(&app, "hq.declarant").await;
    let shop = login(&app, "shop.declarant").await;
    let Submitted::Created(body) = app.submit(&hq, &declaration(HQ, "HQ-1")).await.unwrap() else { panic!() };
    let hq_id = body["id"].as_i64().unwrap();
    // Submitting in another party's name is refused before validation (the document need not be valid).
    assert!(matches!(app.submit(&shop, &declaration(HQ, "SHOP-1")).await, Err(AppError::Forbidden { .. })));
    assert!(matches!(app.submit(&shop, &json!({ "declarant": HQ })).await, Err(AppError::Forbidden { .. })));
    assert!(matches!(app.get_declaration(&shop, hq_id).await, Err(AppError::Forbidden { .. })));
    assert!(matches!(app.declaration_events(&shop, hq_id).await, Err(AppError::Forbidden { .. })));
    // Listing is limited to the caller's party; asking for another's is refused.
    let (items, _) = app.list_declarations(&shop, ListQuery::default()).await.unwrap();
    assert!(items.is_empty());
    let (items, _) = app.list_declarations(&hq, ListQuery::default()).await.unwrap();
    assert_eq!(items.len(), 1);
    let other = ListQuery { declarant: Some(HQ.into()), ..ListQuery::default() };
    assert!(matches!(app.list_declarations(&shop, other).await, Err(AppError::Forbidden { .. })));
    // Officers and auditors read everything; the auditor changes nothing.
    let officer = login(&app, "officer").await;
    let auditor = login(&app, "auditor").await;
    assert_eq!(app.get_declaration(&officer, hq_id).await.unwrap()["id"], hq_id);
    assert_eq!(app.get_declaration(&auditor, hq_id).await.unwrap()["id"], hq_id);
    assert!(matches!(app.submit(&auditor, &declaration(HQ, "A-1")).await, Err(AppError::Forbidden { .. })));
    assert!(matches!(app.verify(&officer).await, Err(AppError::Forbidden { .. })));
    app.verify(&auditor).await.unwrap();
    // Who submitted is recorded with the declaration, in its event.
    let events = app.declaration_events(&officer, hq_id).await.unwrap();
    assert_eq!(events.len(), 1);
    let payload: Value = serde_json::from_str(&events[0].payload_json).unwrap();
    assert_eq!(payload["submitted_by"], "hq.declarant");
    assert_eq!(store.get_declaration(hq_id).await.unwrap().submitted_by, "hq.declarant");
    // Authorities and banks see nothing that is not addressed to them.
    let bank = login(&app, "bank.boc").await;
    assert!(matches!(app.get_declaration(&bank, hq_id).await, Err(AppError::Forbidden { .. })));
    assert!(matches!(app.list_declarations(&bank, ListQuery::default()).await, Err(AppError::Forbidden { .. })));
}

#[tokio::test]
async fn monitoring_figures_are_for_customs_or_the_own_party() {
    let (app, _, _) = demo().await;
    let hq = login(&app, "hq.declarant").await;
    app.submit(&hq, &declaration(HQ, "HQ-1")).await.unwrap();
    let query = || StatsQuery {
        zone: None,
        declarant: None,
        declared_from: "2026-03-01".parse().unwrap(),
        declared_to: "2026-03-31".parse().unwrap(),
    };
    let officer = login(&app, "officer").await;
    let stats = app.stats(&officer, query()).await.unwrap();
    assert_eq!(stats.daily.iter().map(|d| d.declarations).sum::<i64>(), 1);
    let shop = login(&app, "shop.declarant").await;
    assert!(matches!(app.stats(&shop, query()).await, Err(AppError::Forbidden { .. })));
    let bank = login(&app, "bank.boc").await;
    assert!(matches!(app.stats(&bank, query()).await, Err(AppError::Forbidden { .. })));
}

fn account(user_id: &str, party: &str, kind: &str, roles: &[&str]) -> AccountInput {
    AccountInput {
        user_id: Some(user_id.into()),
        party: Some(party.into()),
        party_kind: Some(kind.into()),
        roles: Some(roles.iter().map(|r| (*r).to_owned()).collect()),
        password: Some("a long enough password".into()),
        display_name: Some("陈大文".into()),
        id_number: Some("M1234567(8)".into()),
    }
}

#[tokio::test]
async fn enterprise_admins_manage_their_own_party_and_personal_data_stays_out_of_events() {
    let (app, _, store) = demo().await;
    let admin = login(&app, "hq.admin").await;
    let created = app.create_account(&admin, account("hq.clerk2", HQ, "enterprise", &["declarant"])).await.unwrap();
    assert_eq!(created["recorded_by"], "hq.admin");
    assert!(created.get("password_hash").is_none());
    assert!(matches!(
        app.create_account(&admin, account("hq.clerk2", HQ, "enterprise", &["declarant"])).await,
        Err(AppError::AccountExists(_))
    ));
    assert!(matches!(
        app.create_account(&admin, account("shop.clerk9", SHOP, "enterprise", &["declarant"])).await,
        Err(AppError::Forbidden { .. })
    ));
    // Every problem at once: a bad id, a role of another kind of party, a short password.
    let mut bad = account("X", HQ, "enterprise", &["officer"]);
    bad.password = Some("short".into());
    let Err(AppError::Invalid(errors)) = app.create_account(&admin, bad).await else { panic!("expected 422") };
    let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["user_id", "roles[0]", "password"]);
    // The new user logs in; a declarant may not create accounts.
    let clerk = app
        .authenticate_session(&app.login("hq.clerk2", "a long enough password").await.unwrap().secret)
        .await
        .unwrap();
    assert!(matches!(
        app.create_account(&clerk, account("hq.clerk3", HQ, "enterprise", &["declarant"])).await,
        Err(AppError::Forbidden { .. })
    ));
    // The chain knows the account was created and by whom, never the name, ID number or password hash.
    let events = store.events(0, 500).await.unwrap();
    let account_events: Vec<_> = events.iter().filter(|e| e.kind == "account.recorded").collect();
    assert!(account_events.iter().any(|e| e.subject == "hq.clerk2" && e.payload_json.contains("hq.admin")));
    for event in &events {
        assert!(!event.payload_json.contains("陈大文"), "{}", event.payload_json);
        assert!(!event.payload_json.contains("M1234567"), "{}", event.payload_json);
        assert!(!event.payload_json.contains("$argon2"), "{}", event.payload_json);
    }
    // Listing: the admin sees the party's accounts; a declarant may not list them; a supervisor sees all.
    let listed = app.list_accounts(&admin, None, false).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(matches!(app.list_accounts(&admin, None, true).await, Err(AppError::Forbidden { .. })));
    assert!(matches!(app.list_accounts(&clerk, None, false).await, Err(AppError::Forbidden { .. })));
    let supervisor = login(&app, "supervisor").await;
    assert_eq!(app.list_accounts(&supervisor, None, true).await.unwrap().len(), 10);
}

/// A clock that moves one millisecond every time it is read, so work takes time.
struct TickingClock(AtomicI64);

impl Clock for TickingClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0.fetch_add(1_000, Ordering::SeqCst)).unwrap()
    }
}

#[tokio::test]
async fn the_time_from_submission_to_decision_is_recorded_and_measured() {
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let app = App::open(store.clone(), Arc::new(TickingClock(AtomicI64::new(start.timestamp_micros())))).await.unwrap();
    app.load_demo().await.unwrap();
    let operator = Principal::platform("test");
    app.submit(&operator, &declaration(HQ, "HQ-T1")).await.unwrap();
    let stored = store.find_declaration(HQ, "HQ-T1").await.unwrap();
    assert!(stored.received_at < stored.recorded_at, "{} !< {}", stored.received_at, stored.recorded_at);
    let query = StatsQuery {
        zone: None,
        declarant: None,
        declared_from: "2026-03-02".parse().unwrap(),
        declared_to: "2026-03-02".parse().unwrap(),
    };
    let stats = app.stats(&operator, query).await.unwrap();
    let latency = (stored.recorded_at - stored.received_at).num_microseconds().unwrap();
    assert_eq!(stats.decision_us_p50, Some(latency));
    assert_eq!(stats.decision_us_p90, Some(latency));
}

// ---- Remembered credentials: every change in this process counts at the very next request ----

fn token_input(name: &str, days: i64) -> TokenInput {
    TokenInput { name: Some(name.into()), expires_in_days: Some(days), user_id: None }
}

#[tokio::test]
async fn a_revoked_token_is_refused_on_the_very_next_request_after_being_used() {
    let (app, _, _) = demo().await;
    let clerk = login(&app, "hq.declarant").await;
    let (description, token) = app.issue_token(&clerk, token_input("erp", 30)).await.unwrap();
    let (_, other) = app.issue_token(&clerk, token_input("backup", 30)).await.unwrap();
    for _ in 0..3 {
        assert_eq!(app.authenticate_token(&token).await.unwrap(), clerk);
        assert_eq!(app.authenticate_token(&other).await.unwrap(), clerk);
    }
    app.revoke_token(&clerk, description["token_id"].as_str().unwrap()).await.unwrap();
    assert!(matches!(app.authenticate_token(&token).await, Err(AppError::Unauthenticated)));
    assert!(matches!(app.authenticate_token(&token).await, Err(AppError::Unauthenticated)));
    // The account's other token is not affected.
    assert_eq!(app.authenticate_token(&other).await.unwrap(), clerk);
}

#[tokio::test]
async fn a_deactivated_accounts_remembered_token_and_session_are_refused_at_once() {
    let (app, _, _) = demo().await;
    let session = app.login("shop.declarant", DEMO_PASSWORD).await.unwrap();
    let shop = app.authenticate_session(&session.secret).await.unwrap();
    let (_, token) = app.issue_token(&shop, token_input("pos", 30)).await.unwrap();
    for _ in 0..3 {
        assert_eq!(app.authenticate_token(&token).await.unwrap(), shop);
        assert_eq!(app.authenticate_session(&session.secret).await.unwrap(), shop);
    }
    let supervisor = login(&app, "supervisor").await;
    app.deactivate_account(&supervisor, "shop.declarant").await.unwrap();
    assert!(matches!(app.authenticate_token(&token).await, Err(AppError::Unauthenticated)));
    assert!(matches!(app.authenticate_session(&session.secret).await, Err(AppError::Unauthenticated)));
    // Others' credentials still work.
    assert_eq!(
        app.authenticate_session(&app.login("hq.declarant", DEMO_PASSWORD).await.unwrap().secret)
            .await
            .unwrap()
            .user_id,
        "hq.declarant"
    );
}

#[tokio::test]
async fn a_remembered_token_is_refused_the_moment_it_expires() {
    let (app, clock, _) = demo().await;
    let clerk = login(&app, "hq.declarant").await;
    let (_, token) = app.issue_token(&clerk, token_input("one day", 1)).await.unwrap();
    // Used one second before it expires, so it is remembered when the expiry passes.
    clock.advance(Duration::days(1) - Duration::seconds(1));
    assert_eq!(app.authenticate_token(&token).await.unwrap(), clerk);
    clock.advance(Duration::milliseconds(999));
    assert_eq!(app.authenticate_token(&token).await.unwrap(), clerk);
    clock.advance(Duration::milliseconds(1));
    assert!(matches!(app.authenticate_token(&token).await, Err(AppError::Unauthenticated)));
    clock.advance(Duration::seconds(10));
    assert!(matches!(app.authenticate_token(&token).await, Err(AppError::Unauthenticated)));
}

#[tokio::test]
async fn a_freshly_issued_token_works_at_once_and_forged_ones_never() {
    let (app, _, _) = demo().await;
    let clerk = login(&app, "hq.declarant").await;
    let (_, first) = app.issue_token(&clerk, token_input("first", 30)).await.unwrap();
    assert_eq!(app.authenticate_token(&first).await.unwrap(), clerk);
    // A well-formed token nobody issued is refused, and that refusal does not outlive the next issue.
    let unknown = format!("zgt_0123456789abcdef_{}", "A".repeat(43));
    assert!(matches!(app.authenticate_token(&unknown).await, Err(AppError::Unauthenticated)));
    let (_, second) = app.issue_token(&clerk, token_input("second", 30)).await.unwrap();
    assert_eq!(app.authenticate_token(&second).await.unwrap(), clerk);
    // A remembered token's id with another secret is refused.
    let forged = format!("{}{}", &first[..first.len() - 1], if first.ends_with('A') { 'B' } else { 'A' });
    assert!(matches!(app.authenticate_token(&forged).await, Err(AppError::Unauthenticated)));
    assert_eq!(app.authenticate_token(&first).await.unwrap(), clerk);
}

#[tokio::test]
async fn another_nodes_revocation_and_deactivation_count_here_within_the_cache_ttl() {
    let (here, clock, store) = demo().await;
    // A second process on the same database, with the same clock.
    let there = App::open(store.clone(), clock.clone()).await.unwrap();
    let clerk = login(&here, "hq.declarant").await;
    let (description, token) = here.issue_token(&clerk, token_input("erp", 30)).await.unwrap();
    let (_, kept) = here.issue_token(&clerk, token_input("kept", 30)).await.unwrap();
    assert_eq!(here.authenticate_token(&token).await.unwrap(), clerk);
    assert_eq!(here.authenticate_token(&kept).await.unwrap(), clerk);
    there.revoke_token(&clerk, description["token_id"].as_str().unwrap()).await.unwrap();
    // The other node's own memory knows at once; this one may trust what it read for less than the TTL.
    assert!(matches!(there.authenticate_token(&token).await, Err(AppError::Unauthenticated)));
    assert_eq!(here.authenticate_token(&token).await.unwrap(), clerk, "remembered for less than the TTL");
    let ttl = Duration::milliseconds(zonegate_app::credential_cache::CREDENTIAL_CACHE_TTL_MILLIS);
    clock.advance(ttl);
    assert!(matches!(here.authenticate_token(&token).await, Err(AppError::Unauthenticated)));

    assert_eq!(here.authenticate_token(&kept).await.unwrap(), clerk);
    let supervisor = login(&there, "supervisor").await;
    there.deactivate_account(&supervisor, "hq.declarant").await.unwrap();
    clock.advance(ttl);
    assert!(matches!(here.authenticate_token(&kept).await, Err(AppError::Unauthenticated)));
}
