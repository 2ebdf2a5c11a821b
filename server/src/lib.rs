//! The axum server: router, command line, configuration, sync scheduler and the GO Cards
//! simulator.

pub mod cli;
pub mod config;
pub mod router;
pub mod scheduler;
pub mod sim;
pub mod startup;
pub mod webhook;
