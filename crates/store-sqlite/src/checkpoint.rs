//! The checkpointer thread: copies committed pages from the WAL back into the database file, off the
//! writer's thread.
//!
//! Left to itself, SQLite checkpoints inside the COMMIT that crosses `wal_autocheckpoint`, on the writer's
//! thread, fsyncing the WAL and the database file while every queued submission waits. Here a separate
//! connection runs PASSIVE checkpoints (which never block the writer or readers) shortly after commits,
//! rate-limited. The writer keeps a high `wal_autocheckpoint` only as a bound on the WAL's size: under a
//! sustained load that never lets the WAL be fully checkpointed between two batches, the writer's own
//! checkpoint finishes the little that is left and SQLite starts the WAL over.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use zonegate_store::{StoreError, StoreResult};

use crate::schema::{self, Durability};

/// Least time between two checkpoints.
const INTERVAL: Duration = Duration::from_millis(100);

/// Starts the checkpointer on its own connection; the writer rings the returned doorbell after commits.
/// The thread ends when the doorbell is dropped (with the writer), after a last checkpoint.
pub(crate) fn spawn(path: &Path, durability: Durability) -> StoreResult<SyncSender<()>> {
    let conn = schema::open_checkpointer(path, durability)?;
    let (doorbell, rings) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("zonegate-sqlite-checkpoint".into())
        .spawn(move || checkpointer_loop(conn, rings))
        .map_err(|e| StoreError::Backend(format!("sqlite: start the checkpoint thread: {e}")))?;
    Ok(doorbell)
}

fn checkpointer_loop(conn: Connection, rings: Receiver<()>) {
    let mut last = Instant::now();
    loop {
        match rings.recv_timeout(Duration::from_secs(5)) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                checkpoint(&conn);
                return;
            }
        }
        let since = last.elapsed();
        if since < INTERVAL {
            std::thread::sleep(INTERVAL - since);
        }
        checkpoint(&conn);
        last = Instant::now();
    }
}

/// A PASSIVE checkpoint: copies what it can without waiting for anyone. A failure is not fatal (the next
/// one, or the writer's own, catches up), so it is ignored.
fn checkpoint(conn: &Connection) {
    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
}
