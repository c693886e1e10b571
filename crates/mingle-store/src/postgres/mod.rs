//! The PostgreSQL store, for deployments that outgrow one process: any number of API
//! servers and workers on one database. Selected by a `postgres://` URL.
//!
//! One pool serves reads and writes (PostgreSQL arbitrates writers with row locks).
//! Migrations (`migrations/postgres/`) run once on open, under sqlx's advisory lock, so
//! processes starting together do not race. Queues are claimed with
//! `FOR UPDATE SKIP LOCKED`; an import holds its org's advisory lock for its
//! transaction; `NOTIFY mingle_runs` wakes workers in every process
//! (`forward_run_signals`).

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
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::models::PageQuery;
use crate::{Store, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?
            .application_name("mingle");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(StoreError::backend)?;
        MIGRATOR.run(&pool).await.map_err(StoreError::backend)?;
        Ok(Self { pool })
    }
}

/// A new, empty schema on the server `base_url` names, and a URL whose connections use
/// it: an isolated database for one test, created in milliseconds. For tests only.
pub async fn fresh_schema_url(base_url: &str) -> Result<String, StoreError> {
    use sqlx::Connection;
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(base_url).await.map_err(db)?;
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.map_err(db)?;
    let separator = if base_url.contains('?') { '&' } else { '?' };
    Ok(format!("{base_url}{separator}options=-c%20search_path%3D{schema}"))
}

/// Rows a write must reach before the tables it filled are re-analysed.
const ANALYZE_AFTER: usize = 1_000;

/// Refreshes the planner's statistics of tables a large write just filled. Without them
/// a table filled in one transaction still looks empty to the planner until autovacuum
/// comes by, and the next read joins it with nested loops over sequential scans
/// (measured: reading a 10,000-attendee event's enrichment inputs took 8.3 s, a 50,000
/// one's 119 s). Best effort: statistics are an optimisation, never correctness.
async fn analyze(pool: &PgPool, rows: usize, tables: &str) {
    if rows >= ANALYZE_AFTER {
        if let Err(e) = sqlx::query(&format!("ANALYZE {tables}")).execute(pool).await {
            tracing::warn!(error = %e, tables, "could not refresh planner statistics");
        }
    }
}

/// The last entry of each key, in first-seen order: a multi-row upsert may not touch a
/// row twice, and a plan's later entry for a row supersedes its earlier one (as SQLite
/// applies them one after the other).
fn last_per_key<T, K: std::hash::Hash + Eq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut at = std::collections::HashMap::new();
    let mut out: Vec<&T> = Vec::with_capacity(items.len());
    for item in items {
        match at.entry(key(item)) {
            std::collections::hash_map::Entry::Occupied(e) => out[*e.get()] = item,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(item);
            }
        }
    }
    out
}

fn db(e: sqlx::Error) -> StoreError {
    StoreError::backend(e)
}

fn insert_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::backend(e),
    }
}

/// `(key, id)` of a keyset position, or a start before every row of a descending list.
fn after_desc(page: &PageQuery) -> (i64, String) {
    page.after.as_ref().map(|p| (p.key, p.id.clone())).unwrap_or((i64::MAX, String::from("\u{10FFFF}")))
}

fn limit(page: &PageQuery) -> i64 {
    i64::from(page.limit)
}

#[async_trait]
impl Store for PgStore {
    async fn check_ready(&self) -> Result<(), StoreError> {
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        let expected = MIGRATOR.iter().count() as i64;
        if applied < expected {
            return Err(StoreError::Backend(format!("schema not migrated ({applied} of {expected} migrations)")));
        }
        Ok(())
    }

    fn shared_by_processes(&self) -> bool {
        true
    }

    async fn forward_run_signals(&self, wake: std::sync::Arc<tokio::sync::Notify>) -> Result<(), StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await.map_err(db)?;
        listener.listen(queue::RUNS_CHANNEL).await.map_err(db)?;
        tokio::spawn(async move {
            loop {
                // `recv` reconnects by itself when the connection drops; an error here
                // means it could not, so wait and try again (workers poll meanwhile).
                match listener.recv().await {
                    Ok(_) => wake.notify_waiters(),
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the run signal connection; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(())
    }

    async fn backup_to(&self, _path: &std::path::Path) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "back up PostgreSQL with its own tools: pg_dump (or a base backup with WAL archiving); see docs/deploy.md"
                .into(),
        ))
    }
}
