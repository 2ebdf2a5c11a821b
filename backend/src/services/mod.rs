//! The operations behind the server functions, testable without HTTP.

pub mod commands;
pub mod report;
pub mod sync_view;
pub mod update_card_order;
pub mod users;
pub mod webhook;
