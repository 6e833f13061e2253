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
use zonegate_store::backend::{self, from_micros, ChainVerifier};
use zonegate_store::{
    ChainReport, DeclarationFilter, Event, Page, PartyRecord, PolicyRow, StoreError, StoreResult, StoredDeclaration,
};

use crate::error::Context;

/// `SELECT <every declaration column> FROM declarations d <rest>`, as a literal.
macro_rules! declaration_select {
    ($rest:literal) => {
        concat!(
            "SELECT d.id, d.declarant, d.reference, d.zone, d.flow, d.declared_on, d.treatments, d.channel, \
             d.payable_fen, d.document_sha256, d.document_json, d.assessment_json, d.recorded_at_us \
             FROM declarations d ",
            $rest
        )
    };
}
pub(crate) use declaration_select;

const PARTY_SELECT: &str =
    "SELECT p.uscc, p.name, p.body_json, p.recorded_at_us FROM party_current c JOIN parties p ON p.version = c.version";
const EVENT_SELECT: &str = "SELECT seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash FROM events";

/// How many events `verify_chain` fetches per round trip.
const VERIFY_PAGE: i64 = 2000;

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, index: usize, what: &str) -> StoreResult<T> {
    row.try_get(index).ctx(what)
}

pub(crate) fn declaration_from_row(row: &Row) -> StoreResult<StoredDeclaration> {
    const WHAT: &str = "read declaration";
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
        recorded_at: from_micros(get(row, 12, WHAT)?)?,
    })
}

fn party_from_row(row: &Row) -> StoreResult<PartyRecord> {
    const WHAT: &str = "read party";
    Ok(PartyRecord {
        uscc: get(row, 0, WHAT)?,
        name: get(row, 1, WHAT)?,
        body_json: get(row, 2, WHAT)?,
        recorded_at: from_micros(get(row, 3, WHAT)?)?,
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

    async fn events_page(&self, after: i64, limit: i64) -> StoreResult<Vec<Event>> {
        let rows = self.client.query(&self.statements.events, &[&after, &limit]).await.ctx("read events")?;
        rows.iter().map(event_from_row).collect()
    }

    pub(crate) async fn events(&self, after: i64, limit: u32) -> StoreResult<Vec<Event>> {
        self.events_page(after, i64::from(backend::clamp_limit(limit))).await
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
