//! `zonegate bench-ledger`: durable ledger postings per second (issue 5, point 9), zonegate against the same
//! double-entry transaction in PostgreSQL, both measured in the same run on the same seeded stream.
//!
//! Workload: `--items` ledger items over `--enterprises` enterprises, each with a stock, an outside and a
//! mainland account and an opening first-line entry (untimed set-up); then a stream of independent (not
//! linked) transfers, about half first-line entries (outside → stock) and half second-line exits (stock →
//! mainland) of small quantities, a few of them overdrawing stock. Every system must refuse exactly the
//! same ones (the balance limit of the stock account, on quantity and on value): the run fails otherwise.
//!
//! * zonegate: the in-memory engine (`zonegate_ledger::Ledger::apply`) decides a batch, then the accepted
//!   transfers are recorded durably in one `Store::record_ledger_document` (one transaction, one chain
//!   event), awaited before the next batch. One per commit: one transfer per document.
//! * PostgreSQL: per transfer one prepared statement that debits the debit account only if its balance
//!   covers the transfer (`WHERE credits - debits >= amount`; a `CHECK` backs it), credits the credit
//!   account and inserts the transfer, in one round trip; batched = `--batch` transfers per transaction,
//!   pipelined; one per commit = each transfer its own transaction (autocommit).
//!
//! A benchmark, not a test: it prints figures and asserts only that the systems agree.

use anyhow::{bail, ensure, Context};
use chrono::{TimeZone, Utc};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};
use zonegate_domain::rng::SplitMix64;
use zonegate_ledger::{
    Account, AccountId, AccountKind, Ledger, LedgerItem, LedgerKey, Transfer, TransferCode, TransferError, Treatment,
};
use zonegate_store::{LedgerDocumentOutcome, NewLedgerDocument, Store};

