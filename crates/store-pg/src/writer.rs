//! The single writer connection and its group commit.
//!
//! One tokio task owns the write connection. It waits for the first request, drains whatever else is
//! already queued (up to the batch limit), runs them all in one transaction, commits once, and then answers
//! each request through its oneshot channel. That one task is also what keeps the event chain strictly
//! serial; an advisory lock held for the batch transaction extends this to several processes sharing a
//! schema.
//!
//! A batch takes a constant number of round trips, whatever its size: BEGIN; then, pipelined, the advisory
//! lock, the chain head and id maxima, and the rows already recorded under the batch's (declarant,
//! reference) keys; then one binary COPY of all new declarations and one insert of all their events
//! (`unnest` arrays); then COMMIT. Repeats and conflicts, including a key submitted twice in one batch (the
//! first in batch order wins), are classified in memory, and ids, seqs and hashes are assigned here, in
//! batch order. A party or policy write in the batch flushes the declarations before it and runs its own
//! statement, so the chain keeps batch order.
//!
//! Account, token, session and inspection writes run their own statements in batch order too, as party
//! writes do, so each is atomic with its event. A request refused for what it asks (`NotFound`,
//! `AlreadyExists`: an unknown token to revoke, a token id that is taken, an inspection of an unknown
//! declaration) is decided by queries that succeed and before it writes anything, so it is answered without
//! spoiling the batch.
//!
//! A failing request must not spoil the others. PostgreSQL aborts a transaction at its first error, so if
//! any statement of the bulk attempt fails (the unique key is the last line of defence), the transaction is
//! rolled back and the batch run again request by request, each in its own SAVEPOINT, the failing one rolled
//! back alone.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Statement, Transaction};
use zonegate_store::backend::{
    self, classify, to_micros, CbecBatchEvent, ChainHead, DeclarationEvent, LedgerDocumentEvent,
};
use zonegate_store::{
    AccountRecord, CbecCommitted, CbecRecord, Event, InspectionOutcome, InspectionRecord, LedgerDocumentOutcome,
    NewCbecBatch, NewDeclaration, NewLedgerDocument, PartyRecord, PolicyRow, Revocation, SessionRecord, StoreError,
    StoreResult, StoredDeclaration, SubmitOutcome, TokenRecord,
};

use crate::error::Context;
use crate::reader::{
    declaration_from_row, declaration_select, inspection_from_row, inspection_select, ledger_document_from_row,
    ledger_document_select, token_from_row, token_select,
};

/// A declaration ready for the writer: everything that can be computed off the writer task already is.
pub(crate) struct PreparedDeclaration {
    pub declaration: NewDeclaration,
    pub event: DeclarationEvent,
}

/// What a submission did; the caller builds the [`SubmitOutcome`] (moving, not copying, the document).
pub(crate) enum Recorded {
    Created(i64),
    /// Boxed: an outcome carries a whole declaration, and this is the rare case.
    Existing(Box<SubmitOutcome>),
}

impl Recorded {
    pub(crate) fn into_outcome(self, prepared: Arc<PreparedDeclaration>) -> SubmitOutcome {
        match self {
            Recorded::Existing(outcome) => *outcome,
            Recorded::Created(id) => {
                let declaration = match Arc::try_unwrap(prepared) {
                    Ok(prepared) => prepared.declaration,
                    Err(shared) => shared.declaration.clone(),
                };
                SubmitOutcome::Created(backend::stored_from_new(id, declaration))
            }
        }
    }
}

/// A write request, as data: it may have to run twice (see the module doc).
pub(crate) enum WriteOp {
    Submit(Arc<PreparedDeclaration>),
    Party {
        party: PartyRecord,
        payload: String,
    },
    Policy {
        rows: Vec<PolicyRow>,
        author: String,
        recorded_at: DateTime<Utc>,
        subject: String,
        payload: String,
    },
    Account {
        account: AccountRecord,
        payload: String,
    },
    IssueToken {
        token: TokenRecord,
        payload: String,
    },
    /// Answers the token as stored ([`Done::Token`]).
    RevokeToken {
        token_id: String,
        revocation: Revocation,
        payload: String,
    },
    StartSession(SessionRecord),
    EndSession {
        session_sha256: String,
        at_us: i64,
    },
    /// Answers what recording did ([`Done::Inspection`]).
    RecordInspection {
        inspection: InspectionRecord,
        payload: String,
    },
    /// Answers what recording did ([`Done::LedgerDocument`]).
    RecordLedgerDocument(Box<PreparedLedgerDocument>),
    /// Answers the seqs committed ([`Done::Cbec`]).
    RecordCbec(Box<PreparedCbecBatch>),
}

/// A batch of e-commerce log records ready for the writer: checked, timestamps truncated and its event
/// hashed already.
pub(crate) struct PreparedCbecBatch {
    pub batch: NewCbecBatch,
    pub event: CbecBatchEvent,
}

/// A ledger document ready for the writer: checked, truncated and its event payload hashed already.
pub(crate) struct PreparedLedgerDocument {
    pub document: NewLedgerDocument,
    pub event: LedgerDocumentEvent,
}

enum Done {
    Submit(Recorded),
    Unit,
    Token(TokenRecord),
    Inspection(InspectionOutcome),
    LedgerDocument(LedgerDocumentOutcome),
    Cbec(CbecCommitted),
}

pub(crate) enum Reply {
    Submit(oneshot::Sender<StoreResult<Recorded>>),
    Unit(oneshot::Sender<StoreResult<()>>),
    Token(oneshot::Sender<StoreResult<TokenRecord>>),
    Inspection(oneshot::Sender<StoreResult<InspectionOutcome>>),
    LedgerDocument(oneshot::Sender<StoreResult<LedgerDocumentOutcome>>),
    Cbec(oneshot::Sender<StoreResult<CbecCommitted>>),
}

struct Request {
    op: WriteOp,
    result: Option<StoreResult<Done>>,
    reply: Reply,
}

