//! A job: one process run over a list of cards or users, item by item, on the server. The
//! rules here are pure: statuses, outcomes, the counts, the title, the limits, and the
//! sentence that says which items are skipped.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Entity, Process};

/// At most this many items in one job ("Select all N matches" selects up to this many).
pub const MAX_JOB_ITEMS: usize = 10_000;
/// `JOB_CONCURRENCY`: GO Cards calls in flight for one job.
pub const DEFAULT_JOB_CONCURRENCY: usize = 8;
pub const MAX_JOB_CONCURRENCY: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Running,
    Done,
    Stopped,
    Interrupted,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [
        JobStatus::Running,
        JobStatus::Done,
        JobStatus::Stopped,
        JobStatus::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Stopped => "stopped",
            JobStatus::Interrupted => "interrupted",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            JobStatus::Running => "Running",
            JobStatus::Done => "Done",
            JobStatus::Stopped => "Stopped",
            JobStatus::Interrupted => "Interrupted",
        }
    }

    /// "Run the rest" applies: the job ended with items not run.
    pub fn can_resume(self) -> bool {
        matches!(self, JobStatus::Stopped | JobStatus::Interrupted)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown job status or outcome \"{0}\"")]
pub struct UnknownJobWord(pub String);

impl FromStr for JobStatus {
    type Err = UnknownJobWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownJobWord(s.to_owned()))
    }
}

/// What became of one item. An item with no outcome yet is still to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemOutcome {
    /// The card moved to another state.
    Changed,
    /// The command ran and the card stayed where it was.
    Unchanged,
    /// A card was ordered (the batch order).
    Ordered,
    /// The command ran and failed (GO Cards refused or could not be reached).
    Failed,
    /// The command does not apply to the item (not enabled, not available, an open order).
    Skipped,
    /// The job stopped (or the server did) before the item ran.
    NotRun,
}

impl ItemOutcome {
    pub const ALL: [ItemOutcome; 6] = [
        ItemOutcome::Changed,
        ItemOutcome::Unchanged,
        ItemOutcome::Ordered,
        ItemOutcome::Failed,
        ItemOutcome::Skipped,
        ItemOutcome::NotRun,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemOutcome::Changed => "changed",
            ItemOutcome::Unchanged => "unchanged",
            ItemOutcome::Ordered => "ordered",
            ItemOutcome::Failed => "failed",
            ItemOutcome::Skipped => "skipped",
            ItemOutcome::NotRun => "not_run",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ItemOutcome::Changed => "changed",
            ItemOutcome::Unchanged => "unchanged",
            ItemOutcome::Ordered => "ordered",
            ItemOutcome::Failed => "failed",
            ItemOutcome::Skipped => "skipped",
            ItemOutcome::NotRun => "not run",
        }
    }

    /// The outcomes a job of `process` shows as counts, in order.
    pub fn shown_for(process: Process) -> &'static [ItemOutcome] {
        match process.entity() {
            Entity::Card => &[
                ItemOutcome::Changed,
                ItemOutcome::Unchanged,
                ItemOutcome::Failed,
                ItemOutcome::Skipped,
            ],
            Entity::User => &[
                ItemOutcome::Ordered,
                ItemOutcome::Failed,
                ItemOutcome::Skipped,
            ],
        }
    }
}

impl FromStr for ItemOutcome {
    type Err = UnknownJobWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ItemOutcome::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownJobWord(s.to_owned()))
    }
}

/// How many items of a job ended each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCounts {
    pub total: u32,
    pub changed: u32,
    pub unchanged: u32,
    pub ordered: u32,
    pub failed: u32,
    pub skipped: u32,
    pub not_run: u32,
}

impl JobCounts {
    pub fn add(&mut self, outcome: ItemOutcome, n: u32) {
        let slot = match outcome {
            ItemOutcome::Changed => &mut self.changed,
            ItemOutcome::Unchanged => &mut self.unchanged,
            ItemOutcome::Ordered => &mut self.ordered,
            ItemOutcome::Failed => &mut self.failed,
            ItemOutcome::Skipped => &mut self.skipped,
            ItemOutcome::NotRun => &mut self.not_run,
        };
        *slot = slot.saturating_add(n);
    }

    pub fn get(&self, outcome: ItemOutcome) -> u32 {
        match outcome {
            ItemOutcome::Changed => self.changed,
            ItemOutcome::Unchanged => self.unchanged,
            ItemOutcome::Ordered => self.ordered,
            ItemOutcome::Failed => self.failed,
            ItemOutcome::Skipped => self.skipped,
            ItemOutcome::NotRun => self.not_run,
        }
    }