#[derive(clap::Args)]
pub struct BenchLedgerArgs {
    /// Transfers of the batched runs.
    #[arg(long, default_value_t = 400_000)]
    transfers: usize,
    /// Transfers per batch (one durable commit each); 8,190 is TigerBeetle's batch size.
    #[arg(long, default_value_t = 8_190)]
    batch: usize,
    /// Transfers of the one-per-commit runs (the first ones of the same stream).
    #[arg(long, default_value_t = 2_000)]
    single: usize,
    /// Ledger items (each with a stock, an outside and a mainland account).
    #[arg(long, default_value_t = 10_000)]
    items: usize,
    /// Enterprises the items are spread over.
    #[arg(long, default_value_t = 100)]
    enterprises: usize,
    /// Seed of the workload.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Measure PostgreSQL at this URL too (in a fresh schema, dropped after); without it, PG rows are skipped.
    #[arg(long)]
    postgres: Option<String>,
    /// Folder for the SQLite databases (default: a fresh folder under the system temp dir, removed after).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// An identifier from two draws (never 0).
fn draw_id(rng: &mut SplitMix64) -> u128 {
    ((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())).max(1)
}

/// Opening stock of every item, in units.
const OPENING_QUANTITY: u64 = 300;
/// Largest quantity of an ordinary entry or exit.
const MOVE_MAX: u64 = 40;
/// Per mille of the stream that tries to take out far more than any stock holds.
const OVERDRAFT_PER_MILLE: u64 = 5;

/// One item's accounts and unit price.
struct ItemAccounts {
    enterprise: String,
    stock: AccountId,
    outside: AccountId,
    mainland: AccountId,
    unit_price_fen: u64,
}

/// Everything every system starts from, and the stream it then applies.
struct Workload {
    items: Vec<LedgerItem>,
    accounts: Vec<Account>,
    item_accounts: Vec<ItemAccounts>,
    openings: Vec<Transfer>,
    stream: Vec<Transfer>,
}

fn uscc(enterprise: usize) -> String {
    format!("91440400MA{enterprise:08}")
}

impl Workload {
    fn generate(args: &BenchLedgerArgs) -> Workload {
        let mut rng = SplitMix64::new(args.seed);
        let t0 = Utc.timestamp_opt(1_767_225_600, 0).single().unwrap_or_default();
        let mut items = Vec::with_capacity(args.items);
        let mut accounts = Vec::with_capacity(args.items * 3);
        let mut item_accounts = Vec::with_capacity(args.items);
        let mut openings = Vec::with_capacity(args.items);
        for index in 0..args.items {
            let enterprise = uscc(index % args.enterprises.max(1));
            let key = LedgerKey::new(enterprise.clone(), format!("M{index:06}"));
            items.push(LedgerItem {
                key: key.clone(),
                hs_code: "8471300000".into(),
                unit: "011".into(),
                quantity_scale: 0,
                treatment: Treatment::Bonded,
            });
            let [stock, outside, mainland] = [AccountKind::Stock, AccountKind::Outside, AccountKind::Mainland]
                .map(|kind| Account::new(AccountId::derive(&key, kind).0, key.clone(), kind));
            let entry = ItemAccounts {
                enterprise,
                stock: stock.id,
                outside: outside.id,
                mainland: mainland.id,
                unit_price_fen: 100 + rng.below(99_900),
            };
            openings.push(Transfer::new(
                draw_id(&mut rng),
                entry.outside,
                entry.stock,
                OPENING_QUANTITY,
                OPENING_QUANTITY * entry.unit_price_fen,
                TransferCode::FirstLineEntry,
                format!("OPEN{index:06}"),
                t0,
            ));
            accounts.extend([stock, outside, mainland]);
            item_accounts.push(entry);
        }
        let mut stream = Vec::with_capacity(args.transfers.max(args.single));
        for n in 0..args.transfers.max(args.single) {
            let item = &item_accounts[rng.below(args.items as u64) as usize];
            let roll = rng.below(1000);
            let (debit, credit, code, quantity) = if roll < OVERDRAFT_PER_MILLE {
                (item.stock, item.mainland, TransferCode::SecondLineExit, 1_000_000 + rng.below(1000))
            } else if roll < 500 + OVERDRAFT_PER_MILLE / 2 {
                (item.outside, item.stock, TransferCode::FirstLineEntry, 1 + rng.below(MOVE_MAX))
            } else {
                (item.stock, item.mainland, TransferCode::SecondLineExit, 1 + rng.below(MOVE_MAX))
            };
            stream.push(Transfer::new(
                draw_id(&mut rng),
                debit,
                credit,
                quantity,
                quantity * item.unit_price_fen,
                code,
                format!("QD{:016}", n / 64),
                t0 + chrono::Duration::milliseconds(1 + n as i64),
            ));
        }
        Workload { items, accounts, item_accounts, openings, stream }
    }

    /// The engine after the set-up: items, accounts and openings applied.
    fn ledger(&self) -> anyhow::Result<Ledger> {
        let mut ledger = Ledger::new();
        for item in &self.items {
            ledger.create_item(item.clone()).map_err(|e| anyhow::anyhow!("create_item: {e}"))?;
        }
        for account in &self.accounts {
            ledger.create_account(account.clone()).map_err(|e| anyhow::anyhow!("create_account: {e}"))?;
        }
        for result in ledger.apply(&self.openings) {
            result.map_err(|e| anyhow::anyhow!("opening: {e}"))?;
        }
        Ok(ledger)
    }

    /// Sum of the posted quantity of every stock account.
    fn stock_total(&self, ledger: &Ledger) -> i128 {
        self.item_accounts.iter().filter_map(|a| ledger.balance(a.stock)).map(|b| b.posted_quantity).sum()
    }
}

/// What one measured run did.
struct Run {
    system: String,
    transfers: usize,
    refused: usize,
    elapsed: Duration,
    /// For zonegate: time in `Ledger::apply`, in building the documents, in the store.
    split: Option<(Duration, Duration, Duration)>,
}

impl Run {
    fn accepted(&self) -> usize {
        self.transfers - self.refused
    }

