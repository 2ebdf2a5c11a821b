//! The batch sync on the wire: what the settings view "Scheduled jobs > GO Cards batch sync"
//! shows, and what it sends.

use serde::{Deserialize, Serialize};

/// A stored or sent word that names none of an enum's values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} \"{value}\"")]
pub struct UnknownWord {
    pub what: &'static str,
    pub value: String,
}

/// An enum stored and sent as one snake_case word: `as_str`, `Display` (the word),
/// `FromStr` and `TryFrom<String>` (so storage decodes it as the row is read).
macro_rules! word_enum {
    ($(#[$meta:meta])* pub enum $name:ident ($what:literal) { $($(#[$vmeta:meta])* $variant:ident => $word:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownWord;

            fn from_str(word: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == word)
                    .ok_or_else(|| UnknownWord { what: $what, value: word.to_owned() })
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownWord;

            fn try_from(word: String) -> Result<Self, Self::Error> {
                word.parse()
            }
        }
    };
}

word_enum! {
    /// How a run stands.
    pub enum RunStatus ("run status") {
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        /// Its server stopped, or another server took the sync over.
        Interrupted => "interrupted",
    }
}

word_enum! {
    /// Where a run is: the changed-cards listing, then the poll of stale open orders.
    pub enum RunPhase ("run phase") {
        Listing => "listing",
        Polling => "polling",
        Done => "done",
    }
}

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
    pub status: RunStatus,
    pub phase: RunPhase,
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

#[cfg(test)]
mod word_tests {
    use super::*;

    #[test]
    fn run_words_round_trip_as_stored_and_sent() {
        for status in RunStatus::ALL {
            assert_eq!(status.as_str().parse::<RunStatus>(), Ok(*status));
            let json = serde_json::to_string(status).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        for phase in RunPhase::ALL {
            assert_eq!(RunPhase::try_from(phase.as_str().to_owned()), Ok(*phase));
        }
        assert!("paused".parse::<RunStatus>().is_err());
    }
}
