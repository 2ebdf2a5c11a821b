//! The batch sync against the simulator, on both engines: every card ends in the right state
//! with one history row per change, a second run changes nothing, faults are counted and
//! retried next run, and 404s in three runs put a card on the needs-attention list. Under a
//! GO Cards outage the run stops early and a card's repeated error is one row; a listing
//! whose cursors loop ends; the lease is handed back on every way out; the schedule is saved
//! whole or not at all.

use testkit as common;

use std::time::Duration;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use app::api::{RunSyncNow, SaveSyncSchedule, SyncStatus};
use axum::extract::Query;
use axum::routing::{get, post};
use axum::Json;
use backend::db::cards::NewCard;
use backend::db::Db;
use backend::sync::{RetryPolicy, RunReport, SyncHandle, SyncSettings};
use common::app::{spawn, spawn_with, TestApp, ADMIN, OPERATOR};
use common::db::TestDb;
use desk_core::domain::CardState;
use desk_core::model::{HistoryKind, HistorySource, RunStatus, SyncScheduleInput};
use gocards::GoCardsClient;
use gocards_sim::{FaultMode, FaultSpec};
use serde_json::json;

/// One card of the sync table: how the desk has it, what GO Cards then reports, and the
/// state the sync must leave it in.
struct Case {
    card_id: &'static str,
    /// The state in the desk before the sync.
    before: CardState,
    /// The status GO Cards reports.
    reported: &'static str,
    failure_reason: Option<&'static str>,
    expected: CardState,
}

const CASES: [Case; 9] = [
    Case {
        card_id: "CA2300000001-SYNC0001",
        before: CardState::Ordered,
        reported: "IN_PRODUCTION",
        failure_reason: None,
        expected: CardState::InProduction,
    },
    Case {
        card_id: "CA2300000002-SYNC0002",
        before: CardState::Ordered,
        reported: "PRODUCED",
        failure_reason: None,
        expected: CardState::Produced,
    },
    Case {
        card_id: "CA2300000003-SYNC0003",
        before: CardState::InProduction,
        reported: "SHIPPED",
        failure_reason: None,
        expected: CardState::Produced,
    },
    Case {
        card_id: "CA2300000004-SYNC0004",
        before: CardState::InProduction,
        reported: "DELIVERED",
        failure_reason: None,
        expected: CardState::Produced,
    },
    Case {
        card_id: "CA2300000005-SYNC0005",
        before: CardState::Ordered,
        reported: "FAILED",
        failure_reason: Some("chip broken"),
        expected: CardState::Failed,
    },
    Case {
        card_id: "CA2300000006-SYNC0006",
        before: CardState::InProduction,
        reported: "CANCELLED",
        failure_reason: None,
        expected: CardState::Failed,
    },
    Case {
        card_id: "CA2300000007-SYNC0007",
        before: CardState::Ordered,
        reported: "ORDERED",
        failure_reason: None,
        expected: CardState::Ordered,
    },
    Case {
        card_id: "CA2300000008-SYNC0008",
        before: CardState::Ordered,
        reported: "QUALITY_HOLD",
        failure_reason: None,
        expected: CardState::Ordered,
    },
    // Backwards: never applied.
    Case {
        card_id: "CA2300000009-SYNC0009",
        before: CardState::InProduction,
        reported: "ORDERED",
        failure_reason: None,
        expected: CardState::InProduction,
    },
];

fn new_card(card_id: &str, state: CardState) -> NewCard {
    NewCard {
        card_id: card_id.to_owned(),
        first_name: "Sync".into(),
        last_name: "Tester".into(),
        email: "sync@example.org".into(),
        employee_id: "E9".into(),
        state,
        ordered_at: Some(1_763_000_000_000),
    }
}

/// Adds open orders to the desk and to the simulator (as ORDERED / IN_PRODUCTION). The test
/// app does not connect the demo webhook, so only the sync brings changes.
async fn add_cards(app: &TestApp, cards: &[(&str, CardState)]) {
    let new: Vec<NewCard> = cards
        .iter()
        .map(|(id, state)| new_card(id, *state))
        .collect();
    app.db.insert_cards(&new, |_| {}).await.expect("insert");
    let mut infos = Vec::new();
    for (id, _) in cards {
        let row = app.db.card(id).await.expect("read").expect("stored");
        infos.push(server::startup::card_info_for(&row));
    }
    app.sim.upsert_cards(infos);
}

