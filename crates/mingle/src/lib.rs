//! The `mingle` binary's library half: command line, configuration, logging and the
//! wiring of store, services and router. `main.rs` only calls [`cli::run`].

pub mod cli;
pub mod config;
pub mod logging;
pub mod provision;
pub mod serve;
