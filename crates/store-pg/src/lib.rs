//! PostgreSQL backend of the zonegate [`Store`].
//!
//! Writes go through one connection owned by one tokio task doing group commit (see
//! the `writer` module): concurrent requests share a transaction and its commit, and the chain stays
//! strictly serial. Reads go to a few other connections, chosen round-robin (each pipelines concurrent
//! queries). [`PgStore::connect_with_schema`] keeps a store in its own schema, which is how the tests stay
//! isolated from each other in one database.
//!
//! Connections are plain TCP or Unix-socket connections without TLS (`NoTls`), and are not re-established:
//! if one breaks, the calls that use it fail with [`StoreError::Backend`] and the store should be reopened.

mod error;
mod reader;
mod schema;
mod writer;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use zonegate_store::backend::{self, truncate_to_micros, DeclarationEvent, WRITE_BATCH_MAX};
use zonegate_store::{
    AccountRecord, CbecReceipt, CbecRecord, ChainReport, DeclarantHistory, DeclarationFilter, DeclarationStats, Event,
    InspectionOutcome, InspectionRecord, LedgerDocumentOutcome, LedgerLog, NewCbecBatch, NewDeclaration,
    NewLedgerDocument, Page, PartyRecord, PolicyRow, Revocation, SessionRecord, StatsQuery, Store, StoreError,
    StoreResult, StoredDeclaration, StoredLedgerDocument, SubmitOutcome, TokenRecord,
};

use reader::Reader;
use writer::{PreparedCbecBatch, PreparedDeclaration, PreparedLedgerDocument, WriteOp, Writer};

/// How many read connections a store opens.
const READERS: usize = 2;

/// The PostgreSQL [`Store`]. Share it behind an `Arc`; dropping the last handle closes its connections
/// once the writer has answered everything queued.
pub struct PgStore {
    writer: Writer,
    readers: Vec<Reader>,
    next_reader: AtomicUsize,
}

impl PgStore {
    /// Connects to `url` (e.g. `postgres://user@host:5432/db`), applies pending migrations in the
    /// connection's default schema (the first of its `search_path`), and starts the writer.
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        Self::open(url, None).await
    }

    /// Like [`PgStore::connect`], but everything lives in `schema`, which is created if missing; every
    /// connection of the store has its `search_path` set to it.
    pub async fn connect_with_schema(url: &str, schema: &str) -> StoreResult<PgStore> {
        schema::check_schema_name(schema)?;
        Self::open(url, Some(schema)).await
    }

    async fn open(url: &str, schema: Option<&str>) -> StoreResult<PgStore> {
        let mut client = schema::connect(url, None).await?;
        if let Some(schema) = schema {
            schema::create_schema(&client, schema).await?;
            client
                .batch_execute(&format!("SET search_path TO {}", schema::quote_ident(schema)))
                .await
                .map_err(|e| StoreError::Backend(format!("postgres: set search_path: {}", error::describe(&e))))?;
        }
        schema::migrate(&mut client, schema::MIGRATIONS).await?;
        let writer = Writer::spawn(client, WRITE_BATCH_MAX).await?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(Reader::new(schema::connect(url, schema).await?).await?);
        }
        Ok(PgStore { writer, readers, next_reader: AtomicUsize::new(0) })
    }

    /// Submits many declarations at once: they are queued together, so they share group commits, and the
    /// outcomes come back in input order. Each is recorded or refused on its own, exactly as
    /// [`Store::submit_declaration`] would; the first error is returned (earlier ones may have committed).
    pub async fn submit_many(&self, declarations: Vec<NewDeclaration>) -> StoreResult<Vec<SubmitOutcome>> {
        let mut pending = Vec::with_capacity(declarations.len());
        for declaration in declarations {
            let prepared = prepare(declaration)?;
            pending.push((Arc::clone(&prepared), self.writer.enqueue_submit(prepared).await?));
        }
        let mut outcomes = Vec::with_capacity(pending.len());
        for (prepared, answer) in pending {
            outcomes.push(writer::answer(answer).await?.into_outcome(prepared));
        }
        Ok(outcomes)
    }

    fn reader(&self) -> StoreResult<&Reader> {
        let index = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len().max(1);
        self.readers.get(index).ok_or_else(|| StoreError::Backend("postgres: no read connection".into()))
    }
}

