//! "Abort card order" end to end through its server function, against the simulator:
//! success from each open state, GO Cards' 409 with the status it reports, each row of the
//! error table, refusals, and a race with Update card order.

use std::sync::Arc;

use testkit as common;

use app::api::{AbortCardOrder, UpdateCardOrder};
use backend::db::cards::NewCard;
use common::app::{spawn, TestApp, OPERATOR};
use common::db::TestDb;
use desk_core::domain::{CardState, Process};
use desk_core::model::{HistoryKind, HistorySource};
use gocards_sim::{FaultMode, FaultSpec};

const REASON: &str = "Employee left before the card was made";

/// A fresh card in `state`, known to the simulator.
async fn open_card(app: &TestApp, n: u32, state: CardState) -> String {
    let id = format!("CA66{n:08}-ABRT{n:04}");
    let card = NewCard {
        card_id: id.clone(),
        first_name: "Abby".into(),
        last_name: format!("Aborter{n}"),
        email: "abby@example.org".into(),
        employee_id: format!("A{n}"),
        state,
        ordered_at: Some(1_763_000_000_000),
    };
    app.db.insert_cards(&[card], |_| {}).await.expect("insert");
    let row = app.db.card(&id).await.expect("read").expect("card");
    app.sim
        .upsert_cards(vec![server::startup::card_info_for(&row)]);
    id
}

async fn enable(app: &TestApp) {
    for state in [CardState::Ordered, CardState::InProduction] {
        app.db
            .set_command(state, Process::AbortCardOrder, true)
            .await
            .expect("enable");
    }
}

async fn abort(
    app: &TestApp,
    cookie: &str,
    id: &str,
    version: i64,
    reason: &str,
) -> (u16, serde_json::Value) {
    app.call_fn(
        Some(cookie),
        AbortCardOrder {
            card_id: id.into(),
            expected_version: version,
            reason: reason.into(),
        },
    )
    .await
}

common::engines!(an_open_order_is_cancelled_and_the_card_aborted);
async fn an_open_order_is_cancelled_and_the_card_aborted(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    enable(&app).await;
    let cookie = app.login(OPERATOR).await;
    for (n, start) in [CardState::Ordered, CardState::InProduction]
        .into_iter()
        .enumerate()
    {
        let id = open_card(&app, n as u32, start).await;
        if start == CardState::InProduction {
            app.sim_status(&id, "IN_PRODUCTION", None).await;
        }
        let (status, body) = abort(&app, &cookie, &id, 1, REASON).await;
        assert_eq!(status, 200, "{}: {body}", t.name);
        assert_eq!(
            body["message"],
            format!("Order aborted: {} → Aborted", start.label())
        );
        assert_eq!(body["state"], "aborted");
        let card = app.db.card(&id).await.expect("read").expect("card");
        assert_eq!(card.state, CardState::Aborted);
        assert_eq!(card.version, 2);
        assert_eq!(card.gocards_status.as_deref(), Some("CANCELLED"));
        assert_eq!(card.failure_reason.as_deref(), Some(REASON));
        let history = app.db.card_history(&id, 10).await.expect("history");
        assert_eq!(history.len(), 1, "{}", t.name);
        assert_eq!(history[0].kind, HistoryKind::Changed);
        assert_eq!(history[0].source, HistorySource::Manual);
        assert_eq!(history[0].actor.as_deref(), Some("operator"));
        assert_eq!(
            (history[0].from_state, history[0].to_state),
            (start, CardState::Aborted)
        );
        assert_eq!(history[0].gocards_status.as_deref(), Some("CANCELLED"));
        assert_eq!(
            history[0].detail.as_deref(),
            Some(format!("Abort card order: {REASON}").as_str())
        );
        let at_gocards = app.sim.card(&id).expect("card");
        assert_eq!(at_gocards.status.as_str(), "CANCELLED");
        assert_eq!(at_gocards.failure_reason.as_deref(), Some(REASON));
        // Aborted is not an open order: nothing more to abort.
        let (status, _) = abort(&app, &cookie, &id, 2, REASON).await;
        assert_eq!(status, 409);
    }
}

