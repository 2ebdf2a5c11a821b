//! The GO Cards connection: what the form shows, "Save" (which switches the live client at
//! once) and "Test connection", plus the connection the server starts with.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::{check_input, CheckedInput, GoCardsEnv, StoredConnection, StoredSecret, KEYS};
use crate::db::settings::SettingChange;
use crate::AppState;
use desk_core::model::{
    ConnectionField, ConnectionSettingsInput, ConnectionSettingsView, ConnectionTestReport,
    FieldError, SaveConnectionReport, SecretStatus, ShownSetting,
};
use gocards::{GoCardsClient, GoCardsConfig, GoCardsError};

/// The settings in force for each field: env var, else the given (stored or typed) value.
#[derive(Clone, Debug, Default)]
struct Effective {
    base_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    secret_unreadable: bool,
    organisation_id: Option<String>,
    timeout_ms: Option<u64>,
}

impl Effective {
    fn merge(env: &GoCardsEnv, given: &StoredConnection) -> Effective {
        Effective {
            base_url: env.base_url.clone().or_else(|| given.base_url.clone()),
            client_id: env.client_id.clone().or_else(|| given.client_id.clone()),
            client_secret: env
                .client_secret
                .clone()
                .or_else(|| given.client_secret.readable().cloned()),
            secret_unreadable: env.client_secret.is_none()
                && matches!(given.client_secret, StoredSecret::Unreadable),
            organisation_id: env
                .organisation_id
                .clone()
                .or_else(|| given.organisation_id.clone()),
            timeout_ms: env.timeout_ms.or(given.timeout_ms),
        }
    }

    fn timeout(&self) -> Duration {
        self.timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(GoCardsConfig::DEFAULT_TIMEOUT)
    }

    /// The client settings, `Ok(None)` in demo mode (no base URL), or what is missing.
    fn config(&self) -> Result<Option<GoCardsConfig>, Vec<FieldError>> {
        let Some(base_url) = &self.base_url else {
            return Ok(None);
        };
        let mut missing = Vec::new();
        let mut need = |field: ConnectionField, message: &str| {
            missing.push(FieldError {
                field,
                message: message.to_owned(),
            })
        };
        let url = url::Url::parse(base_url);
        if url.is_err() {
            need(ConnectionField::BaseUrl, "Base URL is not a valid address.");
        }
        if self.client_id.is_none() {
            need(
                ConnectionField::ClientId,
                "Client ID is required with a base URL.",
            );
        }
        if self.client_secret.is_none() {
            need(
                ConnectionField::ClientSecret,
                if self.secret_unreadable {
                    "The stored client secret cannot be decrypted with the current SETTINGS_KEY. Enter it again."
                } else {
                    "Client secret is required with a base URL."
                },
            );
        }
        if self.organisation_id.is_none() {
            need(
                ConnectionField::OrganisationId,
                "Organisation ID is required with a base URL.",
            );
        }
        match (
            url,
            &self.client_id,
            &self.client_secret,
            &self.organisation_id,
        ) {
            (Ok(base_url), Some(client_id), Some(client_secret), Some(organisation_id))
                if missing.is_empty() =>
            {
                Ok(Some(GoCardsConfig {
                    base_url,
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    organisation_id: organisation_id.clone(),
                    timeout: self.timeout(),
                }))
            }
            _ => Err(missing),
        }
    }
}

/// The stored settings as they would be after saving `input` (the secret kept if empty).
fn after_save(checked: &CheckedInput, stored: &StoredConnection) -> StoredConnection {
    StoredConnection {
        base_url: checked.base_url.as_ref().map(|u| u.as_str().to_owned()),
        client_id: checked.client_id.clone(),
        client_secret: match &checked.client_secret {
            Some(secret) => StoredSecret::Readable(secret.clone()),
            None => stored.client_secret.clone(),
        },
        organisation_id: checked.organisation_id.clone(),
        timeout_ms: checked.timeout_ms,
    }
}