impl Request {
    /// Answers the caller: `failure` is set when the batch did not commit.
    fn finish(self, failure: Option<&str>) {
        let Request { op, result, reply } = self;
        // Release what the request holds before answering, so the caller gets sole ownership back.
        drop(op);
        let result = match (result, failure) {
            (Some(Err(own)), _) => Err(own),
            (_, Some(failure)) => Err(StoreError::Backend(failure.to_owned())),
            (Some(Ok(done)), None) => Ok(done),
            (None, None) => Err(StoreError::Backend("postgres: write request was not run".into())),
        };
        let mismatched = || StoreError::Backend("postgres: mismatched write reply".into());
        // A caller that went away (its future dropped) needs no answer.
        match reply {
            Reply::Submit(reply) => drop(reply.send(match result {
                Ok(Done::Submit(recorded)) => Ok(recorded),
                Ok(_) => Err(mismatched()),
                Err(e) => Err(e),
            })),
            Reply::Unit(reply) => drop(reply.send(match result {
                Ok(Done::Unit) => Ok(()),
                Ok(_) => Err(mismatched()),
                Err(e) => Err(e),
            })),
            Reply::Token(reply) => drop(reply.send(match result {
                Ok(Done::Token(token)) => Ok(token),
                Ok(_) => Err(mismatched()),
                Err(e) => Err(e),
            })),
            Reply::Inspection(reply) => drop(reply.send(match result {
                Ok(Done::Inspection(outcome)) => Ok(outcome),
                Ok(_) => Err(mismatched()),
                Err(e) => Err(e),
            })),
            Reply::LedgerDocument(reply) => drop(reply.send(match result {
                Ok(Done::LedgerDocument(outcome)) => Ok(outcome),
                Ok(_) => Err(mismatched()),
                Err(e) => Err(e),
            })),
            Reply::Cbec(reply) => drop(reply.send(match result {
                Ok(Done::Cbec(committed)) => Ok(committed),
                Ok(_) => Err(mismatched()),
                Err(e) => Err(e),
            })),
        }
    }
}

/// The writer's prepared statements.
struct Statements {
    lock: Statement,
    state: Statement,
    submit: Statement,
    existing: Statement,
    lookup: Statement,
    copy_declarations: Statement,
    insert_events: Statement,
    party: Statement,
    policy: Statement,
    account: Statement,
    issue_token: Statement,
    token: Statement,
    revoke_token: Statement,
    start_session: Statement,
    end_session: Statement,
    inspected_declaration: Statement,
    record_inspection: Statement,
    inspection: Statement,
    ledger_document: Statement,
    insert_ledger_document: Statement,
    insert_ledger_items: Statement,
    insert_ledger_accounts: Statement,
    insert_ledger_transfers: Statement,
    insert_event: Statement,
    cbec_last_seq: Statement,
    copy_cbec: Statement,
    insert_cbec: Statement,
}

/// What a batch attempt tracks as it goes: the chain head and the next ids to hand out.
#[derive(Clone)]
struct BatchState {
    head: ChainHead,
    next_declaration_id: i64,
    next_policy_row_id: i64,
}

/// The `declarations` columns every write names, in the order of [`DECLARATION_TYPES`] and
/// [`declaration_columns`], as a literal for `concat!`.
macro_rules! declaration_column_names {
    () => {
        "id, declarant, reference, zone, flow, declared_on, treatments, channel, payable_fen, document_sha256, \
         document_json, assessment_json, recorded_at_us, waived_fen, submitted_by, received_at_us"
    };
}

/// The types of [`declaration_column_names!`], in order.
const DECLARATION_TYPES: [Type; 16] = [
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::DATE,
    Type::TEXT_ARRAY,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::INT8,
];

/// A declaration's timestamps as stored: `[recorded_at_us, received_at_us]`.
fn declaration_times(d: &NewDeclaration) -> [i64; 2] {
    [to_micros(d.recorded_at), to_micros(d.received_at)]
}

/// A declaration's column values in the order of [`declaration_column_names!`] and [`DECLARATION_TYPES`], for
/// both the bulk COPY and the per-request insert, so the order is written down once.
fn declaration_columns<'a>(id: &'a i64, d: &'a NewDeclaration, times: &'a [i64; 2]) -> [&'a (dyn ToSql + Sync); 16] {
    let [recorded_at_us, received_at_us] = times;
    [
        id,
        &d.declarant,
        &d.reference,
        &d.zone,
        &d.flow,
        &d.declared_on,
        &d.treatments,
        &d.channel,
        &d.payable_fen,
        &d.document_sha256,
        &d.document_json,
        &d.assessment_json,
        recorded_at_us,
        &d.waived_fen,
        &d.submitted_by,
        received_at_us,
    ]
}

/// The `cbec_log` columns, in the order of [`CBEC_TYPES`] and [`cbec_columns`].
const CBEC_COLUMNS: &str = "seq, kind, key, order_key, body_sha256, body_json, recorded_by, recorded_at_us";

/// The types of [`CBEC_COLUMNS`], in order.
const CBEC_TYPES: [Type; 8] =
    [Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8];

/// A batch up to this many records is inserted with one `unnest` statement; a larger one by binary COPY.
const CBEC_COPY_FROM: usize = 16;

/// A record's column values in the order of [`CBEC_COLUMNS`].
fn cbec_columns<'a>(r: &'a CbecRecord, recorded_at_us: &'a i64) -> [&'a (dyn ToSql + Sync); 8] {
    [&r.seq, &r.kind, &r.key, &r.order_key, &r.body_sha256, &r.body_json, &r.recorded_by, recorded_at_us]
}

/// The handle the store keeps. Dropping it ends the writer task once the queue is empty.
pub(crate) struct Writer {
    requests: mpsc::Sender<Request>,
}

fn stopped() -> StoreError {
    StoreError::Backend("postgres: the writer task has stopped".into())
}

impl Writer {
    /// Prepares the writer's statements on `client` (already migrated) and starts the writer task.
    pub(crate) async fn spawn(client: Client, batch_max: usize) -> StoreResult<Writer> {
        let statements = prepare(&client).await?;
        let batch_max = batch_max.max(1);
        let (requests, queue) = mpsc::channel(batch_max * 4);
        tokio::spawn(writer_loop(client, statements, queue, batch_max));
        Ok(Writer { requests })
    }

    async fn send(&self, op: WriteOp, reply: Reply) -> StoreResult<()> {
        self.requests.send(Request { op, result: None, reply }).await.map_err(|_| stopped())
    }

    /// Queues a submission and returns where its answer will arrive.
    pub(crate) async fn enqueue_submit(
        &self,
        prepared: Arc<PreparedDeclaration>,
    ) -> StoreResult<oneshot::Receiver<StoreResult<Recorded>>> {
        let (reply, answer) = oneshot::channel();
        self.send(WriteOp::Submit(prepared), Reply::Submit(reply)).await?;
        Ok(answer)
    }