common::engines!(a_card_past_cancelling_is_reported_with_go_cards_status);
async fn a_card_past_cancelling_is_reported_with_go_cards_status(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    enable(&app).await;
    let cookie = app.login(OPERATOR).await;
    for (n, status_at_gocards) in ["PRODUCED", "SHIPPED", "DELIVERED", "FAILED"]
        .into_iter()
        .enumerate()
    {
        let id = open_card(&app, 10 + n as u32, CardState::Ordered).await;
        app.sim_status(&id, status_at_gocards, None).await;
        let (status, body) = abort(&app, &cookie, &id, 1, REASON).await;
        assert_eq!(status, 409, "{}: {body}", t.name);
        assert_eq!(body["kind"], "too_late");
        let message = format!(
            "GO Cards can no longer cancel this order: it reports {status_at_gocards}. Run Update card order to bring the card up to date."
        );
        assert_eq!(body["message"], message);
        let card = app.db.card(&id).await.expect("read").expect("card");
        assert_eq!((card.state, card.version), (CardState::Ordered, 1));
        let history = app.db.card_history(&id, 10).await.expect("history");
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].kind, HistoryKind::Error);
        assert_eq!(
            history[0].gocards_status.as_deref(),
            Some(status_at_gocards)
        );
        assert_eq!(
            history[0].detail.as_deref(),
            Some(format!("Abort card order: {message}").as_str())
        );
        assert!(card.last_checked_at.is_some(), "GO Cards was asked");
    }
}

common::engines!(go_cards_faults_leave_the_card_unchanged_and_are_in_its_history);
async fn go_cards_faults_leave_the_card_unchanged_and_are_in_its_history(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    enable(&app).await;
    let cookie = app.login(OPERATOR).await;
    let cases = [
        (
            FaultSpec::new(FaultMode::Error404),
            "Card not found in GO Cards.",
        ),
        (
            FaultSpec::new(FaultMode::Error403),
            "GO Cards refused access for this organisation.",
        ),
        (
            FaultSpec::new(FaultMode::Error429).with_retry_after(7),
            "GO Cards is busy; try again in 7 s.",
        ),
        (
            FaultSpec::new(FaultMode::Error500),
            "GO Cards is unavailable (error 500). The card is unchanged; try again later.",
        ),
        (
            FaultSpec::new(FaultMode::Timeout).with_latency_ms(3000),
            "GO Cards did not answer in time. The card is unchanged; try again later.",
        ),
        (
            FaultSpec::new(FaultMode::Malformed),
            "GO Cards sent a reply that could not be read. The card is unchanged.",
        ),
        (
            FaultSpec::new(FaultMode::Drop),
            "Could not reach GO Cards. The card is unchanged; try again later.",
        ),
    ];
    for (n, (fault, message)) in cases.into_iter().enumerate() {
        let id = open_card(&app, 100 + n as u32, CardState::Ordered).await;
        app.sim.set_fault(fault.for_card(id.clone()));
        let (status, body) = abort(&app, &cookie, &id, 1, REASON).await;
        assert_eq!(status, 502, "{}: {body}", t.name);
        assert_eq!(body["kind"], "go_cards");
        assert_eq!(body["message"], message, "{}", t.name);
        let card = app.db.card(&id).await.expect("read").expect("card");
        assert_eq!((card.state, card.version), (CardState::Ordered, 1));
        let history = app.db.card_history(&id, 10).await.expect("history");
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].kind, HistoryKind::Error);
        assert_eq!(
            history[0].detail.as_deref(),
            Some(format!("Abort card order: {message}").as_str())
        );
        app.sim.set_fault(FaultSpec::new(FaultMode::None));
    }
}

