//! The read side of the PostgreSQL backend: a connection with its statements prepared once, and the row
//! conversions shared with the writer.
//!
//! tokio-postgres pipelines concurrent queries on one connection, so a couple of reader connections serve
//! many concurrent callers. Listing queries are built from the filters present and prepared on first use
//! (there are few combinations); the prepared statements are cached per connection.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};
use zonegate_ledger::{Account, AccountId, LedgerItem, LedgerKey, Transfer};
use zonegate_store::backend::{self, from_micros, ChainVerifier};
use zonegate_store::{
    AccountRecord, CbecRecord, ChainReport, DailyFlow, DeclarantHistory, DeclarationFilter, DeclarationStats, Event,
    InspectionRecord, LedgerLog, Page, PartyRecord, PolicyRow, Revocation, SessionRecord, StatsQuery, StoreError,
    StoreResult, StoredDeclaration, StoredLedgerDocument, TokenRecord,
};

use crate::error::Context;

/// `SELECT <every declaration column> FROM declarations d <rest>`, as a literal.
macro_rules! declaration_select {
    ($rest:literal) => {
        concat!(
            "SELECT d.id, d.declarant, d.reference, d.zone, d.flow, d.declared_on, d.treatments, d.channel, \
             d.payable_fen, d.document_sha256, d.document_json, d.assessment_json, d.recorded_at_us, d.waived_fen, \
             d.submitted_by, d.received_at_us \
             FROM declarations d ",
            $rest
        )
    };
}
pub(crate) use declaration_select;

/// `SELECT <every token column, with its revocation> FROM tokens t … <rest>`, as a literal.
macro_rules! token_select {
    ($rest:literal) => {
        concat!(
            "SELECT t.token_id, t.user_id, t.name, t.secret_sha256, t.issued_by, t.issued_at_us, t.expires_at_us, \
             r.revoked_by, r.revoked_at_us \
             FROM tokens t LEFT JOIN token_revocations r ON r.token_id = t.token_id ",
            $rest
        )
    };
}
pub(crate) use token_select;

/// `SELECT <every inspection column> FROM inspections i <rest>`, as a literal.
macro_rules! inspection_select {
    ($rest:literal) => {
        concat!(
            "SELECT i.declaration_id, i.outcome, i.body_json, i.body_sha256, i.recorded_by, i.recorded_at_us \
             FROM inspections i ",
            $rest
        )
    };
}
pub(crate) use inspection_select;

/// `SELECT <every ledger document column> FROM ledger_documents l <rest>`, as a literal.
macro_rules! ledger_document_select {
    ($rest:literal) => {
        concat!(
            "SELECT l.seq, l.enterprise, l.kind, l.number, l.body_json, l.body_sha256, l.result_json, l.recorded_by, \
             l.recorded_at_us, l.transfer_count \
             FROM ledger_documents l ",
            $rest
        )
    };
}
pub(crate) use ledger_document_select;

/// Every declarant's counts in one grouped statement: the declarations left-joined to their inspections by
/// key. `$1` is the outcome counted as a finding.
const DECLARANT_HISTORY_SQL: &str = "\
    SELECT d.declarant, count(*), count(i.declaration_id), count(*) FILTER (WHERE i.outcome = $1::text) \
    FROM declarations d LEFT JOIN inspections i ON i.declaration_id = d.id \
    GROUP BY d.declarant ORDER BY d.declarant";

const PARTY_SELECT: &str = "SELECT p.uscc, p.name, p.body_json, p.recorded_by, p.recorded_at_us \
     FROM party_current c JOIN parties p ON p.version = c.version";
const ACCOUNT_SELECT: &str = "SELECT a.user_id, a.party, a.party_kind, a.roles, a.password_hash, a.personal_json, \
     a.active, a.recorded_by, a.recorded_at_us FROM account_current c JOIN accounts a ON a.version = c.version";
const SESSION_SELECT: &str = "SELECT s.session_sha256, s.user_id, s.started_at_us, s.expires_at_us, e.ended_at_us \
     FROM sessions s LEFT JOIN session_ends e ON e.session_sha256 = s.session_sha256";

