//! The backend conformance suite: what every [`Store`] must do, written once against the trait.
//!
//! Each case is a public async function taking a fresh, empty, migrated store and panicking on the first
//! outcome a user would see differently. A backend runs all of them with [`conformance_tests!`](crate::conformance_tests) from its
//! `tests/conformance.rs`, handing in its own runner (which makes the fresh store and cleans up after):
//!
//! ```text
//! async fn run(name: &'static str, case: zonegate_store::conformance::Case) {
//!     let store = MyStore::open_fresh().await.unwrap();
//!     case(std::sync::Arc::new(store)).await;
//! }
//! zonegate_store::conformance_tests!(run);
//! ```
//!
//! The generated tests use `#[tokio::test(flavor = "multi_thread")]`, so the backend needs `tokio` (with
//! `macros` and `rt-multi-thread`) among its dev-dependencies. [`CASES`] lists the same cases by name.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use zonegate_ledger::{
    Account, AccountFlags, AccountId, AccountKind, LedgerItem, LedgerKey, Transfer, TransferCode, TransferId, Treatment,
};

use crate::backend::{
    declaration_subject, ledger_document_as_stored, ledger_transfers_sha256, nearest_rank, stored_ledger_document,
    LedgerDocumentEvent, ACCOUNT_RECORDED, CBEC_BATCH_RECORDED, DECLARATION_RECORDED, INSPECTION_RECORDED,
    LEDGER_DOCUMENT_RECORDED, PARTY_RECORDED, POLICY_ROWS_APPENDED, TOKEN_ISSUED, TOKEN_REVOKED,
};
use crate::chain::{self, GENESIS_HASH};
use crate::{
    AccountRecord, CbecCommitted, CbecRecord, DailyFlow, DeclarantHistory, DeclarationFilter, DeclarationStats,
    InspectionOutcome, InspectionRecord, LedgerDocumentOutcome, LedgerLog, NewCbecBatch, NewDeclaration,
    NewLedgerDocument, PartyRecord, PolicyRow, Revocation, SessionRecord, StatsQuery, Store, StoreError, StoreResult,
    StoredDeclaration, StoredLedgerDocument, SubmitOutcome, TokenRecord, CBEC_LOG_PAGE_MAX, PAGE_SIZE_MAX,
};

/// One conformance case, boxed so runners can take any of them.
pub type Case = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Generates one `#[tokio::test]` per conformance case, each calling `$runner(name, case).await` where
/// `$runner` is an `async fn(&'static str, zonegate_store::conformance::Case)` of the calling crate.
#[macro_export]
macro_rules! conformance_tests {
    ($runner:path) => {
        $crate::conformance_tests!(@cases $runner;
            submit_creates_and_reads_back,
            submit_is_idempotent,
            conflicting_document_returns_first_record,
            same_reference_under_other_declarant_is_distinct,
            ids_increase_in_recording_order,
            missing_records_are_not_found,
            list_filters_by_flow_and_declarant,
            list_filters_by_declared_on_inclusive,
            list_filters_by_treatment_membership,
            list_paginates_without_gaps_or_duplicates,
            list_limit_is_clamped,
            party_latest_version_is_current,
            parties_list_in_uscc_order_with_cursor,
            policy_rows_read_back_in_recording_order,
            empty_policy_append_records_nothing,
            events_chain_every_state_change,
            events_paginate_by_seq,
            events_for_subject_in_chain_order,
            empty_chain_verifies,
            concurrent_submits_are_consistent,
            concurrent_mixed_writes_keep_one_chain,
            timestamps_and_dates_round_trip_exactly,
            text_round_trips_exactly,
            declaration_attribution_round_trips,
            stats_group_by_day_and_flow_with_percentiles,
            stats_of_nothing_are_empty,
            account_versions_latest_is_current,
            accounts_list_by_party_with_cursor,
            token_issue_revoke_lifecycle,
            sessions_start_end_idempotent,
            inspection_records_and_reads_back,
            inspection_repeat_and_conflict_return_the_first,
            inspection_of_unknown_declaration_is_not_found,
            inspections_list_by_declaration_with_cursor,
            concurrent_inspections_record_once,
            declarant_history_counts_declarations_inspections_findings,
            ledger_document_records_and_replays,
            ledger_document_repeat_and_conflict_write_nothing,
            ledger_documents_list_filters_and_cursor,
            ledger_document_missing_is_not_found,
            ledger_amount_above_i64_is_refused,
            ledger_chain_verifies_after_documents,
            ledger_transfer_order_is_preserved_across_documents,
            cbec_batch_round_trips,
            cbec_validation_refuses_bad_batches,
            cbec_stale_after_seq_fails_and_writes_nothing,
            cbec_duplicate_key_fails_and_writes_nothing,
            cbec_back_to_back_batches_commit_in_order,
            cbec_prepared_batches_commit_in_queue_order,
            cbec_log_pages_by_seq,
            cbec_records_for_order_ascending,
            cbec_record_lookup_and_not_found,
            cbec_chain_verifies_with_batch_digests,
        );
    };
    (@cases $runner:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $runner(stringify!($case), |store| ::std::boxed::Box::pin($crate::conformance::$case(store))).await;
            }
        )+
    };
}

macro_rules! case_list {
    ($($case:ident),+ $(,)?) => {
        /// Every case by name, for runners that prefer a loop to [`conformance_tests!`](crate::conformance_tests).
        pub const CASES: &[(&str, Case)] = &[$((stringify!($case), |store| Box::pin($case(store)))),+];
    };
}

case_list!(
    submit_creates_and_reads_back,
    submit_is_idempotent,
    conflicting_document_returns_first_record,
    same_reference_under_other_declarant_is_distinct,
    ids_increase_in_recording_order,
    missing_records_are_not_found,
    list_filters_by_flow_and_declarant,
    list_filters_by_declared_on_inclusive,
    list_filters_by_treatment_membership,
    list_paginates_without_gaps_or_duplicates,
    list_limit_is_clamped,
    party_latest_version_is_current,
    parties_list_in_uscc_order_with_cursor,
    policy_rows_read_back_in_recording_order,
    empty_policy_append_records_nothing,
    events_chain_every_state_change,
    events_paginate_by_seq,
    events_for_subject_in_chain_order,
    empty_chain_verifies,
    concurrent_submits_are_consistent,
    concurrent_mixed_writes_keep_one_chain,
    timestamps_and_dates_round_trip_exactly,
    text_round_trips_exactly,
    declaration_attribution_round_trips,
    stats_group_by_day_and_flow_with_percentiles,
    stats_of_nothing_are_empty,
    account_versions_latest_is_current,
    accounts_list_by_party_with_cursor,
    token_issue_revoke_lifecycle,
    sessions_start_end_idempotent,
    inspection_records_and_reads_back,
    inspection_repeat_and_conflict_return_the_first,
    inspection_of_unknown_declaration_is_not_found,
    inspections_list_by_declaration_with_cursor,
    concurrent_inspections_record_once,
    declarant_history_counts_declarations_inspections_findings,
    ledger_document_records_and_replays,
    ledger_document_repeat_and_conflict_write_nothing,
    ledger_documents_list_filters_and_cursor,
    ledger_document_missing_is_not_found,
    ledger_amount_above_i64_is_refused,
    ledger_chain_verifies_after_documents,
    ledger_transfer_order_is_preserved_across_documents,
    cbec_batch_round_trips,
    cbec_validation_refuses_bad_batches,
    cbec_stale_after_seq_fails_and_writes_nothing,
    cbec_duplicate_key_fails_and_writes_nothing,
    cbec_back_to_back_batches_commit_in_order,
    cbec_prepared_batches_commit_in_queue_order,
    cbec_log_pages_by_seq,
    cbec_records_for_order_ascending,
    cbec_record_lookup_and_not_found,
    cbec_chain_verifies_with_batch_digests,
);

// ---------------------------------------------------------------------------------------------------------
// Fixtures

/// A timestamp at whole microseconds, as the app passes them.
pub fn at(secs: i64, micros: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, micros * 1_000).expect("fixture timestamp in range")
}

fn date(text: &str) -> NaiveDate {
    text.parse().expect("fixture date")
}

/// A declaration whose document is roughly 3 KB of JSON; `variant` changes the document (and its hash).
pub fn declaration(declarant: &str, reference: &str, variant: u32) -> NewDeclaration {
    let items: Vec<String> = (0..12)
        .map(|i| {
            format!(
                "{{\"line\":{i},\"hs\":\"8471300000\",\"description\":\"portable data processing machine, variant {variant}\",\
                 \"origin\":\"CN\",\"quantity\":\"{q}\",\"unit\":\"PCE\",\"value\":\"{v}.00\",\"currency\":\"CNY\",\
                 \"treatment\":\"bonded\",\"purpose\":\"processing\"}}",
                q = i + 1,
                v = 1000 + i * 17 + variant
            )
        })
        .collect();
    let document_json = format!(
        "{{\"declarant\":\"{declarant}\",\"reference\":\"{reference}\",\"zone\":\"SHFTZ\",\"flow\":\"import\",\
         \"variant\":{variant},\"items\":[{}]}}",
        items.join(",")
    );
    NewDeclaration {
        declarant: declarant.to_owned(),
        reference: reference.to_owned(),
        zone: "SHFTZ".to_owned(),
        flow: "import".to_owned(),
        declared_on: date("2024-03-15"),
        treatments: vec!["bonded".to_owned()],
        channel: "green".to_owned(),
        payable_fen: 12_345 + i64::from(variant),
        document_sha256: chain::sha256_hex(&document_json),
        assessment_json: format!("{{\"payable_fen\":{},\"lines\":12}}", 12_345 + variant),
        document_json,
        waived_fen: 250 + i64::from(variant),
        submitted_by: "clerk-17".to_owned(),
        received_at: at(1_710_000_000, 100_000),
        recorded_at: at(1_710_000_000, 123_456),
    }
}

fn party(uscc: &str, name: &str, recorded_at: DateTime<Utc>) -> PartyRecord {
    PartyRecord {
        uscc: uscc.to_owned(),
        name: name.to_owned(),
        body_json: format!("{{\"uscc\":\"{uscc}\",\"name\":\"{name}\",\"credit\":\"general\"}}"),
        recorded_by: "officer-1".to_owned(),
        recorded_at,
    }
}

/// The personal data every [`account`] fixture carries: it must never show up in an event.
const PERSONAL_ID_NUMBER: &str = "110101199003074321";