/// What the connection form shows. Never the secret.
pub async fn view_connection(state: &AppState) -> Result<ConnectionSettingsView, sqlx::Error> {
    let settings = &state.gocards_settings;
    let stored = StoredConnection::load(&state.db, &settings.cipher).await?;
    let env = &settings.env;
    let shown = |env_value: &Option<String>, stored_value: &Option<String>| match env_value {
        Some(value) => ShownSetting {
            value: value.clone(),
            from_env: true,
        },
        None => ShownSetting {
            value: stored_value.clone().unwrap_or_default(),
            from_env: false,
        },
    };
    let client_secret = match (&env.client_secret, &stored.client_secret) {
        (Some(_), _) => SecretStatus::FromEnv,
        (None, StoredSecret::Readable(_)) => SecretStatus::Stored,
        (None, StoredSecret::Unreadable) => SecretStatus::Unreadable,
        (None, StoredSecret::NotSet) => SecretStatus::NotSet,
    };
    let number = |n: Option<u64>| n.map(|n| n.to_string());
    Ok(ConnectionSettingsView {
        base_url: shown(&env.base_url, &stored.base_url),
        client_id: shown(&env.client_id, &stored.client_id),
        client_secret,
        organisation_id: shown(&env.organisation_id, &stored.organisation_id),
        timeout_ms: shown(&number(env.timeout_ms), &number(stored.timeout_ms)),
        default_timeout_ms: GoCardsConfig::DEFAULT_TIMEOUT.as_millis() as u64,
        demo_mode: state.gocards.is_simulator(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("some settings are not valid")]
    Invalid(Vec<FieldError>),
    #[error("the client secret could not be encrypted")]
    Encrypt,
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// Stores the non-env fields of `input` (an empty secret keeps the stored one), audits
/// each change, and switches the live GO Cards client to the new settings at once.
pub async fn save_connection(
    state: &AppState,
    input: &ConnectionSettingsInput,
    actor: &str,
) -> Result<SaveConnectionReport, SaveError> {
    let settings = &state.gocards_settings;
    let checked = check_input(input, &settings.env).map_err(SaveError::Invalid)?;
    let stored = StoredConnection::load(&state.db, &settings.cipher).await?;
    let next = after_save(&checked, &stored);
    let effective = Effective::merge(&settings.env, &next);
    let config = effective.config().map_err(SaveError::Invalid)?;
    // Build the new client before writing anything, so a setting it refuses stores nothing.
    let client = match config {
        Some(config) => Some(GoCardsClient::new(config).map_err(|e| {
            SaveError::Invalid(vec![FieldError {
                field: ConnectionField::BaseUrl,
                message: format!("These settings cannot work: {e}."),
            }])
        })?),
        None => None,
    };
    let changes = changes(state, &checked, &stored)?;
    if changes.is_empty() {
        return Ok(SaveConnectionReport {
            message: "Saved. Nothing had changed.".to_owned(),
            restart_needed: false,
            settings: view_connection(state).await?,
        });
    }
    state.db.put_settings(&changes, actor).await?;
    let (message, restart_needed) = switch_live(state, client, effective.timeout());
    tracing::info!(actor, changed = changes.len(), %message, "GO Cards connection settings saved");
    Ok(SaveConnectionReport {
        message,
        restart_needed,
        settings: view_connection(state).await?,
    })
}

/// One `SettingChange` per field that differs from what is stored, with audit details
/// that never hold the secret.
fn changes(
    state: &AppState,
    checked: &CheckedInput,
    stored: &StoredConnection,
) -> Result<Vec<SettingChange>, SaveError> {
    let env = &state.gocards_settings.env;
    let mut changes = Vec::new();
    let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
    let mut text = |key: &'static str,
                    label: &str,
                    by_env: bool,
                    old: &Option<String>,
                    new: Option<String>| {
        if !by_env && *old != new {
            changes.push(SettingChange {
                key,
                audit_detail: format!("{label}: {} → {}", shown(old), shown(&new)),
                value: new,
            });
        }
    };
    let new_base = checked.base_url.as_ref().map(|u| u.as_str().to_owned());
    text(
        KEYS.base_url,
        "Base URL",
        env.base_url.is_some(),
        &stored.base_url,
        new_base,
    );
    text(
        KEYS.client_id,
        "Client ID",
        env.client_id.is_some(),
        &stored.client_id,
        checked.client_id.clone(),
    );
    text(
        KEYS.organisation_id,
        "Organisation ID",
        env.organisation_id.is_some(),
        &stored.organisation_id,
        checked.organisation_id.clone(),
    );
    let ms = |v: Option<u64>| v.map(|n| n.to_string());
    text(
        KEYS.timeout_ms,
        "Timeout (ms)",
        env.timeout_ms.is_some(),
        &ms(stored.timeout_ms),
        ms(checked.timeout_ms),
    );
    if let Some(secret) = &checked.client_secret {
        let same = stored
            .client_secret
            .readable()
            .is_some_and(|old| old.expose_secret() == secret.expose_secret());
        if !same {
            let sealed = state
                .gocards_settings
                .cipher
                .encrypt(KEYS.client_secret, secret.expose_secret())
                .map_err(|_| SaveError::Encrypt)?;
            changes.push(SettingChange {
                key: KEYS.client_secret,
                value: Some(sealed),
                audit_detail: "Client secret replaced (stored encrypted; not shown)".to_owned(),
            });
        }
    }
    Ok(changes)
}

/// Puts the new connection in force, or says why a restart is needed.
fn switch_live(
    state: &AppState,
    client: Option<GoCardsClient>,
    timeout: Duration,
) -> (String, bool) {
    let live = &state.gocards;
    if let Some(client) = client {
        let message = format!("Saved. The app now uses GO Cards at {}.", client.base_url());
        live.replace(client);
        return (message, false);
    }
    let simulator = state
        .gocards_settings
        .simulator
        .clone()
        .map(|config| GoCardsClient::new(GoCardsConfig { timeout, ..config }));
    match simulator {
        Some(Ok(client)) => {
            live.replace_with_simulator(client);
            (
                "Saved. No base URL is set, so the app uses the built-in GO Cards simulator (demo mode)."
                    .to_owned(),
                false,
            )
        }
        Some(Err(error)) => {
            tracing::error!(%error, "could not rebuild the simulator's client");
            (
                "Saved. Restart the server to put the change in force.".to_owned(),
                true,
            )
        }
        None => (
            format!(
                "Saved. No base URL is set now: restart the server to start the built-in GO Cards \
                 simulator (demo mode). Until then the app keeps using GO Cards at {}.",
                live.current().base_url()
            ),
            true,
        ),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error("some settings are not valid")]
    Invalid(Vec<FieldError>),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// Fetches a token and makes one `/api` call with the typed settings, falling back to the
/// env and stored ones for empty fields. Changes nothing.
pub async fn test_connection(
    state: &AppState,
    input: &ConnectionSettingsInput,
) -> Result<ConnectionTestReport, TestError> {
    let settings = &state.gocards_settings;
    let checked = check_input(input, &settings.env).map_err(TestError::Invalid)?;
    let stored = StoredConnection::load(&state.db, &settings.cipher).await?;
    let typed = StoredConnection {
        base_url: checked
            .base_url
            .map(|u| u.as_str().to_owned())
            .or(stored.base_url),
        client_id: checked.client_id.or(stored.client_id),
        client_secret: match checked.client_secret {
            Some(secret) => StoredSecret::Readable(secret),
            None => stored.client_secret,
        },
        organisation_id: checked.organisation_id.or(stored.organisation_id),
        timeout_ms: checked.timeout_ms.or(stored.timeout_ms),
    };
    let effective = Effective::merge(&settings.env, &typed);
    let config = match effective.config().map_err(TestError::Invalid)? {
        Some(config) => config,
        None => match (&settings.simulator, state.gocards.is_simulator()) {
            (Some(simulator), true) => {
                let config = GoCardsConfig {
                    timeout: effective.timeout(),
                    ..simulator.clone()
                };
                return Ok(run_test(config, "the built-in GO Cards simulator").await);
            }
            _ => {
                return Err(TestError::Invalid(vec![FieldError {
                    field: ConnectionField::BaseUrl,
                    message: "Enter a base URL to test.".to_owned(),
                }]))
            }
        },
    };
    let target = format!("GO Cards at {}", config.base_url);
    Ok(run_test(config, &target).await)
}

async fn run_test(config: GoCardsConfig, target: &str) -> ConnectionTestReport {
    let organisation = config.organisation_id.clone();
    let timeout_ms = config.timeout.as_millis();
    let client = match GoCardsClient::new(config) {
        Ok(client) => client,
        Err(error) => {
            return ConnectionTestReport {
                ok: false,
                message: format!("These settings cannot work: {error}."),
            }
        }
    };
    let result = client.test_connection().await;
    tracing::info!(ok = result.is_ok(), error = ?result.as_ref().err(), "GO Cards connection test");
    let ok = result.is_ok();
    let message = match result {
        Ok(()) => format!(
            "Connection works: {target} issued a token and answered an API call for organisation {organisation}."
        ),
        Err(GoCardsError::Unreachable) => {
            format!("Could not reach {target}. Check the base URL and the network.")
        }
        Err(GoCardsError::Unauthorized) => {
            format!("Wrong credentials: {target} rejected the client ID or client secret.")
        }
        Err(GoCardsError::Forbidden) => format!(
            "Wrong organisation: {target} accepted the credentials but refused organisation {organisation}."
        ),
        Err(GoCardsError::Timeout) => {
            format!("Timeout: {target} did not answer within {timeout_ms} ms.")
        }
        Err(GoCardsError::ServerError { status: status @ (404 | 405 | 410) }) => format!(
            "{target} has no token endpoint (error {status}). Check the base URL."
        ),
        Err(GoCardsError::ServerError { status }) => {
            format!("{target} answered with error {status}. Try again later.")
        }
        Err(GoCardsError::Malformed | GoCardsError::Oversized) => {
            format!("{target} does not answer like GO Cards. Check the base URL.")
        }
        Err(GoCardsError::RateLimited { retry_after }) => format!(
            "{target} is busy; try again in {} s.",
            retry_after.as_secs().max(1)
        ),
        Err(GoCardsError::NotFound) => {
            format!("{target} answered 404 to the API call. Check the base URL.")
        }
        Err(GoCardsError::BadRequest | GoCardsError::Conflict) => {
            format!("{target} refused the test call as invalid.")
        }
        Err(GoCardsError::InvalidConfig(problem)) => {
            format!("These settings cannot work: {problem}.")
        }
    };
    ConnectionTestReport { ok, message }
}

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
    state_db: &crate::db::Db,
    env: &GoCardsEnv,
    cipher: &super::SettingsCipher,
) -> Result<StartupConnection, StartupError> {
    let stored = StoredConnection::load(state_db, cipher).await?;
    let effective = Effective::merge(env, &stored);
    let config = effective.config().map_err(|missing| {
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
        timeout: effective.timeout(),
    })
}
