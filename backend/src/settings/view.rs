//! What the connection form shows: the values in force, which of them env vars set, and
//! whether a secret is stored (never the secret).

use secrecy::SecretString;

use super::{Connection, Layered, StoredSecret};
use crate::AppState;
use desk_core::model::{ConnectionSettingsView, SecretStatus, ShownSetting};
use gocards::GoCardsConfig;

pub async fn view_connection(state: &AppState) -> Result<ConnectionSettingsView, sqlx::Error> {
    let now = Connection::current(state).await?;
    Ok(ConnectionSettingsView {
        base_url: shown(&now.base_url),
        client_id: shown(&now.client_id),
        client_secret: secret_status(&now.client_secret),
        organisation_id: shown(&now.organisation_id),
        timeout_ms: shown(&now.timeout_ms),
        default_timeout_ms: GoCardsConfig::DEFAULT_TIMEOUT.as_millis() as u64,
        demo_mode: state.gocards.is_simulator(),
    })
}

fn shown<T: ToString>(layer: &Layered<T>) -> ShownSetting {
    ShownSetting {
        value: layer.value().map(T::to_string).unwrap_or_default(),
        from_env: layer.from_env(),
    }
}

fn secret_status(layer: &Layered<SecretString, StoredSecret>) -> SecretStatus {
    match (&layer.env, &layer.stored) {
        (Some(_), _) => SecretStatus::FromEnv,
        (None, StoredSecret::Readable(_)) => SecretStatus::Stored,
        (None, StoredSecret::Unreadable) => SecretStatus::Unreadable,
        (None, StoredSecret::NotSet) => SecretStatus::NotSet,
    }
}