async fn state_of(db: &Db, card_id: &str) -> CardState {
    db.card(card_id)
        .await
        .expect("read")
        .map(|card| card.state)
        .expect("a known card")
}

async fn history_rows(db: &Db, card_id: &str) -> Vec<desk_core::model::HistoryEntry> {
    db.card_history(card_id, 1000).await.expect("history")
}

/// The app with `card` as an Ordered open order, listed once already: each further run polls
/// every open order (the listing has nothing new, and every open order counts as stale).
async fn polling_app(test_db: &TestDb, card: &str) -> TestApp {
    let app = spawn_with(test_db.db.clone(), |config| {
        config.sync.stale_after = Duration::ZERO;
    })
    .await;
    add_cards(&app, &[(card, CardState::Ordered)]).await;
    app.run_sync().await;
    skip_listing(&app.db).await;
    app
}

/// Makes GO Cards answer every call for `card` with `mode`.
fn fail_card(app: &TestApp, card: &str, mode: FaultMode) {
    app.sim.set_fault(FaultSpec {
        card_id: Some(card.to_owned()),
        ..FaultSpec::new(mode)
    });
}

/// Runs one statement of test set-up on either engine.
pub(super) async fn execute(db: &Db, sql: &str) {
    match db {
        Db::Sqlite(pool, _) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        Db::Postgres(pool, _) => sqlx::query(sql).execute(pool).await.map(|_| ()),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Makes the changed-cards listing return nothing new, so the run is all poll.
pub(super) async fn skip_listing(db: &Db) {
    execute(
        db,
        "UPDATE sync_state SET watermark = '{\"updatedSince\":\"2100-01-01T00:00:00Z\"}' WHERE id = 1",
    )
    .await;
}

common::engines!(a_sync_applies_every_status_once_and_a_second_run_changes_nothing);
async fn a_sync_applies_every_status_once_and_a_second_run_changes_nothing(test_db: TestDb) {
    let app = spawn(test_db.db.clone()).await;
    let cards: Vec<(&str, CardState)> = CASES.iter().map(|c| (c.card_id, c.before)).collect();
    add_cards(&app, &cards).await;
    for case in &CASES {
        app.sim_status(case.card_id, case.reported, case.failure_reason)
            .await;
    }

    let first = app.run_sync().await;
    assert_eq!(
        first.status,
        desk_core::model::RunStatus::Completed,
        "{}: {first:?}",
        test_db.name
    );
    assert_eq!(first.counts.failed, 0, "{}", test_db.name);
    assert_eq!(first.counts.changed, 6, "{}: {first:?}", test_db.name);
    for &Case {
        card_id,
        before,
        reported: status,
        failure_reason: reason,
        expected,
    } in &CASES
    {
        assert_eq!(
            state_of(&app.db, card_id).await,
            expected,
            "{}: {card_id} after {status}",
            test_db.name
        );
        let history = history_rows(&app.db, card_id).await;
        let changes: Vec<_> = history
            .iter()
            .filter(|h| h.kind == HistoryKind::Changed)
            .collect();
        if expected == before {
            assert!(
                history.is_empty(),
                "{}: no row for no change: {history:?}",
                test_db.name
            );
        } else {
            assert_eq!(changes.len(), 1, "{}: {card_id}: {history:?}", test_db.name);
            assert_eq!(changes[0].source, HistorySource::Sync);
            assert_eq!(changes[0].gocards_status.as_deref(), Some(status));
            if let Some(reason) = reason {
                assert_eq!(changes[0].detail.as_deref(), Some(reason));
            }
        }
        let card = app.db.card(card_id).await.expect("read").expect("card");
        assert!(card.last_checked_at.is_some(), "{card_id} checked");
    }
    let cancelled = app
        .db
        .card(CASES[5].card_id)
        .await
        .expect("read")
        .expect("card");
    assert_eq!(
        cancelled.failure_reason.as_deref(),
        Some("order cancelled in GO Cards")
    );

    let second = app.run_sync().await;
    assert_eq!(second.status, desk_core::model::RunStatus::Completed);
    assert_eq!(second.counts.changed, 0, "{}: {second:?}", test_db.name);
    let rows_after: usize = {
        let mut total = 0;
        for case in &CASES {
            total += history_rows(&app.db, case.card_id).await.len();
        }
        total
    };
    assert_eq!(
        rows_after, 6,
        "{}: one row per change, no more",
        test_db.name
    );
}

common::engines!(the_poll_catches_what_the_listing_missed);
async fn the_poll_catches_what_the_listing_missed(test_db: TestDb) {
    let app = polling_app(&test_db, "CA2300000011-POLL0001").await;
    app.sim_status("CA2300000011-POLL0001", "IN_PRODUCTION", None)
        .await;
    let calls_before = app.sim.calls().len();

    let report = app.run_sync().await;
    assert_eq!(
        report.status,
        desk_core::model::RunStatus::Completed,
        "{report:?}"
    );
    assert_eq!(
        state_of(&app.db, "CA2300000011-POLL0001").await,
        CardState::InProduction,
        "{}",
        test_db.name
    );
    let polled: Vec<_> = app.sim.calls()[calls_before..]
        .iter()
        .filter(|(method, path, _)| method == "GET" && path.starts_with("/api/card/"))
        .map(|(_, path, _)| path.clone())
        .collect();
    // Every open order once: the two sample ones and this one.
    assert_eq!(polled.len(), 3, "{}: {polled:?}", test_db.name);
    let mut unique = polled.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), polled.len(), "no card polled twice in a run");
}

