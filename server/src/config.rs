//! Configuration from the environment (a `.env` file is read first, if present).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use backend::db::DEFAULT_DATABASE_URL;
use backend::sync::SyncSettings;

/// GO Cards settings given by `GOCARDS_*` variables; each one that is set wins over the
/// stored value. Defined in `app` because the admin's settings view needs it too.
pub use backend::settings::GoCardsEnv;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub site_addr: SocketAddr,
    pub site_root: String,
    pub session_idle: Duration,
    pub cookie_secure: bool,
    pub session_secret: Option<SecretString>,
    pub gocards: GoCardsEnv,
    pub gocards_sim_addr: SocketAddr,
    /// `SYNC_INTERVAL_SECS`, `SYNC_CONCURRENCY`, `SYNC_STALE_AFTER_SECS`, `SYNC_LEASE_SECS`.
    pub sync: SyncSettings,
    pub webhook_secret: Option<SecretString>,
    /// Encrypts secrets stored in the settings table; unset, a key is generated into
    /// `data_dir/settings.key`.
    pub settings_key: Option<SecretString>,
    pub data_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|e: T::Err| ConfigError {
            name,
            problem: format!("\"{raw}\" is not valid: {e}"),
        }),
    }
}

impl Config {
    /// Every default, as with an empty environment, keeping data in `data_dir`.
    pub fn defaults(data_dir: PathBuf) -> Config {
        Config {
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            site_addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            site_root: "target/site".to_owned(),
            session_idle: Duration::from_secs(30 * 60),
            cookie_secure: false,
            session_secret: None,
            gocards: GoCardsEnv::default(),
            gocards_sim_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            sync: SyncSettings::default(),
            webhook_secret: None,
            settings_key: None,
            data_dir,
        }
    }

    pub fn from_env() -> Result<Config, ConfigError> {
        let _ = dotenvy::dotenv();
        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let data_dir = var("DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("data"));
        let idle_minutes: u64 = parsed("SESSION_IDLE_MINUTES", 30)?;
        if idle_minutes == 0 {
            return Err(ConfigError {
                name: "SESSION_IDLE_MINUTES",
                problem: "must be at least 1".into(),
            });
        }
        let sync_concurrency: usize = parsed("SYNC_CONCURRENCY", 16)?;
        if !(1..=256).contains(&sync_concurrency) {
            return Err(ConfigError {
                name: "SYNC_CONCURRENCY",
                problem: "must be between 1 and 256".into(),
            });
        }
        let sync_lease_secs: u64 = parsed("SYNC_LEASE_SECS", 30)?;
        if !(1..=3600).contains(&sync_lease_secs) {
            return Err(ConfigError {
                name: "SYNC_LEASE_SECS",
                problem: "must be between 1 and 3600".into(),
            });
        }
        let timeout_ms = match var("GOCARDS_TIMEOUT_MS") {
            None => None,
            Some(_) => Some(parsed::<u64>("GOCARDS_TIMEOUT_MS", 10_000)?),
        };
        Ok(Config {
            database_url,
            site_addr: parsed("LEPTOS_SITE_ADDR", SocketAddr::from(([127, 0, 0, 1], 3000)))?,
            site_root: var("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".to_owned()),
            session_idle: Duration::from_secs(idle_minutes * 60),
            cookie_secure: parsed("COOKIE_SECURE", false)?,
            session_secret: var("SESSION_SECRET").map(SecretString::from),
            gocards: GoCardsEnv {
                base_url: var("GOCARDS_BASE_URL"),
                client_id: var("GOCARDS_CLIENT_ID"),
                client_secret: var("GOCARDS_CLIENT_SECRET").map(SecretString::from),
                organisation_id: var("GOCARDS_ORGANISATION_ID"),
                timeout_ms,
            },
            gocards_sim_addr: parsed("GOCARDS_SIM_ADDR", SocketAddr::from(([127, 0, 0, 1], 0)))?,
            sync: SyncSettings {
                interval_env: match var("SYNC_INTERVAL_SECS") {
                    None => None,
                    Some(_) => Some(Duration::from_secs(parsed("SYNC_INTERVAL_SECS", 300)?)),
                },
                concurrency: sync_concurrency,
                stale_after: Duration::from_secs(parsed("SYNC_STALE_AFTER_SECS", 86_400)?),
                lease_ttl: Duration::from_secs(sync_lease_secs),
                ..SyncSettings::default()
            },
            webhook_secret: var("GOCARDS_WEBHOOK_SECRET").map(SecretString::from),
            settings_key: var("SETTINGS_KEY").map(SecretString::from),
            data_dir,
        })
    }
}
