//! `POST /webhooks/gocards` through the real router: signatures, replays, order, size.

use testkit as common;

use common::app::{spawn, TestApp};
use common::db::TestDb;
use desk_core::domain::CardState;
use desk_core::model::{HistoryKind, HistorySource};
use gocards_sim::webhook_signature;
use secrecy::ExposeSecret;
use serde_json::json;

const CARD: &str = "CA2202040404-5GG3F4C8";

pub(crate) fn event(event_id: &str, card_id: &str, status: &str) -> Vec<u8> {
    json!({
        "eventId": event_id,
        "created": "2026-11-24T10:00:00.000Z",
        "apiVersion": "2.0.0",
        "topic": "CARD_IN_PRODUCTION",
        "data": {"cardId": card_id, "status": status, "updated": "2026-11-24T10:00:00.000Z"}
    })
    .to_string()
    .into_bytes()
}

pub(crate) async fn post(app: &TestApp, body: Vec<u8>, signature: Option<String>) -> (u16, String) {
    let mut request = app
        .http
        .post(format!("{}/webhooks/gocards", app.base))
        .header("content-type", "application/json")
        // Another origin: webhooks come from GO Cards, not from the app's pages.
        .header("origin", "https://cards.example")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("X-GoCards-Signature", signature);
    }
    let reply = request.send().await.expect("post");
    let status = reply.status().as_u16();
    (status, reply.text().await.unwrap_or_default())
}

pub(crate) fn signed(app: &TestApp, body: &[u8]) -> Option<String> {
    let secret = app
        .state
        .webhook_secret
        .as_ref()
        .expect("demo mode makes a secret");
    webhook_signature(body, secret.expose_secret())
}

async fn state_of(app: &TestApp, card_id: &str) -> CardState {
    app.db
        .card(card_id)
        .await
        .expect("read")
        .map(|card| card.state)
        .expect("known")
}

async fn history_len(app: &TestApp) -> usize {
    app.db.card_history(CARD, 100).await.expect("history").len()
}

common::engines!(a_signed_event_is_applied_once_and_never_backwards);
async fn a_signed_event_is_applied_once_and_never_backwards(test_db: TestDb) {
    let app = spawn(test_db.db.clone()).await;
    let body = event("E2211241000-0000AAAA", CARD, "IN_PRODUCTION");
    let (status, reply) = post(&app, body.clone(), signed(&app, &body)).await;
    assert_eq!(status, 200, "{}: {reply}", test_db.name);
    assert_eq!(state_of(&app, CARD).await, CardState::InProduction);
    let history = app.db.card_history(CARD, 10).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, HistoryKind::Changed);
    assert_eq!(history[0].source, HistorySource::Webhook);

    // The same event again, after a "restart" too (it is stored): ignored.
    let (status, reply) = post(&app, body.clone(), signed(&app, &body)).await;
    assert_eq!(status, 200);
    assert!(reply.contains("duplicate"), "{reply}");
    assert_eq!(history_len(&app).await, 1);

    // An older event arriving late never moves the card back.
    let late = event("E2211240900-0000BBBB", CARD, "ORDERED");
    let (status, _) = post(&app, late.clone(), signed(&app, &late)).await;
    assert_eq!(status, 200);
    assert_eq!(state_of(&app, CARD).await, CardState::InProduction);
    assert_eq!(history_len(&app).await, 1, "{}", test_db.name);

    // A card this desk does not have: accepted, nothing written.
    let other = event("E2211241001-0000CCCC", "CA9999999999-NOTOURS1", "PRODUCED");
    let (status, _) = post(&app, other.clone(), signed(&app, &other)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bad_signatures_bad_bodies_and_huge_bodies_change_nothing() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    let body = event("E2211241000-0000DDDD", CARD, "PRODUCED");

    let (status, _) = post(&app, body.clone(), None).await;
    assert_eq!(status, 401);
    let forged = webhook_signature(&body, "not-the-secret");
    let (status, reply) = post(&app, body.clone(), forged).await;
    assert_eq!(status, 401);
    assert!(reply.to_lowercase().contains("signature"), "{reply}");
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let (status, _) = post(&app, tampered, signed(&app, &body)).await;
    assert_eq!(status, 401);

    for bad in [
        b"not json".to_vec(),
        br#"{"eventId": "E1"}"#.to_vec(),
        br#"{"eventId": "", "data": {"cardId": "CA2202040404-5GG3F4C8", "status": "PRODUCED"}}"#
            .to_vec(),
        br#"{"eventId": "E2", "data": {"cardId": "nope", "status": "PRODUCED"}}"#.to_vec(),
    ] {
        let (status, reply) = post(&app, bad.clone(), signed(&app, &bad)).await;
        assert_eq!(status, 400, "{}: {reply}", String::from_utf8_lossy(&bad));
    }

    let mut huge = body.clone();
    huge.resize(300 * 1024, b' ');
    let (status, _) = post(&app, huge.clone(), signed(&app, &huge)).await;
    assert_eq!(status, 413);

    assert_eq!(state_of(&app, CARD).await, CardState::Ordered);
    assert_eq!(history_len(&app).await, 0);
    // The good event was never applied, so it is not remembered as seen either.
    assert!(!app
        .db
        .webhook_event_seen("E2211241000-0000DDDD")
        .await
        .expect("read"));
}

#[tokio::test]
async fn in_demo_mode_the_simulator_pushes_signed_events_to_the_app() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    app.connect_demo_webhook();
    assert!(app.sim.set_status(CARD, "IN_PRODUCTION", None));
    for _ in 0..100 {
        if state_of(&app, CARD).await == CardState::InProduction {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(state_of(&app, CARD).await, CardState::InProduction);
    let history = app.db.card_history(CARD, 10).await.expect("history");
    assert_eq!(history[0].source, HistorySource::Webhook);
}