#[tokio::test]
async fn faults_are_counted_and_retried_next_run() {
    let test_db = common::db::sqlite().await;
    let card = "CA2300000021-FALT0001";
    let app = polling_app(&test_db, card).await;

    for mode in [
        FaultMode::Error500,
        FaultMode::Error429,
        FaultMode::Timeout,
        FaultMode::Malformed,
        FaultMode::Drop,
    ] {
        app.sim_status(card, "IN_PRODUCTION", None).await;
        app.sim.set_fault(FaultSpec {
            card_id: Some(card.to_owned()),
            latency_ms: 1_700,
            retry_after: 1,
            ..FaultSpec::new(mode)
        });
        let history_before = history_rows(&app.db, card).await.len();
        let report = app.run_sync().await;
        assert_eq!(
            report.status,
            desk_core::model::RunStatus::Completed,
            "{mode:?}: {report:?}"
        );
        assert_eq!(report.counts.failed, 1, "{mode:?}: {report:?}");
        assert_eq!(report.counts.checked, 3, "{mode:?}: {report:?}");
        assert_eq!(
            state_of(&app.db, card).await,
            CardState::Ordered,
            "{mode:?}"
        );
        let history = history_rows(&app.db, card).await;
        assert_eq!(history.len(), history_before + 1, "{mode:?}: one error row");
        assert_eq!(history[0].kind, HistoryKind::Error, "{mode:?}");
        assert_eq!(history[0].source, HistorySource::Sync, "{mode:?}");
        let errors = app.db.sync_errors(report.run_id, 10).await.expect("errors");
        assert_eq!(errors.len(), 1, "{mode:?}");
        assert_eq!(errors[0].card_id.as_deref(), Some(card));
        // The sample cards were not disturbed.
        assert_eq!(
            state_of(&app.db, "CA2202040404-5GG3F4C8").await,
            CardState::Ordered
        );
    }

    app.sim.set_fault(FaultSpec::new(FaultMode::None));
    let report = app.run_sync().await;
    assert_eq!(report.counts.failed, 0, "{report:?}");
    assert_eq!(state_of(&app.db, card).await, CardState::InProduction);
}

