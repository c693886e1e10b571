//! Events, sessions and the partner-ID map in SQLite.

use async_trait::async_trait;
use mingle_core::cursor::Position;
use mingle_core::Timestamp;

use super::{after_desc, insert_error, SqliteStore};
use crate::models::*;
use crate::rows::*;
use crate::{EventStore, StoreError};

/// An event by its key: on the request's thread when it can be (on_thread.rs).
pub(super) const EVENT_BY_KEY: &str = "SELECT * FROM events WHERE org_id = ? AND event_id = ?";

#[async_trait]
impl EventStore for SqliteStore {
    async fn insert_event(&self, org_id: &str, e: &Event) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO events (org_id, event_id, title, description, event_details, objectives,
                welcome_instructions, start_date, end_date, timezone, visibility, url_slug, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&self.write)
        .await
        .map_err(insert_error)?;
        Ok(())
    }

    async fn get_event(&self, org_id: &str, event_id: &str) -> Result<Option<Event>, StoreError> {
        short_read!(one: self, EVENT_BY_KEY, [org_id, event_id], event_from_row)
    }

    async fn list_events(&self, org_id: &str, page: &PageQuery) -> Result<Vec<Event>, StoreError> {
        let (key, id) = after_desc(page);
        const SQL: &str = "SELECT * FROM events WHERE org_id = ? AND (created_at, event_id) < (?, ?)
             ORDER BY created_at DESC, event_id DESC LIMIT ?";
        short_read!(all: self, SQL, [org_id, key, &id, page.limit], event_from_row)
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
        let row = sqlx::query(
            "UPDATE events SET
                event_details = CASE WHEN ? THEN event_details ELSE ? END,
                objectives = CASE WHEN ? THEN objectives ELSE ? END,
                welcome_instructions = CASE WHEN ? THEN welcome_instructions ELSE ? END,
                updated_at = ?
             WHERE org_id = ? AND event_id = ?
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
        .fetch_optional(&self.write)
        .await
        .map_err(StoreError::backend)?;
        row.map(|r| event_from_row(&r)).transpose()
    }

    async fn insert_session(&self, org_id: &str, s: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (org_id, session_id, event_id, title, description, start_timestamp,
                end_timestamp, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&self.write)
        .await
        .map_err(insert_error)?;
        Ok(())
    }

    async fn get_session(&self, org_id: &str, session_id: &str) -> Result<Option<Session>, StoreError> {
        const SQL: &str = "SELECT * FROM sessions WHERE org_id = ? AND session_id = ?";
        short_read!(one: self, SQL, [org_id, session_id], session_from_row)
    }

    async fn list_sessions(&self, org_id: &str, event_id: &str, page: &PageQuery) -> Result<Vec<Session>, StoreError> {
        let (key, id) =
            page.after.as_ref().map(|p: &Position| (p.key, p.id.clone())).unwrap_or((i64::MIN, String::new()));
        // Sessions without a start sort last: their key is i64::MAX.
        const SQL: &str = "SELECT * FROM sessions
             WHERE org_id = ? AND event_id = ? AND (COALESCE(start_timestamp, 9223372036854775807), session_id) > (?, ?)
             ORDER BY (start_timestamp IS NULL), start_timestamp, session_id LIMIT ?";
        short_read!(all: self, SQL, [org_id, event_id, key, &id, page.limit], session_from_row)
    }

    async fn lookup_partner_id(
        &self,
        org_id: &str,
        kind: MappedKind,
        partner_id: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        let sql = match kind {
            MappedKind::Event => "SELECT NULL FROM events WHERE org_id = ? AND event_id = ?",
            MappedKind::Session => "SELECT NULL FROM sessions WHERE org_id = ? AND session_id = ?",
            MappedKind::Attendee => "SELECT merged_into FROM attendees WHERE org_id = ? AND attendee_id = ?",
        };
        sqlx::query_scalar::<_, Option<String>>(sql)
            .bind(org_id)
            .bind(partner_id)
            .fetch_optional(&self.read)
            .await
            .map_err(StoreError::backend)
    }
}
