//! Configuration from the environment (a `.env` file is read first, if present).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use backend::db::DEFAULT_DATABASE_URL;
use backend::services::manual_attempts;
use backend::sync::SyncSettings;

use crate::origin::PublicOrigin;
use crate::retention::{self, RetentionSettings};
use crate::timeouts::RequestTimeouts;

/// GO Cards settings given by `GOCARDS_*` variables; each one that is set wins over the
/// stored value. Defined in `app` because the admin's settings view needs it too.
pub use backend::settings::GoCardsEnv;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub site_addr: SocketAddr,
    pub site_root: String,
    pub session_idle: Duration,
    /// `SESSION_MAX_HOURS`: the absolute lifetime of a session.
    pub session_max_age: Duration,
    /// `TRUSTED_PROXIES`: proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<backend::client_address::IpNet>,
    pub cookie_secure: bool,
    /// `PUBLIC_ORIGIN`: the origin browsers use; the same-origin check compares `Origin`
    /// with it. Unset, with the request's own authority.
    pub public_origin: Option<PublicOrigin>,
    /// Request and body-read timeouts: not from the environment (tests shorten them).
    pub timeouts: RequestTimeouts,
    pub session_secret: Option<SecretString>,
    pub gocards: GoCardsEnv,
    pub gocards_sim_addr: SocketAddr,
    /// `SYNC_INTERVAL_SECS`, `SYNC_CONCURRENCY`, `SYNC_STALE_AFTER_SECS`, `SYNC_LEASE_SECS`,
    /// `SYNC_MAX_CONSECUTIVE_FAILURES`.
    pub sync: SyncSettings,
    pub webhook_secret: Option<SecretString>,
    /// Encrypts secrets stored in the settings table; unset, a key is generated into
    /// `data_dir/settings.key`.
    pub settings_key: Option<SecretString>,
    pub data_dir: PathBuf,
    /// `MANUAL_ATTEMPTS_PER_SECOND`: Update card order calls a second per operator.
    pub manual_attempts_per_second: u32,
    /// `WEBHOOK_EVENTS_RETENTION_DAYS`, `SYNC_RUNS_KEEP`.
    pub retention: RetentionSettings,
    /// `ORDER_DEFAULT_COUNTRY`: the Country Order card starts with (ISO 3166-1 alpha-2).
    pub order_default_country: String,
    /// `JOB_CONCURRENCY`: GO Cards calls in flight for one job (1 to 64).
    pub job_concurrency: usize,
    /// `EVENTS_MAX_CLIENTS`: open `/events` streams per process.
    pub events_max_clients: usize,
    /// `DEMO_PRODUCTION_SECS`: in demo mode, the simulator's production line moves each open
    /// card one status on within this many seconds; 0 leaves the cards where they are.
    pub demo_production_secs: u64,
    /// `LEPTOS_HASH_FILES`: whether the site's asset names carry content hashes; unset,
    /// they do when the build's `hash.txt` lies next to the executable.
    pub hash_files: Option<bool>,
    /// `METRICS_ADDR`: where Prometheus scrapes the metrics; unset, no metrics listener.
    pub metrics_addr: Option<SocketAddr>,
}

/// `DEMO_PRODUCTION_SECS` when unset.
pub const DEFAULT_DEMO_PRODUCTION_SECS: u64 = 120;

/// The Country Order card starts with when `ORDER_DEFAULT_COUNTRY` is unset.
pub const DEFAULT_ORDER_COUNTRY: &str = "SE";

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

/// The shortest key or secret accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// A key from the environment, refused when shorter than [`MIN_KEY_BYTES`].
fn key(name: &'static str) -> Result<Option<SecretString>, ConfigError> {
    match var(name) {
        None => Ok(None),
        Some(raw) if raw.len() < MIN_KEY_BYTES => Err(ConfigError {
            name,
            problem: format!(
                "is {} bytes long; it must have at least {MIN_KEY_BYTES}. Generate one with \
                 `openssl rand -base64 48`.",
                raw.len()
            ),
        }),
        Some(raw) => Ok(Some(SecretString::from(raw))),
    }
}