    /// Items that have run (or were skipped): everything with an outcome but "not run".
    pub fn processed(&self) -> u32 {
        self.changed
            .saturating_add(self.unchanged)
            .saturating_add(self.ordered)
            .saturating_add(self.failed)
            .saturating_add(self.skipped)
    }

    /// The progress bar: `(now, max)`. While running the maximum is every item; once the job
    /// has ended the bar is full at the items processed.
    pub fn progress(&self, status: JobStatus) -> (u32, u32) {
        let now = self.processed();
        match status {
            JobStatus::Running => (now.min(self.total), self.total),
            _ => (now, now),
        }
    }
}

/// "Update card order for 12 cards", "Order cards for 2 users".
pub fn job_title(process: Process, count: usize) -> String {
    let (name, noun) = match process {
        Process::OrderCard => ("Order cards", "user"),
        other => (other.label(), "card"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{name} for {count} {noun}{plural}")
}

/// "3 skipped: Update card order is not enabled for Produced."
pub fn skipped_sentence(count: usize, reason: &str) -> String {
    format!("{count} skipped: {reason}")
}

/// "You already have a job running: Update card order, 40 of 300 done."
pub fn already_running_message(process: Process, counts: &JobCounts) -> String {
    format!(
        "You already have a job running: {}, {} of {} done. Wait for it to end, or stop it on \
         the Jobs page.",
        process.label(),
        counts.processed(),
        counts.total
    )
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobSizeError {
    #[error("Nothing is selected. Select at least one row.")]
    Empty,
    #[error("{0} items are selected; a job takes at most {MAX_JOB_ITEMS}. Narrow the search.")]
    TooMany(usize),
}

/// A job has 1 to [`MAX_JOB_ITEMS`] items.
pub fn check_job_size(count: usize) -> Result<(), JobSizeError> {
    match count {
        0 => Err(JobSizeError::Empty),
        n if n > MAX_JOB_ITEMS => Err(JobSizeError::TooMany(n)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn titles_name_the_process_and_the_count() {
        assert_eq!(
            job_title(Process::UpdateCardOrder, 12),
            "Update card order for 12 cards"
        );
        assert_eq!(
            job_title(Process::AbortCardOrder, 1),
            "Abort card order for 1 card"
        );
        assert_eq!(job_title(Process::OrderCard, 2), "Order cards for 2 users");
    }

    #[test]
    fn the_skipped_sentence_and_the_running_message() {
        assert_eq!(
            skipped_sentence(3, "Update card order is not enabled for Produced."),
            "3 skipped: Update card order is not enabled for Produced."
        );
        let mut counts = JobCounts {
            total: 300,
            ..JobCounts::default()
        };
        counts.add(ItemOutcome::Changed, 30);
        counts.add(ItemOutcome::Failed, 10);
        assert!(already_running_message(Process::UpdateCardOrder, &counts)
            .starts_with("You already have a job running: Update card order, 40 of 300 done."));
    }

    #[test]
    fn sizes() {
        assert_eq!(check_job_size(0), Err(JobSizeError::Empty));
        assert_eq!(check_job_size(1), Ok(()));
        assert_eq!(check_job_size(MAX_JOB_ITEMS), Ok(()));
        assert_eq!(
            check_job_size(MAX_JOB_ITEMS + 1),
            Err(JobSizeError::TooMany(MAX_JOB_ITEMS + 1))
        );
    }

    #[test]
    fn words_round_trip() {
        for s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>(), Ok(s));
        }
        for o in ItemOutcome::ALL {
            assert_eq!(o.as_str().parse::<ItemOutcome>(), Ok(o));
        }
        assert!("Running".parse::<JobStatus>().is_err());
    }

    fn outcome() -> impl Strategy<Value = ItemOutcome> {
        prop::sample::select(ItemOutcome::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn progress_never_passes_its_maximum_and_is_full_once_ended(
            outcomes in prop::collection::vec(outcome(), 0..200),
            pending in 0u32..50,
        ) {
            let mut counts = JobCounts::default();
            for o in &outcomes {
                counts.add(*o, 1);
            }
            counts.total = u32::try_from(outcomes.len()).unwrap_or(u32::MAX) + pending;
            let (now, max) = counts.progress(JobStatus::Running);
            prop_assert!(now <= max);
            prop_assert_eq!(max, counts.total);
            for ended in [JobStatus::Done, JobStatus::Stopped, JobStatus::Interrupted] {
                let (now, max) = counts.progress(ended);
                prop_assert_eq!(now, max);
                prop_assert_eq!(now, counts.processed());
            }
            let shown: u32 = ItemOutcome::ALL.iter().map(|o| counts.get(*o)).sum();
            prop_assert_eq!(shown, u32::try_from(outcomes.len()).unwrap_or(u32::MAX));
        }
    }
}