#[tokio::test]
async fn an_unreadable_listing_fails_the_run_and_the_next_run_resumes() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    let card = "CA2300000031-LIST0001";
    add_cards(&app, &[(card, CardState::Ordered)]).await;
    app.sim_status(card, "PRODUCED", None).await;
    app.sim.set_fault(FaultSpec::new(FaultMode::Error500));

    let report = app.run_sync().await;
    assert_eq!(
        report.status,
        desk_core::model::RunStatus::Failed,
        "{report:?}"
    );
    assert!(
        report
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("listing"),
        "{report:?}"
    );
    assert_eq!(state_of(&app.db, card).await, CardState::Ordered);
    assert_eq!(app.db.sync_state().await.expect("state").watermark, None);

    app.sim.set_fault(FaultSpec::new(FaultMode::None));
    let report = app.run_sync().await;
    assert_eq!(
        report.status,
        desk_core::model::RunStatus::Completed,
        "{report:?}"
    );
    assert_eq!(state_of(&app.db, card).await, CardState::Produced);
    assert!(app
        .db
        .sync_state()
        .await
        .expect("state")
        .watermark
        .is_some());
}

common::engines!(a_card_gone_from_gocards_three_runs_in_a_row_needs_attention);
async fn a_card_gone_from_gocards_three_runs_in_a_row_needs_attention(test_db: TestDb) {
    let card = "CA2300000041-GONE0001";
    let app = polling_app(&test_db, card).await;
    fail_card(&app, card, FaultMode::Error404);
    for run in 1..=3 {
        assert!(
            app.db
                .sync_needs_attention(10)
                .await
                .expect("list")
                .is_empty(),
            "{}: not before run {run}",
            test_db.name
        );
        let report = app.run_sync().await;
        assert_eq!(report.counts.failed, 1, "{report:?}");
    }
    let list = app.db.sync_needs_attention(10).await.expect("list");
    assert_eq!(list.len(), 1, "{}", test_db.name);
    assert_eq!(list[0].card_id, card);
    assert_eq!(list[0].runs, 3);

    // GO Cards knows it again: off the list.
    app.sim.set_fault(FaultSpec::new(FaultMode::None));
    app.run_sync().await;
    assert!(app
        .db
        .sync_needs_attention(10)
        .await
        .expect("list")
        .is_empty());
}

#[tokio::test]
async fn run_now_is_for_admins_and_the_view_shows_the_counts() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    add_cards(&app, &[("CA2300000051-RNOW0001", CardState::Ordered)]).await;
    app.sim_status("CA2300000051-RNOW0001", "IN_PRODUCTION", None)
        .await;

    let operator = app.login(OPERATOR).await;
    let (status, _) = app.call_fn(Some(&operator), RunSyncNow {}).await;
    assert_eq!(status, 403);
    assert!(app.db.sync_runs(1).await.expect("runs").is_empty());

    let admin = app.login(ADMIN).await;
    let (status, body) = app.call_fn(Some(&admin), RunSyncNow {}).await;
    assert_eq!(status, 200, "{body}");
    // The scheduler was woken; wait for its run to finish.
    let mut view = body;
    for _ in 0..100 {
        let (_, current) = app.call_fn(Some(&admin), SyncStatus {}).await;
        view = current;
        if view["last_run"]["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(view["last_run"]["status"], "completed", "{view}");
    assert_eq!(view["last_run"]["started_by"], "admin", "{view}");
    assert_eq!(view["last_run"]["changed"], 1, "{view}");
    assert_eq!(view["status"], "idle", "{view}");
    assert_eq!(
        state_of(&app.db, "CA2300000051-RNOW0001").await,
        CardState::InProduction
    );
}

#[tokio::test]
async fn the_schedule_is_validated_and_audited() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    let admin = app.login(ADMIN).await;
    for bad in ["", "abc", "5", "-10", "999999999"] {
        let (status, body) = app
            .call_fn(
                Some(&admin),
                SaveSyncSchedule {
                    schedule: SyncScheduleInput {
                        enabled: true,
                        interval_secs: bad.into(),
                    },
                },
            )
            .await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("seconds"),
            "{body}"
        );
    }
    assert_eq!(
        app.db.setting("sync.interval_secs").await.expect("read"),
        None
    );

    let (status, body) = app
        .call_fn(
            Some(&admin),
            SaveSyncSchedule {
                schedule: SyncScheduleInput {
                    enabled: true,
                    interval_secs: "600".into(),
                },
            },
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["interval_secs"], 600);
    assert_eq!(body["enabled"], true);
    assert!(body["next_run"].is_string(), "{body}");
    let audit = app.db.audit_log(20).await.expect("audit");
    assert!(
        audit.iter().any(|line| line.detail.contains("600")),
        "{audit:?}"
    );
}

