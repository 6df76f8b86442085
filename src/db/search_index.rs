//! The job that fills the search index off the push path (issue 12).
//!
//! A push's transaction only stores the message. Every [`EVERY`] (at once
//! again while a full batch came back) this job reads the messages after the
//! index's cursor on a reader — up to [`BATCH`] of them — and makes their
//! terms there (`db::search::pending`), then hands the writer one job that
//! inserts the rows and moves the cursor (`db::search::apply`). The writer
//! thus spends a few microseconds per message on FTS5 inserts only, and FTS5
//! writes one segment per batch of messages instead of one per batch of
//! pushes. Search lags nothing meanwhile: it scans the messages after the
//! cursor (`db::search::messages`). The cursor is in the database, so a
//! restart resumes where the last committed batch ended.

use super::{Db, DbError, DbResult, search};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Messages per write job. At a few µs each in the writer, a push queued
/// behind the job waits about half a millisecond at worst (500 made the
/// webhook's p99 3× its median under load: `cargo bench --bench webhook`).
pub const BATCH: i64 = 100;
/// How often the job looks for new messages when it has caught up.
pub const EVERY: Duration = Duration::from_millis(200);

/// A handle on the running job. Cheap to clone.
#[derive(Clone, Default)]
pub struct Indexer {
    paused: Arc<AtomicBool>,
}

impl Indexer {
    /// Starts the job on the current tokio runtime; it ends when `db` closes.
    pub fn start(db: Db) -> Indexer {
        let indexer = Indexer::default();
        tokio::spawn(indexer.clone().run(db));
        indexer
    }

    /// Stops (or restarts) indexing: only the webhook bench uses it, to
    /// measure pushes without any indexing. Searches stay correct (the
    /// unindexed messages are scanned).
    pub fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }

    async fn run(self, db: Db) {
        let mut failures = 0u32;
        while db.is_open() {
            if !self.paused.load(Ordering::SeqCst) {
                match step(&db).await {
                    Ok(n) if n as i64 >= BATCH => {
                        // More waiting: go on at once, letting other tasks in.
                        tokio::task::yield_now().await;
                        continue;
                    }
                    Ok(_) => failures = 0,
                    Err(DbError::Closed) => break,
                    Err(e) => {
                        failures += 1;
                        // One line, then one a minute while it lasts.
                        if failures % 300 == 1 {
                            tracing::warn!(error = %e, failures, "indexing messages for search failed");
                        }
                    }
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    }
}

/// One round: up to [`BATCH`] messages after the cursor read and made into
/// terms on a reader, then written with the moved cursor by the writer.
/// Returns how many messages it covered (0: the index is up to date).
pub async fn step(db: &Db) -> DbResult<usize> {
    let Some(p) = db.read(|c| search::pending(c, BATCH)).await? else {
        return Ok(0);
    };
    let read = p.read;
    db.write(move |c| search::apply(c, &p)).await?;
    Ok(read)
}
