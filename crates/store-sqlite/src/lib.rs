//! SQLite backend of the zonegate [`Store`]: one database file in WAL mode, durable by default
//! (`synchronous=FULL`), foreign keys on.
//!
//! Writes go through one dedicated writer thread doing group commit (see the `writer` module): many
//! concurrent submissions share one transaction and one fsync, which is what makes tens of thousands of
//! durable submissions per second possible on a small machine. A second thread checkpoints the WAL into
//! the database file (see the `checkpoint` module) so the writer does not stall on it. Reads run on
//! a small pool of read-only connections on tokio's blocking threads; WAL lets them proceed while the writer
//! commits.
//!
//! [`SqliteStore::open_in_memory`] keeps the database in the writer's own connection (an in-memory database
//! is private to its connection), so there the writer thread serves reads too, between batches.

mod checkpoint;
mod reader;
mod schema;
mod sql;
mod writer;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use zonegate_store::backend::{self, truncate_to_micros, WRITE_BATCH_MAX};
use zonegate_store::{
    AccountRecord, CbecReceipt, CbecRecord, ChainReport, DeclarantHistory, DeclarationFilter, DeclarationStats, Event,
    InspectionOutcome, InspectionRecord, LedgerDocumentOutcome, LedgerLog, NewCbecBatch, NewDeclaration,
    NewLedgerDocument, Page, PartyRecord, PolicyRow, PreparedCbec, Revocation, SessionRecord, StatsQuery, Store,
    StoreResult, StoredDeclaration, StoredLedgerDocument, SubmitOutcome, TokenRecord,
};

pub use schema::Durability;

use reader::Readers;
use sql::{PreparedCbecBatch, PreparedDeclaration, PreparedLedgerDocument};
use writer::Writer;

/// Tuning of a [`SqliteStore`]; the defaults are durable and suit a small server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// What an answered write promises. Default: [`Durability::Full`] (`synchronous=FULL`).
    pub durability: Durability,
    /// Most read-only connections open at once (reads beyond that wait). Default: 4.
    pub readers: usize,
    /// Most write requests committed in one transaction. Default: [`WRITE_BATCH_MAX`].
    pub batch_max: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions { durability: Durability::default(), readers: 4, batch_max: WRITE_BATCH_MAX }
    }
}

/// The SQLite [`Store`]. Cheap to share behind an `Arc`; dropping the last handle stops the writer thread
/// after it has answered everything queued.
pub struct SqliteStore {
    writer: Writer,
    readers: Readers,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, applies pending migrations, and starts the
    /// writer, checkpoint and (for [`Durability::Pipelined`]) sync threads. Durable: `synchronous=FULL`, a
    /// write is answered only once it is on disk.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// [`SqliteStore::open`] with explicit options.
    pub fn open_with(path: &Path, options: SqliteOptions) -> StoreResult<SqliteStore> {
        let mut conn = schema::open_writer(Some(path), options.durability)?;
        schema::migrate(&mut conn, schema::MIGRATIONS)?;
        let wal = match options.durability {
            Durability::Pipelined => Some(schema::open_wal_for_sync(path)?),
            _ => None,
        };
        let checkpoints = checkpoint::spawn(path, options.durability)?;
        let writer = Writer::spawn(conn, options.batch_max, wal, Some(checkpoints))?;
        Ok(SqliteStore { writer, readers: Readers::pool(path, options.readers) })
    }

    /// A fresh, empty, migrated database that lives only as long as this store (for tests).
    pub fn open_in_memory() -> StoreResult<SqliteStore> {
        let mut conn = schema::open_writer(None, Durability::Off)?;
        schema::migrate(&mut conn, schema::MIGRATIONS)?;
        let writer = Writer::spawn(conn, WRITE_BATCH_MAX, None, None)?;
        Ok(SqliteStore { writer, readers: Readers::Writer })
    }

    /// Submits many declarations at once: they are queued together, so they share group commits, and the
    /// outcomes come back in input order. Each is recorded or refused on its own, exactly as
    /// [`Store::submit_declaration`] would; the first error is returned (earlier ones may have committed).
    pub async fn submit_many(&self, declarations: Vec<NewDeclaration>) -> StoreResult<Vec<SubmitOutcome>> {
        let mut pending = Vec::with_capacity(declarations.len());
        for declaration in declarations {
            let prepared = Arc::new(PreparedDeclaration::new(declaration)?);
            let shared = Arc::clone(&prepared);
            pending.push((prepared, self.writer.enqueue(move |conn, head| sql::submit(conn, head, &shared)).await?));
        }
        let mut outcomes = Vec::with_capacity(pending.len());
        for (prepared, answer) in pending {
            outcomes.push(writer::answer(answer).await?.into_outcome(prepared));
        }
        Ok(outcomes)
    }

