//! The admin's settings view. Every function here refuses anyone but a logged-in admin
//! (401 without a session, 403 for an operator) before it reads or changes anything.

mod audit;
mod commands;
mod connection;
mod sync;
mod users;

pub use audit::*;
pub use commands::*;
pub use connection::*;
pub use sync::*;
pub use users::*;

/// How many audit lines the settings view shows.
pub const AUDIT_LOG_ROWS: i64 = 200;
