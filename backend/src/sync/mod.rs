//! The batch sync: every open order brought up to date with GO Cards, on a schedule.
//!
//! - [`SyncSettings`] and [`SyncHandle`] (in `AppState`): the tuning, this process's lease
//!   holder name, and a wake-up for "Run now".
//! - [`run_if_due`]: one cycle — take the database lease if a run is due, run, hand it back.
//!   The server's scheduler calls it every tick; tests call it directly. The lease is handed
//!   back and its heartbeat stopped on every way out of a run: a storage error, a shutdown,
//!   and a run future dropped half-way (guards that act on `Drop`).
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

use tokio::sync::{watch, Notify};

pub use retry::{with_retries, RetryPolicy};
pub use run::RunReport;
pub use schedule::{
    save_schedule, schedule, Schedule, ScheduleError, DEFAULT_INTERVAL, MAX_INTERVAL, MIN_INTERVAL,
};

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
    /// The poll stops after this many GO Cards outage failures in a row (unreachable,
    /// timeout, 5xx, each after its retries), and the run records "GO Cards unreachable"
    /// once (`SYNC_MAX_CONSECUTIVE_FAILURES`).
    pub max_consecutive_failures: usize,
    /// On shutdown, how long the GO Cards calls in flight may take to finish; the cards still
    /// waiting after it are left for the next run.
    pub shutdown_grace: Duration,
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
            max_consecutive_failures: 20,
            shutdown_grace: Duration::from_secs(3),
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
    /// `true` once the process is shutting down: no run starts, a running one stops.
    stopping: watch::Sender<bool>,
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
            stopping: watch::Sender::new(false),
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

    /// The process is shutting down: a running sync stops after the cards in flight, hands
    /// its lease back and is marked interrupted; no new run starts here.
    pub fn shut_down(&self) {
        self.0.stopping.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.0.stopping.borrow()
    }

    /// Resolves once [`SyncHandle::shut_down`] was called (at once if it was already).
    pub async fn stopping(&self) {
        let mut stopping = self.0.stopping.subscribe();
        // The sender lives as long as `self`, so this cannot fail while we wait.
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }
}

/// One scheduler cycle: if a run is due (its time has come, or someone asked for one) and no
/// other process holds the lease, take it, run, schedule the next run and release it.
/// `Ok(None)`: nothing was due, another process is running it, or this one is stopping.
pub async fn run_if_due(
    db: &Db,
    gocards: &GoCardsClient,
    sync: &SyncHandle,
) -> Result<Option<RunReport>, sqlx::Error> {
    if sync.is_stopping() {
        return Ok(None);
    }
    let settings = sync.settings();
    let holder = sync.holder();
    let now = now_ms();
    let ttl = duration_ms(settings.lease_ttl);
    if !db.sync_try_acquire(holder, now, now + ttl).await? {
        return Ok(None);
    }
    // From here on the lease is handed back whatever happens: below on every return, and by
    // the guard when this future is dropped half-way (or panics).
    let lease = LeaseGuard::new(db, holder);
    let lost = Arc::new(AtomicBool::new(false));
    let heartbeat = Heartbeat::start(db, holder, settings.lease_ttl, lost.clone());
    let outcome = run_holding_lease(db, gocards, sync, &lost).await;
    drop(heartbeat);

    let next = next_run_at(db, sync, &outcome).await;
    let released = db.sync_release(holder, next).await;
    lease.disarm();
    let report = outcome?;
    released?;
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

async fn run_holding_lease(
    db: &Db,
    gocards: &GoCardsClient,
    sync: &SyncHandle,
    lost: &AtomicBool,
) -> Result<RunReport, sqlx::Error> {
    let started_by = db
        .sync_state()
        .await?
        .requested_by
        .unwrap_or_else(|| "schedule".to_owned());
    tracing::info!(holder = sync.holder(), %started_by, "batch sync starting");
    run::execute(db, gocards, sync, &started_by, lost).await
}

/// When the next run is due: one interval from now, none when the schedule is off, and at
/// once when this run was cut short by a shutdown (another replica carries on). A schedule
/// that cannot be read gives the default interval, so the lease is still handed back.
async fn next_run_at(
    db: &Db,
    sync: &SyncHandle,
    outcome: &Result<RunReport, sqlx::Error>,
) -> Option<i64> {
    let now = now_ms();
    if sync.is_stopping()
        && matches!(outcome, Ok(report) if report.status == desk_core::model::RunStatus::Interrupted)
    {
        return Some(now);
    }
    let interval = match schedule::schedule(db, sync.settings()).await {
        Ok(schedule) => schedule.interval(),
        Err(error) => {
            tracing::error!(%error, "could not read the batch sync schedule; the next run is one default interval away");
            Some(DEFAULT_INTERVAL)
        }
    };
    interval.map(|interval| now + duration_ms(interval))
}

/// Renews the lease every third of its lifetime while a run goes on; if it is lost (this
/// process stalled past the lease and another took over), `lost` is set and the run stops
/// at its next step. Stops when dropped, on every way out of the run.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    fn start(db: &Db, holder: &str, lease_ttl: Duration, lost: Arc<AtomicBool>) -> Heartbeat {
        let db = db.clone();
        let holder = holder.to_owned();
        let ttl = duration_ms(lease_ttl);
        let every = lease_ttl / 3;
        Heartbeat(tokio::spawn(async move {
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
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Hands the lease back if the run's future is dropped (or panics) before `run_if_due`
/// released it itself; the next run is then due at once. The run's row stays `running`
/// until the next run marks it interrupted.
struct LeaseGuard {
    db: Db,
    holder: String,
    armed: bool,
}

impl LeaseGuard {
    fn new(db: &Db, holder: &str) -> LeaseGuard {
        LeaseGuard {
            db: db.clone(),
            holder: holder.to_owned(),
            armed: true,
        }
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let db = self.db.clone();
        let holder = std::mem::take(&mut self.holder);
        tracing::warn!(%holder, "batch sync stopped half-way; handing its lease back");
        runtime.spawn(async move {
            if let Err(error) = db.sync_release(&holder, Some(now_ms())).await {
                tracing::warn!(%error, "could not hand the batch sync lease back; it lapses by itself");
            }
        });
    }
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
