//! GO Cards replies, end to end: a test double of GO Cards on a real socket answers the card
//! route with any status and any body — card JSON with any status, failure reason and field
//! types, cut short, another card's id, random bytes — and "Update card order" runs against it
//! on a real SQLite file, each case on a fresh open card. Nothing panics. Either the card moved
//! forward once, with exactly one `changed` history row and its version bumped, or it is as it
//! was, with one `no_change` or `error` row.
//!
//! Seeds: `server/tests/fuzz-seeds/gocards/` — reply bodies served with 200; `__ID__` stands
//! for the card asked about.

use super::{any_json, runner, seeds, Tally};
use testkit as common;
use testkit::gocards::{config_for, grant_token, serve, test_card_id};

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use backend::db::cards::NewCard;
use backend::db::Db;
use backend::services::update_card_order::{update_card_order, UpdateCardOrderError};
use desk_core::domain::{CardState, Outcome, Process};
use gocards::GoCardsClient;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

const ID_PLACEHOLDER: &str = "__ID__";

#[derive(Clone, Debug)]
struct Reply {
    status: u16,
    body: Vec<u8>,
}

fn template() -> Value {
    json!({
        "cardId": ID_PLACEHOLDER,
        "articleId": "KSK-K11686X",
        "cardHolderEmail": "anna@example.org",
        "cardElements": {"FIRST_NAME": "Anna", "LAST_NAME": "Berg"},
        "status": "IN_PRODUCTION",
        "failureReason": null,
        "ordered": "2026-11-20T09:12:00Z",
        "produced": null,
        "delivered": null,
        "activated": null,
        "updated": "2026-11-21T10:00:00Z"
    })
}

/// Card JSON with the fields that matter varied, and now and then one field replaced or gone.
fn card_json() -> impl Strategy<Value = Vec<u8>> {
    let status = prop_oneof![
        6 => proptest::sample::select(vec![
            "ORDERED", "IN_PRODUCTION", "PRODUCED", "FAILED", "CANCELLED", "DELIVERED",
            "ACTIVATED", "ON_HOLD",
        ])
        .prop_map(|s| json!(s)),
        1 => "[A-Z_]{0,16}".prop_map(|s| json!(s)),
        1 => "[A-Z_\\x00\\x07]{1,16}".prop_map(|s| json!(s)),
        1 => any_json(),
    ];
    let reason = prop_oneof![
        3 => Just(Value::Null),
        2 => "\\PC{0,60}".prop_map(Value::String),
        1 => "(\\PC|\\x00){1,60}".prop_map(Value::String),
        1 => Just(json!("<script>alert(1)</script>")),
        1 => Just(json!("r".repeat(5_000))),
        1 => any_json(),
    ];
    let keys: Vec<String> = template()
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let tweak = prop_oneof![
        6 => Just(None),
        1 => (proptest::sample::select(keys.clone()), Just(None)).prop_map(Some),
        1 => (proptest::sample::select(keys), any_json().prop_map(Some)).prop_map(Some),
    ];
    let other_id = prop_oneof![
        8 => Just(None),
        1 => "CA[0-9]{10}-[A-Z0-9]{8}".prop_map(Some),
    ];
    (status, reason, tweak, other_id).prop_map(|(status, reason, tweak, other_id)| {
        let mut card = template();
        card["status"] = status;
        card["failureReason"] = reason;
        if let Some(id) = other_id {
            card["cardId"] = json!(id);
        }
        if let (Some((key, value)), Some(object)) = (tweak, card.as_object_mut()) {
            match value {
                Some(value) => {
                    object.insert(key, value);
                }
                None => {
                    object.remove(&key);
                }
            }
        }
        card.to_string().into_bytes()
    })
}

fn reply() -> impl Strategy<Value = Reply> {
    let status = prop_oneof![
        8 => Just(200u16),
        1 => proptest::sample::select(vec![201u16, 204, 302, 400, 401, 403, 404, 409, 429, 500, 503]),
        1 => 100u16..600,
    ];
    let body = prop_oneof![
        8 => card_json(),
        1 => card_json().prop_flat_map(|b| {
            let len = b.len();
            (Just(b), 0..len.max(1)).prop_map(|(b, cut)| b[..cut.min(b.len())].to_vec())
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..200),
        1 => any_json().prop_map(|v| v.to_string().into_bytes()),
    ];
    (status, body).prop_map(|(status, body)| Reply { status, body })
}

fn respond(reply: &Reply, card_id: &str) -> axum::response::Response {
    let body = String::from_utf8(reply.body.clone())
        .map(|text| text.replace(ID_PLACEHOLDER, card_id).into_bytes())
        .unwrap_or_else(|e| e.into_bytes());
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    if reply.status == 429 {
        response
            .headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("1"));
    }
    response
}

