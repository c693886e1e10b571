//! The `mingle` binary's library half: command line, configuration, logging and the
//! wiring of store, services and router. `main.rs` only calls [`cli::run`].

pub mod cli;
pub mod config;
pub mod demo;
pub mod logging;
pub mod provision;
pub mod serve;

/// mimalloc instead of the system allocator: an import allocates and frees millions of
/// small strings and maps, where glibc's allocator spent a third of the time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
