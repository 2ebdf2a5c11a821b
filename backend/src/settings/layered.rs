//! The connection field by field: each field's env var wins over its stored value, and
//! the client settings that follow (or what they lack).

use std::time::Duration;

use secrecy::SecretString;

use super::stored::{read, read_secret, StoredSecret};
use super::{check_input, CheckedInput, GoCardsEnv, SettingsCipher};
use crate::db::Db;
use crate::AppState;
use desk_core::model::{ConnectionField, ConnectionSettingsInput, FieldError};
use gocards::GoCardsConfig;

/// How the stored layer holds a value: `Option<T>`, or a [`StoredSecret`], which can also
/// be stored but unreadable.
pub trait StoredValue<T>: From<T> {
    fn get(&self) -> Option<&T>;

    /// Why the field has no value although a base URL needs one.
    fn why_missing(&self, field: ConnectionField) -> String {
        required_with_base_url(field)
    }
}

fn required_with_base_url(field: ConnectionField) -> String {
    format!("{} is required with a base URL.", field.label())
}

impl<T> StoredValue<T> for Option<T> {
    fn get(&self) -> Option<&T> {
        self.as_ref()
    }
}

impl StoredValue<SecretString> for StoredSecret {
    fn get(&self) -> Option<&SecretString> {
        self.readable()
    }

    fn why_missing(&self, field: ConnectionField) -> String {
        match self {
            StoredSecret::Unreadable => "The stored client secret cannot be decrypted with the current SETTINGS_KEY. Enter it again.".to_owned(),
            StoredSecret::NotSet | StoredSecret::Readable(_) => required_with_base_url(field),
        }
    }
}

/// One field of the connection: its env var's value, which wins, over the stored one.
#[derive(Clone, Debug)]
pub struct Layered<T, S = Option<T>> {
    pub field: ConnectionField,
    pub env: Option<T>,
    pub stored: S,
}

impl<T, S: StoredValue<T>> Layered<T, S> {
    /// The value in force.
    pub fn value(&self) -> Option<&T> {
        self.env.as_ref().or_else(|| self.stored.get())
    }

    pub fn from_env(&self) -> bool {
        self.env.is_some()
    }

    /// With `typed` as the stored value, unless it is `None`.
    pub fn typed_over(self, typed: Option<T>) -> Self {
        Layered {
            stored: typed.map(S::from).unwrap_or(self.stored),
            ..self
        }
    }

    /// The value in force, or `None` with the reason added to `missing`.
    fn required(&self, missing: &mut Vec<FieldError>) -> Option<&T> {
        let value = self.value();
        if value.is_none() {
            missing.push(FieldError {
                field: self.field,
                message: self.stored.why_missing(self.field),
            });
        }
        value
    }
}

impl<T> Layered<T> {
    /// With `stored` as the stored value, even if it is `None`.
    pub fn replaced(self, stored: Option<T>) -> Self {
        Layered { stored, ..self }
    }
}

/// The five fields of the GO Cards connection. `Debug` masks the secret.
#[derive(Clone, Debug)]
pub struct Connection {
    pub base_url: Layered<String>,
    pub client_id: Layered<String>,
    pub client_secret: Layered<SecretString, StoredSecret>,
    pub organisation_id: Layered<String>,
    pub timeout_ms: Layered<u64>,
}

impl Connection {
    pub async fn load(
        db: &Db,
        env: &GoCardsEnv,
        cipher: &SettingsCipher,
    ) -> Result<Connection, sqlx::Error> {
        use ConnectionField as F;
        Ok(Connection {
            base_url: Layered {
                field: F::BaseUrl,
                env: env.base_url.clone(),
                stored: read(db, F::BaseUrl).await?,
            },
            client_id: Layered {
                field: F::ClientId,
                env: env.client_id.clone(),
                stored: read(db, F::ClientId).await?,
            },
            client_secret: Layered {
                field: F::ClientSecret,
                env: env.client_secret.clone(),
                stored: read_secret(db, cipher).await?,
            },
            organisation_id: Layered {
                field: F::OrganisationId,
                env: env.organisation_id.clone(),
                stored: read(db, F::OrganisationId).await?,
            },
            timeout_ms: Layered {
                field: F::TimeoutMs,
                env: env.timeout_ms,
                stored: read(db, F::TimeoutMs).await?,
            },
        })
    }

