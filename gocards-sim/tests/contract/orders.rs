//! `POST /api/order` and its `Idempotency-Key`.

use std::collections::BTreeMap;

use desk_core::domain::GoCardsStatus;
use gocards::{DeliveryAddress, GoCardsError, OrderRequest};
use testkit::gocards as support;
use testkit::gocards::start_sim;

pub(super) fn order(reference: &str) -> OrderRequest {
    let mut elements = BTreeMap::new();
    elements.insert("FIRST_NAME".to_owned(), "Anna".to_owned());
    elements.insert("LAST_NAME".to_owned(), "Berg".to_owned());
    OrderRequest {
        external_reference: reference.to_owned(),
        article_id: "KSK-K11686X".to_owned(),
        card_holder_email: "anna.berg@example.org".to_owned(),
        card_elements: elements,
        delivery_address: DeliveryAddress {
            recipient: "Anna Berg".to_owned(),
            address_one: "Storgatan 1".to_owned(),
            postal_code: "111 22".to_owned(),
            city: "Stockholm".to_owned(),
            country_code: "SE".to_owned(),
        },
    }
}

#[tokio::test]
async fn order_with_the_same_key_returns_the_first_reply() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let client = t.client()?;
    let key = uuid::Uuid::new_v4();
    let first = client.order_card(&order("ORDER-1"), key).await?;
    let again = client.order_card(&order("ORDER-1"), key).await?;
    assert_eq!(first, again);
    assert_eq!(t.sim.card_count(), 1, "one card for two requests");
    let [ordered] = first.cards.as_slice() else {
        anyhow::bail!("expected one card, got {:?}", first.cards);
    };
    assert_eq!(ordered.status, GoCardsStatus::Ordered);
    let card_id = desk_core::domain::CardId::parse(&ordered.card_id)?;
    let stored = client.card(&card_id).await?;
    assert_eq!(stored.status, GoCardsStatus::Ordered);
    assert_eq!(stored.card_holder_email, "anna.berg@example.org");
    assert!(stored.ordered.is_some());
    // The same key with another body is refused, not replayed.
    let other = client.order_card(&order("ORDER-2"), key).await;
    assert_eq!(other.err(), Some(GoCardsError::Conflict));

    // On the wire: 201, and the header is required.
    let token = t.raw_token().await?;
    let reply = t
        .http
        .post(t.url("/api/order"))
        .bearer_auth(&token)
        .header("X-Organisation-Id", support::ORGANISATION)
        .header("Idempotency-Key", key.to_string())
        .json(&order("ORDER-1"))
        .send()
        .await?;
    assert_eq!(reply.status().as_u16(), 201);
    let no_key = t
        .http
        .post(t.url("/api/order"))
        .bearer_auth(&token)
        .header("X-Organisation-Id", support::ORGANISATION)
        .json(&order("ORDER-3"))
        .send()
        .await?;
    assert_eq!(no_key.status().as_u16(), 400);
    Ok(())
}
