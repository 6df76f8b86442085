//! The only place SQL is written. Storage functions are plain functions over
//! `&Connection`, a file per aggregate, so they are tested on an in-memory
//! database. This file owns the handle the server uses:
//!
//! * **One writer.** A dedicated thread owns the only writing connection and
//!   drains a queue of write jobs. Jobs that arrive together are committed in one
//!   transaction (each inside its own savepoint, so one failing job does not undo
//!   the others). Thousands of small inserts per second cost one fsync per batch
//!   instead of one each, and a caller is answered only after its batch is
//!   committed: durable before acknowledged.
//! * **Many readers.** Reads run on tokio's blocking pool over a small pool of
//!   read-only connections. In WAL mode they never wait for the writer, so a page
//!   or a report never delays the webhook's write path, and vice versa.
//! * **Checkpoints off the writer.** The writer never checkpoints the WAL
//!   itself (`wal_autocheckpoint = 0`): a checkpointer thread with its own
//!   connection runs a PASSIVE checkpoint every [`CHECKPOINT_EVERY`], which does
//!   not hold up the writer, so no push waits behind copying pages home.

pub mod accounts;
pub mod agents;
pub mod audit;
pub mod automation;
pub mod bindings;
pub mod console;
pub mod conversations;
pub mod fixture;
pub mod followers;
pub mod followups;
pub mod groups;
pub mod health;
pub mod media;
pub mod menu;
pub mod messages;
pub mod migrate;
pub mod myreplies;
pub mod notes;
pub mod notices;
pub mod notify;
pub mod outbox;
pub mod reports;
pub mod search;
pub mod search_index;
pub mod sessions;
pub mod settings;
pub mod surveys;
pub mod taxonomy;
pub mod timeouts;
pub mod timeplan;
pub mod transcripts;
pub mod transfers;
pub mod tree;
pub mod uploads;
pub mod users;

#[cfg(test)]
use rusqlite::params;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;

/// How many queued write jobs may share one transaction.
const MAX_BATCH: usize = 512;
/// Read connections kept open between requests.
const MAX_IDLE_READERS: usize = 32;
/// How often the checkpointer copies the WAL into the database file.
pub const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("the database writer has stopped")]
    Closed,
    #[error("blocking task failed: {0}")]
    Join(String),
    #[error("database schema version {found} is newer than this kefu ({known}); upgrade kefu")]
    TooNew { found: i64, known: i64 },
}

pub type DbResult<T> = Result<T, DbError>;

type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A queued write: given the batch's transaction it runs, given `None` it does
/// not (the batch could not run); either way it returns how to answer its caller.
type Job = Box<dyn FnOnce(Option<&mut Transaction<'_>>) -> Deliver + Send>;

/// Async handle to the database file. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Transactions the writer has committed (or tried to): for benches.
    commits: Arc<std::sync::atomic::AtomicU64>,
    /// Dropping the sender stops the checkpointer.
    checkpointer: Mutex<Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
    readers: Mutex<Vec<Connection>>,
}