    /// Runs a write that answers nothing but success in the next batch, once that batch has committed.
    pub(crate) async fn write_unit(&self, op: WriteOp) -> StoreResult<()> {
        let (reply, answer) = oneshot::channel();
        self.send(op, Reply::Unit(reply)).await?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs a write that answers a token ([`WriteOp::RevokeToken`]), once its batch has committed.
    pub(crate) async fn write_token(&self, op: WriteOp) -> StoreResult<TokenRecord> {
        let (reply, answer) = oneshot::channel();
        self.send(op, Reply::Token(reply)).await?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs a write that answers a ledger document outcome ([`WriteOp::RecordLedgerDocument`]), once its batch
    /// has committed.
    pub(crate) async fn write_ledger_document(
        &self,
        prepared: PreparedLedgerDocument,
    ) -> StoreResult<LedgerDocumentOutcome> {
        let (reply, answer) = oneshot::channel();
        self.send(WriteOp::RecordLedgerDocument(Box::new(prepared)), Reply::LedgerDocument(reply)).await?;
        answer.await.map_err(|_| stopped())?
    }

    /// Queues a batch of e-commerce log records and returns where its answer will arrive.
    pub(crate) async fn enqueue_cbec(
        &self,
        prepared: PreparedCbecBatch,
    ) -> StoreResult<oneshot::Receiver<StoreResult<CbecCommitted>>> {
        let (reply, answer) = oneshot::channel();
        self.send(WriteOp::RecordCbec(Box::new(prepared)), Reply::Cbec(reply)).await?;
        Ok(answer)
    }

    /// Runs a write that answers an inspection outcome ([`WriteOp::RecordInspection`]), once its batch has
    /// committed.
    pub(crate) async fn write_inspection(&self, op: WriteOp) -> StoreResult<InspectionOutcome> {
        let (reply, answer) = oneshot::channel();
        self.send(op, Reply::Inspection(reply)).await?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Waits for a queued submission's answer.
pub(crate) async fn answer(answer: oneshot::Receiver<StoreResult<Recorded>>) -> StoreResult<Recorded> {
    answer.await.map_err(|_| stopped())?
}

async fn prepare(client: &Client) -> StoreResult<Statements> {
    let prepare = |sql: &'static str| async move { client.prepare(sql).await.ctx(&format!("prepare {sql}")) };
    Ok(Statements {
        lock: prepare("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.zonegate.writer'))").await?,
        state: prepare(
            "SELECT (SELECT seq FROM events ORDER BY seq DESC LIMIT 1), \
                    (SELECT hash FROM events ORDER BY seq DESC LIMIT 1), \
                    (SELECT coalesce(max(id), 0) FROM declarations), \
                    (SELECT coalesce(max(id), 0) FROM policy_rows)",
        )
        .await?,
        submit: prepare(concat!(
            "WITH inserted AS ( \
                 INSERT INTO declarations (",
            declaration_column_names!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                 ON CONFLICT (declarant, reference) DO NOTHING \
                 RETURNING id) \
             INSERT INTO events (seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash) \
             SELECT $17::bigint, $13::bigint, $18::text, $19::text, $20::text, $21::text, $22::text FROM inserted \
             RETURNING seq"
        ))
        .await?,
        existing: prepare(declaration_select!("WHERE d.declarant = $1 AND d.reference = $2")).await?,
        lookup: prepare(declaration_select!(
            "WHERE (d.declarant, d.reference) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
        ))
        .await?,
        // Treatments are ragged, so they travel flattened in $7, each row taking the slice [from:to] of it
        // (an empty slice when from > to). No ON CONFLICT: a key recorded meanwhile fails the bulk insert.
        copy_declarations: prepare(concat!("COPY declarations (", declaration_column_names!(), ") FROM STDIN BINARY"))
            .await?,
        insert_events: prepare(
            "INSERT INTO events (seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], \
                 $7::text[])",
        )
        .await?,
        party: prepare(
            "WITH inserted AS ( \
                 INSERT INTO parties (uscc, name, body_json, recorded_at_us, recorded_by) VALUES ($1, $2, $3, $4, $10) \
                 RETURNING version, uscc), \
             current AS ( \
                 INSERT INTO party_current (uscc, version) SELECT uscc, version FROM inserted \
                 ON CONFLICT (uscc) DO UPDATE SET version = excluded.version) \
             INSERT INTO events (seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash) \
             VALUES ($5, $4, $6, $1, $7, $8, $9)",
        )
        .await?,
        policy: prepare(
            "WITH inserted AS ( \
                 INSERT INTO policy_rows (id, kind, key, effective_from, body_json, author, recorded_at_us) \
                 SELECT r.id, r.kind, r.key, r.effective_from, r.body_json, $6::text, $7::bigint \
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::date[], $5::text[]) \
                     AS r (id, kind, key, effective_from, body_json)) \
             INSERT INTO events (seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash) \
             VALUES ($8, $7, $9, $10, $11, $12, $13)",
        )
        .await?,
        account: prepare(
            "WITH inserted AS ( \
                 INSERT INTO accounts (user_id, party, party_kind, roles, password_hash, personal_json, active, \
                     recorded_by, recorded_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 RETURNING version, user_id, party), \
             current AS ( \
                 INSERT INTO account_current (user_id, party, version) SELECT user_id, party, version FROM inserted \
                 ON CONFLICT (user_id) DO UPDATE SET party = excluded.party, version = excluded.version) \
             INSERT INTO events (seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash) \
             VALUES ($10, $9, $11, $1, $12, $13, $14)",
        )
        .await?,
        // A taken id inserts nothing, so no event either, and returns no row: the caller answers AlreadyExists.
        issue_token: prepare(
            "WITH inserted AS ( \
                 INSERT INTO tokens (token_id, user_id, name, secret_sha256, issued_by, issued_at_us, expires_at_us) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (token_id) DO NOTHING \
                 RETURNING token_id) \
             INSERT INTO events (seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash) \
             SELECT $8::bigint, $6::bigint, $9::text, $1::text, $10::text, $11::text, $12::text FROM inserted \
             RETURNING seq",
        )
        .await?,
        token: prepare(token_select!("WHERE t.token_id = $1")).await?,
        revoke_token: prepare(
            "WITH inserted AS ( \
                 INSERT INTO token_revocations (token_id, revoked_by, revoked_at_us) VALUES ($1, $2, $3)) \
             INSERT INTO events (seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash) \
             VALUES ($4, $3, $5, $1, $6, $7, $8)",
        )
        .await?,
        start_session: prepare(
            "INSERT INTO sessions (session_sha256, user_id, started_at_us, expires_at_us) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (session_sha256) DO NOTHING",
        )
        .await?,
        end_session: prepare(
            "INSERT INTO session_ends (session_sha256, ended_at_us) \
             SELECT $1::text, $2::bigint WHERE EXISTS (SELECT 1 FROM sessions WHERE session_sha256 = $1::text) \
             ON CONFLICT (session_sha256) DO NOTHING",
        )
        .await?,
        inspected_declaration: prepare("SELECT declarant, reference FROM declarations WHERE id = $1").await?,
        // An inspected declaration inserts nothing, so no event either, and returns no row: the caller reads
        // the first inspection and classifies.
        record_inspection: prepare(
            "WITH inserted AS ( \
                 INSERT INTO inspections (declaration_id, outcome, body_json, body_sha256, recorded_by, \
                     recorded_at_us) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (declaration_id) DO NOTHING \
                 RETURNING declaration_id) \
             INSERT INTO events (seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash) \
             SELECT $7::bigint, $6::bigint, $8::text, $9::text, $10::text, $11::text, $12::text FROM inserted \
             RETURNING seq",
        )
        .await?,
        inspection: prepare(inspection_select!("WHERE i.declaration_id = $1")).await?,
        ledger_document: prepare(ledger_document_select!("WHERE l.enterprise = $1 AND l.kind = $2 AND l.number = $3"))
            .await?,
        insert_ledger_document: prepare(
            "INSERT INTO ledger_documents (enterprise, kind, number, body_json, body_sha256, result_json, \
                 recorded_by, recorded_at_us, transfer_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (enterprise, kind, number) DO NOTHING \
             RETURNING seq",
        )
        .await?,
        insert_ledger_items: prepare(
            "INSERT INTO ledger_items (enterprise, item_no, hs_code, unit, quantity_scale, treatment, document_seq, \
                 position) \
             SELECT i.enterprise, i.item_no, i.hs_code, i.unit, i.quantity_scale, i.treatment, $7::bigint, \
                 (i.n - 1)::int \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int2[], $6::text[]) WITH ORDINALITY \
                 AS i (enterprise, item_no, hs_code, unit, quantity_scale, treatment, n)",
        )
        .await?,
        // The ordering column continues after the last account, in the order of the arrays.
        insert_ledger_accounts: prepare(
            "INSERT INTO ledger_accounts (seq, id, enterprise, item_no, kind, flags, document_seq) \
             SELECT b.last + a.n, a.id, a.enterprise, a.item_no, a.kind, a.flags, $6::bigint \
             FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::int4[]) WITH ORDINALITY \
                 AS a (id, enterprise, item_no, kind, flags, n) \
             CROSS JOIN (SELECT coalesce(max(seq), 0) AS last FROM ledger_accounts) b",
        )
        .await?,
        // The ordering column continues after the last transfer, in the order of the arrays.
        insert_ledger_transfers: prepare(
            "INSERT INTO ledger_transfers (seq, id, debit_account_id, credit_account_id, quantity, value_fen, \
                 pending_id, code, reference, timestamp_us, flags, document_seq) \
             SELECT b.last + t.n, t.id, t.debit_account_id, t.credit_account_id, t.quantity, t.value_fen, \
                 t.pending_id, t.code, t.reference, t.timestamp_us, t.flags, $11::bigint \
             FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::int8[], $5::int8[], $6::bytea[], $7::text[], \
                 $8::text[], $9::int8[], $10::int4[]) WITH ORDINALITY \
                 AS t (id, debit_account_id, credit_account_id, quantity, value_fen, pending_id, code, reference, \
                     timestamp_us, flags, n) \
             CROSS JOIN (SELECT coalesce(max(seq), 0) AS last FROM ledger_transfers) b",
        )
        .await?,
        insert_event: prepare(
            "INSERT INTO events (seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?,
        cbec_last_seq: prepare("SELECT coalesce(max(seq), 0)::bigint FROM cbec_log").await?,
        copy_cbec: client
            .prepare(&format!("COPY cbec_log ({CBEC_COLUMNS}) FROM STDIN BINARY"))
            .await
            .ctx("prepare COPY cbec_log")?,
        insert_cbec: client
            .prepare(&format!(
                "INSERT INTO cbec_log ({CBEC_COLUMNS}) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], \
                 $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[])"
            ))
            .await
            .ctx("prepare cbec_log insert")?,
    })
}

async fn writer_loop(mut client: Client, statements: Statements, mut queue: mpsc::Receiver<Request>, batch_max: usize) {
    let mut batch: Vec<Request> = Vec::with_capacity(batch_max);
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while batch.len() < batch_max {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let failure = run_batch(&mut client, &statements, &mut batch).await.err();
        for request in batch.drain(..) {
            request.finish(failure.as_deref());
        }
    }
}

/// Runs one batch in one transaction; `Err` means nothing of it was committed.
async fn run_batch(client: &mut Client, statements: &Statements, batch: &mut [Request]) -> Result<(), String> {
    match attempt_bulk(client, statements, batch).await {
        Ok(true) => Ok(()),
        // A statement failed and the transaction was rolled back: isolate each request in a savepoint.
        Ok(false) => attempt_isolated(client, statements, batch).await,
        Err(e) => Err(e),
    }
}

/// A key already recorded, before or earlier in this batch.
enum Known<'a> {
    Stored(&'a StoredDeclaration),
    New(i64, &'a NewDeclaration),
}

/// New declarations (with their ids and events) waiting for the next bulk insert.
#[derive(Default)]
struct Pending<'a> {
    declarations: Vec<(i64, &'a NewDeclaration)>,
    events: Vec<Event>,
}

/// The batch in a few statements (see the module doc). `Ok(true)` means committed; `Ok(false)` means a
/// statement failed and the transaction was rolled back. On `Err` the transaction is dropped, which rolls
/// it back.
async fn attempt_bulk(client: &mut Client, statements: &Statements, batch: &mut [Request]) -> Result<bool, String> {
    let text = |e: StoreError| e.to_string();
    let mut results: Vec<Option<StoreResult<Done>>> = Vec::with_capacity(batch.len());
    {
        let tx = client.transaction().await.ctx("begin batch").map_err(text)?;
        let (declarants, references): (Vec<&str>, Vec<&str>) = batch
            .iter()
            .filter_map(|request| match &request.op {
                WriteOp::Submit(prepared) => {
                    Some((prepared.declaration.declarant.as_str(), prepared.declaration.reference.as_str()))
                }
                _ => None,
            })
            .unzip();
        // Pipelined, in this order: the state and the keys are read once the lock is granted, so they see
        // every batch committed before.
        let (lock, head, found) = tokio::join!(
            biased;
            tx.execute(&statements.lock, &[]),
            tx.query_one(&statements.state, &[]),
            async {
                if declarants.is_empty() {
                    Ok(Vec::new())
                } else {
                    tx.query(&statements.lookup, &[&declarants, &references]).await
                }
            },
        );
        lock.ctx("lock the writer").map_err(text)?;
        let mut state = batch_state(&head.ctx("read chain head").map_err(text)?).map_err(text)?;
        let found = match found.ctx("read declarations") {
            Ok(rows) => rows,
            Err(_) => return rolled_back(tx).await,
        };
        // A row that does not decode is left to the request-by-request run to report against its request.
        let Ok(stored) = found.iter().map(declaration_from_row).collect::<StoreResult<Vec<_>>>() else {
            return rolled_back(tx).await;
        };
        let mut known: HashMap<(String, String), Known<'_>> = HashMap::with_capacity(batch.len());
        for existing in &stored {
            known.insert((existing.declarant.clone(), existing.reference.clone()), Known::Stored(existing));
        }
        let mut pending = Pending::default();
        for request in batch.iter() {
            match &request.op {
                WriteOp::Submit(prepared) => {
                    let d = &prepared.declaration;
                    let key = (d.declarant.clone(), d.reference.clone());
                    let recorded = match known.get(&key) {
                        Some(Known::Stored(existing)) => {
                            Recorded::Existing(Box::new(classify((*existing).clone(), &d.document_sha256)))
                        }
                        Some(Known::New(id, first)) => Recorded::Existing(Box::new(classify(
                            backend::stored_from_new(*id, (*first).clone()),
                            &d.document_sha256,
                        ))),
                        None => {
                            let id = state.next_declaration_id;
                            state.next_declaration_id = id + 1;
                            pending.events.push(state.head.next(
                                d.recorded_at,
                                backend::DECLARATION_RECORDED,
                                prepared.event.subject.clone(),
                                prepared.event.payload(id),
                            ));
                            pending.declarations.push((id, d));
                            known.insert(key, Known::New(id, d));
                            Recorded::Created(id)
                        }
                    };
                    results.push(Some(Ok(Done::Submit(recorded))));
                }
                op => {
                    if flush(&tx, statements, &mut pending).await.is_err() {
                        return rolled_back(tx).await;
                    }
                    let result = run(&tx, statements, &mut state, op).await;
                    // A refusal (NotFound, AlreadyExists) came from queries that succeeded and wrote nothing.
                    let failed = matches!(result, Err(StoreError::Backend(_) | StoreError::ChainBroken { .. }));
                    results.push(Some(result));
                    if failed {
                        return rolled_back(tx).await;
                    }
                }
            }
        }
        if flush(&tx, statements, &mut pending).await.is_err() {
            return rolled_back(tx).await;
        }
        tx.commit().await.ctx("commit batch").map_err(text)?;
    }
    for (request, result) in batch.iter_mut().zip(results) {
        request.result = result;
    }
    Ok(true)
}

async fn rolled_back(tx: Transaction<'_>) -> Result<bool, String> {
    tx.rollback().await.ctx("roll back batch").map_err(|e| e.to_string())?;
    Ok(false)
}

/// Copies the pending declarations in, then inserts their events with one statement.
async fn flush(tx: &Transaction<'_>, statements: &Statements, pending: &mut Pending<'_>) -> StoreResult<()> {
    if pending.declarations.is_empty() {
        return Ok(());
    }
    let rows = &pending.declarations;
    let events = &pending.events;
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let event_at: Vec<i64> = events.iter().map(|e| to_micros(e.recorded_at)).collect();
    let event_column = |f: fn(&Event) -> &str| events.iter().map(f).collect::<Vec<&str>>();
    let kinds = event_column(|e| &e.kind);
    let subjects = event_column(|e| &e.subject);
    let payloads = event_column(|e| &e.payload_json);
    let prev_hashes = event_column(|e| &e.prev_hash);
    let hashes = event_column(|e| &e.hash);
    let event_params: [&(dyn ToSql + Sync); 7] =
        [&seqs, &event_at, &kinds, &subjects, &payloads, &prev_hashes, &hashes];
    let copy = async {
        let sink = tx.copy_in(&statements.copy_declarations).await?;
        let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &DECLARATION_TYPES));
        for (id, d) in rows {
            let times = declaration_times(d);
            writer.as_mut().write(&declaration_columns(id, d, &times)).await?;
        }
        writer.finish().await
    };
    // Not pipelined: a COPY queued behind a failing statement would desynchronise the protocol.
    copy.await.ctx("copy declarations")?;
    tx.execute(&statements.insert_events, &event_params).await.ctx("insert events")?;
    pending.declarations.clear();
    pending.events.clear();
    Ok(())
}

/// The batch request by request, each in a savepoint: a failing request is rolled back to its savepoint
/// and the others carry on. On `Err` the transaction is dropped, which rolls it back.
async fn attempt_isolated(client: &mut Client, statements: &Statements, batch: &mut [Request]) -> Result<(), String> {
    let text = |e: StoreError| e.to_string();
    let mut tx = client.transaction().await.ctx("begin batch").map_err(text)?;
    // The state is read after the lock is granted, so it sees every batch committed before.
    tx.execute(&statements.lock, &[]).await.ctx("lock the writer").map_err(text)?;
    let row = tx.query_one(&statements.state, &[]).await.ctx("read chain head").map_err(text)?;
    let mut state = batch_state(&row).map_err(text)?;
    for request in batch.iter_mut() {
        let savepoint = tx.savepoint("zonegate_write").await.ctx("savepoint").map_err(text)?;
        let before = state.clone();
        let result = run(&savepoint, statements, &mut state, &request.op).await;
        if result.is_ok() {
            savepoint.commit().await.ctx("release savepoint").map_err(text)?;
        } else {
            state = before;
            savepoint.rollback().await.ctx("roll back to savepoint").map_err(text)?;
        }
        request.result = Some(result);
    }
    tx.commit().await.ctx("commit batch").map_err(text)?;
    Ok(())
}

fn batch_state(row: &tokio_postgres::Row) -> StoreResult<BatchState> {
    let seq: Option<i64> = row.try_get(0).ctx("read chain head")?;
    let hash: Option<String> = row.try_get(1).ctx("read chain head")?;
    let head = match (seq, hash) {
        (Some(seq), Some(hash)) => ChainHead { seq, hash },
        _ => ChainHead::genesis(),
    };
    let max_declaration: i64 = row.try_get(2).ctx("read declaration ids")?;
    let max_policy_row: i64 = row.try_get(3).ctx("read policy row ids")?;
    Ok(BatchState { head, next_declaration_id: max_declaration + 1, next_policy_row_id: max_policy_row + 1 })
}

async fn run(tx: &Transaction<'_>, statements: &Statements, state: &mut BatchState, op: &WriteOp) -> StoreResult<Done> {
    match op {
        WriteOp::Submit(prepared) => submit(tx, statements, state, prepared).await.map(Done::Submit),
        WriteOp::Party { party, payload } => {
            put_party(tx, statements, state, party, payload).await.map(|()| Done::Unit)
        }
        WriteOp::Policy { rows, author, recorded_at, subject, payload } => {
            append_policy_rows(tx, statements, state, rows, author, *recorded_at, subject, payload)
                .await
                .map(|()| Done::Unit)
        }
        WriteOp::Account { account, payload } => {
            put_account(tx, statements, state, account, payload).await.map(|()| Done::Unit)
        }
        WriteOp::IssueToken { token, payload } => {
            issue_token(tx, statements, state, token, payload).await.map(|()| Done::Unit)
        }
        WriteOp::RevokeToken { token_id, revocation, payload } => {
            revoke_token(tx, statements, state, token_id, revocation, payload).await.map(Done::Token)
        }
        WriteOp::StartSession(session) => {
            let inserted = tx
                .execute(
                    &statements.start_session,
                    &[
                        &session.session_sha256,
                        &session.user_id,
                        &to_micros(session.started_at),
                        &to_micros(session.expires_at),
                    ],
                )
                .await
                .ctx("insert session")?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists("session".into()));
            }
            Ok(Done::Unit)
        }
        WriteOp::EndSession { session_sha256, at_us } => {
            tx.execute(&statements.end_session, &[session_sha256, at_us]).await.ctx("end session")?;
            Ok(Done::Unit)
        }
        WriteOp::RecordInspection { inspection, payload } => {
            record_inspection(tx, statements, state, inspection, payload).await.map(Done::Inspection)
        }
        WriteOp::RecordLedgerDocument(prepared) => {
            record_ledger_document(tx, statements, state, prepared).await.map(Done::LedgerDocument)
        }
        WriteOp::RecordCbec(prepared) => record_cbec(tx, statements, state, prepared).await.map(Done::Cbec),
    }
}

async fn submit(
    tx: &Transaction<'_>,
    statements: &Statements,
    state: &mut BatchState,
    prepared: &PreparedDeclaration,
) -> StoreResult<Recorded> {
    let d = &prepared.declaration;
    let id = state.next_declaration_id;
    let mut head = state.head.clone();
    let event = head.next(
        d.recorded_at,
        backend::DECLARATION_RECORDED,
        prepared.event.subject.clone(),
        prepared.event.payload(id),
    );
    let times = declaration_times(d);
    let mut params: Vec<&(dyn ToSql + Sync)> = declaration_columns(&id, d, &times).to_vec();
    params.extend([
        &event.seq as &(dyn ToSql + Sync),
        &event.kind,
        &event.subject,
        &event.payload_json,
        &event.prev_hash,
        &event.hash,
    ]);
    let inserted = tx.query_opt(&statements.submit, &params).await.ctx("insert declaration")?;
    if inserted.is_none() {
        let row = tx.query_opt(&statements.existing, &[&d.declarant, &d.reference]).await.ctx("read declaration")?;
        let existing = row.as_ref().map(declaration_from_row).transpose()?.ok_or_else(|| {
            StoreError::Backend("postgres: declaration key conflicts but the first record is missing".into())
        })?;
        return Ok(Recorded::Existing(Box::new(classify(existing, &d.document_sha256))));
    }
    state.head = head;
    state.next_declaration_id = id + 1;
    Ok(Recorded::Created(id))
}

async fn put_party(
    tx: &Transaction<'_>,
    statements: &Statements,
    state: &mut BatchState,
    party: &PartyRecord,
    payload: &str,
) -> StoreResult<()> {
    let mut head = state.head.clone();
    let event = head.next(party.recorded_at, backend::PARTY_RECORDED, party.uscc.clone(), payload.to_owned());
    tx.execute(
        &statements.party,
        &[
            &party.uscc,
            &party.name,
            &party.body_json,
            &to_micros(party.recorded_at),
            &event.seq,
            &event.kind,
            &event.payload_json,
            &event.prev_hash,
            &event.hash,
            &party.recorded_by,
        ],
    )
    .await
    .ctx("insert party")?;
    state.head = head;
    Ok(())
}

async fn put_account(
    tx: &Transaction<'_>,
    statements: &Statements,
    state: &mut BatchState,
    account: &AccountRecord,
    payload: &str,
) -> StoreResult<()> {
    let mut head = state.head.clone();
    let event = head.next(account.recorded_at, backend::ACCOUNT_RECORDED, account.user_id.clone(), payload.to_owned());
    tx.execute(
        &statements.account,
        &[
            &account.user_id,
            &account.party,
            &account.party_kind,
            &account.roles,
            &account.password_hash,
            &account.personal_json,
            &account.active,
            &account.recorded_by,
            &to_micros(account.recorded_at),
            &event.seq,
            &event.kind,
            &event.payload_json,
            &event.prev_hash,
            &event.hash,
        ],
    )
    .await
    .ctx("insert account")?;
    state.head = head;
    Ok(())
}

async fn issue_token(
    tx: &Transaction<'_>,
    statements: &Statements,
    state: &mut BatchState,
    token: &TokenRecord,
    payload: &str,
) -> StoreResult<()> {
    let mut head = state.head.clone();
    let event = head.next(token.issued_at, backend::TOKEN_ISSUED, token.token_id.clone(), payload.to_owned());
    let inserted = tx
        .query_opt(
            &statements.issue_token,
            &[
                &token.token_id,
                &token.user_id,
                &token.name,
                &token.secret_sha256,
                &token.issued_by,
                &to_micros(token.issued_at),
                &to_micros(token.expires_at),
                &event.seq,
                &event.kind,
                &event.payload_json,
                &event.prev_hash,
                &event.hash,
            ],
        )
        .await
        .ctx("insert token")?;
    if inserted.is_none() {
        return Err(StoreError::AlreadyExists(format!("token `{}`", token.token_id)));
    }
    state.head = head;
    Ok(())
}

/// Revokes a token once: a revoked token is returned as it is, an unknown one is `NotFound`, and in both
/// cases nothing is written.
async fn revoke_token(
    tx: &Transaction<'_>,
    statements: &Statements,
    state: &mut BatchState,
    token_id: &str,
    revocation: &Revocation,
    payload: &str,
) -> StoreResult<TokenRecord> {
    let row = tx.query_opt(&statements.token, &[&token_id]).await.ctx("read token")?;
    let token = row.as_ref().map(token_from_row).transpose()?.ok_or(StoreError::NotFound)?;
    if token.revoked.is_some() {
        return Ok(token);
    }
    let mut head = state.head.clone();
    let event = head.next(revocation.at, backend::TOKEN_REVOKED, token_id.to_owned(), payload.to_owned());
    tx.execute(
        &statements.revoke_token,
        &[
            &token_id,
            &revocation.by,
            &to_micros(revocation.at),
            &event.seq,
            &event.kind,
            &event.payload_json,
            &event.prev_hash,
            &event.hash,
        ],
    )
    .await
    .ctx("insert token revocation")?;
    state.head = head;
    Ok(TokenRecord { revoked: Some(revocation.clone()), ..token })
}

/// Records an inspection with its `inspection.recorded` event under the declaration's subject. An unknown
/// declaration is `NotFound`; a declaration inspected already gets the first inspection back, as a repeat or
/// a conflict; in both cases nothing is written.
async fn record_inspection(
    tx: &Transaction<'_>,
    statements: &Statements,
    state: &mut BatchState,
    inspection: &InspectionRecord,
    payload: &str,
) -> StoreResult<InspectionOutcome> {
    let row = tx
        .query_opt(&statements.inspected_declaration, &[&inspection.declaration_id])
        .await
        .ctx("read inspected declaration")?
        .ok_or(StoreError::NotFound)?;
    let declarant: String = row.try_get(0).ctx("read inspected declaration")?;
    let reference: String = row.try_get(1).ctx("read inspected declaration")?;
    let mut head = state.head.clone();
    let event = head.next(
        inspection.recorded_at,
        backend::INSPECTION_RECORDED,
        backend::declaration_subject(&declarant, &reference),
        payload.to_owned(),
    );
    let inserted = tx
        .query_opt(
            &statements.record_inspection,
            &[
                &inspection.declaration_id,
                &inspection.outcome,
                &inspection.body_json,
                &inspection.body_sha256,
                &inspection.recorded_by,
                &to_micros(inspection.recorded_at),
                &event.seq,
                &event.kind,
                &event.subject,
                &event.payload_json,
                &event.prev_hash,
                &event.hash,
            ],
        )
        .await
        .ctx("insert inspection")?;
    if inserted.is_none() {
        let row = tx.query_opt(&statements.inspection, &[&inspection.declaration_id]).await.ctx("read inspection")?;
        let existing = row.as_ref().map(inspection_from_row).transpose()?.ok_or_else(|| {
            StoreError::Backend("postgres: inspection conflicts but the first record is missing".into())
        })?;
        return Ok(backend::classify_inspection(existing, &inspection.body_sha256));
    }
    state.head = head;
    Ok(InspectionOutcome::Created(inspection.clone()))
}

#[allow(clippy::too_many_arguments)]
async fn append_policy_rows(
    tx: &Transaction<'_>,
    statements: &Statements,
    state: &mut BatchState,
    rows: &[PolicyRow],
    author: &str,
    recorded_at: DateTime<Utc>,
    subject: &str,
    payload: &str,
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let first_id = state.next_policy_row_id;
    let count = i64::try_from(rows.len()).map_err(|_| StoreError::Backend("postgres: too many policy rows".into()))?;
    let ids: Vec<i64> = (first_id..first_id + count).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    let effective: Vec<chrono::NaiveDate> = rows.iter().map(|r| r.effective_from).collect();
    let bodies: Vec<&str> = rows.iter().map(|r| r.body_json.as_str()).collect();
    let mut head = state.head.clone();
    let event = head.next(recorded_at, backend::POLICY_ROWS_APPENDED, subject.to_owned(), payload.to_owned());
    tx.execute(
        &statements.policy,
        &[
            &ids,
            &kinds,
            &keys,
            &effective,
            &bodies,
            &author,
            &to_micros(recorded_at),
            &event.seq,
            &event.kind,
            &event.subject,
            &event.payload_json,
            &event.prev_hash,
            &event.hash,
        ],
    )
    .await
    .ctx("insert policy rows")?;
    state.head = head;
    state.next_policy_row_id = first_id + count;
    Ok(())
}

/// Records a ledger document with its items, accounts and transfers and its `ledger.document_recorded` event:
/// one statement per table (`unnest` arrays, in the order of the document's vectors), pipelined. A key
/// recorded already gets the first document back, as a repeat or a conflict, and nothing is written.
async fn record_ledger_document(
    tx: &Transaction<'_>,
    statements: &Statements,
    state: &mut BatchState,
    prepared: &PreparedLedgerDocument,
) -> StoreResult<LedgerDocumentOutcome> {
    let PreparedLedgerDocument { document: d, event } = prepared;
    let existing = |row: Option<tokio_postgres::Row>| -> StoreResult<LedgerDocumentOutcome> {
        let existing = row.as_ref().map(ledger_document_from_row).transpose()?.ok_or_else(|| {
            StoreError::Backend("postgres: ledger document key conflicts but the first record is missing".into())
        })?;
        Ok(backend::classify_ledger_document(existing, &d.body_sha256))
    };
    let key: [&(dyn ToSql + Sync); 3] = [&d.enterprise, &d.kind, &d.number];
    let row = tx.query_opt(&statements.ledger_document, &key).await.ctx("read ledger document")?;
    if row.is_some() {
        return existing(row);
    }
    let transfer_count = d.transfers.len() as i64;
    let inserted = tx
        .query_opt(
            &statements.insert_ledger_document,
            &[
                &d.enterprise,
                &d.kind,
                &d.number,
                &d.body_json,
                &d.body_sha256,
                &d.result_json,
                &d.recorded_by,
                &to_micros(d.recorded_at),
                &transfer_count,
            ],
        )
        .await
        .ctx("insert ledger document")?;
    let Some(inserted) = inserted else {
        let row = tx.query_opt(&statements.ledger_document, &key).await.ctx("read ledger document")?;
        return existing(row);
    };
    let seq: i64 = inserted.try_get(0).ctx("read ledger document seq")?;
    let mut head = state.head.clone();
    let event = head.next(d.recorded_at, backend::LEDGER_DOCUMENT_RECORDED, event.subject.clone(), event.payload(seq));

    let item_text = |f: fn(&zonegate_ledger::LedgerItem) -> &str| d.items.iter().map(f).collect::<Vec<&str>>();
    let item_enterprises = item_text(|i| &i.key.enterprise_uscc);
    let item_numbers = item_text(|i| &i.key.item_no);
    let hs_codes = item_text(|i| &i.hs_code);
    let units = item_text(|i| &i.unit);
    let scales: Vec<i16> = d.items.iter().map(|i| i16::from(i.quantity_scale)).collect();
    let treatments = item_text(|i| backend::treatment_text(i.treatment));

    let account_ids: Vec<[u8; 16]> = d.accounts.iter().map(|a| backend::ledger_id_bytes(a.id.0)).collect();
    let account_ids: Vec<&[u8]> = account_ids.iter().map(|id| &id[..]).collect();
    let account_text = |f: fn(&zonegate_ledger::Account) -> &str| d.accounts.iter().map(f).collect::<Vec<&str>>();
    let account_enterprises = account_text(|a| &a.ledger.enterprise_uscc);
    let account_items = account_text(|a| &a.ledger.item_no);
    let account_kinds = account_text(|a| backend::account_kind_text(a.kind));
    let account_flags: Vec<i32> = d.accounts.iter().map(|a| backend::account_flags_bits(a.flags)).collect();

    let n = d.transfers.len();
    let (mut ids, mut debits, mut credits, mut pending_ids) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut quantities, mut values, mut codes, mut references, mut timestamps, mut flags) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for t in &d.transfers {
        ids.push(backend::ledger_id_bytes(t.id.0));
        debits.push(backend::ledger_id_bytes(t.debit_account_id.0));
        credits.push(backend::ledger_id_bytes(t.credit_account_id.0));
        pending_ids.push(t.pending_id.map(|id| backend::ledger_id_bytes(id.0)));
        quantities.push(backend::ledger_amount(t.quantity, "quantity")?);
        values.push(backend::ledger_amount(t.value_fen, "value_fen")?);
        codes.push(backend::transfer_code_text(t.code));
        references.push(t.reference.as_str());
        timestamps.push(to_micros(t.timestamp));
        flags.push(backend::transfer_flags_bits(t.flags));
    }
    fn slices(ids: &[[u8; 16]]) -> Vec<&[u8]> {
        ids.iter().map(|id| &id[..]).collect()
    }
    let (ids, debits, credits) = (slices(&ids), slices(&debits), slices(&credits));
    let pending_ids: Vec<Option<&[u8]>> = pending_ids.iter().map(|id| id.as_ref().map(|id| &id[..])).collect();
    let event_at = to_micros(event.recorded_at);
    let event_params: [&(dyn ToSql + Sync); 7] =
        [&event.seq, &event_at, &event.kind, &event.subject, &event.payload_json, &event.prev_hash, &event.hash];

