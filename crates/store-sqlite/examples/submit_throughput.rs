//! Measures durable `submit_declaration` throughput of the SQLite backend under many concurrent callers,
//! which is what group commit exists for. Not a test: run it by hand, in release mode:
//!
//! ```text
//! cargo run --release -p zonegate-store-sqlite --example submit_throughput -- [COUNT] [TASKS] [DIR]
//! ```
//!
//! COUNT declarations (default 100000, ~3 KB of JSON each) are submitted by TASKS concurrent tokio tasks
//! (default 512) to a fresh database under DIR (default: the system temp directory); then COUNT more through
//! `submit_many` in chunks; then COUNT more from concurrent tasks again; then the chain is verified.
//! `ZG_DURABILITY=full|pipelined|normal|off` picks the durability (default: full, the store's default);
//! `ZG_KEYS=scattered` makes every group commit insert keys from all over the unique index;
//! `ZG_BATCH_MAX=N` changes the most requests per group commit (default 512).

use std::sync::Arc;
use std::time::Instant;

use zonegate_store::conformance::declaration;
use zonegate_store::{NewDeclaration, Store, SubmitOutcome};
use zonegate_store_sqlite::{Durability, SqliteOptions, SqliteStore};

fn declarations(prefix: &str, count: usize) -> Vec<NewDeclaration> {
    (0..count).map(|i| declaration("91310000MA1FL1234X", &format!("{prefix}-{i:08}"), (i % 1000) as u32)).collect()
}

/// Submits `count` declarations from `tasks` concurrent tasks; returns submissions per second.
async fn concurrent(
    store: &Arc<SqliteStore>,
    prefix: &str,
    count: usize,
    tasks: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    // Interleaved (default): task k submits references k, k + TASKS, …, so a group commit inserts nearby
    // keys. Scattered (ZG_KEYS=scattered): task k submits its own contiguous range, so a group commit
    // inserts keys from all over the unique index and dirties one index page per declaration.
    let scattered = std::env::var("ZG_KEYS").as_deref() == Ok("scattered");
    let per_task = count.div_ceil(tasks);
    let mut chunks: Vec<Vec<NewDeclaration>> = (0..tasks).map(|_| Vec::new()).collect();
    for (i, d) in declarations(prefix, count).into_iter().enumerate() {
        chunks[if scattered { i / per_task } else { i % tasks }].push(d);
    }
    let started = Instant::now();
    let mut handles = Vec::new();
    for chunk in chunks {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            for d in chunk {
                match store.submit_declaration(d).await {
                    Ok(SubmitOutcome::Created(_)) => {}
                    other => return Err(format!("unexpected outcome {other:?}")),
                }
            }
            Ok(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// Submits `count` declarations through `submit_many`; returns submissions per second.
async fn many(store: &SqliteStore, prefix: &str, count: usize) -> Result<f64, Box<dyn std::error::Error>> {
    let work = declarations(prefix, count);
    let started = Instant::now();
    let mut iter = work.into_iter().peekable();
    while iter.peek().is_some() {
        let chunk: Vec<_> = iter.by_ref().take(10_000).collect();
        store.submit_many(chunk).await?;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let tasks: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(512).max(1);
    let base = args.next().map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("zonegate-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let durability = match std::env::var("ZG_DURABILITY").as_deref() {
        Ok("pipelined") => Durability::Pipelined,
        Ok("normal") => Durability::Normal,
        Ok("off") => Durability::Off,
        _ => Durability::Full,
    };
    let mut options = SqliteOptions { durability, ..SqliteOptions::default() };
    if let Some(batch_max) = std::env::var("ZG_BATCH_MAX").ok().and_then(|v| v.parse().ok()) {
        options.batch_max = batch_max;
    }
    let store = Arc::new(SqliteStore::open_with(&dir.join("bench.db"), options)?);
    let document_bytes = declaration("91310000MA1FL1234X", "X", 0).document_json.len();
    println!("{count} declarations, document {document_bytes} bytes, {tasks} concurrent tasks, {durability:?}");

    // Many concurrent callers, one submit_declaration each at a time; then the batch entry point; then
    // concurrent callers again, on a database that already holds both earlier rounds.
    let rate = concurrent(&store, "T1", count, tasks).await?;
    println!("concurrent submit_declaration (empty database): {rate:.0}/s");
    let rate = many(&store, "M", count).await?;
    println!("submit_many in chunks of 10 000: {rate:.0}/s");
    let rate = concurrent(&store, "T2", count, tasks).await?;
    println!("concurrent submit_declaration (again): {rate:.0}/s");

    let started = Instant::now();
    let report = store.verify_chain().await?;
    println!("verify_chain: {} events in {:.2?}", report.events, started.elapsed());
    drop(store);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