    fn rate(&self) -> f64 {
        self.accepted() as f64 / self.elapsed.as_secs_f64()
    }
}

const RECORDED_BY: &str = "zonegate-bench";

fn document(
    enterprise: &str,
    kind: &str,
    number: String,
    transfers: Vec<Transfer>,
    refused: usize,
) -> NewLedgerDocument {
    let body_json = format!(r#"{{"kind":"{kind}","number":"{number}","transfers":{}}}"#, transfers.len() + refused);
    let body_sha256 = zonegate_store::chain::sha256_hex(&body_json);
    NewLedgerDocument {
        enterprise: enterprise.to_owned(),
        kind: kind.to_owned(),
        result_json: format!(r#"{{"accepted":{},"refused":{refused}}}"#, transfers.len()),
        number,
        body_json,
        body_sha256,
        recorded_by: RECORDED_BY.to_owned(),
        recorded_at: Utc::now(),
        items: Vec::new(),
        accounts: Vec::new(),
        transfers,
    }
}

async fn record(store: &dyn Store, document: NewLedgerDocument) -> anyhow::Result<()> {
    match store.record_ledger_document(document).await? {
        LedgerDocumentOutcome::Created(_) => Ok(()),
        other => bail!("ledger document not created: {other:?}"),
    }
}

/// Records the set-up (untimed): per enterprise, one document with its items, accounts and openings.
async fn record_setup(store: &dyn Store, workload: &Workload) -> anyhow::Result<()> {
    let enterprises =
        workload.item_accounts.iter().map(|a| a.enterprise.as_str()).collect::<std::collections::BTreeSet<_>>();
    for enterprise in enterprises {
        let mut doc = document(enterprise, "bench_setup", enterprise.to_owned(), Vec::new(), 0);
        for (index, entry) in workload.item_accounts.iter().enumerate() {
            if entry.enterprise == enterprise {
                doc.items.push(workload.items[index].clone());
                doc.accounts.extend(workload.accounts[index * 3..index * 3 + 3].iter().cloned());
                doc.transfers.push(workload.openings[index].clone());
            }
        }
        record(store, doc).await?;
    }
    Ok(())
}

/// zonegate: the engine decides each batch, the store records its accepted transfers in one document.
async fn zonegate_run(
    system: &str,
    store: &dyn Store,
    workload: &Workload,
    stream: &[Transfer],
    batch: usize,
) -> anyhow::Result<(Run, Ledger)> {
    let mut ledger = workload.ledger()?;
    record_setup(store, workload).await?;
    let (mut engine, mut prepare, mut storing) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut refused = 0;
    let started = Instant::now();
    for (number, chunk) in stream.chunks(batch.max(1)).enumerate() {
        let t = Instant::now();
        let results = ledger.apply(chunk);
        engine += t.elapsed();
        let t = Instant::now();
        let mut accepted = Vec::with_capacity(chunk.len());
        let mut batch_refused = 0;
        for (transfer, result) in chunk.iter().zip(results) {
            match result {
                Ok(_) => accepted.push(transfer.clone()),
                Err(TransferError::ExceedsCredits) => batch_refused += 1,
                Err(other) => bail!("transfer {} refused for {other}, not for its balance", transfer.id.0),
            }
        }
        refused += batch_refused;
        let doc = document(&uscc(0), "bench_batch", format!("B{number:08}"), accepted, batch_refused);
        prepare += t.elapsed();
        let t = Instant::now();
        record(store, doc).await?;
        storing += t.elapsed();
    }
    let elapsed = started.elapsed();
    let run = Run {
        system: system.to_owned(),
        transfers: stream.len(),
        refused,
        elapsed,
        split: Some((engine, prepare, storing)),
    };
    Ok((run, ledger))
}

/// Checks that the store kept every transfer the engine accepted, in order, and that the chain is intact.
async fn check_store(store: &dyn Store, workload: &Workload, ledger: &Ledger) -> anyhow::Result<()> {
    let log = store.ledger_log().await?;
    ensure!(
        log.transfers.len() == ledger.transfers().len(),
        "the store kept {} transfers, the engine accepted {}",
        log.transfers.len(),
        ledger.transfers().len()
    );
    ensure!(log.accounts.len() == workload.accounts.len(), "the store kept {} accounts", log.accounts.len());
    store.verify_chain().await?;
    Ok(())
}

fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

fn open_sqlite(path: &Path) -> anyhow::Result<zonegate_store_sqlite::SqliteStore> {
    remove_sqlite(path);
    zonegate_store_sqlite::SqliteStore::open(path).with_context(|| format!("cannot open {}", path.display()))
}

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL: the same double-entry transaction in SQL.

const PG_TABLES: &str = "
CREATE TABLE accounts (
    id bytea PRIMARY KEY,
    enterprise text NOT NULL,
    item_no text NOT NULL,
    kind text NOT NULL,
    debits_must_not_exceed_credits boolean NOT NULL,
    debits_posted bigint NOT NULL DEFAULT 0,
    credits_posted bigint NOT NULL DEFAULT 0,
    value_debits_posted bigint NOT NULL DEFAULT 0,
    value_credits_posted bigint NOT NULL DEFAULT 0,
    CHECK (NOT debits_must_not_exceed_credits
           OR (debits_posted <= credits_posted AND value_debits_posted <= value_credits_posted))
) WITH (fillfactor = 50);
CREATE TABLE transfers (
    id bytea PRIMARY KEY,
    debit_account_id bytea NOT NULL,
    credit_account_id bytea NOT NULL,
    quantity bigint NOT NULL CHECK (quantity >= 0),
    value_fen bigint NOT NULL CHECK (value_fen >= 0),
    code text NOT NULL,
    reference text NOT NULL,
    ts_us bigint NOT NULL
);";

/// One transfer: debit (only if the balance covers it), credit, insert; 1 row = accepted, 0 = refused.
const PG_TRANSFER: &str = "
WITH debit AS (
    UPDATE accounts SET debits_posted = debits_posted + $4, value_debits_posted = value_debits_posted + $5
    WHERE id = $2 AND (NOT debits_must_not_exceed_credits
                       OR (credits_posted - debits_posted >= $4 AND value_credits_posted - value_debits_posted >= $5))
    RETURNING 1
), credit AS (
    UPDATE accounts SET credits_posted = credits_posted + $4, value_credits_posted = value_credits_posted + $5
    WHERE id = $3 AND EXISTS (SELECT 1 FROM debit)
    RETURNING 1
)
INSERT INTO transfers (id, debit_account_id, credit_account_id, quantity, value_fen, code, reference, ts_us)
SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM credit)";

/// A transfer's statement parameters.
struct PgParams {
    id: Vec<u8>,
    debit: Vec<u8>,
    credit: Vec<u8>,
    quantity: i64,
    value_fen: i64,
    code: &'static str,
    reference: String,
    ts_us: i64,
}

impl PgParams {
    fn of(t: &Transfer) -> PgParams {
        PgParams {
            id: t.id.0.to_be_bytes().to_vec(),
            debit: t.debit_account_id.0.to_be_bytes().to_vec(),
            credit: t.credit_account_id.0.to_be_bytes().to_vec(),
            quantity: t.quantity as i64,
            value_fen: t.value_fen as i64,
            code: zonegate_store::backend::transfer_code_text(t.code),
            reference: t.reference.clone(),
            ts_us: t.timestamp.timestamp_micros(),
        }
    }

    fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 8] {
        [&self.id, &self.debit, &self.credit, &self.quantity, &self.value_fen, &self.code, &self.reference, &self.ts_us]
    }
}

/// Runs the futures as one pipeline: every request is sent first (each future's first poll queues its
/// statement on the connection), then the answers are collected in order.
async fn pipeline<F, T, E>(futures: Vec<F>) -> Result<Vec<T>, E>
where
    F: Future<Output = Result<T, E>>,
{
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<Result<T, E>>> = futures.iter().map(|_| None).collect();
    let mut sent = false;
    let mut next = 0;
    std::future::poll_fn(|cx| {
        if !sent {
            sent = true;
            for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
                if let Poll::Ready(result) = future.as_mut().poll(cx) {
                    *output = Some(result);
                }
            }
        }
        while next < futures.len() {
            if outputs[next].is_none() {
                match futures[next].as_mut().poll(cx) {
                    Poll::Ready(result) => outputs[next] = Some(result),
                    Poll::Pending => return Poll::Pending,
                }
            }
            next += 1;
        }
        Poll::Ready(())
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future completed")).collect()
}

struct Pg {
    client: tokio_postgres::Client,
    schema: String,
}

impl Pg {
    async fn connect(url: &str, schema: &str) -> anyhow::Result<Pg> {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.context("cannot connect to PostgreSQL")?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                eprintln!("postgres connection: {error}");
            }
        });
        client
            .batch_execute(&format!(
                "SET client_min_messages = warning; CREATE SCHEMA \"{schema}\"; SET search_path TO \"{schema}\";{PG_TABLES}"
            ))
            .await?;
        Ok(Pg { client, schema: schema.to_owned() })
    }

    async fn drop_schema(self) -> anyhow::Result<()> {
        self.client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema)).await?;
        Ok(())
    }

    /// Accounts and openings (untimed).
    async fn setup(&mut self, workload: &Workload) -> anyhow::Result<()> {
        let accounts = &workload.accounts;
        let ids: Vec<Vec<u8>> = accounts.iter().map(|a| a.id.0.to_be_bytes().to_vec()).collect();
        let enterprises: Vec<&str> = accounts.iter().map(|a| a.ledger.enterprise_uscc.as_str()).collect();
        let item_nos: Vec<&str> = accounts.iter().map(|a| a.ledger.item_no.as_str()).collect();
        let kinds: Vec<&str> = accounts.iter().map(|a| zonegate_store::backend::account_kind_text(a.kind)).collect();
        let limited: Vec<bool> = accounts.iter().map(|a| a.flags.debits_must_not_exceed_credits).collect();
        self.client
            .execute(
                "INSERT INTO accounts (id, enterprise, item_no, kind, debits_must_not_exceed_credits)
                 SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::text[], $4::text[], $5::bool[])",
                &[&ids, &enterprises, &item_nos, &kinds, &limited],
            )
            .await?;
        let accepted = self.apply_batch(&workload.openings).await?;
        ensure!(accepted.iter().all(|a| *a), "PostgreSQL refused an opening entry");
        self.client.batch_execute("ANALYZE accounts").await?;
        Ok(())
    }

    /// One transaction, the statements pipelined; whether each transfer was accepted.
    async fn apply_batch(&mut self, transfers: &[Transfer]) -> anyhow::Result<Vec<bool>> {
        let statement = self.client.prepare(PG_TRANSFER).await?;
        let rows: Vec<PgParams> = transfers.iter().map(PgParams::of).collect();
        let params: Vec<_> = rows.iter().map(PgParams::params).collect();
        let transaction = self.client.transaction().await?;
        let counts = pipeline(params.iter().map(|p| transaction.execute(&statement, p)).collect()).await?;
        transaction.commit().await?;
        Ok(counts.into_iter().map(|n| n == 1).collect())
    }

    async fn batched(&mut self, system: &str, stream: &[Transfer], batch: usize) -> anyhow::Result<Run> {
        let statement = self.client.prepare(PG_TRANSFER).await?;
        let mut refused = 0;
        let started = Instant::now();
        for chunk in stream.chunks(batch.max(1)) {
            let rows: Vec<PgParams> = chunk.iter().map(PgParams::of).collect();
            let params: Vec<_> = rows.iter().map(PgParams::params).collect();
            let transaction = self.client.transaction().await?;
            let counts = pipeline(params.iter().map(|p| transaction.execute(&statement, p)).collect()).await?;
            transaction.commit().await?;
            refused += counts.iter().filter(|n| **n == 0).count();
        }
        Ok(Run { system: system.to_owned(), transfers: stream.len(), refused, elapsed: started.elapsed(), split: None })
    }

    async fn one_per_commit(&mut self, system: &str, stream: &[Transfer]) -> anyhow::Result<Run> {
        let statement = self.client.prepare(PG_TRANSFER).await?;
        let mut refused = 0;
        let started = Instant::now();
        for transfer in stream {
            let row = PgParams::of(transfer);
            if self.client.execute(&statement, &row.params()).await? == 0 {
                refused += 1;
            }
        }
        Ok(Run { system: system.to_owned(), transfers: stream.len(), refused, elapsed: started.elapsed(), split: None })
    }

    /// Sum of the stock accounts' posted quantity, and how many transfers were kept.
    async fn totals(&self) -> anyhow::Result<(i128, usize)> {
        let row = self
            .client
            .query_one(
                "SELECT (SELECT coalesce(sum(credits_posted - debits_posted), 0)::bigint FROM accounts WHERE kind = 'stock'),
                        (SELECT count(*) FROM transfers)",
                &[],
            )
            .await?;
        Ok((i128::from(row.get::<_, i64>(0)), row.get::<_, i64>(1) as usize))
    }

    async fn settings(&self) -> anyhow::Result<String> {
        let row = self
            .client
            .query_one(
                "SELECT current_setting('server_version'), current_setting('synchronous_commit'), current_setting('fsync'),
                        current_setting('wal_sync_method'), current_setting('shared_buffers')",
                &[],
            )
            .await?;
        Ok(format!(
            "PostgreSQL {} (synchronous_commit={}, fsync={}, wal_sync_method={}, shared_buffers={}), local TCP",
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2),
            row.get::<_, String>(3),
            row.get::<_, String>(4)
        ))
    }
}

