//! "Order card" (CardsAddonExtProdProcOrder): order a card for a user from GO Cards.
//!
//! Nothing is ordered twice. The pending order, with a fresh `Idempotency-Key`, is stored
//! before GO Cards is called; a lost reply (timeout, 5xx, unreachable, a reply that cannot
//! be read) leaves it stored, and the next try (Next again, or a new Order card for the
//! same user) sends it again with the same key, so GO Cards answers with the first order.
//! Only a definite refusal (400, 403, 409) drops it.

use std::collections::BTreeMap;

use crate::db::audit::AuditRecord;
use crate::db::orders::{OrderCompletion, OrderHolder, OrderStart, PendingOrder};
use crate::db::{now_ms, Db};
use desk_core::domain::{CardId, CommandList, FieldError, OrderForm, Process};
use gocards::{DeliveryAddress, GoCardsClient, GoCardsError, OrderRequest};

/// What the operator reads when GO Cards' reply was lost (gocards-api.md's fault row).
pub const ORDER_MAY_HAVE_BEEN_PLACED: &str = "GO Cards did not answer in time. The order may \
    have been placed; Next tries again with the same order, so nothing is ordered twice.";
/// What the operator reads on `409`.
pub const ORDER_CONFLICT: &str = "GO Cards already has an order with this reference.";

#[derive(Debug, thiserror::Error)]
pub enum OrderCardError {
    #[error("No user {0} exists.")]
    UnknownUser(i64),
    #[error("Order card is not enabled for users. Ask an admin to enable it on Settings › Users › User.")]
    NotEnabled,
    #[error("{0}")]
    Invalid(FieldError),
    #[error("{name} has no email address, and GO Cards needs one to order a card. Add it in the source system, then import the user again.")]
    NoEmail { name: String },
    #[error("{name} already has an open card order: {card_id}.")]
    AlreadyOpen { name: String, card_id: String },
    /// Another order for this user is pending, with other fields: only it can be sent.
    #[error("An order for this user placed by {by} is still pending: GO Cards did not answer it. Next sends that order again, as it was stored; close and open Order card to see it.")]
    PendingDiffers { stored_at: i64, by: String },
    /// The reply was lost: the pending order stays, and Next sends it again.
    #[error("{ORDER_MAY_HAVE_BEEN_PLACED}")]
    MayHaveBeenPlaced(GoCardsError),
    /// GO Cards refused for certain (400, 403, 409): the pending order was dropped.
    #[error("{}", refusal_message(.0))]
    Refused(GoCardsError),
    /// Any other answer (401 after the refresh, 404, 429): the pending order stays.
    #[error("{}", kept_message(.0))]
    GoCards(GoCardsError),
    #[error("GO Cards answered with a card id that is not one: {0}.")]
    BadCardId(String),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

fn refusal_message(err: &GoCardsError) -> String {
    match err {
        GoCardsError::Conflict => ORDER_CONFLICT.to_owned(),
        GoCardsError::Forbidden => "GO Cards refused access for this organisation. Nothing was \
             ordered; ask an admin to check the GO Cards connection."
            .to_owned(),
        _ => "GO Cards refused the order as invalid. Nothing was ordered; check the article \
              and the address, then try again."
            .to_owned(),
    }
}

fn kept_message(err: &GoCardsError) -> String {
    match err {
        GoCardsError::RateLimited { .. } => format!(
            "{} The order is kept, so nothing is ordered twice.",
            err.user_message()
        ),
        GoCardsError::NotFound => "GO Cards answered 404 to the order. Nothing was created; \
             ask an admin to check the GO Cards connection."
            .to_owned(),
        other => other.user_message(),
    }
}

/// Whether GO Cards refused the order for certain, so that no order exists to reuse.
/// (Only 400, 403 and 409: any other 4xx may come from a proxy, with the order placed.)
fn is_definite_refusal(err: &GoCardsError) -> bool {
    matches!(
        err,
        GoCardsError::BadRequest | GoCardsError::Forbidden | GoCardsError::Conflict
    )
}

/// Whether the order may have been placed although no reply was read.
fn may_have_been_placed(err: &GoCardsError) -> bool {
    matches!(
        err,
        GoCardsError::Timeout
            | GoCardsError::ServerError { .. }
            | GoCardsError::Unreachable
            | GoCardsError::Malformed
            | GoCardsError::Oversized
    )
}

/// The result the operator sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderReport {
    pub card_id: CardId,
    pub message: String,
    /// The order sent was a pending one from an earlier try, with its fields and key.
    pub retried: bool,
}

