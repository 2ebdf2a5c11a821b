//! Order card's storage: the pending order (stored before GO Cards is asked, so a lost reply
//! is retried with the same key) and the card it becomes.
//!
//! Both writes first take the holder's row lock (`UPDATE card_holders … WHERE id = $1`,
//! a no-op update): on PostgreSQL it serialises the writers of one holder, so "no open
//! order" is checked against what the other one committed; on SQLite a write first is what
//! makes the transaction a writer from its start.

use sqlx::FromRow;

use super::history::{insert_history, NewHistory};
use super::{
    card_event, now_ms, on_pool, rows_affected, CardChange, Db, NotifyInTx, CARD_CHANGE_COLUMNS,
};
use desk_core::domain::{CardState, OrderForm};
use desk_core::model::{search_key, HistoryKind, HistorySource};

/// The person a card is ordered for.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct OrderHolder {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_id: String,
}

impl OrderHolder {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// An order stored before GO Cards was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingOrder {
    pub holder_id: i64,
    pub idempotency_key: uuid::Uuid,
    pub external_reference: String,
    pub form: OrderForm,
    pub created_at: i64,
    pub created_by: String,
    pub attempts: i64,
}

#[derive(FromRow)]
struct PendingRow {
    holder_id: i64,
    idempotency_key: String,
    external_reference: String,
    article_id: String,
    recipient: String,
    address_one: String,
    postal_code: String,
    city: String,
    country_code: String,
    created_at: i64,
    created_by: String,
    attempts: i64,
}

impl PendingRow {
    fn into_pending(self) -> Result<PendingOrder, sqlx::Error> {
        let idempotency_key = uuid::Uuid::parse_str(&self.idempotency_key)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok(PendingOrder {
            holder_id: self.holder_id,
            idempotency_key,
            external_reference: self.external_reference,
            form: OrderForm {
                article_id: self.article_id,
                recipient: self.recipient,
                address_one: self.address_one,
                postal_code: self.postal_code,
                city: self.city,
                country_code: self.country_code,
            },
            created_at: self.created_at,
            created_by: self.created_by,
            attempts: self.attempts,
        })
    }
}

const PENDING_COLUMNS: &str = "holder_id, idempotency_key, external_reference, article_id, \
    recipient, address_one, postal_code, city, country_code, created_at, created_by, attempts";
const LOCK_HOLDER: &str = "UPDATE card_holders SET first_name = first_name WHERE id = $1";
const OPEN_CARD: &str = "SELECT card_id FROM cards WHERE holder_id = $1 \
    AND state IN ('ordered', 'in_production') ORDER BY card_id LIMIT 1";

/// What starting an order found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderStart {
    /// The order to send: the new one, or the pending one from before (with its key).
    Pending(Box<PendingOrder>),
    /// The user already has an open order: this card.
    OpenOrder(String),
    /// No such user.
    UnknownHolder,
}

/// What storing GO Cards' answer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderCompletion {
    /// The card was created, with its history row, and the pending order dropped.
    Created,
    /// The card was there already: another try of the same order created it.
    AlreadyCreated,
}

impl Db {
    pub async fn order_holder(&self, holder_id: i64) -> Result<Option<OrderHolder>, sqlx::Error> {
        let sql = "SELECT id, first_name, last_name, email, employee_id FROM card_holders \
                   WHERE id = $1";
        on_pool!(self, pool => sqlx::query_as::<_, OrderHolder>(sql)
            .bind(holder_id)
            .fetch_optional(pool)
            .await)
    }

