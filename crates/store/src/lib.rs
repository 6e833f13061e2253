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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record not found")]
    NotFound,
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

/// Result of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub events: i64,
    pub head_hash: String,
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

    /// Events with seq > after, ascending, at most limit.
    async fn events(&self, after: i64, limit: u32) -> StoreResult<Vec<Event>>;
    /// Recomputes every hash from the first event on.
    async fn verify_chain(&self) -> StoreResult<ChainReport>;
}
