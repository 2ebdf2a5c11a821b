//! The shapes on the wire, as gocards-api.md writes them (camelCase JSON).

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use desk_core::domain::text::clean_text;
use desk_core::domain::{CardId, CardIdError, GoCardsStatus};

/// A card as GO Cards reports it (`GET /api/card/{cardId}`, listing items, webhook `data`).
///
/// Only `cardId` and `status` are required; every other field falls back to empty or `None`
/// when missing or `null`, so that one sparse card does not make a whole page unreadable.
/// Unknown fields are ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardInfo {
    /// Kept as the raw string GO Cards sent; see [`CardInfo::parsed_card_id`].
    pub card_id: String,
    #[serde(default, deserialize_with = "clean_or_default")]
    pub article_id: String,
    #[serde(default, deserialize_with = "clean_or_default")]
    pub card_holder_email: String,
    #[serde(default, deserialize_with = "clean_elements")]
    pub card_elements: BTreeMap<String, String>,
    pub status: GoCardsStatus,
    #[serde(default, deserialize_with = "clean_optional")]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub ordered: Option<DateTime<Utc>>,
    #[serde(default)]
    pub produced: Option<DateTime<Utc>>,
    #[serde(default)]
    pub delivered: Option<DateTime<Utc>>,
    #[serde(default)]
    pub activated: Option<DateTime<Utc>>,
    /// Millisecond precision; the listing orders by `(updated, cardId)`.
    #[serde(default)]
    pub updated: Option<DateTime<Utc>>,
}

impl CardInfo {
    /// The card id as the domain type; fails for an id that does not follow the GO Cards format.
    pub fn parsed_card_id(&self) -> Result<CardId, CardIdError> {
        CardId::parse(&self.card_id)
    }
}

/// A keyset position in the changed-cards listing. `Default` starts from the beginning.
///
/// It is also the sync's watermark, so it serialises (camelCase, like the wire `next`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListCursor {
    #[serde(default)]
    pub updated_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub after_card_id: Option<String>,
}

impl ListCursor {
    /// The cursor just after `card`, as GO Cards builds `next` (the page's last item).
    pub fn after(card: &CardInfo) -> ListCursor {
        ListCursor {
            updated_since: card.updated,
            after_card_id: Some(card.card_id.clone()),
        }
    }
}

/// One page of `GET /api/cards`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedCardsPage {
    pub items: Vec<CardInfo>,
    /// The cursor of the last item, or `None` when no more items exist.
    #[serde(default)]
    pub next: Option<ListCursor>,
}

/// The body of `POST /api/order`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRequest {
    /// Our order id.
    pub external_reference: String,
    pub article_id: String,
    pub card_holder_email: String,
    #[serde(default)]
    pub card_elements: BTreeMap<String, String>,
    pub delivery_address: DeliveryAddress,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAddress {
    pub recipient: String,
    pub address_one: String,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166-1 alpha-2, such as `SE`.
    pub country_code: String,
}

/// The `201` reply of `POST /api/order`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderReply {
    pub order_id: String,
    pub cards: Vec<OrderedCard>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCard {
    pub card_id: String,
    pub status: GoCardsStatus,
}

impl OrderReply {
    /// Whether the reply can be used: at least one card, every card id in the GO Cards format.
    pub fn is_usable(&self) -> bool {
        !self.cards.is_empty()
            && self
                .cards
                .iter()
                .all(|card| CardId::parse(&card.card_id).is_ok())
    }
}

/// One article of `GET /api/articles`: what the organisation may order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Article {
    #[serde(deserialize_with = "clean_required")]
    pub article_id: String,
    #[serde(default, deserialize_with = "clean_or_default")]
    pub name: String,
}

/// The `200` reply of `GET /api/articles`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleList {
    pub items: Vec<Article>,
}

/// What `POST /api/card/{cardId}/cancel` did.
#[derive(Clone, Debug, PartialEq)]
pub enum CancelReply {
    /// `200`: the card is cancelled now (or was already); its CardInfo as GO Cards sent it.
    Cancelled(CardInfo),
    /// `409` with the card's current status: it is past cancelling (produced, shipped,
    /// delivered or failed).
    TooLate { status: GoCardsStatus },
}

/// The longest text field kept from GO Cards; the rest is cut off.
pub const MAX_TEXT_CHARS: usize = 1_000;

fn clean(raw: String) -> String {
    match clean_text(&raw, MAX_TEXT_CHARS) {
        Cow::Borrowed(_) => raw,
        Cow::Owned(cleaned) => cleaned,
    }
}

/// A text field, `null` read as empty, control characters replaced (see `desk_core::domain::text`).
fn clean_or_default<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(clean(
        Option::<String>::deserialize(deserializer)?.unwrap_or_default(),
    ))
}

/// A required text field, control characters replaced.
fn clean_required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(clean(String::deserialize(deserializer)?))
}

