//! Retention, run in the background by every replica (each delete is idempotent, so replicas
//! need not agree on who runs it): webhook events older than `WEBHOOK_EVENTS_RETENTION_DAYS`,
//! sync runs beyond the newest `SYNC_RUNS_KEEP` with their errors, and expired sessions.
//! Card history and the admin audit log are kept.

use std::time::Duration;

use tower_sessions::session_store::ExpiredDeletion;

use backend::auth::DeskSessionStore;
use backend::db::retention::PrunedRuns;
use backend::db::{now_ms, Db};

/// How long and how much is kept, and how often the pruning runs.
#[derive(Clone, Debug)]
pub struct RetentionSettings {
    /// `WEBHOOK_EVENTS_RETENTION_DAYS`.
    pub webhook_events_max_age: Duration,
    /// `SYNC_RUNS_KEEP`.
    pub sync_runs_keep: u32,
    /// Between two runs; the first comes right after start.
    pub every: Duration,
}

pub const DEFAULT_WEBHOOK_EVENTS_DAYS: u64 = 30;
pub const DEFAULT_SYNC_RUNS_KEEP: u32 = 1_000;

/// `days` days.
pub fn days(days: u64) -> Duration {
    Duration::from_secs(days.saturating_mul(24 * 60 * 60))
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            webhook_events_max_age: days(DEFAULT_WEBHOOK_EVENTS_DAYS),
            sync_runs_keep: DEFAULT_SYNC_RUNS_KEEP,
            every: Duration::from_secs(60 * 60),
        }
    }
}

/// What one run deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub webhook_events: u64,
    pub sync_runs: PrunedRuns,
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("could not delete old webhook events or sync runs: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("could not delete expired sessions: {0}")]
    Sessions(#[from] tower_sessions::session_store::Error),
}

/// Deletes, once, everything past its retention.
pub async fn prune_once(
    db: &Db,
    sessions: &DeskSessionStore,
    settings: &RetentionSettings,
) -> Result<Pruned, RetentionError> {
    let max_age = i64::try_from(settings.webhook_events_max_age.as_millis()).unwrap_or(i64::MAX);
    let webhook_events = db
        .delete_webhook_events_before(now_ms().saturating_sub(max_age))
        .await?;
    let sync_runs = db.delete_sync_runs_beyond(settings.sync_runs_keep).await?;
    sessions.delete_expired().await?;
    Ok(Pruned {
        webhook_events,
        sync_runs,
    })
}

/// Starts the pruning in the background: now, then every `settings.every`. A failed run is
/// logged and tried again at the next.
pub fn spawn(db: Db, settings: RetentionSettings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The router made the session tables before this starts.
        let sessions = DeskSessionStore::existing(&db);
        let mut ticks = tokio::time::interval(settings.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match prune_once(&db, &sessions, &settings).await {
                Ok(pruned) if pruned != Pruned::default() => tracing::info!(
                    webhook_events = pruned.webhook_events,
                    sync_runs = pruned.sync_runs.runs,
                    sync_errors = pruned.sync_runs.errors,
                    "retention: deleted old rows"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "retention run failed; trying again later"),
            }
        }
    })
}