/// The statistics in one statement, hence one snapshot, as rows tagged by part: 0 = (day, flow, count,
/// payable, waived), 1 = (treatment, count), 2 = (percent, latency). Each part scans the covering
/// `declarations_stats` index (index-only once autovacuum has marked the pages all-visible) rather than
/// sharing a materialised selection, which would spill to disk at 100,000 rows; no part reads the documents.
/// A treatment counts once per declaration (its first position in the array). A percentile is the latency at
/// 1-based rank `(n·p + 99) / 100` = ceil(p·n/100) of the ascending latencies (`$5` holds the percents), in
/// exact integer arithmetic, as [`backend::nearest_rank`] defines it.
const STATS_SQL: &str = "\
    WITH sel AS NOT MATERIALIZED ( \
        SELECT d.declared_on, d.flow, d.payable_fen, d.waived_fen, d.treatments, \
               d.recorded_at_us - coalesce(d.received_at_us, d.recorded_at_us) AS latency_us \
        FROM declarations d \
        WHERE d.declared_on BETWEEN $1 AND $2 \
          AND ($3::text IS NULL OR d.zone = $3::text) AND ($4::text IS NULL OR d.declarant = $4::text)) \
    SELECT 0, s.declared_on, s.flow COLLATE \"C\", count(*), sum(s.payable_fen)::bigint, sum(s.waived_fen)::bigint \
        FROM sel s GROUP BY s.declared_on, s.flow \
    UNION ALL \
    SELECT 1, NULL, u.treatment, count(*), NULL, NULL \
        FROM sel s CROSS JOIN LATERAL unnest(s.treatments) WITH ORDINALITY AS u (treatment, position) \
        WHERE array_position(s.treatments, u.treatment) = u.position \
        GROUP BY u.treatment \
    UNION ALL \
    SELECT 2, NULL, NULL, p.percent, a.sorted[((a.n * p.percent + 99) / 100)::int], NULL \
        FROM (SELECT array_agg(latency_us ORDER BY latency_us) AS sorted, count(*) AS n FROM sel) AS a \
        CROSS JOIN unnest($5::bigint[]) AS p (percent) \
        WHERE a.n > 0";
const CBEC_SELECT: &str =
    "SELECT seq, kind, key, order_key, body_sha256, body_json, recorded_by, recorded_at_us FROM cbec_log";

const EVENT_SELECT: &str = "SELECT seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash FROM events";

/// How many events `verify_chain` fetches per round trip.
const VERIFY_PAGE: i64 = 2000;

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, index: usize, what: &str) -> StoreResult<T> {
    row.try_get(index).ctx(what)
}

pub(crate) fn declaration_from_row(row: &Row) -> StoreResult<StoredDeclaration> {
    const WHAT: &str = "read declaration";
    let recorded_at_us: i64 = get(row, 12, WHAT)?;
    Ok(StoredDeclaration {
        id: get(row, 0, WHAT)?,
        declarant: get(row, 1, WHAT)?,
        reference: get(row, 2, WHAT)?,
        zone: get(row, 3, WHAT)?,
        flow: get(row, 4, WHAT)?,
        declared_on: get(row, 5, WHAT)?,
        treatments: get(row, 6, WHAT)?,
        channel: get(row, 7, WHAT)?,
        payable_fen: get(row, 8, WHAT)?,
        document_sha256: get(row, 9, WHAT)?,
        document_json: get(row, 10, WHAT)?,
        assessment_json: get(row, 11, WHAT)?,
        waived_fen: get(row, 13, WHAT)?,
        submitted_by: get(row, 14, WHAT)?,
        // Declarations recorded before migration 2 have no reception time: they were received when recorded.
        received_at: from_micros(get::<Option<i64>>(row, 15, WHAT)?.unwrap_or(recorded_at_us))?,
        recorded_at: from_micros(recorded_at_us)?,
    })
}

fn party_from_row(row: &Row) -> StoreResult<PartyRecord> {
    const WHAT: &str = "read party";
    Ok(PartyRecord {
        uscc: get(row, 0, WHAT)?,
        name: get(row, 1, WHAT)?,
        body_json: get(row, 2, WHAT)?,
        recorded_by: get(row, 3, WHAT)?,
        recorded_at: from_micros(get(row, 4, WHAT)?)?,
    })
}

fn account_from_row(row: &Row) -> StoreResult<AccountRecord> {
    const WHAT: &str = "read account";
    Ok(AccountRecord {
        user_id: get(row, 0, WHAT)?,
        party: get(row, 1, WHAT)?,
        party_kind: get(row, 2, WHAT)?,
        roles: get(row, 3, WHAT)?,
        password_hash: get(row, 4, WHAT)?,
        personal_json: get(row, 5, WHAT)?,
        active: get(row, 6, WHAT)?,
        recorded_by: get(row, 7, WHAT)?,
        recorded_at: from_micros(get(row, 8, WHAT)?)?,
    })
}

