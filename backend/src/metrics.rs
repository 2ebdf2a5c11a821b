//! The desk's metric families (operations.md), recorded where things happen. The server
//! installs a Prometheus recorder when `METRICS_ADDR` is set; without one (tests, the CLI)
//! the `metrics` macros do nothing. GO Cards calls are counted by the client
//! (`gocards::metrics`), HTTP requests and open streams by the server.

use desk_core::domain::{ItemOutcome, Process};
use desk_core::model::RunStatus;

use crate::db::sync::RunCounts;

/// Log-ins by `outcome`: `ok`, `wrong` (unknown name, wrong password, disabled), `throttled`,
/// `error`.
pub const LOGINS: &str = "carddesk_logins_total";
/// Batch sync runs by `outcome`: `completed`, `failed`, `interrupted`.
pub const SYNC_RUNS: &str = "carddesk_sync_runs_total";
/// Cards the batch sync checked, changed, and failed on.
pub const SYNC_CARDS_CHECKED: &str = "carddesk_sync_cards_checked_total";
pub const SYNC_CARDS_CHANGED: &str = "carddesk_sync_cards_changed_total";
pub const SYNC_CARDS_FAILED: &str = "carddesk_sync_cards_failed_total";
/// When the last run that completed ended, in Unix seconds.
pub const SYNC_LAST_SUCCESS: &str = "carddesk_sync_last_success_timestamp_seconds";
/// 1 while this process runs a batch sync.
pub const SYNC_RUNNING: &str = "carddesk_sync_running";
/// Jobs this process is running.
pub const JOBS_RUNNING: &str = "carddesk_jobs_running";
/// Job items by `process` and `outcome`.
pub const JOB_ITEMS: &str = "carddesk_job_items_total";
/// Database pool connections by `state`: `in_use`, `idle`.
pub const DB_POOL_CONNECTIONS: &str = "carddesk_db_pool_connections";

/// The outcome label of a log-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    Ok,
    Wrong,
    Throttled,
    Error,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Ok => "ok",
            LoginOutcome::Wrong => "wrong",
            LoginOutcome::Throttled => "throttled",
            LoginOutcome::Error => "error",
        }
    }
}

pub fn login(outcome: LoginOutcome) {
    metrics::counter!(LOGINS, "outcome" => outcome.as_str()).increment(1);
}

/// A batch sync run started (`true`) or ended.
pub fn sync_running(running: bool) {
    metrics::gauge!(SYNC_RUNNING).set(if running { 1.0 } else { 0.0 });
}

/// A batch sync run ended with `status` and `counts`.
pub fn sync_finished(status: RunStatus, counts: RunCounts) {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    metrics::counter!(SYNC_RUNS, "outcome" => status.as_str()).increment(1);
    metrics::counter!(SYNC_CARDS_CHECKED).increment(count(counts.checked));
    metrics::counter!(SYNC_CARDS_CHANGED).increment(count(counts.changed));
    metrics::counter!(SYNC_CARDS_FAILED).increment(count(counts.failed));
    if status == RunStatus::Completed {
        let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        metrics::gauge!(SYNC_LAST_SUCCESS).set(now);
    }
}

/// Counts a running job while it is held.
pub struct JobRunning(());

impl JobRunning {
    pub fn start() -> Self {
        metrics::gauge!(JOBS_RUNNING).increment(1.0);
        JobRunning(())
    }
}

impl Drop for JobRunning {
    fn drop(&mut self) {
        metrics::gauge!(JOBS_RUNNING).decrement(1.0);
    }
}

pub fn job_item(process: Process, outcome: ItemOutcome) {
    metrics::counter!(JOB_ITEMS, "process" => process.as_str(), "outcome" => outcome.as_str())
        .increment(1);
}

/// The pool's connections now, as gauges (set just before each scrape).
pub fn db_pool(in_use: usize, idle: usize) {
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set(in_use as f64);
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
}
