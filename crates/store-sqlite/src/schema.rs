//! Opening SQLite connections with the right pragmas, and bringing the schema up to date.
//!
//! Migrations are embedded SQL files applied in order inside one IMMEDIATE transaction and recorded in
//! `schema_migrations(version, checksum)`. Re-opening applies nothing; an applied migration whose text changed
//! is refused (see [`zonegate_store::backend::pending_migrations`]).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use zonegate_store::backend::{pending_migrations, to_micros, Migration};
use zonegate_store::{StoreError, StoreResult};

use crate::sql::Context;

/// The schema, in order. Applied migrations must never be edited: add a new file instead.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") },
    Migration {
        version: 2,
        name: "accounts_attribution_stats",
        sql: include_str!("../migrations/0002_accounts_attribution_stats.sql"),
    },
    Migration { version: 3, name: "inspections", sql: include_str!("../migrations/0003_inspections.sql") },
    Migration { version: 4, name: "ledger", sql: include_str!("../migrations/0004_ledger.sql") },
    Migration { version: 5, name: "cbec", sql: include_str!("../migrations/0005_cbec.sql") },
];

/// How long a connection waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Page size of new database files.
const PAGE_SIZE: i64 = 8192;

/// Page cache of the writer connection, in KiB (as a negative `cache_size`).
const WRITER_CACHE_KIB: i64 = -65_536;

/// WAL pages after which the writer's own commit checkpoints. Normally the checkpointer thread does it long
/// before (see [`crate::checkpoint`]); this only bounds the WAL (256 MiB at 8 KiB pages).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 32_768;

/// What an answered write promises, and how the writer keeps that promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// The default: `PRAGMA synchronous=FULL`. The fsync happens inside each group commit on the writer
    /// thread; a write is answered once it is on disk, and nothing is visible to readers before that.
    #[default]
    Full,
    /// The same promise for answered writes, with the fsync moved off the writer thread: the connection uses
    /// `PRAGMA synchronous=NORMAL` (SQLite still syncs around checkpoints, which keeps the file consistent)
    /// and a second thread `fdatasync`s the WAL before answering the batch's callers, while the writer
    /// already executes the next batch. Faster when the disk is slow to sync, but a commit is visible to
    /// readers (and to later submissions, which then answer `Repeat`, also only after the sync) a few
    /// milliseconds before it is durable.
    Pipelined,
    /// `PRAGMA synchronous=NORMAL` without the extra fsync: answered writes survive a crash of the process
    /// but the last ones may be lost on power failure.
    Normal,
    /// `PRAGMA synchronous=OFF`: for throwaway databases only.
    Off,
}

impl Durability {
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Pipelined | Durability::Normal => "NORMAL",
            Durability::Off => "OFF",
        }
    }
}

/// Opens the read-write connection the writer thread owns: WAL, the chosen durability, foreign keys on.
pub(crate) fn open_writer(path: Option<&Path>, durability: Durability) -> StoreResult<Connection> {
    let conn = match path {
        Some(path) => Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ctx(&format!("open {}", path.display()))?,
        None => Connection::open_in_memory().ctx("open in-memory database")?,
    };
    conn.busy_timeout(BUSY_TIMEOUT).ctx("set busy_timeout")?;
    if path.is_some() {
        // Only takes effect on a new, empty file: two ~3 KB documents share a page, so fewer pages are written.
        conn.pragma_update(None, "page_size", PAGE_SIZE).ctx("set page_size")?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).ctx("enable WAL")?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!("sqlite: WAL mode refused, journal_mode is {mode}")));
        }
    }
    conn.pragma_update(None, "synchronous", durability.pragma()).ctx("set synchronous")?;
    conn.pragma_update(None, "foreign_keys", true).ctx("enable foreign keys")?;
    // Savepoint journals stay in memory; a group commit's dirty pages fit the cache without spilling;
    // checkpoints run less often, so hot pages are copied back to the database file fewer times.
    conn.pragma_update(None, "temp_store", "MEMORY").ctx("set temp_store")?;
    conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB).ctx("set cache_size")?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES).ctx("set wal_autocheckpoint")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Opens the checkpointer's connection: same file, same durability (a checkpoint syncs the WAL before it
/// copies and the database file after, unless durability is `Off`), never checkpointing on commit.
pub(crate) fn open_checkpointer(path: &Path, durability: Durability) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .ctx(&format!("open {} for checkpoints", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT).ctx("set busy_timeout")?;
    conn.pragma_update(None, "synchronous", durability.pragma()).ctx("set synchronous")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0).ctx("set wal_autocheckpoint")?;
    Ok(conn)
}

/// Opens the database's WAL file for the sync thread of [`Durability::Pipelined`], and makes the WAL's
/// directory entry durable (a freshly created WAL would otherwise vanish with its synced contents on
/// power loss). The writer connection keeps the WAL in place for as long as the store is open.
pub(crate) fn open_wal_for_sync(path: &Path) -> StoreResult<File> {
    let mut wal_name = path.as_os_str().to_owned();
    wal_name.push("-wal");
    let wal_path = PathBuf::from(wal_name);
    let wal = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&wal_path)
        .map_err(|e| StoreError::Backend(format!("sqlite: open {} to sync it: {e}", wal_path.display())))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    File::open(&dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| StoreError::Backend(format!("sqlite: sync directory {}: {e}", dir.display())))?;
    Ok(wal)
}

/// Opens one read-only connection of the read pool.
pub(crate) fn open_reader(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .ctx(&format!("open {} for reading", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT).ctx("set busy_timeout")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Applies the pending migrations of `migrations`, all in one transaction.
pub(crate) fn migrate(conn: &mut Connection, migrations: &[Migration]) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin migration")?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version        INTEGER PRIMARY KEY,
             name           TEXT    NOT NULL,
             checksum       TEXT    NOT NULL,
             applied_at_us  INTEGER NOT NULL
         )",
    )
    .ctx("create schema_migrations")?;
    let applied = {
        let mut stmt =
            tx.prepare("SELECT version, checksum FROM schema_migrations ORDER BY version").ctx("read migrations")?;
        let rows =
            stmt.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))).ctx("read migrations")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("read migrations")?
    };
    for migration in pending_migrations(migrations, &applied)? {
        tx.execute_batch(migration.sql).ctx(&format!("apply migration {} ({})", migration.version, migration.name))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at_us) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![migration.version, migration.name, migration.checksum(), to_micros(chrono::Utc::now())],
        )
        .ctx("record migration")?;
    }
    tx.commit().ctx("commit migrations")
}