/// A row of [`token_select!`].
pub(crate) fn token_from_row(row: &Row) -> StoreResult<TokenRecord> {
    const WHAT: &str = "read token";
    let revoked_by: Option<String> = get(row, 7, WHAT)?;
    let revoked_at_us: Option<i64> = get(row, 8, WHAT)?;
    Ok(TokenRecord {
        token_id: get(row, 0, WHAT)?,
        user_id: get(row, 1, WHAT)?,
        name: get(row, 2, WHAT)?,
        secret_sha256: get(row, 3, WHAT)?,
        issued_by: get(row, 4, WHAT)?,
        issued_at: from_micros(get(row, 5, WHAT)?)?,
        expires_at: from_micros(get(row, 6, WHAT)?)?,
        revoked: match (revoked_by, revoked_at_us) {
            (Some(by), Some(at)) => Some(Revocation { by, at: from_micros(at)? }),
            _ => None,
        },
    })
}

/// A row of [`inspection_select!`].
pub(crate) fn inspection_from_row(row: &Row) -> StoreResult<InspectionRecord> {
    const WHAT: &str = "read inspection";
    Ok(InspectionRecord {
        declaration_id: get(row, 0, WHAT)?,
        outcome: get(row, 1, WHAT)?,
        body_json: get(row, 2, WHAT)?,
        body_sha256: get(row, 3, WHAT)?,
        recorded_by: get(row, 4, WHAT)?,
        recorded_at: from_micros(get(row, 5, WHAT)?)?,
    })
}

/// A row of `CBEC_SELECT`.
fn cbec_record_from_row(row: &Row) -> StoreResult<CbecRecord> {
    const WHAT: &str = "read cbec record";
    Ok(CbecRecord {
        seq: get(row, 0, WHAT)?,
        kind: get(row, 1, WHAT)?,
        key: get(row, 2, WHAT)?,
        order_key: get(row, 3, WHAT)?,
        body_sha256: get(row, 4, WHAT)?,
        body_json: get(row, 5, WHAT)?,
        recorded_by: get(row, 6, WHAT)?,
        recorded_at: from_micros(get(row, 7, WHAT)?)?,
    })
}

/// A row of [`ledger_document_select!`].
pub(crate) fn ledger_document_from_row(row: &Row) -> StoreResult<StoredLedgerDocument> {
    const WHAT: &str = "read ledger document";
    Ok(StoredLedgerDocument {
        seq: get(row, 0, WHAT)?,
        enterprise: get(row, 1, WHAT)?,
        kind: get(row, 2, WHAT)?,
        number: get(row, 3, WHAT)?,
        body_json: get(row, 4, WHAT)?,
        body_sha256: get(row, 5, WHAT)?,
        result_json: get(row, 6, WHAT)?,
        recorded_by: get(row, 7, WHAT)?,
        recorded_at: from_micros(get(row, 8, WHAT)?)?,
        transfer_count: get(row, 9, WHAT)?,
    })
}

fn ledger_item_from_row(row: &Row) -> StoreResult<LedgerItem> {
    const WHAT: &str = "read ledger item";
    Ok(LedgerItem {
        key: LedgerKey::new(get::<String>(row, 0, WHAT)?, get::<String>(row, 1, WHAT)?),
        hs_code: get(row, 2, WHAT)?,
        unit: get(row, 3, WHAT)?,
        quantity_scale: backend::quantity_scale_from_stored(i64::from(get::<i16>(row, 4, WHAT)?))?,
        treatment: backend::treatment_from_text(get(row, 5, WHAT)?)?,
    })
}

fn ledger_account_from_row(row: &Row) -> StoreResult<Account> {
    const WHAT: &str = "read ledger account";
    Ok(Account {
        id: AccountId(backend::ledger_id_from_bytes(get(row, 0, WHAT)?)?),
        ledger: LedgerKey::new(get::<String>(row, 1, WHAT)?, get::<String>(row, 2, WHAT)?),
        kind: backend::account_kind_from_text(get(row, 3, WHAT)?)?,
        flags: backend::account_flags_from_bits(get(row, 4, WHAT)?)?,
    })
}

fn ledger_transfer_from_row(row: &Row) -> StoreResult<Transfer> {
    const WHAT: &str = "read ledger transfer";
    backend::ledger_transfer_from_stored(
        get(row, 0, WHAT)?,
        get(row, 1, WHAT)?,
        get(row, 2, WHAT)?,
        get(row, 3, WHAT)?,
        get(row, 4, WHAT)?,
        get(row, 5, WHAT)?,
        get(row, 6, WHAT)?,
        get(row, 7, WHAT)?,
        get(row, 8, WHAT)?,
        get(row, 9, WHAT)?,
    )
}