fn account(user_id: &str, party: &str, recorded_at: DateTime<Utc>) -> AccountRecord {
    AccountRecord {
        user_id: user_id.to_owned(),
        party: party.to_owned(),
        party_kind: "enterprise".to_owned(),
        roles: vec!["declarant".to_owned(), "viewer".to_owned()],
        password_hash: Some(format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$hash-of-{user_id}")),
        personal_json: format!("{{\"display_name\":\"{user_id}\",\"id_number\":\"{PERSONAL_ID_NUMBER}\"}}"),
        active: true,
        recorded_by: "admin".to_owned(),
        recorded_at,
    }
}

fn token(token_id: &str, user_id: &str, issued_at: DateTime<Utc>) -> TokenRecord {
    TokenRecord {
        token_id: token_id.to_owned(),
        user_id: user_id.to_owned(),
        name: format!("{user_id} ERP link"),
        secret_sha256: chain::sha256_hex(&format!("secret of {token_id}")),
        issued_by: "admin".to_owned(),
        issued_at,
        expires_at: issued_at + chrono::TimeDelta::days(90),
        revoked: None,
    }
}

fn session(seed: &str, user_id: &str, started_at: DateTime<Utc>) -> SessionRecord {
    SessionRecord {
        session_sha256: chain::sha256_hex(seed),
        user_id: user_id.to_owned(),
        started_at,
        expires_at: started_at + chrono::TimeDelta::hours(8),
        ended_at: None,
    }
}

/// An inspection result whose body (and hash) depends on `outcome` and `notes`.
fn inspection(declaration_id: i64, outcome: &str, notes: &str, recorded_at: DateTime<Utc>) -> InspectionRecord {
    let body_json = format!(
        "{{\"outcome\":\"{outcome}\",\"notes\":\"{notes}\",\"channel\":\"red\",\"rules\":[\"R-12\",\"R-40\"]}}"
    );
    InspectionRecord {
        declaration_id,
        outcome: outcome.to_owned(),
        body_sha256: chain::sha256_hex(&body_json),
        body_json,
        recorded_by: "officer-7".to_owned(),
        recorded_at,
    }
}

fn inspection_created(outcome: InspectionOutcome) -> InspectionRecord {
    match outcome {
        InspectionOutcome::Created(record) => record,
        other => panic!("expected Created, got {other:?}"),
    }
}

fn policy_row(kind: &str, key: &str, effective_from: &str, body: &str) -> PolicyRow {
    PolicyRow {
        kind: kind.to_owned(),
        key: key.to_owned(),
        effective_from: date(effective_from),
        body_json: body.to_owned(),
        author: String::new(),
        recorded_at: at(0, 0),
    }
}

fn created(outcome: SubmitOutcome) -> StoredDeclaration {
    match outcome {
        SubmitOutcome::Created(record) => record,
        other => panic!("expected Created, got {other:?}"),
    }
}

async fn submit(store: &Arc<dyn Store>, d: NewDeclaration) -> StoredDeclaration {
    created(store.submit_declaration(d).await.expect("submit"))
}

async fn event_count(store: &Arc<dyn Store>) -> i64 {
    store.verify_chain().await.expect("verify_chain").events
}

fn filter(limit: u32) -> DeclarationFilter {
    DeclarationFilter { limit, ..DeclarationFilter::default() }
}

async fn list_all(store: &Arc<dyn Store>, mut f: DeclarationFilter) -> Vec<StoredDeclaration> {
    let mut all = Vec::new();
    loop {
        let page = store.list_declarations(f.clone()).await.expect("list");
        assert!(page.items.len() <= f.limit.clamp(1, PAGE_SIZE_MAX) as usize);
        all.extend(page.items);
        match page.next_after {
            Some(after) => f.after = Some(after),
            None => return all,
        }
    }
}

fn ids(records: &[StoredDeclaration]) -> Vec<i64> {
    records.iter().map(|r| r.id).collect()
}

fn expect_record(record: &StoredDeclaration, new: &NewDeclaration) {
    assert_eq!(record.declarant, new.declarant);
    assert_eq!(record.reference, new.reference);
    assert_eq!(record.zone, new.zone);
    assert_eq!(record.flow, new.flow);
    assert_eq!(record.declared_on, new.declared_on);
    assert_eq!(record.treatments, new.treatments);
    assert_eq!(record.channel, new.channel);
    assert_eq!(record.payable_fen, new.payable_fen);
    assert_eq!(record.document_sha256, new.document_sha256);
    assert_eq!(record.document_json, new.document_json);
    assert_eq!(record.assessment_json, new.assessment_json);
    assert_eq!(record.waived_fen, new.waived_fen);
    assert_eq!(record.submitted_by, new.submitted_by);
    assert_eq!(record.received_at, new.received_at);
    assert_eq!(record.recorded_at, new.recorded_at);
}

fn payload(json: &str) -> serde_json::Value {
    serde_json::from_str(json).expect("event payload is JSON")
}

// ---------------------------------------------------------------------------------------------------------
// Declarations

/// A new declaration is created, and reads back identically by id and by (declarant, reference).
pub async fn submit_creates_and_reads_back(store: Arc<dyn Store>) {
    let new = declaration("91310000MA1FL1234X", "REF-0001", 0);
    let record = submit(&store, new.clone()).await;
    expect_record(&record, &new);
    assert_eq!(store.get_declaration(record.id).await.unwrap(), record);
    assert_eq!(store.find_declaration(&new.declarant, &new.reference).await.unwrap(), record);
    let page = store.list_declarations(filter(10)).await.unwrap();
    assert_eq!(page.items, vec![record]);
    assert_eq!(page.next_after, None);
}

/// Submitting the same document again returns the first record as `Repeat` and records nothing.
pub async fn submit_is_idempotent(store: Arc<dyn Store>) {
    let new = declaration("91310000MA1FL1234X", "REF-0001", 0);
    let first = submit(&store, new.clone()).await;
    assert_eq!(event_count(&store).await, 1);

    let mut again = new.clone();
    again.recorded_at = at(1_720_000_000, 1);
    for _ in 0..3 {
        assert_eq!(store.submit_declaration(again.clone()).await.unwrap(), SubmitOutcome::Repeat(first.clone()));
    }
    assert_eq!(event_count(&store).await, 1);
    assert_eq!(store.find_declaration(&new.declarant, &new.reference).await.unwrap(), first);
    assert_eq!(store.list_declarations(filter(10)).await.unwrap().items, vec![first]);
}

/// Another document under the same (declarant, reference) gets `Conflict` with the first record and
/// records nothing; the first record stays.
pub async fn conflicting_document_returns_first_record(store: Arc<dyn Store>) {
    let new = declaration("91310000MA1FL1234X", "REF-0001", 0);
    let first = submit(&store, new.clone()).await;

    let mut other = declaration("91310000MA1FL1234X", "REF-0001", 1);
    other.flow = "export".to_owned();
    other.recorded_at = at(1_720_000_000, 0);
    assert_ne!(other.document_sha256, new.document_sha256);
    assert_eq!(store.submit_declaration(other.clone()).await.unwrap(), SubmitOutcome::Conflict(first.clone()));
    assert_eq!(event_count(&store).await, 1);
    assert_eq!(store.find_declaration(&new.declarant, &new.reference).await.unwrap(), first);
    assert_eq!(store.list_declarations(filter(10)).await.unwrap().items, vec![first.clone()]);

    // The original document is still a repeat afterwards.
    assert_eq!(store.submit_declaration(new).await.unwrap(), SubmitOutcome::Repeat(first));
}

/// The key is the pair: the same reference under another declarant is another declaration.
pub async fn same_reference_under_other_declarant_is_distinct(store: Arc<dyn Store>) {
    let a = submit(&store, declaration("91310000MA1FL1234X", "REF-0001", 0)).await;
    let b = submit(&store, declaration("91310000MA1FL9999Y", "REF-0001", 0)).await;
    assert_ne!(a.id, b.id);
    assert_eq!(store.find_declaration("91310000MA1FL9999Y", "REF-0001").await.unwrap(), b);
    assert_eq!(store.find_declaration("91310000MA1FL1234X", "REF-0001").await.unwrap(), a);
    assert_eq!(event_count(&store).await, 2);
}

/// Ids are assigned in recording order, and a listing without filters returns that order.
pub async fn ids_increase_in_recording_order(store: Arc<dyn Store>) {
    let mut recorded = Vec::new();
    for i in 0..10 {
        recorded.push(submit(&store, declaration("D", &format!("R{i:02}"), 0)).await);
    }
    assert!(recorded.windows(2).all(|pair| pair[0].id < pair[1].id));
    assert_eq!(list_all(&store, filter(3)).await, recorded);
}

/// Unknown ids, keys and parties are `NotFound`.
pub async fn missing_records_are_not_found(store: Arc<dyn Store>) {
    assert!(matches!(store.get_declaration(1).await, Err(StoreError::NotFound)));
    assert!(matches!(store.find_declaration("D", "R").await, Err(StoreError::NotFound)));
    assert!(matches!(store.get_party("91310000MA1FL1234X").await, Err(StoreError::NotFound)));
    let record = submit(&store, declaration("D", "R", 0)).await;
    assert!(matches!(store.get_declaration(record.id + 1).await, Err(StoreError::NotFound)));
    assert!(matches!(store.find_declaration("D", "R2").await, Err(StoreError::NotFound)));
    assert!(matches!(store.find_declaration("D2", "R").await, Err(StoreError::NotFound)));
    assert!(store.list_parties(None, 10).await.unwrap().is_empty());
    assert!(store.policy_rows("tariff_line").await.unwrap().is_empty());
    assert_eq!(store.policy_row_count().await.unwrap(), 0);

    assert!(matches!(store.get_account("alice").await, Err(StoreError::NotFound)));
    assert!(store.list_accounts(None, None, 10).await.unwrap().is_empty());
    assert!(store.list_accounts(Some("91310000MA1FL1234X"), None, 10).await.unwrap().is_empty());
    assert!(matches!(store.get_token("tok_missing").await, Err(StoreError::NotFound)));
    assert!(matches!(store.revoke_token("tok_missing", "admin", at(1, 0)).await, Err(StoreError::NotFound)));
    assert!(store.list_tokens(None).await.unwrap().is_empty());
    assert!(store.list_tokens(Some("alice")).await.unwrap().is_empty());
    let missing = chain::sha256_hex("no such session");
    assert!(matches!(store.get_session(&missing).await, Err(StoreError::NotFound)));
    store.end_session(&missing, at(1, 0)).await.unwrap();
    assert!(matches!(store.get_session(&missing).await, Err(StoreError::NotFound)));
    assert_eq!(event_count(&store).await, 1);
}

/// `flow` and `declarant` filter by equality, alone and together.
pub async fn list_filters_by_flow_and_declarant(store: Arc<dyn Store>) {
    let mut all = Vec::new();
    for i in 0..12u32 {
        let mut d = declaration(if i % 3 == 0 { "A" } else { "B" }, &format!("R{i:02}"), i);
        d.flow = if i % 2 == 0 { "import" } else { "export" }.to_owned();
        all.push(submit(&store, d).await);
    }
    let pick = |f: &dyn Fn(&StoredDeclaration) -> bool| all.iter().filter(|r| f(r)).cloned().collect::<Vec<_>>();

    let imports = list_all(&store, DeclarationFilter { flow: Some("import".into()), ..filter(5) }).await;
    assert_eq!(imports, pick(&|r| r.flow == "import"));
    let of_a = list_all(&store, DeclarationFilter { declarant: Some("A".into()), ..filter(5) }).await;
    assert_eq!(of_a, pick(&|r| r.declarant == "A"));
    let both =
        list_all(&store, DeclarationFilter { flow: Some("export".into()), declarant: Some("B".into()), ..filter(2) })
            .await;
    assert_eq!(both, pick(&|r| r.flow == "export" && r.declarant == "B"));
    assert!(!both.is_empty());
    let none = store.list_declarations(DeclarationFilter { flow: Some("transit".into()), ..filter(5) }).await.unwrap();
    assert!(none.items.is_empty());
    assert_eq!(none.next_after, None);
}

/// `declared_from` and `declared_to` bound `declared_on` inclusively.
pub async fn list_filters_by_declared_on_inclusive(store: Arc<dyn Store>) {
    let days = ["2023-12-31", "2024-01-01", "2024-01-15", "2024-01-31", "2024-02-01"];
    let mut all = Vec::new();
    for (i, day) in days.iter().enumerate() {
        let mut d = declaration("D", &format!("R{i}"), 0);
        d.declared_on = date(day);
        all.push(submit(&store, d).await);
    }
    let january = list_all(
        &store,
        DeclarationFilter {
            declared_from: Some(date("2024-01-01")),
            declared_to: Some(date("2024-01-31")),
            ..filter(10)
        },
    )
    .await;
    assert_eq!(january, all[1..4].to_vec());
    let from = list_all(&store, DeclarationFilter { declared_from: Some(date("2024-01-31")), ..filter(10) }).await;
    assert_eq!(from, all[3..].to_vec());
    let to = list_all(&store, DeclarationFilter { declared_to: Some(date("2024-01-01")), ..filter(10) }).await;
    assert_eq!(to, all[..2].to_vec());
    let one_day = list_all(
        &store,
        DeclarationFilter {
            declared_from: Some(date("2024-01-15")),
            declared_to: Some(date("2024-01-15")),
            ..filter(10)
        },
    )
    .await;
    assert_eq!(one_day, vec![all[2].clone()]);
}

/// `treatment` matches declarations whose treatments contain it exactly (no prefix or substring match).
pub async fn list_filters_by_treatment_membership(store: Arc<dyn Store>) {
    let sets: [&[&str]; 6] = [
        &["exempt", "bonded"],
        &["bonded"],
        &["bonded_processing"],
        &[],
        &["exempt"],
        &["dutiable", "bonded", "exempt"],
    ];
    let mut all = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        let mut d = declaration("D", &format!("R{i}"), 0);
        d.treatments = set.iter().map(|t| (*t).to_owned()).collect();
        d.flow = if i < 3 { "import" } else { "export" }.to_owned();
        all.push(submit(&store, d).await);
    }
    let with = |t: &str| all.iter().filter(|r| r.treatments.iter().any(|x| x == t)).cloned().collect::<Vec<_>>();
    for t in ["bonded", "exempt", "bonded_processing", "dutiable"] {
        let got = list_all(&store, DeclarationFilter { treatment: Some(t.into()), ..filter(1) }).await;
        assert_eq!(got, with(t), "treatment {t}");
    }
    for t in ["bond", "onded", "", "exempt,bonded", "%", "_onded"] {
        let got = list_all(&store, DeclarationFilter { treatment: Some(t.into()), ..filter(10) }).await;
        assert!(got.is_empty(), "treatment {t:?} matched {got:?}");
    }
    let combined = list_all(
        &store,
        DeclarationFilter { treatment: Some("bonded".into()), flow: Some("export".into()), ..filter(10) },
    )
    .await;
    assert_eq!(combined, vec![all[5].clone()]);
}

/// Walking pages with the cursor yields every match once, in id order, with or without filters.
pub async fn list_paginates_without_gaps_or_duplicates(store: Arc<dyn Store>) {
    let mut all = Vec::new();
    for i in 0..23u32 {
        let mut d = declaration("D", &format!("R{i:02}"), i);
        d.flow = if i % 3 == 0 { "export" } else { "import" }.to_owned();
        all.push(submit(&store, d).await);
    }
    for limit in [1, 4, 5, 22, 23, 24, 100] {
        let got = list_all(&store, filter(limit)).await;
        assert_eq!(ids(&got), ids(&all), "limit {limit}");
    }
    let imports: Vec<_> = all.iter().filter(|r| r.flow == "import").cloned().collect();
    for limit in [1, 3, 15, 16] {
        let got = list_all(&store, DeclarationFilter { flow: Some("import".into()), ..filter(limit) }).await;
        assert_eq!(got, imports, "limit {limit}");
    }

    // Explicit pages: full pages carry a cursor, the last page does not.
    let first = store.list_declarations(filter(10)).await.unwrap();
    assert_eq!(first.items, all[..10].to_vec());
    assert_eq!(first.next_after, Some(all[9].id));
    let second = store.list_declarations(DeclarationFilter { after: first.next_after, ..filter(10) }).await.unwrap();
    assert_eq!(second.items, all[10..20].to_vec());
    let third = store.list_declarations(DeclarationFilter { after: second.next_after, ..filter(10) }).await.unwrap();
    assert_eq!(third.items, all[20..].to_vec());
    assert_eq!(third.next_after, None);

    // A cursor past the end, or an arbitrary id in between, works too.
    let past = store.list_declarations(DeclarationFilter { after: Some(all[22].id), ..filter(10) }).await.unwrap();
    assert!(past.items.is_empty());
    assert_eq!(past.next_after, None);
    let mid = store.list_declarations(DeclarationFilter { after: Some(all[4].id), ..filter(2) }).await.unwrap();
    assert_eq!(mid.items, all[5..7].to_vec());
}

/// A limit of 0 is treated as 1; a limit above `PAGE_SIZE_MAX` is cut to it.
pub async fn list_limit_is_clamped(store: Arc<dyn Store>) {
    let total = PAGE_SIZE_MAX as usize + 3;
    let mut tasks = Vec::new();
    for i in 0..total {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { submit(&store, declaration("D", &format!("R{i:04}"), 0)).await }));
    }
    for task in tasks {
        task.await.expect("submit task");
    }

    let one = store.list_declarations(filter(0)).await.unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.next_after, Some(one.items[0].id));

    let big = store.list_declarations(filter(u32::MAX)).await.unwrap();
    assert_eq!(big.items.len(), PAGE_SIZE_MAX as usize);
    let rest = store
        .list_declarations(DeclarationFilter { after: big.next_after, ..filter(PAGE_SIZE_MAX + 1) })
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 3);
    assert_eq!(rest.next_after, None);
    let mut seen: Vec<i64> = ids(&big.items);
    seen.extend(ids(&rest.items));
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), total);
    assert!(seen.windows(2).all(|pair| pair[0] < pair[1]));

    let parties = store.list_parties(None, 0).await.unwrap();
    assert!(parties.is_empty());
    store.put_party(party("A", "a", at(1, 0))).await.unwrap();
    store.put_party(party("B", "b", at(1, 0))).await.unwrap();
    assert_eq!(store.list_parties(None, 0).await.unwrap().len(), 1);
    store.put_account(account("a", "P", at(1, 0))).await.unwrap();
    store.put_account(account("b", "P", at(1, 0))).await.unwrap();
    assert_eq!(store.list_accounts(None, None, 0).await.unwrap().len(), 1);
    assert_eq!(store.list_accounts(Some("P"), None, 0).await.unwrap().len(), 1);
    assert_eq!(store.events(0, 0).await.unwrap().len(), 1);
    assert_eq!(store.events(0, u32::MAX).await.unwrap().len(), PAGE_SIZE_MAX as usize);
}

// ---------------------------------------------------------------------------------------------------------
// Parties

/// Putting a party twice keeps both versions; the latest put is current, whatever its timestamp.
pub async fn party_latest_version_is_current(store: Arc<dyn Store>) {
    let uscc = "91310000MA1FL1234X";
    let v1 = party(uscc, "Old Name Ltd", at(1_700_000_000, 5));
    store.put_party(v1.clone()).await.unwrap();
    assert_eq!(store.get_party(uscc).await.unwrap(), v1);

    // An earlier timestamp does not matter: the latest recorded version is current.
    let v2 =
        PartyRecord { body_json: "{\"renamed\":true}".into(), ..party(uscc, "New Name Ltd", at(1_600_000_000, 7)) };
    store.put_party(v2.clone()).await.unwrap();
    assert_eq!(store.get_party(uscc).await.unwrap(), v2);
    assert_eq!(store.list_parties(None, 10).await.unwrap(), vec![v2.clone()]);

    // Putting the same content again is still a new version with its own event.
    store.put_party(v2.clone()).await.unwrap();
    let events = store.events(0, 10).await.unwrap();
    assert_eq!(events.len(), 3);
    for (event, version) in events.iter().zip([&v1, &v2, &v2]) {
        assert_eq!(event.kind, PARTY_RECORDED);
        assert_eq!(event.subject, uscc);
        assert_eq!(event.recorded_at, version.recorded_at);
        let body = payload(&event.payload_json);
        assert_eq!(body["body_sha256"], chain::sha256_hex(&version.body_json));
    }
}

/// Current parties list ascending by uscc; `after` is exclusive; pages chain without gaps.
pub async fn parties_list_in_uscc_order_with_cursor(store: Arc<dyn Store>) {
    let usccs = ["9144", "9111", "9133", "9122", "9155", "9100"];
    for (i, uscc) in usccs.iter().enumerate() {
        store.put_party(party(uscc, &format!("first {i}"), at(10, 0))).await.unwrap();
    }
    store.put_party(party("9133", "second", at(20, 0))).await.unwrap();

    let all = store.list_parties(None, 100).await.unwrap();
    let listed: Vec<&str> = all.iter().map(|p| p.uscc.as_str()).collect();
    assert_eq!(listed, ["9100", "9111", "9122", "9133", "9144", "9155"]);
    assert_eq!(all[3].name, "second");

    let page = store.list_parties(Some("9122".into()), 2).await.unwrap();
    let listed: Vec<&str> = page.iter().map(|p| p.uscc.as_str()).collect();
    assert_eq!(listed, ["9133", "9144"]);
    let between = store.list_parties(Some("9120".into()), 1).await.unwrap();
    assert_eq!(between[0].uscc, "9122");

    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_parties(after.clone(), 4).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|p| p.uscc.clone());
        walked.extend(page);
    }
    assert_eq!(walked, all);
    assert!(store.list_parties(Some("9155".into()), 10).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// Policy rows

/// Rows read back per kind in recording order, attributed to the append call; the count covers all kinds.
pub async fn policy_rows_read_back_in_recording_order(store: Arc<dyn Store>) {
    let first = vec![
        policy_row("tariff_line", "8471300000", "2024-01-01", "{\"mfn\":\"0\"}"),
        policy_row("vat_rate", "standard", "2019-04-01", "{\"rate\":\"0.13\"}"),
        policy_row("tariff_line", "0101210010", "2024-01-01", "{\"mfn\":\"0\"}"),
    ];
    let second = vec![
        policy_row("tariff_line", "8471300000", "2025-01-01", "{\"mfn\":\"0.05\"}"),
        policy_row("tariff_line", "0101210010", "2023-01-01", "{\"mfn\":\"0.1\"}"),
    ];
    store.append_policy_rows(first.clone(), "seed", at(1_700_000_000, 1)).await.unwrap();
    store.append_policy_rows(second.clone(), "officer-7", at(1_700_000_100, 2)).await.unwrap();

    let attributed = |rows: &[PolicyRow], author: &str, when: DateTime<Utc>| {
        rows.iter().map(|r| PolicyRow { author: author.to_owned(), recorded_at: when, ..r.clone() }).collect::<Vec<_>>()
    };
    let first = attributed(&first, "seed", at(1_700_000_000, 1));
    let second = attributed(&second, "officer-7", at(1_700_000_100, 2));

    let tariff = store.policy_rows("tariff_line").await.unwrap();
    assert_eq!(tariff, vec![first[0].clone(), first[2].clone(), second[0].clone(), second[1].clone()]);
    assert_eq!(store.policy_rows("vat_rate").await.unwrap(), vec![first[1].clone()]);
    assert!(store.policy_rows("consumption_tax").await.unwrap().is_empty());
    assert_eq!(store.policy_row_count().await.unwrap(), 5);

    let events = store.events(0, 10).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].kind, POLICY_ROWS_APPENDED);
    assert_eq!(events[0].subject, "tariff_line");
    assert_eq!(events[0].recorded_at, at(1_700_000_000, 1));
    let body = payload(&events[0].payload_json);
    assert_eq!(body["author"], "seed");
    let rows = body["rows"].as_array().expect("rows array");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["kind"], "vat_rate");
    assert_eq!(rows[1]["key"], "standard");
    assert_eq!(rows[1]["effective_from"], "2019-04-01");
    assert_eq!(rows[1]["body_sha256"], chain::sha256_hex("{\"rate\":\"0.13\"}"));
}

