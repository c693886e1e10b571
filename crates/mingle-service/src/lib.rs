//! mingle's application services: one per resource, each a thin layer of rules over
//! the [`Store`](mingle_store::Store). They take validated input from the engine
//! (`mingle-core`), decide what happens, and say so with one error type,
//! [`ServiceError`], which the HTTP layer maps to the envelope.

pub mod accounts;
mod error;
pub mod events;
pub mod id_map;
pub mod pagination;
pub mod runs;
pub mod sessions;

use std::sync::Arc;

use mingle_store::Store;

pub use error::ServiceError;
pub use mingle_store::models;
pub use pagination::Page;

/// Every service, wired to one store.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub accounts: accounts::AccountsService,
    pub events: events::EventsService,
    pub sessions: sessions::SessionsService,
    pub id_map: id_map::IdMapService,
    pub runs: runs::RunsService,
}

impl Services {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            accounts: accounts::AccountsService::new(store.clone()),
            events: events::EventsService::new(store.clone()),
            sessions: sessions::SessionsService::new(store.clone()),
            id_map: id_map::IdMapService::new(store.clone()),
            runs: runs::RunsService::new(store.clone()),
            store,
        }
    }
}
