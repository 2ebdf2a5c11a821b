//! When the sync runs: `SYNC_INTERVAL_SECS` if set (it wins, and the settings view shows it
//! read-only), else what an admin saved, else every 300 s. An interval of 0 is "off"; "Run
//! now" works either way.

use std::time::Duration;

use super::{duration_ms, SyncHandle, SyncSettings};
use crate::db::settings::SettingChange;
use crate::db::{now_ms, Db};

const ENABLED_KEY: &str = "sync.enabled";
const INTERVAL_KEY: &str = "sync.interval_secs";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
/// The shortest interval the settings view accepts.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);
/// The longest: a week.
pub const MAX_INTERVAL: Duration = Duration::from_secs(7 * 86_400);

/// The schedule in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub enabled: bool,
    pub interval: Duration,
    /// Set by `SYNC_INTERVAL_SECS`: read-only in the settings view.
    pub from_env: bool,
}

impl Schedule {
    /// The time between runs, or `None` when the schedule is off.
    pub fn interval(&self) -> Option<Duration> {
        (self.enabled && !self.interval.is_zero()).then_some(self.interval)
    }
}

pub async fn schedule(db: &Db, settings: &SyncSettings) -> Result<Schedule, sqlx::Error> {
    if let Some(interval) = settings.interval_env {
        return Ok(Schedule {
            enabled: !interval.is_zero(),
            interval: if interval.is_zero() {
                DEFAULT_INTERVAL
            } else {
                interval
            },
            from_env: true,
        });
    }
    let enabled = db.setting(ENABLED_KEY).await?.as_deref() != Some("false");
    let interval = db
        .setting(INTERVAL_KEY)
        .await?
        .and_then(|raw| raw.parse::<u64>().ok())
        .map(Duration::from_secs)
        .filter(|interval| (MIN_INTERVAL..=MAX_INTERVAL).contains(interval))
        .unwrap_or(DEFAULT_INTERVAL);
    Ok(Schedule {
        enabled,
        interval,
        from_env: false,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("The schedule is set by SYNC_INTERVAL_SECS on the server; change it there.")]
    SetByEnvironment,
    #[error("The interval must be a whole number of seconds from {} to {}.", MIN_INTERVAL.as_secs(), MAX_INTERVAL.as_secs())]
    InvalidInterval,
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// Stores an admin's schedule (both settings with their audit lines, all or nothing) and
/// reschedules the next run from now.
pub async fn save_schedule(
    db: &Db,
    sync: &SyncHandle,
    enabled: bool,
    interval_secs: &str,
    actor: &str,
) -> Result<Schedule, ScheduleError> {
    if sync.settings().interval_env.is_some() {
        return Err(ScheduleError::SetByEnvironment);
    }
    let interval = interval_secs
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
        .filter(|interval| (MIN_INTERVAL..=MAX_INTERVAL).contains(interval))
        .ok_or(ScheduleError::InvalidInterval)?;
    // Both settings and their audit lines in one transaction: never one without the other.
    let secs = interval.as_secs().to_string();
    let changes = [
        SettingChange {
            key: ENABLED_KEY,
            value: Some(if enabled { "true" } else { "false" }.to_owned()),
            audit_detail: format!("batch sync schedule {}", if enabled { "on" } else { "off" }),
        },
        SettingChange {
            key: INTERVAL_KEY,
            value: Some(secs.clone()),
            audit_detail: format!("batch sync interval {secs} s"),
        },
    ];
    db.put_settings(&changes, actor).await?;
    let saved = Schedule {
        enabled,
        interval,
        from_env: false,
    };
    db.sync_schedule(saved.interval().map(|i| now_ms() + duration_ms(i)), false)
        .await?;
    sync.wake();
    Ok(saved)
}
