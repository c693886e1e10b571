//! Match runs' results in SQLite: written with the run's `succeeded` status in one
//! transaction, read by run.

use async_trait::async_trait;
use mingle_core::parallel;
use mingle_core::Timestamp;
use sqlx::{QueryBuilder, Sqlite};

use super::enrichment::insert_features;
use super::identity::fetch_in;
use super::queue::{finish_under_lease, holds_lease};
use super::SqliteStore;
use crate::models::{Lease, MatchFilter, MatchProfile, MatchWrite, PageQuery, Run, RunEnd, StoredMatch};
use crate::rows::*;
use crate::{MatchStore, StoreError};

fn db(e: sqlx::Error) -> StoreError {
    StoreError::backend(e)
}

/// Rows per multi-row insert (SQLite binds at most 32,766 values per statement).
const ROWS: usize = 400;

/// Each pair's scores as JSON, on every core before the write transaction starts (half a
/// million pairs at 50,000 attendees; the transaction holds the only writer).
fn scores_json(pairs: &[StoredMatch]) -> Vec<String> {
    parallel::map_indices(pairs.len(), parallel::available(), |i| {
        serde_json::to_string(&pairs[i].score).unwrap_or_default()
    })
}

/// The match page's statement and its arguments, built once for either path.
fn event_matches_query(
    org_id: &str,
    run_id: &str,
    filter: &MatchFilter,
    page: &PageQuery,
) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut sql = String::from("SELECT m.* FROM matches m WHERE m.org_id = ? AND m.run_id = ?");
    let mut args = vec![Value::Text(org_id.to_owned()), Value::Text(run_id.to_owned())];
    if let Some(session) = &filter.session_id {
        for side in ["a_id", "b_id"] {
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM match_sessions s WHERE s.org_id = m.org_id AND s.run_id = m.run_id
                   AND s.session_id = ? AND s.attendee_id = m.{side})"
            ));
            args.push(Value::Text(session.clone()));
        }
    }
    if let Some(goal) = &filter.goal {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM match_profiles p WHERE p.org_id = m.org_id AND p.run_id = m.run_id
               AND p.attendee_id IN (m.a_id, m.b_id) AND (p.goal_category = ? OR instr(p.goal_folded, ?) > 0))",
        );
        args.extend([Value::Text(goal.clone()), Value::Text(goal.clone())]);
    }
    if let Some(after) = &page.after {
        let (a, b_id) = after.id.split_once('\u{1f}').unwrap_or((after.id.as_str(), ""));
        // The first condition is implied by the second; it lets the index start at
        // the cursor instead of scanning every row before it.
        sql.push_str(" AND m.final_key <= ? AND (m.final_key < ? OR (m.final_key = ? AND (m.a_id, m.b_id) > (?, ?)))");
        args.extend([
            Value::Integer(after.key),
            Value::Integer(after.key),
            Value::Integer(after.key),
            Value::Text(a.to_owned()),
            Value::Text(b_id.to_owned()),
        ]);
    }
    sql.push_str(" ORDER BY m.final_key DESC, m.a_id, m.b_id LIMIT ?");
    args.push(Value::Integer(page.limit.into()));
    (sql, args)
}

