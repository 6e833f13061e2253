//! The storage interface of zonegate.
//!
//! Backends (`zonegate-store-sqlite`, `zonegate-store-pg`) implement [`Store`]; the app talks only to the
//! trait. Stored documents are opaque text here (JSON written by the app); the columns beside them exist
//! for filtering. Every state change appends an [`Event`] to one hash chain (see [`chain`]), in the same
//! transaction as the change, so the history cannot be altered without [`Store::verify_chain`] noticing.
//!
//! INVARIANT: nothing is updated in place except projections that are rebuilt from events; declarations,
//! policy rows and events are insert-only.

pub mod backend;
pub mod chain;
pub mod conformance;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

/// Largest page a list call returns.
pub const PAGE_SIZE_MAX: u32 = 500;

/// Largest page [`Store::cbec_log`] returns.
pub const CBEC_LOG_PAGE_MAX: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record not found")]
    NotFound,
    #[error("a record with this identity exists already: {0}")]
    AlreadyExists(String),
    #[error("the event chain is broken at seq {seq}: {detail}")]
    ChainBroken { seq: i64, detail: String },
    #[error("storage backend: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A declaration with its assessment, ready to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeclaration {
    pub declarant: String,
    pub reference: String,
    pub zone: String,
    pub flow: String,
    pub declared_on: NaiveDate,
    /// Distinct item treatments, for filtering (`exempt`, `bonded`, …).
    pub treatments: Vec<String>,
    pub channel: String,
    /// Total payable in fen.
    pub payable_fen: i64,
    /// SHA-256 (hex) of the canonical document: the same key with another hash is a conflict.
    pub document_sha256: String,
    pub document_json: String,
    pub assessment_json: String,
    /// Total of the taxes waived under the small-amount threshold, in fen.
    pub waived_fen: i64,
    /// Who submitted it: the user id of the caller (or `zonegate-cli`, `zonegate-bench`, … for the platform).
    pub submitted_by: String,
    /// When the submission reached the platform; `recorded_at` is when its decision was recorded.
    pub received_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// A recorded declaration. `id` is assigned by the store, increasing in recording order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDeclaration {
    pub id: i64,
    pub declarant: String,
    pub reference: String,
    pub zone: String,
    pub flow: String,
    pub declared_on: NaiveDate,
    pub treatments: Vec<String>,
    pub channel: String,
    pub payable_fen: i64,
    pub document_sha256: String,
    pub document_json: String,
    pub assessment_json: String,
    pub waived_fen: i64,
    pub submitted_by: String,
    pub received_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// What recording a declaration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Recorded now.
    Created(StoredDeclaration),
    /// The same document under the same (declarant, reference) was recorded before: this is it.
    Repeat(StoredDeclaration),
    /// Another document was recorded under the same (declarant, reference): this is the first one.
    Conflict(StoredDeclaration),
}

/// Filters of a declaration listing; `after` is the cursor (the last `id` of the previous page).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclarationFilter {
    pub flow: Option<String>,
    pub declarant: Option<String>,
    pub declared_from: Option<NaiveDate>,
    pub declared_to: Option<NaiveDate>,
    pub treatment: Option<String>,
    pub after: Option<i64>,
    /// 1..=PAGE_SIZE_MAX; the store clamps it.
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Cursor for the next page, when there may be one.
    pub next_after: Option<i64>,
}

/// An enterprise or body known to the platform. `body_json` carries the details the app keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRecord {
    pub uscc: String,
    pub name: String,
    pub body_json: String,
    /// Who recorded this version (a user id, or the platform's own author name).
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// One row of policy data (tariff line version, VAT or CT row, list entry, zone parameter).
/// Rows are never changed: a new row with a later `effective_from` supersedes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    /// `tariff_line`, `vat_rate`, `consumption_tax`, `list_entry`, …
    pub kind: String,
    /// The row's identity within its kind (an HS line, a rate row id, `list/zone/key`).
    pub key: String,
    pub effective_from: NaiveDate,
    pub body_json: String,
    pub author: String,
    pub recorded_at: DateTime<Utc>,
}

