//! `POST /api/order` bookkeeping: replies by `Idempotency-Key`, orders by external
//! reference, and the body's checks.

use std::collections::{BTreeMap, HashMap};

use gocards::{DeliveryAddress, OrderReply, OrderRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::articles;

/// One order received, as `GET /sim/orders` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimOrder {
    pub idempotency_key: String,
    pub external_reference: String,
    pub order_id: String,
    pub card_ids: Vec<String>,
}

#[derive(Default)]
pub(crate) struct OrderBook {
    by_key: HashMap<String, OrderReply>,
    by_reference: HashMap<String, String>,
    /// Every distinct order, in the order received.
    received: Vec<SimOrder>,
}

impl OrderBook {
    /// The first reply for this key, if the key was used before (whatever the body now).
    pub fn replay(&self, key: &str) -> Option<OrderReply> {
        self.by_key.get(key).cloned()
    }

    /// The order id of an earlier order for this external reference.
    pub fn ordered_as(&self, external_reference: &str) -> Option<&str> {
        self.by_reference
            .get(external_reference)
            .map(String::as_str)
    }

    pub fn record(&mut self, key: String, request: &OrderRequest, reply: OrderReply) {
        self.by_reference
            .insert(request.external_reference.clone(), reply.order_id.clone());
        self.received.push(SimOrder {
            idempotency_key: key.clone(),
            external_reference: request.external_reference.clone(),
            order_id: reply.order_id.clone(),
            card_ids: reply
                .cards
                .iter()
                .map(|card| card.card_id.clone())
                .collect(),
        });
        self.by_key.insert(key, reply);
    }

    pub fn received(&self) -> Vec<SimOrder> {
        self.received.clone()
    }
}

/// Reads an order body field by field, so that a missing field is a `400` with its name
/// (gocards-api.md, "Order a card"), not a parse error.
pub(crate) fn read_order(body: &[u8]) -> Result<OrderRequest, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| format!("the body is not JSON: {error}"))?;
    let Value::Object(order) = value else {
        return Err("the body must be a JSON object".to_owned());
    };
    let external_reference = text(&order, "externalReference", "externalReference")?;
    let article_id = text(&order, "articleId", "articleId")?;
    if !articles::is_known(&article_id) {
        return Err(format!(
            "articleId {article_id} is not an article this organisation may order"
        ));
    }
    let card_holder_email = text(&order, "cardHolderEmail", "cardHolderEmail")?;
    let card_elements = match order.get("cardElements") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(elements)) => elements
            .iter()
            .map(|(name, value)| match value {
                Value::String(text) => Ok((name.clone(), text.clone())),
                _ => Err(format!("cardElements.{name} must be a string")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("cardElements must be an object of strings".to_owned()),
    };
    let address = match order.get("deliveryAddress") {
        Some(Value::Object(address)) => address,
        None | Some(Value::Null) => return Err("deliveryAddress is required".to_owned()),
        Some(_) => return Err("deliveryAddress must be an object".to_owned()),
    };
    let delivery_address = DeliveryAddress {
        recipient: text(address, "recipient", "deliveryAddress.recipient")?,
        address_one: text(address, "addressOne", "deliveryAddress.addressOne")?,
        postal_code: text(address, "postalCode", "deliveryAddress.postalCode")?,
        city: text(address, "city", "deliveryAddress.city")?,
        country_code: text(address, "countryCode", "deliveryAddress.countryCode")?,
    };
    let country = delivery_address.country_code.as_bytes();
    if country.len() != 2 || !country.iter().all(u8::is_ascii_uppercase) {
        return Err(format!(
            "deliveryAddress.countryCode must be two capital letters, such as SE (got {:?})",
            delivery_address.country_code
        ));
    }
    Ok(OrderRequest {
        external_reference,
        article_id,
        card_holder_email,
        card_elements,
        delivery_address,
    })
}

/// A required, non-empty string field.
fn text(object: &Map<String, Value>, field: &str, label: &str) -> Result<String, String> {
    match object.get(field) {
        None | Some(Value::Null) => Err(format!("{label} is required")),
        Some(Value::String(text)) if text.trim().is_empty() => {
            Err(format!("{label} must not be empty"))
        }
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(format!("{label} must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({"externalReference": "ORDER-1", "articleId": "KSK-K11686X",
            "cardHolderEmail": "anna@example.org", "cardElements": {"FIRST_NAME": "Anna"},
            "deliveryAddress": {"recipient": "Anna", "addressOne": "Storgatan 1",
                "postalCode": "111 22", "city": "Stockholm", "countryCode": "SE"}})
    }

    fn read(value: &Value) -> Result<OrderRequest, String> {
        read_order(value.to_string().as_bytes())
    }

    #[test]
    fn a_valid_order_is_read() {
        let order = read(&valid());
        assert_eq!(
            order.map(|o| o.delivery_address.country_code),
            Ok("SE".to_owned())
        );
        let mut no_elements = valid();
        no_elements["cardElements"] = Value::Null;
        assert!(read(&no_elements).is_ok());
    }

    #[test]
    fn refusals_name_the_field() {
        type Change<'a> = &'a dyn Fn(&mut Value);
        let cases: [(Change, &str); 6] = [
            (&|o| o["articleId"] = json!("NOPE"), "articleId NOPE"),
            (&|o| o["cardHolderEmail"] = json!(" "), "cardHolderEmail"),
            (
                &|o| o["deliveryAddress"]["countryCode"] = json!("se"),
                "countryCode",
            ),
            (
                &|o| o["deliveryAddress"]["countryCode"] = json!("SWE"),
                "countryCode",
            ),
            (&|o| o["cardElements"] = json!({"A": 1}), "cardElements.A"),
            (
                &|o| o["deliveryAddress"] = json!("Storgatan"),
                "deliveryAddress",
            ),
        ];
        for (change, named) in cases {
            let mut order = valid();
            change(&mut order);
            let refused = read(&order);
            assert!(
                refused.as_ref().is_err_and(|why| why.contains(named)),
                "{named}: {refused:?}"
            );
        }
        assert!(read_order(b"[]").is_err());
        assert!(read_order(b"{").is_err());
    }
}
