//! `POST /api/card/{cardId}/cancel`: cancelled, already cancelled, too late, unknown, refused.

use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use desk_core::domain::GoCardsStatus;
use gocards::{CancelReply, GoCardsError};
use serde_json::json;
use testkit::gocards::{card, serve, start_sim, test_card_id};

const REASON: &str = "employee left before the card was made";

/// Row 200 from ORDERED and from IN_PRODUCTION: CANCELLED, the reason kept, `updated` bumped.
#[tokio::test]
async fn an_open_card_is_cancelled_with_the_reason() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim
        .upsert_cards(vec![card(1, "ORDERED"), card(2, "IN_PRODUCTION")]);
    let client = t.client()?;
    for n in [1, 2] {
        let before = t.sim.card(&test_card_id(n).to_string()).context("card")?;
        let reply = client
            .cancel(&test_card_id(n), REASON, uuid::Uuid::new_v4())
            .await?;
        let CancelReply::Cancelled(cancelled) = reply else {
            anyhow::bail!("card {n}: {reply:?}");
        };
        assert_eq!(cancelled.card_id, test_card_id(n).as_str());
        assert_eq!(cancelled.status, GoCardsStatus::Cancelled);
        assert_eq!(cancelled.failure_reason.as_deref(), Some(REASON));
        assert!(cancelled.updated > before.updated, "updated is bumped");
        let stored = client.card(&test_card_id(n)).await?;
        assert_eq!(stored, cancelled, "GET /api/card agrees");
    }
    Ok(())
}

/// Row 200 again: a card already CANCELLED answers with its CardInfo, whatever the key.
#[tokio::test]
async fn an_already_cancelled_card_answers_200_again() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    let client = t.client()?;
    let first = client
        .cancel(&test_card_id(1), REASON, uuid::Uuid::new_v4())
        .await?;
    let again = client
        .cancel(&test_card_id(1), "another reason", uuid::Uuid::new_v4())
        .await?;
    assert_eq!(first, again, "unchanged: same reason, same updated");
    Ok(())
}

/// Row 409 with `status`: PRODUCED, SHIPPED, DELIVERED, FAILED are past cancelling.
#[tokio::test]
async fn a_card_past_cancelling_is_too_late_with_its_status() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let statuses = ["PRODUCED", "SHIPPED", "DELIVERED", "FAILED"];
    t.sim.upsert_cards(
        (1..)
            .zip(statuses)
            .map(|(n, status)| card(n, status))
            .collect(),
    );
    let client = t.client()?;
    for (n, status) in (1..).zip(statuses) {
        let reply = client
            .cancel(&test_card_id(n), REASON, uuid::Uuid::new_v4())
            .await?;
        assert_eq!(
            reply,
            CancelReply::TooLate {
                status: GoCardsStatus::parse(status)
            }
        );
        let stored = client.card(&test_card_id(n)).await?;
        assert_eq!(stored.status.as_str(), status, "unchanged");
        let (code, body) = t
            .post_api(
                &format!("/api/card/{}/cancel", test_card_id(n)),
                Some(&uuid::Uuid::new_v4().to_string()),
                &json!({"reason": REASON}),
            )
            .await?;
        assert_eq!(code, 409);
        assert_eq!(body["error"], "conflict");
        assert_eq!(body["status"], status);
        assert!(body["message"].is_string());
    }
    Ok(())
}

/// Row 404: an unknown card.
#[tokio::test]
async fn cancelling_an_unknown_card_is_not_found() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let reply = t
        .client()?
        .cancel(&test_card_id(99), REASON, uuid::Uuid::new_v4())
        .await;
    assert_eq!(reply.err(), Some(GoCardsError::NotFound));
    Ok(())
}

/// Row 400: no key, no reason, an empty reason; the card is unchanged.
#[tokio::test]
async fn a_cancel_without_key_or_reason_is_bad_request() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    let path = format!("/api/card/{}/cancel", test_card_id(1));
    let key = uuid::Uuid::new_v4().to_string();
    for (name, key, body) in [
        ("no key", None, json!({"reason": REASON})),
        ("no reason", Some(key.as_str()), json!({})),
        ("empty reason", Some(key.as_str()), json!({"reason": "  "})),
        ("reason not text", Some(key.as_str()), json!({"reason": 7})),
    ] {
        let (status, reply) = t.post_api(&path, key, &body).await?;
        assert_eq!(status, 400, "{name}: {reply}");
        assert_eq!(reply["error"], "bad_request", "{name}");
    }
    assert_eq!(
        t.sim.card(&test_card_id(1).to_string()).map(|c| c.status),
        Some(GoCardsStatus::Ordered)
    );
    assert_eq!(
        t.client()?
            .cancel(&test_card_id(1), "", uuid::Uuid::new_v4())
            .await
            .err(),
        Some(GoCardsError::BadRequest)
    );
    Ok(())
}

/// A cancel emits an event, like every status change, when a webhook is set.
#[tokio::test]
async fn a_cancel_emits_an_event() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "IN_PRODUCTION")]);
    let (sender, mut events) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let receiver = Router::new().route(
        "/webhooks/gocards",
        post(move |body: Bytes| {
            let _ = sender.send(body);
            async { StatusCode::NO_CONTENT }
        }),
    );
    let hook = serve(receiver).await?;
    t.sim.set_webhook(
        format!("http://{hook}/webhooks/gocards"),
        "s3cret".to_owned(),
    );
    t.client()?
        .cancel(&test_card_id(1), REASON, uuid::Uuid::new_v4())
        .await?;
    let body = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await?
        .context("no event")?;
    let event: serde_json::Value = serde_json::from_slice(&body)?;
    assert_eq!(event["data"]["status"], "CANCELLED");
    assert_eq!(event["data"]["failureReason"], REASON);
    // Already cancelled: no change, no event.
    t.client()?
        .cancel(&test_card_id(1), REASON, uuid::Uuid::new_v4())
        .await?;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), events.recv())
            .await
            .is_err(),
        "only one event"
    );
    Ok(())
}
