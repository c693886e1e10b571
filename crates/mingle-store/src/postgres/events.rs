//! Events, sessions and the partner-ID map in PostgreSQL.

use async_trait::async_trait;
use mingle_core::Timestamp;

use super::{after_desc, db, insert_error, limit, PgStore};
use crate::models::*;
use crate::rows::*;
use crate::{EventStore, StoreError};

#[async_trait]
impl EventStore for PgStore {
    async fn insert_event(&self, org_id: &str, e: &Event) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO events (org_id, event_id, title, description, event_details, objectives,
                welcome_instructions, start_date, end_date, timezone, visibility, url_slug, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(org_id)
        .bind(&e.event_id)
        .bind(&e.title)
        .bind(&e.description)
        .bind(&e.event_details)
        .bind(&e.objectives)
        .bind(&e.welcome_instructions)
        .bind(&e.start_date)
        .bind(&e.end_date)
        .bind(&e.timezone)
        .bind(&e.visibility)
        .bind(&e.url_slug)
        .bind(e.created_at.millis())
        .bind(e.updated_at.millis())
        .execute(&self.pool)
        .await
        .map_err(insert_error)?;
        Ok(())
    }

    async fn get_event(&self, org_id: &str, event_id: &str) -> Result<Option<Event>, StoreError> {
        sqlx::query("SELECT * FROM events WHERE org_id = $1 AND event_id = $2")
            .bind(org_id)
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| event_from_row(&r))
            .transpose()
    }

    async fn list_events(&self, org_id: &str, page: &PageQuery) -> Result<Vec<Event>, StoreError> {
        let (key, id) = after_desc(page);
        sqlx::query(
            "SELECT * FROM events WHERE org_id = $1 AND (created_at, event_id) < ($2, $3)
             ORDER BY created_at DESC, event_id DESC LIMIT $4",
        )
        .bind(org_id)
        .bind(key)
        .bind(id)
        .bind(limit(page))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(event_from_row)
        .collect()
    }

    async fn update_event_context(
        &self,
        org_id: &str,
        event_id: &str,
        patch: &EventContextPatch,
        now: Timestamp,
    ) -> Result<Option<Event>, StoreError> {
        // CASE keeps a field the patch leaves out; a set field takes the bound value
        // (NULL clears it).
        let keep = |p: &Option<Option<String>>| p.is_none();
        let value = |p: &Option<Option<String>>| p.clone().flatten();
        sqlx::query(
            "UPDATE events SET
                event_details = CASE WHEN $1 THEN event_details ELSE $2 END,
                objectives = CASE WHEN $3 THEN objectives ELSE $4 END,
                welcome_instructions = CASE WHEN $5 THEN welcome_instructions ELSE $6 END,
                updated_at = $7
             WHERE org_id = $8 AND event_id = $9
             RETURNING *",
        )
        .bind(keep(&patch.event_details))
        .bind(value(&patch.event_details))
        .bind(keep(&patch.objectives))
        .bind(value(&patch.objectives))
        .bind(keep(&patch.welcome_instructions))
        .bind(value(&patch.welcome_instructions))
        .bind(now.millis())
        .bind(org_id)
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(|r| event_from_row(&r))
        .transpose()
    }

    async fn insert_session(&self, org_id: &str, s: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (org_id, session_id, event_id, title, description, start_timestamp,
                end_timestamp, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(org_id)
        .bind(&s.session_id)
        .bind(&s.event_id)
        .bind(&s.title)
        .bind(&s.description)
        .bind(s.start_timestamp.map(Timestamp::millis))
        .bind(s.end_timestamp.map(Timestamp::millis))
        .bind(s.created_at.millis())
        .bind(s.updated_at.millis())
        .execute(&self.pool)
        .await
        .map_err(insert_error)?;
        Ok(())
    }

    async fn get_session(&self, org_id: &str, session_id: &str) -> Result<Option<Session>, StoreError> {
        sqlx::query("SELECT * FROM sessions WHERE org_id = $1 AND session_id = $2")
            .bind(org_id)
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| session_from_row(&r))
            .transpose()
    }

    async fn list_sessions(&self, org_id: &str, event_id: &str, page: &PageQuery) -> Result<Vec<Session>, StoreError> {
        let (key, id) = page.after.as_ref().map(|p| (p.key, p.id.clone())).unwrap_or((i64::MIN, String::new()));
        // Sessions without a start sort last: their key is i64::MAX.
        sqlx::query(
            "SELECT * FROM sessions
             WHERE org_id = $1 AND event_id = $2
               AND (COALESCE(start_timestamp, 9223372036854775807), session_id) > ($3, $4)
             ORDER BY (start_timestamp IS NULL), start_timestamp, session_id LIMIT $5",
        )
        .bind(org_id)
        .bind(event_id)
        .bind(key)
        .bind(id)
        .bind(limit(page))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(session_from_row)
        .collect()
    }

    async fn lookup_partner_id(
        &self,
        org_id: &str,
        kind: MappedKind,
        partner_id: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        let sql = match kind {
            MappedKind::Event => "SELECT NULL::text FROM events WHERE org_id = $1 AND event_id = $2",
            MappedKind::Session => "SELECT NULL::text FROM sessions WHERE org_id = $1 AND session_id = $2",
            MappedKind::Attendee => "SELECT merged_into FROM attendees WHERE org_id = $1 AND attendee_id = $2",
        };
        sqlx::query_scalar::<_, Option<String>>(sql)
            .bind(org_id)
            .bind(partner_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }
}