fn prepare(declaration: NewDeclaration) -> StoreResult<Arc<PreparedDeclaration>> {
    let declaration = backend::declaration_as_stored(declaration)?;
    let event = DeclarationEvent::new(&declaration);
    Ok(Arc::new(PreparedDeclaration { declaration, event }))
}

#[async_trait]
impl Store for PgStore {
    async fn submit_declaration(&self, declaration: NewDeclaration) -> StoreResult<SubmitOutcome> {
        let prepared = prepare(declaration)?;
        let answer = self.writer.enqueue_submit(Arc::clone(&prepared)).await?;
        Ok(writer::answer(answer).await?.into_outcome(prepared))
    }

    async fn get_declaration(&self, id: i64) -> StoreResult<StoredDeclaration> {
        self.reader()?.get_declaration(id).await
    }

    async fn find_declaration(&self, declarant: &str, reference: &str) -> StoreResult<StoredDeclaration> {
        self.reader()?.find_declaration(declarant, reference).await
    }

    async fn list_declarations(&self, filter: DeclarationFilter) -> StoreResult<Page<StoredDeclaration>> {
        self.reader()?.list_declarations(&filter).await
    }

    async fn put_party(&self, mut party: PartyRecord) -> StoreResult<()> {
        party.recorded_at = truncate_to_micros(party.recorded_at)?;
        let payload = backend::party_payload(&party);
        self.writer.write_unit(WriteOp::Party { party, payload }).await
    }

    async fn get_party(&self, uscc: &str) -> StoreResult<PartyRecord> {
        self.reader()?.get_party(uscc).await
    }

    async fn list_parties(&self, after: Option<String>, limit: u32) -> StoreResult<Vec<PartyRecord>> {
        self.reader()?.list_parties(after.as_deref(), limit).await
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
        let recorded_at = truncate_to_micros(recorded_at)?;
        let rows = backend::attribute_policy_rows(rows, author, recorded_at);
        let subject = backend::policy_subject(&rows);
        let payload = backend::policy_payload(&rows, author);
        self.writer.write_unit(WriteOp::Policy { rows, author: author.to_owned(), recorded_at, subject, payload }).await
    }

    async fn policy_rows(&self, kind: &str) -> StoreResult<Vec<PolicyRow>> {
        self.reader()?.policy_rows(kind).await
    }

    async fn policy_row_count(&self) -> StoreResult<i64> {
        self.reader()?.policy_row_count().await
    }

    async fn declaration_stats(&self, query: StatsQuery) -> StoreResult<DeclarationStats> {
        self.reader()?.declaration_stats(&query).await
    }

    async fn put_account(&self, account: AccountRecord) -> StoreResult<()> {
        let account = backend::account_as_stored(account)?;
        let payload = backend::account_payload(&account);
        self.writer.write_unit(WriteOp::Account { account, payload }).await
    }

    async fn get_account(&self, user_id: &str) -> StoreResult<AccountRecord> {
        self.reader()?.get_account(user_id).await
    }

    async fn list_accounts(
        &self,
        party: Option<&str>,
        after: Option<String>,
        limit: u32,
    ) -> StoreResult<Vec<AccountRecord>> {
        self.reader()?.list_accounts(party, after.as_deref(), limit).await
    }

    async fn issue_token(&self, token: TokenRecord) -> StoreResult<()> {
        let token = backend::token_as_issued(token)?;
        let payload = backend::token_issued_payload(&token);
        self.writer.write_unit(WriteOp::IssueToken { token, payload }).await
    }

    async fn revoke_token(&self, token_id: &str, by: &str, at: DateTime<Utc>) -> StoreResult<TokenRecord> {
        let revocation = Revocation { by: by.to_owned(), at: truncate_to_micros(at)? };
        let payload = backend::token_revoked_payload(token_id, by);
        self.writer.write_token(WriteOp::RevokeToken { token_id: token_id.to_owned(), revocation, payload }).await
    }

    async fn get_token(&self, token_id: &str) -> StoreResult<TokenRecord> {
        self.reader()?.get_token(token_id).await
    }

