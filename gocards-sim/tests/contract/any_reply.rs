//! Arbitrary statuses and bodies from a tiny server: the client answers `Ok` or a typed
//! error, and never panics.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gocards::{GoCardsClient, GoCardsError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use testkit::gocards::{card, config_for, grant_token, serve, test_card_id};

/// What the test server answers next, and on which route.
#[derive(Clone, Debug)]
struct Reply {
    on_token_route: bool,
    status: u16,
    body: Vec<u8>,
    retry_after: Option<String>,
}

fn valid_card_json() -> Vec<u8> {
    serde_json::to_vec(&card(1, "IN_PRODUCTION")).unwrap_or_default()
}

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(valid_card_json()),
        Just(br#"{"cardId":"CA0000000001-TEST0001","status":"X","extra":[1,{}]}"#.to_vec()),
        Just(br#"{"access_token":"abc","token_type":"Bearer","expires_in":"12"}"#.to_vec()),
        Just(br#"{"items":[],"next":null}"#.to_vec()),
        Just(br#"{"items":[],"next":{"updatedSince":null}}"#.to_vec()),
        Just(b"null".to_vec()),
        Just(Vec::new()),
        (0..valid_card_json().len()).prop_map(|cut| valid_card_json()[..cut].to_vec()),
        proptest::collection::vec(any::<u8>(), 0..300),
        "\\PC{0,80}".prop_map(String::into_bytes),
    ]
}

fn reply_strategy() -> impl Strategy<Value = Reply> {
    let status = prop_oneof![
        Just(200u16),
        Just(201),
        Just(204),
        Just(302),
        Just(400),
        Just(401),
        Just(403),
        Just(404),
        Just(408),
        Just(409),
        Just(418),
        Just(429),
        Just(500),
        Just(503),
        200u16..600,
    ];
    let retry_after = proptest::option::of(prop_oneof![
        "[0-9]{1,12}",
        "[ -~]{0,20}",
        Just("Sat, 21 Nov 2026 07:00:30 GMT".to_owned()),
    ]);
    (any::<bool>(), status, body_strategy(), retry_after).prop_map(
        |(on_token_route, status, body, retry_after)| Reply {
            on_token_route,
            status,
            body,
            retry_after,
        },
    )
}

fn respond(reply: &Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut response = (status, reply.body.clone()).into_response();
    if let Some(value) = reply
        .retry_after
        .as_deref()
        .and_then(|v| header::HeaderValue::from_str(v).ok())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The error a status must give, where the contract fixes it.
fn expected_error(status: u16) -> Option<fn(&GoCardsError) -> bool> {
    match status {
        401 => Some(|e| *e == GoCardsError::Unauthorized),
        403 => Some(|e| matches!(e, GoCardsError::Forbidden | GoCardsError::Unauthorized)),
        429 => Some(
            |e| matches!(e, GoCardsError::RateLimited { retry_after } if *retry_after <= Duration::from_secs(3600)),
        ),
        500..=599 => Some(
            |e| matches!(e, GoCardsError::ServerError { status } if (500..600).contains(status)),
        ),
        _ => None,
    }
}

/// Serves arbitrary statuses and bodies from the token route or the card routes, and
/// checks the client answers `Ok` or the typed error the contract asks for, never panics.
#[test]
fn any_status_and_body_gives_ok_or_a_typed_error() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let current = Arc::new(Mutex::new(None::<Reply>));
    let (for_token, for_api) = (current.clone(), current.clone());
    let router = Router::new()
        .route(
            "/oauth/token",
            post(move || {
                let reply = for_token.lock().ok().and_then(|r| r.clone());
                async move {
                    match reply {
                        Some(reply) if reply.on_token_route => respond(&reply),
                        _ => grant_token().await.into_response(),
                    }
                }
            }),
        )
        .route(
            "/api/card/{id}",
            get(move || {
                let reply = for_api.lock().ok().and_then(|r| r.clone());
                async move {
                    match reply {
                        Some(reply) if !reply.on_token_route => respond(&reply),
                        _ => (StatusCode::OK, valid_card_json()).into_response(),
                    }
                }
            }),
        );
    let addr = runtime.block_on(serve(router))?;
    let mut config = config_for(addr)?;
    config.timeout = Duration::from_secs(2);

    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&reply_strategy(), |reply| {
        if let Ok(mut slot) = current.lock() {
            *slot = Some(reply.clone());
        }
        // A new client each case, so the token route is asked every time.
        let client =
            GoCardsClient::new(config.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let result = runtime.block_on(client.card(&test_card_id(1)));
        match &result {
            Ok(got) => {
                prop_assert_eq!(&got.card_id, &test_card_id(1).to_string());
                prop_assert!(
                    reply.on_token_route || (200..300).contains(&reply.status),
                    "Ok for {}",
                    reply.status
                );
            }
            Err(error) => {
                prop_assert!(!error.user_message().is_empty());
                if (200..300).contains(&reply.status) && !reply.on_token_route {
                    prop_assert_eq!(error, &GoCardsError::Malformed);
                }
                if let Some(check) = expected_error(reply.status) {
                    prop_assert!(check(error), "{} gave {:?}", reply.status, error);
                }
            }
        }
        if reply.status == 200 && !reply.on_token_route && reply.body == valid_card_json() {
            prop_assert!(result.is_ok(), "a valid card was refused: {:?}", result);
        }
        Ok(())
    });
    outcome.map_err(|failure| anyhow::anyhow!("{failure}"))
}
