//! The GO Cards connection settings: env vars win over values stored by admins, the stored
//! client secret is encrypted at rest, and every change is audited.
//!
//! - [`GoCardsEnv`]: the `GOCARDS_*` env vars (`env`).
//! - [`SettingsCipher`]: encrypts the stored secret with a key from `SETTINGS_KEY` (`cipher`).
//! - [`StoredConnection`]: what admins stored, as read from the `settings` table (`stored`).
//! - `check`: the form's rules, one message per field.
//! - `connection`: the view, "Save" (which switches the live client) and "Test connection".

mod check;
mod cipher;
mod connection;
mod env;
mod stored;

pub use check::{check_input, CheckedInput, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS};
pub use cipher::{CipherError, SettingsCipher};
pub use connection::{
    save_connection, startup_connection, test_connection, view_connection, SaveError,
    StartupConnection, StartupError, TestError,
};
pub use env::GoCardsEnv;
pub use stored::{StoredConnection, StoredSecret, KEYS};

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