/// (state, version, changed rows, other rows) of one card.
async fn card_facts(db: &Db, card_id: &str) -> (String, i64, i64, i64) {
    super::on_pool!(db, pool => sqlx::query_as::<_, (String, i64, i64, i64)>(
        "SELECT c.state, c.version, \
         (SELECT COUNT(*) FROM card_history WHERE card_id = c.card_id AND kind = 'changed'), \
         (SELECT COUNT(*) FROM card_history WHERE card_id = c.card_id AND kind <> 'changed') \
         FROM cards c WHERE c.card_id = $1",
    )
    .bind(card_id)
    .fetch_one(pool)
    .await
    .expect("card facts"))
}

super::on_both_engines!(any_gocards_reply_moves_a_card_forward_once_or_not_at_all);

fn any_gocards_reply_moves_a_card_forward_once_or_not_at_all(engine: super::Engine) {
    let runtime = super::runtime();
    let Some(test_db) = engine.open(&runtime) else {
        return;
    };
    let db = test_db.db.clone();
    for state in [CardState::Ordered, CardState::InProduction] {
        runtime
            .block_on(db.set_command(state, Process::UpdateCardOrder, true))
            .expect("enable the command");
    }

    let current = Arc::new(Mutex::new(None::<Reply>));
    let for_card = current.clone();
    let router = Router::new()
        .route("/oauth/token", post(grant_token))
        .route(
            "/api/card/{id}",
            get(move |Path(id): Path<String>| {
                let reply = for_card.lock().ok().and_then(|r| r.clone());
                async move {
                    match reply {
                        Some(reply) => respond(&reply, &id),
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            }),
        );
    let addr = runtime.block_on(serve(router)).expect("GO Cards double");
    let client = GoCardsClient::new(config_for(addr).expect("config")).expect("client");

    let next = Cell::new(0u32);
    let tally = Tally::default();
    let check = |reply: Reply, start: CardState| -> Result<(), TestCaseError> {
        next.set(next.get() + 1);
        let id = test_card_id(next.get());
        runtime
            .block_on(db.insert_cards(
                &[NewCard {
                    card_id: id.to_string(),
                    first_name: "Fuzz".into(),
                    last_name: "Holder".into(),
                    email: "fuzz@example.org".into(),
                    employee_id: "F".into(),
                    state: start,
                    ordered_at: Some(1_763_000_000_000),
                }],
                |_| {},
            ))
            .expect("insert");
        if let Ok(mut slot) = current.lock() {
            *slot = Some(reply.clone());
        }
        let result = runtime.block_on(update_card_order(&db, &client, &id, 1, "fuzz"));
        let (state, version, changed, other) = runtime.block_on(card_facts(&db, id.as_str()));
        match result {
            Ok(report) => {
                prop_assert_eq!(state.as_str(), report.state.as_str());
                match report.outcome {
                    Outcome::Changed { from, to, .. } => {
                        prop_assert_eq!(from, start);
                        prop_assert_ne!(to, start);
                        prop_assert!(
                            matches!(
                                to,
                                CardState::InProduction | CardState::Produced | CardState::Failed
                            ),
                            "moved to {:?}",
                            to
                        );
                        prop_assert_eq!((version, changed, other), (2, 1, 0));
                        tally.add(format!("changed to {}", to.as_str()));
                    }
                    _ => {
                        prop_assert_eq!(state.as_str(), start.as_str());
                        prop_assert_eq!((version, changed, other), (1, 0, 1));
                        tally.add("no change");
                    }
                }
            }
            Err(UpdateCardOrderError::GoCards(error)) => {
                prop_assert!(!error.user_message().is_empty());
                prop_assert_eq!(state.as_str(), start.as_str());
                prop_assert_eq!((version, changed, other), (1, 0, 1));
                tally.add(
                    format!("error {error:?}")
                        .chars()
                        .take(24)
                        .collect::<String>(),
                );
                if (200..300).contains(&reply.status) {
                    prop_assert_eq!(error, gocards::GoCardsError::Malformed);
                }
            }
            Err(other_error) => {
                prop_assert!(false, "unexpected {:?}", other_error);
            }
        }
        Ok(())
    };
    for (name, body) in seeds("gocards") {
        for start in [CardState::Ordered, CardState::InProduction] {
            if let Err(failure) = check(
                Reply {
                    status: 200,
                    body: body.clone(),
                },
                start,
            ) {
                panic!("seed {name} from {start:?}: {failure}");
            }
        }
    }
    let input = (
        reply(),
        prop_oneof![Just(CardState::Ordered), Just(CardState::InProduction)],
    );
    if let Err(failure) =
        runner("gocards_reply", engine).run(&input, |(reply, start)| check(reply, start))
    {
        panic!("{failure}");
    }
    tally.report(
        "gocards_reply",
        &[
            "changed to in_production",
            "changed to produced",
            "changed to failed",
            "no change",
            "error Malformed",
        ],
    );
}
