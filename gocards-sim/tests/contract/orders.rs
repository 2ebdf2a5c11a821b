//! `POST /api/order`: the reply, its `Idempotency-Key`, the body's checks, and a lost reply.

use std::time::Duration;

use desk_core::domain::{CardId, GoCardsStatus};
use gocards::{GoCardsError, OrderRequest};
use gocards_sim::{FaultMode, FaultSpec};
use serde_json::{json, Value};
use testkit::gocards::{order_request, start_sim};

pub(super) fn order(reference: &str) -> OrderRequest {
    order_request(reference)
}

/// Row 201: one ORDERED card, which `GET /api/card` then knows.
#[tokio::test]
async fn an_order_is_created_and_its_card_exists() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let client = t.client()?;
    let key = uuid::Uuid::new_v4();
    let reply = client.order_card(&order("ORDER-1"), key).await?;
    let [ordered] = reply.cards.as_slice() else {
        anyhow::bail!("expected one card, got {:?}", reply.cards);
    };
    assert_eq!(ordered.status, GoCardsStatus::Ordered);
    let card_id = CardId::parse(&ordered.card_id)?;
    let stored = client.card(&card_id).await?;
    assert_eq!(stored.status, GoCardsStatus::Ordered);
    assert_eq!(stored.article_id, "KSK-K11686X");
    assert_eq!(stored.card_holder_email, "anna.berg@example.org");
    assert_eq!(
        stored.card_elements.get("LAST_NAME").map(String::as_str),
        Some("Berg")
    );
    assert!(stored.ordered.is_some());
    let orders = t.sim_orders().await?;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].idempotency_key, key.to_string());
    assert_eq!(orders[0].external_reference, "ORDER-1");
    assert_eq!(orders[0].order_id, reply.order_id);
    assert_eq!(orders[0].card_ids, vec![ordered.card_id.clone()]);
    assert_eq!(t.sim.orders(), orders, "the Rust accessor agrees");

    // On the wire: 201.
    let (status, body) = t
        .post_api(
            "/api/order",
            Some(&uuid::Uuid::new_v4().to_string()),
            &serde_json::to_value(order("ORDER-2"))?,
        )
        .await?;
    assert_eq!(status, 201);
    assert_eq!(body["cards"][0]["status"], "ORDERED");
    Ok(())
}

/// The same key returns the first reply, with 201, whatever the body; nothing is ordered again.
#[tokio::test]
async fn the_same_key_returns_the_first_reply_and_orders_nothing_more() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let client = t.client()?;
    let key = uuid::Uuid::new_v4();
    let first = client.order_card(&order("ORDER-1"), key).await?;
    let again = client.order_card(&order("ORDER-1"), key).await?;
    assert_eq!(first, again);
    let other_body = client.order_card(&order("ORDER-2"), key).await?;
    assert_eq!(first, other_body, "the key decides, not the body");
    let (status, body) = t
        .post_api("/api/order", Some(&key.to_string()), &json!({}))
        .await?;
    assert_eq!(status, 201);
    assert_eq!(body["orderId"], first.order_id.as_str());
    assert_eq!(t.sim.card_count(), 1, "one card for four requests");
    assert_eq!(t.sim_orders().await?.len(), 1);
    Ok(())
}

