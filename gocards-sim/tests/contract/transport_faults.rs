//! The error table's "GO Cards fault" row beyond status codes: timeout, connection
//! refused, malformed, oversized and a dropped connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use gocards::{GoCardsClient, GoCardsError, ListCursor};
use serde_json::json;
use testkit::gocards as support;
use testkit::gocards::{card, config_for, grant_token, serve, start_sim, test_card_id};

/// Row timeout: `latency` and `timeout` faults longer than the client's timeout.
#[tokio::test]
async fn slow_reply_times_out() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    let client = t.client_with(|c| c.timeout = Duration::from_millis(300))?;
    client.card(&test_card_id(1)).await?; // the token is fetched before the fault
    for mode in ["latency", "timeout"] {
        t.fault(json!({"mode": mode, "latencyMs": 3000})).await?;
        let started = Instant::now();
        let error = client.card(&test_card_id(1)).await.err();
        assert_eq!(error, Some(GoCardsError::Timeout), "{mode}");
        assert!(
            started.elapsed() < Duration::from_millis(2000),
            "{mode} took {:?}",
            started.elapsed()
        );
    }
    // A latency under the timeout is only slow.
    t.fault(json!({"mode": "latency", "latencyMs": 50})).await?;
    assert!(client.card(&test_card_id(1)).await.is_ok());
    assert_eq!(
        GoCardsError::Timeout.user_message(),
        "GO Cards did not answer in time. The card is unchanged; try again later."
    );
    Ok(())
}

/// Row connection refused: a port with nothing listening.
#[tokio::test]
async fn connection_refused_is_unreachable() -> anyhow::Result<()> {
    let closed = std::net::TcpListener::bind(support::loopback())?.local_addr()?;
    // The listener is dropped here, so nothing listens on `closed` any more.
    let client = GoCardsClient::new(config_for(closed)?)?;
    let started = Instant::now();
    let error = client.card(&test_card_id(1)).await.err();
    assert_eq!(error, Some(GoCardsError::Unreachable));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        error.map(|e| e.user_message()).as_deref(),
        Some("Could not reach GO Cards. The card is unchanged; try again later.")
    );
    Ok(())
}

/// Row malformed JSON.
#[tokio::test]
async fn malformed_reply_is_malformed() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    t.fault(json!({"mode": "malformed"})).await?;
    let client = t.client()?;
    let error = client.card(&test_card_id(1)).await.err();
    assert_eq!(error, Some(GoCardsError::Malformed));
    assert_eq!(
        error.map(|e| e.user_message()).as_deref(),
        Some("GO Cards sent a reply that could not be read. The card is unchanged.")
    );
    assert_eq!(
        client.changed_cards(&ListCursor::default(), 10).await.err(),
        Some(GoCardsError::Malformed)
    );
    Ok(())
}

/// Row oversized JSON: the simulator's 32 MiB body is refused fast.
#[tokio::test]
async fn oversized_reply_is_refused_fast() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    let client = t.client()?;
    client.card(&test_card_id(1)).await?;
    t.fault(json!({"mode": "oversized"})).await?;
    let started = Instant::now();
    assert_eq!(
        client.card(&test_card_id(1)).await.err(),
        Some(GoCardsError::Oversized)
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    // The client is still usable afterwards.
    t.fault(json!({"mode": "none"})).await?;
    assert!(client.card(&test_card_id(1)).await.is_ok());
    Ok(())
}

/// Row oversized JSON, measured at the server: the client stops reading after about 1 MiB,
/// so far less than the 32 MiB on offer is ever produced.
#[tokio::test]
async fn oversized_reply_is_not_read_to_the_end() -> anyhow::Result<()> {
    static CHUNK: [u8; 64 * 1024] = [b' '; 64 * 1024];
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = produced.clone();
    let router = Router::new()
        .route("/oauth/token", post(grant_token))
        .route(
            "/api/card/{id}",
            get(move || {
                let counter = counter.clone();
                async move {
                    let chunks = futures::stream::iter((0..512).map(move |_| {
                        counter.fetch_add(CHUNK.len(), Ordering::SeqCst);
                        Ok::<_, std::convert::Infallible>(Bytes::from_static(&CHUNK))
                    }));
                    Body::from_stream(chunks)
                }
            }),
        );
    let addr = serve(router).await?;
    let client = GoCardsClient::new(config_for(addr)?)?;
    assert_eq!(
        client.card(&test_card_id(1)).await.err(),
        Some(GoCardsError::Oversized)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = produced.load(Ordering::SeqCst);
    assert!(sent < 16 * 1024 * 1024, "the server produced {sent} bytes");
    Ok(())
}

/// Row oversized JSON, by `Content-Length`: refused before any of the body arrives.
#[tokio::test]
async fn declared_oversized_length_is_refused_before_reading() -> anyhow::Result<()> {
    let router = Router::new()
        .route("/oauth/token", post(grant_token))
        .route(
            "/api/card/{id}",
            get(|| async {
                // Promises 32 MiB, then never sends a byte of it.
                let never = futures::stream::pending::<Result<Bytes, std::io::Error>>();
                (
                    [(header::CONTENT_LENGTH, "33554432")],
                    Body::from_stream(never),
                )
                    .into_response()
            }),
        );
    let addr = serve(router).await?;
    let client = GoCardsClient::new(config_for(addr)?)?;
    let started = Instant::now();
    assert_eq!(
        client.card(&test_card_id(1)).await.err(),
        Some(GoCardsError::Oversized)
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    Ok(())
}

/// Row connection dropped mid-reply (`drop`).
#[tokio::test]
async fn dropped_connection_is_unreachable() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    t.fault(json!({"mode": "drop"})).await?;
    let client = t.client()?;
    let started = Instant::now();
    assert_eq!(
        client.card(&test_card_id(1)).await.err(),
        Some(GoCardsError::Unreachable)
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    t.fault(json!({"mode": "none"})).await?;
    assert!(
        client.card(&test_card_id(1)).await.is_ok(),
        "the pool recovers"
    );
    Ok(())
}