/// The sync's settings for a run driven by the test: every open order stale, quick retries.
fn quick_sync() -> SyncSettings {
    SyncSettings {
        stale_after: Duration::ZERO,
        retry: RetryPolicy {
            attempts: 3,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        },
        ..SyncSettings::default()
    }
}

/// A GO Cards client for a port nobody listens on: every call is refused.
fn unreachable_gocards() -> GoCardsClient {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    // The listener is dropped here: connections to `addr` are refused.
    GoCardsClient::new(common::gocards::config_for(addr).expect("config")).expect("client")
}

async fn count(db: &Db, sql: &str) -> i64 {
    match db {
        Db::Sqlite(pool, _) => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await,
        Db::Postgres(pool, _) => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The run failed, and its error says `words`.
fn assert_failed_with(report: &RunReport, words: &str, engine: &str) {
    assert_eq!(report.status, RunStatus::Failed, "{engine}: {report:?}");
    let error = report.error.as_deref().unwrap_or_default();
    assert!(error.contains(words), "{engine}: {report:?}");
}

async fn run_now(db: &Db, gocards: &GoCardsClient, sync: &SyncHandle) -> RunReport {
    db.sync_request_run("test").await.expect("request");
    backend::sync::run_if_due(db, gocards, sync)
        .await
        .expect("sync storage")
        .expect("the sync ran")
}

common::engines!(an_outage_stops_the_poll_and_is_recorded_once);
async fn an_outage_stops_the_poll_and_is_recorded_once(test_db: TestDb) {
    const CARDS: usize = 10_000;
    let db = &test_db.db;
    db.insert_cards(&super::processes::open_cards("DOWN", CARDS), |_| {})
        .await
        .expect("cards");
    let settings = quick_sync();
    let limit = settings.max_consecutive_failures;
    assert_eq!(limit, 20, "the default of SYNC_MAX_CONSECUTIVE_FAILURES");
    let sync = SyncHandle::new(settings);

    let started = std::time::Instant::now();
    let report = run_now(db, &unreachable_gocards(), &sync).await;
    eprintln!(
        "{}: the outage run over {CARDS} stale cards took {:?}: {report:?}",
        test_db.name,
        started.elapsed()
    );

    assert_failed_with(&report, "GO Cards unreachable", test_db.name);
    let history = count(db, "SELECT COUNT(*) FROM card_history").await;
    assert!(
        (1..=limit as i64).contains(&history),
        "{}: at most {limit} history rows, not one per stale card: {history}",
        test_db.name
    );
    assert!(
        report.counts.checked <= limit as i64,
        "{}: {report:?}",
        test_db.name
    );
    let errors = db.sync_errors(report.run_id, 10_000).await.expect("errors");
    let unreachable: Vec<_> = errors
        .iter()
        .filter(|e| e.card_id.is_none() && e.message.contains("GO Cards unreachable"))
        .collect();
    assert_eq!(unreachable.len(), 1, "{}: {errors:?}", test_db.name);
    assert!(
        errors.len() <= limit + 1,
        "{}: the card errors stop with the poll: {}",
        test_db.name,
        errors.len()
    );
}

common::engines!(a_repeated_error_is_one_history_row_counted);
async fn a_repeated_error_is_one_history_row_counted(test_db: TestDb) {
    let card = "CA2300000061-RPET0001";
    let app = polling_app(&test_db, card).await;

    fail_card(&app, card, FaultMode::Error500);
    for _ in 0..3 {
        let report = app.run_sync().await;
        assert_eq!(report.counts.failed, 1, "{}: {report:?}", test_db.name);
    }
    let history = history_rows(&app.db, card).await;
    assert_eq!(history.len(), 1, "{}: {history:?}", test_db.name);
    assert_eq!(history[0].kind, HistoryKind::Error);
    assert_eq!(history[0].repeats, 3, "{}: {history:?}", test_db.name);
    assert!(history[0].last_at.is_some(), "{history:?}");

    // The profile shows it as one row.
    let operator = app.login(OPERATOR).await;
    let (status, html) = app.page(&format!("/cards/{card}"), Some(&operator)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("failed again (×3, last at "),
        "{}",
        test_db.name
    );

    // A different error is a row of its own.
    fail_card(&app, card, FaultMode::Error404);
    app.run_sync().await;
    let history = history_rows(&app.db, card).await;
    assert_eq!(history.len(), 2, "{}: {history:?}", test_db.name);
    assert_eq!(history[0].repeats, 1, "{history:?}");
    assert_eq!(
        history[0].detail.as_deref(),
        Some("Card not found in GO Cards.")
    );
    assert_eq!(history[1].repeats, 3, "{history:?}");
}

/// A GO Cards double whose listing goes A → B → A: the page after cursor B names A again.
async fn looping_listing() -> (GoCardsClient, Arc<AtomicUsize>) {
    let listed = Arc::new(AtomicUsize::new(0));
    let calls = listed.clone();
    let page = move |Query(query): Query<HashMap<String, String>>| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let (item, next) = match query.get("afterCardId").map(String::as_str) {
                None => (1, "A"),
                Some("A") => (2, "B"),
                _ => (3, "A"),
            };
            let mut card =
                serde_json::to_value(common::gocards::card(item, "ORDERED")).unwrap_or_default();
            card["updated"] = json!("2026-11-20T09:12:00Z");
            Json(json!({
                "items": [card],
                "next": {"updatedSince": "2026-11-20T09:12:00Z", "afterCardId": next},
            }))
        }
    };
    let router = axum::Router::new()
        .route("/oauth/token", post(common::gocards::grant_token))
        .route("/api/cards", get(page));
    let addr = common::gocards::serve(router).await.expect("double");
    let client =
        GoCardsClient::new(common::gocards::config_for(addr).expect("config")).expect("client");
    (client, listed)
}