#[async_trait]
impl MatchStore for SqliteStore {
    async fn save_matches(
        &self,
        lease: &Lease,
        event_id: &str,
        w: &MatchWrite,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (org_id, run_id) = (lease.org_id.as_str(), lease.run_id.as_str());
        let scores = scores_json(&w.pairs);
        let mut tx = self.write.begin().await.map_err(db)?;
        if !holds_lease(&mut tx, lease).await? {
            return Ok(false);
        }
        // An attendee merged away while the run computed has left the event, and the
        // merge deleted its match rows: its pairs are not written now either, and
        // `matches_written` counts what is.
        let members: std::collections::HashSet<String> =
            sqlx::query_scalar("SELECT attendee_id FROM event_attendees WHERE org_id = ? AND event_id = ?")
                .bind(org_id)
                .bind(event_id)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?
                .into_iter()
                .collect();
        let pairs: Vec<(&StoredMatch, &String)> = w
            .pairs
            .iter()
            .zip(&scores)
            .filter(|(m, _)| members.contains(&m.a_id) && members.contains(&m.b_id))
            .collect();
        insert_features(&mut tx, org_id, event_id, &w.features).await?;
        for chunk in w.profiles.chunks(ROWS) {
            let mut b = QueryBuilder::<Sqlite>::new(
                "INSERT INTO match_profiles (org_id, run_id, attendee_id, goal, goal_folded, goal_category, needs, offers) ",
            );
            b.push_values(chunk, |mut row, p| {
                row.push_bind(org_id)
                    .push_bind(run_id)
                    .push_bind(&p.attendee_id)
                    .push_bind(&p.goal)
                    .push_bind(p.goal.as_ref().map(|g| g.to_lowercase()))
                    .push_bind(&p.goal_category)
                    .push_bind(serde_json::to_string(&p.needs).unwrap_or_default())
                    .push_bind(serde_json::to_string(&p.offers).unwrap_or_default());
            });
            b.build().execute(&mut *tx).await.map_err(db)?;
        }
        let sessions: Vec<(&str, &str)> = w
            .profiles
            .iter()
            .flat_map(|p| p.sessions.iter().map(move |s| (s.as_str(), p.attendee_id.as_str())))
            .collect();
        for chunk in sessions.chunks(ROWS) {
            let mut b = QueryBuilder::<Sqlite>::new(
                "INSERT OR IGNORE INTO match_sessions (org_id, run_id, session_id, attendee_id) ",
            );
            b.push_values(chunk, |mut row, (session, attendee)| {
                row.push_bind(org_id).push_bind(run_id).push_bind(*session).push_bind(*attendee);
            });
            b.build().execute(&mut *tx).await.map_err(db)?;
        }
        for chunk in pairs.chunks(ROWS) {
            let mut b = QueryBuilder::<Sqlite>::new(
                "INSERT INTO matches (org_id, run_id, a_id, b_id, match_id, a_rank, b_rank, final_key, scores) ",
            );
            b.push_values(chunk, |mut row, (m, scores)| {
                row.push_bind(org_id)
                    .push_bind(run_id)
                    .push_bind(&m.a_id)
                    .push_bind(&m.b_id)
                    .push_bind(&m.match_id)
                    .push_bind(m.a_rank)
                    .push_bind(m.b_rank)
                    .push_bind(m.final_key())
                    .push_bind(scores.as_str());
            });
            b.build().execute(&mut *tx).await.map_err(db)?;
        }
        // The status last, so that `terminal_at` is when the rows are complete (at 50,000
        // attendees writing them takes seconds).
        let mut progress = w.progress.clone();
        progress.insert("matches_written".into(), pairs.len().into());
        let end =
            RunEnd { metadata: Some((&w.snapshot_metadata, &w.version_metadata)), ..RunEnd::succeeded(&progress, now) };
        if !finish_under_lease(&mut tx, lease, &end).await? {
            return Ok(false);
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn latest_match_run(&self, org_id: &str, event_id: &str) -> Result<Option<Run>, StoreError> {
        sqlx::query(
            "SELECT * FROM runs WHERE org_id = ? AND event_id = ? AND kind = 'match'
               AND status IN ('succeeded', 'partial')
             ORDER BY terminal_at DESC, run_id DESC LIMIT 1",
        )
        .bind(org_id)
        .bind(event_id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(|r| run_from_row(&r))
        .transpose()
    }

    async fn attendee_matches(
        &self,
        org_id: &str,
        run_id: &str,
        attendee_id: &str,
    ) -> Result<Vec<StoredMatch>, StoreError> {
        // At most top_n rows a side.
        const SQL: &str = "SELECT * FROM matches WHERE org_id = ?1 AND run_id = ?2 AND a_id = ?3 AND a_rank IS NOT NULL
             UNION ALL
             SELECT * FROM matches WHERE org_id = ?1 AND run_id = ?2 AND b_id = ?3 AND b_rank IS NOT NULL";
        short_read!(all: self, SQL, [org_id, run_id, attendee_id], match_from_row)
    }

    async fn event_matches(
        &self,
        org_id: &str,
        run_id: &str,
        filter: &MatchFilter,
        page: &PageQuery,
    ) -> Result<Vec<StoredMatch>, StoreError> {
        use rusqlite::types::Value;
        let (sql, args) = event_matches_query(org_id, run_id, filter, page);
        // A filter may scan the whole run to fill a page: that read stays on the pool.
        let short = filter.session_id.is_none() && filter.goal.is_none();
        if short {
            if let Some(found) = self.on_thread.rows(&sql, rusqlite::params_from_iter(&args), |r| match_from_row(r)) {
                return found;
            }
        }
        let mut query = sqlx::query(&sql);
        for arg in args {
            query = match arg {
                Value::Integer(i) => query.bind(i),
                Value::Text(t) => query.bind(t),
                Value::Real(f) => query.bind(f),
                Value::Blob(b) => query.bind(b),
                Value::Null => query.bind(None::<String>),
            };
        }
        let rows = query.fetch_all(&self.read).await.map_err(db)?;
        rows.iter().map(match_from_row).collect()
    }

    async fn get_match(&self, org_id: &str, run_id: &str, a: &str, b: &str) -> Result<Option<StoredMatch>, StoreError> {
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        const SQL: &str = "SELECT * FROM matches WHERE org_id = ? AND run_id = ? AND a_id = ? AND b_id = ?";
        short_read!(one: self, SQL, [org_id, run_id, a, b], match_from_row)
    }

    async fn match_profiles(
        &self,
        org_id: &str,
        run_id: &str,
        ids: &[String],
    ) -> Result<Vec<MatchProfile>, StoreError> {
        let mut conn = self.read.acquire().await.map_err(db)?;
        let rows = fetch_in(
            &mut conn,
            "SELECT p.*, (SELECT json_group_array(s.session_id) FROM match_sessions s
                WHERE s.org_id = p.org_id AND s.run_id = p.run_id AND s.attendee_id = p.attendee_id) AS sessions
             FROM match_profiles p WHERE p.org_id = ? AND p.run_id = ? AND p.attendee_id IN ({})",
            &[org_id, run_id],
            ids,
        )
        .await?;
        rows.iter().map(profile_from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use mingle_core::cursor::Position;

    use super::*;

    /// A later page of matches must start the index at its cursor: without the
    /// implied `final_key <= ?`, SQLite walked every row before it.
    #[tokio::test]
    async fn a_later_match_page_starts_the_index_at_its_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.db");
        SqliteStore::open(&format!("sqlite://{}", file.display())).await.unwrap();
        let connection = rusqlite::Connection::open(&file).unwrap();
        let page = PageQuery { after: Some(Position { key: 5, id: "a\u{1f}b".into() }), limit: 11 };
        let (sql, args) = event_matches_query("o", "r", &MatchFilter::default(), &page);
        let mut plan = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let steps: Vec<String> =
            plan.query_map(rusqlite::params_from_iter(&args), |r| r.get(3)).unwrap().map(Result::unwrap).collect();
        assert_eq!(steps, ["SEARCH m USING INDEX matches_by_score (org_id=? AND run_id=? AND final_key<?)"]);
    }
}
