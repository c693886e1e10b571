//! Match runs' results in PostgreSQL: written with the run's terminal status in one
//! transaction (pairs as arrays through `UNNEST`, a statement per 10,000), and read by
//! attendee, by score and by pair.

use std::collections::HashSet;

use async_trait::async_trait;
use mingle_core::{parallel, Timestamp};
use sqlx::{Postgres, QueryBuilder};

use super::enrichment::insert_features;
use super::identity::lock_org;
use super::queue::{finish_under_lease, holds_lease};
use super::{analyze, db, PgStore};
use crate::models::{Lease, MatchFilter, MatchProfile, MatchWrite, PageQuery, Run, RunEnd, StoredMatch};
use crate::rows::*;
use crate::{MatchStore, StoreError};

const ROWS: usize = 10_000;

#[async_trait]
impl MatchStore for PgStore {
    async fn save_matches(
        &self,
        lease: &Lease,
        event_id: &str,
        w: &MatchWrite,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (org_id, run_id) = (lease.org_id.as_str(), lease.run_id.as_str());
        // Serialized on every core before the transaction starts.
        let scores = parallel::map_indices(w.pairs.len(), parallel::available(), |i| {
            serde_json::to_string(&w.pairs[i].score).unwrap_or_default()
        });
        let mut tx = self.pool.begin().await.map_err(db)?;
        if !holds_lease(&mut tx, lease).await? {
            return Ok(false);
        }
        // The org's identity lock: no merge commits between reading the members and
        // writing their pairs (a merge deletes the pairs of the attendee it retires).
        lock_org(&mut tx, org_id).await?;
        // An attendee merged away while the run computed has left the event, and the
        // merge deleted its match rows: its pairs are not written now either.
        let members: HashSet<String> =
            sqlx::query_scalar("SELECT attendee_id FROM event_attendees WHERE org_id = $1 AND event_id = $2")
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
        for chunk in w.profiles.chunks(ROWS / 8) {
            let mut b = QueryBuilder::<Postgres>::new(
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
        let (sessions, attendees): (Vec<&str>, Vec<&str>) = w
            .profiles
            .iter()
            .flat_map(|p| p.sessions.iter().map(move |s| (s.as_str(), p.attendee_id.as_str())))
            .unzip();
        for (s, a) in sessions.chunks(ROWS).zip(attendees.chunks(ROWS)) {
            sqlx::query(
                "INSERT INTO match_sessions (org_id, run_id, session_id, attendee_id)
                 SELECT $1, $2, s, a FROM UNNEST($3::text[], $4::text[]) AS u(s, a)
                 ON CONFLICT DO NOTHING",
            )
            .bind(org_id)
            .bind(run_id)
            .bind(s)
            .bind(a)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        for chunk in pairs.chunks(ROWS) {
            let column = |f: fn(&StoredMatch) -> String| chunk.iter().map(|(m, _)| f(m)).collect::<Vec<String>>();
            let rank =
                |f: fn(&StoredMatch) -> Option<i64>| chunk.iter().map(|(m, _)| f(m)).collect::<Vec<Option<i64>>>();
            sqlx::query(
                "INSERT INTO matches (org_id, run_id, a_id, b_id, match_id, a_rank, b_rank, final_key, scores)
                 SELECT $1, $2, a, b, id, ar, br, k, s
                 FROM UNNEST($3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[])
                   AS u(a, b, id, ar, br, k, s)",
            )
            .bind(org_id)
            .bind(run_id)
            .bind(column(|m| m.a_id.clone()))
            .bind(column(|m| m.b_id.clone()))
            .bind(column(|m| m.match_id.clone()))
            .bind(rank(|m| m.a_rank))
            .bind(rank(|m| m.b_rank))
            .bind(chunk.iter().map(|(m, _)| m.final_key()).collect::<Vec<i64>>())
            .bind(chunk.iter().map(|(_, s)| s.as_str()).collect::<Vec<&str>>())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        // The status last, so that `terminal_at` is when the rows are complete.
        let mut progress = w.progress.clone();
        progress.insert("matches_written".into(), pairs.len().into());
        let end =
            RunEnd { metadata: Some((&w.snapshot_metadata, &w.version_metadata)), ..RunEnd::succeeded(&progress, now) };
        if !finish_under_lease(&mut tx, lease, &end).await? {
            return Ok(false);
        }
        tx.commit().await.map_err(db)?;
        analyze(&self.pool, pairs.len(), "matches, match_profiles, match_sessions, attendee_features").await;
        Ok(true)
    }

    async fn latest_match_run(&self, org_id: &str, event_id: &str) -> Result<Option<Run>, StoreError> {
        sqlx::query(
            "SELECT * FROM runs WHERE org_id = $1 AND event_id = $2 AND kind = 'match'
               AND status IN ('succeeded', 'partial')
             ORDER BY terminal_at DESC, run_id DESC LIMIT 1",
        )
        .bind(org_id)
        .bind(event_id)
        .fetch_optional(&self.pool)
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
        sqlx::query(
            "SELECT * FROM matches WHERE org_id = $1 AND run_id = $2 AND a_id = $3 AND a_rank IS NOT NULL
             UNION ALL
             SELECT * FROM matches WHERE org_id = $1 AND run_id = $2 AND b_id = $3 AND b_rank IS NOT NULL",
        )
        .bind(org_id)
        .bind(run_id)
        .bind(attendee_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(match_from_row)
        .collect()
    }

    async fn event_matches(
        &self,
        org_id: &str,
        run_id: &str,
        filter: &MatchFilter,
        page: &PageQuery,
    ) -> Result<Vec<StoredMatch>, StoreError> {
        let mut b = QueryBuilder::<Postgres>::new("SELECT m.* FROM matches m WHERE m.org_id = ");
        b.push_bind(org_id).push(" AND m.run_id = ").push_bind(run_id);
        if let Some(session) = &filter.session_id {
            for side in ["a_id", "b_id"] {
                b.push(" AND EXISTS (SELECT 1 FROM match_sessions s WHERE s.org_id = m.org_id AND s.run_id = m.run_id AND s.session_id = ")
                    .push_bind(session)
                    .push(format!(" AND s.attendee_id = m.{side})"));
            }
        }
        if let Some(goal) = &filter.goal {
            b.push(
                " AND EXISTS (SELECT 1 FROM match_profiles p WHERE p.org_id = m.org_id AND p.run_id = m.run_id
                   AND p.attendee_id IN (m.a_id, m.b_id) AND (p.goal_category = ",
            )
            .push_bind(goal)
            .push(" OR strpos(p.goal_folded, ")
            .push_bind(goal)
            .push(") > 0))");
        }
        if let Some(after) = &page.after {
            let (a, b_id) = after.id.split_once('\u{1f}').unwrap_or((after.id.as_str(), ""));
            // The first condition is implied by the second; it lets the index start at
            // the cursor instead of scanning every row before it.
            b.push(" AND m.final_key <= ")
                .push_bind(after.key)
                .push(" AND (m.final_key < ")
                .push_bind(after.key)
                .push(" OR (m.final_key = ")
                .push_bind(after.key)
                .push(" AND (m.a_id, m.b_id) > (")
                .push_bind(a.to_owned())
                .push(", ")
                .push_bind(b_id.to_owned())
                .push(")))");
        }
        b.push(" ORDER BY m.final_key DESC, m.a_id, m.b_id LIMIT ").push_bind(page.limit as i64);
        b.build().fetch_all(&self.pool).await.map_err(db)?.iter().map(match_from_row).collect()
    }

    async fn get_match(&self, org_id: &str, run_id: &str, a: &str, b: &str) -> Result<Option<StoredMatch>, StoreError> {
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        sqlx::query("SELECT * FROM matches WHERE org_id = $1 AND run_id = $2 AND a_id = $3 AND b_id = $4")
            .bind(org_id)
            .bind(run_id)
            .bind(a)
            .bind(b)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| match_from_row(&r))
            .transpose()
    }

    async fn match_profiles(
        &self,
        org_id: &str,
        run_id: &str,
        ids: &[String],
    ) -> Result<Vec<MatchProfile>, StoreError> {
        sqlx::query(
            "SELECT p.*, COALESCE((SELECT json_agg(s.session_id ORDER BY s.session_id)::text FROM match_sessions s
                WHERE s.org_id = p.org_id AND s.run_id = p.run_id AND s.attendee_id = p.attendee_id), '[]') AS sessions
             FROM match_profiles p WHERE p.org_id = $1 AND p.run_id = $2 AND p.attendee_id = ANY($3)",
        )
        .bind(org_id)
        .bind(run_id)
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(profile_from_row)
        .collect()
    }
}