    async fn list_tokens(&self, user_id: Option<&str>) -> StoreResult<Vec<TokenRecord>> {
        self.reader()?.list_tokens(user_id).await
    }

    async fn start_session(&self, session: SessionRecord) -> StoreResult<()> {
        let session = backend::session_as_started(session)?;
        self.writer.write_unit(WriteOp::StartSession(session)).await
    }

    async fn end_session(&self, session_sha256: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let op = WriteOp::EndSession { session_sha256: session_sha256.to_owned(), at_us: backend::to_micros(at) };
        self.writer.write_unit(op).await
    }

    async fn get_session(&self, session_sha256: &str) -> StoreResult<SessionRecord> {
        self.reader()?.get_session(session_sha256).await
    }

    async fn record_inspection(&self, inspection: InspectionRecord) -> StoreResult<InspectionOutcome> {
        let inspection = backend::inspection_as_stored(inspection)?;
        let payload = backend::inspection_payload(&inspection);
        self.writer.write_inspection(WriteOp::RecordInspection { inspection, payload }).await
    }

    async fn get_inspection(&self, declaration_id: i64) -> StoreResult<InspectionRecord> {
        self.reader()?.get_inspection(declaration_id).await
    }

    async fn list_inspections(&self, after: Option<i64>, limit: u32) -> StoreResult<Vec<InspectionRecord>> {
        self.reader()?.list_inspections(after, limit).await
    }

    async fn declarant_history(&self) -> StoreResult<Vec<DeclarantHistory>> {
        self.reader()?.declarant_history().await
    }

    async fn record_ledger_document(&self, document: NewLedgerDocument) -> StoreResult<LedgerDocumentOutcome> {
        // Checked (amounts within i64) and hashed here, before anything reaches the writer.
        let document = backend::ledger_document_as_stored(document)?;
        let event = backend::LedgerDocumentEvent::new(&document);
        self.writer.write_ledger_document(PreparedLedgerDocument { document, event }).await
    }

    async fn get_ledger_document(
        &self,
        enterprise: &str,
        kind: &str,
        number: &str,
    ) -> StoreResult<StoredLedgerDocument> {
        self.reader()?.get_ledger_document(enterprise, kind, number).await
    }

    async fn list_ledger_documents(
        &self,
        enterprise: Option<&str>,
        kind: Option<&str>,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<StoredLedgerDocument>> {
        self.reader()?.list_ledger_documents(enterprise, kind, after, limit).await
    }

    async fn ledger_log(&self) -> StoreResult<LedgerLog> {
        self.reader()?.ledger_log().await
    }

    async fn enqueue_cbec(&self, batch: NewCbecBatch) -> StoreResult<CbecReceipt> {
        // Checked and hashed here, before anything reaches the writer.
        let batch = backend::cbec_batch_as_stored(batch)?;
        let event = backend::CbecBatchEvent::new(&batch)?;
        Ok(CbecReceipt::new(self.writer.enqueue_cbec(PreparedCbecBatch { batch, event }).await?))
    }

    async fn cbec_last_seq(&self) -> StoreResult<i64> {
        self.reader()?.cbec_last_seq().await
    }

    async fn cbec_log(&self, after: i64, limit: u32) -> StoreResult<Vec<CbecRecord>> {
        self.reader()?.cbec_log(after, limit).await
    }

    async fn cbec_records_for_order(&self, order_key: &str) -> StoreResult<Vec<CbecRecord>> {
        self.reader()?.cbec_records_for_order(order_key).await
    }

    async fn get_cbec_record(&self, kind: &str, key: &str) -> StoreResult<CbecRecord> {
        self.reader()?.get_cbec_record(kind, key).await
    }

    async fn events(&self, after: i64, limit: u32) -> StoreResult<Vec<Event>> {
        self.reader()?.events(after, limit).await
    }

    async fn events_for_subject(&self, subject: &str, limit: u32) -> StoreResult<Vec<Event>> {
        self.reader()?.events_for_subject(subject, limit).await
    }

    async fn verify_chain(&self) -> StoreResult<ChainReport> {
        self.reader()?.verify_chain().await
    }
}
