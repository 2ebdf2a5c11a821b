//! "Update card order" end to end through its server function: every outcome of the
//! contract against the simulator, refusals, and a race. Each case checks the stored card and
//! its history afterwards.

use testkit as common;

use app::api::UpdateCardOrder;
use backend::db::cards::NewCard;
use common::app::{spawn, TestApp, OPERATOR};
use common::db::TestDb;
use desk_core::domain::{CardState, Process};
use desk_core::model::HistoryKind;
use gocards_sim::{FaultMode, FaultSpec};

/// A fresh card in `state`, known to the simulator.
async fn open_card(app: &TestApp, n: u32, state: CardState) -> String {
    let id = format!("CA33{n:08}-TEST{n:04}");
    let card = NewCard {
        card_id: id.clone(),
        first_name: "Test".into(),
        last_name: format!("Holder{n}"),
        email: "t@example.org".into(),
        employee_id: format!("T{n}"),
        state,
        ordered_at: Some(1_763_000_000_000),
    };
    app.db.insert_cards(&[card], |_| {}).await.expect("insert");
    let row = app.db.card(&id).await.expect("read").expect("card");
    app.sim
        .upsert_cards(vec![server::startup::card_info_for(&row)]);
    id
}

async fn run(app: &TestApp, cookie: &str, id: &str, version: i64) -> (u16, serde_json::Value) {
    app.call_fn(
        Some(cookie),
        UpdateCardOrder {
            card_id: id.into(),
            expected_version: version,
        },
    )
    .await
}

/// One outcome of the contract: the card's state, what GO Cards reports, and what the desk
/// must answer, store and record.
struct Case {
    start: CardState,
    gocards_status: &'static str,
    failure_reason: Option<&'static str>,
    message: &'static str,
    end: CardState,
    kind: HistoryKind,
}

/// A GO Cards fault and the reply the operator gets.
struct FaultCase {
    fault: FaultSpec,
    status: u16,
    message: &'static str,
}

common::engines!(every_outcome_against_the_simulator);
async fn every_outcome_against_the_simulator(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let cases: Vec<Case> = vec![
        Case {
            start: CardState::Ordered,
            gocards_status: "IN_PRODUCTION",
            failure_reason: None,
            message: "Status updated: Ordered → In production",
            end: CardState::InProduction,
            kind: HistoryKind::Changed,
        },
        Case {
            start: CardState::Ordered,
            gocards_status: "PRODUCED",
            failure_reason: None,
            message: "Status updated: Ordered → Produced",
            end: CardState::Produced,
            kind: HistoryKind::Changed,
        },
        Case {
            start: CardState::InProduction,
            gocards_status: "SHIPPED",
            failure_reason: None,
            message: "Status updated: In production → Produced",
            end: CardState::Produced,
            kind: HistoryKind::Changed,
        },
        Case {
            start: CardState::InProduction,
            gocards_status: "DELIVERED",
            failure_reason: None,
            message: "Status updated: In production → Produced",
            end: CardState::Produced,
            kind: HistoryKind::Changed,
        },
        Case {
            start: CardState::Ordered,
            gocards_status: "FAILED",
            failure_reason: Some("chip test failed"),
            message: "Status updated: Ordered → Failed (reason: chip test failed)",
            end: CardState::Failed,
            kind: HistoryKind::Changed,
        },
        Case {
            start: CardState::InProduction,
            gocards_status: "CANCELLED",
            failure_reason: None,
            message: "Status updated: In production → Failed (reason: order cancelled in GO Cards)",
            end: CardState::Failed,
            kind: HistoryKind::Changed,
        },
        Case {
            start: CardState::Ordered,
            gocards_status: "ORDERED",
            failure_reason: None,
            message: "No change: GO Cards reports ORDERED",
            end: CardState::Ordered,
            kind: HistoryKind::NoChange,
        },
        Case {
            start: CardState::InProduction,
            gocards_status: "ORDERED",
            failure_reason: None,
            message: "No change: GO Cards reports ORDERED, which would move the card backwards",
            end: CardState::InProduction,
            kind: HistoryKind::NoChange,
        },
        Case {
            start: CardState::Ordered,
            gocards_status: "QUALITY_HOLD",
            failure_reason: None,
            message: "No change: unrecognised status QUALITY_HOLD from GO Cards",
            end: CardState::Ordered,
            kind: HistoryKind::NoChange,
        },
    ];
    for (n, case) in cases.into_iter().enumerate() {
        let Case {
            start,
            gocards_status: status,
            failure_reason: reason,
            message,
            end,
            kind,
        } = case;
        let id = open_card(&app, n as u32, start).await;
        app.sim_status(&id, status, reason).await;
        let (code, body) = run(&app, &cookie, &id, 1).await;
        assert_eq!(code, 200, "{}: {status}: {body}", t.name);
        assert_eq!(body["message"], message, "{}", t.name);
        let card = app.db.card(&id).await.expect("read").expect("card");
        assert_eq!(Some(card.state), Some(end), "{}: {status}", t.name);
        assert_eq!(card.version, if end == start { 1 } else { 2 });
        assert!(card.last_checked_at.is_some());
        let history = app.db.card_history(&id, 10).await.expect("history");
        assert_eq!(history.len(), 1, "{}: {status}", t.name);
        assert_eq!(history[0].kind, kind);
        assert_eq!(history[0].actor.as_deref(), Some("operator"));
        assert_eq!(history[0].gocards_status.as_deref(), Some(status));
        assert_eq!((history[0].from_state, history[0].to_state), (start, end));
        if reason.is_some() {
            assert_eq!(card.failure_reason.as_deref(), reason);
        }
    }
}

