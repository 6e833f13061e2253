//! The SQL of the SQLite backend: each store operation as a plain function over a `&Connection`, so the
//! writer thread and the read pool can run them wherever they hold a connection.
//!
//! Write functions run inside the writer's batch transaction (each within its own savepoint) and append
//! their event through the [`ChainHead`] the writer keeps for the batch.

use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};
use zonegate_ledger::{Account, AccountId, LedgerItem, LedgerKey};
use zonegate_store::backend::{
    self, classify, date_from_days, date_to_days, from_micros, stored_from_new, to_micros, CbecBatchEvent, ChainHead,
    ChainVerifier, DeclarationEvent, LedgerDocumentEvent,
};
use zonegate_store::{
    AccountRecord, CbecCommitted, CbecRecord, ChainReport, DailyFlow, DeclarantHistory, DeclarationFilter,
    DeclarationStats, Event, InspectionOutcome, InspectionRecord, LedgerDocumentOutcome, LedgerLog, NewCbecBatch,
    NewDeclaration, NewLedgerDocument, Page, PartyRecord, PolicyRow, Revocation, SessionRecord, StatsQuery, StoreError,
    StoreResult, StoredDeclaration, StoredLedgerDocument, SubmitOutcome, TokenRecord,
};

/// Adds what was being done to a driver error.
pub(crate) trait Context<T> {
    fn ctx(self, what: &str) -> StoreResult<T>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn ctx(self, what: &str) -> StoreResult<T> {
        self.map_err(|e| StoreError::Backend(format!("sqlite: {what}: {e}")))
    }
}

/// Runs a statement without results through the statement cache.
pub(crate) fn exec(conn: &Connection, sql: &str) -> StoreResult<()> {
    conn.prepare_cached(sql).and_then(|mut stmt| stmt.execute([])).map(drop).ctx(sql)
}

// ---------------------------------------------------------------------------------------------------------
// Declarations

/// `SELECT <every declaration column> FROM declarations <rest>`, as a literal.
macro_rules! concat_declaration_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, declarant, reference, zone, flow, declared_on_days, treatments_json, channel, payable_fen, \
             document_sha256, document_lz4, assessment_lz4, recorded_at_us, waived_fen, submitted_by, received_at_us \
             FROM declarations d ",
            $rest
        )
    };
}

/// A declaration ready for the writer: everything that can be computed off the writer thread already is.
pub(crate) struct PreparedDeclaration {
    pub declaration: NewDeclaration,
    pub treatments_json: String,
    /// The document and assessment JSON, LZ4-compressed: rows a third the size make group commits write
    /// a third of the bytes, which is what bounds throughput on this disk.
    pub document_lz4: Vec<u8>,
    pub assessment_lz4: Vec<u8>,
    pub event: DeclarationEvent,
}

/// Largest JSON text a stored blob may expand to; a larger size prefix means the blob is corrupt.
const JSON_BYTES_MAX: usize = 64 * 1024 * 1024;

pub(crate) fn compress(text: &str) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(text.as_bytes())
}

/// Bodies shorter than this are stored as one LZ4 literal run instead of being compressed: e-commerce
/// documents of a few hundred bytes shrink by 0–5 % under LZ4 (a waybill grows), so compressing them
/// costs time and saves nothing. Both are LZ4 blocks that [`decompress`] reads alike.
const LITERAL_BELOW: usize = 1024;

/// Appends `bytes` as an LZ4 block of one literal run (no matches): the token (length in its high nibble,
/// 15 meaning more length bytes follow), the length bytes (255 each, then the rest), then the bytes.
fn append_literal_block(bytes: &[u8], out: &mut Vec<u8>) {
    let length = bytes.len();
    if length < 15 {
        out.push((length as u8) << 4);
    } else {
        out.push(0xF0);
        let mut rest = length - 15;
        while rest >= 255 {
            out.push(255);
            rest -= 255;
        }
        out.push(rest as u8);
    }
    out.extend_from_slice(bytes);
}

pub(crate) fn decompress(blob: &[u8], what: &str) -> StoreResult<String> {
    let size = blob.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    if size.is_none_or(|size| size > JSON_BYTES_MAX) {
        return Err(StoreError::Backend(format!("{what}: stored blob has an impossible size")));
    }
    let bytes = lz4_flex::block::decompress_size_prepended(blob)
        .map_err(|e| StoreError::Backend(format!("{what}: stored blob cannot be decompressed: {e}")))?;
    String::from_utf8(bytes).map_err(|e| StoreError::Backend(format!("{what}: stored text is not UTF-8: {e}")))
}

impl PreparedDeclaration {
    pub(crate) fn new(declaration: NewDeclaration) -> StoreResult<Self> {
        let declaration = backend::declaration_as_stored(declaration)?;
        let treatments_json = serde_json::to_string(&declaration.treatments)
            .map_err(|e| StoreError::Backend(format!("encode treatments: {e}")))?;
        let event = DeclarationEvent::new(&declaration);
        let document_lz4 = compress(&declaration.document_json);
        let assessment_lz4 = compress(&declaration.assessment_json);
        Ok(PreparedDeclaration { declaration, treatments_json, document_lz4, assessment_lz4, event })
    }
}

fn declaration_from_row(row: &Row<'_>) -> rusqlite::Result<StoreResult<StoredDeclaration>> {
    let treatments_json: String = row.get(6)?;
    let days: i64 = row.get(5)?;
    let micros: i64 = row.get(12)?;
    // Declarations recorded before migration 2 have no reception time: they were received when recorded.
    let received_micros: i64 = row.get::<_, Option<i64>>(15)?.unwrap_or(micros);
    let (id, declarant, reference, zone, flow) = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
    let (channel, payable_fen, document_sha256) = (row.get(7)?, row.get(8)?, row.get(9)?);
    let (waived_fen, submitted_by) = (row.get(13)?, row.get(14)?);
    let (document_lz4, assessment_lz4): (Vec<u8>, Vec<u8>) = (row.get(10)?, row.get(11)?);
    Ok((|| {
        let document_json = decompress(&document_lz4, &format!("declaration {id} document"))?;
        let assessment_json = decompress(&assessment_lz4, &format!("declaration {id} assessment"))?;
        Ok(StoredDeclaration {
            id,
            declarant,
            reference,
            zone,
            flow,
            declared_on: date_from_days(days)?,
            treatments: serde_json::from_str(&treatments_json)
                .map_err(|e| StoreError::Backend(format!("declaration {id}: stored treatments: {e}")))?,
            channel,
            payable_fen,
            document_sha256,
            document_json,
            assessment_json,
            waived_fen,
            submitted_by,
            received_at: from_micros(received_micros)?,
            recorded_at: from_micros(micros)?,
        })
    })())
}

