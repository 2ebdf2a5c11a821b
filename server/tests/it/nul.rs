//! PostgreSQL refuses U+0000 in text; SQLite stores it. A NUL (or another control character)
//! in a GO Cards status, a failure reason, a webhook, a search field or a username must not
//! stop the sync or answer 500, on either engine.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::Path;
use axum::routing::get;
use serde_json::{json, Value};
use testkit as common;

use app::api::SearchCards;
use common::app::{spawn, TestApp, OPERATOR};
use common::db::TestDb;
use desk_core::domain::CardState;
use desk_core::model::CardSearch;
use gocards::GoCardsClient;

const HOLD: &str = "CA2202040404-5GG3F4C8"; // Ordered
const FAILS: &str = "CA2202040405-AAAA0001"; // In production
const MOVES: &str = "CA2202040410-AAAA0010"; // Ordered, added here

fn card_json(card_id: &str, status: &str, reason: Option<&str>) -> Value {
    json!({
        "cardId": card_id,
        "articleId": "KSK\u{0}1",
        "cardHolderEmail": "anna@example.org",
        "cardElements": {"FIRST_NAME": "An\u{0}na"},
        "status": status,
        "failureReason": reason,
        "updated": "2026-11-21T10:00:00.000Z",
    })
}

/// A GO Cards double that lists three cards, two with NUL, and answers for each.
async fn double_with_nul() -> std::net::SocketAddr {
    let cards: Arc<BTreeMap<&'static str, Value>> = Arc::new(BTreeMap::from([
        (HOLD, card_json(HOLD, "HOLD\u{0}", None)),
        (FAILS, card_json(FAILS, "FAILED", Some("chip\u{0}broken"))),
        (MOVES, card_json(MOVES, "IN_PRODUCTION", None)),
    ]));
    let listed = cards.clone();
    let router = axum::Router::new()
        .route(
            "/oauth/token",
            axum::routing::post(common::gocards::grant_token),
        )
        .route(
            "/api/cards",
            get(move || {
                let listed = listed.clone();
                async move {
                    axum::Json(
                        json!({ "items": listed.values().collect::<Vec<_>>(), "next": null }),
                    )
                }
            }),
        )
        .route(
            "/api/card/{id}",
            get(move |Path(id): Path<String>| {
                let cards = cards.clone();
                async move {
                    match cards.get(id.as_str()) {
                        Some(card) => axum::Json(card.clone()).into_response(),
                        None => axum::http::StatusCode::NOT_FOUND.into_response(),
                    }
                }
            }),
        );
    common::gocards::serve(router).await.expect("double")
}

use axum::response::IntoResponse;

async fn state_of(app: &TestApp, card_id: &str) -> (CardState, Option<String>, Option<String>) {
    let card = app
        .db
        .card(card_id)
        .await
        .expect("read")
        .expect("the card exists");
    (card.state, card.gocards_status, card.failure_reason)
}

async fn nul_from_go_cards_is_stored_cleaned_and_the_sync_finishes(test_db: TestDb) {
    let app = spawn(test_db.db.clone()).await;
    let mut extra = common::app::cards()[0].clone();
    extra.card_id = MOVES.into();
    app.db.insert_cards(&[extra], |_| {}).await.expect("card");
    let addr = double_with_nul().await;
    let config = common::gocards::config_for(addr).expect("config");
    app.state
        .gocards
        .replace(GoCardsClient::new(config).expect("client"));

    let report = app.run_sync().await;
    assert_eq!(report.status.as_str(), "completed", "{report:?}");
    assert_eq!(report.error, None);
    assert_eq!(
        state_of(&app, MOVES).await.0,
        CardState::InProduction,
        "the other cards are applied"
    );
    let (state, reason_status, reason) = state_of(&app, FAILS).await;
    assert_eq!(state, CardState::Failed);
    assert_eq!(reason_status.as_deref(), Some("FAILED"));
    assert_eq!(reason.as_deref(), Some("chip\u{FFFD}broken"));
    let (state, status, _) = state_of(&app, HOLD).await;
    assert_eq!(
        state,
        CardState::Ordered,
        "an unknown status changes nothing"
    );
    assert_eq!(status.as_deref(), Some("HOLD\u{FFFD}"));

    // The next run finishes too (nothing is pinned by the bad card).
    let again = app.run_sync().await;
    assert_eq!(again.status.as_str(), "completed", "{again:?}");
}
common::engines!(nul_from_go_cards_is_stored_cleaned_and_the_sync_finishes);