    /// The connection in force for the running server's settings.
    pub async fn current(state: &AppState) -> Result<Connection, sqlx::Error> {
        let settings = &state.gocards_settings;
        Connection::load(&state.db, &settings.env, &settings.cipher).await
    }

    pub fn timeout(&self) -> Duration {
        self.timeout_ms
            .value()
            .copied()
            .map(Duration::from_millis)
            .unwrap_or(GoCardsConfig::DEFAULT_TIMEOUT)
    }

    /// The client settings, `Ok(None)` in demo mode (no base URL), or what is missing.
    pub fn config(&self) -> Result<Option<GoCardsConfig>, Vec<FieldError>> {
        let Some(base_url) = self.base_url.value() else {
            return Ok(None);
        };
        let mut missing = Vec::new();
        let base_url = url::Url::parse(base_url).ok();
        if base_url.is_none() {
            missing.push(FieldError {
                field: ConnectionField::BaseUrl,
                message: "Base URL is not a valid address.".to_owned(),
            });
        }
        let client_id = self.client_id.required(&mut missing);
        let client_secret = self.client_secret.required(&mut missing);
        let organisation_id = self.organisation_id.required(&mut missing);
        let (Some(base_url), Some(client_id), Some(client_secret), Some(organisation_id)) =
            (base_url, client_id, client_secret, organisation_id)
        else {
            return Err(missing);
        };
        Ok(Some(GoCardsConfig {
            base_url,
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            organisation_id: organisation_id.clone(),
            timeout: self.timeout(),
        }))
    }
}

/// What "Save" and "Test connection" both start from: the form after its rules, and the
/// connection in force before it.
pub(super) struct Submitted {
    pub checked: CheckedInput,
    pub current: Connection,
}

impl Submitted {
    /// `invalid` wraps the form's field errors in the caller's error.
    pub async fn load<E: From<sqlx::Error>>(
        state: &AppState,
        input: &ConnectionSettingsInput,
        invalid: fn(Vec<FieldError>) -> E,
    ) -> Result<Submitted, E> {
        let checked = check_input(input, &state.gocards_settings.env).map_err(invalid)?;
        let current = Connection::current(state).await?;
        Ok(Submitted { checked, current })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(field: ConnectionField, env: Option<&str>, stored: Option<&str>) -> Layered<String> {
        Layered {
            field,
            env: env.map(str::to_owned),
            stored: stored.map(str::to_owned),
        }
    }

    fn connection(base_url: Option<&str>, secret: StoredSecret) -> Connection {
        Connection {
            base_url: text(ConnectionField::BaseUrl, None, base_url),
            client_id: text(ConnectionField::ClientId, Some("env-id"), Some("stored-id")),
            client_secret: Layered {
                field: ConnectionField::ClientSecret,
                env: None,
                stored: secret,
            },
            organisation_id: text(ConnectionField::OrganisationId, None, None),
            timeout_ms: Layered {
                field: ConnectionField::TimeoutMs,
                env: None,
                stored: Some(2500),
            },
        }
    }

    #[test]
    fn env_wins_over_stored() {
        let c = connection(None, StoredSecret::NotSet);
        assert_eq!(c.client_id.value().map(String::as_str), Some("env-id"));
        assert!(c.client_id.from_env() && !c.base_url.from_env());
        assert_eq!(c.timeout(), Duration::from_millis(2500));
        let typed = c.client_id.typed_over(Some("typed-id".to_owned()));
        assert_eq!(typed.value().map(String::as_str), Some("env-id"));
        assert_eq!(typed.stored.as_deref(), Some("typed-id"));
    }

    #[test]
    fn no_base_url_is_demo_mode_and_each_missing_field_is_named_once() {
        assert!(matches!(
            connection(None, StoredSecret::NotSet).config(),
            Ok(None)
        ));
        let missing = connection(Some("https://cards.example"), StoredSecret::Unreadable)
            .config()
            .err()
            .unwrap_or_default();
        let fields: Vec<_> = missing.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                ConnectionField::ClientSecret,
                ConnectionField::OrganisationId
            ]
        );
        assert!(missing[0].message.contains("SETTINGS_KEY"));
        assert_eq!(
            missing[1].message,
            "Organisation ID is required with a base URL."
        );
    }
}