fn declaration_where(
    conn: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> StoreResult<Option<StoredDeclaration>> {
    let mut stmt = conn.prepare_cached(sql).ctx("prepare declaration lookup")?;
    stmt.query_row(params, declaration_from_row).optional().ctx("read declaration")?.transpose()
}

pub(crate) fn get_declaration(conn: &Connection, id: i64) -> StoreResult<StoredDeclaration> {
    const SQL: &str = concat_declaration_select!("WHERE id = ?1");
    declaration_where(conn, SQL, &[&id])?.ok_or(StoreError::NotFound)
}

fn find_by_key(conn: &Connection, declarant: &str, reference: &str) -> StoreResult<Option<StoredDeclaration>> {
    const SQL: &str = concat_declaration_select!("WHERE declarant = ?1 AND reference = ?2");
    declaration_where(conn, SQL, &[&declarant, &reference])
}

pub(crate) fn find_declaration(conn: &Connection, declarant: &str, reference: &str) -> StoreResult<StoredDeclaration> {
    find_by_key(conn, declarant, reference)?.ok_or(StoreError::NotFound)
}

pub(crate) fn list_declarations(conn: &Connection, filter: &DeclarationFilter) -> StoreResult<Page<StoredDeclaration>> {
    let limit = backend::clamp_limit(filter.limit);
    let mut sql = concat_declaration_select!("WHERE d.id > ?1").to_owned();
    let mut values = vec![Value::Integer(filter.after.unwrap_or(i64::MIN))];
    let mut condition = |sql_part: &str, value: Value| {
        values.push(value);
        sql.push_str(&sql_part.replace('?', &format!("?{}", values.len())));
    };
    if let Some(flow) = &filter.flow {
        condition(" AND d.flow = ?", Value::Text(flow.clone()));
    }
    if let Some(declarant) = &filter.declarant {
        condition(" AND d.declarant = ?", Value::Text(declarant.clone()));
    }
    if let Some(from) = filter.declared_from {
        condition(" AND d.declared_on_days >= ?", Value::Integer(date_to_days(from)));
    }
    if let Some(to) = filter.declared_to {
        condition(" AND d.declared_on_days <= ?", Value::Integer(date_to_days(to)));
    }
    if let Some(treatment) = &filter.treatment {
        condition(
            " AND EXISTS (SELECT 1 FROM declaration_treatments t WHERE t.treatment = ? AND t.declaration_id = d.id)",
            Value::Text(treatment.clone()),
        );
    }
    // One row more than the page tells whether another page exists.
    condition(" ORDER BY d.id LIMIT ?", Value::Integer(i64::from(limit) + 1));

    let mut stmt = conn.prepare_cached(&sql).ctx("prepare declaration listing")?;
    let rows = stmt.query_map(rusqlite::params_from_iter(values), declaration_from_row).ctx("list declarations")?;
    let mut items = Vec::new();
    for row in rows {
        items.push(row.ctx("list declarations")??);
    }
    let next_after = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|d| d.id)
    } else {
        None
    };
    Ok(Page { items, next_after })
}

/// Records a declaration unless its key is taken. The writer's single thread makes this race-free; the
/// UNIQUE constraint does the check (`ON CONFLICT DO NOTHING`), and a declaration that was not inserted is
/// looked up and classified.
/// What [`submit`] did; the caller builds the [`SubmitOutcome`] (moving, not copying, a created document).
pub(crate) enum Recorded {
    Created(i64),
    /// Boxed: an outcome carries a whole declaration, and this is the rare case.
    Existing(Box<SubmitOutcome>),
}

impl Recorded {
    pub(crate) fn into_outcome(self, prepared: std::sync::Arc<PreparedDeclaration>) -> SubmitOutcome {
        match self {
            Recorded::Existing(outcome) => *outcome,
            Recorded::Created(id) => {
                let declaration = match std::sync::Arc::try_unwrap(prepared) {
                    Ok(prepared) => prepared.declaration,
                    Err(shared) => shared.declaration.clone(),
                };
                SubmitOutcome::Created(stored_from_new(id, declaration))
            }
        }
    }
}

pub(crate) fn submit(conn: &Connection, head: &mut ChainHead, prepared: &PreparedDeclaration) -> StoreResult<Recorded> {
    let PreparedDeclaration { declaration: d, treatments_json, document_lz4, assessment_lz4, event } = prepared;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO declarations (declarant, reference, zone, flow, declared_on_days, treatments_json, channel, \
             payable_fen, document_sha256, document_lz4, assessment_lz4, recorded_at_us, waived_fen, submitted_by, \
             received_at_us) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
             ON CONFLICT (declarant, reference) DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                d.declarant,
                d.reference,
                d.zone,
                d.flow,
                date_to_days(d.declared_on),
                treatments_json,
                d.channel,
                d.payable_fen,
                d.document_sha256,
                document_lz4,
                assessment_lz4,
                to_micros(d.recorded_at),
                d.waived_fen,
                d.submitted_by,
                to_micros(d.received_at),
            ])
        })
        .ctx("insert declaration")?;
    if inserted == 0 {
        let existing = find_by_key(conn, &d.declarant, &d.reference)?.ok_or_else(|| {
            StoreError::Backend("sqlite: declaration key conflicts but the first record is missing".into())
        })?;
        return Ok(Recorded::Existing(Box::new(classify(existing, &d.document_sha256))));
    }
    let id = conn.last_insert_rowid();
    if !d.treatments.is_empty() {
        let mut stmt = conn
            .prepare_cached("INSERT OR IGNORE INTO declaration_treatments (treatment, declaration_id) VALUES (?1, ?2)")
            .ctx("prepare treatment insert")?;
        for treatment in &d.treatments {
            stmt.execute(params![treatment, id]).ctx("insert treatment")?;
        }
    }
    let event = head.next(d.recorded_at, backend::DECLARATION_RECORDED, event.subject.clone(), event.payload(id));
    insert_event(conn, &event)?;
    Ok(Recorded::Created(id))
}

// ---------------------------------------------------------------------------------------------------------
// Parties

const PARTY_SELECT: &str = "SELECT p.uscc, p.name, p.body_json, p.recorded_by, p.recorded_at_us \
     FROM party_current c JOIN parties p ON p.version = c.version";

fn party_from_row(row: &Row<'_>) -> rusqlite::Result<StoreResult<PartyRecord>> {
    let (uscc, name, body_json, recorded_by) = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
    let micros: i64 = row.get(4)?;
    Ok(from_micros(micros).map(|recorded_at| PartyRecord { uscc, name, body_json, recorded_by, recorded_at }))
}

pub(crate) fn put_party(
    conn: &Connection,
    head: &mut ChainHead,
    party: &PartyRecord,
    payload: &str,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO parties (uscc, name, body_json, recorded_by, recorded_at_us) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![party.uscc, party.name, party.body_json, party.recorded_by, to_micros(party.recorded_at)])
    })
    .ctx("insert party")?;
    let version = conn.last_insert_rowid();
    conn.prepare_cached(
        "INSERT INTO party_current (uscc, version) VALUES (?1, ?2) \
         ON CONFLICT (uscc) DO UPDATE SET version = excluded.version",
    )
    .and_then(|mut stmt| stmt.execute(params![party.uscc, version]))
    .ctx("update current party")?;
    let event = head.next(party.recorded_at, backend::PARTY_RECORDED, party.uscc.clone(), payload.to_owned());
    insert_event(conn, &event)
}

pub(crate) fn get_party(conn: &Connection, uscc: &str) -> StoreResult<PartyRecord> {
    let mut stmt = conn.prepare_cached(&format!("{PARTY_SELECT} WHERE c.uscc = ?1")).ctx("prepare party lookup")?;
    stmt.query_row([uscc], party_from_row).optional().ctx("read party")?.transpose()?.ok_or(StoreError::NotFound)
}

