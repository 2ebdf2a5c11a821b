//! Manual attempts per operator (issue 12): Update card order called faster than 10 times a
//! second by one operator is refused with 429 before it writes a history row or asks GO Cards;
//! another operator is unaffected.

use std::sync::Arc;

use testkit as common;

use app::api::UpdateCardOrder;
use backend::services::manual_attempts::DEFAULT_PER_SECOND;
use common::app::{add_user, spawn_with, TestApp, OPERATOR};
use common::db::TestDb;
use desk_core::model::Role;

const CARD: &str = "CA2202040404-5GG3F4C8";
const OTHER: (&str, &str) = ("operator2", "operator-password-2");

async fn attempt(app: &TestApp, cookie: &str) -> (u16, serde_json::Value) {
    app.call_fn(
        Some(cookie),
        UpdateCardOrder {
            card_id: CARD.into(),
            expected_version: 1,
        },
    )
    .await
}

fn card_calls(app: &TestApp) -> usize {
    let path = format!("/api/card/{CARD}");
    app.sim
        .calls()
        .iter()
        .filter(|(_, p, _)| *p == path)
        .count()
}

common::engines!(a_flood_of_attempts_by_one_operator_is_refused_with_429);
async fn a_flood_of_attempts_by_one_operator_is_refused_with_429(t: TestDb) {
    let app = Arc::new(
        spawn_with(t.db.clone(), |config| {
            config.manual_attempts_per_second = DEFAULT_PER_SECOND;
        })
        .await,
    );
    add_user(&app.db, OTHER.0, Role::Operator, OTHER.1).await;
    let cookie = app.login(OPERATOR).await;
    let other = app.login(OTHER).await;

    let calls: Vec<_> = (0..30)
        .map(|_| {
            let (app, cookie) = (app.clone(), cookie.clone());
            tokio::spawn(async move { attempt(&app, &cookie).await })
        })
        .collect();
    let (mut allowed, mut refused) = (0, 0);
    for call in calls {
        let (status, body) = call.await.expect("task");
        match status {
            200 => allowed += 1,
            429 => {
                refused += 1;
                assert_eq!(body["kind"], "too_many_attempts", "{body}");
                assert_eq!(body["message"], "Too many attempts; wait a moment.");
            }
            other => panic!("{}: unexpected {other}: {body}", t.name),
        }
    }
    // A burst of 10, and one more every 100 ms while the calls arrive.
    assert!(
        (10..=15).contains(&allowed),
        "{}: {allowed} allowed",
        t.name
    );
    assert_eq!(allowed + refused, 30);
    let history = app.db.count_history(CARD).await.expect("count");
    assert_eq!(
        history, allowed as i64,
        "{}: a row per allowed attempt only",
        t.name
    );
    assert_eq!(
        card_calls(&app),
        allowed,
        "{}: GO Cards asked only when allowed",
        t.name
    );

    // Another operator has an allowance of their own.
    let (status, body) = attempt(&app, &other).await;
    assert_eq!(status, 200, "{}: {body}", t.name);
    // And the first one gets theirs back after a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, body) = attempt(&app, &cookie).await;
    assert_eq!(status, 200, "{}: {body}", t.name);
}
