//! The `server` binary's library: the axum router, the command line, configuration, start-up,
//! the sync scheduler and the webhook route. The simulator is the `gocards-sim` crate.

pub mod cli;
pub mod config;
pub mod router;
pub mod scheduler;
pub mod startup;
pub mod webhook;