pub(crate) fn list_parties(conn: &Connection, after: Option<&str>, limit: u32) -> StoreResult<Vec<PartyRecord>> {
    let limit = i64::from(backend::clamp_limit(limit));
    let rows = match after {
        Some(after) => {
            let mut stmt = conn
                .prepare_cached(&format!("{PARTY_SELECT} WHERE c.uscc > ?1 ORDER BY c.uscc LIMIT ?2"))
                .ctx("prepare party listing")?;
            let rows = stmt.query_map(params![after, limit], party_from_row).ctx("list parties")?;
            rows.collect::<Result<Vec<_>, _>>()
        }
        None => {
            let mut stmt = conn
                .prepare_cached(&format!("{PARTY_SELECT} ORDER BY c.uscc LIMIT ?1"))
                .ctx("prepare party listing")?;
            let rows = stmt.query_map(params![limit], party_from_row).ctx("list parties")?;
            rows.collect::<Result<Vec<_>, _>>()
        }
    };
    rows.ctx("list parties")?.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------------------
// Policy rows

pub(crate) fn append_policy_rows(
    conn: &Connection,
    head: &mut ChainHead,
    rows: &[PolicyRow],
    subject: &str,
    payload: &str,
) -> StoreResult<()> {
    let Some(first) = rows.first() else { return Ok(()) };
    let recorded_at = first.recorded_at;
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO policy_rows (kind, key, effective_from_days, body_json, author, recorded_at_us) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .ctx("prepare policy row insert")?;
    for row in rows {
        stmt.execute(params![
            row.kind,
            row.key,
            date_to_days(row.effective_from),
            row.body_json,
            row.author,
            to_micros(row.recorded_at)
        ])
        .ctx("insert policy row")?;
    }
    let event = head.next(recorded_at, backend::POLICY_ROWS_APPENDED, subject.to_owned(), payload.to_owned());
    insert_event(conn, &event)
}

pub(crate) fn policy_rows(conn: &Connection, kind: &str) -> StoreResult<Vec<PolicyRow>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT kind, key, effective_from_days, body_json, author, recorded_at_us \
             FROM policy_rows WHERE kind = ?1 ORDER BY id",
        )
        .ctx("prepare policy rows")?;
    let rows = stmt
        .query_map([kind], |row| {
            let (kind, key, days, body_json, author, micros) =
                (row.get(0)?, row.get(1)?, row.get::<_, i64>(2)?, row.get(3)?, row.get(4)?, row.get::<_, i64>(5)?);
            Ok((|| {
                Ok(PolicyRow {
                    kind,
                    key,
                    effective_from: date_from_days(days)?,
                    body_json,
                    author,
                    recorded_at: from_micros(micros)?,
                })
            })())
        })
        .ctx("read policy rows")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read policy rows")?.into_iter().collect()
}

pub(crate) fn policy_row_count(conn: &Connection) -> StoreResult<i64> {
    conn.prepare_cached("SELECT count(*) FROM policy_rows")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
        .ctx("count policy rows")
}

// ---------------------------------------------------------------------------------------------------------
// Statistics

/// A query over the declarations a statistics query selects, read from the covering `declarations_stats`
/// index alone (never from the table rows with their documents), in (day, flow) order: `?1..=?4` are the
/// inclusive range and the optional zone and declarant; `$join` may join `d` to other tables.
macro_rules! stats_query {
    ($columns:literal, $join:literal, $rest:literal) => {
        concat!(
            "SELECT ",
            $columns,
            " FROM declarations d INDEXED BY declarations_stats ",
            $join,
            " WHERE d.declared_on_days BETWEEN ?1 AND ?2 AND (?3 IS NULL OR d.zone = ?3) \
             AND (?4 IS NULL OR d.declarant = ?4) ",
            $rest
        )
    };
}

/// The statistics, in one read transaction so that the three queries see the same declarations: the daily
/// rows grouped as the index streams them, the treatments joined by declaration id, and the latencies,
/// whose percentiles are taken here with [`backend::nearest_rank`] (sorting 100,000 integers in process
/// costs a fraction of ranking them in SQL).
pub(crate) fn declaration_stats(conn: &Connection, query: &StatsQuery) -> StoreResult<DeclarationStats> {
    const DAILY: &str = stats_query!(
        "d.declared_on_days, d.flow, count(*), sum(d.payable_fen), sum(d.waived_fen)",
        "",
        "GROUP BY d.declared_on_days, d.flow"
    );
    const TREATMENTS: &str = stats_query!(
        "t.treatment, count(*)",
        "CROSS JOIN declaration_treatments t INDEXED BY declaration_treatments_declaration \
         ON t.declaration_id = d.id",
        "GROUP BY t.treatment"
    );
    const LATENCIES: &str = stats_query!("d.recorded_at_us - coalesce(d.received_at_us, d.recorded_at_us)", "", "");
    let what = "read statistics";
    let selection =
        params![date_to_days(query.declared_from), date_to_days(query.declared_to), query.zone, query.declarant];
    // Dropped at the end: a read transaction has nothing to commit.
    let snapshot = conn.unchecked_transaction().ctx("begin statistics snapshot")?;
    let mut stats = DeclarationStats::default();

    let mut stmt = snapshot.prepare_cached(DAILY).ctx("prepare daily statistics")?;
    let mut rows = stmt.query(selection).ctx(what)?;
    while let Some(row) = rows.next().ctx(what)? {
        stats.daily.push(DailyFlow {
            day: date_from_days(row.get(0).ctx(what)?)?,
            flow: row.get(1).ctx(what)?,
            declarations: row.get(2).ctx(what)?,
            payable_fen: row.get(3).ctx(what)?,
            waived_fen: row.get(4).ctx(what)?,
        });
    }
    drop(rows);

    let mut stmt = snapshot.prepare_cached(TREATMENTS).ctx("prepare treatment statistics")?;
    let rows = stmt.query_map(selection, |row| Ok((row.get(0)?, row.get(1)?))).ctx(what)?;
    stats.treatments = rows.collect::<Result<_, _>>().ctx(what)?;

    let mut latencies: Vec<i64> = Vec::with_capacity(stats.daily.iter().map(|d| d.declarations as usize).sum());
    let mut stmt = snapshot.prepare_cached(LATENCIES).ctx("prepare latency statistics")?;
    let mut rows = stmt.query(selection).ctx(what)?;
    while let Some(row) = rows.next().ctx(what)? {
        latencies.push(row.get(0).ctx(what)?);
    }
    latencies.sort_unstable();
    let [p50, p90] = backend::STATS_PERCENTILES;
    stats.decision_us_p50 = backend::nearest_rank(&latencies, p50);
    stats.decision_us_p90 = backend::nearest_rank(&latencies, p90);

    // SQLite's text order is bytewise, as the contract wants; sorting again keeps that independent of plans.
    stats.daily.sort_by(|a, b| (a.day, &a.flow).cmp(&(b.day, &b.flow)));
    stats.treatments.sort();
    Ok(stats)
}

