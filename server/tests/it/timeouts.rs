//! Request timeouts, shortened for the test: a client that stops in the middle of its body
//! gets 408 once no byte has come for the body-read timeout, and an answer that does not start
//! within the request timeout is cut off with 503.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use testkit as common;

use app::api::UpdateCardOrder;
use common::app::{spawn_with, OPERATOR};
use gocards_sim::{FaultMode, FaultSpec};

#[tokio::test]
async fn a_client_that_stalls_in_its_body_gets_408() {
    let body_read = Duration::from_secs(1);
    let test_db = common::db::sqlite().await;
    let app = spawn_with(test_db.db.clone(), |config| {
        config.timeouts.body_read = body_read;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    // The headers promise 200 bytes; 12 come, then nothing.
    let head = format!(
        "POST /api/search_cards HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 200\r\n\r\n{{\"search\": {{"
    );
    socket.write_all(head.as_bytes()).await.expect("send");
    let sent = Instant::now();
    let mut reply = Vec::new();
    // Up to the end of the reply's head, or until the server closes the connection.
    let read = tokio::time::timeout(Duration::from_secs(8), async {
        let mut chunk = [0u8; 1024];
        while !reply.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => reply.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    let waited = sent.elapsed();
    assert!(
        read.is_ok(),
        "no answer {waited:?} after the body stalled (the body-read timeout is {body_read:?})"
    );
    let reply = String::from_utf8_lossy(&reply);
    // An answer, or the connection closed without one: either way not left hanging.
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 408"),
        "a stalled body got: {reply}"
    );
    assert!(
        waited >= body_read && waited < body_read * 4,
        "answered after {waited:?}, with a body-read timeout of {body_read:?}"
    );
}

#[tokio::test]
async fn an_answer_that_takes_too_long_is_cut_off_with_503() {
    // Long enough for a log-in (argon2id, unoptimised in a test build).
    let whole = Duration::from_secs(3);
    let test_db = common::db::sqlite().await;
    let app = spawn_with(test_db.db.clone(), |config| {
        config.timeouts.whole = whole;
        config.gocards.timeout_ms = Some(10_000);
    })
    .await;
    let cookie = app.login(OPERATOR).await;
    // GO Cards answers after 6 s: within the client's 10 s timeout, past the request's.
    app.sim
        .set_fault(FaultSpec::new(FaultMode::Latency).with_latency_ms(6000));
    let card = &testkit::app::cards()[0];
    let started = Instant::now();
    let (status, body) = app
        .call_fn(
            Some(&cookie),
            UpdateCardOrder {
                card_id: card.card_id.clone(),
                expected_version: 1,
            },
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert!(
        took >= whole && took < whole + Duration::from_secs(2),
        "cut off after {took:?}, with a request timeout of {whole:?}"
    );
    // Nothing was written for the request cut off.
    let history = app
        .db
        .card_history(&card.card_id, 10)
        .await
        .expect("history");
    assert!(history.is_empty(), "{history:?}");
}
