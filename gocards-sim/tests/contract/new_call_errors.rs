//! The error table applied to articles, order and cancel, through the simulator's faults
//! (scoped with `path` and spent after `times`), and the replies the client refuses.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use desk_core::domain::GoCardsStatus;
use gocards::{CancelReply, GoCardsClient, GoCardsError};
use serde_json::json;
use testkit::gocards::{
    card, config_for, grant_token, order_request, serve, start_sim, test_card_id, TestSim,
};

#[derive(Clone, Copy, Debug)]
enum Call {
    Articles,
    Order,
    Cancel,
}

impl Call {
    fn path(self) -> &'static str {
        match self {
            Call::Articles => "/api/articles",
            Call::Order => "/api/order",
            Call::Cancel => "/api/card/",
        }
    }

    /// Makes the call once; `n` keeps orders and cards apart. Cancel gets a fresh open card.
    async fn run(self, t: &TestSim, client: &GoCardsClient, n: u32) -> Result<(), GoCardsError> {
        match self {
            Call::Articles => client.articles().await.map(|_| ()),
            Call::Order => client
                .order_card(&order_request(&format!("ORDER-{n}")), uuid::Uuid::new_v4())
                .await
                .map(|_| ()),
            Call::Cancel => {
                t.sim.upsert_cards(vec![card(n, "ORDERED")]);
                match client
                    .cancel(&test_card_id(n), "no longer needed", uuid::Uuid::new_v4())
                    .await?
                {
                    CancelReply::Cancelled(_) => Ok(()),
                    CancelReply::TooLate { status } => {
                        panic!("a fresh card is not too late: {status}")
                    }
                }
            }
        }
    }
}

async fn follows_the_error_table(call: Call) -> anyhow::Result<()> {
    let t = start_sim().await?;
    let client = t.client_with(|c| c.timeout = Duration::from_millis(1000))?;
    call.run(&t, &client, 1).await?;

    // 401 once: one refresh, one retry, success.
    let tokens = t.sim.token_requests();
    t.fault(json!({"mode": "expire_token_once", "path": call.path()}))
        .await?;
    call.run(&t, &client, 2).await?;
    assert_eq!(t.sim.token_requests(), tokens + 1, "{call:?}: one refresh");

    let cases = [
        (json!({"mode": "error403"}), GoCardsError::Forbidden),
        (json!({"mode": "error404"}), GoCardsError::NotFound),
        (
            json!({"mode": "error429", "retryAfter": 7}),
            GoCardsError::RateLimited {
                retry_after: Duration::from_secs(7),
            },
        ),
        (
            json!({"mode": "error500"}),
            GoCardsError::ServerError { status: 500 },
        ),
        (
            json!({"mode": "timeout", "latencyMs": 3000}),
            GoCardsError::Timeout,
        ),
        (json!({"mode": "malformed"}), GoCardsError::Malformed),
        (json!({"mode": "oversized"}), GoCardsError::Oversized),
        (json!({"mode": "drop"}), GoCardsError::Unreachable),
    ];
    for (n, (mut fault, expected)) in (10..).zip(cases) {
        fault["path"] = json!(call.path());
        fault["times"] = json!(1);
        t.fault(fault.clone()).await?;
        assert_eq!(
            call.run(&t, &client, n).await.err(),
            Some(expected),
            "{call:?} {fault}"
        );
        // Spent after one call: the next one works.
        call.run(&t, &client, n + 100).await?;
    }

    // A fault on another path leaves this call alone.
    t.fault(json!({"mode": "error500", "path": "/api/cards"}))
        .await?;
    call.run(&t, &client, 500).await?;

    // Connection refused.
    let closed = std::net::TcpListener::bind(testkit::gocards::loopback())?.local_addr()?;
    let nowhere = GoCardsClient::new(config_for(closed)?)?;
    assert_eq!(
        call.run(&t, &nowhere, 501).await.err(),
        Some(GoCardsError::Unreachable)
    );
    Ok(())
}

#[tokio::test]
async fn articles_follow_the_error_table() -> anyhow::Result<()> {
    follows_the_error_table(Call::Articles).await
}

#[tokio::test]
async fn order_follows_the_error_table() -> anyhow::Result<()> {
    follows_the_error_table(Call::Order).await
}

#[tokio::test]
async fn cancel_follows_the_error_table() -> anyhow::Result<()> {
    follows_the_error_table(Call::Cancel).await
}