common::engines!(a_listing_cursor_that_loops_ends_the_run_with_an_error);
async fn a_listing_cursor_that_loops_ends_the_run_with_an_error(test_db: TestDb) {
    let db = &test_db.db;
    let (client, listed) = looping_listing().await;
    let sync = SyncHandle::new(quick_sync());

    db.sync_request_run("test").await.expect("request");
    let report = tokio::time::timeout(
        Duration::from_secs(30),
        backend::sync::run_if_due(db, &client, &sync),
    )
    .await
    .expect("the run ends instead of looping")
    .expect("storage")
    .expect("the sync ran");

    assert_failed_with(&report, "back to a page it had already sent", test_db.name);
    assert_eq!(
        listed.load(Ordering::SeqCst),
        3,
        "A, B, then the loop is seen"
    );
    // The watermark is the last page that was read through (B), not the loop's A.
    let watermark = db.sync_state().await.expect("state").watermark;
    assert!(
        watermark
            .as_deref()
            .unwrap_or_default()
            .contains("\"afterCardId\":\"B\""),
        "{}: {watermark:?}",
        test_db.name
    );
    assert_eq!(db.sync_state().await.expect("state").lease_holder, None);
}

common::engines!(a_storage_error_hands_the_lease_back);
async fn a_storage_error_hands_the_lease_back(test_db: TestDb) {
    let db = &test_db.db;
    let sim = common::gocards::start_sim().await.expect("sim");
    let client = sim.client().expect("client");
    let sync = SyncHandle::new(quick_sync());

    // The run itself cannot be recorded.
    execute(db, "ALTER TABLE sync_runs RENAME TO sync_runs_away").await;
    db.sync_request_run("test").await.expect("request");
    let outcome = backend::sync::run_if_due(db, &client, &sync).await;
    assert!(outcome.is_err(), "{}: {outcome:?}", test_db.name);
    assert_eq!(db.sync_state().await.expect("state").lease_holder, None);
    execute(db, "ALTER TABLE sync_runs_away RENAME TO sync_runs").await;

    // The run works but the schedule after it cannot be read.
    execute(db, "ALTER TABLE settings RENAME TO settings_away").await;
    db.sync_request_run("test").await.expect("request");
    let outcome = backend::sync::run_if_due(db, &client, &sync).await;
    let state = db.sync_state().await.expect("state");
    assert_eq!(state.lease_holder, None, "{}: {outcome:?}", test_db.name);
    assert!(
        state.next_run_at.is_some(),
        "the next run stays scheduled: {state:?}"
    );
    execute(db, "ALTER TABLE settings_away RENAME TO settings").await;

    // Another process takes the next run at once.
    let other = SyncHandle::new(quick_sync());
    let report = run_now(db, &client, &other).await;
    assert_eq!(report.status, RunStatus::Completed, "{report:?}");
}

