//! Encryption at rest for stored secrets: ChaCha20-Poly1305 with a random nonce, keyed by
//! SHA-256 of `SETTINGS_KEY` (or of the demo key generated into the data folder). The
//! setting's name is authenticated too, so a ciphertext cannot be moved to another setting.

use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The prefix of this format, so a later one can be told apart.
const FORMAT: &str = "v1:";
const NONCE_BYTES: usize = 12;

#[derive(Clone)]
pub struct SettingsCipher {
    key: Arc<Key>,
}

impl std::fmt::Debug for SettingsCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SettingsCipher(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("the stored value is not in a known encrypted format")]
    Format,
    #[error("the stored value cannot be decrypted with this key (was SETTINGS_KEY changed?)")]
    WrongKey,
    #[error("encryption failed")]
    Encrypt,
}

impl SettingsCipher {
    pub fn from_secret(secret: &SecretString) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"carddesk settings key v1\0");
        hasher.update(secret.expose_secret().as_bytes());
        SettingsCipher {
            key: Arc::new(hasher.finalize()),
        }
    }

    /// `v1:` + hex(nonce ‖ ciphertext ‖ tag).
    pub fn encrypt(&self, setting: &str, plaintext: &str) -> Result<String, CipherError> {
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let nonce = Nonce::from_slice(&nonce_bytes);
        let sealed = ChaCha20Poly1305::new(&self.key)
            .encrypt(
                nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: setting.as_bytes(),
                },
            )
            .map_err(|_| CipherError::Encrypt)?;
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        Ok(format!("{FORMAT}{}", hex::encode(out)))
    }

    pub fn decrypt(&self, setting: &str, stored: &str) -> Result<SecretString, CipherError> {
        let raw = stored
            .strip_prefix(FORMAT)
            .and_then(|hex_text| hex::decode(hex_text).ok())
            .filter(|raw| raw.len() > NONCE_BYTES)
            .ok_or(CipherError::Format)?;
        let (nonce, sealed) = raw.split_at(NONCE_BYTES);
        let plain = ChaCha20Poly1305::new(&self.key)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: setting.as_bytes(),
                },
            )
            .map_err(|_| CipherError::WrongKey)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| CipherError::WrongKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(key: &str) -> SettingsCipher {
        SettingsCipher::from_secret(&SecretString::from(key.to_owned()))
    }

    #[test]
    fn round_trip_and_no_clear_text() {
        let c = cipher("k1");
        let sealed = c
            .encrypt("gocards.client_secret", "s3cret-value")
            .unwrap_or_default();
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("s3cret"));
        let again = c
            .encrypt("gocards.client_secret", "s3cret-value")
            .unwrap_or_default();
        assert_ne!(sealed, again, "a fresh nonce every time");
        let opened = c.decrypt("gocards.client_secret", &sealed);
        assert_eq!(
            opened.map(|s| s.expose_secret().to_owned()),
            Ok("s3cret-value".to_owned())
        );
    }

    #[test]
    fn wrong_key_setting_or_format_fails() {
        let sealed = cipher("k1").encrypt("a", "x").unwrap_or_default();
        assert_eq!(
            cipher("k2").decrypt("a", &sealed).err(),
            Some(CipherError::WrongKey)
        );
        assert_eq!(
            cipher("k1").decrypt("b", &sealed).err(),
            Some(CipherError::WrongKey)
        );
        assert_eq!(
            cipher("k1").decrypt("a", "plain").err(),
            Some(CipherError::Format)
        );
        assert_eq!(
            cipher("k1").decrypt("a", "v1:zz").err(),
            Some(CipherError::Format)
        );
    }
}