common::engines!(go_cards_faults_leave_the_card_unchanged_with_a_clear_message);
async fn go_cards_faults_leave_the_card_unchanged_with_a_clear_message(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let cases: Vec<FaultCase> = vec![
        FaultCase {
            fault: FaultSpec::new(FaultMode::Error404),
            status: 502,
            message: "Card not found in GO Cards.",
        },
        FaultCase {
            fault: FaultSpec::new(FaultMode::Error403),
            status: 502,
            message: "GO Cards refused access for this organisation.",
        },
        FaultCase {
            fault: FaultSpec::new(FaultMode::Error429).with_retry_after(7),
            status: 502,
            message: "GO Cards is busy; try again in 7 s.",
        },
        FaultCase {
            fault: FaultSpec::new(FaultMode::Error500),
            status: 502,
            message: "GO Cards is unavailable (error 500). The card is unchanged; try again later.",
        },
        FaultCase {
            fault: FaultSpec::new(FaultMode::Timeout).with_latency_ms(3000),
            status: 502,
            message: "GO Cards did not answer in time. The card is unchanged; try again later.",
        },
        FaultCase {
            fault: FaultSpec::new(FaultMode::Malformed),
            status: 502,
            message: "GO Cards sent a reply that could not be read. The card is unchanged.",
        },
        FaultCase {
            fault: FaultSpec::new(FaultMode::Drop),
            status: 502,
            message: "Could not reach GO Cards. The card is unchanged; try again later.",
        },
    ];
    for (n, case) in cases.into_iter().enumerate() {
        let FaultCase {
            fault,
            status: code,
            message,
        } = case;
        let id = open_card(&app, 100 + n as u32, CardState::Ordered).await;
        app.sim_status(&id, "IN_PRODUCTION", None).await;
        app.sim.set_fault(fault.for_card(id.clone()));
        let (status, body) = run(&app, &cookie, &id, 1).await;
        assert_eq!(status, code, "{}: {body}", t.name);
        assert_eq!(body["kind"], "go_cards");
        assert_eq!(body["message"], message, "{}", t.name);
        let card = app.db.card(&id).await.expect("read").expect("card");
        assert_eq!(Some(card.state), Some(CardState::Ordered), "unchanged");
        assert_eq!(card.version, 1);
        let history = app.db.card_history(&id, 10).await.expect("history");
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].kind, HistoryKind::Error);
        assert_eq!(history[0].detail.as_deref(), Some(message));
        app.sim.set_fault(FaultSpec::new(FaultMode::None));
    }
}

