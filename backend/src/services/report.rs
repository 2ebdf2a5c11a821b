//! Applies a status reported by GO Cards to a stored card: the one path shared by the
//! manual command, the batch sync and webhooks.

use crate::db::cards::CardRow;
use crate::db::history::NewHistory;
use crate::db::Db;
use desk_core::domain::{apply, CardState, GoCardsStatus, Outcome};
use desk_core::model::{HistoryKind, HistorySource};

/// Where a report came from, and who asked for it.
#[derive(Clone, Copy, Debug)]
pub struct ReportSource<'a> {
    pub source: HistorySource,
    pub actor: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The outcome, now stored.
    Stored(Outcome),
    /// The card's version moved since it was read: nothing was changed.
    ChangedMeanwhile,
}

/// Applies `reported` to `card`, read at `card.version`. A change is written only if the
/// card is still at that version. No-change outcomes write a history row only when
/// `record_no_change` is set (manual checks); `last checked` is updated either way.
pub async fn apply_report(
    db: &Db,
    card: &CardRow,
    state: CardState,
    reported: &GoCardsStatus,
    failure_reason: Option<&str>,
    origin: ReportSource<'_>,
    record_no_change: bool,
) -> Result<Applied, sqlx::Error> {
    let outcome = apply(state, reported, failure_reason);
    let message = outcome.message();
    let raw = reported.as_str();
    match &outcome {
        Outcome::Changed {
            from,
            to,
            failure_reason,
        } => {
            let event = NewHistory {
                kind: HistoryKind::Changed,
                source: origin.source,
                actor: origin.actor,
                from_state: *from,
                to_state: *to,
                gocards_status: Some(raw),
                detail: failure_reason.as_deref(),
            };
            let applied = db
                .apply_state_change(
                    &card.card_id,
                    card.version,
                    failure_reason.as_deref(),
                    &event,
                )
                .await?;
            if !applied {
                return Ok(Applied::ChangedMeanwhile);
            }
        }
        Outcome::NoChange(_) | Outcome::Refused(_) => {
            let kind = if matches!(outcome, Outcome::Refused(_)) {
                HistoryKind::Refused
            } else {
                HistoryKind::NoChange
            };
            let event = NewHistory {
                kind,
                source: origin.source,
                actor: origin.actor,
                from_state: state,
                to_state: state,
                gocards_status: Some(raw),
                detail: Some(&message),
            };
            db.record_check(&card.card_id, Some(raw), record_no_change.then_some(&event))
                .await?;
        }
    }
    Ok(Applied::Stored(outcome))
}
