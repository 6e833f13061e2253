//! `zonegate bench`: throughput of the assessment core and of durable submissions, each set against a
//! baseline measured in the same run. A benchmark, not a test: it prints figures and asserts nothing.
//!
//! Workload: deterministic (seeded) declarations of `--items` items drawn from lines of the shipped
//! schedule, across all five flows, including consumption-tax goods (spirits per litre, cars by engine
//! size, cigarettes by count, diesel), exempt equipment and the 30 % rule.

use anyhow::Context;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zonegate_app::{App, FixedClock};
use zonegate_store::{NewDeclaration, Store};
use zonegate_store_sqlite::SqliteStore;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Declarations assessed in memory.
    #[arg(long, default_value_t = 20_000)]
    assessments: usize,
    /// Items per declaration.
    #[arg(long, default_value_t = 10)]
    items: usize,
    /// Declarations recorded durably.
    #[arg(long, default_value_t = 40_000)]
    submissions: usize,
    /// Concurrent submitting tasks (each group commit takes up to 2,048 waiting submissions).
    #[arg(long, default_value_t = 2048)]
    concurrency: usize,
    /// Also measure durable submissions through PostgreSQL at this URL (in a fresh schema, dropped after).
    #[arg(long)]
    postgres: Option<String>,
    /// Also measure the SQLite store with `pipelined` durability (same promise to writers, fsync on its own
    /// thread).
    #[arg(long)]
    pipelined: bool,
    /// Folder for the benchmark databases (default: a fresh folder under the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// One kind of goods line: (hs, unit, quantity, value, attributes).
type Goods = (&'static str, &'static str, &'static str, &'static str, &'static [(&'static str, &'static str)]);

const GOODS: &[Goods] = &[
    ("84713000", "C62", "20", "160000.00", &[]),
    ("33049900", "KGM", "120", "71000.00", &[]),
    ("22083000", "C62", "600", "90000.00", &[("volume_l", "0.7"), ("abv", "40")]),
    ("87034011", "C62", "2", "420000.00", &[("engine_cc", "1998")]),
    ("24022000", "C62", "20000", "36000.00", &[]),
    ("27101926", "LTR", "30000", "165000.00", &[]),
    ("25232900", "TNE", "400", "120000.00", &[]),
    ("02013000", "KGM", "5000", "310000.00", &[]),
    ("94036000", "C62", "40", "52000.00", &[]),
    ("22042100", "LTR", "900", "48000.00", &[]),
];

const FLOWS: &[(&str, &str)] = &[
    ("first_line_in", "own_use"),
    ("first_line_in", "resale"),
    ("second_line_out", "resale"),
    ("zone_transfer", "sale_to_individual"),
    ("zone_transfer", "resale"),
    ("second_line_in", "resale"),
    ("first_line_out", "resale"),
];

/// A small deterministic generator (64-bit LCG), so every run measures the same workload.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % bound as u64) as usize
    }
}

fn declaration(index: usize, items: usize, rng: &mut Lcg) -> Value {
    let (flow, purpose) = FLOWS[rng.next(FLOWS.len())];
    let goods: Vec<Value> = (0..items)
        .map(|_| {
            let (hs, unit, quantity, value, attributes) = GOODS[rng.next(GOODS.len())];
            let mut item = json!({ "hs": hs, "description": "bench goods", "quantity": quantity, "unit": unit, "value": value, "origin": "PT" });
            if !attributes.is_empty() {
                item["attributes"] = attributes.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>().into();
            }
            if flow == "second_line_out" {
                item["processing"] = json!({ "imported_materials_cny": "100000.00", "domestic_materials_cny": "20000.00", "sale_price_cny": if rng.next(2) == 0 { "160000.00" } else { "150000.00" } });
            }
            item
        })
        .collect();
    json!({
        "reference": format!("BENCH-{index:08}"),
        "zone": "hengqin",
        "flow": flow,
        "declared_on": format!("2026-03-{:02}", 1 + index % 28),
        "declarant": "91440400MA4UJ0J57H",
        "importer": "91440400MA4UJ0J57H",
        "purpose": purpose,
        "currency": "MOP",
        "exchange_rate": "0.8812",
        "value_basis": if rng.next(3) == 0 { "FOB" } else { "CIF" },
        "freight": "1200.00",
        "insurance": "300.00",
        "items": goods,
    })
}

