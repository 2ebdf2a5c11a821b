//! Order card's and Abort card order's types on the wire.

use serde::{Deserialize, Serialize};

use crate::domain::{CardState, OrderForm};

/// An article GO Cards offers, as the "Article" select lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleOption {
    pub article_id: String,
    pub name: String,
}

/// An order stored earlier whose reply was lost: Next sends it again, with its key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOrderView {
    /// RFC 3339, UTC.
    pub created_at: String,
    pub created_by: String,
    pub form: OrderForm,
    /// How many times GO Cards was asked so far.
    pub attempts: i64,
}

/// What Order card's dialog opens with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderOptions {
    pub articles: Vec<ArticleOption>,
    /// Why there are no articles: GO Cards could not be asked. Next stays disabled.
    pub articles_error: Option<String>,
    /// `ORDER_DEFAULT_COUNTRY`.
    pub default_country: String,
    pub pending: Option<PendingOrderView>,
}

/// What Next in Order card reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCardResult {
    pub card_id: String,
    pub message: String,
    /// The order sent was the pending one from an earlier try.
    pub retried: bool,
}

/// What Next in Abort card order reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortCardOrderResult {
    pub message: String,
    pub state: CardState,
}
