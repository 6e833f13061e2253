//! Runs the shared conformance suite against the SQLite backend three times: on an in-memory database (reads
//! served by the writer thread), and on a database file (WAL, read pool) with the default `synchronous=FULL`
//! and with pipelined durability, so every read path and both durable commit paths are covered.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use zonegate_store::conformance::Case;
use zonegate_store_sqlite::{Durability, SqliteOptions, SqliteStore};

/// A directory of its own for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zonegate-sqlite-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn run_in_memory(_name: &'static str, case: Case) {
    let store = SqliteStore::open_in_memory().expect("open in-memory store");
    case(Arc::new(store)).await;
}

async fn run_on_file(name: &'static str, case: Case) {
    let dir = TempDir::new(name);
    let store = SqliteStore::open(&dir.0.join("zonegate.db")).expect("open file store");
    case(Arc::new(store)).await;
}

async fn run_on_file_pipelined(name: &'static str, case: Case) {
    let dir = TempDir::new(name);
    let options = SqliteOptions { durability: Durability::Pipelined, ..SqliteOptions::default() };
    let store = SqliteStore::open_with(&dir.0.join("zonegate.db"), options).expect("open file store");
    case(Arc::new(store)).await;
}

mod in_memory {
    zonegate_store::conformance_tests!(super::run_in_memory);
}

mod on_file {
    zonegate_store::conformance_tests!(super::run_on_file);
}

mod on_file_pipelined {
    zonegate_store::conformance_tests!(super::run_on_file_pipelined);
}
