//! Server functions: the app's public API. Each one checks the session and role itself,
//! parses its input into domain types, calls a service and maps the error.

#[cfg(feature = "ssr")]
pub mod access;
mod admin;
mod cards;
mod errors;
mod holders;
mod jobs;
pub(crate) mod processes;
mod session;

pub use admin::*;
pub use cards::*;
pub use errors::*;
pub use holders::*;
pub use jobs::*;
pub use processes::*;
pub use session::*;