/// Appending no rows records nothing (no rows, no event).
pub async fn empty_policy_append_records_nothing(store: Arc<dyn Store>) {
    store.append_policy_rows(Vec::new(), "seed", at(1, 0)).await.unwrap();
    assert_eq!(store.policy_row_count().await.unwrap(), 0);
    assert_eq!(event_count(&store).await, 0);
}

// ---------------------------------------------------------------------------------------------------------
// Events and the chain

/// Every state change appends one event, seq 1, 2, 3…, each linked to and hashed over the previous one;
/// `verify_chain` reports the count and the head hash.
pub async fn events_chain_every_state_change(store: Arc<dyn Store>) {
    let d1 = declaration("91310000MA1FL1234X", "REF-1", 0);
    let r1 = submit(&store, d1.clone()).await;
    store.put_party(party("91310000MA1FL1234X", "Importer", at(1_710_000_001, 0))).await.unwrap();
    let _ = store.submit_declaration(d1.clone()).await.unwrap(); // repeat: no event
    let _ = store.submit_declaration(declaration("91310000MA1FL1234X", "REF-1", 9)).await.unwrap(); // conflict
    store
        .append_policy_rows(
            vec![policy_row("list_entry", "negative/SHFTZ/8471", "2024-01-01", "{}")],
            "seed",
            at(1_710_000_002, 0),
        )
        .await
        .unwrap();
    let mut d2 = declaration("91310000MA1FL1234X", "REF-2", 0);
    d2.recorded_at = at(1_710_000_003, 999_999);
    let r2 = submit(&store, d2.clone()).await;
    store.put_account(account("alice", "91310000MA1FL1234X", at(1_710_000_004, 0))).await.unwrap();
    store.issue_token(token("tok_1", "alice", at(1_710_000_005, 0))).await.unwrap();
    assert!(store.issue_token(token("tok_1", "alice", at(1_710_000_005, 1))).await.is_err()); // no event
    store.revoke_token("tok_1", "admin", at(1_710_000_006, 0)).await.unwrap();
    store.revoke_token("tok_1", "admin", at(1_710_000_007, 0)).await.unwrap(); // revoked already: no event
    store.start_session(session("s1", "alice", at(1_710_000_008, 0))).await.unwrap(); // sessions: no events
    store.end_session(&chain::sha256_hex("s1"), at(1_710_000_009, 0)).await.unwrap();

    let events = store.events(0, 100).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            DECLARATION_RECORDED,
            PARTY_RECORDED,
            POLICY_ROWS_APPENDED,
            DECLARATION_RECORDED,
            ACCOUNT_RECORDED,
            TOKEN_ISSUED,
            TOKEN_REVOKED
        ]
    );
    let mut prev = GENESIS_HASH.to_owned();
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.seq, i as i64 + 1);
        assert_eq!(event.prev_hash, prev);
        let hash = chain::event_hash(
            &event.prev_hash,
            event.seq,
            event.recorded_at,
            &event.kind,
            &event.subject,
            &event.payload_json,
        );
        assert_eq!(event.hash, hash);
        prev = hash;
    }

    for (event, record, new) in [(&events[0], &r1, &d1), (&events[3], &r2, &d2)] {
        assert_eq!(event.subject, format!("{}/{}", new.declarant, new.reference));
        assert_eq!(event.recorded_at, new.recorded_at);
        let body = payload(&event.payload_json);
        assert_eq!(body["id"], record.id);
        assert_eq!(body["document_sha256"], new.document_sha256);
        assert_eq!(body["assessment_sha256"], chain::sha256_hex(&new.assessment_json));
        assert_eq!(body["flow"], new.flow);
        assert_eq!(body["declared_on"], new.declared_on.to_string());
        assert_eq!(body["payable_fen"], new.payable_fen);
    }
    assert_eq!(events[1].subject, "91310000MA1FL1234X");
    assert_eq!(events[2].subject, "list_entry");
    assert_eq!((events[4].subject.as_str(), events[4].recorded_at), ("alice", at(1_710_000_004, 0)));
    assert_eq!((events[5].subject.as_str(), events[5].recorded_at), ("tok_1", at(1_710_000_005, 0)));
    assert_eq!((events[6].subject.as_str(), events[6].recorded_at), ("tok_1", at(1_710_000_006, 0)));

    let report = store.verify_chain().await.unwrap();
    assert_eq!(report.events, 7);
    assert_eq!(report.head_hash, events[6].hash);
}

/// `events(after, limit)` returns seq > after, ascending, at most limit.
pub async fn events_paginate_by_seq(store: Arc<dyn Store>) {
    for i in 0..7 {
        store.put_party(party(&format!("U{i}"), "n", at(100 + i, 0))).await.unwrap();
    }
    let all = store.events(0, 100).await.unwrap();
    assert_eq!(all.len(), 7);
    let page = store.events(2, 3).await.unwrap();
    assert_eq!(page, all[2..5].to_vec());
    let mut walked = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events(after, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        walked.extend(page);
    }
    assert_eq!(walked, all);
    assert!(store.events(7, 10).await.unwrap().is_empty());
}

/// The events of one subject are exactly those of the whole log with that subject, in seq order, at most
/// `limit`; an unknown subject has none.
pub async fn events_for_subject_in_chain_order(store: Arc<dyn Store>) {
    submit(&store, declaration("D1", "R1", 0)).await;
    for i in 0..3 {
        store.put_party(party("U1", &format!("name {i}"), at(100 + i, 0))).await.unwrap();
        submit(&store, declaration("D1", &format!("R{}", i + 2), 0)).await;
    }
    let all = store.events(0, 100).await.unwrap();
    for subject in ["U1", "D1/R1", "D1/R3"] {
        let expected: Vec<_> = all.iter().filter(|e| e.subject == subject).cloned().collect();
        assert!(!expected.is_empty());
        assert_eq!(store.events_for_subject(subject, 100).await.unwrap(), expected, "{subject}");
    }
    assert_eq!(store.events_for_subject("U1", 2).await.unwrap().len(), 2);
    assert!(store.events_for_subject("U9", 100).await.unwrap().is_empty());
}

/// An empty store has an empty, valid chain whose head is the genesis hash.
pub async fn empty_chain_verifies(store: Arc<dyn Store>) {
    let report = store.verify_chain().await.unwrap();
    assert_eq!(report.events, 0);
    assert_eq!(report.head_hash, GENESIS_HASH);
    assert!(store.events(0, 10).await.unwrap().is_empty());
}

/// 200 concurrent submissions over 60 keys, some repeating the same document and some conflicting:
/// exactly one creation per key, every other answer names that creation, and the chain holds 60 events.
pub async fn concurrent_submits_are_consistent(store: Arc<dyn Store>) {
    const TASKS: u32 = 200;
    const KEYS: u32 = 60;
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let store = store.clone();
        let key = i % KEYS;
        let variant = u32::from(i % 7 == 3);
        tasks.push(tokio::spawn(async move {
            let d = declaration("91310000MA1FL1234X", &format!("REF-{key:03}"), variant);
            let sha = d.document_sha256.clone();
            (key, sha, store.submit_declaration(d).await.expect("concurrent submit"))
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("submit task"));
    }

    let mut creations: HashMap<u32, StoredDeclaration> = HashMap::new();
    for (key, _, outcome) in &answers {
        if let SubmitOutcome::Created(record) = outcome {
            assert!(creations.insert(*key, record.clone()).is_none(), "key {key} created twice");
        }
    }
    assert_eq!(creations.len(), KEYS as usize);
    for (key, sha, outcome) in &answers {
        let first = &creations[key];
        match outcome {
            SubmitOutcome::Created(record) => assert_eq!(record, first),
            SubmitOutcome::Repeat(record) => {
                assert_eq!(record, first);
                assert_eq!(&record.document_sha256, sha);
            }
            SubmitOutcome::Conflict(record) => {
                assert_eq!(record, first);
                assert_ne!(&record.document_sha256, sha);
            }
        }
        assert_eq!(&store.find_declaration(&first.declarant, &first.reference).await.unwrap(), first);
    }
    let ids: HashSet<i64> = creations.values().map(|r| r.id).collect();
    assert_eq!(ids.len(), KEYS as usize);

    let report = store.verify_chain().await.unwrap();
    assert_eq!(report.events, i64::from(KEYS));
    let events = store.events(0, PAGE_SIZE_MAX).await.unwrap();
    let by_subject: BTreeMap<&str, i64> =
        events.iter().map(|e| (e.subject.as_str(), payload(&e.payload_json)["id"].as_i64().unwrap_or(-1))).collect();
    for record in creations.values() {
        assert_eq!(by_subject[format!("{}/{}", record.declarant, record.reference).as_str()], record.id);
    }
}

/// Declarations, parties, policy rows, accounts and tokens written concurrently (with sessions, which
/// append no events) all land on one gap-free, valid chain.
pub async fn concurrent_mixed_writes_keep_one_chain(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..180u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            match i % 6 {
                0 => {
                    created(store.submit_declaration(declaration("D", &format!("R{i}"), i)).await.expect("submit"));
                }
                1 => store
                    .put_party(party(&format!("U{}", (i / 6) % 10), &format!("v{i}"), at(i64::from(i), 0)))
                    .await
                    .expect("party"),
                3 => store
                    .put_account(account(&format!("user{}", (i / 6) % 10), "P", at(i64::from(i), 0)))
                    .await
                    .expect("account"),
                4 => store.issue_token(token(&format!("tok_{i}"), "user0", at(i64::from(i), 0))).await.expect("token"),
                5 => {
                    let s = session(&format!("s{i}"), "user0", at(i64::from(i), 0));
                    let sha = s.session_sha256.clone();
                    store.start_session(s).await.expect("session");
                    store.end_session(&sha, at(i64::from(i) + 1, 0)).await.expect("end session");
                }
                _ => store
                    .append_policy_rows(
                        vec![
                            policy_row("tariff_line", &format!("L{i}"), "2024-01-01", "{}"),
                            policy_row("tariff_line", &format!("M{i}"), "2024-01-01", "{}"),
                        ],
                        "seed",
                        at(i64::from(i), 0),
                    )
                    .await
                    .expect("policy"),
            }
        }));
    }
    for task in tasks {
        task.await.expect("write task");
    }
    let report = store.verify_chain().await.unwrap();
    assert_eq!(report.events, 150);
    let events = store.events(0, 200).await.unwrap();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=150).collect::<Vec<_>>());
    assert_eq!(report.head_hash, events[149].hash);
    assert_eq!(store.policy_row_count().await.unwrap(), 60);
    assert_eq!(store.list_parties(None, 100).await.unwrap().len(), 10);
    assert_eq!(list_all(&store, filter(7)).await.len(), 30);
    assert_eq!(store.list_accounts(Some("P"), None, 100).await.unwrap().len(), 10);
    let tokens = store.list_tokens(Some("user0")).await.unwrap();
    assert_eq!(tokens.len(), 30);
    // Tokens list in issue order, which is the order of their events.
    let issued: Vec<&str> = events.iter().filter(|e| e.kind == TOKEN_ISSUED).map(|e| e.subject.as_str()).collect();
    assert_eq!(tokens.iter().map(|t| t.token_id.as_str()).collect::<Vec<_>>(), issued);
    for i in (5..180).step_by(6) {
        let s = store.get_session(&chain::sha256_hex(&format!("s{i}"))).await.unwrap();
        assert_eq!(s.ended_at, Some(at(i64::from(i) + 1, 0)));
    }

    // Within one append the rows keep their order.
    let rows = store.policy_rows("tariff_line").await.unwrap();
    for pair in rows.chunks(2) {
        assert_eq!(pair[0].key[1..], pair[1].key[1..]);
        assert!(pair[0].key.starts_with('L') && pair[1].key.starts_with('M'));
    }
}

/// Microsecond timestamps (before and after the epoch, far past and future) and dates read back identical,
/// and events carry the same timestamps.
pub async fn timestamps_and_dates_round_trip_exactly(store: Arc<dyn Store>) {
    let stamps = [
        at(0, 0),
        at(-1, 999_999),
        at(-86_400 * 365 * 300, 1),
        at(1_710_000_000, 999_999),
        at(253_402_300_799, 999_999), // 9999-12-31T23:59:59.999999Z
        DateTime::from_timestamp(-62_135_596_800, 0).expect("0001-01-01"),
    ];
    let days = ["0001-01-01", "1969-12-31", "1970-01-01", "2000-02-29", "2024-12-31", "9999-12-31"];
    for (i, (stamp, day)) in stamps.iter().zip(days).enumerate() {
        let mut d = declaration("D", &format!("R{i}"), 0);
        d.recorded_at = *stamp;
        d.declared_on = date(day);
        let record = submit(&store, d.clone()).await;
        assert_eq!(record.recorded_at, *stamp);
        let read = store.get_declaration(record.id).await.unwrap();
        assert_eq!(read.recorded_at, *stamp);
        assert_eq!(read.declared_on, date(day));

        store.put_party(party(&format!("U{i}"), "n", *stamp)).await.unwrap();
        assert_eq!(store.get_party(&format!("U{i}")).await.unwrap().recorded_at, *stamp);

        store
            .append_policy_rows(vec![policy_row("zone_parameter", &format!("k{i}"), day, "{}")], "a", *stamp)
            .await
            .unwrap();
    }
    let rows = store.policy_rows("zone_parameter").await.unwrap();
    assert_eq!(rows.iter().map(|r| r.recorded_at).collect::<Vec<_>>(), stamps.to_vec());
    assert_eq!(rows.iter().map(|r| r.effective_from).collect::<Vec<_>>(), days.map(date).to_vec());
    let events = store.events(0, 100).await.unwrap();
    assert_eq!(events.len(), 18);
    for (chunk, stamp) in events.chunks(3).zip(stamps) {
        assert!(chunk.iter().all(|e| e.recorded_at == stamp));
    }
    assert_eq!(store.verify_chain().await.unwrap().events, 18);

    // Date filters order correctly across the epoch and far years.
    let early = list_all(&store, DeclarationFilter { declared_to: Some(date("1970-01-01")), ..filter(10) }).await;
    assert_eq!(early.len(), 3);

    // Declarations received at any of these instants, accounts, tokens and sessions keep them too.
    for (i, stamp) in stamps.iter().enumerate() {
        let mut d = declaration("E", &format!("R{i}"), 0);
        d.received_at = *stamp;
        let record = submit(&store, d).await;
        assert_eq!(store.get_declaration(record.id).await.unwrap().received_at, *stamp);

        let user = format!("user{i}");
        store.put_account(account(&user, "P", *stamp)).await.unwrap();
        assert_eq!(store.get_account(&user).await.unwrap().recorded_at, *stamp);

        let t = TokenRecord { expires_at: *stamp, ..token(&format!("tok_{i}"), &user, *stamp) };
        store.issue_token(t.clone()).await.unwrap();
        let revoked = store.revoke_token(&t.token_id, "admin", *stamp).await.unwrap();
        let expected = TokenRecord { revoked: Some(Revocation { by: "admin".into(), at: *stamp }), ..t.clone() };
        assert_eq!(revoked, expected);
        assert_eq!(store.get_token(&t.token_id).await.unwrap(), expected);

        let s = SessionRecord { expires_at: *stamp, ..session(&format!("s{i}"), &user, *stamp) };
        store.start_session(s.clone()).await.unwrap();
        store.end_session(&s.session_sha256, *stamp).await.unwrap();
        assert_eq!(store.get_session(&s.session_sha256).await.unwrap(), SessionRecord { ended_at: Some(*stamp), ..s });
    }
    let events = store.events(18, 100).await.unwrap();
    assert_eq!(events.len(), 24);
    for (chunk, stamp) in events.chunks(4).zip(stamps) {
        // The declaration's event carries its recording time; the others carry this instant.
        assert_eq!(chunk[0].recorded_at, at(1_710_000_000, 123_456));
        assert!(chunk[1..].iter().all(|e| e.recorded_at == stamp), "{chunk:?}");
    }
    assert_eq!(store.verify_chain().await.unwrap().events, 42);
}