/// A fresh reference for GO Cards' `externalReference`: `OR-` and 16 hex digits.
fn new_reference() -> String {
    format!("OR-{}", hex_upper(&rand::random::<[u8; 8]>()))
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn request_of(pending: &PendingOrder, holder: &OrderHolder) -> OrderRequest {
    let form = &pending.form;
    OrderRequest {
        external_reference: pending.external_reference.clone(),
        article_id: form.article_id.clone(),
        card_holder_email: holder.email.clone(),
        card_elements: BTreeMap::from([
            ("FIRST_NAME".to_owned(), holder.first_name.clone()),
            ("LAST_NAME".to_owned(), holder.last_name.clone()),
        ]),
        delivery_address: DeliveryAddress {
            recipient: form.recipient.clone(),
            address_one: form.address_one.clone(),
            postal_code: form.postal_code.clone(),
            city: form.city.clone(),
            country_code: form.country_code.clone(),
        },
    }
}

/// Runs the process for the user `holder_id`, re-checking everything on the server.
#[tracing::instrument(skip(db, gocards, form))]
pub async fn order_card(
    db: &Db,
    gocards: &GoCardsClient,
    holder_id: i64,
    form: &OrderForm,
    actor: &str,
) -> Result<OrderReport, OrderCardError> {
    let holder = db
        .order_holder(holder_id)
        .await?
        .ok_or(OrderCardError::UnknownUser(holder_id))?;
    if !db
        .is_command_enabled(CommandList::User, Process::OrderCard)
        .await?
    {
        return Err(OrderCardError::NotEnabled);
    }
    let form = form.validated().map_err(OrderCardError::Invalid)?;
    if holder.email.trim().is_empty() {
        return Err(OrderCardError::NoEmail {
            name: holder.name(),
        });
    }
    let fresh = PendingOrder {
        holder_id,
        idempotency_key: uuid::Uuid::new_v4(),
        external_reference: new_reference(),
        form,
        created_at: now_ms(),
        created_by: actor.to_owned(),
        attempts: 0,
    };
    let pending = match db.start_order(&fresh).await? {
        OrderStart::Pending(pending) => *pending,
        OrderStart::OpenOrder(card_id) => {
            return Err(OrderCardError::AlreadyOpen {
                name: holder.name(),
                card_id,
            })
        }
        OrderStart::UnknownHolder => return Err(OrderCardError::UnknownUser(holder_id)),
    };
    let retried = pending.idempotency_key != fresh.idempotency_key;
    // A pending order is sent as it was stored, so that GO Cards can recognise it. Other
    // fields would be silently ignored: refuse them, and show the stored ones.
    if retried && pending.form != fresh.form {
        return Err(OrderCardError::PendingDiffers {
            stored_at: pending.created_at,
            by: pending.created_by.clone(),
        });
    }
    let request = request_of(&pending, &holder);

    match gocards.order_card(&request, pending.idempotency_key).await {
        Ok(reply) => {
            let Some(card) = reply.cards.first() else {
                return Err(lost(db, actor, &holder, &pending, GoCardsError::Malformed).await);
            };
            let card_id = CardId::parse(&card.card_id)
                .map_err(|_| OrderCardError::BadCardId(card.card_id.chars().take(40).collect()))?;
            let detail = format!("Card ordered (order {})", pending.external_reference);
            let completion = db
                .complete_order(&pending, &holder, card_id.as_str(), &detail, actor)
                .await?;
            tracing::info!(
                card_id = %card_id,
                order_id = %reply.order_id,
                reference = %pending.external_reference,
                retried,
                already = completion == OrderCompletion::AlreadyCreated,
                "card ordered"
            );
            Ok(OrderReport {
                message: format!("Card ordered: {card_id} is Ordered"),
                card_id,
                retried,
            })
        }
        Err(err) if is_definite_refusal(&err) => {
            db.drop_pending_order(pending.idempotency_key).await?;
            let error = OrderCardError::Refused(err);
            audit_failure(
                db,
                actor,
                &holder,
                &pending,
                &error,
                "the pending order is dropped",
            )
            .await?;
            Err(error)
        }
        Err(err) if may_have_been_placed(&err) => {
            Err(lost(db, actor, &holder, &pending, err).await)
        }
        Err(err) => {
            let error = OrderCardError::GoCards(err);
            audit_failure(
                db,
                actor,
                &holder,
                &pending,
                &error,
                "the pending order is kept",
            )
            .await?;
            Err(error)
        }
    }
}

/// The reply was lost: the pending order stays for the next try.
async fn lost(
    db: &Db,
    actor: &str,
    holder: &OrderHolder,
    pending: &PendingOrder,
    err: GoCardsError,
) -> OrderCardError {
    tracing::warn!(error = ?err, reference = %pending.external_reference, "GO Cards order reply lost");
    let error = OrderCardError::MayHaveBeenPlaced(err);
    match audit_failure(
        db,
        actor,
        holder,
        pending,
        &error,
        "the pending order is kept",
    )
    .await
    {
        Ok(()) => error,
        Err(storage) => OrderCardError::Storage(storage),
    }
}

async fn audit_failure(
    db: &Db,
    actor: &str,
    holder: &OrderHolder,
    pending: &PendingOrder,
    error: &OrderCardError,
    then: &str,
) -> Result<(), sqlx::Error> {
    let cause = match error {
        OrderCardError::MayHaveBeenPlaced(err)
        | OrderCardError::Refused(err)
        | OrderCardError::GoCards(err) => err.to_string(),
        other => other.to_string(),
    };
    let detail = format!(
        "user {} ({}), order {}: {cause}; {then}",
        holder.id,
        holder.name(),
        pending.external_reference
    );
    db.record_audit(AuditRecord {
        actor,
        action: "order card failed",
        detail: &detail,
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_400_403_and_409_drop_the_pending_order() {
        assert!(is_definite_refusal(&GoCardsError::BadRequest));
        assert!(is_definite_refusal(&GoCardsError::Forbidden));
        assert!(is_definite_refusal(&GoCardsError::Conflict));
        // A proxy's 413 or 422 says nothing of the order, which may have been placed.
        for status in [405, 413, 415, 422, 451] {
            assert!(
                !is_definite_refusal(&GoCardsError::ClientError { status }),
                "{status}"
            );
        }
        for kept in [
            GoCardsError::Unauthorized,
            GoCardsError::NotFound,
            GoCardsError::Timeout,
            GoCardsError::Unreachable,
            GoCardsError::ServerError { status: 502 },
            GoCardsError::Malformed,
        ] {
            assert!(!is_definite_refusal(&kept), "{kept:?}");
        }
        assert!(may_have_been_placed(&GoCardsError::Timeout));
        assert!(may_have_been_placed(&GoCardsError::ServerError {
            status: 500
        }));
    }
}
