//! The server's integration tests, as one test binary: one link instead of a dozen, which
//! keeps `cargo test` fast and `target/` small. Each module is one area; `common` starts
//! real databases and a running app.

mod admin_commands;
mod admin_connection;
mod admin_pages;
mod admin_users;
mod authz_matrix;
mod fuzz;
mod http_api;
mod import;
mod processes;
mod security;
mod storage;
mod sync;
mod update_card_order;
mod webhooks;
