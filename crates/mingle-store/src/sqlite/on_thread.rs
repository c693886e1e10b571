//! Short reads on the request's own thread.
//!
//! Through sqlx every SQLite query is a round trip to the connection's own thread: two
//! futex handoffs and the pool's ping before acquire, which measured as most of an
//! authenticated `GET /events/:event_id` (docs/benchmarks.md, "HTTP load"). The reads a
//! request makes by key (its credential on every request, then the resource it names)
//! run here instead: on a read-only connection owned by the calling thread, a few
//! microseconds that never wait. WAL readers do not block on the writer, and each read
//! is its own transaction, so it sees every commit made before it began, in this
//! process or another (a revoke by `mingle service-account` counts from the very next
//! request; there is no cache). The connection's busy timeout is zero: the rare busy
//! answer (WAL recovery after a crash), any other database error, or a re-entrant call
//! sends the caller to the pool, which gives the definitive answer. A row the mapping
//! refuses is an error here as it would be there (rows.rs maps both), so a mapping that
//! only this path gets wrong fails the tests instead of falling back unseen.
//!
//! Only reads bounded by a key, or pages that an index walks in order, go here: a long
//! read would hold a runtime thread. (The match page with a goal or session filter
//! may scan a whole run to fill a page; it stays on the pool.)

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Params};
use thread_local::ThreadLocal;

use crate::rows::Column;
use crate::StoreError;

/// A short read, on the request's thread when it can be, else through the pool: `one`
/// reads at most one row, `all` a page. `$map` is a rows.rs mapping, which reads either
/// row type; each argument is bound on whichever path runs (pass references).
macro_rules! short_read {
    (one: $store:expr, $sql:expr, [$($arg:expr),* $(,)?], $map:path) => {
        match $store.on_thread.row($sql, ($($arg,)*), |r| $map(r)) {
            Some(found) => found,
            None => sqlx::query($sql)
                $(.bind($arg))*
                .fetch_optional(&$store.read)
                .await
                .map_err($crate::StoreError::backend)?
                .map(|r| $map(&r))
                .transpose(),
        }
    };
    (all: $store:expr, $sql:expr, [$($arg:expr),* $(,)?], $map:path) => {
        match $store.on_thread.rows($sql, ($($arg,)*), |r| $map(r)) {
            Some(found) => found,
            None => sqlx::query($sql)
                $(.bind($arg))*
                .fetch_all(&$store.read)
                .await
                .map_err($crate::StoreError::backend)?
                .iter()
                .map(|r| $map(r))
                .collect(),
        }
    };
}

pub(super) struct ThreadReader {
    /// The database file; `None` for an in-memory database, which only the pool sees.
    path: Option<PathBuf>,
    connections: ThreadLocal<RefCell<Option<Connection>>>,
}

impl ThreadReader {
    pub(super) fn new(path: Option<PathBuf>) -> Self {
        Self { path, connections: ThreadLocal::new() }
    }

    /// The row `sql` selects (at most one), mapped; `None` when this thread cannot
    /// answer now and the caller should use the pool.
    pub(super) fn row<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&rusqlite::Row<'_>) -> Result<T, StoreError>,
    ) -> Option<Result<Option<T>, StoreError>> {
        self.with_connection(|c| c.prepare_cached(sql)?.query_row(params, |r| Ok(map(r))).optional())
            .map(Option::transpose)
    }

    /// The rows `sql` selects, mapped: for pages, which `LIMIT` bounds (at most 101
    /// rows); `None` as for [`Self::row`].
    pub(super) fn rows<T>(
        &self,
        sql: &str,
        params: impl Params,
        mut map: impl FnMut(&rusqlite::Row<'_>) -> Result<T, StoreError>,
    ) -> Option<Result<Vec<T>, StoreError>> {
        self.with_connection(|c| {
            let mut statement = c.prepare_cached(sql)?;
            let mut rows = statement.query(params)?;
            let mut mapped = Vec::new();
            while let Some(r) = rows.next()? {
                mapped.push(map(r));
            }
            Ok(mapped)
        })
        .map(|mapped| mapped.into_iter().collect())
    }

    fn with_connection<R>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<R>) -> Option<R> {
        let path = self.path.as_ref()?;
        let cell = self.connections.get_or(|| RefCell::new(None));
        let mut slot = cell.try_borrow_mut().ok()?;
        if slot.is_none() {
            *slot =
                Some(open(path).map_err(|e| tracing::debug!(error = %e, "thread's read connection not opened")).ok()?);
        }
        match read(slot.as_ref()?) {
            Ok(answer) => Some(answer),
            Err(e) => {
                tracing::debug!(error = %e, "a read on the thread falls back to the pool");
                // Busy is passing (WAL recovery); after any other failure the connection
                // is reopened on the next request.
                if e.sqlite_error_code() != Some(rusqlite::ErrorCode::DatabaseBusy) {
                    *slot = None;
                }
                None
            }
        }
    }
}

