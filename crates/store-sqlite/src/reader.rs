//! Where reads run: a small pool of read-only connections used from tokio's blocking threads, or, for an
//! in-memory database that no other connection can open, the writer thread itself.
//!
//! A semaphore bounds the number of reads in flight to the pool size, so a burst of reads neither opens
//! unbounded connections nor floods the blocking thread pool; idle connections are kept for reuse.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;
use zonegate_store::{StoreError, StoreResult};

use crate::schema;

pub(crate) enum Readers {
    Pool(Arc<ReadPool>),
    /// Reads are sent to the writer thread (in-memory database).
    Writer,
}

impl Readers {
    pub(crate) fn pool(path: &Path, size: usize) -> Readers {
        let size = size.max(1);
        Readers::Pool(Arc::new(ReadPool {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Arc::new(Semaphore::new(size)),
        }))
    }
}

pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

fn poisoned() -> StoreError {
    StoreError::Backend("sqlite: the read pool lock is poisoned".into())
}

impl ReadPool {
    /// Runs `op` on a pooled read-only connection on a blocking thread.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("sqlite: the read pool is closed".into()))?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let conn = pool.checkout()?;
            let result = op(&conn);
            pool.checkin(conn)?;
            drop(permit);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("sqlite: read task failed: {e}")))?
    }

    fn checkout(&self) -> StoreResult<Connection> {
        let idle = self.idle.lock().map_err(|_| poisoned())?.pop();
        match idle {
            Some(conn) => Ok(conn),
            None => schema::open_reader(&self.path),
        }
    }

    fn checkin(&self, conn: Connection) -> StoreResult<()> {
        self.idle.lock().map_err(|_| poisoned())?.push(conn);
        Ok(())
    }
}
