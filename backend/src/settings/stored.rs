//! The GO Cards connection as admins stored it in the `settings` table.

use secrecy::SecretString;

use super::SettingsCipher;
use crate::db::Db;

/// The setting keys, one per form field.
pub struct Keys {
    pub base_url: &'static str,
    pub client_id: &'static str,
    pub client_secret: &'static str,
    pub organisation_id: &'static str,
    pub timeout_ms: &'static str,
}

pub const KEYS: Keys = Keys {
    base_url: "gocards.base_url",
    client_id: "gocards.client_id",
    client_secret: "gocards.client_secret",
    organisation_id: "gocards.organisation_id",
    timeout_ms: "gocards.timeout_ms",
};

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

/// What admins stored. Empty values read as `None`. `Debug` masks the secret.
#[derive(Clone, Debug, Default)]
pub struct StoredConnection {
    pub base_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: StoredSecret,
    pub organisation_id: Option<String>,
    pub timeout_ms: Option<u64>,
}

impl StoredConnection {
    pub async fn load(db: &Db, cipher: &SettingsCipher) -> Result<StoredConnection, sqlx::Error> {
        let text = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        let client_secret = match text(db.setting(KEYS.client_secret).await?) {
            None => StoredSecret::NotSet,
            Some(sealed) => match cipher.decrypt(KEYS.client_secret, &sealed) {
                Ok(secret) => StoredSecret::Readable(secret),
                Err(error) => {
                    tracing::error!(%error, "the stored GO Cards client secret cannot be read");
                    StoredSecret::Unreadable
                }
            },
        };
        Ok(StoredConnection {
            base_url: text(db.setting(KEYS.base_url).await?),
            client_id: text(db.setting(KEYS.client_id).await?),
            client_secret,
            organisation_id: text(db.setting(KEYS.organisation_id).await?),
            timeout_ms: text(db.setting(KEYS.timeout_ms).await?).and_then(|t| t.parse().ok()),
        })
    }
}
