//! The error table, one test per row GO Cards answers with a status: 400, 401, 403,
//! 404, 409, 429 and 5xx.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::orders::order;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use desk_core::domain::GoCardsStatus;
use gocards::{GoCardsClient, GoCardsError, ListCursor};
use serde_json::json;
use testkit::gocards::{card, config_for, grant_token, serve, start_sim, test_card_id};

/// Row 400: a `size` above 1000.
#[tokio::test]
async fn page_size_over_1000_is_bad_request() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let client = t.client()?;
    let refused = client.changed_cards(&ListCursor::default(), 1001).await;
    assert_eq!(refused.err(), Some(GoCardsError::BadRequest));
    assert!(client
        .changed_cards(&ListCursor::default(), 1000)
        .await
        .is_ok());
    assert_eq!(
        client.changed_cards(&ListCursor::default(), 0).await.err(),
        Some(GoCardsError::BadRequest)
    );
    assert!(!GoCardsError::BadRequest.is_retryable());
    Ok(())
}

/// Row 401 at the token endpoint: wrong client secret or id.
#[tokio::test]
async fn wrong_credentials_are_unauthorized() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    let wrong_secret = t.client_with(|c| c.client_secret = "nope".to_owned().into())?;
    let error = wrong_secret.card(&test_card_id(1)).await.err();
    assert_eq!(error, Some(GoCardsError::Unauthorized));
    assert_eq!(
        wrong_secret.test_connection().await.err(),
        Some(GoCardsError::Unauthorized)
    );
    let wrong_id = t.client_with(|c| c.client_id = "someone-else".to_owned())?;
    assert_eq!(
        wrong_id.card(&test_card_id(1)).await.err(),
        Some(GoCardsError::Unauthorized)
    );
    assert!(t.sim.calls().is_empty(), "no /api call without a token");
    assert!(GoCardsError::Unauthorized
        .user_message()
        .contains("credentials"));
    Ok(())
}

/// Row 401 from `/api`: one refresh and one retry, then `Unauthorized`.
#[tokio::test]
async fn persistent_401_is_unauthorized_after_exactly_one_refresh() -> anyhow::Result<()> {
    let tokens = Arc::new(AtomicUsize::new(0));
    let api_calls = Arc::new(AtomicUsize::new(0));
    let (tokens_seen, calls_seen) = (tokens.clone(), api_calls.clone());
    let router = Router::new()
        .route(
            "/oauth/token",
            post(move || {
                tokens_seen.fetch_add(1, Ordering::SeqCst);
                grant_token()
            }),
        )
        .route(
            "/api/card/{id}",
            get(move || {
                calls_seen.fetch_add(1, Ordering::SeqCst);
                async { (StatusCode::UNAUTHORIZED, "{\"error\":\"unauthorized\"}") }
            }),
        );
    let addr = serve(router).await?;
    let client = GoCardsClient::new(config_for(addr)?)?;
    assert_eq!(
        client.card(&test_card_id(1)).await.err(),
        Some(GoCardsError::Unauthorized)
    );
    assert_eq!(
        tokens.load(Ordering::SeqCst),
        2,
        "one token, then exactly one refresh"
    );
    assert_eq!(
        api_calls.load(Ordering::SeqCst),
        2,
        "the call, then exactly one retry"
    );
    Ok(())
}