async fn nul_in_a_webhook_is_applied_cleaned(test_db: TestDb) {
    use secrecy::ExposeSecret;
    let app = spawn(test_db.db.clone()).await;
    let secret = app
        .state
        .webhook_secret
        .as_ref()
        .expect("demo mode makes a secret")
        .expose_secret()
        .to_owned();
    for (event, status, reason) in [
        ("E0000000001-0000000A", "ON\u{0}HOLD", None),
        ("E0000000002-0000000B", "FAILED", Some("bad\u{0}")),
    ] {
        let body = json!({
            "eventId": event,
            "topic": "CARD_FAILED",
            "data": card_json(HOLD, status, reason),
        })
        .to_string()
        .into_bytes();
        let signature = gocards_sim::webhook_signature(&body, &secret).expect("sign");
        let reply = app
            .http
            .post(format!("{}/webhooks/gocards", app.base))
            .header("content-type", "application/json")
            .header("X-GoCards-Signature", signature)
            .body(body)
            .send()
            .await
            .expect("deliver");
        let status = reply.status().as_u16();
        assert_eq!(
            status,
            200,
            "{event}: {}",
            reply.text().await.unwrap_or_default()
        );
    }
    let (state, status, reason) = state_of(&app, HOLD).await;
    assert_eq!(state, CardState::Failed);
    assert_eq!(status.as_deref(), Some("FAILED"));
    assert_eq!(reason.as_deref(), Some("bad\u{FFFD}"));
}
common::engines!(nul_in_a_webhook_is_applied_cleaned);

async fn nul_in_a_search_or_a_username_answers_400(test_db: TestDb) {
    let app = spawn(test_db.db.clone()).await;
    let operator = app.login(OPERATOR).await;
    for field in ["first", "last", "email", "employee"] {
        let mut search = CardSearch::default();
        let value = "An\u{0}na".to_owned();
        match field {
            "first" => search.first_name = value,
            "last" => search.last_name = value,
            "email" => search.email = value,
            _ => search.employee_id = value,
        }
        let (status, body) = app.call_fn(Some(&operator), SearchCards { search }).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("control character"),
            "{body}"
        );
    }
    let (status, body) = app.login_attempt(("oper\u{0}ator", OPERATOR.1)).await;
    assert_eq!(status, 400, "{body}");
}
common::engines!(nul_in_a_search_or_a_username_answers_400);

/// The admin's user functions, given a NUL in the name: no such user (404), never a 500 from
/// PostgreSQL refusing the NUL. Found by the payload fuzz on PostgreSQL.
async fn nul_in_an_account_name_is_no_such_user(test_db: TestDb) {
    let app = spawn(test_db.db.clone()).await;
    let admin = app.login(common::app::ADMIN).await;
    for (function, payload) in [
        (
            "set_user_role",
            json!({"username": "\u{0}", "role": "admin"}),
        ),
        (
            "set_user_enabled",
            json!({"username": "op\u{0}", "enabled": false}),
        ),
        (
            "reset_user_password",
            json!({"reset": {"username": "\u{0}x", "password": "a-long-enough-password"}}),
        ),
    ] {
        let (status, body) = app.call(function, Some(&admin), payload).await;
        assert_eq!(status, 404, "{}: {function}: {body}", test_db.name);
        assert_eq!(body["kind"], "not_found", "{body}");
    }
}
common::engines!(nul_in_an_account_name_is_no_such_user);