/// A server that answers every `/api` call with `status` and `body`, counting the calls.
async fn answering(
    status: StatusCode,
    body: &'static str,
) -> anyhow::Result<(GoCardsClient, Arc<AtomicUsize>)> {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let answer = move || {
        seen.fetch_add(1, Ordering::SeqCst);
        async move {
            (
                status,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
        }
    };
    let router = Router::new()
        .route("/oauth/token", post(grant_token))
        .route("/api/order", post(answer.clone()))
        .route("/api/card/{id}/cancel", post(answer.clone()))
        .route("/api/articles", get(answer));
    let addr = serve(router).await?;
    Ok((GoCardsClient::new(config_for(addr)?)?, calls))
}

#[tokio::test]
async fn an_order_reply_without_usable_cards_is_malformed() -> anyhow::Result<()> {
    for body in [
        r#"{"orderId":"ORD-1","cards":[]}"#,
        r#"{"orderId":"ORD-1","cards":[{"cardId":"not-a-card-id","status":"ORDERED"}]}"#,
        r#"{"orderId":"ORD-1"}"#,
    ] {
        let (client, _) = answering(StatusCode::CREATED, body).await?;
        let reply = client
            .order_card(&order_request("ORDER-1"), uuid::Uuid::new_v4())
            .await;
        assert_eq!(reply.err(), Some(GoCardsError::Malformed), "{body}");
    }
    let (client, _) = answering(
        StatusCode::CREATED,
        r#"{"orderId":"ORD-1","cards":[{"cardId":"CA2202040404-5GG3F4C8","status":"ORDERED"}]}"#,
    )
    .await?;
    assert!(client
        .order_card(&order_request("ORDER-1"), uuid::Uuid::new_v4())
        .await
        .is_ok());
    Ok(())
}

#[tokio::test]
async fn an_article_without_an_id_is_malformed() -> anyhow::Result<()> {
    let (client, _) = answering(
        StatusCode::OK,
        r#"{"items":[{"articleId":" ","name":"Blank"}]}"#,
    )
    .await?;
    assert_eq!(client.articles().await.err(), Some(GoCardsError::Malformed));
    let (client, _) = answering(StatusCode::OK, r#"[{"articleId":"A"}]"#).await?;
    assert_eq!(client.articles().await.err(), Some(GoCardsError::Malformed));
    Ok(())
}

#[tokio::test]
async fn a_cancel_reply_for_another_card_is_malformed() -> anyhow::Result<()> {
    let (client, _) = answering(
        StatusCode::OK,
        r#"{"cardId":"CA2202040404-5GG3F4C8","status":"CANCELLED"}"#,
    )
    .await?;
    let reply = client
        .cancel(&test_card_id(1), "x", uuid::Uuid::new_v4())
        .await;
    assert_eq!(reply.err(), Some(GoCardsError::Malformed));
    Ok(())
}

/// A `409` names the status it is too late for, or it is a plain conflict.
#[tokio::test]
async fn a_cancel_conflict_without_a_status_is_a_conflict() -> anyhow::Result<()> {
    for (body, expected) in [
        (
            r#"{"error":"conflict","status":"SHIPPED"}"#,
            Ok(CancelReply::TooLate {
                status: GoCardsStatus::Shipped,
            }),
        ),
        (
            r#"{"error":"conflict","status":"QUALITY_HOLD"}"#,
            Ok(CancelReply::TooLate {
                status: GoCardsStatus::Unrecognised("QUALITY_HOLD".to_owned()),
            }),
        ),
        (r#"{"error":"conflict"}"#, Err(GoCardsError::Conflict)),
        (
            r#"{"error":"conflict","status":""}"#,
            Err(GoCardsError::Conflict),
        ),
        (
            r#"{"error":"conflict","status":409}"#,
            Err(GoCardsError::Conflict),
        ),
        ("<html>conflict</html>", Err(GoCardsError::Conflict)),
    ] {
        let (client, _) = answering(StatusCode::CONFLICT, body).await?;
        let reply = client
            .cancel(&test_card_id(1), "x", uuid::Uuid::new_v4())
            .await;
        assert_eq!(reply, expected, "{body}");
    }
    // A status in another error is not read as too late.
    let (client, _) = answering(StatusCode::BAD_REQUEST, r#"{"status":"PRODUCED"}"#).await?;
    assert_eq!(
        client
            .cancel(&test_card_id(1), "x", uuid::Uuid::new_v4())
            .await,
        Err(GoCardsError::BadRequest)
    );
    Ok(())
}

/// `401` every time: exactly one refresh and one retry, then `Unauthorized`.
#[tokio::test]
async fn a_cancel_refused_401_twice_is_unauthorized() -> anyhow::Result<()> {
    let (client, calls) =
        answering(StatusCode::UNAUTHORIZED, r#"{"error":"unauthorized"}"#).await?;
    assert_eq!(
        client
            .cancel(&test_card_id(1), "x", uuid::Uuid::new_v4())
            .await,
        Err(GoCardsError::Unauthorized)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    Ok(())
}