fn text_or_lz4(text: &str, compressed: bool) -> rusqlite::types::Value {
    if compressed {
        rusqlite::types::Value::Blob(lz4_flex::block::compress_prepend_size(text.as_bytes()))
    } else {
        rusqlite::types::Value::Text(text.to_owned())
    }
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// Inserts the rows into a plain table with the same columns and unique key, `batch` rows per commit. With
/// `compressed`, the two JSON texts are LZ4-compressed as the store does (inside the timed loop).
fn plain_sqlite_insert(
    path: &std::path::Path,
    rows: &[NewDeclaration],
    batch: usize,
    compressed: bool,
) -> anyhow::Result<Duration> {
    let mut connection = rusqlite::Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.execute_batch(
        "CREATE TABLE plain (id INTEGER PRIMARY KEY, declarant TEXT NOT NULL, reference TEXT NOT NULL, zone TEXT NOT NULL,
           flow TEXT NOT NULL, declared_on TEXT NOT NULL, treatments TEXT NOT NULL, channel TEXT NOT NULL, payable_fen INTEGER NOT NULL,
           document_sha256 TEXT NOT NULL, document_json TEXT NOT NULL, assessment_json TEXT NOT NULL, recorded_at_us INTEGER NOT NULL,
           UNIQUE (declarant, reference));",
    )?;
    let started = Instant::now();
    for chunk in rows.chunks(batch) {
        let transaction = connection.transaction()?;
        {
            let mut statement = transaction.prepare_cached(
                "INSERT INTO plain (declarant, reference, zone, flow, declared_on, treatments, channel, payable_fen, document_sha256, document_json, assessment_json, recorded_at_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            for row in chunk {
                statement.execute(rusqlite::params![
                    row.declarant,
                    row.reference,
                    row.zone,
                    row.flow,
                    row.declared_on.to_string(),
                    row.treatments.join(","),
                    row.channel,
                    row.payable_fen,
                    row.document_sha256,
                    text_or_lz4(&row.document_json, compressed),
                    text_or_lz4(&row.assessment_json, compressed),
                    row.recorded_at.timestamp_micros(),
                ])?;
            }
        }
        transaction.commit()?;
    }
    Ok(started.elapsed())
}

