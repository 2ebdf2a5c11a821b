//! Retention (issue 12): webhook events past their age, sync runs beyond the newest N with
//! their errors, and expired sessions are deleted; recent ones, card history and the admin
//! audit log are kept. Once directly, and by the app's own periodic task.

use std::time::Duration;

use testkit as common;

use backend::auth::DeskSessionStore;
use backend::db::history::NewHistory;
use backend::db::{now_ms, Db};
use common::app::spawn_with;
use common::db::TestDb;
use desk_core::domain::CardState;
use desk_core::model::{HistoryKind, HistorySource};
use server::retention::{self, prune_once, RetentionSettings};
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::SessionStore;

const CARD: &str = "CA2202040404-5GG3F4C8";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Runs one statement on either engine.
async fn exec(db: &Db, sql: &str) {
    backend::on_pool!(db, pool => sqlx::query(sql).execute(pool).await.map(|_| ())).expect(sql);
}

async fn count(db: &Db, sql: &str) -> i64 {
    backend::on_pool!(db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await)
        .expect(sql)
}

/// Webhook events received `age_days` ago.
async fn webhook_events(db: &Db, prefix: &str, n: usize, age_days: i64) {
    for i in 0..n {
        let id = format!("{prefix}-{i}");
        assert!(db.webhook_event_record(&id, CARD).await.expect("event"));
        let at = now_ms() - age_days * DAY_MS;
        exec(
            db,
            &format!("UPDATE webhook_events SET received_at = {at} WHERE event_id = '{id}'"),
        )
        .await;
    }
}

/// `n` finished runs with two errors each; their ids.
async fn sync_runs(db: &Db, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let id = db.sync_start_run("test", "schedule").await.expect("run");
        db.sync_finish_run(
            id,
            desk_core::model::RunStatus::Completed,
            Default::default(),
            None,
        )
        .await
        .expect("finish");
        for _ in 0..2 {
            db.sync_record_error(id, Some(CARD), "GO Cards is unavailable")
                .await
                .expect("error");
        }
        ids.push(id);
    }
    ids
}

/// A session that expires `in_secs` from now (negative: expired).
async fn session(store: &DeskSessionStore, in_secs: i64) -> Id {
    let mut record = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: OffsetDateTime::now_utc()
            + tower_sessions::cookie::time::Duration::seconds(in_secs),
    };
    store.create(&mut record).await.expect("session");
    record.id
}

async fn sessions_stored(db: &Db) -> i64 {
    match db {
        Db::Sqlite(_, _) => count(db, "SELECT COUNT(*) FROM tower_sessions").await,
        Db::Postgres(_, _) => count(db, "SELECT COUNT(*) FROM tower_sessions.session").await,
    }
}

common::engines!(old_rows_go_and_recent_rows_card_history_and_the_audit_log_stay);
async fn old_rows_go_and_recent_rows_card_history_and_the_audit_log_stay(t: TestDb) {
    // No app: only the calls below prune.
    let db = &t.db;
    db.insert_cards(&common::app::cards(), |_| {})
        .await
        .expect("cards");
    let store = DeskSessionStore::new(db).await.expect("store");

    webhook_events(db, "E-OLD", 3, 40).await;
    webhook_events(db, "E-EDGE", 2, 29).await;
    webhook_events(db, "E-NEW", 2, 0).await;
    let runs = sync_runs(db, 7).await;
    let expired = session(&store, -60).await;
    let live = session(&store, 3600).await;
    // Old card history and audit lines: kept, however old.
    let event = NewHistory {
        kind: HistoryKind::Error,
        source: HistorySource::Sync,
        actor: None,
        from_state: CardState::Ordered,
        to_state: CardState::Ordered,
        gocards_status: None,
        detail: Some("GO Cards is unavailable"),
    };
    db.append_history(CARD, &event).await.expect("history");
    let long_ago = now_ms() - 4_000 * DAY_MS;
    exec(db, &format!("UPDATE card_history SET at = {long_ago}")).await;
    exec(
        db,
        &format!(
            "INSERT INTO admin_audit (at, actor, action, detail) VALUES ({long_ago}, 'admin', 'test', 'old')"
        ),
    )
    .await;
    let history = count(db, "SELECT COUNT(*) FROM card_history").await;
    let audit = count(db, "SELECT COUNT(*) FROM admin_audit").await;
    let sessions = sessions_stored(db).await;

    let settings = RetentionSettings {
        webhook_events_max_age: retention::days(30),
        sync_runs_keep: 4,
        ..RetentionSettings::default()
    };
    let pruned = prune_once(db, &store, &settings).await.expect("prune");
    assert_eq!(pruned.webhook_events, 3, "{}", t.name);
    assert_eq!(
        (pruned.sync_runs.runs, pruned.sync_runs.errors),
        (3, 6),
        "{}",
        t.name
    );

    for (prefix, kept) in [("E-OLD-0", false), ("E-EDGE-0", true), ("E-NEW-0", true)] {
        assert_eq!(
            db.webhook_event_seen(prefix).await.expect("seen"),
            kept,
            "{}: {prefix}",
            t.name
        );
    }
    let kept_runs: Vec<i64> = db
        .sync_runs(100)
        .await
        .expect("runs")
        .into_iter()
        .map(|run| run.id)
        .collect();
    let mut newest: Vec<i64> = runs[3..].to_vec();
    newest.reverse();
    assert_eq!(kept_runs, newest, "{}: the newest four", t.name);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM sync_errors").await,
        8,
        "{}",
        t.name
    );
    let oldest_kept = runs[3];
    assert_eq!(
        count(
            db,
            &format!("SELECT COUNT(*) FROM sync_errors WHERE run_id < {oldest_kept}")
        )
        .await,
        0,
        "{}: no error outlives its run",
        t.name
    );

    assert_eq!(sessions_stored(db).await, sessions - 1, "{}", t.name);
    assert!(store.load(&live).await.expect("load").is_some());
    assert!(store.load(&expired).await.expect("load").is_none());

    assert_eq!(
        count(db, "SELECT COUNT(*) FROM card_history").await,
        history
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM admin_audit").await, audit);

    // Nothing more to do the second time.
    let again = prune_once(db, &store, &settings).await.expect("prune");
    assert_eq!(again, retention::Pruned::default(), "{}", t.name);
}

common::engines!(the_app_prunes_on_its_own_schedule);
async fn the_app_prunes_on_its_own_schedule(t: TestDb) {
    let app = spawn_with(t.db.clone(), |config| {
        config.retention.every = Duration::from_millis(100);
        config.retention.sync_runs_keep = 2;
    })
    .await;
    webhook_events(&app.db, "E-OLD", 2, 31).await;
    sync_runs(&app.db, 5).await;
    for _ in 0..100 {
        let events = count(&app.db, "SELECT COUNT(*) FROM webhook_events").await;
        let runs = count(&app.db, "SELECT COUNT(*) FROM sync_runs").await;
        if events == 0 && runs == 2 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{}: the periodic task did not prune within 5 s", t.name);
}