/// Applies the connection settings every kefu connection uses.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Every hot query is a cached statement (see [`Cached`]); keep them all.
    conn.set_prepared_statement_cache_capacity(256);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl Db {
    /// Opens (creating if needed) the database file, migrates it, and starts the writer.
    pub fn open(path: &Path) -> DbResult<Db> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: every commit reaches the disk before a caller is answered (a webhook
        // push survives a power cut once acknowledged); batching keeps it cheap.
        conn.pragma_update(None, "synchronous", "FULL")?;
        configure(&conn)?;
        migrate::migrate(&mut conn)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // Keep the WAL file from staying large after a burst.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;

        let ckpt = Connection::open(path)?;
        configure(&ckpt)?;
        ckpt.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let checkpointer = std::thread::Builder::new()
            .name("kefu-db-checkpoint".into())
            .spawn(move || checkpoint_loop(ckpt, stopped))
            .map_err(|e| DbError::Join(e.to_string()))?;

        let (tx, rx) = mpsc::channel::<Job>();
        let commits = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = commits.clone();
        let writer = std::thread::Builder::new()
            .name("kefu-db-writer".into())
            .spawn(move || writer_loop(conn, rx, &counted))
            .map_err(|e| DbError::Join(e.to_string()))?;

        Ok(Db {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                jobs: Mutex::new(Some(tx)),
                writer: Mutex::new(Some(writer)),
                commits,
                checkpointer: Mutex::new(Some((stop, checkpointer))),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether writes are still taken (false once [`Db::close`] began).
    /// How many write transactions have ended so far (each job shares one
    /// with whatever else was queued): jobs per commit is what the group
    /// commit achieves.
    pub fn commits(&self) -> u64 {
        self.inner
            .commits
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn is_open(&self) -> bool {
        self.inner.jobs.lock().is_ok_and(|j| j.is_some())
    }

    /// Runs `f` in the writer's transaction; returns once it is committed.
    /// `f` may fail with any error that a [`DbError`] converts into (e.g. a
    /// domain error that says "not allowed"): its changes are then rolled back
    /// and the error is returned as is.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (done, answer) = oneshot::channel::<Result<T, E>>();
        // Messages made inside `f` speak the caller's language.
        let lang = crate::i18n::current();
        let job: Job = Box::new(move |txn: Option<&mut Transaction<'_>>| {
            let outcome = match txn {
                Some(txn) => crate::i18n::sync_scope(lang, || run_in_savepoint(txn, f)),
                None => Err(E::from(DbError::Commit("not run".into()))),
            };
            Box::new(move |commit: Result<(), String>| {
                let result = match commit {
                    Ok(()) => outcome,
                    Err(e) => Err(E::from(DbError::Commit(e))),
                };
                let _ = done.send(result);
            })
        });
        {
            let guard = self.inner.jobs.lock().map_err(|_| DbError::Closed)?;
            let sender = guard.as_ref().ok_or(DbError::Closed)?;
            sender.send(job).map_err(|_| DbError::Closed)?;
        }
        answer.await.map_err(|_| E::from(DbError::Closed))?
    }

    /// Runs `f` on a read-only connection on the blocking pool.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let inner = self.inner.clone();
        let lang = crate::i18n::current();
        tokio::task::spawn_blocking(move || {
            let conn = match inner.readers.lock().ok().and_then(|mut r| r.pop()) {
                Some(c) => c,
                None => open_reader(&inner.path).map_err(E::from)?,
            };
            let result = crate::i18n::sync_scope(lang, || f(&conn));
            if let Ok(mut pool) = inner.readers.lock() {
                if pool.len() < MAX_IDLE_READERS {
                    pool.push(conn);
                }
            }
            result
        })
        .await
        .map_err(|e| E::from(DbError::Join(e.to_string())))?
    }

    /// Stops the writer after the jobs already queued, checkpoints the WAL and
    /// closes the file. Later writes fail with [`DbError::Closed`].
    pub fn close(&self) {
        if let Ok(mut jobs) = self.inner.jobs.lock() {
            jobs.take();
        }
        if let Ok(mut readers) = self.inner.readers.lock() {
            readers.clear();
        }
        let ckpt = self
            .inner
            .checkpointer
            .lock()
            .ok()
            .and_then(|mut c| c.take());
        if let Some((stop, h)) = ckpt {
            drop(stop);
            let _ = h.join();
        }
        let handle = self.inner.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

fn open_reader(path: &Path) -> DbResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    configure(&conn)?;
    Ok(conn)
}

/// Runs one job inside its own savepoint of the batch's transaction. The
/// savepoint statements are cached: the writer runs them thousands of times a second.
fn run_in_savepoint<T, E, F>(txn: &mut Transaction<'_>, f: F) -> Result<T, E>
where
    F: FnOnce(&Connection) -> Result<T, E>,
    E: From<DbError>,
{
    let conn: &Connection = txn;
    let exec = |sql: &str| -> Result<(), DbError> {
        conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    };
    exec("SAVEPOINT kefu_job").map_err(E::from)?;
    let value = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
    let undo = || {
        if let Err(e) = exec("ROLLBACK TO kefu_job").and_then(|()| exec("RELEASE kefu_job")) {
            tracing::error!(error = %e, "could not roll back a failed write job");
        }
    };
    match value {
        Ok(Ok(v)) => {
            exec("RELEASE kefu_job").map_err(E::from)?;
            Ok(v)
        }
        Ok(Err(e)) => {
            undo();
            Err(e)
        }
        Err(_) => {
            undo();
            Err(E::from(DbError::Commit(
                "a write job panicked; its changes were rolled back".into(),
            )))
        }
    }
}

/// Copies committed WAL frames into the database file every
/// [`CHECKPOINT_EVERY`] until told to stop. PASSIVE never waits for the writer
/// or readers: frames still in use are copied on a later round.
fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    let mut failures = 0u32;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            Ok(()) => failures = 0,
            Err(e) => {
                failures += 1;
                // One line, then one every 240 rounds (a minute) while it lasts.
                if failures % 240 == 1 {
                    tracing::warn!(error = %e, failures, "WAL checkpoint failed");
                }
            }
        }
    }
}