/// Text fields keep every character: quotes, backslashes, newlines, percent signs, non-ASCII, empty strings.
pub async fn text_round_trips_exactly(store: Arc<dyn Store>) {
    let odd = "Zhōngguó 中国 \"quoted\" 'single' back\\slash\nnew line\ttab % _ ; -- /* */ , 😀";
    let mut d = declaration(odd, odd, 0);
    d.zone = odd.to_owned();
    d.flow = String::new();
    d.channel = odd.to_owned();
    d.treatments = vec![odd.to_owned(), "a,b".to_owned(), String::new()];
    d.document_json = format!("{{\"text\":{}}}", serde_json::Value::from(odd));
    d.assessment_json = String::new();
    d.payable_fen = i64::MIN;
    let record = submit(&store, d.clone()).await;
    expect_record(&record, &d);
    assert_eq!(store.get_declaration(record.id).await.unwrap(), record);
    assert_eq!(store.find_declaration(odd, odd).await.unwrap(), record);
    for t in [odd, "a,b", ""] {
        let got = list_all(&store, DeclarationFilter { treatment: Some(t.into()), ..filter(10) }).await;
        assert_eq!(got, vec![record.clone()], "treatment {t:?}");
    }
    let got = list_all(&store, DeclarationFilter { treatment: Some("a".into()), ..filter(10) }).await;
    assert!(got.is_empty());
    let got =
        list_all(&store, DeclarationFilter { declarant: Some(odd.into()), flow: Some(String::new()), ..filter(10) })
            .await;
    assert_eq!(got, vec![record.clone()]);

    let p = PartyRecord {
        uscc: odd.to_owned(),
        name: odd.to_owned(),
        body_json: odd.to_owned(),
        recorded_by: odd.to_owned(),
        recorded_at: at(5, 5),
    };
    store.put_party(p.clone()).await.unwrap();
    assert_eq!(store.get_party(odd).await.unwrap(), p);

    let row = PolicyRow {
        kind: odd.to_owned(),
        key: odd.to_owned(),
        body_json: odd.to_owned(),
        ..policy_row("k", "k", "2024-01-01", "")
    };
    store.append_policy_rows(vec![row.clone()], odd, at(6, 6)).await.unwrap();
    assert_eq!(
        store.policy_rows(odd).await.unwrap(),
        vec![PolicyRow { author: odd.to_owned(), recorded_at: at(6, 6), ..row }]
    );

    let a = AccountRecord {
        user_id: odd.to_owned(),
        party: odd.to_owned(),
        party_kind: odd.to_owned(),
        roles: vec![String::new(), "a,b".to_owned(), odd.to_owned(), "[\"x\"]".to_owned()],
        password_hash: Some(odd.to_owned()),
        personal_json: odd.to_owned(),
        active: false,
        recorded_by: odd.to_owned(),
        recorded_at: at(7, 7),
    };
    store.put_account(a.clone()).await.unwrap();
    assert_eq!(store.get_account(odd).await.unwrap(), a);
    assert_eq!(store.list_accounts(Some(odd), None, 10).await.unwrap(), vec![a.clone()]);
    let empty = AccountRecord { user_id: String::new(), party: String::new(), roles: Vec::new(), ..a.clone() };
    store.put_account(empty.clone()).await.unwrap();
    assert_eq!(store.get_account("").await.unwrap(), empty);
    assert_eq!(store.list_accounts(None, None, 10).await.unwrap(), vec![empty, a]);

    let t = TokenRecord {
        token_id: odd.to_owned(),
        user_id: odd.to_owned(),
        name: odd.to_owned(),
        secret_sha256: odd.to_owned(),
        issued_by: odd.to_owned(),
        ..token("k", "u", at(8, 8))
    };
    store.issue_token(t.clone()).await.unwrap();
    let revoked = store.revoke_token(odd, odd, at(9, 9)).await.unwrap();
    assert_eq!(revoked, TokenRecord { revoked: Some(Revocation { by: odd.to_owned(), at: at(9, 9) }), ..t });
    assert_eq!(store.get_token(odd).await.unwrap(), revoked);
    assert_eq!(store.list_tokens(Some(odd)).await.unwrap(), vec![revoked]);

    let s = SessionRecord { session_sha256: odd.to_owned(), user_id: odd.to_owned(), ..session("s", "u", at(10, 0)) };
    store.start_session(s.clone()).await.unwrap();
    assert_eq!(store.get_session(odd).await.unwrap(), s);
    assert_eq!(store.verify_chain().await.unwrap().events, 7);
}

// ---------------------------------------------------------------------------------------------------------
// Attribution

/// Who submitted a declaration, when it arrived, what was waived, and who recorded a party version read
/// back exactly; the submitter and the recorder are in the events, which carry the recording time.
pub async fn declaration_attribution_round_trips(store: Arc<dyn Store>) {
    let mut d = declaration("91310000MA1FL1234X", "REF-ATTR", 0);
    d.waived_fen = 4_321;
    d.submitted_by = "enterprise-clerk-17".to_owned();
    d.received_at = at(1_710_000_000, 1);
    d.recorded_at = at(1_710_000_000, 48_001);
    let record = submit(&store, d.clone()).await;
    expect_record(&record, &d);
    let read = store.get_declaration(record.id).await.unwrap();
    assert_eq!(read, record);
    assert_eq!(read.waived_fen, 4_321);
    assert_eq!(read.submitted_by, "enterprise-clerk-17");
    assert_eq!(read.received_at, at(1_710_000_000, 1));
    assert_eq!(read.recorded_at, at(1_710_000_000, 48_001));
    assert_eq!(store.find_declaration(&d.declarant, &d.reference).await.unwrap(), record);

    // A platform submission: nothing waived, received as it was recorded.
    let mut platform = declaration("91310000MA1FL1234X", "REF-CLI", 1);
    platform.waived_fen = 0;
    platform.submitted_by = "zonegate-cli".to_owned();
    platform.received_at = platform.recorded_at;
    let second = submit(&store, platform.clone()).await;
    expect_record(&second, &platform);
    assert_eq!(store.list_declarations(filter(10)).await.unwrap().items, vec![record.clone(), second.clone()]);

    // The same document from someone else, later, is a repeat of the first record, attribution included.
    let mut again = d.clone();
    again.submitted_by = "someone-else".to_owned();
    again.received_at = at(1_720_000_000, 0);
    again.recorded_at = at(1_720_000_000, 5);
    again.waived_fen = 0;
    assert_eq!(store.submit_declaration(again).await.unwrap(), SubmitOutcome::Repeat(record.clone()));

    let p =
        PartyRecord { recorded_by: "officer-42".to_owned(), ..party(&d.declarant, "Importer", at(1_710_000_100, 7)) };
    store.put_party(p.clone()).await.unwrap();
    assert_eq!(store.get_party(&p.uscc).await.unwrap(), p);
    assert_eq!(store.list_parties(None, 10).await.unwrap(), vec![p.clone()]);
    let p2 = PartyRecord { recorded_by: "zonegate-cli".to_owned(), ..p.clone() };
    store.put_party(p2.clone()).await.unwrap();
    assert_eq!(store.get_party(&p.uscc).await.unwrap().recorded_by, "zonegate-cli");

    let events = store.events(0, 10).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, [DECLARATION_RECORDED, DECLARATION_RECORDED, PARTY_RECORDED, PARTY_RECORDED]);
    let first = payload(&events[0].payload_json);
    assert_eq!(first["submitted_by"], "enterprise-clerk-17");
    assert_eq!(first["id"], record.id);
    // The event is stamped when the decision was recorded, not when the submission arrived.
    assert_eq!(events[0].recorded_at, d.recorded_at);
    assert_eq!(payload(&events[1].payload_json)["submitted_by"], "zonegate-cli");
    assert_eq!(payload(&events[2].payload_json)["recorded_by"], "officer-42");
    assert_eq!(payload(&events[3].payload_json)["recorded_by"], "zonegate-cli");
    assert_eq!(store.verify_chain().await.unwrap().events, 4);
}

// ---------------------------------------------------------------------------------------------------------
// Statistics

/// One declaration of the statistics fixture: zone, declarant, flow, declared on, payable, waived,
/// treatments, decision latency in µs.
type StatsFixture = (&'static str, &'static str, &'static str, &'static str, i64, i64, &'static [&'static str], i64);

const STATS_FIXTURE: [StatsFixture; 8] = [
    ("Z1", "A", "import", "2024-03-01", 100, 5, &["bonded"], 1_000),
    ("Z1", "A", "import", "2024-03-01", 200, 0, &["bonded", "exempt"], 3_000),
    ("Z1", "B", "export", "2024-03-01", 50, 7, &["exempt"], 2_000),
    ("Z2", "A", "import", "2024-03-02", 1_000, 10, &[], 10_000),
    ("Z1", "B", "import", "2024-03-03", 1, 1, &["dutiable", "bonded"], 500),
    ("Z1", "A", "export", "2024-02-29", 9_999, 99, &["bonded"], 99_999),
    ("Z1", "A", "import", "2024-03-04", 8_888, 88, &["exempt"], 77_777),
    ("Z2", "B", "transit", "2024-03-02", 300, 2, &["bonded"], 0),
];

fn stats_query(zone: Option<&str>, declarant: Option<&str>, from: &str, to: &str) -> StatsQuery {
    StatsQuery {
        zone: zone.map(str::to_owned),
        declarant: declarant.map(str::to_owned),
        declared_from: date(from),
        declared_to: date(to),
    }
}

fn daily(day: &str, flow: &str, declarations: i64, payable_fen: i64, waived_fen: i64) -> DailyFlow {
    DailyFlow { day: date(day), flow: flow.to_owned(), declarations, payable_fen, waived_fen }
}

fn treatment_counts(counts: &[(&str, i64)]) -> Vec<(String, i64)> {
    counts.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect()
}

/// The statistics of [`STATS_FIXTURE`] computed the slow way, to cross-check every query.
fn stats_model(query: &StatsQuery) -> DeclarationStats {
    let selected: Vec<&StatsFixture> = STATS_FIXTURE
        .iter()
        .filter(|(zone, declarant, _, day, ..)| {
            query.zone.as_deref().is_none_or(|z| z == *zone)
                && query.declarant.as_deref().is_none_or(|d| d == *declarant)
                && (query.declared_from..=query.declared_to).contains(&date(day))
        })
        .collect();
    let mut by_day: BTreeMap<(NaiveDate, &str), (i64, i64, i64)> = BTreeMap::new();
    let mut treatments: BTreeMap<&str, i64> = BTreeMap::new();
    let mut latencies = Vec::new();
    for (_, _, flow, day, payable, waived, set, latency) in &selected {
        let entry = by_day.entry((date(day), flow)).or_default();
        *entry = (entry.0 + 1, entry.1 + payable, entry.2 + waived);
        for t in set.iter().collect::<HashSet<_>>() {
            *treatments.entry(t).or_default() += 1;
        }
        latencies.push(*latency);
    }
    latencies.sort_unstable();
    DeclarationStats {
        daily: by_day
            .into_iter()
            .map(|((day, flow), (n, payable_fen, waived_fen))| DailyFlow {
                day,
                flow: flow.to_owned(),
                declarations: n,
                payable_fen,
                waived_fen,
            })
            .collect(),
        treatments: treatments.into_iter().map(|(t, n)| (t.to_owned(), n)).collect(),
        decision_us_p50: nearest_rank(&latencies, 50),
        decision_us_p90: nearest_rank(&latencies, 90),
    }
}

/// Statistics count, sum and group by (day, flow) over an inclusive `declared_on` range, optionally one
/// zone and one declarant; treatments count declarations; percentiles are nearest-rank over
/// `recorded_at - received_at`. Repeats and conflicts count nothing.
pub async fn stats_group_by_day_and_flow_with_percentiles(store: Arc<dyn Store>) {
    for (i, (zone, declarant, flow, day, payable, waived, treatments, latency)) in STATS_FIXTURE.iter().enumerate() {
        let mut d = declaration(declarant, &format!("S{i}"), i as u32);
        d.zone = (*zone).to_owned();
        d.flow = (*flow).to_owned();
        d.declared_on = date(day);
        d.payable_fen = *payable;
        d.waived_fen = *waived;
        d.treatments = treatments.iter().map(|t| (*t).to_owned()).collect();
        d.recorded_at = at(1_710_000_000 + 10 * i as i64, 250_000);
        d.received_at = d.recorded_at - chrono::TimeDelta::microseconds(*latency);
        submit(&store, d.clone()).await;
        // A repeat and a conflict under the same key change nothing.
        assert!(matches!(store.submit_declaration(d.clone()).await.unwrap(), SubmitOutcome::Repeat(_)));
        let mut other = declaration(declarant, &format!("S{i}"), 100 + i as u32);
        other.declared_on = d.declared_on;
        assert!(matches!(store.submit_declaration(other).await.unwrap(), SubmitOutcome::Conflict(_)));
    }

    // Computed by hand. Latencies in range: 1000, 3000, 2000, 10000, 500, 0 → sorted
    // [0, 500, 1000, 2000, 3000, 10000]: p50 is rank ceil(3) = 3, p90 is rank ceil(5.4) = 6.
    let query = stats_query(None, None, "2024-03-01", "2024-03-03");
    let expected = DeclarationStats {
        daily: vec![
            daily("2024-03-01", "export", 1, 50, 7),
            daily("2024-03-01", "import", 2, 300, 5),
            daily("2024-03-02", "import", 1, 1_000, 10),
            daily("2024-03-02", "transit", 1, 300, 2),
            daily("2024-03-03", "import", 1, 1, 1),
        ],
        treatments: treatment_counts(&[("bonded", 4), ("dutiable", 1), ("exempt", 2)]),
        decision_us_p50: Some(1_000),
        decision_us_p90: Some(10_000),
    };
    assert_eq!(store.declaration_stats(query.clone()).await.unwrap(), expected);
    assert_eq!(stats_model(&query), expected);

    // Zone Z1: latencies [500, 1000, 2000, 3000]: p50 rank 2, p90 rank ceil(3.6) = 4.
    let query = stats_query(Some("Z1"), None, "2024-03-01", "2024-03-03");
    let expected = DeclarationStats {
        daily: vec![
            daily("2024-03-01", "export", 1, 50, 7),
            daily("2024-03-01", "import", 2, 300, 5),
            daily("2024-03-03", "import", 1, 1, 1),
        ],
        treatments: treatment_counts(&[("bonded", 3), ("dutiable", 1), ("exempt", 2)]),
        decision_us_p50: Some(1_000),
        decision_us_p90: Some(3_000),
    };
    assert_eq!(store.declaration_stats(query.clone()).await.unwrap(), expected);
    assert_eq!(stats_model(&query), expected);

    // Declarant B: latencies [0, 500, 2000]: p50 rank ceil(1.5) = 2, p90 rank ceil(2.7) = 3.
    let query = stats_query(None, Some("B"), "2024-03-01", "2024-03-03");
    let expected = DeclarationStats {
        daily: vec![
            daily("2024-03-01", "export", 1, 50, 7),
            daily("2024-03-02", "transit", 1, 300, 2),
            daily("2024-03-03", "import", 1, 1, 1),
        ],
        treatments: treatment_counts(&[("bonded", 2), ("dutiable", 1), ("exempt", 1)]),
        decision_us_p50: Some(500),
        decision_us_p90: Some(2_000),
    };
    assert_eq!(store.declaration_stats(query.clone()).await.unwrap(), expected);
    assert_eq!(stats_model(&query), expected);

    // Zone and declarant together: latencies [1000, 3000]: p50 rank 1, p90 rank 2.
    let query = stats_query(Some("Z1"), Some("A"), "2024-03-01", "2024-03-03");
    let expected = DeclarationStats {
        daily: vec![daily("2024-03-01", "import", 2, 300, 5)],
        treatments: treatment_counts(&[("bonded", 2), ("exempt", 1)]),
        decision_us_p50: Some(1_000),
        decision_us_p90: Some(3_000),
    };
    assert_eq!(store.declaration_stats(query.clone()).await.unwrap(), expected);
    assert_eq!(stats_model(&query), expected);

    // One day, both bounds inclusive; a declaration without treatments counts in the daily rows only.
    let query = stats_query(None, None, "2024-03-02", "2024-03-02");
    let expected = DeclarationStats {
        daily: vec![daily("2024-03-02", "import", 1, 1_000, 10), daily("2024-03-02", "transit", 1, 300, 2)],
        treatments: treatment_counts(&[("bonded", 1)]),
        decision_us_p50: Some(0),
        decision_us_p90: Some(10_000),
    };
    assert_eq!(store.declaration_stats(query.clone()).await.unwrap(), expected);
    assert_eq!(stats_model(&query), expected);

    // Everything: sorted [0, 500, 1000, 2000, 3000, 10000, 77777, 99999]: p50 rank 4, p90 rank ceil(7.2) = 8.
    let query = stats_query(None, None, "2024-02-29", "2024-03-04");
    let got = store.declaration_stats(query.clone()).await.unwrap();
    assert_eq!(got.daily.first(), Some(&daily("2024-02-29", "export", 1, 9_999, 99)));
    assert_eq!(got.daily.last(), Some(&daily("2024-03-04", "import", 1, 8_888, 88)));
    assert_eq!(got.daily.len(), 7);
    assert_eq!(got.treatments, treatment_counts(&[("bonded", 5), ("dutiable", 1), ("exempt", 3)]));
    assert_eq!((got.decision_us_p50, got.decision_us_p90), (Some(2_000), Some(99_999)));
    assert_eq!(got, stats_model(&query));

    for (zone, declarant) in [(None, None), (Some("Z1"), None), (Some("Z2"), Some("B")), (None, Some("A"))] {
        for (from, to) in [("2024-02-29", "2024-02-29"), ("2024-03-01", "2024-03-02"), ("2024-03-03", "2024-03-04")] {
            let query = stats_query(zone, declarant, from, to);
            assert_eq!(store.declaration_stats(query.clone()).await.unwrap(), stats_model(&query), "{query:?}");
        }
    }
}

/// Statistics over nothing (an empty store, a range without declarations, a reversed range, an unknown zone
/// or declarant) are empty, with no percentiles.
pub async fn stats_of_nothing_are_empty(store: Arc<dyn Store>) {
    let everything = stats_query(None, None, "0001-01-01", "9999-12-31");
    assert_eq!(store.declaration_stats(everything.clone()).await.unwrap(), DeclarationStats::default());
    let mut d = declaration("A", "R1", 0);
    d.zone = "Z1".to_owned();
    d.declared_on = date("2024-03-01");
    submit(&store, d).await;
    for query in [
        stats_query(None, None, "2024-05-01", "2024-05-31"),
        stats_query(None, None, "2024-03-02", "2024-02-29"),
        stats_query(Some("Z9"), None, "2024-01-01", "2024-12-31"),
        stats_query(None, Some("Z1"), "2024-01-01", "2024-12-31"),
        stats_query(Some("z1"), None, "2024-01-01", "2024-12-31"),
    ] {
        let stats = store.declaration_stats(query.clone()).await.unwrap();
        assert_eq!(stats, DeclarationStats::default(), "{query:?}");
        assert_eq!((stats.decision_us_p50, stats.decision_us_p90), (None, None));
    }
    // The fixture's one declaration: received 23,456 µs before it was recorded.
    let one = store.declaration_stats(everything).await.unwrap();
    assert_eq!(one.daily, vec![daily("2024-03-01", "import", 1, 12_345, 250)]);
    assert_eq!(one.treatments, treatment_counts(&[("bonded", 1)]));
    assert_eq!((one.decision_us_p50, one.decision_us_p90), (Some(23_456), Some(23_456)));
}

