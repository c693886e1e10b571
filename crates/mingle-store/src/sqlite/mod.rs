//! The SQLite store: one file, WAL mode, created and migrated on open.
//!
//! Writes go through a pool of one connection so that SQLite never has to arbitrate
//! between writers (no `SQLITE_BUSY` under load); reads use a pool of their own, which
//! WAL lets run beside the writer.

// First: its `short_read!` serves the modules below.
#[macro_use]
mod on_thread;
mod accounts;
mod deliveries;
mod enrichment;
mod events;
mod identity;
mod matching;
mod queue;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::models::*;
use crate::{Store, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// Reads by key on the request's own thread (on_thread.rs).
    on_thread: on_thread::ThreadReader,
}

impl SqliteStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid SQLite URL '{url}': {e}")))?
            .create_if_missing(true)
            // 8 KiB pages hold a 1.5 KiB embedding in its table's own page; with the
            // default 4 KiB every cached vector spilled to an overflow page, doubling the
            // file and doubling a match run's read (250,000 vectors: 7.5 s -> 3.8 s; in
            // SQLite alone 2.6 s -> 0.8 s). Applies when the file is created; see
            // docs/operations.md.
            .page_size(8192)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // A page cache large enough for a 50,000-row import's indexes (the default
            // is 2 MiB); memory is only used as pages are touched.
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(StoreError::backend)?;
        MIGRATOR.run(&write).await.map_err(StoreError::backend)?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone().read_only(true))
            .await
            .map_err(StoreError::backend)?;
        let file = options.get_filename();
        let in_memory = file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:");
        let on_thread = on_thread::ThreadReader::new((!in_memory).then(|| file.to_path_buf()));
        Ok(Self { read, write, on_thread })
    }

    /// The same store with every read through the pool, so the contract suite tests the
    /// pooled half of each `short_read!` too.
    #[cfg(test)]
    pub(crate) fn without_thread_reads(mut self) -> Self {
        self.on_thread = on_thread::ThreadReader::new(None);
        self
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn insert_error(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict
    } else {
        StoreError::backend(e)
    }
}

/// `(key, id)` of a keyset position, or a start before every row.
fn after_desc(page: &PageQuery) -> (i64, String) {
    page.after.as_ref().map(|p| (p.key, p.id.clone())).unwrap_or((i64::MAX, String::from("\u{10FFFF}")))
}

#[async_trait]
impl Store for SqliteStore {
    async fn check_ready(&self) -> Result<(), StoreError> {
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.read)
            .await
            .map_err(StoreError::backend)?;
        let expected = MIGRATOR.iter().count() as i64;
        if applied < expected {
            return Err(StoreError::Backend(format!("schema not migrated ({applied} of {expected} migrations)")));
        }
        Ok(())
    }

    fn shared_by_processes(&self) -> bool {
        false
    }

    async fn forward_run_signals(&self, _wake: std::sync::Arc<tokio::sync::Notify>) -> Result<(), StoreError> {
        Ok(())
    }

    async fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError> {
        // One read transaction: the copy is the database as of one moment, and writers
        // go on meanwhile (WAL).
        sqlx::query("VACUUM INTO ?")
            .bind(path.to_string_lossy().into_owned())
            .execute(&self.read)
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }
}
