//! The batch sync on the wire: what the settings view "Scheduled jobs > GO Cards batch sync"
//! shows, and what it sends.

use serde::{Deserialize, Serialize};

/// What the sync is doing now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    Idle,
    Running,
    Failed,
}

impl SyncStatus {
    pub fn label(self) -> &'static str {
        match self {
            SyncStatus::Idle => "Idle",
            SyncStatus::Running => "Running",
            SyncStatus::Failed => "Failed",
        }
    }
}

/// A run's figures: the counts the product names everywhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRunView {
    pub id: i64,
    /// "schedule", or the admin who ran it now.
    pub started_by: String,
    /// RFC 3339.
    pub started_at: String,
    pub ended_at: Option<String>,
    /// `running`, `completed`, `failed`, `interrupted`.
    pub status: String,
    /// `listing`, `polling`, `done`.
    pub phase: String,
    /// Cards to check in all, once known (during the poll).
    pub total: Option<i64>,
    pub checked: i64,
    pub changed: i64,
    pub unchanged: i64,
    pub failed: i64,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncErrorView {
    pub at: String,
    pub card_id: Option<String>,
    pub message: String,
}

/// An open order GO Cards answered 404 for, run after run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsAttentionView {
    pub card_id: String,
    pub runs: i64,
    pub since: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncView {
    pub enabled: bool,
    pub interval_secs: u64,
    /// Set by `SYNC_INTERVAL_SECS`: shown read-only.
    pub schedule_from_env: bool,
    pub status: SyncStatus,
    /// A run was asked for and no server has started it yet.
    pub run_requested: bool,
    pub next_run: Option<String>,
    /// The newest run, running or not.
    pub last_run: Option<SyncRunView>,
    /// That run's errors, newest first.
    pub errors: Vec<SyncErrorView>,
    pub needs_attention: Vec<NeedsAttentionView>,
}

/// "Save" on the schedule form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncScheduleInput {
    pub enabled: bool,
    /// Seconds, as typed.
    pub interval_secs: String,
}