// ---------------------------------------------------------------------------------------------------------
// Accounts

/// `roles` as stored in `accounts.roles_json`.
pub(crate) fn encode_roles(roles: &[String]) -> StoreResult<String> {
    serde_json::to_string(roles).map_err(|e| StoreError::Backend(format!("encode roles: {e}")))
}

const ACCOUNT_SELECT: &str = "SELECT a.user_id, a.party, a.party_kind, a.roles_json, a.password_hash, \
     a.personal_json, a.active, a.recorded_by, a.recorded_at_us \
     FROM account_current c JOIN accounts a ON a.version = c.version";

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<StoreResult<AccountRecord>> {
    let (user_id, party, party_kind) = (row.get::<_, String>(0)?, row.get(1)?, row.get(2)?);
    let (roles_json, password_hash, personal_json) = (row.get::<_, String>(3)?, row.get(4)?, row.get(5)?);
    let (active, recorded_by, micros) = (row.get(6)?, row.get(7)?, row.get::<_, i64>(8)?);
    Ok((|| {
        Ok(AccountRecord {
            roles: serde_json::from_str(&roles_json)
                .map_err(|e| StoreError::Backend(format!("account `{user_id}`: stored roles: {e}")))?,
            user_id,
            party,
            party_kind,
            password_hash,
            personal_json,
            active,
            recorded_by,
            recorded_at: from_micros(micros)?,
        })
    })())
}

pub(crate) fn put_account(
    conn: &Connection,
    head: &mut ChainHead,
    account: &AccountRecord,
    roles_json: &str,
    payload: &str,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO accounts (user_id, party, party_kind, roles_json, password_hash, personal_json, active, \
         recorded_by, recorded_at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            account.user_id,
            account.party,
            account.party_kind,
            roles_json,
            account.password_hash,
            account.personal_json,
            account.active,
            account.recorded_by,
            to_micros(account.recorded_at)
        ])
    })
    .ctx("insert account")?;
    let version = conn.last_insert_rowid();
    conn.prepare_cached(
        "INSERT INTO account_current (user_id, party, version) VALUES (?1, ?2, ?3) \
         ON CONFLICT (user_id) DO UPDATE SET party = excluded.party, version = excluded.version",
    )
    .and_then(|mut stmt| stmt.execute(params![account.user_id, account.party, version]))
    .ctx("update current account")?;
    let event = head.next(account.recorded_at, backend::ACCOUNT_RECORDED, account.user_id.clone(), payload.to_owned());
    insert_event(conn, &event)
}

pub(crate) fn get_account(conn: &Connection, user_id: &str) -> StoreResult<AccountRecord> {
    let mut stmt =
        conn.prepare_cached(&format!("{ACCOUNT_SELECT} WHERE c.user_id = ?1")).ctx("prepare account lookup")?;
    stmt.query_row([user_id], account_from_row).optional().ctx("read account")?.transpose()?.ok_or(StoreError::NotFound)
}

pub(crate) fn list_accounts(
    conn: &Connection,
    party: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> StoreResult<Vec<AccountRecord>> {
    let mut sql = format!("{ACCOUNT_SELECT} WHERE 1");
    let mut values = Vec::new();
    if let Some(party) = party {
        values.push(Value::Text(party.to_owned()));
        sql.push_str(&format!(" AND c.party = ?{}", values.len()));
    }
    if let Some(after) = after {
        values.push(Value::Text(after.to_owned()));
        sql.push_str(&format!(" AND c.user_id > ?{}", values.len()));
    }
    values.push(Value::Integer(i64::from(backend::clamp_limit(limit))));
    sql.push_str(&format!(" ORDER BY c.user_id LIMIT ?{}", values.len()));
    let mut stmt = conn.prepare_cached(&sql).ctx("prepare account listing")?;
    let rows = stmt.query_map(rusqlite::params_from_iter(values), account_from_row).ctx("list accounts")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("list accounts")?.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------------------
// Tokens

const TOKEN_SELECT: &str = "SELECT t.token_id, t.user_id, t.name, t.secret_sha256, t.issued_by, t.issued_at_us, \
     t.expires_at_us, r.revoked_by, r.revoked_at_us \
     FROM tokens t LEFT JOIN token_revocations r ON r.token_id = t.token_id";

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<StoreResult<TokenRecord>> {
    let (token_id, user_id, name, secret_sha256, issued_by) =
        (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
    let (issued_micros, expires_micros) = (row.get::<_, i64>(5)?, row.get::<_, i64>(6)?);
    let (revoked_by, revoked_micros) = (row.get::<_, Option<String>>(7)?, row.get::<_, Option<i64>>(8)?);
    Ok((|| {
        let revoked = match (revoked_by, revoked_micros) {
            (Some(by), Some(micros)) => Some(Revocation { by, at: from_micros(micros)? }),
            _ => None,
        };
        Ok(TokenRecord {
            token_id,
            user_id,
            name,
            secret_sha256,
            issued_by,
            issued_at: from_micros(issued_micros)?,
            expires_at: from_micros(expires_micros)?,
            revoked,
        })
    })())
}

fn find_token(conn: &Connection, token_id: &str) -> StoreResult<Option<TokenRecord>> {
    let mut stmt = conn.prepare_cached(&format!("{TOKEN_SELECT} WHERE t.token_id = ?1")).ctx("prepare token lookup")?;
    stmt.query_row([token_id], token_from_row).optional().ctx("read token")?.transpose()
}

/// Records a token and its `token.issued` event; an id that exists already is refused before anything is
/// written.
pub(crate) fn issue_token(
    conn: &Connection,
    head: &mut ChainHead,
    token: &TokenRecord,
    payload: &str,
) -> StoreResult<()> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO tokens (token_id, user_id, name, secret_sha256, issued_by, issued_at_us, expires_at_us) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (token_id) DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                token.token_id,
                token.user_id,
                token.name,
                token.secret_sha256,
                token.issued_by,
                to_micros(token.issued_at),
                to_micros(token.expires_at)
            ])
        })
        .ctx("insert token")?;
    if inserted == 0 {
        return Err(StoreError::AlreadyExists(format!("token `{}`", token.token_id)));
    }
    let event = head.next(token.issued_at, backend::TOKEN_ISSUED, token.token_id.clone(), payload.to_owned());
    insert_event(conn, &event)
}

/// Revokes a token once: a revoked token is returned as it is, an unknown one is `NotFound`, and in both
/// cases nothing is written.
pub(crate) fn revoke_token(
    conn: &Connection,
    head: &mut ChainHead,
    token_id: &str,
    revocation: &Revocation,
    payload: &str,
) -> StoreResult<TokenRecord> {
    let token = find_token(conn, token_id)?.ok_or(StoreError::NotFound)?;
    if token.revoked.is_some() {
        return Ok(token);
    }
    conn.prepare_cached("INSERT INTO token_revocations (token_id, revoked_by, revoked_at_us) VALUES (?1, ?2, ?3)")
        .and_then(|mut stmt| stmt.execute(params![token_id, revocation.by, to_micros(revocation.at)]))
        .ctx("insert token revocation")?;
    let event = head.next(revocation.at, backend::TOKEN_REVOKED, token_id.to_owned(), payload.to_owned());
    insert_event(conn, &event)?;
    Ok(TokenRecord { revoked: Some(revocation.clone()), ..token })
}

