//! mingle's application services: one per resource, each a thin layer of rules over
//! the [`Store`](mingle_store::Store). They take validated input from the engine
//! (`mingle-core`), decide what happens, and say so with one error type,
//! [`ServiceError`], which the HTTP layer maps to the envelope.

pub mod accounts;
pub mod attendees;
pub mod encoding;
pub mod enrichment;
mod error;
pub mod events;
pub mod id_map;
pub mod imports;
pub mod matching;
pub mod pagination;
pub mod rate_limits;
pub mod reviews;
pub mod runs;
pub mod sessions;
pub mod webhooks;
pub mod worker;

use std::sync::Arc;

use mingle_core::RunKind;
use mingle_store::Store;
use tokio::sync::Notify;

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
    pub imports: imports::ImportsService,
    pub attendees: attendees::AttendeesService,
    pub reviews: reviews::ReviewsService,
    pub enrichment: enrichment::EnrichmentService,
    pub matching: matching::MatchingService,
    pub webhooks: webhooks::WebhooksService,
    /// Wakes the embedded worker when a run is queued.
    pub queued: Arc<Notify>,
    /// The sentence encoder, once loaded.
    pub encoder: encoding::EncoderSlot,
}

impl Services {
    /// A worker that executes this store's runs.
    pub fn worker(&self, settings: worker::WorkerSettings) -> worker::Worker {
        let handlers = runs::RunHandlers::default()
            .with(RunKind::Import, self.imports.clone())
            .with(RunKind::Enrichment, self.enrichment.clone())
            .with(RunKind::Match, self.matching.clone());
        worker::Worker::new(self.store.clone(), handlers, self.queued.clone(), settings)
    }

    /// A sender of this store's webhook deliveries; `render` gives a run the API's shape.
    pub fn webhook_sender(
        &self,
        render: webhooks::RenderRun,
        settings: webhooks::SenderSettings,
    ) -> webhooks::WebhookSender {
        webhooks::WebhookSender::new(self.store.clone(), render, settings)
    }

    pub fn new(store: Arc<dyn Store>) -> Self {
        let queued = Arc::new(Notify::new());
        let runs = runs::RunsService::new(store.clone(), queued.clone());
        let encoder = encoding::EncoderSlot::default();
        let enrichment = enrichment::EnrichmentService::new(store.clone(), runs.clone(), encoder.clone());
        Self {
            matching: matching::MatchingService::new(store.clone(), runs.clone(), enrichment.clone()),
            enrichment,
            imports: imports::ImportsService::new(store.clone(), runs.clone()),
            attendees: attendees::AttendeesService::new(store.clone()),
            reviews: reviews::ReviewsService::new(store.clone()),
            webhooks: webhooks::WebhooksService::new(store.clone()),
            queued,
            encoder,
            accounts: accounts::AccountsService::new(store.clone()),
            events: events::EventsService::new(store.clone()),
            sessions: sessions::SessionsService::new(store.clone()),
            id_map: id_map::IdMapService::new(store.clone()),
            runs,
            store,
        }
    }
}