// ---------------------------------------------------------------------------------------------------------
// Accounts

/// Putting an account again keeps both versions; the latest put is current, whatever its timestamp; a system
/// account has no password. Events name the account but carry no password hash and no personal data.
pub async fn account_versions_latest_is_current(store: Arc<dyn Store>) {
    let uscc = "91310000MA1FL1234X";
    let v1 = account("alice", uscc, at(1_700_000_000, 1));
    store.put_account(v1.clone()).await.unwrap();
    assert_eq!(store.get_account("alice").await.unwrap(), v1);

    // A password change and a deactivation are a new version, current although stamped earlier.
    let v2 = AccountRecord {
        roles: vec!["viewer".to_owned()],
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$changed".to_owned()),
        active: false,
        recorded_by: "security-officer".to_owned(),
        ..account("alice", uscc, at(1_600_000_000, 2))
    };
    store.put_account(v2.clone()).await.unwrap();
    assert_eq!(store.get_account("alice").await.unwrap(), v2);
    assert_eq!(store.list_accounts(None, None, 10).await.unwrap(), vec![v2.clone()]);

    let system = AccountRecord {
        party: "customs:5300".to_owned(),
        party_kind: "customs".to_owned(),
        roles: Vec::new(),
        password_hash: None,
        personal_json: "{}".to_owned(),
        ..account("gate-system", "", at(1_700_000_100, 0))
    };
    store.put_account(system.clone()).await.unwrap();
    assert_eq!(store.get_account("gate-system").await.unwrap(), system);
    assert!(matches!(store.get_account("Alice").await, Err(StoreError::NotFound)));

    let events = store.events(0, 10).await.unwrap();
    assert_eq!(events.len(), 3);
    for (event, version) in events.iter().zip([&v1, &v2, &system]) {
        assert_eq!(event.kind, ACCOUNT_RECORDED);
        assert_eq!(event.subject, version.user_id);
        assert_eq!(event.recorded_at, version.recorded_at);
        let text = &event.payload_json;
        assert!(!text.contains("argon2") && !text.contains(PERSONAL_ID_NUMBER), "{text}");
        assert!(!text.contains("display_name") && !text.contains("password_hash"), "{text}");
        let body = payload(text);
        assert_eq!(body["user_id"], version.user_id);
        assert_eq!(body["party"], version.party);
        assert_eq!(body["party_kind"], version.party_kind);
        assert_eq!(body["roles"], serde_json::json!(version.roles));
        assert_eq!(body["active"], version.active);
        assert_eq!(body["recorded_by"], version.recorded_by);
        assert_eq!(body["password_set"], version.password_hash.is_some());
        assert_eq!(body.as_object().map(|o| o.len()), Some(7));
    }
    assert_eq!(store.verify_chain().await.unwrap().events, 3);
}

