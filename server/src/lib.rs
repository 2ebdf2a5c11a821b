//! The `server` binary's library: the axum router, the command line, configuration, start-up,
//! the sync scheduler, retention and the webhook route. The simulator is the `gocards-sim`
//! crate.

pub mod assets;
pub mod cli;
pub mod config;
pub mod events;
pub mod export;
pub mod metrics;
pub mod origin;
pub mod outage;
pub mod retention;
pub mod router;
pub mod scheduler;
pub mod startup;
pub mod timeouts;
pub mod webhook;
