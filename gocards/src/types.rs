//! The shapes on the wire, as gocards-api.md writes them (camelCase JSON).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

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
    #[serde(default, deserialize_with = "null_as_default")]
    pub article_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub card_holder_email: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub card_elements: BTreeMap<String, String>,
    pub status: GoCardsStatus,
    #[serde(default)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// Reads `null` as the type's default, the way a missing field is read.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
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