pub(crate) fn get_token(conn: &Connection, token_id: &str) -> StoreResult<TokenRecord> {
    find_token(conn, token_id)?.ok_or(StoreError::NotFound)
}

pub(crate) fn list_tokens(conn: &Connection, user_id: Option<&str>) -> StoreResult<Vec<TokenRecord>> {
    let rows = match user_id {
        Some(user_id) => {
            let mut stmt = conn
                .prepare_cached(&format!("{TOKEN_SELECT} WHERE t.user_id = ?1 ORDER BY t.id"))
                .ctx("prepare token listing")?;
            let rows = stmt.query_map([user_id], token_from_row).ctx("list tokens")?;
            rows.collect::<Result<Vec<_>, _>>()
        }
        None => {
            let mut stmt =
                conn.prepare_cached(&format!("{TOKEN_SELECT} ORDER BY t.id")).ctx("prepare token listing")?;
            let rows = stmt.query_map([], token_from_row).ctx("list tokens")?;
            rows.collect::<Result<Vec<_>, _>>()
        }
    };
    rows.ctx("list tokens")?.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------------------
// Inspections

const INSPECTION_SELECT: &str =
    "SELECT declaration_id, outcome, body_json, body_sha256, recorded_by, recorded_at_us FROM inspections";

fn inspection_from_row(row: &Row<'_>) -> rusqlite::Result<StoreResult<InspectionRecord>> {
    let (declaration_id, outcome, body_json) = (row.get(0)?, row.get(1)?, row.get(2)?);
    let (body_sha256, recorded_by, micros) = (row.get(3)?, row.get(4)?, row.get::<_, i64>(5)?);
    Ok(from_micros(micros).map(|recorded_at| InspectionRecord {
        declaration_id,
        outcome,
        body_json,
        body_sha256,
        recorded_by,
        recorded_at,
    }))
}

fn find_inspection(conn: &Connection, declaration_id: i64) -> StoreResult<Option<InspectionRecord>> {
    let mut stmt = conn
        .prepare_cached(&format!("{INSPECTION_SELECT} WHERE declaration_id = ?1"))
        .ctx("prepare inspection lookup")?;
    stmt.query_row([declaration_id], inspection_from_row).optional().ctx("read inspection")?.transpose()
}

/// Records an inspection and its `inspection.recorded` event under the declaration's subject. An unknown
/// declaration is `NotFound`; a declaration inspected already gets the first inspection back, as a repeat
/// or a conflict; in both cases nothing is written.
pub(crate) fn record_inspection(
    conn: &Connection,
    head: &mut ChainHead,
    inspection: &InspectionRecord,
    payload: &str,
) -> StoreResult<InspectionOutcome> {
    let subject = conn
        .prepare_cached("SELECT declarant, reference FROM declarations WHERE id = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([inspection.declaration_id], |row| {
                Ok(backend::declaration_subject(&row.get::<_, String>(0)?, &row.get::<_, String>(1)?))
            })
            .optional()
        })
        .ctx("read inspected declaration")?
        .ok_or(StoreError::NotFound)?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO inspections (declaration_id, outcome, body_json, body_sha256, recorded_by, recorded_at_us) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (declaration_id) DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                inspection.declaration_id,
                inspection.outcome,
                inspection.body_json,
                inspection.body_sha256,
                inspection.recorded_by,
                to_micros(inspection.recorded_at)
            ])
        })
        .ctx("insert inspection")?;
    if inserted == 0 {
        let existing = find_inspection(conn, inspection.declaration_id)?.ok_or_else(|| {
            StoreError::Backend("sqlite: inspection conflicts but the first record is missing".into())
        })?;
        return Ok(backend::classify_inspection(existing, &inspection.body_sha256));
    }
    let event = head.next(inspection.recorded_at, backend::INSPECTION_RECORDED, subject, payload.to_owned());
    insert_event(conn, &event)?;
    Ok(InspectionOutcome::Created(inspection.clone()))
}

pub(crate) fn get_inspection(conn: &Connection, declaration_id: i64) -> StoreResult<InspectionRecord> {
    find_inspection(conn, declaration_id)?.ok_or(StoreError::NotFound)
}

pub(crate) fn list_inspections(
    conn: &Connection,
    after: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<InspectionRecord>> {
    let mut stmt = conn
        .prepare_cached(&format!("{INSPECTION_SELECT} WHERE declaration_id > ?1 ORDER BY declaration_id LIMIT ?2"))
        .ctx("prepare inspection listing")?;
    let rows = stmt
        .query_map(params![after.unwrap_or(i64::MIN), backend::clamp_limit(limit)], inspection_from_row)
        .ctx("list inspections")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("list inspections")?.into_iter().collect()
}

/// Every declarant's counts in one grouped scan of the declarant index, joined to the inspections by key.
pub(crate) fn declarant_history(conn: &Connection) -> StoreResult<Vec<DeclarantHistory>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT d.declarant, count(*), count(i.declaration_id), \
                    count(CASE WHEN i.outcome = ?1 THEN 1 END) \
             FROM declarations d LEFT JOIN inspections i ON i.declaration_id = d.id \
             GROUP BY d.declarant ORDER BY d.declarant",
        )
        .ctx("prepare declarant history")?;
    let rows = stmt
        .query_map([backend::INSPECTION_FINDING], |row| {
            Ok(DeclarantHistory {
                declarant: row.get(0)?,
                declarations: row.get(1)?,
                inspections: row.get(2)?,
                findings: row.get(3)?,
            })
        })
        .ctx("read declarant history")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read declarant history")
}

// ---------------------------------------------------------------------------------------------------------
// Sessions

/// Records a session (no event); a session hash that exists already is refused before anything is written.
pub(crate) fn start_session(conn: &Connection, session: &SessionRecord) -> StoreResult<()> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO sessions (session_sha256, user_id, started_at_us, expires_at_us) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (session_sha256) DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                session.session_sha256,
                session.user_id,
                to_micros(session.started_at),
                to_micros(session.expires_at)
            ])
        })
        .ctx("insert session")?;
    if inserted == 0 {
        return Err(StoreError::AlreadyExists("session".into()));
    }
    Ok(())
}

/// Ends a started session that has not ended yet; anything else changes nothing.
pub(crate) fn end_session(conn: &Connection, session_sha256: &str, at: i64) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO session_ends (session_sha256, ended_at_us) \
         SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM sessions WHERE session_sha256 = ?1) \
         ON CONFLICT (session_sha256) DO NOTHING",
    )
    .and_then(|mut stmt| stmt.execute(params![session_sha256, at]))
    .map(drop)
    .ctx("end session")
}

