//! "Save": stores the changed fields with an audit line each, and switches the live GO
//! Cards client to the new settings at once (or says why a restart is needed).

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::layered::Submitted;
use super::{
    setting_key, view_connection, CheckedInput, Connection, Layered, SettingsCipher, StoredSecret,
};
use crate::db::settings::SettingChange;
use crate::AppState;
use desk_core::model::{
    ConnectionField, ConnectionSettingsInput, FieldError, SaveConnectionReport,
};
use gocards::{GoCardsClient, GoCardsConfig};

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
    let Submitted { checked, current } = Submitted::load(state, input, SaveError::Invalid).await?;
    let next = after_save(&current, &checked);
    // Build the new client before writing anything, so a setting it refuses stores nothing.
    let client = next
        .config()
        .map_err(SaveError::Invalid)?
        .map(GoCardsClient::new)
        .transpose()
        .map_err(|e| {
            SaveError::Invalid(vec![FieldError {
                field: ConnectionField::BaseUrl,
                message: format!("These settings cannot work: {e}."),
            }])
        })?;
    let changes = changes(&current, &checked, &state.gocards_settings.cipher)?;
    let saved = if changes.is_empty() {
        Saved::Unchanged
    } else {
        state.db.put_settings(&changes, actor).await?;
        let saved = switch_live(state, client, next.timeout());
        tracing::info!(actor, changed = changes.len(), message = %saved, "GO Cards connection settings saved");
        saved
    };
    Ok(SaveConnectionReport {
        message: saved.to_string(),
        restart_needed: saved.restart_needed(),
        settings: view_connection(state).await?,
    })
}

/// The connection as it will be once `checked` is stored (the secret kept if empty).
fn after_save(current: &Connection, checked: &CheckedInput) -> Connection {
    let now = current.clone();
    Connection {
        base_url: now.base_url.replaced(base_url_text(checked)),
        client_id: now.client_id.replaced(checked.client_id.clone()),
        client_secret: now.client_secret.typed_over(checked.client_secret.clone()),
        organisation_id: now
            .organisation_id
            .replaced(checked.organisation_id.clone()),
        timeout_ms: now.timeout_ms.replaced(checked.timeout_ms),
    }
}

fn base_url_text(checked: &CheckedInput) -> Option<String> {
    checked.base_url.as_ref().map(|u| u.as_str().to_owned())
}

/// One `SettingChange` per field that differs from what is stored, with audit details
/// that never hold the secret.
fn changes(
    current: &Connection,
    checked: &CheckedInput,
    cipher: &SettingsCipher,
) -> Result<Vec<SettingChange>, SaveError> {
    let base_url = base_url_text(checked);
    let mut changes: Vec<SettingChange> = [
        change(&current.base_url, base_url.as_ref()),
        change(&current.client_id, checked.client_id.as_ref()),
        change(&current.organisation_id, checked.organisation_id.as_ref()),
        change(&current.timeout_ms, checked.timeout_ms.as_ref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    changes.extend(secret_change(
        &current.client_secret,
        checked.client_secret.as_ref(),
        cipher,
    )?);
    Ok(changes)
}

/// Storing `new` in a field that no env var sets, if it differs from the stored value.
fn change<T: PartialEq + ToString>(layer: &Layered<T>, new: Option<&T>) -> Option<SettingChange> {
    if layer.from_env() || layer.stored.as_ref() == new {
        return None;
    }
    let shown = |v: Option<&T>| v.map_or_else(|| "(none)".to_owned(), T::to_string);
    Some(SettingChange {
        key: setting_key(layer.field),
        audit_detail: format!(
            "{}: {} → {}",
            layer.field.label(),
            shown(layer.stored.as_ref()),
            shown(new)
        ),
        value: new.map(T::to_string),
    })
}

/// A typed secret that differs from the stored one, encrypted; an empty one keeps it.
fn secret_change(
    layer: &Layered<SecretString, StoredSecret>,
    new: Option<&SecretString>,
    cipher: &SettingsCipher,
) -> Result<Option<SettingChange>, SaveError> {
    let Some(secret) = new else {
        return Ok(None);
    };
    let same = layer
        .stored
        .readable()
        .is_some_and(|old| old.expose_secret() == secret.expose_secret());
    if same {
        return Ok(None);
    }
    let key = setting_key(layer.field);
    let sealed = cipher
        .encrypt(key, secret.expose_secret())
        .map_err(|_| SaveError::Encrypt)?;
    Ok(Some(SettingChange {
        key,
        value: Some(sealed),
        audit_detail: "Client secret replaced (stored encrypted; not shown)".to_owned(),
    }))
}

/// What saving put in force; `Display` is the sentence the admin reads.
#[derive(Debug)]
enum Saved {
    Unchanged,
    /// The new client is live.
    Live(Url),
    /// No base URL: the simulator this process started is live again.
    Simulator,
    /// The simulator's client could not be rebuilt.
    RestartNeeded,
    /// No base URL, but this process started no simulator, so `still` stays live.
    DemoAfterRestart {
        still: Url,
    },
}

impl Saved {
    fn restart_needed(&self) -> bool {
        matches!(self, Saved::RestartNeeded | Saved::DemoAfterRestart { .. })
    }
}

impl fmt::Display for Saved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Saved::Unchanged => write!(f, "Saved. Nothing had changed."),
            Saved::Live(base_url) => write!(f, "Saved. The app now uses GO Cards at {base_url}."),
            Saved::Simulator => write!(
                f,
                "Saved. No base URL is set, so the app uses the built-in GO Cards simulator (demo mode)."
            ),
            Saved::RestartNeeded => {
                write!(f, "Saved. Restart the server to put the change in force.")
            }
            Saved::DemoAfterRestart { still } => write!(
                f,
                "Saved. No base URL is set now: restart the server to start the built-in GO Cards \
                 simulator (demo mode). Until then the app keeps using GO Cards at {still}."
            ),
        }
    }
}

/// Puts the new connection in force, or says why a restart is needed.
fn switch_live(state: &AppState, client: Option<GoCardsClient>, timeout: Duration) -> Saved {
    let live = &state.gocards;
    if let Some(client) = client {
        let saved = Saved::Live(client.base_url().clone());
        live.replace(client);
        return saved;
    }
    let Some(simulator) = state.gocards_settings.simulator.clone() else {
        return Saved::DemoAfterRestart {
            still: live.current().base_url().clone(),
        };
    };
    match GoCardsClient::new(GoCardsConfig {
        timeout,
        ..simulator
    }) {
        Ok(client) => {
            live.replace_with_simulator(client);
            Saved::Simulator
        }
        Err(error) => {
            tracing::error!(%error, "could not rebuild the simulator's client");
            Saved::RestartNeeded
        }
    }
}