/// Current accounts list ascending by user id, optionally of one party (by their current version), after an
/// exclusive cursor; pages chain without gaps.
pub async fn accounts_list_by_party_with_cursor(store: Arc<dyn Store>) {
    for (user, party) in [("u5", "P1"), ("u1", "P2"), ("u3", "P1"), ("u2", "P1"), ("u4", "P2"), ("u0", "P3")] {
        store.put_account(account(user, party, at(10, 0))).await.unwrap();
    }
    // u2 moves from P1 to P2.
    store.put_account(account("u2", "P2", at(20, 0))).await.unwrap();

    let users = |accounts: &[AccountRecord]| accounts.iter().map(|a| a.user_id.clone()).collect::<Vec<_>>();
    let all = store.list_accounts(None, None, 100).await.unwrap();
    assert_eq!(users(&all), ["u0", "u1", "u2", "u3", "u4", "u5"]);
    assert_eq!(all[2].party, "P2");
    assert_eq!(users(&store.list_accounts(Some("P1"), None, 100).await.unwrap()), ["u3", "u5"]);
    assert_eq!(users(&store.list_accounts(Some("P2"), None, 100).await.unwrap()), ["u1", "u2", "u4"]);
    assert_eq!(users(&store.list_accounts(Some("P2"), Some("u1".into()), 1).await.unwrap()), ["u2"]);
    assert_eq!(users(&store.list_accounts(Some("P2"), Some("u2".into()), 10).await.unwrap()), ["u4"]);
    assert_eq!(users(&store.list_accounts(Some("P2"), Some("u10".into()), 10).await.unwrap()), ["u2", "u4"]);
    assert!(store.list_accounts(Some("P2"), Some("u4".into()), 10).await.unwrap().is_empty());
    assert!(store.list_accounts(Some("P9"), None, 10).await.unwrap().is_empty());
    assert!(store.list_accounts(Some("P"), None, 10).await.unwrap().is_empty());
    assert_eq!(users(&store.list_accounts(None, Some("u3".into()), 2).await.unwrap()), ["u4", "u5"]);

    for party in [None, Some("P1"), Some("P2")] {
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let page = store.list_accounts(party, after.clone(), 2).await.unwrap();
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = Some(last.user_id.clone());
            walked.extend(page);
        }
        let expected: Vec<AccountRecord> = all.iter().filter(|a| party.is_none_or(|p| a.party == p)).cloned().collect();
        assert_eq!(walked, expected, "party {party:?}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Tokens and sessions

/// A token is issued once (a second issue under its id is `AlreadyExists` and records nothing), revoked once
/// (a second revocation returns the first and records nothing), and listed in issue order; unknown ids are
/// `NotFound`. Events name tokens, never their secrets.
pub async fn token_issue_revoke_lifecycle(store: Arc<dyn Store>) {
    let t1 = token("tok_1", "alice", at(1_700_000_000, 10));
    let t2 = token("tok_2", "bob", at(1_700_000_001, 20));
    // `revoked` is ignored when issuing.
    let t3 = TokenRecord {
        revoked: Some(Revocation { by: "x".into(), at: at(1, 0) }),
        ..token("tok_3", "alice", at(1_600_000_000, 30))
    };
    for t in [&t1, &t2, &t3] {
        store.issue_token(t.clone()).await.unwrap();
    }
    let t3 = TokenRecord { revoked: None, ..t3 };
    assert_eq!(store.get_token("tok_1").await.unwrap(), t1);
    assert_eq!(store.get_token("tok_3").await.unwrap(), t3);

    let duplicate = TokenRecord { user_id: "mallory".into(), ..token("tok_1", "mallory", at(1_700_000_002, 0)) };
    assert!(matches!(store.issue_token(duplicate).await, Err(StoreError::AlreadyExists(_))));
    assert_eq!(store.get_token("tok_1").await.unwrap(), t1);
    assert_eq!(event_count(&store).await, 3);

    let first = Revocation { by: "admin".to_owned(), at: at(1_700_000_100, 1) };
    let revoked = store.revoke_token("tok_1", &first.by, first.at).await.unwrap();
    let expected = TokenRecord { revoked: Some(first.clone()), ..t1.clone() };
    assert_eq!(revoked, expected);
    assert_eq!(store.get_token("tok_1").await.unwrap(), expected);
    let again = store.revoke_token("tok_1", "security-officer", at(1_700_000_200, 0)).await.unwrap();
    assert_eq!(again, expected);
    assert_eq!(store.get_token("tok_1").await.unwrap(), expected);
    assert!(matches!(store.revoke_token("tok_9", "admin", at(1, 0)).await, Err(StoreError::NotFound)));
    assert!(matches!(store.get_token("tok_9").await, Err(StoreError::NotFound)));
    assert!(matches!(store.get_token("TOK_1").await, Err(StoreError::NotFound)));
    // A revoked id stays taken.
    assert!(matches!(store.issue_token(t1.clone()).await, Err(StoreError::AlreadyExists(_))));

    assert_eq!(store.list_tokens(None).await.unwrap(), vec![expected.clone(), t2.clone(), t3.clone()]);
    assert_eq!(store.list_tokens(Some("alice")).await.unwrap(), vec![expected, t3.clone()]);
    assert_eq!(store.list_tokens(Some("bob")).await.unwrap(), vec![t2.clone()]);
    assert!(store.list_tokens(Some("carol")).await.unwrap().is_empty());

    let events = store.events(0, 10).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, [TOKEN_ISSUED, TOKEN_ISSUED, TOKEN_ISSUED, TOKEN_REVOKED]);
    for (event, t) in events.iter().zip([&t1, &t2, &t3]) {
        assert_eq!(event.subject, t.token_id);
        assert_eq!(event.recorded_at, t.issued_at);
        assert!(!event.payload_json.contains(&t.secret_sha256), "{}", event.payload_json);
        let body = payload(&event.payload_json);
        assert_eq!(body["token_id"], t.token_id);
        assert_eq!(body["user_id"], t.user_id);
        assert_eq!(body["name"], t.name);
        assert_eq!(body["issued_by"], t.issued_by);
        assert_eq!(body["expires_at"], t.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        assert_eq!(body.as_object().map(|o| o.len()), Some(5));
    }
    assert_eq!(events[3].subject, "tok_1");
    assert_eq!(events[3].recorded_at, first.at);
    assert_eq!(payload(&events[3].payload_json), serde_json::json!({ "token_id": "tok_1", "by": "admin" }));
    assert_eq!(store.verify_chain().await.unwrap().events, 4);
}

/// A session starts once (a second start under its hash is `AlreadyExists`), ends once (ending again keeps
/// the first end; ending an unknown session changes nothing), and appends no events.
pub async fn sessions_start_end_idempotent(store: Arc<dyn Store>) {
    let s1 = session("cookie one", "alice", at(1_700_000_000, 1));
    // `ended_at` is ignored when starting.
    let s2 = SessionRecord { ended_at: Some(at(5, 0)), ..session("cookie two", "alice", at(1_700_000_001, 2)) };
    store.start_session(s1.clone()).await.unwrap();
    store.start_session(s2.clone()).await.unwrap();
    assert_eq!(store.get_session(&s1.session_sha256).await.unwrap(), s1);
    let s2 = SessionRecord { ended_at: None, ..s2 };
    assert_eq!(store.get_session(&s2.session_sha256).await.unwrap(), s2);

    let hijack = SessionRecord { user_id: "mallory".into(), ..s1.clone() };
    assert!(matches!(store.start_session(hijack).await, Err(StoreError::AlreadyExists(_))));
    assert_eq!(store.get_session(&s1.session_sha256).await.unwrap(), s1);

    store.end_session(&s1.session_sha256, at(1_700_000_500, 3)).await.unwrap();
    let ended = SessionRecord { ended_at: Some(at(1_700_000_500, 3)), ..s1.clone() };
    assert_eq!(store.get_session(&s1.session_sha256).await.unwrap(), ended);
    store.end_session(&s1.session_sha256, at(1_700_000_900, 0)).await.unwrap();
    assert_eq!(store.get_session(&s1.session_sha256).await.unwrap(), ended);
    // Ending one session leaves the others alone; an ended session cannot be started again.
    assert_eq!(store.get_session(&s2.session_sha256).await.unwrap(), s2);
    assert!(matches!(store.start_session(s1.clone()).await, Err(StoreError::AlreadyExists(_))));
    assert_eq!(store.get_session(&s1.session_sha256).await.unwrap(), ended);

    let unknown = chain::sha256_hex("never started");
    store.end_session(&unknown, at(1_700_000_600, 0)).await.unwrap();
    assert!(matches!(store.get_session(&unknown).await, Err(StoreError::NotFound)));
    // Starting it afterwards gives a session that has not ended.
    let late = SessionRecord { session_sha256: unknown.clone(), ..session("x", "bob", at(1_700_000_700, 0)) };
    store.start_session(late.clone()).await.unwrap();
    assert_eq!(store.get_session(&unknown).await.unwrap(), late);

    assert_eq!(event_count(&store).await, 0);
    assert!(store.events(0, 10).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// Inspections

/// An inspection is recorded with its timestamp truncated to microseconds, reads back identically, and
/// appends one `inspection.recorded` event under the declaration's subject, so the declaration's history
/// shows it; the chain stays intact.
pub async fn inspection_records_and_reads_back(store: Arc<dyn Store>) {
    let d = submit(&store, declaration("91310000MA1FL1234X", "REF-0001", 0)).await;
    let other = submit(&store, declaration("91310000MA1FL1234X", "REF-0002", 0)).await;
    let fine = DateTime::from_timestamp(1_710_000_500, 123_456_789).expect("timestamp");
    let new = inspection(d.id, "finding", "undeclared lithium batteries", fine);
    let expected = InspectionRecord { recorded_at: at(1_710_000_500, 123_456), ..new.clone() };

    let record = inspection_created(store.record_inspection(new).await.unwrap());
    assert_eq!(record, expected);
    assert_eq!(store.get_inspection(d.id).await.unwrap(), expected);
    assert!(matches!(store.get_inspection(other.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_inspections(None, 10).await.unwrap(), vec![expected.clone()]);

    let subject = declaration_subject(&d.declarant, &d.reference);
    let history = store.events_for_subject(&subject, 10).await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, [DECLARATION_RECORDED, INSPECTION_RECORDED]);
    let event = &history[1];
    assert_eq!(event.seq, 3);
    assert_eq!(event.subject, subject);
    assert_eq!(event.recorded_at, expected.recorded_at);
    assert!(!event.payload_json.contains("lithium"), "{}", event.payload_json);
    assert_eq!(
        payload(&event.payload_json),
        serde_json::json!({
            "declaration_id": d.id,
            "outcome": "finding",
            "recorded_by": "officer-7",
            "body_sha256": expected.body_sha256,
        })
    );
    let other_subject = declaration_subject(&other.declarant, &other.reference);
    assert_eq!(store.events_for_subject(&other_subject, 10).await.unwrap().len(), 1);
    let all = store.events(0, 10).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2], *event);
    assert_eq!(all[2].prev_hash, all[1].hash);
    let report = store.verify_chain().await.unwrap();
    assert_eq!(report.events, 3);
    assert_eq!(report.head_hash, event.hash);

    // The other declaration can be inspected too, with the other outcome.
    let clean = inspection(other.id, "no_finding", "documents match", at(1_710_000_600, 0));
    assert_eq!(store.record_inspection(clean.clone()).await.unwrap(), InspectionOutcome::Created(clean.clone()));
    assert_eq!(store.get_inspection(other.id).await.unwrap(), clean);
    assert_eq!(store.verify_chain().await.unwrap().events, 4);
}

/// A second inspection of a declaration writes nothing: the same body hash gets `Repeat`, another one
/// `Conflict`, both with the first record (whatever else the second carries).
pub async fn inspection_repeat_and_conflict_return_the_first(store: Arc<dyn Store>) {
    let d = submit(&store, declaration("91310000MA1FL1234X", "REF-0001", 0)).await;
    let first = inspection(d.id, "no_finding", "documents match", at(1_710_000_500, 7));
    assert_eq!(store.record_inspection(first.clone()).await.unwrap(), InspectionOutcome::Created(first.clone()));
    assert_eq!(event_count(&store).await, 2);

    let repeat =
        InspectionRecord { recorded_by: "officer-9".into(), recorded_at: at(1_720_000_000, 1), ..first.clone() };
    for _ in 0..3 {
        assert_eq!(store.record_inspection(repeat.clone()).await.unwrap(), InspectionOutcome::Repeat(first.clone()));
    }
    assert_eq!(event_count(&store).await, 2);

    let other_notes = inspection(d.id, "no_finding", "documents match, seals intact", at(1_720_000_001, 0));
    assert_eq!(store.record_inspection(other_notes).await.unwrap(), InspectionOutcome::Conflict(first.clone()));
    let other_outcome = inspection(d.id, "finding", "undeclared goods", at(1_720_000_002, 0));
    assert_eq!(store.record_inspection(other_outcome).await.unwrap(), InspectionOutcome::Conflict(first.clone()));

    assert_eq!(store.get_inspection(d.id).await.unwrap(), first);
    assert_eq!(store.list_inspections(None, 10).await.unwrap(), vec![first.clone()]);
    let subject = declaration_subject(&d.declarant, &d.reference);
    let kinds: Vec<String> =
        store.events_for_subject(&subject, 10).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [DECLARATION_RECORDED, INSPECTION_RECORDED]);
    assert_eq!(store.verify_chain().await.unwrap().events, 2);
}

/// Inspecting a declaration that does not exist is `NotFound` and writes nothing, in an empty store and
/// beside recorded declarations.
pub async fn inspection_of_unknown_declaration_is_not_found(store: Arc<dyn Store>) {
    let orphan = inspection(1, "finding", "no such declaration", at(1_710_000_500, 0));
    assert!(matches!(store.record_inspection(orphan).await, Err(StoreError::NotFound)));
    assert_eq!(event_count(&store).await, 0);
    assert!(matches!(store.get_inspection(1).await, Err(StoreError::NotFound)));

    let d = submit(&store, declaration("91310000MA1FL1234X", "REF-0001", 0)).await;
    for id in [d.id + 1, d.id + 1_000, 0, -1, i64::MAX] {
        let orphan = inspection(id, "no_finding", "no such declaration", at(1_710_000_500, 0));
        assert!(matches!(store.record_inspection(orphan).await, Err(StoreError::NotFound)), "id {id}");
        assert!(matches!(store.get_inspection(id).await, Err(StoreError::NotFound)), "id {id}");
    }
    assert_eq!(event_count(&store).await, 1);
    assert!(store.list_inspections(None, 10).await.unwrap().is_empty());
    assert!(store.declarant_history().await.unwrap().iter().all(|h| h.inspections == 0));

    // The refusals left the store usable: the real declaration can still be inspected.
    let real = inspection(d.id, "finding", "found", at(1_710_000_600, 0));
    assert_eq!(store.record_inspection(real.clone()).await.unwrap(), InspectionOutcome::Created(real));
    assert_eq!(store.verify_chain().await.unwrap().events, 2);
}

/// Inspections list ascending by declaration id whatever the recording order; `after` is an exclusive
/// declaration id cursor and the limit is clamped to `1..=PAGE_SIZE_MAX`.
pub async fn inspections_list_by_declaration_with_cursor(store: Arc<dyn Store>) {
    assert!(store.list_inspections(None, 10).await.unwrap().is_empty());
    let mut declarations = Vec::new();
    for i in 0..7 {
        declarations.push(submit(&store, declaration("D", &format!("R{i}"), 0)).await);
    }
    // Declarations 1 and 4 (0-based) stay uninspected; the others are inspected out of order.
    let mut recorded = Vec::new();
    for (n, index) in [5usize, 0, 3, 6, 2].into_iter().enumerate() {
        let outcome = if n % 2 == 0 { "no_finding" } else { "finding" };
        let record = inspection(declarations[index].id, outcome, &format!("note {n}"), at(1_710_000_000 + n as i64, 0));
        assert_eq!(store.record_inspection(record.clone()).await.unwrap(), InspectionOutcome::Created(record.clone()));
        recorded.push(record);
    }
    recorded.sort_by_key(|r| r.declaration_id);
    let ids: Vec<i64> = recorded.iter().map(|r| r.declaration_id).collect();
    assert_eq!(ids, [0usize, 2, 3, 5, 6].map(|i| declarations[i].id));

    assert_eq!(store.list_inspections(None, 100).await.unwrap(), recorded);
    assert_eq!(store.list_inspections(None, 2).await.unwrap(), recorded[..2]);
    assert_eq!(store.list_inspections(Some(ids[1]), 2).await.unwrap(), recorded[2..4]);
    assert_eq!(store.list_inspections(Some(ids[3]), 2).await.unwrap(), recorded[4..]);
    assert!(store.list_inspections(Some(ids[4]), 2).await.unwrap().is_empty());
    // The cursor need not be an inspected declaration: an uninspected id or one below them all works too.
    assert_eq!(store.list_inspections(Some(declarations[1].id), 100).await.unwrap(), recorded[1..]);
    assert_eq!(store.list_inspections(Some(i64::MIN), 100).await.unwrap(), recorded);
    assert_eq!(store.list_inspections(Some(0), 100).await.unwrap(), recorded);
    assert!(store.list_inspections(Some(i64::MAX), 100).await.unwrap().is_empty());

    // Paging one by one visits each once.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_inspections(after, 1).await.unwrap();
        assert!(page.len() <= 1);
        let Some(last) = page.last() else { break };
        after = Some(last.declaration_id);
        paged.extend(page);
    }
    assert_eq!(paged, recorded);

    // 0 is clamped up to 1, u32::MAX down to PAGE_SIZE_MAX.
    assert_eq!(store.list_inspections(None, 0).await.unwrap(), recorded[..1]);
    assert_eq!(store.list_inspections(None, u32::MAX).await.unwrap(), recorded);
}

/// Concurrent recordings of the inspection of one declaration (some with another body) record it once:
/// exactly one `Created`, and every other caller gets that record back, as `Repeat` or `Conflict`.
pub async fn concurrent_inspections_record_once(store: Arc<dyn Store>) {
    let declarations =
        [submit(&store, declaration("D", "R1", 0)).await, submit(&store, declaration("D", "R2", 0)).await];
    let mut tasks = Vec::new();
    for task in 0..16u32 {
        let store = Arc::clone(&store);
        let d = &declarations[(task % 2) as usize];
        let (id, notes) = (d.id, if task % 4 < 2 { "seal intact" } else { "seal broken" });
        // Another declaration submitted alongside, so inspections share batches with submissions.
        let extra = declaration("E", &format!("X{task}"), task);
        tasks.push(tokio::spawn(async move {
            let submitted = store.submit_declaration(extra).await.expect("submit");
            assert!(matches!(submitted, SubmitOutcome::Created(_)));
            let mine = inspection(id, "no_finding", notes, at(1_710_000_000, task));
            let outcome = store.record_inspection(mine.clone()).await.expect("inspect");
            (mine, outcome)
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task"));
    }
    for d in &declarations {
        let stored = store.get_inspection(d.id).await.unwrap();
        let mine: Vec<&(InspectionRecord, InspectionOutcome)> =
            outcomes.iter().filter(|(sent, _)| sent.declaration_id == d.id).collect();
        assert_eq!(mine.len(), 8);
        let mut created = 0;
        for (sent, outcome) in &mine {
            match outcome {
                InspectionOutcome::Created(r) => {
                    created += 1;
                    assert_eq!((r, r), (sent, &stored));
                }
                // Another caller's record: a repeat exactly when the bodies hash alike.
                InspectionOutcome::Repeat(r) => assert_eq!((r, &sent.body_sha256), (&stored, &stored.body_sha256)),
                InspectionOutcome::Conflict(r) => {
                    assert_eq!(r, &stored);
                    assert_ne!(sent.body_sha256, stored.body_sha256);
                }
            }
        }
        assert_eq!(created, 1, "{mine:?}");
        let subject = declaration_subject(&d.declarant, &d.reference);
        let kinds: Vec<String> =
            store.events_for_subject(&subject, 10).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [DECLARATION_RECORDED, INSPECTION_RECORDED]);
    }
    assert_eq!(store.list_inspections(None, 100).await.unwrap().len(), 2);
    assert_eq!(store.verify_chain().await.unwrap().events, 2 + 16 + 2);
}

/// The history of every declarant with a declaration, ascending by declarant (bytewise): declarations,
/// how many are inspected, and how many inspections found something.
pub async fn declarant_history_counts_declarations_inspections_findings(store: Arc<dyn Store>) {
    assert!(store.declarant_history().await.unwrap().is_empty());
    let of = |declarant: &'static str, count: usize| {
        let store = Arc::clone(&store);
        async move {
            let mut ids = Vec::new();
            for i in 0..count {
                ids.push(submit(&store, declaration(declarant, &format!("{declarant}-{i}"), 0)).await.id);
            }
            ids
        }
    };
    // Recording order does not matter; "a" sorts after "B" and "C" bytewise.
    let b = of("B", 1).await;
    let a = of("A", 3).await;
    let lower = of("a", 2).await;
    let c = of("C", 4).await;
    let inspect = |id: i64, outcome: &'static str| {
        let store = Arc::clone(&store);
        async move {
            let record = inspection(id, outcome, "history", at(1_710_000_000, 0));
            inspection_created(store.record_inspection(record).await.unwrap());
        }
    };
    inspect(a[0], "finding").await;
    inspect(a[2], "no_finding").await;
    inspect(lower[0], "finding").await;
    inspect(lower[1], "finding").await;
    inspect(c[1], "no_finding").await;
    // A repeat and a conflict change no count.
    let again = inspection(a[0], "finding", "history", at(1_710_000_001, 0));
    assert!(matches!(store.record_inspection(again).await.unwrap(), InspectionOutcome::Repeat(_)));
    let conflict = inspection(c[1], "finding", "history", at(1_710_000_001, 0));
    assert!(matches!(store.record_inspection(conflict).await.unwrap(), InspectionOutcome::Conflict(_)));
    let history = |declarant: &str, declarations: i64, inspections: i64, findings: i64| DeclarantHistory {
        declarant: declarant.to_owned(),
        declarations,
        inspections,
        findings,
    };
    assert_eq!(b.len(), 1);
    assert_eq!(
        store.declarant_history().await.unwrap(),
        vec![history("A", 3, 2, 1), history("B", 1, 0, 0), history("C", 4, 1, 0), history("a", 2, 2, 2)]
    );
    assert_eq!(store.verify_chain().await.unwrap().events, 10 + 5);
}

// ---------------------------------------------------------------------------------------------------------
// Ledger documents

const LEDGER_ENTERPRISE: &str = "91310000MA1FL1234X";

/// A ledger document whose body (and hash) depends on its key and `variant`.
fn ledger_document(
    enterprise: &str,
    kind: &str,
    number: &str,
    variant: u32,
    items: Vec<LedgerItem>,
    accounts: Vec<Account>,
    transfers: Vec<Transfer>,
) -> NewLedgerDocument {
    let body_json = format!("{{\"enterprise\":\"{enterprise}\",\"number\":\"{number}\",\"variant\":{variant}}}");
    NewLedgerDocument {
        enterprise: enterprise.to_owned(),
        kind: kind.to_owned(),
        number: number.to_owned(),
        body_sha256: chain::sha256_hex(&body_json),
        body_json,
        result_json: format!("{{\"transfers\":{},\"variant\":{variant}}}", transfers.len()),
        recorded_by: "clerk-17".to_owned(),
        recorded_at: at(1_720_000_000, 250_000),
        items,
        accounts,
        transfers,
    }
}

fn ledger_item(item_no: &str, treatment: Treatment) -> LedgerItem {
    LedgerItem {
        key: LedgerKey::new(LEDGER_ENTERPRISE, item_no),
        hs_code: "8471300000".to_owned(),
        unit: "035".to_owned(),
        quantity_scale: 3,
        treatment,
    }
}

/// The stock and outside accounts of an item, with small ids `base` and `base + 1`.
fn ledger_accounts(item_no: &str, base: u128) -> Vec<Account> {
    let key = LedgerKey::new(LEDGER_ENTERPRISE, item_no);
    vec![Account::new(base, key.clone(), AccountKind::Stock), Account::new(base + 1, key, AccountKind::Outside)]
}

/// `count` first-line entries from account `outside` to `stock`, ids from `first_id` (descending when
/// `descending`, so that the id order differs from the recorded order).
fn ledger_entries(first_id: u128, count: u32, outside: u128, stock: u128, descending: bool) -> Vec<Transfer> {
    (0..count)
        .map(|i| {
            let id = if descending { first_id + u128::from(count - 1 - i) } else { first_id + u128::from(i) };
            Transfer::new(
                id,
                AccountId(outside),
                AccountId(stock),
                u64::from(i) * 1_000 + 1,
                u64::from(i) * 100 + 7,
                TransferCode::FirstLineEntry,
                format!("QD{id}"),
                at(1_720_000_000 + i64::from(i), i % 1_000_000),
            )
        })
        .collect()
}

fn ledger_created(outcome: LedgerDocumentOutcome) -> StoredLedgerDocument {
    match outcome {
        LedgerDocumentOutcome::Created(record) => record,
        other => panic!("expected Created, got {other:?}"),
    }
}

async fn record_ledger(store: &Arc<dyn Store>, document: NewLedgerDocument) -> StoredLedgerDocument {
    ledger_created(store.record_ledger_document(document).await.expect("record ledger document"))
}

/// What a document reads back as, given its seq: timestamps at whole microseconds.
fn expected_ledger_document(seq: i64, document: &NewLedgerDocument) -> StoredLedgerDocument {
    let document = ledger_document_as_stored(document.clone()).expect("document within bounds");
    stored_ledger_document(seq, &document)
}

/// A document recorded with every kind of ledger record reads back identically (timestamps at whole
/// microseconds), and the ledger log replays exactly the items, accounts and transfers recorded: pending,
/// posting, voiding and linked transfers, an id above 2^64, a domestic item, accounts with both flags. One
/// `ledger.document_recorded` event per document pins the body, the result and the transfers.
pub async fn ledger_document_records_and_replays(store: Arc<dyn Store>) {
    let big = (1u128 << 64) + 12_345;
    let huge = u128::MAX - 7;
    let bonded = ledger_item("MAT-001", Treatment::Bonded);
    let domestic = ledger_item("MAT-002", Treatment::Domestic);
    let exempt = LedgerItem { quantity_scale: 0, unit: "台".to_owned(), ..ledger_item("EQP-001", Treatment::Exempt) };
    let mut accounts = ledger_accounts("MAT-001", 10);
    let domestic_key = LedgerKey::new(LEDGER_ENTERPRISE, "MAT-002");
    accounts.push(Account::new(big, domestic_key.clone(), AccountKind::Stock));
    accounts.push(Account {
        id: AccountId(huge),
        ledger: domestic_key,
        kind: AccountKind::Mainland,
        flags: AccountFlags { debits_must_not_exceed_credits: true, credits_must_not_exceed_debits: true },
    });
    let registration = ledger_document(
        LEDGER_ENTERPRISE,
        "item",
        "ITEM-2024-001",
        0,
        vec![bonded, domestic, exempt],
        accounts.clone(),
        vec![],
    );
    let record = record_ledger(&store, registration.clone()).await;
    assert_eq!(record, expected_ledger_document(record.seq, &registration));
    assert!(record.seq >= 1);
    assert_eq!(record.transfer_count, 0);

    let fine = |secs: i64, nanos: u32| DateTime::from_timestamp(secs, nanos).expect("timestamp");
    let entry = Transfer::new(
        big + 1,
        AccountId(11),
        AccountId(10),
        5_000,
        1_250_000,
        TransferCode::FirstLineEntry,
        "QD2024000001",
        fine(1_720_000_100, 123_456_789),
    );
    let reserve = Transfer::new(
        2,
        AccountId(10),
        AccountId(11),
        2_000,
        500_000,
        TransferCode::Export,
        "QD2024000002",
        fine(1_720_000_200, 999_999_999),
    )
    .pending();
    let post = Transfer::post_of(3, &reserve, 1_500, 375_000, "HF2024000001", fine(1_720_000_300, 1));
    let reserve_again = Transfer { id: TransferId(4), ..reserve.clone() };
    let void = Transfer::void_of(u128::MAX, &reserve_again, "QD2024000002-C", fine(-1, 999_999_999));
    let linked = Transfer::new(
        5,
        AccountId(huge),
        AccountId(big),
        i64::MAX as u64,
        i64::MAX as u64,
        TransferCode::MainlandEntry,
        "引用 \"quoted\" \\ ref",
        fine(1_720_000_400, 0),
    )
    .linked();
    let closing =
        Transfer::new(6, AccountId(big), AccountId(huge), 0, 0, TransferCode::Correction, "", fine(1_720_000_400, 500));
    let transfers = vec![entry, reserve, post, reserve_again, void, linked, closing];
    let list = ledger_document(LEDGER_ENTERPRISE, "list", "QD2024000001", 0, vec![], vec![], transfers.clone());
    let list_record = record_ledger(&store, list.clone()).await;
    assert_eq!(list_record, expected_ledger_document(list_record.seq, &list));
    assert!(list_record.seq > record.seq);
    assert_eq!(list_record.transfer_count, 7);
    assert_eq!(list_record.recorded_at, at(1_720_000_000, 250_000));

    assert_eq!(store.get_ledger_document(LEDGER_ENTERPRISE, "item", "ITEM-2024-001").await.unwrap(), record);
    assert_eq!(store.get_ledger_document(LEDGER_ENTERPRISE, "list", "QD2024000001").await.unwrap(), list_record);

    let stored_transfers = ledger_document_as_stored(list.clone()).expect("within bounds").transfers;
    assert_eq!(stored_transfers[0].timestamp, at(1_720_000_100, 123_456));
    assert_eq!(stored_transfers[4].timestamp, at(-1, 999_999));
    let log = store.ledger_log().await.unwrap();
    assert_eq!(log.items, registration.items);
    assert_eq!(log.accounts, accounts);
    assert_eq!(log.transfers, stored_transfers);
    assert_eq!(log.transfers[2].pending_id, Some(TransferId(2)));
    assert!(log.transfers[1].flags.pending && log.transfers[2].flags.post_pending);
    assert!(log.transfers[4].flags.void_pending && log.transfers[5].flags.linked);
    assert_eq!(log.items[1].treatment, Treatment::Domestic);

    let events = store.events(0, 10).await.unwrap();
    assert_eq!(events.len(), 2);
    for (event, (document, stored)) in events.iter().zip([(&registration, &record), (&list, &list_record)]) {
        let document = ledger_document_as_stored(document.clone()).expect("within bounds");
        assert_eq!(event.kind, LEDGER_DOCUMENT_RECORDED);
        assert_eq!(event.subject, format!("{}/{}/{}", document.enterprise, document.kind, document.number));
        assert_eq!(event.recorded_at, stored.recorded_at);
        assert_eq!(event.payload_json, LedgerDocumentEvent::new(&document).payload(stored.seq));
        let value = payload(&event.payload_json);
        assert_eq!(value["seq"], stored.seq);
        assert_eq!(value["kind"], document.kind.as_str());
        assert_eq!(value["number"], document.number.as_str());
        assert_eq!(value["body_sha256"], document.body_sha256.as_str());
        assert_eq!(value["result_sha256"], chain::sha256_hex(&document.result_json));
        assert_eq!(value["transfer_count"], document.transfers.len());
        assert_eq!(value["transfers_sha256"], ledger_transfers_sha256(&document.transfers));
        assert!(!event.payload_json.contains(&document.body_json), "{}", event.payload_json);
    }
    assert_eq!(store.events_for_subject(&events[1].subject, 10).await.unwrap(), vec![events[1].clone()]);
    let report = store.verify_chain().await.unwrap();
    assert_eq!((report.events, report.head_hash), (2, events[1].hash.clone()));
}

/// A document under a recorded (enterprise, kind, number) writes nothing: the same body hash gets `Repeat`,
/// another `Conflict`, both with the first record, whatever records the second carries; the log and the chain
/// are unchanged. The same number under another kind or enterprise is another document.
pub async fn ledger_document_repeat_and_conflict_write_nothing(store: Arc<dyn Store>) {
    let first = ledger_document(
        LEDGER_ENTERPRISE,
        "list",
        "QD-1",
        0,
        vec![ledger_item("MAT-001", Treatment::Bonded)],
        ledger_accounts("MAT-001", 10),
        ledger_entries(100, 3, 11, 10, false),
    );
    let record = record_ledger(&store, first.clone()).await;
    let log = store.ledger_log().await.unwrap();
    let events = store.events(0, 10).await.unwrap();
    assert_eq!(events.len(), 1);

    // Same body, other records and time: a repeat (the records would even collide with the first ones).
    let repeat = NewLedgerDocument {
        recorded_at: at(1_730_000_000, 0),
        recorded_by: "someone-else".to_owned(),
        transfers: ledger_entries(100, 5, 11, 10, true),
        ..first.clone()
    };
    assert_eq!(store.record_ledger_document(repeat).await.unwrap(), LedgerDocumentOutcome::Repeat(record.clone()));
    let conflict = ledger_document(
        LEDGER_ENTERPRISE,
        "list",
        "QD-1",
        1,
        vec![ledger_item("MAT-009", Treatment::Exempt)],
        ledger_accounts("MAT-009", 50),
        ledger_entries(200, 2, 51, 50, false),
    );
    assert_eq!(store.record_ledger_document(conflict).await.unwrap(), LedgerDocumentOutcome::Conflict(record.clone()));
    assert_eq!(store.ledger_log().await.unwrap(), log);
    assert_eq!(store.events(0, 10).await.unwrap(), events);
    assert_eq!(store.list_ledger_documents(None, None, None, 10).await.unwrap(), vec![record.clone()]);

    // The number is unique per (enterprise, kind) only.
    let other_kind = ledger_document(LEDGER_ENTERPRISE, "gate_pass", "QD-1", 0, vec![], vec![], vec![]);
    let other_enterprise = ledger_document("91440300MA5G123456", "list", "QD-1", 0, vec![], vec![], vec![]);
    let a = record_ledger(&store, other_kind).await;
    let b = record_ledger(&store, other_enterprise).await;
    assert!(record.seq < a.seq && a.seq < b.seq);
    assert_eq!(store.verify_chain().await.unwrap().events, 3);
    assert_eq!(store.ledger_log().await.unwrap(), log);
}

/// Listing is ascending by seq after the cursor, filtered by enterprise and kind (alone or together), with
/// the limit clamped; `get` finds each document by its key.
pub async fn ledger_documents_list_filters_and_cursor(store: Arc<dyn Store>) {
    let enterprises = [LEDGER_ENTERPRISE, "91440300MA5G123456"];
    let kinds = ["list", "gate_pass"];
    let mut recorded = Vec::new();
    for i in 0..12u32 {
        let enterprise = enterprises[(i % 2) as usize];
        let kind = kinds[(i / 2 % 2) as usize];
        let document = ledger_document(enterprise, kind, &format!("N-{i:03}"), i, vec![], vec![], vec![]);
        recorded.push(record_ledger(&store, document).await);
    }
    let seqs = |records: &[StoredLedgerDocument]| records.iter().map(|r| r.seq).collect::<Vec<i64>>();
    assert!(seqs(&recorded).windows(2).all(|w| w[0] < w[1]));

    let all = store.list_ledger_documents(None, None, None, 100).await.unwrap();
    assert_eq!(all, recorded);
    for enterprise in [None, Some(enterprises[0]), Some(enterprises[1]), Some("nobody")] {
        for kind in [None, Some(kinds[0]), Some(kinds[1]), Some("stock_count")] {
            let expected: Vec<StoredLedgerDocument> = recorded
                .iter()
                .filter(|r| enterprise.is_none_or(|e| r.enterprise == e) && kind.is_none_or(|k| r.kind == k))
                .cloned()
                .collect();
            assert_eq!(store.list_ledger_documents(enterprise, kind, None, 100).await.unwrap(), expected);
            // Page by page with the cursor: no gaps, no duplicates.
            let mut paged = Vec::new();
            let mut after = None;
            loop {
                let page = store.list_ledger_documents(enterprise, kind, after, 2).await.unwrap();
                assert!(page.len() <= 2);
                let Some(last) = page.last() else { break };
                after = Some(last.seq);
                paged.extend(page);
            }
            assert_eq!(paged, expected, "enterprise {enterprise:?}, kind {kind:?}");
        }
    }
    let third = recorded[2].seq;
    assert_eq!(store.list_ledger_documents(None, None, Some(third), 3).await.unwrap(), recorded[3..6].to_vec());
    assert_eq!(store.list_ledger_documents(None, None, None, 0).await.unwrap(), recorded[..1].to_vec());
    let last = recorded.last().expect("recorded").seq;
    assert!(store.list_ledger_documents(None, None, Some(last), 10).await.unwrap().is_empty());
    for record in &recorded {
        assert_eq!(&store.get_ledger_document(&record.enterprise, &record.kind, &record.number).await.unwrap(), record);
    }
}

/// An unknown key is `NotFound`, before and after other documents are recorded; an empty store has an empty
/// ledger log and no documents.
pub async fn ledger_document_missing_is_not_found(store: Arc<dyn Store>) {
    let missing = |store: Arc<dyn Store>, enterprise: &'static str, kind: &'static str, number: &'static str| async move {
        assert!(matches!(store.get_ledger_document(enterprise, kind, number).await, Err(StoreError::NotFound)));
    };
    missing(store.clone(), LEDGER_ENTERPRISE, "list", "QD-1").await;
    assert_eq!(store.ledger_log().await.unwrap(), LedgerLog::default());
    assert!(store.list_ledger_documents(None, None, None, 10).await.unwrap().is_empty());
    record_ledger(&store, ledger_document(LEDGER_ENTERPRISE, "list", "QD-1", 0, vec![], vec![], vec![])).await;
    missing(store.clone(), LEDGER_ENTERPRISE, "list", "QD-2").await;
    missing(store.clone(), LEDGER_ENTERPRISE, "gate_pass", "QD-1").await;
    missing(store.clone(), "91440300MA5G123456", "list", "QD-1").await;
    missing(store.clone(), LEDGER_ENTERPRISE, "list", "qd-1").await;
}