pub(crate) fn get_session(conn: &Connection, session_sha256: &str) -> StoreResult<SessionRecord> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT s.session_sha256, s.user_id, s.started_at_us, s.expires_at_us, e.ended_at_us \
             FROM sessions s LEFT JOIN session_ends e ON e.session_sha256 = s.session_sha256 \
             WHERE s.session_sha256 = ?1",
        )
        .ctx("prepare session lookup")?;
    let row = stmt
        .query_row([session_sha256], |row| {
            let (session_sha256, user_id) = (row.get(0)?, row.get(1)?);
            let (started, expires, ended) =
                (row.get::<_, i64>(2)?, row.get::<_, i64>(3)?, row.get::<_, Option<i64>>(4)?);
            Ok((|| {
                Ok(SessionRecord {
                    session_sha256,
                    user_id,
                    started_at: from_micros(started)?,
                    expires_at: from_micros(expires)?,
                    ended_at: ended.map(from_micros).transpose()?,
                })
            })())
        })
        .optional()
        .ctx("read session")?;
    row.transpose()?.ok_or(StoreError::NotFound)
}

// ---------------------------------------------------------------------------------------------------------
// Events

const EVENT_COLUMNS: &str = "seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash";

fn event_from_row(row: &Row<'_>) -> rusqlite::Result<StoreResult<Event>> {
    let (seq, micros) = (row.get(0)?, row.get::<_, i64>(1)?);
    let (kind, subject, payload_json, prev_hash, hash) =
        (row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?);
    Ok(from_micros(micros).map(|recorded_at| Event { seq, recorded_at, kind, subject, payload_json, prev_hash, hash }))
}

fn insert_event(conn: &Connection, event: &Event) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO events (seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            event.seq,
            to_micros(event.recorded_at),
            event.kind,
            event.subject,
            event.payload_json,
            event.prev_hash,
            event.hash
        ])
    })
    .map(drop)
    .ctx("insert event")
}

/// The last event of the chain, read at the start of each write batch.
pub(crate) fn read_head(conn: &Connection) -> StoreResult<ChainHead> {
    conn.prepare_cached("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        .and_then(|mut stmt| stmt.query_row([], |row| Ok(ChainHead { seq: row.get(0)?, hash: row.get(1)? })).optional())
        .ctx("read chain head")
        .map(|head| head.unwrap_or_else(ChainHead::genesis))
}

pub(crate) fn events(conn: &Connection, after: i64, limit: u32) -> StoreResult<Vec<Event>> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"))
        .ctx("prepare events")?;
    let rows = stmt.query_map(params![after, backend::clamp_limit(limit)], event_from_row).ctx("read events")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read events")?.into_iter().collect()
}

/// The events of one subject, ascending by seq.
pub(crate) fn events_for_subject(conn: &Connection, subject: &str, limit: u32) -> StoreResult<Vec<Event>> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE subject = ?1 ORDER BY seq LIMIT ?2"))
        .ctx("prepare subject events")?;
    let rows =
        stmt.query_map(params![subject, backend::clamp_limit(limit)], event_from_row).ctx("read subject events")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read subject events")?.into_iter().collect()
}

/// Walks the whole chain in one read transaction (one consistent snapshot).
pub(crate) fn verify_chain(conn: &Connection) -> StoreResult<ChainReport> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events ORDER BY seq")).ctx("prepare chain walk")?;
    let mut rows = stmt.query([]).ctx("walk chain")?;
    let mut verifier = ChainVerifier::new();
    while let Some(row) = rows.next().ctx("walk chain")? {
        verifier.push(&event_from_row(row).ctx("walk chain")??)?;
    }
    Ok(verifier.finish())
}

// ---------------------------------------------------------------------------------------------------------
// Ledger documents

/// A ledger document ready for the writer: checked, truncated and its event payload hashed already.
pub(crate) struct PreparedLedgerDocument {
    pub document: NewLedgerDocument,
    pub event: LedgerDocumentEvent,
}

impl PreparedLedgerDocument {
    pub(crate) fn new(document: NewLedgerDocument) -> StoreResult<Self> {
        let document = backend::ledger_document_as_stored(document)?;
        let event = LedgerDocumentEvent::new(&document);
        Ok(PreparedLedgerDocument { document, event })
    }
}

const LEDGER_DOCUMENT_SELECT: &str = "SELECT seq, enterprise, kind, number, body_json, body_sha256, result_json, \
     recorded_by, recorded_at_us, transfer_count FROM ledger_documents";

fn ledger_document_from_row(row: &Row<'_>) -> rusqlite::Result<StoreResult<StoredLedgerDocument>> {
    let (seq, enterprise, kind, number, body_json) = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
    let (body_sha256, result_json, recorded_by) = (row.get(5)?, row.get(6)?, row.get(7)?);
    let (micros, transfer_count) = (row.get::<_, i64>(8)?, row.get(9)?);
    Ok(from_micros(micros).map(|recorded_at| StoredLedgerDocument {
        seq,
        enterprise,
        kind,
        number,
        body_json,
        body_sha256,
        result_json,
        recorded_by,
        recorded_at,
        transfer_count,
    }))
}

fn find_ledger_document(
    conn: &Connection,
    enterprise: &str,
    kind: &str,
    number: &str,
) -> StoreResult<Option<StoredLedgerDocument>> {
    let mut stmt = conn
        .prepare_cached(&format!("{LEDGER_DOCUMENT_SELECT} WHERE enterprise = ?1 AND kind = ?2 AND number = ?3"))
        .ctx("prepare ledger document lookup")?;
    stmt.query_row([enterprise, kind, number], ledger_document_from_row)
        .optional()
        .ctx("read ledger document")?
        .transpose()
}

/// Records a ledger document with its items, accounts and transfers (in order) and its
/// `ledger.document_recorded` event. A key recorded already gets the first document back, as a repeat or a
/// conflict, and nothing is written.
pub(crate) fn record_ledger_document(
    conn: &Connection,
    head: &mut ChainHead,
    prepared: &PreparedLedgerDocument,
) -> StoreResult<LedgerDocumentOutcome> {
    let PreparedLedgerDocument { document: d, event } = prepared;
    if let Some(existing) = find_ledger_document(conn, &d.enterprise, &d.kind, &d.number)? {
        return Ok(backend::classify_ledger_document(existing, &d.body_sha256));
    }
    let transfer_count = d.transfers.len() as i64;
    conn.prepare_cached(
        "INSERT INTO ledger_documents (enterprise, kind, number, body_json, body_sha256, result_json, recorded_by, \
         recorded_at_us, transfer_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            d.enterprise,
            d.kind,
            d.number,
            d.body_json,
            d.body_sha256,
            d.result_json,
            d.recorded_by,
            to_micros(d.recorded_at),
            transfer_count
        ])
    })
    .ctx("insert ledger document")?;
    let seq = conn.last_insert_rowid();
    if !d.items.is_empty() {
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO ledger_items (enterprise, item_no, hs_code, unit, quantity_scale, treatment, \
                 document_seq, position) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .ctx("prepare ledger item insert")?;
        for (position, item) in d.items.iter().enumerate() {
            stmt.execute(params![
                item.key.enterprise_uscc,
                item.key.item_no,
                item.hs_code,
                item.unit,
                item.quantity_scale,
                backend::treatment_text(item.treatment),
                seq,
                position as i64
            ])
            .ctx("insert ledger item")?;
        }
    }
    if !d.accounts.is_empty() {
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO ledger_accounts (id, enterprise, item_no, kind, flags, document_seq) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .ctx("prepare ledger account insert")?;
        for account in &d.accounts {
            stmt.execute(params![
                &backend::ledger_id_bytes(account.id.0)[..],
                account.ledger.enterprise_uscc,
                account.ledger.item_no,
                backend::account_kind_text(account.kind),
                backend::account_flags_bits(account.flags),
                seq
            ])
            .ctx("insert ledger account")?;
        }
    }
    if !d.transfers.is_empty() {
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, quantity, value_fen, \
                 pending_id, code, reference, timestamp_us, flags, document_seq) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .ctx("prepare ledger transfer insert")?;
        for t in &d.transfers {
            let pending_id = t.pending_id.map(|id| backend::ledger_id_bytes(id.0));
            stmt.execute(params![
                &backend::ledger_id_bytes(t.id.0)[..],
                &backend::ledger_id_bytes(t.debit_account_id.0)[..],
                &backend::ledger_id_bytes(t.credit_account_id.0)[..],
                backend::ledger_amount(t.quantity, "quantity")?,
                backend::ledger_amount(t.value_fen, "value_fen")?,
                pending_id.as_ref().map(|id| &id[..]),
                backend::transfer_code_text(t.code),
                t.reference,
                to_micros(t.timestamp),
                backend::transfer_flags_bits(t.flags),
                seq
            ])
            .ctx("insert ledger transfer")?;
        }
    }
    let event = head.next(d.recorded_at, backend::LEDGER_DOCUMENT_RECORDED, event.subject.clone(), event.payload(seq));
    insert_event(conn, &event)?;
    Ok(LedgerDocumentOutcome::Created(backend::stored_ledger_document(seq, d)))
}