fn session_from_row(row: &Row) -> StoreResult<SessionRecord> {
    const WHAT: &str = "read session";
    Ok(SessionRecord {
        session_sha256: get(row, 0, WHAT)?,
        user_id: get(row, 1, WHAT)?,
        started_at: from_micros(get(row, 2, WHAT)?)?,
        expires_at: from_micros(get(row, 3, WHAT)?)?,
        ended_at: get::<Option<i64>>(row, 4, WHAT)?.map(from_micros).transpose()?,
    })
}

fn policy_row_from_row(row: &Row) -> StoreResult<PolicyRow> {
    const WHAT: &str = "read policy row";
    Ok(PolicyRow {
        kind: get(row, 0, WHAT)?,
        key: get(row, 1, WHAT)?,
        effective_from: get(row, 2, WHAT)?,
        body_json: get(row, 3, WHAT)?,
        author: get(row, 4, WHAT)?,
        recorded_at: from_micros(get(row, 5, WHAT)?)?,
    })
}

fn event_from_row(row: &Row) -> StoreResult<Event> {
    const WHAT: &str = "read event";
    Ok(Event {
        seq: get(row, 0, WHAT)?,
        recorded_at: from_micros(get(row, 1, WHAT)?)?,
        kind: get(row, 2, WHAT)?,
        subject: get(row, 3, WHAT)?,
        payload_json: get(row, 4, WHAT)?,
        prev_hash: get(row, 5, WHAT)?,
        hash: get(row, 6, WHAT)?,
    })
}

/// Appends `template` with its `?` numbered as the next parameter, and the parameter.
fn condition<'a>(
    sql: &mut String,
    params: &mut Vec<&'a (dyn ToSql + Sync)>,
    template: &str,
    value: &'a (dyn ToSql + Sync),
) {
    params.push(value);
    sql.push_str(&template.replace('?', &format!("${}", params.len())));
}

struct Statements {
    declaration_by_id: Statement,
    declaration_by_key: Statement,
    party: Statement,
    parties_first: Statement,
    parties_after: Statement,
    policy_rows: Statement,
    policy_row_count: Statement,
    events: Statement,
    subject_events: Statement,
    stats: Statement,
    account: Statement,
    /// Indexed by (party given, cursor given).
    accounts: [[Statement; 2]; 2],
    token: Statement,
    tokens_all: Statement,
    tokens_of_user: Statement,
    session: Statement,
    inspection: Statement,
    inspections: Statement,
    declarant_history: Statement,
    ledger_document: Statement,
    ledger_last_document: Statement,
    ledger_items: Statement,
    ledger_accounts: Statement,
    ledger_transfers: Statement,
    cbec_last_seq: Statement,
    cbec_log: Statement,
    cbec_for_order: Statement,
    cbec_record: Statement,
}

/// One read connection.
pub(crate) struct Reader {
    client: Client,
    statements: Statements,
    listings: Mutex<HashMap<String, Statement>>,
}

