//! Applies a status reported by GO Cards to a stored card: the one path shared by the
//! manual command, the batch sync and webhooks. Where they differ, the report's source
//! decides (`Policy`), here and nowhere else.

use crate::db::cards::{CardRow, ChangeWritten, StateChange};
use crate::db::history::NewHistory;
use crate::db::Db;
use desk_core::domain::{apply, CardState, GoCardsStatus, NoChange, Outcome};
use desk_core::model::{HistoryKind, HistorySource};

/// Where a report came from, and who asked for it.
#[derive(Clone, Copy, Debug)]
pub struct ReportSource<'a> {
    pub source: HistorySource,
    pub actor: Option<&'a str>,
}

/// What GO Cards reported for a card.
#[derive(Clone, Copy, Debug)]
pub struct Report<'a> {
    pub status: &'a GoCardsStatus,
    pub failure_reason: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The outcome, now stored, for the card as it was in `state` at `version`.
    Stored {
        outcome: Outcome,
        state: CardState,
        version: i64,
    },
    /// Another writer changed the card first, each time it was tried: nothing was written.
    ChangedMeanwhile,
    /// The card was removed before the report could be applied.
    Gone,
}

/// How a report from each source is applied.
struct Policy {
    /// When another writer changes the card between the read and the write: read it again
    /// and apply the report once more. Not for the manual command: the operator decided on
    /// the card they saw, so a race is theirs to look at.
    read_again_on_race: bool,
    /// A report that changes nothing updates `last checked` and the stored status (as
    /// [`CheckWrite`] says; only if the card is still at the version it was read at), with a
    /// history row (a manual check), without one (a webhook), or not at all: the batch sync
    /// writes them for a whole page at once.
    no_change: NoChangeWrite,
}

#[derive(Clone, Copy)]
enum NoChangeWrite {
    CheckWithHistory,
    Check,
    LeftToCaller,
}

impl Policy {
    fn of(source: HistorySource) -> Policy {
        match source {
            HistorySource::Manual => Policy {
                read_again_on_race: false,
                no_change: NoChangeWrite::CheckWithHistory,
            },
            HistorySource::Webhook => Policy {
                read_again_on_race: true,
                no_change: NoChangeWrite::Check,
            },
            HistorySource::Sync => Policy {
                read_again_on_race: true,
                no_change: NoChangeWrite::LeftToCaller,
            },
        }
    }
}

/// What a report that changes no state writes to the card, always only if the card is still
/// at the version it was read at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckWrite {
    /// "Last checked" and the raw status: GO Cards confirms the state (or names a status
    /// this version does not know).
    Status,
    /// "Last checked" alone: GO Cards answered with an earlier state (a late webhook, a
    /// lagging listing), which must not overwrite the newer status stored.
    CheckedOnly,
    /// Nothing: the card is no open order any more, so the report is about an order that is
    /// over (a late webhook for a Produced card).
    Nothing,
}

impl CheckWrite {
    pub fn of(outcome: &Outcome) -> CheckWrite {
        match outcome {
            Outcome::NoChange(NoChange::SameState { .. } | NoChange::Unrecognised { .. }) => {
                CheckWrite::Status
            }
            Outcome::NoChange(NoChange::Backwards { .. }) => CheckWrite::CheckedOnly,
            Outcome::Refused(_) | Outcome::Changed { .. } => CheckWrite::Nothing,
        }
    }

    /// The raw status to store with "last checked", if any.
    pub fn status(self, reported: &str) -> Option<&str> {
        (self == CheckWrite::Status).then_some(reported)
    }
}