async fn submit_concurrently(
    store: Arc<dyn Store>,
    rows: Vec<NewDeclaration>,
    concurrency: usize,
) -> anyhow::Result<Duration> {
    let rows = Arc::new(rows);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let store = store.clone();
        let rows = rows.clone();
        tasks.push(tokio::spawn(async move {
            let mut index = worker;
            while let Some(row) = rows.get(index) {
                store.submit_declaration(row.clone()).await?;
                index += concurrency;
            }
            Ok::<_, zonegate_store::StoreError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

async fn app_submit_concurrently(
    app: Arc<App>,
    documents: Arc<Vec<Value>>,
    concurrency: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let app = app.clone();
        let documents = documents.clone();
        tasks.push(tokio::spawn(async move {
            let mut index = worker;
            while let Some(document) = documents.get(index) {
                app.submit(&zonegate_app::auth::Principal::platform("zonegate-bench"), document)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                index += concurrency;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("zonegate-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let clock = Arc::new(FixedClock(chrono::DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z")?.to_utc()));
    println!(
        "zonegate bench: {} items per declaration; machine: {} cores",
        args.items,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // 1. The assessment core, one thread.
    let scratch: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory()?);
    let app = App::open(scratch, clock.clone()).await?;
    app.load_demo().await?;
    let mut rng = Lcg(2026);
    let documents: Vec<Value> = (0..args.assessments).map(|i| declaration(i, args.items, &mut rng)).collect();
    let book = app.book();
    let declarations: Vec<_> = documents
        .iter()
        .map(|d| zonegate_app::parse_declaration(&book, d))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let parties: Vec<_> = declarations
        .iter()
        .map(|d| app.get_party(&zonegate_app::auth::Principal::platform("zonegate-bench"), d.declarant.as_str()).ok())
        .collect();
    let started = Instant::now();
    let mut payable = rust_decimal::Decimal::ZERO;
    for (declaration, party) in declarations.iter().zip(&parties) {
        let assessment = zonegate_policy::assess(&book, declaration, party.as_ref(), party.as_ref())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        payable += assessment.totals.payable_cny;
    }
    let core = started.elapsed();
    let started = Instant::now();
    for document in &documents {
        app.prepare(&zonegate_app::auth::Principal::platform("zonegate-bench"), document)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let full = started.elapsed();
    let items = args.assessments * args.items;
    println!(
        "\n[assessment, in process, 1 thread] {} declarations = {items} items (payable total {payable} CNY)",
        args.assessments
    );
    println!("  assess (typed declaration → assessment):        {:>12.0} items/s", rate(items, core));
    println!("  parse JSON + assess + serialize assessment JSON: {:>12.0} items/s", rate(items, full));

    // 2. Durable submissions: prepared rows through the store, against plain SQLite inserts of the same rows.
    let mut rng = Lcg(7);
    let mut rows = Vec::with_capacity(args.submissions);
    for index in 0..args.submissions {
        let document = declaration(index, args.items, &mut rng);
        rows.push(
            app.prepare(&zonegate_app::auth::Principal::platform("zonegate-bench"), &document)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .record,
        );
    }
    let average_bytes =
        rows.iter().map(|r| r.document_json.len() + r.assessment_json.len()).sum::<usize>() / rows.len().max(1);
    let store_path = dir.join("store.db");
    let plain_path = dir.join("plain.db");
    for path in [&store_path, &plain_path, &dir.join("plain-lz4.db")] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&store_path)?);
    let grouped = submit_concurrently(store.clone(), rows.clone(), args.concurrency).await?;
    let report = store.verify_chain().await?;
    let plain = tokio::task::spawn_blocking({
        let rows = rows.clone();
        let plain_path = plain_path.clone();
        move || plain_sqlite_insert(&plain_path, &rows, 512, false)
    })
    .await??;
    let plain_lz4 = tokio::task::spawn_blocking({
        let rows = rows.clone();
        let path = dir.join("plain-lz4.db");
        move || plain_sqlite_insert(&path, &rows, 512, true)
    })
    .await??;
    let plain_single = tokio::task::spawn_blocking({
        let rows: Vec<NewDeclaration> = rows.iter().take(2_000).cloned().collect();
        let path = dir.join("plain-single.db");
        let _ = std::fs::remove_file(&path);
        move || plain_sqlite_insert(&path, &rows, 1, false).map(|d| (d, rows.len()))
    })
    .await??;
    let submissions = args.submissions;
    println!("\n[durable submissions, SQLite WAL synchronous=FULL] {submissions} declarations of ~{average_bytes} bytes (document + assessment), {} concurrent tasks", args.concurrency);
    println!(
        "  zonegate store, group commit (+ event chain):  {:>10.0} declarations/s  ({} events verified)",
        rate(submissions, grouped),
        report.events
    );
    println!(
        "  plain SQLite insert, JSON text, 512 per commit: {:>9.0} declarations/s  → store/plain ratio {:.2}",
        rate(submissions, plain),
        plain.as_secs_f64() / grouped.as_secs_f64()
    );
    println!(
        "  plain SQLite insert, LZ4 blobs, 512 per commit: {:>9.0} declarations/s  → store/plain ratio {:.2}",
        rate(submissions, plain_lz4),
        plain_lz4.as_secs_f64() / grouped.as_secs_f64()
    );
    println!(
        "  plain SQLite insert, JSON text, 1 per commit:   {:>9.0} declarations/s  → store/plain ratio {:.2}",
        rate(plain_single.1, plain_single.0),
        rate(submissions, grouped) / rate(plain_single.1, plain_single.0)
    );

    if args.pipelined {
        let path = dir.join("store-pipelined.db");
        let options = zonegate_store_sqlite::SqliteOptions {
            durability: zonegate_store_sqlite::Durability::Pipelined,
            ..zonegate_store_sqlite::SqliteOptions::default()
        };
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_with(&path, options)?);
        let elapsed = submit_concurrently(store.clone(), rows.clone(), args.concurrency).await?;
        println!(
            "  zonegate store, durability `pipelined`:        {:>10.0} declarations/s",
            rate(submissions, elapsed)
        );
    }
    if let Some(url) = &args.postgres {
        let schema = format!("zonegate_bench_{}", std::process::id());
        let store: Arc<dyn Store> = Arc::new(zonegate_store_pg::PgStore::connect_with_schema(url, &schema).await?);
        let elapsed = submit_concurrently(store.clone(), rows.clone(), args.concurrency).await?;
        let report = store.verify_chain().await?;
        println!(
            "  zonegate store on PostgreSQL, group commit:    {:>10.0} declarations/s  ({} events verified; schema {schema} dropped)",
            rate(submissions, elapsed),
            report.events
        );
        drop(store);
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await?;
    }

    // 3. End to end through the app: parse, assess, record.
    let e2e_path = dir.join("e2e.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", e2e_path.display()));
    }
    let e2e_app = Arc::new(App::open(Arc::new(SqliteStore::open(&e2e_path)?), clock).await?);
    e2e_app.load_demo().await?;
    let mut rng = Lcg(11);
    let documents: Arc<Vec<Value>> = Arc::new((0..submissions).map(|i| declaration(i, args.items, &mut rng)).collect());
    let e2e = app_submit_concurrently(e2e_app.clone(), documents, args.concurrency).await?;
    println!(
        "\n[end to end, App::submit: parse + assess + record] {:>10.0} declarations/s = {:.0} items/s",
        rate(submissions, e2e),
        rate(submissions * args.items, e2e)
    );

    // 4. Reads over what was just recorded: console pages, monitoring, API list and statistics.
    crate::bench_reads::run(e2e_app, submissions).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
