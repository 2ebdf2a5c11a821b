//! The credentials the simulator accepts.

use std::fmt;

/// The credentials the simulator accepts. `Debug` masks the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SimConfig {
    pub client_id: String,
    pub client_secret: String,
    pub organisation_id: String,
}

impl SimConfig {
    /// `demo-client` / `demo-secret` / `DEMO-ORG`: the defaults of `server gocards-sim`.
    pub fn standalone_defaults() -> Self {
        SimConfig {
            client_id: "demo-client".to_owned(),
            client_secret: "demo-secret".to_owned(),
            organisation_id: "DEMO-ORG".to_owned(),
        }
    }

    /// Random credentials, for demo mode, where they are handed to the in-process client.
    pub fn generated() -> Self {
        SimConfig {
            client_id: format!("demo-client-{}", hex::encode(rand::random::<[u8; 4]>())),
            client_secret: hex::encode(rand::random::<[u8; 32]>()),
            organisation_id: format!(
                "DEMO-ORG-{}",
                hex::encode(rand::random::<[u8; 3]>()).to_uppercase()
            ),
        }
    }

    /// `GOCARDS_CLIENT_ID`, `GOCARDS_CLIENT_SECRET` and `GOCARDS_ORGANISATION_ID` as they are
    /// now, each falling back to its standalone default when unset or empty.
    pub fn from_env_or_standalone_defaults() -> Self {
        let defaults = SimConfig::standalone_defaults();
        let read = |name: &str, default: String| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
                .unwrap_or(default)
        };
        SimConfig {
            client_id: read("GOCARDS_CLIENT_ID", defaults.client_id),
            client_secret: read("GOCARDS_CLIENT_SECRET", defaults.client_secret),
            organisation_id: read("GOCARDS_ORGANISATION_ID", defaults.organisation_id),
        }
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("organisation_id", &self.organisation_id)
            .finish()
    }
}
