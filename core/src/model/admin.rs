//! Types on the wire for the admin's settings view. None of them carries a secret: the GO
//! Cards client secret travels only from the browser to the server, never back.

use serde::{Deserialize, Serialize};

use super::Role;
use crate::domain::{CommandList, Process};

/// The Additional Commands of one list (a card-state tab, or Users › User), in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandTab {
    pub list: CommandList,
    pub processes: Vec<Process>,
}

/// One line of the admin audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// A user as the Users view lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub username: String,
    pub role: Role,
    pub enabled: bool,
}

/// A user to add: the initial password goes straight to the hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A new password for a user. `Debug` leaves the password out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordReset {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for PasswordReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordReset")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The fields of the GO Cards connection form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionField {
    BaseUrl,
    ClientId,
    ClientSecret,
    OrganisationId,
    TimeoutMs,
}

impl ConnectionField {
    pub const ALL: [ConnectionField; 5] = [
        ConnectionField::BaseUrl,
        ConnectionField::ClientId,
        ConnectionField::ClientSecret,
        ConnectionField::OrganisationId,
        ConnectionField::TimeoutMs,
    ];

    /// The form label (product.md, "Labels").
    pub fn label(self) -> &'static str {
        match self {
            ConnectionField::BaseUrl => "Base URL",
            ConnectionField::ClientId => "Client ID",
            ConnectionField::ClientSecret => "Client secret",
            ConnectionField::OrganisationId => "Organisation ID",
            ConnectionField::TimeoutMs => "Timeout (ms)",
        }
    }

    /// The env var that overrides the stored value.
    pub fn env_var(self) -> &'static str {
        match self {
            ConnectionField::BaseUrl => "GOCARDS_BASE_URL",
            ConnectionField::ClientId => "GOCARDS_CLIENT_ID",
            ConnectionField::ClientSecret => "GOCARDS_CLIENT_SECRET",
            ConnectionField::OrganisationId => "GOCARDS_ORGANISATION_ID",
            ConnectionField::TimeoutMs => "GOCARDS_TIMEOUT_MS",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionField::BaseUrl => "base_url",
            ConnectionField::ClientId => "client_id",
            ConnectionField::ClientSecret => "client_secret",
            ConnectionField::OrganisationId => "organisation_id",
            ConnectionField::TimeoutMs => "timeout_ms",
        }
    }
}

/// A refused field and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: ConnectionField,
    pub message: String,
}

/// A plain (not secret) setting as the form shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownSetting {
    /// The value in force: the env var's when `from_env`, else the stored one ("" if none).
    pub value: String,
    /// Set by a `GOCARDS_*` env var: shown read-only.
    pub from_env: bool,
}

/// Whether a client secret exists, and where; never the secret itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretStatus {
    NotSet,
    Stored,
    /// Stored, but it cannot be decrypted with the current `SETTINGS_KEY`.
    Unreadable,
    FromEnv,
}

/// What the GO Cards connection form shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionSettingsView {
    pub base_url: ShownSetting,
    pub client_id: ShownSetting,
    pub client_secret: SecretStatus,
    pub organisation_id: ShownSetting,
    pub timeout_ms: ShownSetting,
    /// The timeout used when the field is empty.
    pub default_timeout_ms: u64,
    /// The live client is the built-in simulator.
    pub demo_mode: bool,
}

/// What the admin typed. Empty means "keep the stored value" for the secret, and "unset"
/// for the other fields. Fields set by env vars are ignored.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectionSettingsInput {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub organisation_id: String,
    pub timeout_ms: String,
}

impl std::fmt::Debug for ConnectionSettingsInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSettingsInput")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret_given", &!self.client_secret.is_empty())
            .field("organisation_id", &self.organisation_id)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// The result of "Save".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveConnectionReport {
    /// "Saved." and what happened to the live connection.
    pub message: String,
    /// The change takes effect only after a restart.
    pub restart_needed: bool,
    pub settings: ConnectionSettingsView,
}

/// The result of "Test connection": the test ran; `ok` says whether GO Cards answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTestReport {
    pub ok: bool,
    pub message: String,
}
