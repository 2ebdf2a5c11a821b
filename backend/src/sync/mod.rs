//! The batch sync: every open order brought up to date with GO Cards, on a schedule.
//!
//! - [`SyncSettings`] and [`SyncHandle`] (in `AppState`): the tuning, this process's lease
//!   holder name, and a wake-up for "Run now".
//! - [`run_if_due`]: one cycle — take the database lease if a run is due, run, hand it back.
//!   The server's scheduler calls it every tick; tests call it directly.
//! - `run`: the run itself (the changed-cards listing from the watermark, then the poll of
//!   stale open orders), applying each card through the same domain function as the manual
//!   command.
//! - `retry`: backoff for GO Cards faults, `Retry-After` for `429`.
//! - `schedule`: the interval in force (env var, else the admin's setting, else 300 s).

mod retry;
mod run;
mod schedule;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use retry::{with_retries, RetryPolicy};
pub use run::RunReport;
pub use schedule::{save_schedule, schedule, Schedule, ScheduleError, MAX_INTERVAL, MIN_INTERVAL};

use super::db::{now_ms, Db};
use gocards::GoCardsClient;

/// How the sync runs. Read from the environment at start.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncSettings {
    /// `SYNC_INTERVAL_SECS`, when set: it wins over the admin's stored setting; 0 is off.
    pub interval_env: Option<Duration>,
    /// GO Cards calls in flight while polling (`SYNC_CONCURRENCY`).
    pub concurrency: usize,
    /// Open orders not checked for this long are polled one by one (`SYNC_STALE_AFTER_SECS`).
    pub stale_after: Duration,
    /// Cards per page of the changed-cards listing (the contract allows 1 to 1000).
    pub page_size: u32,
    /// How long the lease lasts without renewal: a replica that dies holding it is replaced
    /// after this (`SYNC_LEASE_SECS`).
    pub lease_ttl: Duration,
    pub retry: RetryPolicy,
    /// How often the scheduler looks whether a run is due.
    pub tick: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            interval_env: None,
            concurrency: 16,
            stale_after: Duration::from_secs(86_400),
            page_size: 500,
            lease_ttl: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            tick: Duration::from_secs(1),
        }
    }
}

/// This process's part in the sync. Cheap to clone.
#[derive(Clone)]
pub struct SyncHandle(Arc<Shared>);

struct Shared {
    settings: SyncSettings,
    holder: String,
    wake: Notify,
}

impl SyncHandle {
    pub fn new(settings: SyncSettings) -> Self {
        let holder = format!(
            "pid{}-{}",
            std::process::id(),
            hex::encode(rand::random::<[u8; 4]>())
        );
        SyncHandle(Arc::new(Shared {
            settings,
            holder,
            wake: Notify::new(),
        }))
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.0.settings
    }

    /// The name this process takes the lease under.
    pub fn holder(&self) -> &str {
        &self.0.holder
    }

    /// Wakes this process's scheduler now ("Run now", a changed schedule).
    pub fn wake(&self) {
        self.0.wake.notify_one();
    }

    /// Resolves at the next [`SyncHandle::wake`].
    pub async fn woken(&self) {
        self.0.wake.notified().await;
    }
}

/// One scheduler cycle: if a run is due (its time has come, or someone asked for one) and no
/// other process holds the lease, take it, run, schedule the next run and release it.
/// `Ok(None)`: nothing was due, or another process is running it.
pub async fn run_if_due(
    db: &Db,
    gocards: &GoCardsClient,
    sync: &SyncHandle,
) -> Result<Option<RunReport>, sqlx::Error> {
    let settings = sync.settings();
    let holder = sync.holder();
    let now = now_ms();
    let ttl = duration_ms(settings.lease_ttl);
    if !db.sync_try_acquire(holder, now, now + ttl).await? {
        return Ok(None);
    }
    let started_by = db
        .sync_state()
        .await?
        .requested_by
        .unwrap_or_else(|| "schedule".to_owned());
    tracing::info!(%holder, %started_by, "batch sync starting");

    // Renew the lease while the run goes on; if it is lost (this process stalled past the
    // lease and another took over), the run stops at its next step.
    let lost = Arc::new(AtomicBool::new(false));
    let heartbeat = {
        let db = db.clone();
        let holder = holder.to_owned();
        let lost = lost.clone();
        let every = settings.lease_ttl / 3;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match db.sync_renew(&holder, now_ms() + ttl).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(%holder, "batch sync lease lost to another process");
                        lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(error) => tracing::warn!(%error, "could not renew the batch sync lease"),
                }
            }
        })
    };
    let report = run::execute(db, gocards, settings, holder, &started_by, &lost).await;
    heartbeat.abort();

    let schedule = schedule::schedule(db, settings).await?;
    let next = schedule
        .interval()
        .map(|interval| now_ms() + duration_ms(interval));
    db.sync_release(holder, next).await?;
    let report = report?;
    tracing::info!(
        run = report.run_id,
        status = report.status.as_str(),
        checked = report.counts.checked,
        changed = report.counts.changed,
        unchanged = report.counts.unchanged,
        failed = report.counts.failed,
        "batch sync finished"
    );
    Ok(Some(report))
}

/// Asks for a run as soon as a process is free ("Run now").
pub async fn request_run(db: &Db, sync: &SyncHandle, by: &str) -> Result<(), sqlx::Error> {
    db.sync_request_run(by).await?;
    sync.wake();
    Ok(())
}

pub fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}