fn open(path: &PathBuf) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    connection.busy_timeout(Duration::ZERO)?;
    // Twelve statements today (ten fixed, the match page with and without a cursor);
    // room above rusqlite's default of 16 so that new reads do not start evicting.
    connection.set_prepared_statement_cache_capacity(32);
    Ok(connection)
}

/// The row mappings in rows.rs read a thread's row as they read a pooled one.
impl<T: rusqlite::types::FromSql> Column<T> for rusqlite::Row<'_> {
    fn column(&self, name: &str) -> Result<T, StoreError> {
        self.get(name).map_err(StoreError::backend)
    }
}

#[cfg(test)]
mod tests {
    use mingle_core::{Scope, Timestamp};

    use super::*;
    use crate::models::{AccountStatus, Credential, Event, Org, ServiceAccount, TokenRow};
    use crate::rows::{credential_from_row, event_from_row};
    use crate::sqlite::accounts::CREDENTIAL_SQL;
    use crate::sqlite::events::EVENT_BY_KEY;
    use crate::sqlite::SqliteStore;
    use crate::{AccountStore, EventStore};

    fn credential(reader: &ThreadReader, org: &str, token: &str) -> Option<Option<Credential>> {
        reader.row(CREDENTIAL_SQL, (org, token), |r| credential_from_row(r)).map(|found| found.unwrap())
    }

    #[tokio::test]
    async fn reads_what_the_pool_reads_and_sees_each_commit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.db");
        let store = SqliteStore::open(&format!("sqlite://{}", file.display())).await.unwrap();
        let now = Timestamp::from_millis(1_700_000_000_000);
        let org = Org {
            org_id: "o1".into(),
            name: "Org".into(),
            webhook_secret: "whsec_x".into(),
            previous_webhook_secret: None,
            previous_webhook_secret_until: None,
            cursor_key: vec![7; 32],
            created_at: now,
        };
        store.insert_org(&org).await.unwrap();
        let account = ServiceAccount {
            org_id: "o1".into(),
            service_account_id: "a1".into(),
            name: "bot".into(),
            scopes: vec![Scope::Read],
            status: AccountStatus::Active,
            created_at: now,
            updated_at: now,
        };
        let token = TokenRow {
            org_id: "o1".into(),
            token_id: "t1".into(),
            service_account_id: "a1".into(),
            token_hash: vec![9; 32],
            created_at: now,
        };
        store.insert_service_account(&account, &token).await.unwrap();

        let reader = ThreadReader::new(Some(file.clone()));
        let on_thread = credential(&reader, "o1", "t1").expect("the thread answers").expect("found");
        assert_eq!(
            on_thread,
            Credential { token_hash: vec![9; 32], token_revoked: false, account, cursor_key: vec![7; 32] }
        );
        assert_eq!(credential(&reader, "o1", "t2").expect("the thread answers"), None);
        assert_eq!(credential(&reader, "o2", "t1").expect("the thread answers"), None);

        // A commit through the pool is seen by the thread's warm connection at once.
        store.set_service_account_status("o1", "a1", AccountStatus::Disabled, now).await.unwrap();
        let after = credential(&reader, "o1", "t1").unwrap().unwrap();
        assert_eq!(after.account.status, AccountStatus::Disabled);

        // A resource by key: the thread's answer is the store's, every column mapped.
        let event = Event {
            event_id: "e1".into(),
            title: "Summit".into(),
            description: Some("Two days".into()),
            event_details: None,
            objectives: Some("Meet".into()),
            welcome_instructions: None,
            start_date: Some("2026-05-01".into()),
            end_date: Some("2026-05-02".into()),
            timezone: Some("Europe/Berlin".into()),
            visibility: Some("public".into()),
            url_slug: None,
            created_at: now,
            updated_at: now,
        };
        store.insert_event("o1", &event).await.unwrap();
        let on_thread = reader.row(EVENT_BY_KEY, ("o1", "e1"), |r| event_from_row(r)).expect("the thread answers");
        assert_eq!(on_thread.unwrap(), Some(event.clone()));
        assert_eq!(store.get_event("o1", "e1").await.unwrap(), Some(event));
        let other_org = reader.row(EVENT_BY_KEY, ("o2", "e1"), |r| event_from_row(r)).expect("the thread answers");
        assert_eq!(other_org.unwrap(), None);

        // No file, no answer: the caller falls back to the pool.
        assert!(credential(&ThreadReader::new(Some(dir.path().join("missing.db"))), "o1", "t1").is_none());
        assert!(credential(&ThreadReader::new(None), "o1", "t1").is_none());
    }
}
