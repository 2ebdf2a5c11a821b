//! Stale reports (issue 12): a late webhook, a late listing or a check that raced a change
//! never overwrites the GO Cards status stored for a card that has moved on. A refused report
//! (the card is no open order any more) writes nothing, not even "last checked"; a backwards
//! one writes "last checked" alone (GO Cards was heard from); one that confirms the state
//! writes both. Each only at the version the card was read at.

use testkit as common;

use app::api::{CardProfile, UpdateCardOrder};
use backend::db::cards::CardAtVersion;
use backend::db::history::NewHistory;
use common::app::{spawn, TestApp, OPERATOR};
use common::db::TestDb;
use desk_core::domain::CardState;
use desk_core::model::{HistoryKind, HistorySource};
use gocards_sim::{FaultMode, FaultSpec};

use crate::webhooks::{event, post, signed};

const ORDERED: &str = "CA2202040404-5GG3F4C8";
const IN_PRODUCTION: &str = "CA2202040405-AAAA0001";

/// Posts a signed event for `card_id`; it must be accepted.
async fn deliver(app: &TestApp, event_id: &str, card_id: &str, status: &str) {
    let body = event(event_id, card_id, status);
    let (code, reply) = post(app, body.clone(), signed(app, &body)).await;
    assert_eq!(code, 200, "{event_id} {status}: {reply}");
}

/// The card's state, stored GO Cards status and "last checked".
async fn stored(app: &TestApp, card_id: &str) -> (CardState, Option<String>, Option<i64>) {
    let card = app.db.card(card_id).await.expect("read").expect("card");
    (card.state, card.gocards_status, card.last_checked_at)
}

/// What the card's profile shows as "GO Cards status".
async fn profile_status(app: &TestApp, cookie: &str, card_id: &str) -> serde_json::Value {
    let (code, body) = app
        .call_fn(
            Some(cookie),
            CardProfile {
                card_id: card_id.into(),
            },
        )
        .await;
    assert_eq!(code, 200, "{body}");
    body["gocards_status"].clone()
}

/// Lets the clock move, so that a bumped "last checked" would differ.
async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
}

common::engines!(a_late_webhook_leaves_a_produced_card_s_status_alone);
async fn a_late_webhook_leaves_a_produced_card_s_status_alone(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    deliver(&app, "E-LATE-0001", ORDERED, "PRODUCED").await;
    let before = stored(&app, ORDERED).await;
    assert_eq!(before.0, CardState::Produced, "{}", t.name);
    assert_eq!(before.1.as_deref(), Some("PRODUCED"));
    tick().await;

    // The IN_PRODUCTION event that GO Cards sent earlier arrives now: refused.
    deliver(&app, "E-LATE-0002", ORDERED, "IN_PRODUCTION").await;
    assert_eq!(stored(&app, ORDERED).await, before, "{}", t.name);
    assert_eq!(profile_status(&app, &cookie, ORDERED).await, "PRODUCED");
    let history = app.db.card_history(ORDERED, 10).await.expect("history");
    assert_eq!(
        history.len(),
        1,
        "{}: a webhook writes no row when nothing changes",
        t.name
    );
}

common::engines!(a_late_ordered_leaves_an_in_production_card_s_status_alone);
async fn a_late_ordered_leaves_an_in_production_card_s_status_alone(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    // Confirms In production: the status and "last checked" are written.
    deliver(&app, "E-LATE-0101", IN_PRODUCTION, "IN_PRODUCTION").await;
    let before = stored(&app, IN_PRODUCTION).await;
    assert_eq!(before.1.as_deref(), Some("IN_PRODUCTION"), "{}", t.name);
    assert!(before.2.is_some());
    tick().await;

    deliver(&app, "E-LATE-0102", IN_PRODUCTION, "ORDERED").await;
    let after = stored(&app, IN_PRODUCTION).await;
    assert_eq!((&after.0, &after.1), (&before.0, &before.1), "{}", t.name);
    assert!(after.2 > before.2, "{}: heard from GO Cards", t.name);
    assert_eq!(
        profile_status(&app, &cookie, IN_PRODUCTION).await,
        "IN_PRODUCTION"
    );
}

