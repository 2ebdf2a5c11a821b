//! The operations behind the server functions, testable without HTTP.

pub mod abort_card_order;
pub mod commands;
pub mod jobs;
pub mod login;
pub mod manual_attempts;
pub mod order_card;
pub mod report;
pub mod sync_view;
pub mod update_card_order;
pub mod users;
pub mod webhook;
