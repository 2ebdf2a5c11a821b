//! The connection settings, checked once when the client is built.

use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use super::GoCardsError;

/// Where GO Cards is and how to log in. `Debug` masks the secret.
#[derive(Clone, Debug)]
pub struct GoCardsConfig {
    /// Such as `https://cards.nxsas.com`; a path prefix is kept (`https://proxy/gocards/`).
    pub base_url: url::Url,
    pub client_id: String,
    pub client_secret: SecretString,
    pub organisation_id: String,
    /// The limit for each HTTP exchange (token or `/api` call), body included.
    pub timeout: Duration,
}

impl GoCardsConfig {
    /// The default of `GOCARDS_TIMEOUT_MS`.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(10_000);

    /// Refuses settings that cannot work, naming the setting (never its secret value).
    pub(crate) fn validate(&self) -> Result<(), GoCardsError> {
        let invalid = |problem: &str| Err(GoCardsError::InvalidConfig(problem.to_owned()));
        if !matches!(self.base_url.scheme(), "http" | "https") {
            return invalid("the base URL must start with http:// or https://");
        }
        if self.base_url.cannot_be_a_base() || self.base_url.host().is_none() {
            return invalid("the base URL has no host");
        }
        if self.base_url.query().is_some() || self.base_url.fragment().is_some() {
            return invalid("the base URL must not have a query or fragment");
        }
        if self.client_id.trim().is_empty() {
            return invalid("the client id is empty");
        }
        if self.client_secret.expose_secret().is_empty() {
            return invalid("the client secret is empty");
        }
        if self.organisation_id.trim().is_empty() {
            return invalid("the organisation id is empty");
        }
        if HeaderValue::from_str(&self.organisation_id).is_err() {
            return invalid("the organisation id has characters that cannot go in a header");
        }
        if self.timeout.is_zero() {
            return invalid("the timeout must be more than 0 ms");
        }
        Ok(())
    }
}