#[tokio::test]
async fn refusals_change_nothing_and_do_not_ask_go_cards() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let id = open_card(&app, 200, CardState::Ordered).await;

    // Not enabled (the test app enables only Update card order).
    let (status, body) = abort(&app, &cookie, &id, 1, REASON).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        "Abort card order is not enabled for a card in state Ordered."
    );
    enable(&app).await;

    // A Produced card.
    let (status, body) = abort(&app, &cookie, "CA2202040406-AAAA0002", 1, REASON).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["message"],
        "Abort card order is not available for a card in state Produced."
    );
    // The version the operator saw is gone.
    let (status, body) = abort(&app, &cookie, &id, 4, REASON).await;
    assert_eq!(status, 409);
    assert_eq!(body["message"], "The card changed meanwhile; reload.");
    let history = app.db.card_history(&id, 10).await.expect("history");
    assert_eq!(
        history.len(),
        2,
        "each refusal is an attempt in the history"
    );

    // Bad reasons are refused before anything is written.
    for (reason, message) in [
        ("  ", "Reason is required: say why the order is aborted."),
        (
            &"r".repeat(201) as &str,
            "Reason is too long: at most 200 characters.",
        ),
        (
            "bad\u{0}reason",
            "Reason contains control characters; type it again without them.",
        ),
    ] {
        let (status, body) = abort(&app, &cookie, &id, 1, reason).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["message"], message);
    }
    assert_eq!(
        app.db.card_history(&id, 10).await.expect("history").len(),
        2
    );

    // Unknown, malformed, anonymous.
    let (status, _) = abort(&app, &cookie, "CA9999999999-NOPE0000", 1, REASON).await;
    assert_eq!(status, 404);
    let (status, _) = abort(&app, &cookie, "../../etc/passwd", 1, REASON).await;
    assert_eq!(status, 400);
    let (status, _) = app
        .call_fn(
            None,
            AbortCardOrder {
                card_id: id.clone(),
                expected_version: 1,
                reason: REASON.into(),
            },
        )
        .await;
    assert_eq!(status, 401);

    let card = app.db.card(&id).await.expect("read").expect("card");
    assert_eq!((card.state, card.version), (CardState::Ordered, 1));
    assert!(app.sim.calls().is_empty(), "{:?}", app.sim.calls());
}

common::engines!(abort_and_update_at_once_leave_one_change);
async fn abort_and_update_at_once_leave_one_change(t: TestDb) {
    let app = Arc::new(spawn(t.db.clone()).await);
    enable(&app).await;
    let cookie = app.login(OPERATOR).await;
    for n in 0..8u32 {
        let id = open_card(&app, 300 + n, CardState::Ordered).await;
        app.sim_status(&id, "IN_PRODUCTION", None).await;
        let aborting = {
            let (app, cookie, id) = (app.clone(), cookie.clone(), id.clone());
            tokio::spawn(async move { abort(&app, &cookie, &id, 1, REASON).await })
        };
        let updating = {
            let (app, cookie, id) = (app.clone(), cookie.clone(), id.clone());
            tokio::spawn(async move {
                app.call_fn(
                    Some(&cookie),
                    UpdateCardOrder {
                        card_id: id,
                        expected_version: 1,
                    },
                )
                .await
            })
        };
        let (abort_status, abort_body) = aborting.await.expect("abort");
        let (update_status, update_body) = updating.await.expect("update");
        let card = app.db.card(&id).await.expect("read").expect("card");
        let history = app.db.card_history(&id, 10).await.expect("history");
        let changes: Vec<_> = history
            .iter()
            .filter(|h| h.kind == HistoryKind::Changed)
            .collect();
        assert_eq!(
            changes.len(),
            1,
            "{}: {abort_status} {abort_body} / {update_status} {update_body}: {history:?}",
            t.name
        );
        assert_eq!(card.version, 2);
        match card.state {
            CardState::Aborted => {
                assert_eq!(abort_status, 200, "{abort_body}");
                assert_eq!(update_status, 409, "{update_body}");
            }
            // Update card order won: it read IN_PRODUCTION, or (asking after the cancel)
            // CANCELLED, which a check maps to Failed.
            CardState::InProduction | CardState::Failed => {
                assert_eq!(update_status, 200, "{update_body}");
                assert_eq!(abort_status, 409, "{abort_body}");
            }
            other => panic!("{}: {other:?} is reachable by neither", t.name),
        }
        assert_eq!(changes[0].to_state, card.state);
    }
}
