//! The credential read, on the request's own thread.
//!
//! Every authenticated request reads its token, account and org: there is no cache, so a
//! disable or revoke made by `mingle service-account` in another process counts from the
//! very next request. Through sqlx that read is a round trip to a connection thread (two
//! futex handoffs, the pool's ping before acquire included), which measured as a fifth
//! of an authenticated `GET /events/:event_id` (docs/benchmarks.md, "HTTP load"). Here
//! it is a primary-key read on a read-only connection owned by the calling thread, a few
//! microseconds that never wait: WAL readers do not block on the writer, and the
//! connection's busy timeout is zero, so the rare busy answer (WAL recovery after a
//! crash) and any other error send the caller to the pooled read instead.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use thread_local::ThreadLocal;

use crate::models::Credential;
use crate::rows::account_from_columns;
use crate::StoreError;

/// The one statement both paths run, columns named for the pooled path's row mapping
/// and ordered for this one's.
pub(super) const CREDENTIAL_SQL: &str = "SELECT t.token_hash, t.revoked_at, o.cursor_key,
        a.org_id, a.service_account_id, a.name, a.scopes, a.status, a.created_at, a.updated_at
     FROM api_tokens t
     JOIN service_accounts a ON a.org_id = t.org_id AND a.service_account_id = t.service_account_id
     JOIN orgs o ON o.org_id = t.org_id
     WHERE t.org_id = ? AND t.token_id = ?";

pub(super) struct CredentialReader {
    /// The database file; `None` for an in-memory database, which only the pool sees.
    path: Option<PathBuf>,
    connections: ThreadLocal<RefCell<Option<Connection>>>,
}

impl CredentialReader {
    pub(super) fn new(path: Option<PathBuf>) -> Self {
        Self { path, connections: ThreadLocal::new() }
    }

    /// The credential, or `None` when this thread cannot answer now and the caller
    /// should use the pool.
    pub(super) fn read(&self, org_id: &str, token_id: &str) -> Option<Result<Option<Credential>, StoreError>> {
        let path = self.path.as_ref()?;
        let cell = self.connections.get_or(|| RefCell::new(None));
        let mut slot = cell.try_borrow_mut().ok()?;
        if slot.is_none() {
            *slot = Some(open(path).map_err(|e| tracing::debug!(error = %e, "credential connection not opened")).ok()?);
        }
        let connection = slot.as_ref()?;
        match query(connection, org_id, token_id) {
            Ok(found) => Some(Ok(found)),
            Err(e) => {
                tracing::debug!(error = %e, "credential read falls back to the pool");
                // A connection that failed once is reopened on the next request.
                *slot = None;
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
    Ok(connection)
}

type Columns = (Vec<u8>, Option<i64>, Vec<u8>, String, String, String, String, String, i64, i64);

fn query(connection: &Connection, org_id: &str, token_id: &str) -> Result<Option<Credential>, String> {
    let mut statement = connection.prepare_cached(CREDENTIAL_SQL).map_err(|e| e.to_string())?;
    let columns: Option<Columns> = statement
        .query_row((org_id, token_id), |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })
        .optional()
        .map_err(|e| e.to_string())?;
    let Some((token_hash, revoked_at, cursor_key, org, id, name, scopes, status, created, updated)) = columns else {
        return Ok(None);
    };
    let account = account_from_columns(org, id, name, &scopes, &status, created, updated).map_err(|e| e.to_string())?;
    Ok(Some(Credential { token_hash, token_revoked: revoked_at.is_some(), account, cursor_key }))
}

#[cfg(test)]
mod tests {
    use mingle_core::{Scope, Timestamp};

    use super::*;
    use crate::models::{AccountStatus, Org, ServiceAccount, TokenRow};
    use crate::sqlite::SqliteStore;
    use crate::AccountStore;

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

        let reader = CredentialReader::new(Some(file.clone()));
        let on_thread = reader.read("o1", "t1").expect("the thread answers").unwrap().expect("found");
        assert_eq!(
            on_thread,
            Credential { token_hash: vec![9; 32], token_revoked: false, account, cursor_key: vec![7; 32] }
        );
        assert_eq!(reader.read("o1", "t2").expect("the thread answers").unwrap(), None);
        assert_eq!(reader.read("o2", "t1").expect("the thread answers").unwrap(), None);

        // A commit through the pool is seen by the thread's warm connection at once.
        store.set_service_account_status("o1", "a1", AccountStatus::Disabled, now).await.unwrap();
        let after = reader.read("o1", "t1").unwrap().unwrap().unwrap();
        assert_eq!(after.account.status, AccountStatus::Disabled);

        // No file, no answer: the caller falls back to the pool.
        assert!(CredentialReader::new(Some(dir.path().join("missing.db"))).read("o1", "t1").is_none());
        assert!(CredentialReader::new(None).read("o1", "t1").is_none());
    }
}