/// Checks PostgreSQL ended where the engine did.
async fn check_pg(pg: &Pg, workload: &Workload, ledger: &Ledger) -> anyhow::Result<()> {
    let (stock, kept) = pg.totals().await?;
    ensure!(
        stock == workload.stock_total(ledger),
        "PostgreSQL stock total {stock} ≠ engine {}",
        workload.stock_total(ledger)
    );
    ensure!(
        kept == ledger.transfers().len(),
        "PostgreSQL kept {kept} transfers, the engine {}",
        ledger.transfers().len()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_owned()))
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|m| m.trim().to_owned()))
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{} cores ({model}), {memory} RAM, Linux {}; load average at start {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        kernel.trim(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    )
}

fn print_table(runs: &[Run], baselines: &[(&str, &str)]) {
    println!(
        "\n{:<52} {:>9} {:>8} {:>9} {:>12} {:>10}",
        "system", "transfers", "refused", "seconds", "postings/s", "vs PG"
    );
    for run in runs {
        let ratio = baselines
            .iter()
            .find(|(system, _)| *system == run.system)
            .and_then(|(_, baseline)| runs.iter().find(|r| r.system == *baseline))
            .map_or(String::new(), |baseline| format!("{:.2}×", run.rate() / baseline.rate()));
        println!(
            "{:<52} {:>9} {:>8} {:>9.3} {:>12.0} {:>10}",
            run.system,
            run.transfers,
            run.refused,
            run.elapsed.as_secs_f64(),
            run.rate(),
            ratio
        );
    }
    for run in runs {
        if let Some((engine, prepare, store)) = run.split {
            println!(
                "  {}: engine {:.3} s ({:.0}/s), documents {:.3} s, store {:.3} s ({:.0}/s)",
                run.system,
                engine.as_secs_f64(),
                run.transfers as f64 / engine.as_secs_f64(),
                prepare.as_secs_f64(),
                store.as_secs_f64(),
                run.accepted() as f64 / store.as_secs_f64()
            );
        }
    }
}