    /// The user who holds `card_id`.
    pub async fn holder_of_card(&self, card_id: &str) -> Result<Option<i64>, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, i64>(
            "SELECT holder_id FROM cards WHERE card_id = $1"
        )
        .bind(card_id)
        .fetch_optional(pool)
        .await)
    }

    /// The cards `holder_id` holds, by card id.
    pub async fn cards_of_holder(&self, holder_id: i64) -> Result<Vec<String>, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, String>(
            "SELECT card_id FROM cards WHERE holder_id = $1 ORDER BY card_id"
        )
        .bind(holder_id)
        .fetch_all(pool)
        .await)
    }

    /// The holder's open order (Ordered or In production), if any.
    pub async fn open_card_of_holder(&self, holder_id: i64) -> Result<Option<String>, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, String>(OPEN_CARD)
            .bind(holder_id)
            .fetch_optional(pool)
            .await)
    }

    pub async fn pending_order(&self, holder_id: i64) -> Result<Option<PendingOrder>, sqlx::Error> {
        let sql = format!("SELECT {PENDING_COLUMNS} FROM pending_orders WHERE holder_id = $1");
        let row = on_pool!(self, pool => sqlx::query_as::<_, PendingRow>(&sql)
            .bind(holder_id)
            .fetch_optional(pool)
            .await)?;
        row.map(PendingRow::into_pending).transpose()
    }

    /// In one transaction, under the holder's lock: refuses when the holder has an open
    /// order; otherwise returns the pending order, storing `fresh` when there is none, and
    /// counts the call to GO Cards about to be made for it.
    pub async fn start_order(&self, fresh: &PendingOrder) -> Result<OrderStart, sqlx::Error> {
        let select = format!("SELECT {PENDING_COLUMNS} FROM pending_orders WHERE holder_id = $1");
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let locked = sqlx::query(LOCK_HOLDER)
                .bind(fresh.holder_id)
                .execute(&mut *tx)
                .await?;
            if locked.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(OrderStart::UnknownHolder);
            }
            let open: Option<String> = sqlx::query_scalar(OPEN_CARD)
                .bind(fresh.holder_id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(card_id) = open {
                tx.rollback().await?;
                return Ok(OrderStart::OpenOrder(card_id));
            }
            let existing: Option<PendingRow> = sqlx::query_as(&select)
                .bind(fresh.holder_id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = existing {
                let mut pending = row.into_pending()?;
                // This try is one more call to GO Cards for it, unless its fields differ
                // (then the caller refuses, and GO Cards is not asked).
                if pending.form == fresh.form {
                    sqlx::query("UPDATE pending_orders SET attempts = attempts + 1 WHERE holder_id = $1")
                        .bind(fresh.holder_id)
                        .execute(&mut *tx)
                        .await?;
                    pending.attempts += 1;
                }
                tx.commit().await?;
                return Ok(OrderStart::Pending(Box::new(pending)));
            }
            let form = &fresh.form;
            sqlx::query(
                "INSERT INTO pending_orders (holder_id, idempotency_key, external_reference, \
                 article_id, recipient, address_one, postal_code, city, country_code, created_at, \
                 created_by, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1)",
            )
            .bind(fresh.holder_id)
            .bind(fresh.idempotency_key.to_string())
            .bind(&fresh.external_reference)
            .bind(&form.article_id)
            .bind(&form.recipient)
            .bind(&form.address_one)
            .bind(&form.postal_code)
            .bind(&form.city)
            .bind(&form.country_code)
            .bind(fresh.created_at)
            .bind(&fresh.created_by)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(OrderStart::Pending(Box::new(PendingOrder {
                attempts: 1,
                ..fresh.clone()
            })))
        })
    }

    /// Drops the pending order after GO Cards refused it for certain.
    pub async fn drop_pending_order(&self, key: uuid::Uuid) -> Result<bool, sqlx::Error> {
        rows_affected!(
            self,
            sqlx::query("DELETE FROM pending_orders WHERE idempotency_key = $1")
                .bind(key.to_string())
        )
        .map(|n| n > 0)
    }

    /// Stores GO Cards' `201`: the card, Ordered, with its one history row, and the pending
    /// order dropped, in one transaction under the holder's lock. A card that exists
    /// already (another try of the same order got there first) is left as it is.
    pub async fn complete_order(
        &self,
        pending: &PendingOrder,
        holder: &OrderHolder,
        card_id: &str,
        detail: &str,
        actor: &str,
    ) -> Result<OrderCompletion, sqlx::Error> {
        let now = now_ms();
        let event = NewHistory {
            kind: HistoryKind::Changed,
            source: HistorySource::Manual,
            actor: Some(actor),
            from_state: CardState::Registered,
            to_state: CardState::Ordered,
            gocards_status: Some("ORDERED"),
            detail: Some(detail),
        };
        let key = pending.idempotency_key.to_string();
        let insert = format!(
            "INSERT INTO cards (card_id, holder_id, state, ordered_at, last_checked_at, \
             version, gocards_status, updated_at, first_name_key, last_name_key, \
             email_key, employee_id_key) \
             VALUES ($1, $2, 'ordered', $3, $3, 1, 'ORDERED', $3, $4, $5, $6, $7) \
             RETURNING {CARD_CHANGE_COLUMNS}"
        );
        let (completion, live) = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(LOCK_HOLDER)
                .bind(holder.id)
                .execute(&mut *tx)
                .await?;
            let exists: Option<String> = sqlx::query_scalar("SELECT card_id FROM cards WHERE card_id = $1")
                .bind(card_id)
                .fetch_optional(&mut *tx)
                .await?;
            let mut live = Vec::new();
            let completion = if exists.is_some() {
                OrderCompletion::AlreadyCreated
            } else {
                let created: CardChange = sqlx::query_as(&insert)
                    .bind(card_id)
                    .bind(holder.id)
                    .bind(now)
                    .bind(search_key(&holder.first_name))
                    .bind(search_key(&holder.last_name))
                    .bind(search_key(&holder.email))
                    .bind(search_key(&holder.employee_id))
                    .fetch_one(&mut *tx)
                    .await?;
                live.extend(card_event(created));
                tx.notify_events(&live).await?;
                insert_history!(&mut *tx, card_id, now, event).await?;
                OrderCompletion::Created
            };
            sqlx::query("DELETE FROM pending_orders WHERE idempotency_key = $1")
                .bind(&key)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            (completion, live)
        });
        self.after_commit(live);
        Ok(completion)
    }
}