fn writer_loop(
    mut conn: Connection,
    jobs: mpsc::Receiver<Job>,
    commits: &std::sync::atomic::AtomicU64,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        take_waiting(&jobs, &mut batch, MAX_BATCH);
        let mut txn = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, jobs = batch.len(), "could not begin a write transaction");
                let reason = format!("could not begin a transaction: {e}");
                for job in batch {
                    job(None)(Err(reason.clone()));
                }
                continue;
            }
        };
        let mut delivers: Vec<Deliver> = Vec::with_capacity(batch.len());
        let mut aborted = false;
        for job in batch {
            if aborted {
                delivers.push(job(None));
                continue;
            }
            delivers.push(job(Some(&mut txn)));
            aborted = txn.is_autocommit();
        }
        commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let committed = if aborted {
            Err("the transaction was rolled back by SQLite (disk full or I/O error?)".to_string())
        } else {
            txn.commit().map_err(|e| e.to_string())
        };
        if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = delivers.len(), "write batch failed to commit");
        }
        for deliver in delivers {
            deliver(committed.clone());
        }
    }
    if let Err(e) = conn.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);") {
        tracing::warn!(error = %e, "final checkpoint failed");
    }
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the database failed");
    }
}

/// Moves up to `max` jobs already queued into `batch`, without waiting.
fn take_waiting(jobs: &mpsc::Receiver<Job>, batch: &mut Vec<Job>, max: usize) {
    while batch.len() < max {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

/// SQLite's own check of a database file: "ok", or what is broken.
pub fn integrity(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
}

/// A stored text as the current reader sees it (a catalogue message written
/// by a background job is drawn in the reader's language; see `i18n::shown`).
pub(crate) fn shown(text: String) -> String {
    match crate::i18n::shown(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(s) => s,
    }
}

/// Milliseconds since the epoch, as stored in every `*_at` column.
pub fn ms(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}

/// Reads a stored `*_at` column back into a timestamp.
pub fn ts(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// An in-memory database with the current schema, for storage tests.
pub fn memory() -> DbResult<Connection> {
    let mut conn = Connection::open_in_memory()?;
    configure(&conn)?;
    migrate::migrate(&mut conn)?;
    Ok(conn)
}

/// Whether the error is a UNIQUE (or PRIMARY KEY) constraint violation.
pub fn is_unique_violation(e: &DbError) -> bool {
    matches!(e, DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// `query_row` and `execute` through the connection's statement cache: the
/// webhook path runs the same few dozen statements for every push, and
/// compiling SQL was once most of the writer's time.
pub trait Cached {
    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl Cached for Connection {
    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn count(db: &Db) -> i64 {
        db.read(|c| -> DbResult<i64> {
            Ok(c.query_row("SELECT count(*) FROM login_failures", [], |r| r.get(0))?)
        })
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_are_all_committed_and_a_failing_job_undoes_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let mut tasks = Vec::new();
        for i in 0..2000 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.write(move |c| -> DbResult<i32> {
                    c.execute(
                        "INSERT INTO login_failures (username, ip, at) VALUES (?1, 'ip', ?2)",
                        params![format!("u{i}"), i],
                    )?;
                    if i % 100 == 7 {
                        // A failing job: its insert must be rolled back, the rest kept.
                        c.execute("INSERT INTO no_such_table VALUES (1)", [])?;
                    }
                    Ok(i)
                })
                .await
            }));
        }
        let mut failed = 0;
        for t in tasks {
            if t.await.unwrap().is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, 20);
        assert_eq!(count(&db).await, 1980);
        let commits = db.commits();
        assert!(
            (1..2000).contains(&commits),
            "2000 concurrent jobs share commits: {commits}"
        );
        db.close();
        assert!(matches!(
            db.write(|_| Ok::<_, DbError>(())).await,
            Err(DbError::Closed)
        ));

        // Everything survives a reopen.
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        assert_eq!(count(&db).await, 1980);
    }
}
