//! The connection the server starts with, from the env vars over the stored settings.

use std::time::Duration;

use super::{Connection, GoCardsEnv, SettingsCipher};
use crate::db::Db;
use gocards::GoCardsConfig;

/// The connection the server starts with: `config` is `None` in demo mode (no base URL
/// from env or storage); `timeout` applies to the simulator's client too.
#[derive(Debug)]
pub struct StartupConnection {
    pub config: Option<GoCardsConfig>,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("the GO Cards connection is incomplete: {0} Set the missing GOCARDS_* env vars (they win over the stored settings) and start again")]
    Incomplete(String),
    #[error("reading the stored GO Cards settings: {0}")]
    Storage(#[from] sqlx::Error),
}

pub async fn startup_connection(
    state_db: &Db,
    env: &GoCardsEnv,
    cipher: &SettingsCipher,
) -> Result<StartupConnection, StartupError> {
    let connection = Connection::load(state_db, env, cipher).await?;
    let config = connection.config().map_err(|missing| {
        StartupError::Incomplete(
            missing
                .iter()
                .map(|e| format!("{} ({})", e.message, e.field.env_var()))
                .collect::<Vec<_>>()
                .join(" "),
        )
    })?;
    Ok(StartupConnection {
        config,
        timeout: connection.timeout(),
    })
}