/// One entry of the hash-chained event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq: i64,
    pub recorded_at: DateTime<Utc>,
    /// `declaration.recorded`, `party.recorded`, `policy.rows_appended`, …
    pub kind: String,
    pub subject: String,
    pub payload_json: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Event {
    /// The hash the event's fields and `prev_hash` give: equal to `hash` unless the event was altered.
    pub fn recomputed_hash(&self) -> String {
        chain::event_hash(&self.prev_hash, self.seq, self.recorded_at, &self.kind, &self.subject, &self.payload_json)
    }
}

/// Result of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub events: i64,
    pub head_hash: String,
}

/// A user of the platform: a person who logs in with a password, or a system that uses API tokens.
/// Versions are insert-only; the latest version is current (a password change or a deactivation is a new
/// version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// The login name, unique on the platform.
    pub user_id: String,
    /// The party the user acts for: a USCC for a zone enterprise, `customs:<office>`, `authority:<body>`,
    /// `bank:<code>`.
    pub party: String,
    /// `enterprise`, `customs`, `authority` or `bank`.
    pub party_kind: String,
    /// Role names, ascending and distinct.
    pub roles: Vec<String>,
    /// Argon2id PHC string; `None` for system accounts, which authenticate with API tokens only.
    pub password_hash: Option<String>,
    /// Personal data (display name, ID number) as JSON: never copied into events or logs.
    pub personal_json: String,
    pub active: bool,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// Who revoked a token, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub by: String,
    pub at: DateTime<Utc>,
}

/// An API token. The secret itself is never stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The public part of the token, unique.
    pub token_id: String,
    /// The account the token acts as.
    pub user_id: String,
    /// What the token is for, as its issuer named it.
    pub name: String,
    pub secret_sha256: String,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set once revoked; [`Store::issue_token`] ignores it.
    pub revoked: Option<Revocation>,
}

/// A login session. The cookie's secret is never stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub session_sha256: String,
    pub user_id: String,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set at logout; [`Store::start_session`] ignores it.
    pub ended_at: Option<DateTime<Utc>>,
}

/// Which declarations the statistics cover: `declared_on` within the inclusive range, optionally one zone
/// and one declarant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    pub zone: Option<String>,
    pub declarant: Option<String>,
    pub declared_from: NaiveDate,
    pub declared_to: NaiveDate,
}

/// Declarations of one flow declared on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyFlow {
    pub day: NaiveDate,
    pub flow: String,
    pub declarations: i64,
    pub payable_fen: i64,
    pub waived_fen: i64,
}

/// Aggregates for the monitoring centre.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeclarationStats {
    /// Ascending by (day, flow); only days and flows that have declarations.
    pub daily: Vec<DailyFlow>,
    /// (treatment, number of declarations with at least one item of it), ascending by treatment.
    pub treatments: Vec<(String, i64)>,
    /// Median and 90th percentile (nearest rank: the value at 1-based rank ceil(p·n/100) in ascending
    /// order) of `recorded_at - received_at`, in microseconds; `None` when no declaration matches.
    pub decision_us_p50: Option<i64>,
    pub decision_us_p90: Option<i64>,
}

/// An officer's recorded result of inspecting (or checking) a declaration. One per declaration: a repeat of
/// the same body is idempotent, another body is a conflict (corrections are a later feature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectionRecord {
    pub declaration_id: i64,
    /// `no_finding` or `finding`.
    pub outcome: String,
    /// The details the app keeps (findings, notes, the channel and rules of the decision), JSON.
    pub body_json: String,
    /// SHA-256 (hex) of the canonical request body: equal → repeat, different → conflict.
    pub body_sha256: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// What recording an inspection did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InspectionOutcome {
    /// Recorded now.
    Created(InspectionRecord),
    /// The same body was recorded for this declaration before: this is it.
    Repeat(InspectionRecord),
    /// Another body was recorded for this declaration: this is the first one.
    Conflict(InspectionRecord),
}

