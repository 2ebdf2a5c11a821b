//! The `GOCARDS_*` env vars. Each one that is set wins over the stored value.

use secrecy::SecretString;

/// GO Cards settings given by `GOCARDS_*` variables. `Debug` masks the secret.
#[derive(Clone, Debug, Default)]
pub struct GoCardsEnv {
    pub base_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub organisation_id: Option<String>,
    pub timeout_ms: Option<u64>,
}
