//! mingle's storage: the [`Store`] traits every service talks to, their models, and two
//! implementations: SQLite (the embedded default) and PostgreSQL (many processes on one
//! database). Nothing database-specific leaves this
//! crate: services see only the trait, the models and [`StoreError`].

#[cfg(test)]
mod contract;
mod error;
pub mod models;
pub mod postgres;
mod rows;
pub mod sqlite;
mod store;

pub use error::StoreError;
pub use store::{
    connect, AccountStore, DeliveryStore, EnrichmentStore, EventStore, IdentityStore, MatchStore, RunStore, Store,
};