/// A quantity or value above `i64::MAX` is refused with a backend error before anything is written: no
/// document, no records, no event; `i64::MAX` itself is stored.
pub async fn ledger_amount_above_i64_is_refused(store: Arc<dyn Store>) {
    let over = i64::MAX as u64 + 1;
    let items = vec![ledger_item("MAT-001", Treatment::Bonded)];
    let accounts = ledger_accounts("MAT-001", 10);
    for (index, (quantity, value_fen)) in [(over, 1), (1, over), (u64::MAX, u64::MAX)].into_iter().enumerate() {
        let mut transfers = ledger_entries(100, 3, 11, 10, false);
        transfers[2].quantity = quantity;
        transfers[2].value_fen = value_fen;
        let number = format!("QD-{index}");
        let document =
            ledger_document(LEDGER_ENTERPRISE, "list", &number, 0, items.clone(), accounts.clone(), transfers);
        match store.record_ledger_document(document).await {
            Err(StoreError::Backend(message)) => assert!(message.contains("i64"), "{message}"),
            other => panic!("expected a backend error, got {other:?}"),
        }
        assert!(matches!(
            store.get_ledger_document(LEDGER_ENTERPRISE, "list", &number).await,
            Err(StoreError::NotFound)
        ));
    }
    assert_eq!(store.ledger_log().await.unwrap(), LedgerLog::default());
    assert!(store.list_ledger_documents(None, None, None, 10).await.unwrap().is_empty());
    assert_eq!(store.verify_chain().await.unwrap().events, 0);

    // The refused documents left nothing behind: their key and records are free.
    let mut transfers = ledger_entries(100, 3, 11, 10, false);
    transfers[2].quantity = i64::MAX as u64;
    transfers[2].value_fen = i64::MAX as u64;
    let document = ledger_document(LEDGER_ENTERPRISE, "list", "QD-0", 0, items, accounts, transfers.clone());
    record_ledger(&store, document).await;
    assert_eq!(store.ledger_log().await.unwrap().transfers, transfers);
    assert_eq!(store.verify_chain().await.unwrap().events, 1);
}

/// Ledger documents share the one chain with every other write, also when recorded concurrently (and so in
/// shared group commits): the chain verifies, each document has its event, and each document's transfers
/// are contiguous in the log, in the order of the documents' seqs.
pub async fn ledger_chain_verifies_after_documents(store: Arc<dyn Store>) {
    submit(&store, declaration(LEDGER_ENTERPRISE, "REF-0001", 0)).await;
    let registration = ledger_document(
        LEDGER_ENTERPRISE,
        "item",
        "ITEM-1",
        0,
        vec![ledger_item("MAT-001", Treatment::Bonded)],
        ledger_accounts("MAT-001", 10),
        vec![],
    );
    record_ledger(&store, registration).await;
    store.put_party(party(LEDGER_ENTERPRISE, "Zone Electronics", at(1_720_000_001, 0))).await.unwrap();

    let mut tasks = Vec::new();
    for i in 0..16u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let transfers = ledger_entries(1_000 * u128::from(i + 1), 1 + i % 5, 11, 10, i % 2 == 0);
            let document = ledger_document(LEDGER_ENTERPRISE, "list", &format!("QD-{i}"), i, vec![], vec![], transfers);
            let record = record_ledger(&store, document.clone()).await;
            (record, document)
        }));
    }
    let mut documents = Vec::new();
    for task in tasks {
        documents.push(task.await.expect("task"));
    }
    documents.sort_by_key(|(record, _)| record.seq);
    let report = store.verify_chain().await.unwrap();
    assert_eq!(report.events, 3 + 16);
    let log = store.ledger_log().await.unwrap();
    let expected: Vec<Transfer> = documents.iter().flat_map(|(_, document)| document.transfers.clone()).collect();
    assert_eq!(log.transfers, expected);
    for (record, document) in &documents {
        let subject = format!("{}/{}/{}", document.enterprise, document.kind, document.number);
        let events = store.events_for_subject(&subject, 10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].payload_json, LedgerDocumentEvent::new(document).payload(record.seq));
    }
    submit(&store, declaration(LEDGER_ENTERPRISE, "REF-0002", 0)).await;
    assert_eq!(store.verify_chain().await.unwrap().events, 3 + 16 + 1);
}

/// Transfers keep the order they were recorded in, across documents and within a large one (8,190
/// transfers, ids descending so that no index order can stand in for it); the large document round-trips.
pub async fn ledger_transfer_order_is_preserved_across_documents(store: Arc<dyn Store>) {
    let registration = ledger_document(
        LEDGER_ENTERPRISE,
        "item",
        "ITEM-1",
        0,
        vec![ledger_item("MAT-001", Treatment::Bonded), ledger_item("MAT-002", Treatment::Domestic)],
        [ledger_accounts("MAT-001", 10), ledger_accounts("MAT-002", 20)].concat(),
        vec![],
    );
    record_ledger(&store, registration.clone()).await;
    let first = ledger_entries(50_000, 5, 11, 10, true);
    let large = ledger_entries(1 << 100, 8_190, 21, 20, true);
    let last = ledger_entries(7, 3, 11, 10, false);
    let mut expected = Vec::new();
    for (number, transfers) in [("QD-A", &first), ("QD-B", &large), ("QD-C", &last)] {
        let document = ledger_document(LEDGER_ENTERPRISE, "list", number, 0, vec![], vec![], transfers.clone());
        let started = std::time::Instant::now();
        let record = record_ledger(&store, document).await;
        if transfers.len() > 1_000 {
            println!("recorded a ledger document of {} transfers in {:?}", transfers.len(), started.elapsed());
        }
        assert_eq!(record.transfer_count, transfers.len() as i64);
        expected.extend(transfers.iter().cloned());
    }
    let log = store.ledger_log().await.unwrap();
    assert_eq!(log.items, registration.items);
    assert_eq!(log.accounts, registration.accounts);
    assert_eq!(log.transfers.len(), 8_198);
    assert_eq!(log.transfers, expected);
    assert_eq!(store.verify_chain().await.unwrap().events, 4);
}

// ---------------------------------------------------------------------------------------------------------
// Cross-border e-commerce log

/// A record whose body (a small order-like JSON document with non-ASCII text) depends on its key.
fn cbec_record(seq: i64, kind: &str, key: &str, order_key: &str) -> CbecRecord {
    let body_json = format!(
        "{{\"kind\":\"{kind}\",\"key\":\"{key}\",\"order\":\"{order_key}\",\"buyer\":\"张三\",\
         \"address\":\"海南省海口市 Ünïcødé ✓ 🚢\",\"amount\":\"128.50\"}}"
    );
    CbecRecord {
        seq,
        kind: kind.to_owned(),
        key: key.to_owned(),
        order_key: order_key.to_owned(),
        body_sha256: chain::sha256_hex(&body_json),
        body_json,
        recorded_by: "cbec-gateway".to_owned(),
        recorded_at: at(1_760_000_000 + seq, (seq as u32 * 7_919) % 1_000_000),
    }
}

/// A batch after `after_seq` of records (kind, key, order_key), seqs in order.
pub fn cbec_batch(after_seq: i64, records: &[(&str, &str, &str)]) -> NewCbecBatch {
    let records = records
        .iter()
        .zip(after_seq + 1..)
        .map(|(&(kind, key, order_key), seq)| cbec_record(seq, kind, key, order_key))
        .collect();
    NewCbecBatch { after_seq, records }
}

/// A batch after `after_seq` of `count` orders keyed `<prefix>-<n>`, each its own order.
fn cbec_orders(after_seq: i64, prefix: &str, count: usize) -> NewCbecBatch {
    let records = (0..count)
        .zip(after_seq + 1..)
        .map(|(n, seq)| cbec_record(seq, "order", &format!("{prefix}-{n}"), &format!("P1/{prefix}-{n}")))
        .collect();
    NewCbecBatch { after_seq, records }
}

/// Enqueues a batch and waits until it is durable; an error from either step.
async fn cbec_write(store: &Arc<dyn Store>, batch: NewCbecBatch) -> StoreResult<CbecCommitted> {
    store.enqueue_cbec(batch).await?.durable().await
}

async fn cbec_all(store: &Arc<dyn Store>) -> Vec<CbecRecord> {
    store.cbec_log(0, CBEC_LOG_PAGE_MAX).await.expect("cbec log")
}

fn backend_message(result: StoreResult<CbecCommitted>) -> String {
    match result {
        Err(StoreError::Backend(message)) => message,
        other => panic!("expected a Backend error, got {other:?}"),
    }
}

/// A batch reads back identically, every field (non-ASCII bodies, an empty order key, timestamps at whole
/// microseconds), by page and by key; a large batch (past any small-batch path) too.
pub async fn cbec_batch_round_trips(store: Arc<dyn Store>) {
    assert_eq!(store.cbec_last_seq().await.unwrap(), 0);
    assert!(cbec_all(&store).await.is_empty());
    let mut first =
        cbec_batch(0, &[("order", "P1/SO-1", "P1/SO-1"), ("payment", "PAY-1", "P1/SO-1"), ("note", "N-1", "")]);
    first.records[1].body_json =
        "{\"支付\":\"微信\",\"emoji\":\"💴\",\"quote\":\"a\\\"b\",\"nl\":\"x\\ny\"}".to_owned();
    first.records[1].body_sha256 = chain::sha256_hex(&first.records[1].body_json);
    let committed = cbec_write(&store, first.clone()).await.expect("first batch");
    assert_eq!(committed, CbecCommitted { first_seq: 1, last_seq: 3 });
    assert_eq!(store.cbec_last_seq().await.unwrap(), 3);
    assert_eq!(cbec_all(&store).await, first.records);

    let large = cbec_orders(3, "SO", 300);
    assert_eq!(cbec_write(&store, large.clone()).await.unwrap(), CbecCommitted { first_seq: 4, last_seq: 303 });
    let expected: Vec<CbecRecord> = first.records.iter().chain(&large.records).cloned().collect();
    assert_eq!(cbec_all(&store).await, expected);
    assert_eq!(store.cbec_last_seq().await.unwrap(), 303);
    for record in [&expected[0], &expected[1], &expected[2], &expected[150], &expected[302]] {
        assert_eq!(&store.get_cbec_record(&record.kind, &record.key).await.unwrap(), record);
    }

    // Sub-microsecond precision is dropped, as everywhere else.
    let mut fine = cbec_batch(303, &[("order", "FINE-1", "P1/FINE-1")]);
    fine.records[0].recorded_at = DateTime::from_timestamp(1_760_000_000, 123_456_789).unwrap();
    cbec_write(&store, fine).await.unwrap();
    let stored = store.get_cbec_record("order", "FINE-1").await.unwrap();
    assert_eq!(stored.recorded_at, at(1_760_000_000, 123_456));
}

