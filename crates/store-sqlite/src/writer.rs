//! The one writer thread and its group commit.
//!
//! SQLite allows one writer at a time and a durable commit costs an fsync, so instead of a transaction per
//! request, a dedicated thread owns the read-write connection: it waits for the first request, drains
//! whatever else is already queued (up to the batch limit), runs them all inside one IMMEDIATE transaction,
//! commits once, and only then answers each request through its oneshot channel. If the batch cannot
//! commit, every request in it gets the error and nothing of it is kept.
//!
//! A request refused for what it asks (`NotFound`, `AlreadyExists`: an unknown token to revoke, a token id
//! that is taken) is answered, not failed: such a refusal is decided before the request writes anything,
//! so the batch goes on. Only a failure ([`StoreError::Backend`]) may leave partial writes behind.
//!
//! One failing request must not spoil the others, so requests are isolated by SAVEPOINTs: a request that
//! fails is rolled back to its savepoint and answered with its error; the others still commit. Savepoints
//! are not free, though (SQLite copies every page a request touches into the savepoint journal, which
//! halves throughput), and requests almost never fail. So a batch is first run optimistically without
//! them; only if some request fails is the whole transaction rolled back and the batch run again with one
//! SAVEPOINT per request. Requests are therefore re-runnable closures with no effect outside the database.
//!
//! The thread also keeps the chain strictly serial: it reads the chain head at the start of each batch
//! attempt and hands it to each request, restoring it when a request is rolled back.
//!
//! With [`Durability::Pipelined`](crate::Durability::Pipelined) the commit itself does not fsync: the
//! committed batch goes to a second thread that `fdatasync`s the WAL file and only then answers the callers,
//! while the writer already runs the next batch. Several committed batches can share one fsync.
//!
//! For an in-memory database (no second connection can see it) the thread also serves reads, between batches.

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc as std_mpsc;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};
use zonegate_store::backend::ChainHead;
use zonegate_store::{StoreError, StoreResult};

use crate::sql::{self, exec};

/// A write request as the thread sees it: run it (possibly twice), then answer it once the batch's fate
/// is known.
trait WriteTask: Send {
    /// Runs the request inside the open transaction; `false` when it failed (and must be rolled back). A
    /// refusal (`NotFound`, `AlreadyExists`) wrote nothing and is not a failure.
    fn run(&mut self, conn: &Connection, head: &mut ChainHead) -> bool;
    /// Answers the caller: `failure` is set when the batch did not commit.
    fn finish(self: Box<Self>, failure: Option<&str>);
}