/// Applies `report` to `card`, read at `card.version`. A change is written only if the
/// card is still at that version, with its history row in the same transaction.
pub async fn apply_report(
    db: &Db,
    mut card: CardRow,
    report: Report<'_>,
    origin: ReportSource<'_>,
) -> Result<Applied, sqlx::Error> {
    let policy = Policy::of(origin.source);
    let attempts = if policy.read_again_on_race { 2 } else { 1 };
    for attempt in 1..=attempts {
        if attempt > 1 {
            card = match db.card(&card.card_id).await? {
                Some(fresh) => fresh,
                None => return Ok(Applied::Gone),
            };
        }
        let state = card.state;
        let outcome = apply(state, report.status, report.failure_reason);
        let raw = report.status.as_str();
        match &outcome {
            Outcome::Changed {
                from,
                to,
                failure_reason,
            } => {
                let event = changed_event(*from, *to, failure_reason.as_deref(), raw, origin);
                let applied = db
                    .apply_state_change(
                        &card.card_id,
                        card.version,
                        failure_reason.as_deref(),
                        &event,
                    )
                    .await?;
                if !applied {
                    continue;
                }
            }
            Outcome::NoChange(_) | Outcome::Refused(_) => {
                let kind = if matches!(outcome, Outcome::Refused(_)) {
                    HistoryKind::Refused
                } else {
                    HistoryKind::NoChange
                };
                let message = outcome.message();
                let event = NewHistory {
                    kind,
                    source: origin.source,
                    actor: origin.actor,
                    from_state: state,
                    to_state: state,
                    gocards_status: Some(raw),
                    detail: Some(&message),
                };
                let write = CheckWrite::of(&outcome);
                let status = write.status(raw);
                let stored = match (policy.no_change, write) {
                    (NoChangeWrite::LeftToCaller, _)
                    | (NoChangeWrite::Check, CheckWrite::Nothing) => true,
                    // Nothing to store on the card, but the operator's attempt is a row.
                    (NoChangeWrite::CheckWithHistory, CheckWrite::Nothing) => {
                        db.append_history(&card.card_id, &event).await?;
                        true
                    }
                    (NoChangeWrite::CheckWithHistory, _) => {
                        db.record_check(&card.card_id, card.version, status, Some(&event))
                            .await?
                    }
                    (NoChangeWrite::Check, _) => {
                        db.record_check(&card.card_id, card.version, status, None)
                            .await?
                    }
                };
                if !stored {
                    continue;
                }
            }
        }
        return Ok(Applied::Stored {
            outcome,
            state,
            version: card.version,
        });
    }
    Ok(Applied::ChangedMeanwhile)
}

/// The history row of a report that changes the card's state.
fn changed_event<'a>(
    from: CardState,
    to: CardState,
    failure_reason: Option<&'a str>,
    raw: &'a str,
    origin: ReportSource<'a>,
) -> NewHistory<'a> {
    NewHistory {
        kind: HistoryKind::Changed,
        source: origin.source,
        actor: origin.actor,
        from_state: from,
        to_state: to,
        gocards_status: Some(raw),
        detail: failure_reason,
    }
}

/// The batch sync's reports for a page of the changed-cards listing: each decided as
/// [`apply_report`] decides it, and the page's changes written in one transaction
/// ([`Db::apply_state_changes`]: a bad card rolls back alone; the events go after the
/// commit). A card another writer changed first is read again and applied on its own, with
/// [`apply_report`], as the sync's policy says. One result per report, in order; `Err`
/// alone when the page could not be committed (nothing of it is stored).
///
/// Other sources apply their reports one at a time ([`apply_report`]).
pub async fn apply_sync_page(
    db: &Db,
    reports: Vec<(CardRow, Report<'_>)>,
) -> Result<Vec<Result<Applied, sqlx::Error>>, sqlx::Error> {
    let origin = ReportSource {
        source: HistorySource::Sync,
        actor: None,
    };
    let outcomes: Vec<Outcome> = reports
        .iter()
        .map(|(card, report)| apply(card.state, report.status, report.failure_reason))
        .collect();
    // The changes, and which report each one is.
    let (which, changes): (Vec<usize>, Vec<StateChange<'_>>) = reports
        .iter()
        .zip(&outcomes)
        .enumerate()
        .filter_map(|(index, ((card, report), outcome))| match outcome {
            Outcome::Changed {
                from,
                to,
                failure_reason,
            } => Some((
                index,
                StateChange {
                    card_id: card.card_id.as_str(),
                    expected_version: card.version,
                    failure_reason: failure_reason.as_deref(),
                    event: changed_event(
                        *from,
                        *to,
                        failure_reason.as_deref(),
                        report.status.as_str(),
                        origin,
                    ),
                },
            )),
            _ => None,
        })
        .unzip();
    let mut written: Vec<Option<ChangeWritten>> = (0..reports.len()).map(|_| None).collect();
    for (index, result) in which
        .into_iter()
        .zip(db.apply_state_changes(&changes).await?)
    {
        written[index] = Some(result);
    }
    drop(changes);
    let mut applied = Vec::with_capacity(reports.len());
    for (((card, report), outcome), written) in reports.into_iter().zip(outcomes).zip(written) {
        let stored = Applied::Stored {
            outcome,
            state: card.state,
            version: card.version,
        };
        applied.push(match written {
            // No state change: the sync writes `last checked` for the whole page itself.
            None | Some(ChangeWritten::Applied) => Ok(stored),
            Some(ChangeWritten::Failed(e)) => Err(e),
            Some(ChangeWritten::Raced) => match db.card(&card.card_id).await {
                Ok(Some(fresh)) => apply_report(db, fresh, report, origin).await,
                Ok(None) => Ok(Applied::Gone),
                Err(e) => Err(e),
            },
        });
    }
    Ok(applied)
}
