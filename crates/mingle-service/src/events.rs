//! Events and their context.

use std::sync::Arc;

use mingle_core::cursor::Position;
use mingle_core::event::{ContextPatch, EventDraft};
use mingle_core::Timestamp;
use mingle_store::models::Event;
use mingle_store::{Store, StoreError};

use crate::pagination::PageRequest;
use crate::{Page, ServiceError};

#[derive(Clone)]
pub struct EventsService {
    store: Arc<dyn Store>,
}

pub(crate) fn event_not_found(event_id: &str) -> ServiceError {
    ServiceError::not_found("EVENT_NOT_FOUND", format!("No event '{event_id}' in this org."), ("event_id", event_id))
}

impl EventsService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    pub async fn create(&self, org_id: &str, draft: EventDraft) -> Result<Event, ServiceError> {
        let now = Timestamp::now();
        let event = Event {
            event_id: draft.event_id.into_string(),
            title: draft.title,
            description: draft.description,
            event_details: None,
            objectives: None,
            welcome_instructions: None,
            start_date: draft.start_date,
            end_date: draft.end_date,
            timezone: draft.timezone,
            visibility: draft.visibility,
            url_slug: draft.url_slug,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_event(org_id, &event).await {
            Ok(()) => Ok(event),
            Err(StoreError::Conflict) => Err(ServiceError::conflict(
                "PARTNER_ID_CONFLICT",
                format!("An event '{}' exists already in this org.", event.event_id),
                ("event_id", &event.event_id),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get(&self, org_id: &str, event_id: &str) -> Result<Event, ServiceError> {
        self.store.get_event(org_id, event_id).await?.ok_or_else(|| event_not_found(event_id))
    }

    pub async fn list(&self, org_id: &str, page: &PageRequest) -> Result<Page<Event>, ServiceError> {
        let rows = self.store.list_events(org_id, &page.probe()).await?;
        Ok(page.finish(rows, |e| Position { key: e.created_at.millis(), id: e.event_id.clone() }))
    }

    pub async fn update_context(
        &self,
        org_id: &str,
        event_id: &str,
        patch: &ContextPatch,
    ) -> Result<Event, ServiceError> {
        self.store
            .update_event_context(org_id, event_id, patch, Timestamp::now())
            .await?
            .ok_or_else(|| event_not_found(event_id))
    }
}