/// Row 401 once (`expire_token_once`): the call still succeeds after one refresh.
#[tokio::test]
async fn expired_token_is_refreshed_once_and_the_call_succeeds() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "IN_PRODUCTION")]);
    let client = t.client()?;
    client.card(&test_card_id(1)).await?;
    assert_eq!(t.sim.token_requests(), 1);
    t.fault(json!({"mode": "expire_token_once"})).await?;
    let got = client.card(&test_card_id(1)).await?;
    assert_eq!(got.status, GoCardsStatus::InProduction);
    assert_eq!(t.sim.token_requests(), 2, "exactly one refresh");
    let path = format!("/api/card/{}", test_card_id(1));
    assert_eq!(t.calls_to(&path), 3, "first call, the 401, the retry");
    // Used up: the next call needs no new token.
    client.card(&test_card_id(1)).await?;
    assert_eq!(t.sim.token_requests(), 2);
    let fault: serde_json::Value = t
        .http
        .get(t.url("/sim/faults"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(fault["mode"], "none");
    Ok(())
}

/// Row 403: the wrong organisation, from the simulator's check and from an injected fault.
#[tokio::test]
async fn wrong_organisation_is_forbidden() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    let other_org = t.client_with(|c| c.organisation_id = "OTHER-ORG".to_owned())?;
    let error = other_org.card(&test_card_id(1)).await.err();
    assert_eq!(error, Some(GoCardsError::Forbidden));
    assert_eq!(
        error.map(|e| e.user_message()).as_deref(),
        Some("GO Cards refused access for this organisation.")
    );
    assert_eq!(
        other_org.test_connection().await.err(),
        Some(GoCardsError::Forbidden)
    );
    t.fault(json!({"mode": "error403"})).await?;
    assert_eq!(
        t.client()?.card(&test_card_id(1)).await.err(),
        Some(GoCardsError::Forbidden)
    );
    Ok(())
}

/// Row 404: an unknown card, and an injected 404 for a known one.
#[tokio::test]
async fn unknown_card_is_not_found() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    let client = t.client()?;
    let error = client.card(&test_card_id(99)).await.err();
    assert_eq!(error, Some(GoCardsError::NotFound));
    assert_eq!(
        error.map(|e| e.user_message()).as_deref(),
        Some("Card not found in GO Cards.")
    );
    t.fault(json!({"mode": "error404", "cardId": test_card_id(1).to_string()}))
        .await?;
    assert_eq!(
        client.card(&test_card_id(1)).await.err(),
        Some(GoCardsError::NotFound)
    );
    Ok(())
}

/// Row 409: the same external reference ordered under another key.
/// (The idempotent replay itself: `order_with_the_same_key_returns_the_first_reply`.)
#[tokio::test]
async fn second_order_for_the_same_reference_is_a_conflict() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let client = t.client()?;
    client
        .order_card(&order("ORDER-7"), uuid::Uuid::new_v4())
        .await?;
    let again = client
        .order_card(&order("ORDER-7"), uuid::Uuid::new_v4())
        .await;
    assert_eq!(again.err(), Some(GoCardsError::Conflict));
    Ok(())
}

/// Row 429: `Retry-After` is read (7 s) and reported.
#[tokio::test]
async fn rate_limit_reports_retry_after() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    t.fault(json!({"mode": "error429", "cardId": null, "probability": 1.0, "latencyMs": 0, "retryAfter": 7}))
        .await?;
    let error = t.client()?.card(&test_card_id(1)).await.err();
    assert_eq!(
        error,
        Some(GoCardsError::RateLimited {
            retry_after: Duration::from_secs(7)
        })
    );
    assert_eq!(
        error.as_ref().map(GoCardsError::user_message).as_deref(),
        Some("GO Cards is busy; try again in 7 s.")
    );
    assert!(error.is_some_and(|e| e.is_retryable()));

    // An observing client is told the wait as the 429 arrives; a plain clone of it is not.
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let observer: gocards::RateLimitObserver = {
        let heard = heard.clone();
        std::sync::Arc::new(move |wait| heard.lock().expect("lock").push(wait))
    };
    let client = t.client()?;
    let observing = client.observing_rate_limits(observer);
    assert!(observing.card(&test_card_id(1)).await.is_err());
    assert!(client.card(&test_card_id(1)).await.is_err());
    assert_eq!(*heard.lock().expect("lock"), vec![Duration::from_secs(7)]);
    Ok(())
}

/// Row 5xx: the real code is kept and shown.
#[tokio::test]
async fn server_error_keeps_its_code() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    t.fault(json!({"mode": "error500"})).await?;
    let error = t.client()?.card(&test_card_id(1)).await.err();
    assert_eq!(error, Some(GoCardsError::ServerError { status: 500 }));
    assert_eq!(
        error.map(|e| e.user_message()).as_deref(),
        Some("GO Cards is unavailable (error 500). The card is unchanged; try again later.")
    );
    Ok(())
}
