//! The GO Cards connection as admins stored it in the `settings` table.

use std::str::FromStr;

use secrecy::SecretString;

use super::SettingsCipher;
use crate::db::Db;
use desk_core::model::ConnectionField;

/// The `settings` key of each form field.
pub fn setting_key(field: ConnectionField) -> &'static str {
    match field {
        ConnectionField::BaseUrl => "gocards.base_url",
        ConnectionField::ClientId => "gocards.client_id",
        ConnectionField::ClientSecret => "gocards.client_secret",
        ConnectionField::OrganisationId => "gocards.organisation_id",
        ConnectionField::TimeoutMs => "gocards.timeout_ms",
    }
}

/// The stored client secret, decrypted if the key allows.
#[derive(Clone, Debug, Default)]
pub enum StoredSecret {
    #[default]
    NotSet,
    Readable(SecretString),
    /// Stored, but not decryptable with the current key.
    Unreadable,
}

impl StoredSecret {
    pub fn readable(&self) -> Option<&SecretString> {
        match self {
            StoredSecret::Readable(secret) => Some(secret),
            _ => None,
        }
    }
}

impl From<SecretString> for StoredSecret {
    fn from(secret: SecretString) -> Self {
        StoredSecret::Readable(secret)
    }
}

async fn text(db: &Db, field: ConnectionField) -> Result<Option<String>, sqlx::Error> {
    let value = db.setting(setting_key(field)).await?;
    Ok(value.filter(|v| !v.trim().is_empty()))
}

/// A field's stored value: empty, or not readable as a `T`, is `None`.
pub(super) async fn read<T: FromStr>(
    db: &Db,
    field: ConnectionField,
) -> Result<Option<T>, sqlx::Error> {
    Ok(text(db, field).await?.and_then(|t| t.parse().ok()))
}

pub(super) async fn read_secret(
    db: &Db,
    cipher: &SettingsCipher,
) -> Result<StoredSecret, sqlx::Error> {
    let key = setting_key(ConnectionField::ClientSecret);
    Ok(match text(db, ConnectionField::ClientSecret).await? {
        None => StoredSecret::NotSet,
        Some(sealed) => match cipher.decrypt(key, &sealed) {
            Ok(secret) => StoredSecret::Readable(secret),
            Err(error) => {
                tracing::error!(%error, "the stored GO Cards client secret cannot be read");
                StoredSecret::Unreadable
            }
        },
    })
}