/// `name` parsed, or `default`; refused outside `range`.
fn in_range<T>(
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
    T::Err: std::fmt::Display,
{
    let value = parsed(name, default)?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError {
            name,
            problem: format!(
                "must be between {} and {} (it is {value})",
                range.start(),
                range.end()
            ),
        })
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
            session_max_age: Duration::from_secs(12 * 3600),
            trusted_proxies: Vec::new(),
            cookie_secure: false,
            public_origin: None,
            timeouts: RequestTimeouts::default(),
            session_secret: None,
            gocards: GoCardsEnv::default(),
            gocards_sim_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            sync: SyncSettings::default(),
            webhook_secret: None,
            settings_key: None,
            data_dir,
            manual_attempts_per_second: manual_attempts::DEFAULT_PER_SECOND,
            retention: RetentionSettings::default(),
            order_default_country: DEFAULT_ORDER_COUNTRY.to_owned(),
            job_concurrency: desk_core::domain::DEFAULT_JOB_CONCURRENCY,
            events_max_clients: crate::events::DEFAULT_MAX_CLIENTS,
            demo_production_secs: DEFAULT_DEMO_PRODUCTION_SECS,
            hash_files: None,
            metrics_addr: None,
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
        let max_hours: u64 = in_range("SESSION_MAX_HOURS", 12, 1..=720)?;
        let trusted_proxies = match var("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => {
                backend::client_address::parse_trusted_proxies(&raw).map_err(|problem| {
                    ConfigError {
                        name: "TRUSTED_PROXIES",
                        problem,
                    }
                })?
            }
        };
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
        let sync_max_failures: usize = in_range("SYNC_MAX_CONSECUTIVE_FAILURES", 20, 1..=100_000)?;
        let manual_attempts_per_second = in_range(
            "MANUAL_ATTEMPTS_PER_SECOND",
            manual_attempts::DEFAULT_PER_SECOND,
            1..=1000,
        )?;
        let job_concurrency = in_range(
            "JOB_CONCURRENCY",
            desk_core::domain::DEFAULT_JOB_CONCURRENCY,
            1..=desk_core::domain::MAX_JOB_CONCURRENCY,
        )?;
        let events_max_clients = in_range(
            "EVENTS_MAX_CLIENTS",
            crate::events::DEFAULT_MAX_CLIENTS,
            1..=100_000,
        )?;
        let demo_production_secs = in_range(
            "DEMO_PRODUCTION_SECS",
            DEFAULT_DEMO_PRODUCTION_SECS,
            0..=86_400,
        )?;
        let webhook_events_days = in_range(
            "WEBHOOK_EVENTS_RETENTION_DAYS",
            retention::DEFAULT_WEBHOOK_EVENTS_DAYS,
            1..=3650,
        )?;
        let sync_runs_keep = in_range(
            "SYNC_RUNS_KEEP",
            retention::DEFAULT_SYNC_RUNS_KEEP,
            1..=1_000_000,
        )?;
        let public_origin = match var("PUBLIC_ORIGIN") {
            None => None,
            Some(raw) => Some(PublicOrigin::parse(&raw).map_err(|e| ConfigError {
                name: "PUBLIC_ORIGIN",
                problem: e.to_string(),
            })?),
        };
        let order_default_country =
            var("ORDER_DEFAULT_COUNTRY").unwrap_or_else(|| DEFAULT_ORDER_COUNTRY.to_owned());
        if !(order_default_country.len() == 2
            && order_default_country
                .bytes()
                .all(|b| b.is_ascii_uppercase()))
        {
            return Err(ConfigError {
                name: "ORDER_DEFAULT_COUNTRY",
                problem: "must be two capital letters (ISO 3166-1 alpha-2), such as SE".into(),
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
            session_max_age: Duration::from_secs(max_hours * 3600),
            trusted_proxies,
            cookie_secure: parsed("COOKIE_SECURE", false)?,
            public_origin,
            timeouts: RequestTimeouts::default(),
            session_secret: key("SESSION_SECRET")?,
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
                max_consecutive_failures: sync_max_failures,
                ..SyncSettings::default()
            },
            webhook_secret: key("GOCARDS_WEBHOOK_SECRET")?,
            settings_key: key("SETTINGS_KEY")?,
            data_dir,
            manual_attempts_per_second,
            retention: RetentionSettings {
                webhook_events_max_age: retention::days(webhook_events_days),
                sync_runs_keep,
                ..RetentionSettings::default()
            },
            order_default_country,
            job_concurrency,
            events_max_clients,
            demo_production_secs,
            hash_files: match var("LEPTOS_HASH_FILES") {
                None => None,
                Some(_) => Some(parsed("LEPTOS_HASH_FILES", false)?),
            },
            metrics_addr: match var("METRICS_ADDR") {
                None => None,
                Some(_) => Some(parsed(
                    "METRICS_ADDR",
                    SocketAddr::from(([127, 0, 0, 1], 9100)),
                )?),
            },
        })
    }
}
