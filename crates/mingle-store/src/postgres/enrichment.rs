//! Enrichment inputs, features and the embedding cache in PostgreSQL.

use async_trait::async_trait;
use mingle_core::Timestamp;
use serde_json::{Map, Value};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::queue::{finish_under_lease, holds_lease};
use super::{analyze, db, last_per_key, PgStore};
use crate::models::{EnrichmentInput, Features, Lease, RunEnd};
use crate::rows::*;
use crate::{EnrichmentStore, StoreError};

/// Rows per multi-row insert (PostgreSQL binds at most 65,535 values per statement).
const ROWS: usize = 1_000;

#[async_trait]
impl EnrichmentStore for PgStore {
    async fn enrichment_inputs(&self, org_id: &str, event_id: &str) -> Result<Vec<EnrichmentInput>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.*, a.title, f.input_hash AS previous_hash
             FROM event_attendees m
             JOIN attendees a ON a.org_id = m.org_id AND a.attendee_id = m.attendee_id
             LEFT JOIN attendee_features f ON f.org_id = m.org_id AND f.event_id = m.event_id AND f.attendee_id = m.attendee_id
             WHERE m.org_id = $1 AND m.event_id = $2
             ORDER BY m.attendee_id",
        )
        .bind(org_id)
        .bind(event_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let m = membership_from_row(r)?;
                Ok(EnrichmentInput {
                    attendee_id: m.attendee_id,
                    title: get(r, "title")?,
                    answers: m.answers,
                    previous_hash: get(r, "previous_hash")?,
                })
            })
            .collect()
    }

    async fn event_features(&self, org_id: &str, event_id: &str) -> Result<Vec<Features>, StoreError> {
        sqlx::query("SELECT * FROM attendee_features WHERE org_id = $1 AND event_id = $2 ORDER BY attendee_id")
            .bind(org_id)
            .bind(event_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(features_from_row)
            .collect()
    }

    async fn cached_embeddings(
        &self,
        org_id: &str,
        model_id: &str,
        hashes: &[String],
    ) -> Result<Vec<(String, Vec<f32>)>, StoreError> {
        // One array parameter per chunk: a quarter of a million keys at 50,000 attendees.
        const KEYS: usize = 10_000;
        let mut out = Vec::with_capacity(hashes.len());
        for chunk in hashes.chunks(KEYS) {
            let rows = sqlx::query(
                "SELECT text_hash, vector FROM embedding_cache
                 WHERE org_id = $1 AND model_id = $2 AND text_hash = ANY($3)",
            )
            .bind(org_id)
            .bind(model_id)
            .bind(chunk)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
            for r in &rows {
                out.push((get(r, "text_hash")?, from_blob(&get::<Vec<u8>>(r, "vector")?)));
            }
        }
        Ok(out)
    }

    async fn save_embeddings(
        &self,
        org_id: &str,
        model_id: &str,
        entries: &[(String, Vec<f32>)],
    ) -> Result<(), StoreError> {
        // In key order: two runs caching overlapping texts then wait on each other's
        // keys in the same order instead of deadlocking.
        let mut entries: Vec<&(String, Vec<f32>)> = entries.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut tx = self.pool.begin().await.map_err(db)?;
        for chunk in entries.chunks(ROWS) {
            let mut b =
                QueryBuilder::<Postgres>::new("INSERT INTO embedding_cache (org_id, model_id, text_hash, vector) ");
            b.push_values(chunk, |mut row, (hash, vector)| {
                row.push_bind(org_id).push_bind(model_id).push_bind(hash).push_bind(to_blob(vector));
            });
            b.push(" ON CONFLICT DO NOTHING");
            b.build().execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        analyze(&self.pool, entries.len(), "embedding_cache").await;
        Ok(())
    }

    async fn save_features(
        &self,
        lease: &Lease,
        event_id: &str,
        features: &[Features],
        progress: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        if !holds_lease(&mut tx, lease).await? {
            return Ok(false);
        }
        insert_features(&mut tx, &lease.org_id, event_id, features).await?;
        if !finish_under_lease(&mut tx, lease, &RunEnd::succeeded(progress, now)).await? {
            return Ok(false);
        }
        tx.commit().await.map_err(db)?;
        analyze(&self.pool, features.len(), "attendee_features").await;
        Ok(true)
    }
}

/// Writes (or replaces) attendees' features for an event, inside the caller's
/// transaction.
pub(super) async fn insert_features(
    conn: &mut PgConnection,
    org_id: &str,
    event_id: &str,
    features: &[Features],
) -> Result<(), StoreError> {
    let mut features: Vec<&Features> = last_per_key(features, |f| f.attendee_id.clone());
    features.sort_unstable_by(|a, b| a.attendee_id.cmp(&b.attendee_id));
    for chunk in features.chunks(ROWS) {
        let mut b = QueryBuilder::<Postgres>::new(
            "INSERT INTO attendee_features (org_id, event_id, attendee_id, input_hash, model_id, goal_category,
                goal_score, seniority, function, features, enriched_at) ",
        );
        b.push_values(chunk, |mut row, f| {
            row.push_bind(org_id)
                .push_bind(event_id)
                .push_bind(&f.attendee_id)
                .push_bind(&f.input_hash)
                .push_bind(&f.model_id)
                .push_bind(&f.goal_category)
                .push_bind(f.goal_score.map(f64::from))
                .push_bind(&f.seniority)
                .push_bind(&f.function)
                .push_bind(f.features.to_string())
                .push_bind(f.enriched_at.millis());
        });
        b.push(
            " ON CONFLICT (org_id, event_id, attendee_id) DO UPDATE SET input_hash = excluded.input_hash,
              model_id = excluded.model_id, goal_category = excluded.goal_category, goal_score = excluded.goal_score,
              seniority = excluded.seniority, function = excluded.function, features = excluded.features,
              enriched_at = excluded.enriched_at",
        );
        b.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}