common::engines!(a_run_dropped_half_way_stops_its_heartbeat_and_hands_the_lease_back);
async fn a_run_dropped_half_way_stops_its_heartbeat_and_hands_the_lease_back(test_db: TestDb) {
    let db = test_db.db.clone();
    let sim = common::gocards::start_sim().await.expect("sim");
    // Every GO Cards call takes 5 s, so the run is inside one when it is dropped.
    sim.sim.set_fault(FaultSpec {
        latency_ms: 5_000,
        ..FaultSpec::new(FaultMode::Latency)
    });
    let client = sim.client().expect("client");
    let sync = SyncHandle::new(SyncSettings {
        lease_ttl: Duration::from_millis(300),
        ..quick_sync()
    });
    db.sync_request_run("test").await.expect("request");
    let running = {
        let (db, sync) = (db.clone(), sync.clone());
        tokio::spawn(async move { backend::sync::run_if_due(&db, &client, &sync).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        db.sync_state()
            .await
            .expect("state")
            .lease_holder
            .as_deref(),
        Some(sync.holder()),
        "the run holds the lease"
    );
    running.abort();
    let _ = running.await;

    // No heartbeat renews it any more, and the guard handed it back.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let state = db.sync_state().await.expect("state");
    assert_eq!(state.lease_holder, None, "{}: {state:?}", test_db.name);
    assert_eq!(state.lease_until, None, "{}: {state:?}", test_db.name);
}

common::engines!(the_schedule_is_saved_whole_or_not_at_all);
async fn the_schedule_is_saved_whole_or_not_at_all(test_db: TestDb) {
    let db = &test_db.db;
    let sync = SyncHandle::new(SyncSettings::default());
    // The second of the two settings cannot be written.
    match db {
        Db::Sqlite(_, _) => {
            execute(
                db,
                "CREATE TRIGGER refuse_interval BEFORE INSERT ON settings \
                 WHEN NEW.key = 'sync.interval_secs' BEGIN SELECT RAISE(ABORT, 'refused'); END",
            )
            .await
        }
        Db::Postgres(_, _) => {
            execute(
                db,
                "ALTER TABLE settings ADD CONSTRAINT refuse_interval \
                 CHECK (key <> 'sync.interval_secs')",
            )
            .await
        }
    }
    let audit_before = db.audit_log(100).await.expect("audit").len();
    let saved = backend::sync::save_schedule(db, &sync, false, "600", "admin").await;
    assert!(saved.is_err(), "{}: {saved:?}", test_db.name);
    assert_eq!(
        db.setting("sync.enabled").await.expect("read"),
        None,
        "{}: the first setting was not kept alone",
        test_db.name
    );
    assert_eq!(db.audit_log(100).await.expect("audit").len(), audit_before);

    // Both land together once the write can succeed.
    match db {
        Db::Sqlite(_, _) => execute(db, "DROP TRIGGER refuse_interval").await,
        Db::Postgres(_, _) => {
            execute(db, "ALTER TABLE settings DROP CONSTRAINT refuse_interval").await
        }
    }
    backend::sync::save_schedule(db, &sync, false, "600", "admin")
        .await
        .expect("saved");
    assert_eq!(
        db.setting("sync.enabled").await.expect("read").as_deref(),
        Some("false")
    );
    assert_eq!(
        db.setting("sync.interval_secs")
            .await
            .expect("read")
            .as_deref(),
        Some("600")
    );
}

/// The listing's page is one transaction, a savepoint per card: a card whose write the
/// database refuses (here a trigger, standing in for any statement that fails) rolls back
/// alone. The other cards of the page are stored with their history rows, the bad one keeps
/// its state and gets its error row, and live events go out for the stored ones only, after
/// the commit.
async fn a_card_the_database_refuses_rolls_back_alone_in_its_page(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let refuse = match t.name {
        "postgres" => {
            "CREATE FUNCTION refuse_card() RETURNS trigger AS $$ BEGIN \
               IF NEW.failure_reason = 'refuse me' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
               RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_card BEFORE UPDATE ON cards FOR EACH ROW EXECUTE FUNCTION refuse_card();"
        }
        _ => {
            "CREATE TRIGGER refuse_card BEFORE UPDATE ON cards \
             WHEN NEW.failure_reason = 'refuse me' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
        }
    };
    backend::db::on_pool!(&t.db, pool => sqlx::raw_sql(refuse).execute(pool).await.map(|_| ()))
        .expect("the refusing trigger");
    let numbers = [9101_u32, 9102, 9103];
    let ids: Vec<String> = numbers
        .iter()
        .map(|&n| common::gocards::test_card_id(n).to_string())
        .collect();
    let cards: Vec<NewCard> = ids
        .iter()
        .map(|id| NewCard {
            card_id: id.clone(),
            first_name: "Page".into(),
            last_name: "Savepoint".into(),
            email: "page@example.org".into(),
            employee_id: id.clone(),
            state: CardState::Ordered,
            ordered_at: Some(1_763_000_000_000),
        })
        .collect();
    t.db.insert_cards(&cards, |_| {}).await.expect("cards");
    app.sim.upsert_cards(
        numbers
            .iter()
            .map(|&n| common::gocards::card(n, "ORDERED"))
            .collect(),
    );
    for (id, reason) in ids
        .iter()
        .zip(["Chip defect", "refuse me", "Photo unusable"])
    {
        assert!(app.sim.set_status(id, "FAILED", Some(reason.to_owned())));
    }
    let mut events = t.db.events().subscribe();

    let report = app.run_sync().await;
    assert_eq!(
        report.status,
        RunStatus::Completed,
        "{}: {report:?}",
        t.name
    );
    // The refused card fails twice: in its listing page, and again when the poll asks for it
    // (it is still an open order never checked). Its error is one row, counted twice.
    assert_eq!(
        (report.counts.changed, report.counts.failed),
        (2, 2),
        "{}",
        t.name
    );
    for (id, expected) in ids
        .iter()
        .zip([CardState::Failed, CardState::Ordered, CardState::Failed])
    {
        let card = t.db.card(id).await.expect("read").expect("card");
        assert_eq!(card.state, expected, "{}: {id}", t.name);
        let history = t.db.card_history(id, 10).await.expect("history");
        assert_eq!(history.len(), 1, "{}: {id}: {history:?}", t.name);
        let kind = if expected == CardState::Failed {
            HistoryKind::Changed
        } else {
            HistoryKind::Error
        };
        assert_eq!(history[0].kind, kind, "{}: {id}", t.name);
    }
    let refused = t.db.card(&ids[1]).await.expect("read").expect("card");
    assert_eq!(
        (refused.version, refused.failure_reason),
        (1, None),
        "{}",
        t.name
    );

    // Live events: the two stored cards, not the refused one.
    let mut seen = Vec::new();
    while let Ok(next) = tokio::time::timeout(Duration::from_millis(300), events.next()).await {
        match next {
            backend::events::Next::Event(event) => {
                if let desk_core::model::LiveEvent::Card(card) = event.as_ref() {
                    seen.push(card.card_id.clone());
                }
            }
            backend::events::Next::Closed => break,
            _ => {}
        }
    }
    assert!(
        seen.contains(&ids[0]) && seen.contains(&ids[2]),
        "{}: {seen:?}",
        t.name
    );
    assert!(
        !seen.contains(&ids[1]),
        "{}: an event of the refused card: {seen:?}",
        t.name
    );
}
common::engines!(a_card_the_database_refuses_rolls_back_alone_in_its_page);
