//! The GO Cards connection settings: env vars win over values stored by admins, the stored
//! client secret is encrypted at rest, and every change is audited.
//!
//! - [`GoCardsEnv`]: the `GOCARDS_*` env vars (`env`).
//! - [`SettingsCipher`]: encrypts the stored secret with a key from `SETTINGS_KEY` (`cipher`).
//! - `stored`: the `settings` keys and reading what admins stored.
//! - [`Connection`]: each field [`Layered`], env over stored, and the client settings (`layered`).
//! - `check`: the form's rules, one message per field.
//! - `view`: what the form shows. `save`: "Save", which switches the live client.
//!   `test_connection`: "Test connection". `startup`: the connection the server starts with.

mod check;
mod cipher;
mod env;
mod layered;
mod save;
mod startup;
mod stored;
mod test_connection;
mod view;

pub use check::{check_input, CheckedInput, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS};
pub use cipher::{CipherError, SettingsCipher};
pub use env::GoCardsEnv;
pub use layered::{Connection, Layered, StoredValue};
pub use save::{save_connection, SaveError};
pub use startup::{startup_connection, StartupConnection, StartupError};
pub use stored::{setting_key, StoredSecret};
pub use test_connection::{test_connection, TestError};
pub use view::view_connection;

use gocards::GoCardsConfig;

/// The settings' sources besides the database, handed to server functions in `AppState`.
/// Holds secrets: never serialised, `Debug` masks them.
#[derive(Clone, Debug)]
pub struct GoCardsSettings {
    pub env: GoCardsEnv,
    pub cipher: SettingsCipher,
    /// The in-process simulator's login (its address and generated credentials), when the
    /// server started one. Without it, going back to demo mode needs a restart.
    pub simulator: Option<GoCardsConfig>,
}
