//! "Abort card order" (CardsAddonExtProdProcAbort): cancel an order GO Cards has not yet
//! produced, and move the card to Aborted. Aborted means the desk cancelled it; a card that
//! GO Cards reports CANCELLED by itself still becomes Failed.

use super::update_card_order::CHANGED_MEANWHILE;
use crate::db::history::NewHistory;
use crate::db::Db;
use desk_core::domain::{check_reason, CardId, CardState, GoCardsStatus, Process, ReasonError};
use desk_core::model::{HistoryKind, HistorySource};
use gocards::{CancelReply, GoCardsClient, GoCardsError};

#[derive(Debug, thiserror::Error)]
pub enum AbortCardOrderError {
    #[error("No card {0} exists.")]
    UnknownCard(CardId),
    #[error("{0}")]
    InvalidReason(ReasonError),
    #[error("Abort card order is not available for a card in state {0}.")]
    NotApplicable(CardState),
    #[error("Abort card order is not enabled for a card in state {0}.")]
    NotEnabled(CardState),
    #[error("{CHANGED_MEANWHILE}")]
    ChangedMeanwhile,
    /// GO Cards cancelled the order, but the card changed on the desk meanwhile.
    #[error("GO Cards cancelled the order, but the card changed meanwhile; reload.")]
    CancelledButChanged,
    /// `409`: the card is past cancelling.
    #[error("GO Cards can no longer cancel this order: it reports {}. Run Update card order to bring the card up to date.", .0.as_str())]
    TooLate(GoCardsStatus),
    /// A `409` that names no status.
    #[error("GO Cards refused to cancel this order (409) and did not say its status. Run Update card order to bring the card up to date.")]
    Refused,
    /// A `200` whose status is not CANCELLED.
    #[error("GO Cards did not confirm the cancellation: it reports {}. Run Update card order to bring the card up to date.", .0.as_str())]
    NotConfirmed(GoCardsStatus),
    #[error("{}", .0.user_message())]
    GoCards(GoCardsError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// The result the operator sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortReport {
    pub message: String,
    pub state: CardState,
}

/// The detail of every history row this process writes.
fn detail(text: &str) -> String {
    format!("Abort card order: {text}")
}

/// Runs the process for `card_id`, which the operator saw at `expected_version`.
/// Every attempt that passes the reason check leaves a history row with `actor`.
#[tracing::instrument(skip(db, gocards, reason), fields(card_id = %card_id))]
pub async fn abort_card_order(
    db: &Db,
    gocards: &GoCardsClient,
    card_id: &CardId,
    expected_version: i64,
    reason: &str,
    actor: &str,
) -> Result<AbortReport, AbortCardOrderError> {
    let card = db
        .card(card_id.as_str())
        .await?
        .ok_or_else(|| AbortCardOrderError::UnknownCard(card_id.clone()))?;
    let reason = check_reason(reason).map_err(AbortCardOrderError::InvalidReason)?;
    let state = card.state;
    let row = |kind: HistoryKind, text: String, status: Option<String>| Row {
        kind,
        detail: detail(&text),
        status,
        state,
        actor,
    };

    if card.version != expected_version {
        row(HistoryKind::Error, CHANGED_MEANWHILE.to_owned(), None)
            .append(db, card_id)
            .await?;
        return Err(AbortCardOrderError::ChangedMeanwhile);
    }
    if !Process::AbortCardOrder.applies_to(state) {
        let err = AbortCardOrderError::NotApplicable(state);
        row(HistoryKind::Refused, err.to_string(), None)
            .append(db, card_id)
            .await?;
        return Err(err);
    }
    if !db
        .is_command_enabled(state, Process::AbortCardOrder)
        .await?
    {
        let err = AbortCardOrderError::NotEnabled(state);
        row(HistoryKind::Refused, err.to_string(), None)
            .append(db, card_id)
            .await?;
        return Err(err);
    }

    let reply = gocards.cancel(card_id, &reason, uuid::Uuid::new_v4()).await;
    let info = match reply {
        Ok(CancelReply::Cancelled(info)) => info,
        Ok(CancelReply::TooLate { status }) => {
            let err = AbortCardOrderError::TooLate(status.clone());
            row(
                HistoryKind::Error,
                err.to_string(),
                Some(status.as_str().to_owned()),
            )
            .record(db, card_id)
            .await?;
            return Err(err);
        }
        Err(GoCardsError::Conflict) => {
            let err = AbortCardOrderError::Refused;
            row(HistoryKind::Error, err.to_string(), None)
                .record(db, card_id)
                .await?;
            return Err(err);
        }
        Err(err) => {
            tracing::warn!(error = ?err, "GO Cards cancel failed");
            row(HistoryKind::Error, err.user_message(), None)
                .record(db, card_id)
                .await?;
            return Err(AbortCardOrderError::GoCards(err));
        }
    };
    if info.status != GoCardsStatus::Cancelled {
        let err = AbortCardOrderError::NotConfirmed(info.status.clone());
        row(
            HistoryKind::Error,
            err.to_string(),
            Some(info.status.as_str().to_owned()),
        )
        .record(db, card_id)
        .await?;
        return Err(err);
    }

    let text = detail(&reason);
    let event = NewHistory {
        kind: HistoryKind::Changed,
        source: HistorySource::Manual,
        actor: Some(actor),
        from_state: state,
        to_state: CardState::Aborted,
        gocards_status: Some(GoCardsStatus::Cancelled.as_str()),
        detail: Some(&text),
    };
    if db
        .apply_state_change(card_id.as_str(), card.version, Some(&reason), &event)
        .await?
    {
        Ok(AbortReport {
            message: format!(
                "Order aborted: {} → {}",
                state.label(),
                CardState::Aborted.label()
            ),
            state: CardState::Aborted,
        })
    } else {
        // Another writer moved the card between the read and GO Cards' reply; what GO
        // Cards now says (CANCELLED) reaches the card with the next check or sync.
        let err = AbortCardOrderError::CancelledButChanged;
        row(
            HistoryKind::Error,
            err.to_string(),
            Some(GoCardsStatus::Cancelled.as_str().to_owned()),
        )
        .append(db, card_id)
        .await?;
        Err(err)
    }
}

/// A history row of an attempt that changed no state.
struct Row<'a> {
    kind: HistoryKind,
    detail: String,
    status: Option<String>,
    state: CardState,
    actor: &'a str,
}

impl Row<'_> {
    fn event(&self) -> NewHistory<'_> {
        NewHistory {
            kind: self.kind,
            source: HistorySource::Manual,
            actor: Some(self.actor),
            from_state: self.state,
            to_state: self.state,
            gocards_status: self.status.as_deref(),
            detail: Some(&self.detail),
        }
    }

    /// Writes the row and `last checked`: GO Cards was asked.
    async fn record(&self, db: &Db, card_id: &CardId) -> Result<(), sqlx::Error> {
        db.record_attempt(card_id.as_str(), &self.event()).await
    }

    /// Writes the row alone: GO Cards was not asked.
    async fn append(&self, db: &Db, card_id: &CardId) -> Result<(), sqlx::Error> {
        db.append_history(card_id.as_str(), &self.event()).await
    }
}
