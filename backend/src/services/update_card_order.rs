//! "Update card order" (CardsAddonExtProdProcUpdate): ask GO Cards for the order's status
//! and apply it to the card, re-checking everything on the server.

use super::report::{apply_report, Applied, Report, ReportSource};
use crate::db::history::NewHistory;
use crate::db::Db;
use desk_core::domain::{CardId, CardState, Outcome, Process, Refusal};
use desk_core::model::{HistoryKind, HistorySource};
use gocards::{GoCardsClient, GoCardsError};

pub const CHANGED_MEANWHILE: &str = "The card changed meanwhile; reload.";

#[derive(Debug, thiserror::Error)]
pub enum UpdateCardOrderError {
    #[error("No card {0} exists.")]
    UnknownCard(CardId),
    #[error("Update card order is not available for a card in state {0}.")]
    NotApplicable(CardState),
    #[error("Update card order is not enabled for a card in state {0}.")]
    NotEnabled(CardState),
    #[error("{CHANGED_MEANWHILE}")]
    ChangedMeanwhile,
    #[error("{}", .0.user_message())]
    GoCards(GoCardsError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// The result the operator sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateReport {
    pub outcome: Outcome,
    pub message: String,
    pub state: CardState,
}

/// Runs the process for `card_id`, which the operator saw at `expected_version`.
/// Every attempt leaves a history row with `actor`.
#[tracing::instrument(skip(db, gocards), fields(card_id = %card_id))]
pub async fn update_card_order(
    db: &Db,
    gocards: &GoCardsClient,
    card_id: &CardId,
    expected_version: i64,
    actor: &str,
) -> Result<UpdateReport, UpdateCardOrderError> {
    let card = db
        .card(card_id.as_str())
        .await?
        .ok_or_else(|| UpdateCardOrderError::UnknownCard(card_id.clone()))?;
    let state = card.state;
    let attempt = Attempt {
        db,
        card_id: &card.card_id,
        state,
        actor,
    };

    // The operator decided on what they saw; if the card moved since, say so first.
    if card.version != expected_version {
        attempt
            .refuse(HistoryKind::Error, CHANGED_MEANWHILE)
            .await?;
        return Err(UpdateCardOrderError::ChangedMeanwhile);
    }

    if !Process::UpdateCardOrder.applies_to(state) {
        let err = UpdateCardOrderError::NotApplicable(state);
        attempt
            .refuse(HistoryKind::Refused, &err.to_string())
            .await?;
        return Err(err);
    }
    if !db
        .is_command_enabled(state, Process::UpdateCardOrder)
        .await?
    {
        let err = UpdateCardOrderError::NotEnabled(state);
        attempt
            .refuse(HistoryKind::Refused, &err.to_string())
            .await?;
        return Err(err);
    }

    let info = match gocards.card(card_id).await {
        Ok(info) => info,
        Err(err) => {
            tracing::warn!(error = ?err, "GO Cards check failed");
            attempt
                .record(HistoryKind::Error, &err.user_message(), None)
                .await?;
            return Err(UpdateCardOrderError::GoCards(err));
        }
    };

    let origin = ReportSource {
        source: HistorySource::Manual,
        actor: Some(actor),
    };
    let report = Report {
        status: &info.status,
        failure_reason: info.failure_reason.as_deref(),
    };
    match apply_report(db, card.clone(), report, origin).await? {
        Applied::Stored { outcome, state, .. } => {
            if let Outcome::Refused(Refusal::NotApplicable { state }) = outcome {
                return Err(UpdateCardOrderError::NotApplicable(state));
            }
            Ok(UpdateReport {
                message: outcome.message(),
                state: outcome.resulting_state(state),
                outcome,
            })
        }
        Applied::ChangedMeanwhile => {
            attempt
                .record(
                    HistoryKind::Error,
                    CHANGED_MEANWHILE,
                    Some(info.status.as_str()),
                )
                .await?;
            Err(UpdateCardOrderError::ChangedMeanwhile)
        }
        Applied::Gone => Err(UpdateCardOrderError::UnknownCard(card_id.clone())),
    }
}

/// A manual attempt that changed nothing, about to be written to the history.
struct Attempt<'a> {
    db: &'a Db,
    card_id: &'a str,
    state: CardState,
    actor: &'a str,
}

impl Attempt<'_> {
    /// Writes the row and updates `last checked`: GO Cards was asked.
    async fn record(
        &self,
        kind: HistoryKind,
        detail: &str,
        status: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        self.db
            .record_attempt(self.card_id, &self.event(kind, detail, status))
            .await
    }

    /// Writes the row alone: the attempt stopped before GO Cards was asked.
    async fn refuse(&self, kind: HistoryKind, detail: &str) -> Result<(), sqlx::Error> {
        self.db
            .append_history(self.card_id, &self.event(kind, detail, None))
            .await
    }

    fn event<'b>(
        &'b self,
        kind: HistoryKind,
        detail: &'b str,
        status: Option<&'b str>,
    ) -> NewHistory<'b> {
        NewHistory {
            kind,
            source: HistorySource::Manual,
            actor: Some(self.actor),
            from_state: self.state,
            to_state: self.state,
            gocards_status: status,
            detail: Some(detail),
        }
    }
}