pub(crate) fn get_ledger_document(
    conn: &Connection,
    enterprise: &str,
    kind: &str,
    number: &str,
) -> StoreResult<StoredLedgerDocument> {
    find_ledger_document(conn, enterprise, kind, number)?.ok_or(StoreError::NotFound)
}

pub(crate) fn list_ledger_documents(
    conn: &Connection,
    enterprise: Option<&str>,
    kind: Option<&str>,
    after: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<StoredLedgerDocument>> {
    let mut sql = format!("{LEDGER_DOCUMENT_SELECT} WHERE seq > ?1");
    let mut values = vec![Value::Integer(after.unwrap_or(i64::MIN))];
    let mut condition = |sql_part: &str, value: Value| {
        values.push(value);
        sql.push_str(&sql_part.replace('?', &format!("?{}", values.len())));
    };
    if let Some(enterprise) = enterprise {
        condition(" AND enterprise = ?", Value::Text(enterprise.to_owned()));
    }
    if let Some(kind) = kind {
        condition(" AND kind = ?", Value::Text(kind.to_owned()));
    }
    condition(" ORDER BY seq LIMIT ?", Value::Integer(i64::from(backend::clamp_limit(limit))));
    let mut stmt = conn.prepare_cached(&sql).ctx("prepare ledger document listing")?;
    let rows =
        stmt.query_map(rusqlite::params_from_iter(values), ledger_document_from_row).ctx("list ledger documents")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("list ledger documents")?.into_iter().collect()
}

/// Every ledger record in recording order, read in one transaction (one consistent snapshot).
pub(crate) fn ledger_log(conn: &Connection) -> StoreResult<LedgerLog> {
    let tx = conn.unchecked_transaction().ctx("begin ledger log read")?;
    let mut log = LedgerLog::default();
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT enterprise, item_no, hs_code, unit, quantity_scale, treatment FROM ledger_items \
                 ORDER BY document_seq, position",
            )
            .ctx("prepare ledger item log")?;
        let mut rows = stmt.query([]).ctx("read ledger items")?;
        while let Some(row) = rows.next().ctx("read ledger items")? {
            let (enterprise, item_no): (String, String) = (row_get(row, 0)?, row_get(row, 1)?);
            let (hs_code, unit) = (row_get(row, 2)?, row_get(row, 3)?);
            let (scale, treatment): (i64, String) = (row_get(row, 4)?, row_get(row, 5)?);
            log.items.push(LedgerItem {
                key: LedgerKey::new(enterprise, item_no),
                hs_code,
                unit,
                quantity_scale: backend::quantity_scale_from_stored(scale)?,
                treatment: backend::treatment_from_text(&treatment)?,
            });
        }
    }
    {
        let mut stmt = tx
            .prepare_cached("SELECT id, enterprise, item_no, kind, flags FROM ledger_accounts ORDER BY seq")
            .ctx("prepare ledger account log")?;
        let mut rows = stmt.query([]).ctx("read ledger accounts")?;
        while let Some(row) = rows.next().ctx("read ledger accounts")? {
            let id: Vec<u8> = row_get(row, 0)?;
            let (enterprise, item_no, kind, flags): (String, String, String, i32) =
                (row_get(row, 1)?, row_get(row, 2)?, row_get(row, 3)?, row_get(row, 4)?);
            log.accounts.push(Account {
                id: AccountId(backend::ledger_id_from_bytes(&id)?),
                ledger: LedgerKey::new(enterprise, item_no),
                kind: backend::account_kind_from_text(&kind)?,
                flags: backend::account_flags_from_bits(flags)?,
            });
        }
    }
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT id, debit_account_id, credit_account_id, quantity, value_fen, pending_id, code, reference, \
                 timestamp_us, flags FROM ledger_transfers ORDER BY seq",
            )
            .ctx("prepare ledger transfer log")?;
        let mut rows = stmt.query([]).ctx("read ledger transfers")?;
        while let Some(row) = rows.next().ctx("read ledger transfers")? {
            let id = row.get_ref(0).and_then(|v| v.as_blob().map_err(Into::into)).ctx("read ledger transfers")?;
            let debit = row.get_ref(1).and_then(|v| v.as_blob().map_err(Into::into)).ctx("read ledger transfers")?;
            let credit = row.get_ref(2).and_then(|v| v.as_blob().map_err(Into::into)).ctx("read ledger transfers")?;
            let pending =
                row.get_ref(5).and_then(|v| v.as_blob_or_null().map_err(Into::into)).ctx("read ledger transfers")?;
            let code = row.get_ref(6).and_then(|v| v.as_str().map_err(Into::into)).ctx("read ledger transfers")?;
            log.transfers.push(backend::ledger_transfer_from_stored(
                id,
                debit,
                credit,
                row_get(row, 3)?,
                row_get(row, 4)?,
                pending,
                code,
                row_get(row, 7)?,
                row_get(row, 8)?,
                row_get(row, 9)?,
            )?);
        }
    }
    tx.finish().ctx("end ledger log read")?;
    Ok(log)
}

fn row_get<T: rusqlite::types::FromSql>(row: &Row<'_>, index: usize) -> StoreResult<T> {
    row.get(index).ctx("read ledger record")
}

// ---------------------------------------------------------------------------------------------------------
// Cross-border e-commerce log

/// A batch of e-commerce log records ready for the writer: checked, its bodies compressed and its event
/// hashed already, so the writer thread only binds and inserts.
pub(crate) struct PreparedCbecBatch {
    pub batch: NewCbecBatch,
    /// Every record's body, LZ4-compressed with its size prepended (the format of [`compress`]), one after
    /// the other: record `i` is `bodies_lz4[ends[i - 1]..ends[i]]`. One buffer instead of a `Vec` each.
    bodies_lz4: Vec<u8>,
    ends: Vec<usize>,
    pub event: CbecBatchEvent,
}