    async fn read<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> StoreResult<T> + Send + 'static,
    {
        match &self.readers {
            Readers::Pool(pool) => pool.run(op).await,
            Readers::Writer => self.writer.read(op).await,
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn submit_declaration(&self, declaration: NewDeclaration) -> StoreResult<SubmitOutcome> {
        let prepared = Arc::new(PreparedDeclaration::new(declaration)?);
        let shared = Arc::clone(&prepared);
        let recorded = self.writer.write(move |conn, head| sql::submit(conn, head, &shared)).await?;
        Ok(recorded.into_outcome(prepared))
    }

    async fn get_declaration(&self, id: i64) -> StoreResult<StoredDeclaration> {
        self.read(move |conn| sql::get_declaration(conn, id)).await
    }

    async fn find_declaration(&self, declarant: &str, reference: &str) -> StoreResult<StoredDeclaration> {
        let (declarant, reference) = (declarant.to_owned(), reference.to_owned());
        self.read(move |conn| sql::find_declaration(conn, &declarant, &reference)).await
    }

    async fn list_declarations(&self, filter: DeclarationFilter) -> StoreResult<Page<StoredDeclaration>> {
        self.read(move |conn| sql::list_declarations(conn, &filter)).await
    }

    async fn put_party(&self, mut party: PartyRecord) -> StoreResult<()> {
        party.recorded_at = truncate_to_micros(party.recorded_at)?;
        let payload = backend::party_payload(&party);
        self.writer.write(move |conn, head| sql::put_party(conn, head, &party, &payload)).await
    }

    async fn get_party(&self, uscc: &str) -> StoreResult<PartyRecord> {
        let uscc = uscc.to_owned();
        self.read(move |conn| sql::get_party(conn, &uscc)).await
    }

    async fn list_parties(&self, after: Option<String>, limit: u32) -> StoreResult<Vec<PartyRecord>> {
        self.read(move |conn| sql::list_parties(conn, after.as_deref(), limit)).await
    }

    async fn append_policy_rows(
        &self,
        rows: Vec<PolicyRow>,
        author: &str,
        recorded_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows = backend::attribute_policy_rows(rows, author, truncate_to_micros(recorded_at)?);
        let subject = backend::policy_subject(&rows);
        let payload = backend::policy_payload(&rows, author);
        self.writer.write(move |conn, head| sql::append_policy_rows(conn, head, &rows, &subject, &payload)).await
    }

    async fn policy_rows(&self, kind: &str) -> StoreResult<Vec<PolicyRow>> {
        let kind = kind.to_owned();
        self.read(move |conn| sql::policy_rows(conn, &kind)).await
    }

    async fn policy_row_count(&self) -> StoreResult<i64> {
        self.read(sql::policy_row_count).await
    }

    async fn declaration_stats(&self, query: StatsQuery) -> StoreResult<DeclarationStats> {
        self.read(move |conn| sql::declaration_stats(conn, &query)).await
    }

    async fn put_account(&self, account: AccountRecord) -> StoreResult<()> {
        let account = backend::account_as_stored(account)?;
        let roles_json = sql::encode_roles(&account.roles)?;
        let payload = backend::account_payload(&account);
        self.writer.write(move |conn, head| sql::put_account(conn, head, &account, &roles_json, &payload)).await
    }

    async fn get_account(&self, user_id: &str) -> StoreResult<AccountRecord> {
        let user_id = user_id.to_owned();
        self.read(move |conn| sql::get_account(conn, &user_id)).await
    }

    async fn list_accounts(
        &self,
        party: Option<&str>,
        after: Option<String>,
        limit: u32,
    ) -> StoreResult<Vec<AccountRecord>> {
        let party = party.map(str::to_owned);
        self.read(move |conn| sql::list_accounts(conn, party.as_deref(), after.as_deref(), limit)).await
    }

    async fn issue_token(&self, token: TokenRecord) -> StoreResult<()> {
        let token = backend::token_as_issued(token)?;
        let payload = backend::token_issued_payload(&token);
        self.writer.write(move |conn, head| sql::issue_token(conn, head, &token, &payload)).await
    }

    async fn revoke_token(&self, token_id: &str, by: &str, at: DateTime<Utc>) -> StoreResult<TokenRecord> {
        let revocation = Revocation { by: by.to_owned(), at: truncate_to_micros(at)? };
        let (token_id, payload) = (token_id.to_owned(), backend::token_revoked_payload(token_id, by));
        self.writer.write(move |conn, head| sql::revoke_token(conn, head, &token_id, &revocation, &payload)).await
    }

    async fn get_token(&self, token_id: &str) -> StoreResult<TokenRecord> {
        let token_id = token_id.to_owned();
        self.read(move |conn| sql::get_token(conn, &token_id)).await
    }

    async fn list_tokens(&self, user_id: Option<&str>) -> StoreResult<Vec<TokenRecord>> {
        let user_id = user_id.map(str::to_owned);
        self.read(move |conn| sql::list_tokens(conn, user_id.as_deref())).await
    }

    async fn start_session(&self, session: SessionRecord) -> StoreResult<()> {
        let session = backend::session_as_started(session)?;
        self.writer.write(move |conn, _head| sql::start_session(conn, &session)).await
    }

    async fn end_session(&self, session_sha256: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let (session_sha256, at) = (session_sha256.to_owned(), backend::to_micros(at));
        self.writer.write(move |conn, _head| sql::end_session(conn, &session_sha256, at)).await
    }

    async fn get_session(&self, session_sha256: &str) -> StoreResult<SessionRecord> {
        let session_sha256 = session_sha256.to_owned();
        self.read(move |conn| sql::get_session(conn, &session_sha256)).await
    }

    async fn record_inspection(&self, inspection: InspectionRecord) -> StoreResult<InspectionOutcome> {
        let inspection = backend::inspection_as_stored(inspection)?;
        let payload = backend::inspection_payload(&inspection);
        self.writer.write(move |conn, head| sql::record_inspection(conn, head, &inspection, &payload)).await
    }

    async fn get_inspection(&self, declaration_id: i64) -> StoreResult<InspectionRecord> {
        self.read(move |conn| sql::get_inspection(conn, declaration_id)).await
    }

    async fn list_inspections(&self, after: Option<i64>, limit: u32) -> StoreResult<Vec<InspectionRecord>> {
        self.read(move |conn| sql::list_inspections(conn, after, limit)).await
    }

    async fn declarant_history(&self) -> StoreResult<Vec<DeclarantHistory>> {
        self.read(sql::declarant_history).await
    }

    async fn record_ledger_document(&self, document: NewLedgerDocument) -> StoreResult<LedgerDocumentOutcome> {
        // Checked (amounts within i64) and hashed here, before anything reaches the writer.
        let prepared = PreparedLedgerDocument::new(document)?;
        self.writer.write(move |conn, head| sql::record_ledger_document(conn, head, &prepared)).await
    }

    async fn get_ledger_document(
        &self,
        enterprise: &str,
        kind: &str,
        number: &str,
    ) -> StoreResult<StoredLedgerDocument> {
        let (enterprise, kind, number) = (enterprise.to_owned(), kind.to_owned(), number.to_owned());
        self.read(move |conn| sql::get_ledger_document(conn, &enterprise, &kind, &number)).await
    }

    async fn list_ledger_documents(
        &self,
        enterprise: Option<&str>,
        kind: Option<&str>,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<StoredLedgerDocument>> {
        let (enterprise, kind) = (enterprise.map(str::to_owned), kind.map(str::to_owned));
        self.read(move |conn| sql::list_ledger_documents(conn, enterprise.as_deref(), kind.as_deref(), after, limit))
            .await
    }

    async fn ledger_log(&self) -> StoreResult<LedgerLog> {
        self.read(sql::ledger_log).await
    }

    async fn enqueue_cbec(&self, batch: NewCbecBatch) -> StoreResult<CbecReceipt> {
        // Checked, compressed and hashed here, on the caller's task: the writer thread only binds and inserts.
        let prepared = PreparedCbecBatch::new(batch)?;
        let pending = self.writer.enqueue(move |conn, head| sql::record_cbec_batch(conn, head, &prepared)).await?;
        Ok(CbecReceipt::new(pending))
    }

    fn prepare_cbec(&self, batch: NewCbecBatch) -> StoreResult<PreparedCbec> {
        Ok(PreparedCbec::backend(PreparedCbecBatch::new(batch)?))
    }

    async fn enqueue_prepared_cbec(&self, prepared: PreparedCbec) -> StoreResult<CbecReceipt> {
        let prepared = match prepared.into_parts::<PreparedCbecBatch>() {
            Ok(Ok(batch)) => PreparedCbecBatch::new(batch)?,
            Ok(Err(prepared)) => *prepared,
            Err(_) => return Err(zonegate_store::StoreError::Backend("a cbec batch prepared by another store".into())),
        };
        let pending = self.writer.enqueue(move |conn, head| sql::record_cbec_batch(conn, head, &prepared)).await?;
        Ok(CbecReceipt::new(pending))
    }

    async fn cbec_last_seq(&self) -> StoreResult<i64> {
        self.read(sql::cbec_last_seq).await
    }

    async fn cbec_log(&self, after: i64, limit: u32) -> StoreResult<Vec<CbecRecord>> {
        self.read(move |conn| sql::cbec_log(conn, after, limit)).await
    }

    async fn cbec_records_for_order(&self, order_key: &str) -> StoreResult<Vec<CbecRecord>> {
        let order_key = order_key.to_owned();
        self.read(move |conn| sql::cbec_records_for_order(conn, &order_key)).await
    }

    async fn get_cbec_record(&self, kind: &str, key: &str) -> StoreResult<CbecRecord> {
        let (kind, key) = (kind.to_owned(), key.to_owned());
        self.read(move |conn| sql::get_cbec_record(conn, &kind, &key)).await
    }

    async fn events(&self, after: i64, limit: u32) -> StoreResult<Vec<Event>> {
        self.read(move |conn| sql::events(conn, after, limit)).await
    }

    async fn events_for_subject(&self, subject: &str, limit: u32) -> StoreResult<Vec<Event>> {
        let subject = subject.to_owned();
        self.read(move |conn| sql::events_for_subject(conn, &subject, limit)).await
    }

    async fn verify_chain(&self) -> StoreResult<ChainReport> {
        self.read(sql::verify_chain).await
    }
}
