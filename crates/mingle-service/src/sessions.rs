//! Sessions of an event.

use std::sync::Arc;

use mingle_core::cursor::Position;
use mingle_core::session::SessionDraft;
use mingle_core::Timestamp;
use mingle_store::models::Session;
use mingle_store::{Store, StoreError};

use crate::events::event_not_found;
use crate::pagination::PageRequest;
use crate::{Page, ServiceError};

#[derive(Clone)]
pub struct SessionsService {
    store: Arc<dyn Store>,
}

impl SessionsService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    async fn require_event(&self, org_id: &str, event_id: &str) -> Result<(), ServiceError> {
        match self.store.get_event(org_id, event_id).await? {
            Some(_) => Ok(()),
            None => Err(event_not_found(event_id)),
        }
    }

    pub async fn create(&self, org_id: &str, event_id: &str, draft: SessionDraft) -> Result<Session, ServiceError> {
        self.require_event(org_id, event_id).await?;
        let now = Timestamp::now();
        let session = Session {
            session_id: draft.session_id.into_string(),
            event_id: event_id.to_owned(),
            title: draft.title,
            description: draft.description,
            start_timestamp: draft.start,
            end_timestamp: draft.end,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_session(org_id, &session).await {
            Ok(()) => Ok(session),
            Err(StoreError::Conflict) => Err(ServiceError::conflict(
                "PARTNER_ID_CONFLICT",
                format!("A session '{}' exists already in this org.", session.session_id),
                ("session_id", &session.session_id),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The session, which must belong to the event (the event is checked first).
    pub async fn get(&self, org_id: &str, event_id: &str, session_id: &str) -> Result<Session, ServiceError> {
        self.require_event(org_id, event_id).await?;
        self.store
            .get_session(org_id, session_id)
            .await?
            .filter(|s| s.event_id == event_id)
            .ok_or_else(|| session_not_found(session_id, event_id))
    }

    pub async fn list(&self, org_id: &str, event_id: &str, page: &PageRequest) -> Result<Page<Session>, ServiceError> {
        self.require_event(org_id, event_id).await?;
        let rows = self.store.list_sessions(org_id, event_id, &page.probe()).await?;
        Ok(page.finish(rows, |s| Position {
            key: s.start_timestamp.map_or(i64::MAX, Timestamp::millis),
            id: s.session_id.clone(),
        }))
    }
}

pub(crate) fn session_not_found(session_id: &str, event_id: &str) -> ServiceError {
    ServiceError::not_found(
        "SESSION_NOT_FOUND",
        format!("No session '{session_id}' in event '{event_id}'."),
        ("session_id", session_id),
    )
}