struct Task<T, F> {
    op: F,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> WriteTask for Task<T, F>
where
    T: Send + 'static,
    F: FnMut(&Connection, &mut ChainHead) -> StoreResult<T> + Send + 'static,
{
    fn run(&mut self, conn: &Connection, head: &mut ChainHead) -> bool {
        let result = catch_unwind(AssertUnwindSafe(|| (self.op)(conn, head)))
            .unwrap_or_else(|_| Err(StoreError::Backend("sqlite: the write request panicked".into())));
        let ok = !matches!(result, Err(StoreError::Backend(_) | StoreError::ChainBroken { .. }));
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, failure: Option<&str>) {
        let Task { op, result, reply } = *self;
        // Release what the request holds before answering, so the caller gets sole ownership back.
        drop(op);
        let result = match (result, failure) {
            (Some(Err(own)), _) => Err(own),
            (_, Some(failure)) => Err(StoreError::Backend(failure.to_owned())),
            (Some(ok), None) => ok,
            (None, None) => Err(StoreError::Backend("sqlite: write request was not run".into())),
        };
        // The caller may have gone away (its future dropped): nothing to answer then.
        let _ = reply.send(result);
    }
}

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

enum Job {
    Write(Box<dyn WriteTask>),
    Read(ReadJob),
}

/// The handle the store keeps: a queue into the writer thread. Dropping it stops the thread once the
/// queue is empty.
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

/// An enqueued write's answer.
pub(crate) type Pending<T> = oneshot::Receiver<StoreResult<T>>;

fn stopped() -> StoreError {
    StoreError::Backend("sqlite: the writer thread has stopped".into())
}

impl Writer {
    /// Starts the writer thread on `conn` (already migrated). With `wal`, committed batches are answered by
    /// a second thread once it has fsynced that file (the database's WAL).
    /// After each commit the writer rings `checkpoints`, when given.
    pub(crate) fn spawn(
        conn: Connection,
        batch_max: usize,
        wal: Option<File>,
        checkpoints: Option<std_mpsc::SyncSender<()>>,
    ) -> StoreResult<Writer> {
        let batch_max = batch_max.max(1);
        let (jobs, queue) = mpsc::channel(batch_max * 4);
        let syncer = match wal {
            Some(wal) => {
                let (committed, to_sync) = std_mpsc::channel();
                std::thread::Builder::new()
                    .name("zonegate-sqlite-sync".into())
                    .spawn(move || syncer_loop(wal, to_sync))
                    .map_err(|e| StoreError::Backend(format!("sqlite: start the sync thread: {e}")))?;
                Some(committed)
            }
            None => None,
        };
        std::thread::Builder::new()
            .name("zonegate-sqlite-writer".into())
            .spawn(move || writer_loop(conn, queue, batch_max, syncer, checkpoints))
            .map_err(|e| StoreError::Backend(format!("sqlite: start the writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Queues a write and returns where its answer will arrive.
    pub(crate) async fn enqueue<T, F>(&self, op: F) -> StoreResult<Pending<T>>
    where
        T: Send + 'static,
        F: FnMut(&Connection, &mut ChainHead) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let task = Task { op, result: None, reply };
        self.jobs.send(Job::Write(Box::new(task))).await.map_err(|_| stopped())?;
        Ok(answer)
    }

    /// Runs a write in the next batch and waits until that batch has committed.
    pub(crate) async fn write<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnMut(&Connection, &mut ChainHead) -> StoreResult<T> + Send + 'static,
    {
        answer(self.enqueue(op).await?).await
    }

    /// Runs a read on the writer's connection, outside any write transaction.
    pub(crate) async fn read<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = reply.send(op(conn));
        });
        self.jobs.send(Job::Read(job)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Waits for an enqueued write's answer.
pub(crate) async fn answer<T>(pending: Pending<T>) -> StoreResult<T> {
    pending.await.map_err(|_| stopped())?
}

type Committed = Vec<Box<dyn WriteTask>>;

fn writer_loop(
    conn: Connection,
    mut queue: mpsc::Receiver<Job>,
    batch_max: usize,
    syncer: Option<std_mpsc::Sender<Committed>>,
    checkpoints: Option<std_mpsc::SyncSender<()>>,
) {
    let mut writes: Vec<Box<dyn WriteTask>> = Vec::with_capacity(batch_max);
    let mut reads: Vec<ReadJob> = Vec::new();
    while let Some(job) = queue.blocking_recv() {
        let mut take = |job| match job {
            Job::Write(task) => writes.push(task),
            Job::Read(read) => reads.push(read),
        };
        take(job);
        for _ in 1..batch_max {
            match queue.try_recv() {
                Ok(job) => take(job),
                Err(_) => break,
            }
        }
        if !writes.is_empty() {
            let failure = run_batch(&conn, &mut writes).err();
            if let (Some(doorbell), None) = (&checkpoints, &failure) {
                // Full means a ring is already pending; gone means the checkpointer stopped (not fatal).
                let _ = doorbell.try_send(());
            }
            match (&syncer, failure) {
                (Some(syncer), None) => {
                    let committed = std::mem::replace(&mut writes, Vec::with_capacity(batch_max));
                    if let Err(std_mpsc::SendError(committed)) = syncer.send(committed) {
                        let failure = "sqlite: the sync thread has stopped; the commit may not be durable";
                        committed.into_iter().for_each(|task| task.finish(Some(failure)));
                    }
                }
                (_, failure) => writes.drain(..).for_each(|task| task.finish(failure.as_deref())),
            }
        }
        for read in reads.drain(..) {
            // A panicking read only loses its own answer (its sender is dropped, the caller sees an error).
            let _ = catch_unwind(AssertUnwindSafe(|| read(&conn)));
        }
    }
}

/// Makes committed batches durable, then answers them: one `fdatasync` of the WAL covers every batch
/// committed before it started.
fn syncer_loop(wal: File, committed: std_mpsc::Receiver<Committed>) {
    while let Ok(mut batch) = committed.recv() {
        while let Ok(more) = committed.try_recv() {
            batch.extend(more);
        }
        let failure = wal
            .sync_data()
            .err()
            .map(|e| format!("sqlite: committed, but the WAL could not be synced to disk (durability unknown): {e}"));
        batch.into_iter().for_each(|task| task.finish(failure.as_deref()));
    }
}

/// Runs one batch in one transaction; `Err` means nothing of it was committed.
fn run_batch(conn: &Connection, tasks: &mut [Box<dyn WriteTask>]) -> Result<(), String> {
    let result = match attempt(conn, tasks, false) {
        Ok(true) => Ok(()),
        Ok(false) => {
            // A request failed: undo everything and isolate each request in its own savepoint.
            rollback(conn);
            attempt(conn, tasks, true).map(drop)
        }
        Err(e) => Err(e),
    };
    if result.is_err() {
        rollback(conn);
    }
    result
}

fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = exec(conn, "ROLLBACK");
    }
}

/// One try at the batch. Without `isolate`, stops at the first failing request and returns `Ok(false)`
/// with the transaction still open (the caller rolls back); with it, rolls each failing request back to
/// its savepoint and carries on. `Ok(true)` means committed.
fn attempt(conn: &Connection, tasks: &mut [Box<dyn WriteTask>], isolate: bool) -> Result<bool, String> {
    let text = |e: StoreError| e.to_string();
    exec(conn, "BEGIN IMMEDIATE").map_err(text)?;
    let mut head = sql::read_head(conn).map_err(text)?;
    for task in tasks.iter_mut() {
        if isolate {
            exec(conn, "SAVEPOINT zonegate_write").map_err(text)?;
        }
        let before = head.clone();
        let ok = task.run(conn, &mut head);
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (e.g. disk full): the batch is lost.
            return Err("sqlite: the batch transaction was rolled back by the database".into());
        }
        match (ok, isolate) {
            (true, false) => {}
            (false, false) => return Ok(false),
            (true, true) => exec(conn, "RELEASE zonegate_write").map_err(text)?,
            (false, true) => {
                head = before;
                exec(conn, "ROLLBACK TO zonegate_write").map_err(text)?;
                exec(conn, "RELEASE zonegate_write").map_err(text)?;
            }
        }
    }
    exec(conn, "COMMIT").map_err(text)?;
    Ok(true)
}
