//! `GET /id-map/:kind/:partner_id`: is a partner ID mapped in the org?

use std::sync::Arc;

use mingle_core::{PartnerId, PartnerKind};
use mingle_store::models::MappedKind;
use mingle_store::Store;

use crate::ServiceError;

#[derive(Clone)]
pub struct IdMapService {
    store: Arc<dyn Store>,
}

/// A mapped partner ID.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub kind: String,
    pub partner_id: String,
    /// For an attendee merged into another: the attendee it is an alias of.
    pub merged_into: Option<String>,
}

impl IdMapService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// An unknown ID, or a well-formed kind the org holds nothing of, is
    /// `PARTNER_ID_NOT_FOUND`.
    pub async fn lookup(
        &self,
        org_id: &str,
        kind: &PartnerKind,
        partner_id: &PartnerId,
    ) -> Result<Mapping, ServiceError> {
        let found = match MappedKind::parse(kind.as_str()) {
            Some(k) => self.store.lookup_partner_id(org_id, k, partner_id.as_str()).await?,
            None => None,
        };
        let Some(merged_into) = found else {
            return Err(ServiceError::not_found(
                "PARTNER_ID_NOT_FOUND",
                format!("No {} '{}' in this org.", kind.as_str(), partner_id),
                ("partner_id", partner_id.as_str()),
            ));
        };
        Ok(Mapping { kind: kind.as_str().to_owned(), partner_id: partner_id.as_str().to_owned(), merged_into })
    }
}