#[tokio::test]
async fn refusals_change_nothing_and_do_not_ask_go_cards() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;

    // A Produced card.
    let (status, body) = run(&app, &cookie, "CA2202040406-AAAA0002", 1).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["message"],
        "Update card order is not available for a card in state Produced."
    );

    // A disabled command.
    let id = open_card(&app, 200, CardState::Ordered).await;
    app.db
        .set_command(CardState::Ordered, Process::UpdateCardOrder, false)
        .await
        .expect("disable");
    let (status, body) = run(&app, &cookie, &id, 1).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        "Update card order is not enabled for a card in state Ordered."
    );
    let history = app.db.card_history(&id, 10).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, HistoryKind::Refused);
    app.db
        .set_command(CardState::Ordered, Process::UpdateCardOrder, true)
        .await
        .expect("enable");

    // Anonymous.
    let (status, _) = app
        .call_fn(
            None,
            UpdateCardOrder {
                card_id: id.clone(),
                expected_version: 1,
            },
        )
        .await;
    assert_eq!(status, 401);

    // Forged payloads: an unknown id, a malformed id, a stale version.
    let (status, body) = run(&app, &cookie, "CA9999999999-NOPE0000", 1).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = run(&app, &cookie, "../../etc/passwd", 1).await;
    assert_eq!(status, 400);
    let (status, body) = run(&app, &cookie, &id, 5).await;
    assert_eq!(status, 409);
    assert_eq!(body["message"], "The card changed meanwhile; reload.");

    let card = app.db.card(&id).await.expect("read").expect("card");
    assert_eq!(
        (Some(card.state), card.version),
        (Some(CardState::Ordered), 1)
    );
    assert!(
        app.sim.calls().is_empty(),
        "GO Cards was never asked: {:?}",
        app.sim.calls()
    );
}

common::engines!(twenty_concurrent_updates_lose_nothing_and_never_go_backwards);
async fn twenty_concurrent_updates_lose_nothing_and_never_go_backwards(t: TestDb) {
    let app = std::sync::Arc::new(spawn(t.db.clone()).await);
    let cookie = app.login(OPERATOR).await;
    let id = open_card(&app, 300, CardState::Ordered).await;
    app.sim_status(&id, "IN_PRODUCTION", None).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = app.clone();
        let cookie = cookie.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            if i == 10 {
                app.sim_status(&id, "PRODUCED", None).await;
            }
            run(&app, &cookie, &id, 1).await
        }));
    }
    let mut changed = 0;
    for task in tasks {
        let (status, body) = task.await.expect("task");
        let message = body["message"].as_str().unwrap_or_default().to_owned();
        match status {
            200 if message.starts_with("Status updated") => changed += 1,
            200 => assert!(message.starts_with("No change"), "{message}"),
            409 => assert_eq!(message, "The card changed meanwhile; reload."),
            other => panic!("{}: unexpected {other}: {body}", t.name),
        }
    }
    assert_eq!(
        changed, 1,
        "{}: exactly one caller at version 1 wins",
        t.name
    );
    let history = app.db.card_history(&id, 100).await.expect("history");
    assert_eq!(history.len(), 20, "{}: every attempt is a row", t.name);
    let mut changes: Vec<_> = history
        .iter()
        .filter(|h| h.kind == HistoryKind::Changed)
        .collect();
    changes.reverse();
    let mut state = CardState::Ordered;
    for change in changes {
        assert_eq!(
            change.from_state, state,
            "{}: the chain is unbroken",
            t.name
        );
        assert!(change.to_state > state, "forward only");
        state = change.to_state;
    }
    let card = app.db.card(&id).await.expect("read").expect("card");
    assert_eq!(Some(card.state), Some(state), "{}: no lost update", t.name);
    assert_eq!(card.version, 2);
}
