use leptos::prelude::*;
use server_fn::codec::Json;

use super::{CardError, SearchError, UpdateCardOrderError};
use crate::domain::CardState;
use crate::model::{CardDetail, CardSearch, SearchPage};

/// How many history rows a profile shows.
pub const HISTORY_ROWS: i64 = 200;

/// One page of cards matching the search.
#[server(endpoint = "search_cards", input = Json)]
pub async fn search_cards(search: CardSearch) -> Result<SearchPage, SearchError> {
    use crate::api::access;

    access::require_operator().await?;
    let state = access::app_state()?;
    // Too long a field or too deep a page: refused before the database is asked.
    search.validate().map_err(|e| SearchError::BadRequest {
        message: e.to_string(),
    })?;
    let page = search.page();
    let (rows, has_next) = state.db.search_cards(&search).await?;
    Ok(SearchPage {
        rows,
        page,
        has_next,
    })
}

/// A card's profile: details, history and the commands enabled for its state.
#[server(endpoint = "card_profile", input = Json)]
pub async fn card_profile(card_id: String) -> Result<CardDetail, CardError> {
    use crate::api::access;
    use crate::domain::CardId;
    use backend::db::to_rfc3339;

    access::require_operator().await?;
    let state = access::app_state()?;
    let not_found = || CardError::NotFound {
        card_id: card_id.chars().take(40).collect(),
    };
    let id = CardId::parse(&card_id).map_err(|_| not_found())?;
    let row = state.db.card(id.as_str()).await?.ok_or_else(not_found)?;
    let card_state = row.state;
    let history = state.db.card_history(id.as_str(), HISTORY_ROWS).await?;
    let commands = state
        .db
        .enabled_commands(card_state)
        .await?
        .into_iter()
        .filter(|p| p.applies_to(card_state))
        .collect();
    let holder_id = state.db.holder_of_card(id.as_str()).await?;
    Ok(CardDetail {
        holder_id,
        card_id: row.card_id,
        first_name: row.first_name,
        last_name: row.last_name,
        email: row.email,
        employee_id: row.employee_id,
        state: card_state,
        ordered_at: row.ordered_at.map(to_rfc3339),
        last_checked_at: row.last_checked_at.map(to_rfc3339),
        gocards_status: row.gocards_status,
        failure_reason: row.failure_reason,
        version: row.version,
        history,
        commands,
    })
}

/// What "Next" in the process reports.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UpdateCardOrderResult {
    pub message: String,
    pub state: CardState,
    pub changed: bool,
}

/// Runs "Update card order" for a card the operator saw at `expected_version`.
#[server(endpoint = "update_card_order", input = Json)]
pub async fn update_card_order(
    card_id: String,
    expected_version: i64,
) -> Result<UpdateCardOrderResult, UpdateCardOrderError> {
    use crate::api::access;
    use crate::domain::{CardId, Outcome};
    use backend::services::update_card_order as service;
    use service::UpdateCardOrderError as E;

    let user = access::require_operator().await?;
    let state = access::app_state()?;
    // Over the operator's allowance: refused before any history row or GO Cards call.
    if state.manual_attempts.check(user.id).is_err() {
        return Err(UpdateCardOrderError::TooManyAttempts);
    }
    let id = CardId::parse(&card_id).map_err(|e| UpdateCardOrderError::BadRequest {
        message: e.to_string(),
    })?;
    let gocards = state.gocards.current();
    match service::update_card_order(&state.db, &gocards, &id, expected_version, &user.username)
        .await
    {
        Ok(report) => Ok(UpdateCardOrderResult {
            changed: matches!(report.outcome, Outcome::Changed { .. }),
            message: report.message,
            state: report.state,
        }),
        Err(err) => Err(match err {
            E::UnknownCard(id) => UpdateCardOrderError::NotFound {
                card_id: id.to_string(),
            },
            E::NotApplicable(_) => UpdateCardOrderError::NotApplicable {
                message: err.to_string(),
            },
            E::NotEnabled(_) => UpdateCardOrderError::NotEnabled {
                message: err.to_string(),
            },
            E::ChangedMeanwhile => UpdateCardOrderError::ChangedMeanwhile,
            E::GoCards(ref gocards_err) => UpdateCardOrderError::GoCards {
                message: gocards_err.user_message(),
            },
            E::Storage(db_err) => UpdateCardOrderError::from(db_err),
        }),
    }
}