/// A declarant's record so far, for the risk engine's `history` facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarantHistory {
    pub declarant: String,
    /// Declarations recorded under this declarant.
    pub declarations: i64,
    /// How many of them have an inspection recorded.
    pub inspections: i64,
    /// How many of those inspections had the outcome `finding`.
    pub findings: i64,
}

/// A ledger document (a ledger item's registration, a 核注清单, a 核放单, a processing run, an exhibition or
/// lease movement, a stock count …) with the ledger records it creates. Recorded in one transaction with a
/// `ledger.document_recorded` event, idempotently under (enterprise, kind, number): the same `body_sha256`
/// again is a repeat, another body a conflict, and neither writes anything.
///
/// The store does not check the ledger's rules (balances, pending states): the app's in-memory engine
/// (`zonegate-ledger`) has accepted every transfer before it gets here. The store keeps them, in order,
/// so that [`Store::ledger_log`] replays to the same state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLedgerDocument {
    /// The enterprise (USCC) whose ledger the document belongs to.
    pub enterprise: String,
    /// What the document is (`item`, `list`, `gate_pass`, `processing_run`, …); the app fixes the set.
    pub kind: String,
    /// The document's number, unique per (enterprise, kind).
    pub number: String,
    /// The request as received (canonical JSON).
    pub body_json: String,
    /// SHA-256 (hex) of `body_json`: equal → repeat, different → conflict.
    pub body_sha256: String,
    /// What the app answered (JSON): transfers made, values, taxes.
    pub result_json: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    /// Ledger items registered by this document.
    pub items: Vec<zonegate_ledger::LedgerItem>,
    /// Accounts opened by this document.
    pub accounts: Vec<zonegate_ledger::Account>,
    /// Transfers applied by this document, in the order applied. Quantities and values must fit in i64.
    pub transfers: Vec<zonegate_ledger::Transfer>,
}

/// A recorded ledger document (its ledger records are in [`Store::ledger_log`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLedgerDocument {
    /// Position in the order documents were recorded (ascending, starts at 1, gaps allowed).
    pub seq: i64,
    pub enterprise: String,
    pub kind: String,
    pub number: String,
    pub body_json: String,
    pub body_sha256: String,
    pub result_json: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    /// How many transfers the document applied.
    pub transfer_count: i64,
}

/// What recording a ledger document did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerDocumentOutcome {
    /// Recorded now.
    Created(StoredLedgerDocument),
    /// The same body was recorded under this key before: this is it.
    Repeat(StoredLedgerDocument),
    /// Another body was recorded under this key: this is the first one.
    Conflict(StoredLedgerDocument),
}

/// Every ledger record, in the order recorded: replaying `items`, then `accounts`, then `transfers` into an
/// empty `zonegate_ledger::Ledger` rebuilds its state (items and accounts are always recorded before the
/// transfers that use them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerLog {
    pub items: Vec<zonegate_ledger::LedgerItem>,
    pub accounts: Vec<zonegate_ledger::Account>,
    pub transfers: Vec<zonegate_ledger::Transfer>,
}

/// One record of the cross-border e-commerce (customs mode 1210) log: a document as received (order,
/// payment, waybill, …) or a state change the app decided (decision, release, cancellation, return, tax
/// payment, …). The app assigns `seq`; the store keeps the log contiguous (see [`Store::enqueue_cbec`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CbecRecord {
    /// Position in the log: ≥ 1, contiguous across the log.
    pub seq: i64,
    /// What the record is (`order`, `payment`, `waybill`, `decision`, …): 1..=32 characters, opaque to the
    /// store.
    pub kind: String,
    /// The record's identity, unique per kind: 1..=200 characters.
    pub key: String,
    /// The order the record concerns (`platform/order_no`); may be empty.
    pub order_key: String,
    /// SHA-256 (hex) of `body_json`.
    pub body_sha256: String,
    /// The document or decision as JSON (personal data allowed: it never reaches an event).
    pub body_json: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// Records to append to the e-commerce log in one transaction: their seqs are `after_seq + 1`,