common::engines!(a_manual_check_racing_a_change_writes_no_stale_status);
async fn a_manual_check_racing_a_change_writes_no_stale_status(t: TestDb) {
    let app = std::sync::Arc::new(spawn(t.db.clone()).await);
    let cookie = app.login(OPERATOR).await;
    // GO Cards answers IN_PRODUCTION (no change), slowly; meanwhile a webhook moves the card on.
    app.sim.set_fault(
        FaultSpec::new(FaultMode::Latency)
            .for_card(IN_PRODUCTION)
            .with_latency_ms(700),
    );
    let check = {
        let (app, cookie) = (app.clone(), cookie.clone());
        tokio::spawn(async move {
            app.call_fn(
                Some(&cookie),
                UpdateCardOrder {
                    card_id: IN_PRODUCTION.into(),
                    expected_version: 1,
                },
            )
            .await
        })
    };
    let path = format!("/api/card/{IN_PRODUCTION}");
    for _ in 0..200 {
        if app.sim.calls().iter().any(|(_, called, _)| *called == path) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    deliver(&app, "E-RACE-0001", IN_PRODUCTION, "PRODUCED").await;
    let (code, body) = check.await.expect("task");

    assert_eq!(code, 409, "{}: {body}", t.name);
    assert_eq!(body["message"], "The card changed meanwhile; reload.");
    let (state, status, _) = stored(&app, IN_PRODUCTION).await;
    assert_eq!(state, CardState::Produced, "{}", t.name);
    assert_eq!(
        status.as_deref(),
        Some("PRODUCED"),
        "{}: not the stale IN_PRODUCTION",
        t.name
    );
    let history = app
        .db
        .card_history(IN_PRODUCTION, 10)
        .await
        .expect("history");
    assert!(
        history.iter().all(|row| row.kind != HistoryKind::NoChange),
        "{}: no row claims the card was still In production: {history:?}",
        t.name
    );
    assert_eq!(history.len(), 2, "{}: the change and the attempt", t.name);
}

common::engines!(the_sync_writes_no_backwards_status_and_no_status_over_a_newer_version);
async fn the_sync_writes_no_backwards_status_and_no_status_over_a_newer_version(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    // The first run confirms In production (the simulator was seeded with it).
    app.run_sync().await;
    let before = stored(&app, IN_PRODUCTION).await;
    assert_eq!(before.1.as_deref(), Some("IN_PRODUCTION"), "{}", t.name);
    tick().await;

    // GO Cards now lists the card as ORDERED, an earlier state: only "last checked" moves.
    app.sim_status(IN_PRODUCTION, "ORDERED", None).await;
    let report = app.run_sync().await;
    assert!(report.counts.checked >= 1, "{}: {report:?}", t.name);
    let after = stored(&app, IN_PRODUCTION).await;
    assert_eq!((&after.0, &after.1), (&before.0, &before.1), "{}", t.name);
    assert!(after.2 > before.2, "{}", t.name);

    // The page's "last checked" write skips a card another writer changed since it was read.
    let card = app.db.card(ORDERED).await.expect("read").expect("card");
    let change = NewHistory {
        kind: HistoryKind::Changed,
        source: HistorySource::Webhook,
        actor: None,
        from_state: CardState::Ordered,
        to_state: CardState::InProduction,
        gocards_status: Some("IN_PRODUCTION"),
        detail: None,
    };
    assert!(app
        .db
        .apply_state_change(ORDERED, card.version, None, &change)
        .await
        .expect("change"));
    let read_before = CardAtVersion {
        card_id: ORDERED.into(),
        version: card.version,
    };
    let moved = stored(&app, ORDERED).await;
    tick().await;
    app.db
        .touch_checked(std::slice::from_ref(&read_before), Some("ORDERED"))
        .await
        .expect("touch");
    assert_eq!(stored(&app, ORDERED).await, moved, "{}", t.name);
    let current = CardAtVersion {
        version: card.version + 1,
        ..read_before
    };
    app.db
        .touch_checked(&[current], Some("IN_PRODUCTION"))
        .await
        .expect("touch");
    assert!(stored(&app, ORDERED).await.2 > moved.2, "{}", t.name);
}