    // Pipelined: four statements, one round trip.
    let (items, accounts, transfers, appended) = tokio::join!(
        biased;
        async {
            if d.items.is_empty() {
                return Ok(0);
            }
            tx.execute(
                &statements.insert_ledger_items,
                &[&item_enterprises, &item_numbers, &hs_codes, &units, &scales, &treatments, &seq],
            )
            .await
        },
        async {
            if d.accounts.is_empty() {
                return Ok(0);
            }
            tx.execute(
                &statements.insert_ledger_accounts,
                &[&account_ids, &account_enterprises, &account_items, &account_kinds, &account_flags, &seq],
            )
            .await
        },
        async {
            if d.transfers.is_empty() {
                return Ok(0);
            }
            tx.execute(
                &statements.insert_ledger_transfers,
                &[
                    &ids,
                    &debits,
                    &credits,
                    &quantities,
                    &values,
                    &pending_ids,
                    &codes,
                    &references,
                    &timestamps,
                    &flags,
                    &seq,
                ],
            )
            .await
        },
        tx.execute(&statements.insert_event, &event_params),
    );
    items.ctx("insert ledger items")?;
    accounts.ctx("insert ledger accounts")?;
    transfers.ctx("insert ledger transfers")?;
    appended.ctx("insert ledger document event")?;
    state.head = head;
    Ok(LedgerDocumentOutcome::Created(backend::stored_ledger_document(seq, d)))
}