/// `after_seq + 2`, … in order, and the log must be at `after_seq` when the batch is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCbecBatch {
    pub after_seq: i64,
    pub records: Vec<CbecRecord>,
}

/// A batch of e-commerce records made ready by [`Store::prepare_cbec`] (checked, and whatever CPU work the
/// backend does before its writer: compression, hashing) for [`Store::enqueue_prepared_cbec`]. What it
/// holds is the backend's own; another backend's, or a plain batch, is prepared when enqueued.
pub struct PreparedCbec(PreparedInner);

enum PreparedInner {
    Plain(NewCbecBatch),
    Backend(Box<dyn std::any::Any + Send + Sync>),
}

impl PreparedCbec {
    /// A batch with nothing done to it yet.
    pub fn plain(batch: NewCbecBatch) -> PreparedCbec {
        PreparedCbec(PreparedInner::Plain(batch))
    }

    /// A backend's own prepared form of a batch.
    pub fn backend<T: std::any::Any + Send + Sync>(prepared: T) -> PreparedCbec {
        PreparedCbec(PreparedInner::Backend(Box::new(prepared)))
    }

    /// The plain batch, or the backend's form when it is a `T`; `Err(self)` for another backend's form.
    pub fn into_parts<T: std::any::Any>(self) -> Result<Result<NewCbecBatch, Box<T>>, PreparedCbec> {
        match self.0 {
            PreparedInner::Plain(batch) => Ok(Ok(batch)),
            PreparedInner::Backend(any) => match any.downcast::<T>() {
                Ok(prepared) => Ok(Err(prepared)),
                Err(any) => Err(PreparedCbec(PreparedInner::Backend(any))),
            },
        }
    }
}

impl std::fmt::Debug for PreparedCbec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            PreparedInner::Plain(batch) => f.debug_tuple("PreparedCbec::Plain").field(&batch.records.len()).finish(),
            PreparedInner::Backend(_) => f.write_str("PreparedCbec::Backend"),
        }
    }
}

/// What a committed batch covers (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CbecCommitted {
    pub first_seq: i64,
    pub last_seq: i64,
}

/// Where an enqueued batch's answer arrives (see [`Store::enqueue_cbec`]).
#[derive(Debug)]
pub struct CbecReceipt {
    answer: tokio::sync::oneshot::Receiver<StoreResult<CbecCommitted>>,
}

impl CbecReceipt {
    /// A receipt answered through `answer` by the backend's writer.
    pub fn new(answer: tokio::sync::oneshot::Receiver<StoreResult<CbecCommitted>>) -> Self {
        CbecReceipt { answer }
    }

    /// A receipt answered already, for backends that write without a queue.
    pub fn ready(result: StoreResult<CbecCommitted>) -> Self {
        let (reply, answer) = tokio::sync::oneshot::channel();
        // The receiver is alive: the send cannot fail.
        let _ = reply.send(result);
        CbecReceipt { answer }
    }

