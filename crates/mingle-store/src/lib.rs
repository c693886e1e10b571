//! mingle's storage: the [`Store`] trait every service talks to, its models, and the
//! SQLite implementation (the embedded default). Nothing database-specific leaves this
//! crate: services see only the trait, the models and [`StoreError`].

#[cfg(test)]
mod contract;
mod error;
pub mod models;
mod rows;
pub mod sqlite;
mod store;

pub use error::StoreError;
pub use store::{
    connect, AccountStore, DeliveryStore, EnrichmentStore, EventStore, IdentityStore, MatchStore, RunStore, Store,
};