impl PreparedCbecBatch {
    pub(crate) fn new(batch: NewCbecBatch) -> StoreResult<Self> {
        let batch = backend::cbec_batch_as_stored(batch)?;
        let event = CbecBatchEvent::new(&batch)?;
        // Room for every body uncompressed (small ones are stored so, and LZ4 saves little on the others):
        // growing the buffer midway would copy it.
        let raw: usize = batch.records.iter().map(|r| r.body_json.len()).sum();
        let mut bodies_lz4 = Vec::with_capacity(raw + 16 * batch.records.len());
        let mut ends = Vec::with_capacity(batch.records.len());
        // Compressed into one scratch buffer, zeroed once as it grows, then copied: zeroing each record's
        // worst-case output size cost more than the copy.
        let mut scratch = Vec::new();
        // One hash table for the batch: `compress_into` allocates (and zeroes) 8 KB per body.
        let mut table = lz4_flex::block::CompressTable::default();
        for record in &batch.records {
            let body = record.body_json.as_bytes();
            let size = u32::try_from(body.len())
                .ok()
                .filter(|&size| size as usize <= JSON_BYTES_MAX)
                .ok_or_else(|| StoreError::Backend(format!("cbec record {}: body too large", record.seq)))?;
            bodies_lz4.extend_from_slice(&size.to_le_bytes());
            if body.len() < LITERAL_BELOW {
                append_literal_block(body, &mut bodies_lz4);
            } else {
                let bound = lz4_flex::block::get_maximum_output_size(body.len());
                if scratch.len() < bound {
                    scratch.resize(bound, 0);
                }
                let written = lz4_flex::block::compress_into_with_table(body, &mut scratch[..bound], &mut table)
                    .map_err(|e| StoreError::Backend(format!("cbec record {}: compress body: {e}", record.seq)))?;
                bodies_lz4.extend_from_slice(&scratch[..written]);
            }
            ends.push(bodies_lz4.len());
        }
        Ok(PreparedCbecBatch { batch, bodies_lz4, ends, event })
    }

    fn body_lz4(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.bodies_lz4[start..self.ends[index]]
    }
}

const CBEC_SELECT: &str =
    "SELECT seq, kind, key, order_key, body_sha256, body_lz4, recorded_by, recorded_at_us FROM cbec_log";

fn cbec_record_from_row(row: &Row<'_>) -> rusqlite::Result<StoreResult<CbecRecord>> {
    let (seq, kind, key, order_key, body_sha256) = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
    let body = row.get_ref(5)?.as_blob()?;
    let (recorded_by, micros) = (row.get(6)?, row.get::<_, i64>(7)?);
    Ok((|| {
        Ok(CbecRecord {
            seq,
            kind,
            key,
            order_key,
            body_sha256,
            body_json: decompress(body, &format!("cbec record {seq} body"))?,
            recorded_by,
            recorded_at: from_micros(micros)?,
        })
    })())
}

fn cbec_last_seq_in(conn: &Connection) -> StoreResult<i64> {
    conn.prepare_cached("SELECT coalesce(max(seq), 0) FROM cbec_log")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
        .ctx("read cbec log end")
}

/// Appends a batch to the e-commerce log with its `cbec.batch_recorded` event, if the log is where the batch
/// expects it. A (kind, key) recorded already fails the request (the writer rolls it back alone).
pub(crate) fn record_cbec_batch(
    conn: &Connection,
    head: &mut ChainHead,
    prepared: &PreparedCbecBatch,
) -> StoreResult<CbecCommitted> {
    let last = cbec_last_seq_in(conn)?;
    if last != prepared.batch.after_seq {
        return Err(backend::cbec_log_moved(last, prepared.batch.after_seq));
    }
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO cbec_log (seq, kind, key, order_key, body_sha256, body_lz4, recorded_by, recorded_at_us) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .ctx("prepare cbec record insert")?;
    for (index, r) in prepared.batch.records.iter().enumerate() {
        let inserted = stmt.execute(params![
            r.seq,
            r.kind,
            r.key,
            r.order_key,
            r.body_sha256,
            prepared.body_lz4(index),
            r.recorded_by,
            to_micros(r.recorded_at)
        ]);
        match inserted {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {
                return Err(backend::cbec_duplicate(&r.kind, &r.key));
            }
            Err(e) => return Err(e).ctx("insert cbec record"),
        }
    }
    let event = &prepared.event;
    let event =
        head.next(event.recorded_at, backend::CBEC_BATCH_RECORDED, event.subject.clone(), event.payload.clone());
    insert_event(conn, &event)?;
    Ok(prepared.event.committed())
}

pub(crate) fn cbec_last_seq(conn: &Connection) -> StoreResult<i64> {
    cbec_last_seq_in(conn)
}

pub(crate) fn cbec_log(conn: &Connection, after: i64, limit: u32) -> StoreResult<Vec<CbecRecord>> {
    let mut stmt = conn
        .prepare_cached(&format!("{CBEC_SELECT} WHERE seq > ?1 ORDER BY seq LIMIT ?2"))
        .ctx("prepare cbec log page")?;
    let rows =
        stmt.query_map(params![after, backend::clamp_cbec_limit(limit)], cbec_record_from_row).ctx("read cbec log")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read cbec log")?.into_iter().collect()
}

pub(crate) fn cbec_records_for_order(conn: &Connection, order_key: &str) -> StoreResult<Vec<CbecRecord>> {
    let mut stmt = conn
        .prepare_cached(&format!("{CBEC_SELECT} WHERE order_key = ?1 ORDER BY seq"))
        .ctx("prepare cbec order records")?;
    let rows = stmt.query_map([order_key], cbec_record_from_row).ctx("read cbec order records")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read cbec order records")?.into_iter().collect()
}

pub(crate) fn get_cbec_record(conn: &Connection, kind: &str, key: &str) -> StoreResult<CbecRecord> {
    let mut stmt = conn
        .prepare_cached(&format!("{CBEC_SELECT} WHERE kind = ?1 AND key = ?2"))
        .ctx("prepare cbec record lookup")?;
    stmt.query_row([kind, key], cbec_record_from_row)
        .optional()
        .ctx("read cbec record")?
        .transpose()?
        .ok_or(StoreError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A literal block of every length around the token's and the length bytes' boundaries reads back as
    /// the text it was written from, through the same `decompress` as compressed blocks.
    #[test]
    fn a_literal_block_reads_back_as_its_text() {
        for length in [0, 1, 14, 15, 16, 269, 270, 271, 524, 525, 526, 1023, 5000] {
            let text: String = "横琴ab".chars().cycle().take(length).collect();
            let mut blob = (text.len() as u32).to_le_bytes().to_vec();
            append_literal_block(text.as_bytes(), &mut blob);
            assert_eq!(decompress(&blob, "test").unwrap(), text, "{length} characters");
            // Not longer than the text, the size and the token with its length bytes.
            assert!(blob.len() <= text.len() + 5 + text.len() / 255 + 1);
        }
    }
}
