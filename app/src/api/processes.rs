//! Order card and Abort card order: the dialog's options, and Next.

use leptos::prelude::*;
use server_fn::codec::Json;

use super::{AbortCardOrderError, OrderCardError, OrderOptionsError};
use crate::domain::OrderForm;
use crate::model::{AbortCardOrderResult, OrderCardResult, OrderOptions};

/// What Order card's dialog needs: the articles GO Cards offers (or why it could not be
/// asked), the default country, and a pending order from an earlier try.
#[server(endpoint = "order_card_options", input = Json)]
pub async fn order_card_options(user_id: i64) -> Result<OrderOptions, OrderOptionsError> {
    use crate::api::access;
    use crate::model::PendingOrderView;
    use backend::db::to_rfc3339;

    access::require_operator().await?;
    let state = access::app_state()?;
    if state.db.order_holder(user_id).await?.is_none() {
        return Err(OrderOptionsError::NotFound { user_id });
    }
    let pending = state
        .db
        .pending_order(user_id)
        .await?
        .map(|p| PendingOrderView {
            created_at: to_rfc3339(p.created_at),
            created_by: p.created_by,
            form: p.form,
            attempts: p.attempts,
        });
    let (articles, articles_error) = dialog_articles(&state).await;
    Ok(OrderOptions {
        articles,
        articles_error,
        default_country: state.order_default_country.clone(),
        pending,
    })
}

/// The articles GO Cards offers, for a dialog's Article list, or why they could not be read.
#[cfg(feature = "ssr")]
pub(crate) async fn dialog_articles(
    state: &backend::AppState,
) -> (Vec<crate::model::ArticleOption>, Option<String>) {
    use crate::model::ArticleOption;
    match state.gocards.current().articles().await {
        Ok(articles) => (
            articles
                .into_iter()
                .map(|a| ArticleOption {
                    article_id: a.article_id,
                    name: a.name,
                })
                .collect(),
            None,
        ),
        Err(err) => {
            tracing::warn!(error = ?err, "GO Cards articles could not be read");
            (Vec::new(), Some(articles_unavailable(&err)))
        }
    }
}

/// Runs "Order card" for the user `user_id`.
#[server(endpoint = "order_card", input = Json)]
pub async fn order_card(user_id: i64, form: OrderForm) -> Result<OrderCardResult, OrderCardError> {
    use crate::api::access;
    use backend::services::order_card as service;
    use service::OrderCardError as E;

    let user = access::require_operator().await?;
    let state = access::app_state()?;
    if state.manual_attempts.check(user.id).is_err() {
        return Err(OrderCardError::TooManyAttempts);
    }
    let gocards = state.gocards.current();
    match service::order_card(&state.db, &gocards, user_id, &form, &user.username).await {
        Ok(report) => Ok(OrderCardResult {
            card_id: report.card_id.to_string(),
            message: report.message,
            retried: report.retried,
        }),
        Err(err) => Err(match err {
            E::UnknownUser(user_id) => OrderCardError::NotFound { user_id },
            E::NotEnabled => OrderCardError::NotEnabled {
                message: err.to_string(),
            },
            E::Invalid(_) | E::NoEmail { .. } => OrderCardError::BadRequest {
                message: err.to_string(),
            },
            E::AlreadyOpen { .. } => OrderCardError::AlreadyOpen {
                message: err.to_string(),
            },
            E::PendingDiffers { .. } => OrderCardError::PendingDiffers {
                message: err.to_string(),
            },
            E::MayHaveBeenPlaced(_) => OrderCardError::MayHaveBeenPlaced {
                message: err.to_string(),
            },
            E::Refused(_) | E::GoCards(_) | E::BadCardId(_) => OrderCardError::GoCards {
                message: err.to_string(),
            },
            E::Storage(db_err) => OrderCardError::from(db_err),
        }),
    }
}

/// Runs "Abort card order" for a card the operator saw at `expected_version`.
#[server(endpoint = "abort_card_order", input = Json)]
pub async fn abort_card_order(
    card_id: String,
    expected_version: i64,
    reason: String,
) -> Result<AbortCardOrderResult, AbortCardOrderError> {
    use crate::api::access;
    use crate::domain::CardId;
    use backend::services::abort_card_order as service;
    use service::AbortCardOrderError as E;

    let user = access::require_operator().await?;
    let state = access::app_state()?;
    if state.manual_attempts.check(user.id).is_err() {
        return Err(AbortCardOrderError::TooManyAttempts);
    }
    let id = CardId::parse(&card_id).map_err(|e| AbortCardOrderError::BadRequest {
        message: e.to_string(),
    })?;
    let gocards = state.gocards.current();
    match service::abort_card_order(
        &state.db,
        &gocards,
        &id,
        expected_version,
        &reason,
        &user.username,
    )
    .await
    {
        Ok(report) => Ok(AbortCardOrderResult {
            message: report.message,
            state: report.state,
        }),
        Err(err) => Err(match err {
            E::UnknownCard(id) => AbortCardOrderError::NotFound {
                card_id: id.to_string(),
            },
            E::InvalidReason(_) => AbortCardOrderError::BadRequest {
                message: err.to_string(),
            },
            E::NotApplicable(_) => AbortCardOrderError::NotApplicable {
                message: err.to_string(),
            },
            E::NotEnabled(_) => AbortCardOrderError::NotEnabled {
                message: err.to_string(),
            },
            E::ChangedMeanwhile => AbortCardOrderError::ChangedMeanwhile,
            E::TooLate(_) | E::CancelledButChanged | E::NotConfirmed(_) | E::Refused => {
                AbortCardOrderError::TooLate {
                    message: err.to_string(),
                }
            }
            E::GoCards(_) => AbortCardOrderError::GoCards {
                message: err.to_string(),
            },
            E::Storage(db_err) => AbortCardOrderError::from(db_err),
        }),
    }
}

/// What the dialog says when GO Cards could not be asked for its articles.
#[cfg(feature = "ssr")]
fn articles_unavailable(err: &gocards::GoCardsError) -> String {
    use gocards::GoCardsError as E;
    let why = match err {
        E::RateLimited { .. } | E::Unauthorized | E::Forbidden | E::InvalidConfig(_) => {
            err.user_message()
        }
        E::Timeout => "GO Cards did not answer in time.".to_owned(),
        E::Unreachable => "GO Cards could not be reached.".to_owned(),
        E::ServerError { status } => format!("GO Cards is unavailable (error {status})."),
        E::Malformed | E::Oversized => "GO Cards sent a reply that could not be read.".to_owned(),
        E::BadRequest | E::ClientError { .. } | E::NotFound | E::Conflict => {
            "GO Cards refused the request for its articles.".to_owned()
        }
    };
    format!("Cannot list GO Cards' articles: {why} Nothing can be ordered until it answers; try again in a moment.")
}
