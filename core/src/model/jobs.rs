//! Jobs on the wire: what the dialog asks for, its preview, the progress it polls, and the
//! pages `/jobs` and `/jobs/{id}`.

use serde::{Deserialize, Serialize};

use crate::domain::{CardState, ItemOutcome, JobCounts, JobStatus, OrderForm, Process};

/// What a toolbar button asks to run over a selection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRequest {
    pub process: Process,
    /// Card ids for a card process; user ids (as decimal text) for Order card.
    pub items: Vec<String>,
    /// Abort card order: one reason for all.
    pub reason: Option<String>,
    /// The batch order: one article and delivery address for all.
    pub order: Option<OrderForm>,
}

/// Skipped items that share one reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedGroup {
    pub count: u32,
    /// The single command's message, for example "Update card order is not enabled for
    /// Produced."
    pub reason: String,
}

/// What the dialog says before Next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPreview {
    /// "Update card order for 12 cards".
    pub title: String,
    pub selected: u32,
    /// How many the job will run.
    pub to_run: u32,
    pub skipped: Vec<SkippedGroup>,
}

/// A job as `/jobs` lists it and the dialog polls it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    pub id: i64,
    pub process: Process,
    pub title: String,
    pub started_by: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: JobStatus,
    pub counts: JobCounts,
    /// The reason (Abort card order) or the article (batch order), if any.
    pub detail: Option<String>,
    /// Whether the one asking may press Stop or "Run the rest".
    pub yours: bool,
}

/// One item of `/jobs/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobItemView {
    pub position: u32,
    /// The card id, or the user's name.
    pub target: String,
    /// `/cards/…` or `/users/…`.
    pub href: String,
    pub before: Option<CardState>,
    pub after: Option<CardState>,
    pub outcome: Option<ItemOutcome>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobItemsPage {
    pub job: JobView,
    pub items: Vec<JobItemView>,
    /// Items matching the filter.
    pub matching: u32,
    pub page: u32,
    pub page_size: u32,
}

/// Rows per page of `/jobs/{id}`.
pub const JOB_ITEMS_PAGE_SIZE: u32 = 100;
/// Jobs shown on `/jobs`.
pub const JOBS_LISTED: u32 = 200;

/// The toolbar's buttons: the card processes an admin enabled on at least one state, and
/// whether Order card is enabled for users (the batch order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkCommands {
    pub cards: Vec<Process>,
    pub users: bool,
}