    /// Resolves once the batch is committed and durable, or with why it was not written.
    pub async fn durable(self) -> StoreResult<CbecCommitted> {
        self.answer.await.map_err(|_| {
            StoreError::Backend("the store's writer stopped before answering the cbec batch (state unknown)".into())
        })?
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Records a declaration idempotently under (declarant, reference), appending a
    /// `declaration.recorded` event in the same transaction. A repeat or conflict writes nothing.
    async fn submit_declaration(&self, declaration: NewDeclaration) -> StoreResult<SubmitOutcome>;
    async fn get_declaration(&self, id: i64) -> StoreResult<StoredDeclaration>;
    async fn find_declaration(&self, declarant: &str, reference: &str) -> StoreResult<StoredDeclaration>;
    /// Ascending by id, after the cursor.
    async fn list_declarations(&self, filter: DeclarationFilter) -> StoreResult<Page<StoredDeclaration>>;

    /// Records a new version of a party (and a `party.recorded` event); the latest version is current.
    async fn put_party(&self, party: PartyRecord) -> StoreResult<()>;
    async fn get_party(&self, uscc: &str) -> StoreResult<PartyRecord>;
    /// Current versions, ascending by uscc, after the given uscc.
    async fn list_parties(&self, after: Option<String>, limit: u32) -> StoreResult<Vec<PartyRecord>>;

    /// Appends policy rows in one transaction with one `policy.rows_appended` event. The stored rows take
    /// `author` and `recorded_at` from the arguments; an empty `rows` records nothing.
    async fn append_policy_rows(
        &self,
        rows: Vec<PolicyRow>,
        author: &str,
        recorded_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Every row of a kind, in recording order.
    async fn policy_rows(&self, kind: &str) -> StoreResult<Vec<PolicyRow>>;
    /// Number of rows recorded, by any kind: 0 means the store has never been seeded.
    async fn policy_row_count(&self) -> StoreResult<i64>;

    /// Aggregates over the declarations the query selects.
    async fn declaration_stats(&self, query: StatsQuery) -> StoreResult<DeclarationStats>;

    /// Records a new version of an account, with an `account.recorded` event (no personal data and no
    /// password hash in its payload).
    async fn put_account(&self, account: AccountRecord) -> StoreResult<()>;
    /// The current version.
    async fn get_account(&self, user_id: &str) -> StoreResult<AccountRecord>;
    /// Current versions ascending by user id after the cursor, optionally of one party only.
    async fn list_accounts(
        &self,
        party: Option<&str>,
        after: Option<String>,
        limit: u32,
    ) -> StoreResult<Vec<AccountRecord>>;

    /// Records a token with a `token.issued` event (the payload names the token, never its hash).
    /// A token id that exists already is an error.
    async fn issue_token(&self, token: TokenRecord) -> StoreResult<()>;
    /// Revokes a token with a `token.revoked` event and returns it as now stored. Revoking a revoked token
    /// changes nothing and returns the first revocation; an unknown id is `NotFound`.
    async fn revoke_token(&self, token_id: &str, by: &str, at: DateTime<Utc>) -> StoreResult<TokenRecord>;
    async fn get_token(&self, token_id: &str) -> StoreResult<TokenRecord>;
    /// Tokens in issue order, optionally of one account only.
    async fn list_tokens(&self, user_id: Option<&str>) -> StoreResult<Vec<TokenRecord>>;

    /// Records a session (no chain event: sessions are access, not platform state).
    async fn start_session(&self, session: SessionRecord) -> StoreResult<()>;
    /// Ends a session; ending an ended or unknown session changes nothing.
    async fn end_session(&self, session_sha256: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn get_session(&self, session_sha256: &str) -> StoreResult<SessionRecord>;

    /// Records the inspection of a declaration, with an `inspection.recorded` event whose subject is the
    /// declaration's (so the declaration's history shows it). One per declaration: the same `body_sha256`
    /// again is `Repeat`, another is `Conflict` (both with the first record, writing nothing). An unknown
    /// declaration id is `NotFound`.
    async fn record_inspection(&self, inspection: InspectionRecord) -> StoreResult<InspectionOutcome>;
    async fn get_inspection(&self, declaration_id: i64) -> StoreResult<InspectionRecord>;
    /// Ascending by declaration id, after the cursor (a declaration id).
    async fn list_inspections(&self, after: Option<i64>, limit: u32) -> StoreResult<Vec<InspectionRecord>>;
    /// Every declarant with at least one declaration, ascending by declarant (bytewise).
    async fn declarant_history(&self) -> StoreResult<Vec<DeclarantHistory>>;

    /// Records a ledger document and its items, accounts and transfers in one transaction (see
    /// [`NewLedgerDocument`]).
    async fn record_ledger_document(&self, document: NewLedgerDocument) -> StoreResult<LedgerDocumentOutcome>;
    /// One ledger document by its key; `NotFound` when there is none.
    async fn get_ledger_document(
        &self,
        enterprise: &str,
        kind: &str,
        number: &str,
    ) -> StoreResult<StoredLedgerDocument>;
    /// Ledger documents ascending by seq, after the cursor (a seq), optionally of one enterprise and kind.
    async fn list_ledger_documents(
        &self,
        enterprise: Option<&str>,
        kind: Option<&str>,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<StoredLedgerDocument>>;
    /// Every ledger item, account and transfer, in the order recorded.
    async fn ledger_log(&self) -> StoreResult<LedgerLog>;

    /// Queues a batch of e-commerce log records and returns at once, without waiting for the commit; the
    /// receipt resolves once the batch is durable. The batch is checked first (non-empty, seqs contiguous
    /// from `after_seq + 1`, kind 1..=32 and key 1..=200 characters, no (kind, key) twice): a bad batch is a
    /// [`StoreError::Backend`] and nothing is queued. Queue order is commit order: a batch enqueued after
    /// another's `enqueue_cbec` returned commits after it.
    ///
    /// In its transaction the write checks that the log's last seq is `after_seq` (otherwise it fails with
    /// "cbec log is at N, expected M" and writes nothing: an earlier batch failed), inserts every record,
    /// and appends one `cbec.batch_recorded` event (subject `cbec/<first>-<last>`, payload
    /// [`backend::cbec_batch_payload`]: seqs, count and digest, never the bodies). A (kind, key) recorded
    /// already fails the batch (naming them) with nothing written; other writes committed with it are
    /// unaffected.
    async fn enqueue_cbec(&self, batch: NewCbecBatch) -> StoreResult<CbecReceipt>;
    /// The CPU work of [`Store::enqueue_cbec`] before the queue (the checks, compression, hashing), so a
    /// caller can do it outside the section that orders its batches and then enqueue with
    /// [`Store::enqueue_prepared_cbec`]. A bad batch fails here or when enqueued (the default does nothing
    /// ahead and leaves it all to `enqueue_cbec`).
    fn prepare_cbec(&self, batch: NewCbecBatch) -> StoreResult<PreparedCbec> {
        Ok(PreparedCbec::plain(batch))
    }
    /// [`Store::enqueue_cbec`] of a batch [`Store::prepare_cbec`] made ready: the same checks, order and
    /// receipt.
    async fn enqueue_prepared_cbec(&self, prepared: PreparedCbec) -> StoreResult<CbecReceipt> {
        match prepared.into_parts::<()>() {
            Ok(Ok(batch)) => self.enqueue_cbec(batch).await,
            _ => Err(StoreError::Backend("a cbec batch prepared by another store".into())),
        }
    }
    /// The last seq of the e-commerce log; 0 when it is empty.
    async fn cbec_last_seq(&self) -> StoreResult<i64>;
    /// Records with seq > after, ascending, at most `limit` (clamped to `1..=CBEC_LOG_PAGE_MAX`).
    async fn cbec_log(&self, after: i64, limit: u32) -> StoreResult<Vec<CbecRecord>>;
    /// Every record about one order, ascending by seq.
    async fn cbec_records_for_order(&self, order_key: &str) -> StoreResult<Vec<CbecRecord>>;
    /// One record by (kind, key); `NotFound` when there is none.
    async fn get_cbec_record(&self, kind: &str, key: &str) -> StoreResult<CbecRecord>;

    /// Events with seq > after, ascending, at most limit.
    async fn events(&self, after: i64, limit: u32) -> StoreResult<Vec<Event>>;

    /// The events about one subject (a declaration's `declarant/reference`, a token id, …), ascending by
    /// seq, at most `limit`. The default walks the whole log; backends override it with an indexed query.
    async fn events_for_subject(&self, subject: &str, limit: u32) -> StoreResult<Vec<Event>> {
        let mut found = Vec::new();
        let mut after = 0;
        loop {
            let page = self.events(after, PAGE_SIZE_MAX).await?;
            let Some(last) = page.last() else { return Ok(found) };
            after = last.seq;
            found.extend(page.into_iter().filter(|event| event.subject == subject));
            if found.len() >= limit as usize {
                found.truncate(limit as usize);
                return Ok(found);
            }
        }
    }
    /// Recomputes every hash from the first event on.
    async fn verify_chain(&self) -> StoreResult<ChainReport>;
}
