//! The server's integration tests, as one test binary: one link instead of a dozen, which
//! keeps `cargo test` fast and `target/` small. Each module is one area; `common` starts
//! real databases and a running app.

mod abort_card_order;
mod admin_commands;
mod admin_connection;
mod admin_pages;
mod admin_users;
mod authz_matrix;
mod deep_pages;
mod export;
mod export_memory;
mod flood;
mod fuzz;
mod holder_merge;
mod http_api;
mod import;
mod jobs;
mod live;
mod login;
mod manual_attempts;
mod metrics;
mod nul;
mod order_card;
mod origin;
mod outage;
mod processes;
mod retention;
mod security;
mod shutdown;
mod stale_reports;
mod startup_lock;
mod storage;
mod sync;
mod timeouts;
mod update_card_order;
mod users;
mod webhooks;
mod wire;
