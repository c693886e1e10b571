//! An event's attendees and their identity history.

use std::sync::Arc;

use mingle_core::cursor::Position;
use mingle_store::models::{AttendeeListing, Decision};
use mingle_store::Store;

use crate::enrichment::show_current_enrichment;
use crate::events::event_not_found;
use crate::pagination::PageRequest;
use crate::{Page, ServiceError};

#[derive(Clone)]
pub struct AttendeesService {
    store: Arc<dyn Store>,
}

pub(crate) fn attendee_not_found(attendee_id: &str) -> ServiceError {
    ServiceError::not_found(
        "ATTENDEE_NOT_FOUND",
        format!("No attendee '{attendee_id}' in this event."),
        ("attendee_id", attendee_id),
    )
}

impl AttendeesService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    async fn require_event(&self, org_id: &str, event_id: &str) -> Result<(), ServiceError> {
        self.store.get_event(org_id, event_id).await?.map(|_| ()).ok_or_else(|| event_not_found(event_id))
    }

    /// The event's attendees by `attendee_id`; merged aliases are not listed. Goal, needs
    /// and offers are the enriched ones while the attendee's enrichment is current.
    pub async fn list(
        &self,
        org_id: &str,
        event_id: &str,
        page: &PageRequest,
    ) -> Result<Page<AttendeeListing>, ServiceError> {
        self.require_event(org_id, event_id).await?;
        let mut rows = self.store.list_attendees(org_id, event_id, &page.probe()).await?;
        rows.iter_mut().for_each(show_current_enrichment);
        Ok(page.finish(rows, |a| Position { key: 0, id: a.attendee_id.clone() }))
    }

    /// An attendee's identity decisions, newest first. The attendee must be in the
    /// event — or be an alias merged into one that is, so that history survives merges.
    pub async fn identity(
        &self,
        org_id: &str,
        event_id: &str,
        attendee_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Decision>, ServiceError> {
        self.require_event(org_id, event_id).await?;
        let attendee =
            self.store.get_attendee(org_id, attendee_id).await?.ok_or_else(|| attendee_not_found(attendee_id))?;
        let member_id = attendee.merged_into.as_deref().unwrap_or(attendee_id);
        if !self.store.is_member(org_id, event_id, member_id).await? {
            return Err(attendee_not_found(attendee_id));
        }
        let rows = self.store.list_decisions(org_id, attendee_id, &page.probe()).await?;
        Ok(page.finish(rows, |d| Position { key: d.created_at.millis(), id: d.decision_id.clone() }))
    }
}