impl Reader {
    pub(crate) async fn new(client: Client) -> StoreResult<Reader> {
        let prepare = |sql: String| {
            let client = &client;
            async move { client.prepare(&sql).await.ctx(&format!("prepare {sql}")) }
        };
        let statements = Statements {
            declaration_by_id: prepare(declaration_select!("WHERE d.id = $1").into()).await?,
            declaration_by_key: prepare(declaration_select!("WHERE d.declarant = $1 AND d.reference = $2").into())
                .await?,
            party: prepare(format!("{PARTY_SELECT} WHERE c.uscc = $1")).await?,
            parties_first: prepare(format!("{PARTY_SELECT} ORDER BY c.uscc LIMIT $1")).await?,
            parties_after: prepare(format!("{PARTY_SELECT} WHERE c.uscc > $1 ORDER BY c.uscc LIMIT $2")).await?,
            policy_rows: prepare(
                "SELECT kind, key, effective_from, body_json, author, recorded_at_us FROM policy_rows \
                 WHERE kind = $1 ORDER BY id"
                    .into(),
            )
            .await?,
            policy_row_count: prepare("SELECT count(*) FROM policy_rows".into()).await?,
            events: prepare(format!("{EVENT_SELECT} WHERE seq > $1 ORDER BY seq LIMIT $2")).await?,
            subject_events: prepare(format!("{EVENT_SELECT} WHERE subject = $1 ORDER BY seq LIMIT $2")).await?,
            stats: prepare(STATS_SQL.into()).await?,
            account: prepare(format!("{ACCOUNT_SELECT} WHERE c.user_id = $1")).await?,
            accounts: [
                [
                    prepare(format!("{ACCOUNT_SELECT} ORDER BY c.user_id LIMIT $1")).await?,
                    prepare(format!("{ACCOUNT_SELECT} WHERE c.user_id > $1 ORDER BY c.user_id LIMIT $2")).await?,
                ],
                [
                    prepare(format!("{ACCOUNT_SELECT} WHERE c.party = $1 ORDER BY c.user_id LIMIT $2")).await?,
                    prepare(format!(
                        "{ACCOUNT_SELECT} WHERE c.party = $1 AND c.user_id > $2 ORDER BY c.user_id LIMIT $3"
                    ))
                    .await?,
                ],
            ],
            token: prepare(token_select!("WHERE t.token_id = $1").into()).await?,
            tokens_all: prepare(token_select!("ORDER BY t.id").into()).await?,
            tokens_of_user: prepare(token_select!("WHERE t.user_id = $1 ORDER BY t.id").into()).await?,
            session: prepare(format!("{SESSION_SELECT} WHERE s.session_sha256 = $1")).await?,
            inspection: prepare(inspection_select!("WHERE i.declaration_id = $1").into()).await?,
            inspections: prepare(
                inspection_select!("WHERE i.declaration_id > $1 ORDER BY i.declaration_id LIMIT $2").into(),
            )
            .await?,
            declarant_history: prepare(DECLARANT_HISTORY_SQL.into()).await?,
            ledger_document: prepare(
                ledger_document_select!("WHERE l.enterprise = $1 AND l.kind = $2 AND l.number = $3").into(),
            )
            .await?,
            ledger_last_document: prepare("SELECT coalesce(max(seq), 0) FROM ledger_documents".into()).await?,
            ledger_items: prepare(
                "SELECT enterprise, item_no, hs_code, unit, quantity_scale, treatment FROM ledger_items \
                 WHERE document_seq <= $1 ORDER BY document_seq, position"
                    .into(),
            )
            .await?,
            ledger_accounts: prepare(
                "SELECT id, enterprise, item_no, kind, flags FROM ledger_accounts WHERE document_seq <= $1 \
                 ORDER BY seq"
                    .into(),
            )
            .await?,
            ledger_transfers: prepare(
                "SELECT id, debit_account_id, credit_account_id, quantity, value_fen, pending_id, code, reference, \
                 timestamp_us, flags FROM ledger_transfers WHERE document_seq <= $1 ORDER BY seq"
                    .into(),
            )
            .await?,
            cbec_last_seq: prepare("SELECT coalesce(max(seq), 0)::bigint FROM cbec_log".into()).await?,
            cbec_log: prepare(format!("{CBEC_SELECT} WHERE seq > $1 ORDER BY seq LIMIT $2")).await?,
            cbec_for_order: prepare(format!("{CBEC_SELECT} WHERE order_key = $1 ORDER BY seq")).await?,
            cbec_record: prepare(format!("{CBEC_SELECT} WHERE kind = $1 AND key = $2")).await?,
        };
        Ok(Reader { client, statements, listings: Mutex::new(HashMap::new()) })
    }

    pub(crate) async fn get_declaration(&self, id: i64) -> StoreResult<StoredDeclaration> {
        let row = self.client.query_opt(&self.statements.declaration_by_id, &[&id]).await.ctx("get declaration")?;
        row.as_ref().map(declaration_from_row).transpose()?.ok_or(StoreError::NotFound)
    }

    pub(crate) async fn find_declaration(&self, declarant: &str, reference: &str) -> StoreResult<StoredDeclaration> {
        let row = self
            .client
            .query_opt(&self.statements.declaration_by_key, &[&declarant, &reference])
            .await
            .ctx("find declaration")?;
        row.as_ref().map(declaration_from_row).transpose()?.ok_or(StoreError::NotFound)
    }

    async fn listing(&self, sql: String) -> StoreResult<Statement> {
        let cached = self
            .listings
            .lock()
            .map_err(|_| StoreError::Backend("postgres: statement cache lock poisoned".into()))?
            .get(&sql)
            .cloned();
        if let Some(statement) = cached {
            return Ok(statement);
        }
        let statement = self.client.prepare(&sql).await.ctx("prepare declaration listing")?;
        self.listings
            .lock()
            .map_err(|_| StoreError::Backend("postgres: statement cache lock poisoned".into()))?
            .insert(sql, statement.clone());
        Ok(statement)
    }

