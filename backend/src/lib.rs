//! The desk's server side, without any web framework: storage, log-in, settings, the
//! services that server functions call, and the batch sync. No leptos here; the `app` crate's
//! server functions reach it through [`AppState`], which the server provides as Leptos context.
//!
//! - `db`: one [`db::Db`] handle over SQLite or PostgreSQL, and the migrations.
//! - `auth`: the axum-login backend and the session store.
//! - `settings`: the GO Cards connection (env over stored) and the encrypted secret.
//! - `services`: what the server functions, the CLI and webhooks call.
//! - `sync`: the batch sync's run, lease, retries and schedule.
//! - `events`: live events, to every replica's `/events` streams.
//! - `jobs`: the job runner (a process over many cards or users, item by item).
//! - `throttle`: failed log-ins per username and per address.
//! - `metrics`: the metric families, recorded where things happen.

pub mod auth;
pub mod client_address;
pub mod db;
pub mod events;
pub mod jobs;
pub mod metrics;
pub mod services;
pub mod settings;
mod state;
pub mod sync;
pub mod throttle;

pub use state::{AppState, GoCardsHandle};