/// Batches prepared ahead (`prepare_cbec`, in any order) commit in the order they are enqueued
/// (`enqueue_prepared_cbec`), exactly as `enqueue_cbec` would write them; a bad batch is refused by one step
/// or the other and nothing is written.
pub async fn cbec_prepared_batches_commit_in_queue_order(store: Arc<dyn Store>) {
    let first = cbec_orders(0, "PA", 20);
    let second = cbec_orders(20, "PB", 5);
    let second_ready = store.prepare_cbec(second.clone()).expect("second prepared");
    let first_ready = store.prepare_cbec(first.clone()).expect("first prepared");
    let first_receipt = store.enqueue_prepared_cbec(first_ready).await.expect("first queued");
    let second_receipt = store.enqueue_prepared_cbec(second_ready).await.expect("second queued");
    assert_eq!(first_receipt.durable().await.unwrap(), CbecCommitted { first_seq: 1, last_seq: 20 });
    assert_eq!(second_receipt.durable().await.unwrap(), CbecCommitted { first_seq: 21, last_seq: 25 });
    let expected: Vec<CbecRecord> = first.records.iter().chain(&second.records).cloned().collect();
    assert_eq!(cbec_all(&store).await, expected);

    let mut gap = cbec_orders(25, "PC", 2);
    gap.records[1].seq = 99;
    let refused = match store.prepare_cbec(gap) {
        Err(error) => Err(error),
        Ok(ready) => store.enqueue_prepared_cbec(ready).await.map(|_| ()),
    };
    assert!(refused.is_err(), "a batch with a gap in its seqs is refused");
    assert_eq!(store.cbec_last_seq().await.unwrap(), 25);
}

/// A batch that is empty, not contiguous from `after_seq + 1`, or has a kind or key of the wrong length is
/// refused at once and nothing is queued; lengths count characters, not bytes.
pub async fn cbec_validation_refuses_bad_batches(store: Arc<dyn Store>) {
    let events = event_count(&store).await;
    let mut bad = vec![NewCbecBatch { after_seq: 0, records: vec![] }];
    let mut gap = cbec_batch(0, &[("order", "A", ""), ("order", "B", "")]);
    gap.records[1].seq = 3;
    bad.push(gap);
    let mut from_two = cbec_batch(0, &[("order", "A", "")]);
    from_two.records[0].seq = 2;
    bad.push(from_two);
    bad.push(cbec_batch(0, &[("", "A", "")]));
    bad.push(cbec_batch(0, &[(&"k".repeat(33), "A", "")]));
    bad.push(cbec_batch(0, &[("order", "", "")]));
    bad.push(cbec_batch(0, &[("order", &"k".repeat(201), "")]));
    bad.push(NewCbecBatch { after_seq: -1, records: vec![cbec_record(0, "order", "A", "")] });
    for batch in bad {
        let described = format!("{batch:?}");
        match store.enqueue_cbec(batch).await {
            Err(StoreError::Backend(_)) => {}
            Err(other) => panic!("expected a Backend error for {described}, got {other:?}"),
            Ok(_) => panic!("expected {described} to be refused before it is queued"),
        }
    }
    assert_eq!(store.cbec_last_seq().await.unwrap(), 0);
    assert_eq!(event_count(&store).await, events);

    // 32 and 200 characters of three bytes each are within bounds.
    let (kind, key) = ("订".repeat(32), "单".repeat(200));
    let longest = cbec_batch(0, &[(&kind, &key, "P1/订单")]);
    cbec_write(&store, longest.clone()).await.expect("longest kind and key");
    assert_eq!(store.get_cbec_record(&kind, &key).await.unwrap(), longest.records[0]);
}

/// A batch written against a log that is elsewhere (behind or ahead) fails with where the log is and
/// writes nothing, not even its event; the next batch after the real end commits.
pub async fn cbec_stale_after_seq_fails_and_writes_nothing(store: Arc<dyn Store>) {
    cbec_write(&store, cbec_orders(0, "A", 2)).await.unwrap();
    let events = event_count(&store).await;

    let stale = cbec_orders(0, "B", 3);
    let message = backend_message(cbec_write(&store, stale).await);
    assert!(message.contains("cbec log is at 2, expected 0"), "{message}");
    let ahead = cbec_orders(5, "C", 1);
    let message = backend_message(cbec_write(&store, ahead).await);
    assert!(message.contains("cbec log is at 2, expected 5"), "{message}");

    assert_eq!(store.cbec_last_seq().await.unwrap(), 2);
    assert_eq!(event_count(&store).await, events);
    assert!(matches!(store.get_cbec_record("order", "B-0").await, Err(StoreError::NotFound)));
    assert!(matches!(store.get_cbec_record("order", "C-0").await, Err(StoreError::NotFound)));

    let next = cbec_orders(2, "D", 2);
    assert_eq!(cbec_write(&store, next.clone()).await.unwrap(), CbecCommitted { first_seq: 3, last_seq: 4 });
    assert_eq!(cbec_all(&store).await[2..], next.records[..]);
    assert_eq!(event_count(&store).await, events + 1);
    store.verify_chain().await.expect("chain verifies");
}

/// A (kind, key) twice in one batch, or recorded by an earlier batch, fails the batch with the kind and key
/// named and nothing of it written; a batch queued right behind it (in the same group commit, when the
/// backend groups them) still commits, as does a declaration. The same key under another kind is distinct.
pub async fn cbec_duplicate_key_fails_and_writes_nothing(store: Arc<dyn Store>) {
    cbec_write(&store, cbec_batch(0, &[("order", "SO-1", "P1/SO-1"), ("payment", "PAY-1", "P1/SO-1")])).await.unwrap();
    let events = event_count(&store).await;

    let twice = cbec_batch(2, &[("order", "SO-2", "P1/SO-2"), ("waybill", "WB-2", "P1/SO-2"), ("order", "SO-2", "")]);
    let message = backend_message(cbec_write(&store, twice).await);
    assert!(message.contains("order") && message.contains("SO-2"), "{message}");

    let mut against_earlier = cbec_orders(2, "NEW", 40);
    against_earlier.records[25] = cbec_record(28, "payment", "PAY-1", "P1/SO-1");
    let message = backend_message(cbec_write(&store, against_earlier).await);
    assert!(message.contains("payment") && message.contains("PAY-1"), "{message}");
    let small = cbec_batch(2, &[("note", "N-1", ""), ("order", "SO-1", "P1/SO-1")]);
    let message = backend_message(cbec_write(&store, small).await);
    assert!(message.contains("order") && message.contains("SO-1"), "{message}");

    assert_eq!(store.cbec_last_seq().await.unwrap(), 2);
    assert_eq!(event_count(&store).await, events);
    for key in ["SO-2", "NEW-0", "NEW-39"] {
        assert!(matches!(store.get_cbec_record("order", key).await, Err(StoreError::NotFound)), "{key}");
    }
    assert!(matches!(store.get_cbec_record("note", "N-1").await, Err(StoreError::NotFound)));

    // The failing batch and the ones queued right behind it: only the failing one is lost.
    let failing = store.enqueue_cbec(cbec_batch(2, &[("note", "N-2", ""), ("order", "SO-1", "")])).await.unwrap();
    let good = cbec_batch(2, &[("order", "SO-3", "P1/SO-3"), ("decision", "SO-1", "P1/SO-1")]);
    let after_failure = store.enqueue_cbec(good.clone()).await.unwrap();
    let declaration = store.submit_declaration(declaration("91460000MA5T000001", "CBEC-DUP", 0));
    let (failing, after_failure, declaration) = tokio::join!(failing.durable(), after_failure.durable(), declaration);
    let message = backend_message(failing);
    assert!(message.contains("order") && message.contains("SO-1"), "{message}");
    assert_eq!(after_failure.unwrap(), CbecCommitted { first_seq: 3, last_seq: 4 });
    assert!(matches!(declaration.unwrap(), SubmitOutcome::Created(_)));
    assert!(matches!(store.get_cbec_record("note", "N-2").await, Err(StoreError::NotFound)));
    assert_eq!(cbec_all(&store).await[2..], good.records[..]);
    assert_eq!(event_count(&store).await, events + 2);
    store.verify_chain().await.expect("chain verifies");
}

/// Batches enqueued one after the other without waiting for the first commit in that order, each with
/// its own event, in order.
pub async fn cbec_back_to_back_batches_commit_in_order(store: Arc<dyn Store>) {
    let first = cbec_orders(0, "A", 3);
    let second = cbec_orders(3, "B", 2);
    let first_receipt = store.enqueue_cbec(first.clone()).await.unwrap();
    let second_receipt = store.enqueue_cbec(second.clone()).await.unwrap();
    let mut after = 5;
    let mut receipts = Vec::new();
    let mut expected: Vec<CbecRecord> = first.records.iter().chain(&second.records).cloned().collect();
    for i in 0..20 {
        let batch = cbec_orders(after, &format!("C{i}"), 1 + i % 7 * 5);
        after += batch.records.len() as i64;
        expected.extend(batch.records.iter().cloned());
        receipts.push((store.enqueue_cbec(batch.clone()).await.unwrap(), batch));
    }
    // Awaited out of order: the answers do not depend on it.
    assert_eq!(second_receipt.durable().await.unwrap(), CbecCommitted { first_seq: 4, last_seq: 5 });
    assert_eq!(first_receipt.durable().await.unwrap(), CbecCommitted { first_seq: 1, last_seq: 3 });
    let mut ranges = vec![(1, 3), (4, 5)];
    for (receipt, batch) in receipts {
        let committed = receipt.durable().await.unwrap();
        let range = (batch.records[0].seq, batch.records.last().unwrap().seq);
        assert_eq!((committed.first_seq, committed.last_seq), range);
        ranges.push(range);
    }
    assert_eq!(store.cbec_last_seq().await.unwrap(), after);
    assert_eq!(cbec_all(&store).await, expected);
    let subjects: Vec<String> = store
        .events(0, PAGE_SIZE_MAX)
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.kind == CBEC_BATCH_RECORDED)
        .map(|event| event.subject)
        .collect();
    let expected_subjects: Vec<String> = ranges.iter().map(|(first, last)| format!("cbec/{first}-{last}")).collect();
    assert_eq!(subjects, expected_subjects);
}

/// `cbec_log` pages by seq without gaps or duplicates, and clamps its limit to `1..=CBEC_LOG_PAGE_MAX`.
pub async fn cbec_log_pages_by_seq(store: Arc<dyn Store>) {
    let mut after = 0;
    let mut expected = Vec::new();
    for (i, count) in [9usize, 1, 15].into_iter().enumerate() {
        let batch = cbec_orders(after, &format!("B{i}"), count);
        after += count as i64;
        expected.extend(batch.records.iter().cloned());
        cbec_write(&store, batch).await.unwrap();
    }
    let mut read = Vec::new();
    let mut cursor = 0;
    loop {
        let page = store.cbec_log(cursor, 10).await.unwrap();
        assert!(page.len() <= 10);
        let Some(last) = page.last() else { break };
        cursor = last.seq;
        read.extend(page);
    }
    assert_eq!(read, expected);
    assert_eq!(store.cbec_log(7, 3).await.unwrap(), expected[7..10]);
    assert_eq!(store.cbec_log(0, 0).await.unwrap(), expected[..1]);
    assert_eq!(store.cbec_log(0, u32::MAX).await.unwrap(), expected);
    assert!(store.cbec_log(25, 10).await.unwrap().is_empty());
    assert_eq!(store.cbec_log(-5, 2).await.unwrap(), expected[..2]);
}

/// An order's records come back ascending by seq across batches and kinds; an unknown order has none.
pub async fn cbec_records_for_order_ascending(store: Arc<dyn Store>) {
    let first = cbec_batch(
        0,
        &[
            ("order", "SO-1", "P1/SO-1"),
            ("order", "SO-2", "P1/SO-2"),
            ("payment", "PAY-1", "P1/SO-1"),
            ("log", "L-1", ""),
        ],
    );
    let second = cbec_batch(
        4,
        &[("waybill", "WB-2", "P1/SO-2"), ("decision", "SO-1", "P1/SO-1"), ("waybill", "WB-1", "P1/SO-1")],
    );
    let mut bulk = cbec_orders(7, "X", 30);
    bulk.records[20] = cbec_record(28, "release", "SO-1", "P1/SO-1");
    for batch in [&first, &second, &bulk] {
        cbec_write(&store, batch.clone()).await.unwrap();
    }
    let so1 = store.cbec_records_for_order("P1/SO-1").await.unwrap();
    let expected = vec![
        first.records[0].clone(),
        first.records[2].clone(),
        second.records[1].clone(),
        second.records[2].clone(),
        bulk.records[20].clone(),
    ];
    assert_eq!(so1, expected);
    let so2 = store.cbec_records_for_order("P1/SO-2").await.unwrap();
    assert_eq!(so2, vec![first.records[1].clone(), second.records[0].clone()]);
    assert_eq!(store.cbec_records_for_order("").await.unwrap(), vec![first.records[3].clone()]);
    assert!(store.cbec_records_for_order("P1/SO-404").await.unwrap().is_empty());
    assert!(store.cbec_records_for_order("p1/so-1").await.unwrap().is_empty());
}

/// A record is found by (kind, key) only: another kind, another key or another case is `NotFound`.
pub async fn cbec_record_lookup_and_not_found(store: Arc<dyn Store>) {
    assert!(matches!(store.get_cbec_record("order", "SO-1").await, Err(StoreError::NotFound)));
    let batch = cbec_batch(0, &[("order", "SO-1", "P1/SO-1"), ("decision", "SO-1", "P1/SO-1")]);
    cbec_write(&store, batch.clone()).await.unwrap();
    assert_eq!(store.get_cbec_record("order", "SO-1").await.unwrap(), batch.records[0]);
    assert_eq!(store.get_cbec_record("decision", "SO-1").await.unwrap(), batch.records[1]);
    for (kind, key) in [("payment", "SO-1"), ("order", "SO-2"), ("ORDER", "SO-1"), ("order", "so-1"), ("", "")] {
        assert!(matches!(store.get_cbec_record(kind, key).await, Err(StoreError::NotFound)), "{kind}/{key}");
    }
}

/// Independent of the store's code: SHA-256 over `seq\tkind\tkey\tbody_sha256\n` per record.
fn cbec_expected_digest(records: &[CbecRecord]) -> String {
    let lines: String =
        records.iter().map(|r| format!("{}\t{}\t{}\t{}\n", r.seq, r.kind, r.key, r.body_sha256)).collect();
    chain::sha256_hex(&lines)
}

/// Each batch appends one `cbec.batch_recorded` event between the other writes' events: subject
/// `cbec/<first>-<last>`, payload with the seqs, the count and the digest of the records (and none of their
/// content); the chain verifies.
pub async fn cbec_chain_verifies_with_batch_digests(store: Arc<dyn Store>) {
    submit(&store, declaration("91460000MA5T000001", "REF-CBEC-1", 0)).await;
    let first = cbec_batch(0, &[("order", "SO-1", "P1/SO-1"), ("payment", "PAY-1", "P1/SO-1")]);
    cbec_write(&store, first.clone()).await.unwrap();
    store.put_party(party("91460000MA5T000001", "Zone Trading", at(1_760_000_100, 0))).await.unwrap();
    let second = cbec_orders(2, "SO-BULK", 120);
    cbec_write(&store, second.clone()).await.unwrap();
    let third = cbec_batch(122, &[("decision", "SO-1", "P1/SO-1")]);
    cbec_write(&store, third.clone()).await.unwrap();

    let report = store.verify_chain().await.expect("chain verifies");
    assert_eq!(report.events, 5);
    let events = store.events(0, PAGE_SIZE_MAX).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [DECLARATION_RECORDED, CBEC_BATCH_RECORDED, PARTY_RECORDED, CBEC_BATCH_RECORDED, CBEC_BATCH_RECORDED]
    );
    for (event, batch) in [(&events[1], &first), (&events[3], &second), (&events[4], &third)] {
        let (first_seq, last_seq) = (batch.records[0].seq, batch.records.last().unwrap().seq);
        assert_eq!(event.subject, format!("cbec/{first_seq}-{last_seq}"));
        assert_eq!(event.recorded_at, batch.records.last().unwrap().recorded_at);
        let body = payload(&event.payload_json);
        assert_eq!(body["first_seq"], first_seq);
        assert_eq!(body["last_seq"], last_seq);
        assert_eq!(body["records"], batch.records.len());
        assert_eq!(body["digest"], cbec_expected_digest(&batch.records));
        assert_eq!(body.as_object().unwrap().len(), 4, "{}", event.payload_json);
        assert!(!event.payload_json.contains("张三") && !event.payload_json.contains("SO-1"));
        assert_eq!(store.events_for_subject(&event.subject, 10).await.unwrap(), vec![event.clone()]);
    }
}