const ZG_BATCHED: &str = "zonegate (engine + SQLite store), batched";
const ZG_SINGLE: &str = "zonegate (engine + SQLite store), 1 per commit";
const ZG_PG_BATCHED: &str = "zonegate (engine + PostgreSQL store), batched";
const PG_BATCHED: &str = "PostgreSQL, same transaction in SQL, batched";
const PG_SINGLE: &str = "PostgreSQL, same transaction in SQL, 1 per commit";

pub async fn run(args: BenchLedgerArgs) -> anyhow::Result<()> {
    ensure!(
        args.items > 0 && args.enterprises > 0 && args.batch > 0,
        "--items, --enterprises and --batch must be positive"
    );
    let (dir, remove_dir) = match &args.dir {
        Some(dir) => (dir.clone(), false),
        None => (std::env::temp_dir().join(format!("zonegate-bench-ledger-{}", std::process::id())), true),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let started = Instant::now();
    let workload = Workload::generate(&args);
    let stream = &workload.stream[..args.transfers];
    let single = &workload.stream[..args.single];
    println!(
        "zonegate bench-ledger: {} items over {} enterprises (3 accounts each, opening {OPENING_QUANTITY} units); \
         batched: {} transfers in batches of {}; one per commit: the first {}; seed {} (workload built in {:.2} s)",
        args.items,
        args.enterprises,
        args.transfers,
        args.batch,
        args.single,
        args.seed,
        started.elapsed().as_secs_f64()
    );
    println!("machine: {}", machine());
    println!(
        "SQLite: {} (WAL, synchronous=FULL: durability `full`, the store's default), files in {}",
        rusqlite::version(),
        dir.display()
    );

    let mut runs = Vec::new();
    // zonegate on SQLite.
    let path = dir.join("ledger-batched.db");
    let store = open_sqlite(&path)?;
    let (run, batched_ledger) = zonegate_run(ZG_BATCHED, &store, &workload, stream, args.batch).await?;
    check_store(&store, &workload, &batched_ledger).await?;
    drop(store);
    remove_sqlite(&path);
    runs.push(run);
    let path = dir.join("ledger-single.db");
    let store = open_sqlite(&path)?;
    let (run, single_ledger) = zonegate_run(ZG_SINGLE, &store, &workload, single, 1).await?;
    check_store(&store, &workload, &single_ledger).await?;
    drop(store);
    remove_sqlite(&path);
    runs.push(run);

    match &args.postgres {
        Some(url) => {
            let schema = format!("zonegate_bench_ledger_{}", std::process::id());
            let mut pg = Pg::connect(url, &schema).await?;
            println!("{}; schema {schema}, dropped after", pg.settings().await?);
            pg.setup(&workload).await?;
            let run = pg.batched(PG_BATCHED, stream, args.batch).await?;
            check_pg(&pg, &workload, &batched_ledger).await?;
            runs.push(run);
            pg.drop_schema().await?;
            let mut pg = Pg::connect(url, &schema).await?;
            pg.setup(&workload).await?;
            let run = pg.one_per_commit(PG_SINGLE, single).await?;
            check_pg(&pg, &workload, &single_ledger).await?;
            runs.push(run);
            pg.drop_schema().await?;

            let store_schema = format!("zonegate_bench_ledger_store_{}", std::process::id());
            let store = zonegate_store_pg::PgStore::connect_with_schema(url, &store_schema).await?;
            let (run, ledger) = zonegate_run(ZG_PG_BATCHED, &store, &workload, stream, args.batch).await?;
            check_store(&store, &workload, &ledger).await?;
            drop(store);
            runs.push(run);
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client
                .batch_execute(&format!("SET client_min_messages = warning; DROP SCHEMA \"{store_schema}\" CASCADE"))
                .await?;

            let refusals = |system: &str| runs.iter().find(|r| r.system == system).map(|r| r.refused);
            ensure!(
                refusals(ZG_BATCHED) == refusals(PG_BATCHED) && refusals(ZG_BATCHED) == refusals(ZG_PG_BATCHED),
                "batched refusals disagree: zonegate {:?}, PostgreSQL {:?}, zonegate on PostgreSQL {:?}",
                refusals(ZG_BATCHED),
                refusals(PG_BATCHED),
                refusals(ZG_PG_BATCHED)
            );
            ensure!(
                refusals(ZG_SINGLE) == refusals(PG_SINGLE),
                "one-per-commit refusals disagree: zonegate {:?}, PostgreSQL {:?}",
                refusals(ZG_SINGLE),
                refusals(PG_SINGLE)
            );
            println!(
                "refusals agree: {} of {} batched, {} of {} one per commit (every refusal: stock would go negative); \
                 final stock totals and transfer counts agree",
                refusals(ZG_BATCHED).unwrap_or_default(),
                args.transfers,
                refusals(ZG_SINGLE).unwrap_or_default(),
                args.single
            );
        }
        None => println!("PostgreSQL rows skipped: no --postgres URL"),
    }
    print_table(&runs, &[(ZG_BATCHED, PG_BATCHED), (ZG_SINGLE, PG_SINGLE), (ZG_PG_BATCHED, PG_BATCHED)]);
    println!("(postings/s = accepted transfers / wall time, engine and durable commit included; set-up untimed)");
    if remove_dir {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
