//! Server-only code, behind the `ssr` feature: storage, the GO Cards client and the services
//! that server functions call. Server functions reach it through `AppState`, which the
//! server provides as Leptos context (`leptos_routes_with_context`).

pub mod access;
pub mod auth;
pub mod db;
pub mod gocards;
pub mod services;
pub mod settings;
mod state;
pub mod sync;
pub mod throttle;

pub use state::{AppState, GoCardsHandle};
