//! Types on the wire between the browser and the server. Database rows are separate
//! (`backend::db`) and convert into these.

mod admin;
mod holder;
mod jobs;
mod live;
mod orders;
mod search;
mod sync;
mod user;

pub use admin::*;
pub use holder::*;
pub use jobs::*;
pub use live::*;
pub use orders::*;
pub use search::*;
pub use sync::*;
pub use user::*;

use serde::{Deserialize, Serialize};

use crate::domain::{CardState, Process};

/// One row of the result list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    pub card_id: String,
    pub holder: String,
    pub state: CardState,
    /// RFC 3339, UTC.
    pub ordered_at: Option<String>,
    /// RFC 3339, UTC.
    pub last_checked_at: Option<String>,
}

/// A card's profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardDetail {
    pub card_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_id: String,
    pub state: CardState,
    pub ordered_at: Option<String>,
    pub last_checked_at: Option<String>,
    pub gocards_status: Option<String>,
    pub failure_reason: Option<String>,
    /// Optimistic-concurrency token: changes only when the state changes.
    pub version: i64,
    pub history: Vec<HistoryEntry>,
    /// The Additional Commands enabled for the card's current state.
    pub commands: Vec<Process>,
    /// The user who holds the card, for the link to their profile.
    #[serde(default)]
    pub holder_id: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    Changed,
    NoChange,
    Error,
    Refused,
}

impl HistoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Changed => "changed",
            HistoryKind::NoChange => "no_change",
            HistoryKind::Error => "error",
            HistoryKind::Refused => "refused",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            HistoryKind::Changed,
            HistoryKind::NoChange,
            HistoryKind::Error,
            HistoryKind::Refused,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            HistoryKind::Changed => "Changed",
            HistoryKind::NoChange => "No change",
            HistoryKind::Error => "Error",
            HistoryKind::Refused => "Refused",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistorySource {
    Manual,
    Sync,
    Webhook,
}

impl HistorySource {
    pub fn as_str(self) -> &'static str {
        match self {
            HistorySource::Manual => "manual",
            HistorySource::Sync => "sync",
            HistorySource::Webhook => "webhook",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            HistorySource::Manual,
            HistorySource::Sync,
            HistorySource::Webhook,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: String,
    pub kind: HistoryKind,
    pub source: HistorySource,
    pub actor: Option<String>,
    pub from_state: CardState,
    pub to_state: CardState,
    pub gocards_status: Option<String>,
    pub detail: Option<String>,
    /// How many times this event happened in a row: the sync's repeated identical errors on
    /// a card are one row. 1: once.
    pub repeats: i64,
    /// RFC 3339: when it last happened, once it has repeated.
    pub last_at: Option<String>,
}