/// Row 400: each refusal the contract lists, and the missing key.
#[tokio::test]
async fn invalid_orders_are_bad_request() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let valid = serde_json::to_value(order("ORDER-1"))?;
    type Change = Box<dyn Fn(&mut Value)>;
    let remove = |field: &'static str| -> Change {
        Box::new(move |o: &mut Value| {
            if let Some(object) = o.as_object_mut() {
                object.remove(field);
            }
        })
    };
    let remove_address = |field: &'static str| -> Change {
        Box::new(move |o: &mut Value| {
            if let Some(object) = o["deliveryAddress"].as_object_mut() {
                object.remove(field);
            }
        })
    };
    let set = |pointer: &'static str, value: Value| -> Change {
        Box::new(move |o: &mut Value| {
            if let Some(slot) = o.pointer_mut(pointer) {
                *slot = value.clone();
            }
        })
    };
    let cases: Vec<(&str, Change)> = vec![
        ("articleId missing", remove("articleId")),
        ("articleId unknown", set("/articleId", json!("KSK-NOPE"))),
        ("articleId empty", set("/articleId", json!(""))),
        ("cardHolderEmail missing", remove("cardHolderEmail")),
        ("cardHolderEmail empty", set("/cardHolderEmail", json!(""))),
        ("deliveryAddress missing", remove("deliveryAddress")),
        ("recipient missing", remove_address("recipient")),
        (
            "recipient empty",
            set("/deliveryAddress/recipient", json!(" ")),
        ),
        ("addressOne missing", remove_address("addressOne")),
        (
            "addressOne empty",
            set("/deliveryAddress/addressOne", json!("")),
        ),
        ("postalCode missing", remove_address("postalCode")),
        (
            "postalCode empty",
            set("/deliveryAddress/postalCode", json!("")),
        ),
        ("city missing", remove_address("city")),
        ("city empty", set("/deliveryAddress/city", json!(""))),
        ("countryCode missing", remove_address("countryCode")),
        (
            "countryCode empty",
            set("/deliveryAddress/countryCode", json!("")),
        ),
        (
            "countryCode lower case",
            set("/deliveryAddress/countryCode", json!("se")),
        ),
        (
            "countryCode three letters",
            set("/deliveryAddress/countryCode", json!("SWE")),
        ),
        (
            "countryCode one letter",
            set("/deliveryAddress/countryCode", json!("S")),
        ),
        (
            "countryCode digits",
            set("/deliveryAddress/countryCode", json!("12")),
        ),
        (
            "body not an object",
            Box::new(|o: &mut Value| *o = json!([])),
        ),
    ];
    for (name, change) in cases {
        let mut body = valid.clone();
        change(&mut body);
        let key = uuid::Uuid::new_v4().to_string();
        let (status, reply) = t.post_api("/api/order", Some(&key), &body).await?;
        assert_eq!(status, 400, "{name}: {reply}");
        assert_eq!(reply["error"], "bad_request", "{name}");
    }
    let (status, _) = t.post_api("/api/order", None, &valid).await?;
    assert_eq!(status, 400, "no Idempotency-Key");
    assert!(t.sim_orders().await?.is_empty(), "nothing was ordered");
    assert_eq!(t.sim.card_count(), 0);

    // Through the client: BadRequest.
    let mut unknown = order("ORDER-9");
    unknown.article_id = "KSK-NOPE".to_owned();
    assert_eq!(
        t.client()?
            .order_card(&unknown, uuid::Uuid::new_v4())
            .await
            .err(),
        Some(GoCardsError::BadRequest)
    );
    Ok(())
}

/// Row 409: the same external reference under another key; nothing more is ordered.
#[tokio::test]
async fn the_same_reference_under_another_key_is_a_conflict() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let client = t.client()?;
    client
        .order_card(&order("ORDER-7"), uuid::Uuid::new_v4())
        .await?;
    let again = client
        .order_card(&order("ORDER-7"), uuid::Uuid::new_v4())
        .await;
    assert_eq!(again.err(), Some(GoCardsError::Conflict));
    let (status, body) = t
        .post_api(
            "/api/order",
            Some(&uuid::Uuid::new_v4().to_string()),
            &serde_json::to_value(order("ORDER-7"))?,
        )
        .await?;
    assert_eq!(status, 409);
    assert_eq!(body["error"], "conflict");
    assert_eq!(t.sim_orders().await?.len(), 1);
    Ok(())
}

/// A lost reply: the order is placed but its reply times out, once. Asking again with the
/// same key gets the same card, and nothing is ordered twice.
#[tokio::test]
async fn an_order_whose_reply_is_lost_is_placed_once() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let client = t.client_with(|c| c.timeout = Duration::from_millis(400))?;
    t.fault(json!({"mode": "timeout", "latencyMs": 3000, "path": "/api/order", "times": 1}))
        .await?;
    let key = uuid::Uuid::new_v4();
    let lost = client.order_card(&order("ORDER-1"), key).await;
    assert_eq!(lost.err(), Some(GoCardsError::Timeout));
    let placed = t.sim_orders().await?;
    assert_eq!(
        placed.len(),
        1,
        "the order was placed before the reply was lost"
    );
    assert_eq!(placed[0].idempotency_key, key.to_string());
    assert_eq!(t.sim.fault().mode, FaultMode::None, "the fault is spent");

    let again = client.order_card(&order("ORDER-1"), key).await?;
    let card_ids: Vec<String> = again.cards.iter().map(|c| c.card_id.clone()).collect();
    assert_eq!(card_ids, placed[0].card_ids);
    assert_eq!(again.order_id, placed[0].order_id);
    assert_eq!(t.sim_orders().await?.len(), 1);
    assert_eq!(t.sim.card_count(), 1);
    Ok(())
}

/// The same through the Rust API, with `drop`: the connection closes after the order is placed.
#[tokio::test]
async fn an_order_whose_connection_drops_is_placed_once() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let client = t.client()?;
    t.sim.set_fault(
        FaultSpec::new(FaultMode::Drop)
            .on_path("/api/order")
            .times(1),
    );
    let key = uuid::Uuid::new_v4();
    let lost = client.order_card(&order("ORDER-1"), key).await;
    assert_eq!(lost.err(), Some(GoCardsError::Unreachable));
    assert_eq!(t.sim.orders().len(), 1);
    let again = client.order_card(&order("ORDER-1"), key).await?;
    assert_eq!(
        again.cards.first().map(|c| c.card_id.clone()),
        t.sim.orders()[0].card_ids.first().cloned()
    );
    assert_eq!(t.sim.orders().len(), 1);
    Ok(())
}
