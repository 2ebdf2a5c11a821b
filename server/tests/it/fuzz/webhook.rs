//! Property-driven fuzzing of the webhook body: any bytes, and well-signed envelopes with
//! any fields, go through `services::webhook::receive` against a real SQLite database.
//! Nothing panics; a refused event writes nothing; an accepted one writes at most one change.
//!
//! Seeds: `server/tests/fuzz-seeds/webhook/`, each replayed signed and unsigned.

use super::{runner, seeds, Tally};
use testkit as common;

use backend::db::cards::NewCard;
use backend::db::Db;
use backend::services::webhook::{receive, WebhookError, WebhookOutcome};
use desk_core::domain::CardState;
use gocards_sim::webhook_signature;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use secrecy::SecretString;

const SECRET: &str = "fuzz-webhook-secret";
const CARD: &str = "CA2600000001-FUZZ0001";

async fn fingerprint(db: &Db) -> (String, i64, i64) {
    let card = db.card(CARD).await.expect("read").expect("card");
    let history = db.count_history(CARD).await.expect("history");
    let events = super::on_pool!(db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM webhook_events")
        .fetch_one(pool)
        .await
        .expect("events"));
    (format!("{}:{}", card.state, card.version), history, events)
}

/// Envelope-shaped JSON with arbitrary values where they matter.
fn envelope() -> impl Strategy<Value = Vec<u8>> {
    let status = prop_oneof![
        Just("ORDERED".to_owned()),
        Just("IN_PRODUCTION".to_owned()),
        Just("PRODUCED".to_owned()),
        Just("FAILED".to_owned()),
        Just("CANCELLED".to_owned()),
        "[A-Z_]{0,20}",
        "[A-Z_\\x00]{1,20}",
        ".{0,30}",
    ];
    let card_id = prop_oneof![Just(CARD.to_owned()), "CA[0-9]{10}-[A-Z0-9]{8}", ".{0,30}"];
    let event_id = prop_oneof!["E[0-9]{10}-[0-9A-F]{8}", ".{0,140}"];
    (
        event_id,
        card_id,
        status,
        proptest::option::of("(\\PC|\\x00){0,40}"),
        any::<bool>(),
    )
        .prop_map(|(event_id, card_id, status, reason, drop_data)| {
            let mut value = serde_json::json!({
                "eventId": event_id,
                "topic": "CARD_PRODUCED",
                "data": {"cardId": card_id, "status": status, "failureReason": reason},
            });
            if drop_data {
                if let Some(object) = value.as_object_mut() {
                    object.remove("data");
                }
            }
            value.to_string().into_bytes()
        })
}

super::on_both_engines!(any_webhook_body_is_handled_without_panic_or_partial_writes);

fn any_webhook_body_is_handled_without_panic_or_partial_writes(engine: super::Engine) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(test_db) = engine.open(&runtime) else {
        return;
    };
    let db = test_db.db.clone();
    runtime
        .block_on(db.insert_cards(
            &[NewCard {
                card_id: CARD.into(),
                first_name: "Fuzz".into(),
                last_name: "Target".into(),
                email: "fuzz@example.org".into(),
                employee_id: "F1".into(),
                state: CardState::Ordered,
                ordered_at: Some(1_763_000_000_000),
            }],
            |_| {},
        ))
        .expect("card");
    let secret = SecretString::from(SECRET);
    let tally = Tally::default();
    let check = |body: &[u8], sign: bool| -> Result<(), TestCaseError> {
        let signature = if sign {
            webhook_signature(body, SECRET)
        } else {
            Some("sha256=00".to_owned())
        };
        let before = runtime.block_on(fingerprint(&db));
        let outcome = runtime.block_on(receive(&db, Some(&secret), signature.as_deref(), body));
        let after = runtime.block_on(fingerprint(&db));
        tally.add(match &outcome {
            Ok(WebhookOutcome::Duplicate) => "duplicate".to_owned(),
            Ok(_) => "accepted".to_owned(),
            Err(e) => format!("{e:?}").chars().take(16).collect(),
        });
        match outcome {
            Err(WebhookError::BadSignature) | Err(WebhookError::Malformed(_)) => {
                prop_assert_eq!(&before, &after, "a refused event wrote something");
            }
            Err(WebhookError::NotConfigured)
            | Err(WebhookError::Storage(_))
            | Err(WebhookError::ChangedMeanwhile) => {
                prop_assert!(
                    false,
                    "unexpected error for {:?}",
                    String::from_utf8_lossy(body)
                );
            }
            Ok(WebhookOutcome::Duplicate) => prop_assert_eq!(&before.0, &after.0),
            Ok(_) => {
                prop_assert!(sign, "an unsigned event was accepted");
                // At most one change, with its one history row.
                prop_assert!(after.1 - before.1 <= 1);
            }
        }
        Ok(())
    };
    for (name, body) in seeds("webhook") {
        for sign in [false, true] {
            if let Err(failure) = check(&body, sign) {
                panic!("seed {name} (signed: {sign}): {failure}");
            }
        }
    }
    let input = prop_oneof![
        // Any bytes, signed or not.
        (
            proptest::collection::vec(any::<u8>(), 0..400),
            any::<bool>()
        ),
        // Envelopes, signed or not.
        (envelope(), any::<bool>()),
    ];
    let result = runner("webhook", engine).run(&input, |(body, sign)| check(&body, sign));
    if let Err(failure) = result {
        panic!("{failure}");
    }
    tally.report(
        "webhook",
        &["accepted", "duplicate", "BadSignature", "Malformed"],
    );
}