/// Appends a batch to the e-commerce log with its `cbec.batch_recorded` event, if the log is where the batch
/// expects it: `max(seq)` is read inside the transaction, after the writer's advisory lock, so it sees every
/// batch committed before, by this process or another that takes the lock (all `PgStore`s do; a process
/// writing `cbec_log` without the lock could race the check, and the primary key would then fail one of
/// the two). The rows go in by binary COPY (by one `unnest` insert for a few). A (kind, key) recorded
/// already fails the request, naming them; the writer then rolls back this request alone.
async fn record_cbec(
    tx: &Transaction<'_>,
    statements: &Statements,
    state: &mut BatchState,
    prepared: &PreparedCbecBatch,
) -> StoreResult<CbecCommitted> {
    let PreparedCbecBatch { batch, event } = prepared;
    let row = tx.query_one(&statements.cbec_last_seq, &[]).await.ctx("read cbec log end")?;
    let last: i64 = row.try_get(0).ctx("read cbec log end")?;
    if last != batch.after_seq {
        return Err(backend::cbec_log_moved(last, batch.after_seq));
    }
    let records = &batch.records;
    let inserted = if records.len() > CBEC_COPY_FROM {
        let copy = async {
            let sink = tx.copy_in(&statements.copy_cbec).await?;
            let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &CBEC_TYPES));
            for r in records {
                let recorded_at_us = to_micros(r.recorded_at);
                writer.as_mut().write(&cbec_columns(r, &recorded_at_us)).await?;
            }
            writer.finish().await
        };
        copy.await
    } else {
        let seqs: Vec<i64> = records.iter().map(|r| r.seq).collect();
        let text = |f: fn(&CbecRecord) -> &str| records.iter().map(f).collect::<Vec<&str>>();
        let (kinds, keys, orders) = (text(|r| &r.kind), text(|r| &r.key), text(|r| &r.order_key));
        let (hashes, bodies, authors) = (text(|r| &r.body_sha256), text(|r| &r.body_json), text(|r| &r.recorded_by));
        let times: Vec<i64> = records.iter().map(|r| to_micros(r.recorded_at)).collect();
        tx.execute(&statements.insert_cbec, &[&seqs, &kinds, &keys, &orders, &hashes, &bodies, &authors, &times]).await
    };
    if let Err(e) = inserted {
        return Err(cbec_insert_failure(&e, records));
    }
    let mut head = state.head.clone();
    let event =
        head.next(event.recorded_at, backend::CBEC_BATCH_RECORDED, event.subject.clone(), event.payload.clone());
    let event_at = to_micros(event.recorded_at);
    tx.execute(
        &statements.insert_event,
        &[&event.seq, &event_at, &event.kind, &event.subject, &event.payload_json, &event.prev_hash, &event.hash],
    )
    .await
    .ctx("insert cbec batch event")?;
    state.head = head;
    Ok(prepared.event.committed())
}

/// The error of a failed cbec insert: a (kind, key) recorded already is named (found by matching the
/// server's detail against the batch's records); anything else is described as it came.
fn cbec_insert_failure(e: &tokio_postgres::Error, records: &[CbecRecord]) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == tokio_postgres::error::SqlState::UNIQUE_VIOLATION && db.constraint() == Some("cbec_log_key") {
            if let Some(detail) = db.detail() {
                let named = records
                    .iter()
                    .find(|r| detail == format!("Key (kind, key)=({}, {}) already exists.", r.kind, r.key));
                if let Some(r) = named {
                    return backend::cbec_duplicate(&r.kind, &r.key);
                }
            }
            return StoreError::Backend(format!("cbec record exists already: {}", crate::error::describe(e)));
        }
    }
    StoreError::Backend(format!("postgres: insert cbec records: {}", crate::error::describe(e)))
}