    pub(crate) async fn list_declarations(&self, filter: &DeclarationFilter) -> StoreResult<Page<StoredDeclaration>> {
        let limit = backend::clamp_limit(filter.limit);
        let after = filter.after.unwrap_or(i64::MIN);
        let fetch = i64::from(limit) + 1;
        let mut sql = declaration_select!("WHERE d.id > $1").to_owned();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&after];
        if let Some(flow) = &filter.flow {
            condition(&mut sql, &mut params, " AND d.flow = ?", flow);
        }
        if let Some(declarant) = &filter.declarant {
            condition(&mut sql, &mut params, " AND d.declarant = ?", declarant);
        }
        if let Some(from) = &filter.declared_from {
            condition(&mut sql, &mut params, " AND d.declared_on >= ?", from);
        }
        if let Some(to) = &filter.declared_to {
            condition(&mut sql, &mut params, " AND d.declared_on <= ?", to);
        }
        if let Some(treatment) = &filter.treatment {
            condition(&mut sql, &mut params, " AND d.treatments @> ARRAY[?::text]", treatment);
        }
        // One row more than the page tells whether another page exists.
        condition(&mut sql, &mut params, " ORDER BY d.id LIMIT ?", &fetch);

        let statement = self.listing(sql).await?;
        let rows = self.client.query(&statement, &params).await.ctx("list declarations")?;
        let mut items = rows.iter().map(declaration_from_row).collect::<StoreResult<Vec<_>>>()?;
        let next_after = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|d| d.id)
        } else {
            None
        };
        Ok(Page { items, next_after })
    }

    pub(crate) async fn get_party(&self, uscc: &str) -> StoreResult<PartyRecord> {
        let row = self.client.query_opt(&self.statements.party, &[&uscc]).await.ctx("get party")?;
        row.as_ref().map(party_from_row).transpose()?.ok_or(StoreError::NotFound)
    }

    pub(crate) async fn list_parties(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<PartyRecord>> {
        let limit = i64::from(backend::clamp_limit(limit));
        let rows = match after {
            Some(after) => self.client.query(&self.statements.parties_after, &[&after, &limit]).await,
            None => self.client.query(&self.statements.parties_first, &[&limit]).await,
        }
        .ctx("list parties")?;
        rows.iter().map(party_from_row).collect()
    }

    pub(crate) async fn policy_rows(&self, kind: &str) -> StoreResult<Vec<PolicyRow>> {
        let rows = self.client.query(&self.statements.policy_rows, &[&kind]).await.ctx("read policy rows")?;
        rows.iter().map(policy_row_from_row).collect()
    }

    pub(crate) async fn policy_row_count(&self) -> StoreResult<i64> {
        let row = self.client.query_one(&self.statements.policy_row_count, &[]).await.ctx("count policy rows")?;
        get(&row, 0, "count policy rows")
    }

    pub(crate) async fn declaration_stats(&self, query: &StatsQuery) -> StoreResult<DeclarationStats> {
        const WHAT: &str = "read statistics";
        let percents: Vec<i64> = backend::STATS_PERCENTILES.iter().map(|p| i64::from(*p)).collect();
        let [p50, p90] = backend::STATS_PERCENTILES.map(i64::from);
        let rows = self
            .client
            .query(
                &self.statements.stats,
                &[&query.declared_from, &query.declared_to, &query.zone, &query.declarant, &percents],
            )
            .await
            .ctx(WHAT)?;
        let mut stats = DeclarationStats::default();
        for row in &rows {
            let part: i32 = get(row, 0, WHAT)?;
            let count: i64 = get(row, 3, WHAT)?;
            let second: Option<i64> = get(row, 4, WHAT)?;
            match (part, get::<Option<chrono::NaiveDate>>(row, 1, WHAT)?, get::<Option<String>>(row, 2, WHAT)?) {
                (0, Some(day), Some(flow)) => stats.daily.push(DailyFlow {
                    day,
                    flow,
                    declarations: count,
                    payable_fen: second.unwrap_or(0),
                    waived_fen: get::<Option<i64>>(row, 5, WHAT)?.unwrap_or(0),
                }),
                (1, _, Some(treatment)) => stats.treatments.push((treatment, count)),
                (2, ..) if count == p50 => stats.decision_us_p50 = second,
                (2, ..) if count == p90 => stats.decision_us_p90 = second,
                _ => return Err(StoreError::Backend(format!("postgres: unexpected statistics row (part {part})"))),
            }
        }
        // Bytewise order, as SQLite's; sorting here keeps it independent of plans and collations.
        stats.daily.sort_by(|a, b| (a.day, &a.flow).cmp(&(b.day, &b.flow)));
        stats.treatments.sort();
        Ok(stats)
    }

    pub(crate) async fn get_account(&self, user_id: &str) -> StoreResult<AccountRecord> {
        let row = self.client.query_opt(&self.statements.account, &[&user_id]).await.ctx("get account")?;
        row.as_ref().map(account_from_row).transpose()?.ok_or(StoreError::NotFound)
    }

    pub(crate) async fn list_accounts(
        &self,
        party: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<AccountRecord>> {
        let limit = i64::from(backend::clamp_limit(limit));
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(3);
        if let Some(party) = &party {
            params.push(party);
        }
        if let Some(after) = &after {
            params.push(after);
        }
        params.push(&limit);
        let statement = &self.statements.accounts[usize::from(party.is_some())][usize::from(after.is_some())];
        let rows = self.client.query(statement, &params).await.ctx("list accounts")?;
        rows.iter().map(account_from_row).collect()
    }

    pub(crate) async fn get_token(&self, token_id: &str) -> StoreResult<TokenRecord> {
        let row = self.client.query_opt(&self.statements.token, &[&token_id]).await.ctx("get token")?;
        row.as_ref().map(token_from_row).transpose()?.ok_or(StoreError::NotFound)
    }

    pub(crate) async fn list_tokens(&self, user_id: Option<&str>) -> StoreResult<Vec<TokenRecord>> {
        let rows = match user_id {
            Some(user_id) => self.client.query(&self.statements.tokens_of_user, &[&user_id]).await,
            None => self.client.query(&self.statements.tokens_all, &[]).await,
        }
        .ctx("list tokens")?;
        rows.iter().map(token_from_row).collect()
    }

    pub(crate) async fn get_session(&self, session_sha256: &str) -> StoreResult<SessionRecord> {
        let row = self.client.query_opt(&self.statements.session, &[&session_sha256]).await.ctx("get session")?;
        row.as_ref().map(session_from_row).transpose()?.ok_or(StoreError::NotFound)
    }

    pub(crate) async fn get_inspection(&self, declaration_id: i64) -> StoreResult<InspectionRecord> {
        let row = self.client.query_opt(&self.statements.inspection, &[&declaration_id]).await.ctx("get inspection")?;
        row.as_ref().map(inspection_from_row).transpose()?.ok_or(StoreError::NotFound)
    }

    pub(crate) async fn list_inspections(&self, after: Option<i64>, limit: u32) -> StoreResult<Vec<InspectionRecord>> {
        let (after, limit) = (after.unwrap_or(i64::MIN), i64::from(backend::clamp_limit(limit)));
        let rows = self.client.query(&self.statements.inspections, &[&after, &limit]).await.ctx("list inspections")?;
        rows.iter().map(inspection_from_row).collect()
    }

    pub(crate) async fn declarant_history(&self) -> StoreResult<Vec<DeclarantHistory>> {
        const WHAT: &str = "read declarant history";
        let rows =
            self.client.query(&self.statements.declarant_history, &[&backend::INSPECTION_FINDING]).await.ctx(WHAT)?;
        rows.iter()
            .map(|row| {
                Ok(DeclarantHistory {
                    declarant: get(row, 0, WHAT)?,
                    declarations: get(row, 1, WHAT)?,
                    inspections: get(row, 2, WHAT)?,
                    findings: get(row, 3, WHAT)?,
                })
            })
            .collect()
    }

    pub(crate) async fn get_ledger_document(
        &self,
        enterprise: &str,
        kind: &str,
        number: &str,
    ) -> StoreResult<StoredLedgerDocument> {
        let row = self
            .client
            .query_opt(&self.statements.ledger_document, &[&enterprise, &kind, &number])
            .await
            .ctx("get ledger document")?;
        row.as_ref().map(ledger_document_from_row).transpose()?.ok_or(StoreError::NotFound)
    }

    pub(crate) async fn list_ledger_documents(
        &self,
        enterprise: Option<&str>,
        kind: Option<&str>,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<StoredLedgerDocument>> {
        let after = after.unwrap_or(i64::MIN);
        let limit = i64::from(backend::clamp_limit(limit));
        let mut sql = ledger_document_select!("WHERE l.seq > $1").to_owned();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&after];
        if let Some(enterprise) = &enterprise {
            condition(&mut sql, &mut params, " AND l.enterprise = ?", enterprise);
        }
        if let Some(kind) = &kind {
            condition(&mut sql, &mut params, " AND l.kind = ?", kind);
        }
        condition(&mut sql, &mut params, " ORDER BY l.seq LIMIT ?", &limit);
        let statement = self.listing(sql).await?;
        let rows = self.client.query(&statement, &params).await.ctx("list ledger documents")?;
        rows.iter().map(ledger_document_from_row).collect()
    }

    /// Every ledger record up to the last document recorded when the call began: documents commit whole and
    /// in seq order, so the three reads (pipelined, but each its own snapshot) agree on one cut.
    pub(crate) async fn ledger_log(&self) -> StoreResult<LedgerLog> {
        let row = self.client.query_one(&self.statements.ledger_last_document, &[]).await.ctx("read ledger log")?;
        let last: i64 = get(&row, 0, "read ledger log")?;
        let params: [&(dyn ToSql + Sync); 1] = [&last];
        let (items, accounts, transfers) = tokio::join!(
            self.client.query(&self.statements.ledger_items, &params),
            self.client.query(&self.statements.ledger_accounts, &params),
            self.client.query(&self.statements.ledger_transfers, &params),
        );
        Ok(LedgerLog {
            items: items.ctx("read ledger items")?.iter().map(ledger_item_from_row).collect::<StoreResult<_>>()?,
            accounts: accounts
                .ctx("read ledger accounts")?
                .iter()
                .map(ledger_account_from_row)
                .collect::<StoreResult<_>>()?,
            transfers: transfers
                .ctx("read ledger transfers")?
                .iter()
                .map(ledger_transfer_from_row)
                .collect::<StoreResult<_>>()?,
        })
    }

    pub(crate) async fn cbec_last_seq(&self) -> StoreResult<i64> {
        let row = self.client.query_one(&self.statements.cbec_last_seq, &[]).await.ctx("read cbec log end")?;
        get(&row, 0, "read cbec log end")
    }

    pub(crate) async fn cbec_log(&self, after: i64, limit: u32) -> StoreResult<Vec<CbecRecord>> {
        let limit = i64::from(backend::clamp_cbec_limit(limit));
        let rows = self.client.query(&self.statements.cbec_log, &[&after, &limit]).await.ctx("read cbec log")?;
        rows.iter().map(cbec_record_from_row).collect()
    }

    pub(crate) async fn cbec_records_for_order(&self, order_key: &str) -> StoreResult<Vec<CbecRecord>> {
        let rows =
            self.client.query(&self.statements.cbec_for_order, &[&order_key]).await.ctx("read cbec order records")?;
        rows.iter().map(cbec_record_from_row).collect()
    }

    pub(crate) async fn get_cbec_record(&self, kind: &str, key: &str) -> StoreResult<CbecRecord> {
        let row = self.client.query_opt(&self.statements.cbec_record, &[&kind, &key]).await.ctx("get cbec record")?;
        row.as_ref().map(cbec_record_from_row).transpose()?.ok_or(StoreError::NotFound)
    }

    async fn events_page(&self, after: i64, limit: i64) -> StoreResult<Vec<Event>> {
        let rows = self.client.query(&self.statements.events, &[&after, &limit]).await.ctx("read events")?;
        rows.iter().map(event_from_row).collect()
    }

    pub(crate) async fn events(&self, after: i64, limit: u32) -> StoreResult<Vec<Event>> {
        self.events_page(after, i64::from(backend::clamp_limit(limit))).await
    }

    pub(crate) async fn events_for_subject(&self, subject: &str, limit: u32) -> StoreResult<Vec<Event>> {
        let limit = i64::from(backend::clamp_limit(limit));
        let rows =
            self.client.query(&self.statements.subject_events, &[&subject, &limit]).await.ctx("read subject events")?;
        rows.iter().map(event_from_row).collect()
    }

    /// Walks the chain page by page. Events are insert-only, so pages fetched while writes go on still form
    /// a prefix of one chain; the report covers the events seen.
    pub(crate) async fn verify_chain(&self) -> StoreResult<ChainReport> {
        let mut verifier = ChainVerifier::new();
        let mut after = 0;
        loop {
            let page = self.events_page(after, VERIFY_PAGE).await?;
            for event in &page {
                verifier.push(event)?;
            }
            match page.last() {
                Some(last) if page.len() as i64 == VERIFY_PAGE => after = last.seq,
                _ => return Ok(verifier.finish()),
            }
        }
    }
}