fn clean_optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.map(clean))
}

fn clean_elements<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(
        Option::<BTreeMap<String, String>>::deserialize(deserializer)?
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (clean(name), clean(value)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_EXAMPLE: &str = r#"{
      "cardId": "CA2202040404-5GG3F4C8",
      "articleId": "KSK-K11686X",
      "cardHolderEmail": "anna.berg@example.org",
      "cardElements": {"FIRST_NAME": "Anna", "LAST_NAME": "Berg"},
      "status": "IN_PRODUCTION",
      "failureReason": null,
      "ordered": "2026-11-20T09:12:00Z",
      "produced": null,
      "delivered": null,
      "activated": null,
      "updated": "2026-11-21T07:00:03Z"
    }"#;

    #[test]
    fn reads_the_contract_example() {
        let card: Result<CardInfo, _> = serde_json::from_str(DOC_EXAMPLE);
        let Ok(card) = card else {
            panic!("example not read: {card:?}");
        };
        assert_eq!(card.card_id, "CA2202040404-5GG3F4C8");
        assert_eq!(card.status, GoCardsStatus::InProduction);
        assert_eq!(
            card.card_elements.get("LAST_NAME").map(String::as_str),
            Some("Berg")
        );
        assert_eq!(
            card.updated.map(|t| t.to_rfc3339()),
            Some("2026-11-21T07:00:03+00:00".to_owned())
        );
        assert!(card.parsed_card_id().is_ok());
    }

    #[test]
    fn writes_camel_case_with_nulls() {
        let card: CardInfo = serde_json::from_str(DOC_EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_value(&card).unwrap_or_default();
        assert_eq!(json["cardHolderEmail"], "anna.berg@example.org");
        assert_eq!(json["status"], "IN_PRODUCTION");
        assert!(json["failureReason"].is_null());
        assert_eq!(json["updated"], "2026-11-21T07:00:03Z");
    }

    #[test]
    fn control_characters_from_go_cards_are_replaced() {
        let card: Result<CardInfo, _> = serde_json::from_str(
            r#"{"cardId":"X","status":"HOLD\u0000","failureReason":"bad\u0000chip","cardHolderEmail":"a\u0000@b","cardElements":{"n\u0000":"v\u0001"}}"#,
        );
        let Ok(card) = card else {
            panic!("unreadable: {card:?}");
        };
        assert_eq!(card.status.as_str(), "HOLD\u{FFFD}");
        assert_eq!(card.failure_reason.as_deref(), Some("bad\u{FFFD}chip"));
        assert_eq!(card.card_holder_email, "a\u{FFFD}@b");
        assert_eq!(
            card.card_elements.get("n\u{FFFD}").map(String::as_str),
            Some("v\u{FFFD}")
        );
    }

    #[test]
    fn articles_are_read_and_cleaned() {
        let list: Result<ArticleList, _> = serde_json::from_str(
            r#"{"items":[{"articleId":"KSK-K11686X","name":"Employee\u0000card"},{"articleId":"B"}]}"#,
        );
        let Ok(list) = list else {
            panic!("unreadable: {list:?}");
        };
        assert_eq!(list.items[0].article_id, "KSK-K11686X");
        assert_eq!(list.items[0].name, "Employee\u{FFFD}card");
        assert_eq!(list.items[1].name, "");
        assert!(serde_json::from_str::<ArticleList>(r#"{"items":[{"name":"x"}]}"#).is_err());
        let json = serde_json::to_value(&list.items[0]).unwrap_or_default();
        assert_eq!(json["articleId"], "KSK-K11686X");
    }

    #[test]
    fn an_order_reply_needs_cards_with_valid_ids() {
        let reply = |ids: &[&str]| OrderReply {
            order_id: "ORD-1".to_owned(),
            cards: ids
                .iter()
                .map(|id| OrderedCard {
                    card_id: (*id).to_owned(),
                    status: GoCardsStatus::Ordered,
                })
                .collect(),
        };
        assert!(reply(&["CA2202040404-5GG3F4C8"]).is_usable());
        assert!(!reply(&[]).is_usable());
        assert!(!reply(&["CA2202040404-5GG3F4C8", "nope"]).is_usable());
    }

    #[test]
    fn sparse_cards_are_read_and_status_is_required() {
        let sparse: Result<CardInfo, _> =
            serde_json::from_str(r#"{"cardId":"X","status":"QUALITY_HOLD","cardElements":null}"#);
        assert!(
            matches!(sparse, Ok(ref c) if c.status == GoCardsStatus::Unrecognised("QUALITY_HOLD".into()))
        );
        assert!(serde_json::from_str::<CardInfo>(r#"{"cardId":"X"}"#).is_err());
        assert!(serde_json::from_str::<CardInfo>(
            r#"{"cardId":"X","status":"ORDERED","updated":"yesterday"}"#
        )
        .is_err());
    }
}
