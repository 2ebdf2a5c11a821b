//! Real `server` processes against one database and a GO Cards simulator in this test:
//! a sync killed with SIGKILL again and again loses nothing and duplicates nothing, and
//! several replicas on one PostgreSQL run the sync one at a time.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use backend::db::cards::NewCard;
use backend::db::sync::SyncRunRow;
use backend::db::Db;
use desk_core::domain::{CardState, GoCardsStatus};
use gocards_sim::{SimConfig, Simulator};

/// The simulator, in this process, on a port-0 socket.
pub(super) async fn start_sim() -> (Simulator, String) {
    let sim = Simulator::new(SimConfig::generated());
    let addr = sim
        .spawn("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator");
    (sim, format!("http://{addr}/"))
}

pub(super) fn open_cards(prefix: &str, count: usize) -> Vec<NewCard> {
    (0..count)
        .map(|i| NewCard {
            card_id: format!("CA{:010}-{prefix}{:04}", 2_400_000_000 + i, i % 10_000),
            first_name: "Proc".into(),
            last_name: format!("Holder{i}"),
            email: format!("proc{i}@example.org"),
            employee_id: format!("P{i}"),
            state: CardState::Ordered,
            ordered_at: Some(1_763_000_000_000),
        })
        .collect()
}

pub(super) async fn register(sim: &Simulator, db: &Db) {
    let open = db.open_orders().await.expect("open orders");
    sim.upsert_cards(open.iter().map(server::startup::card_info_for).collect());
}

/// A `server serve` process on its own ports, syncing every second.
pub(super) fn start_server(
    database_url: &str,
    sim_url: &str,
    sim: &Simulator,
    data: &Path,
    extra: &[(&str, &str)],
) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("DATA_DIR", data)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_SITE_ROOT", data.join("site"))
        .env("SESSION_SECRET", "process-test-session-secret-process-test")
        .env("SETTINGS_KEY", "process-test-settings-key-process-test-key")
        .env("GOCARDS_BASE_URL", sim_url)
        .env("GOCARDS_CLIENT_ID", &sim.config().client_id)
        .env("GOCARDS_CLIENT_SECRET", &sim.config().client_secret)
        .env("GOCARDS_ORGANISATION_ID", &sim.config().organisation_id)
        .env("GOCARDS_TIMEOUT_MS", "5000")
        .env("SYNC_INTERVAL_SECS", "1")
        .env("SYNC_LEASE_SECS", "2")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in extra {
        command.env(name, value);
    }
    command.spawn().expect("start the server binary")
}

fn kill(child: &mut Child) {
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

/// The state a GO Cards status puts an Ordered card in.
fn expected_state(status: &str) -> CardState {
    GoCardsStatus::parse(status)
        .card_state()
        .unwrap_or(CardState::Ordered)
}

pub(super) async fn runs(db: &Db) -> Vec<SyncRunRow> {
    let mut runs = db.sync_runs(10_000).await.expect("runs");
    runs.reverse();
    runs
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    match db {
        Db::Sqlite(pool, _) => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await,
        Db::Postgres(pool, _) => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await,
    }
    .expect("query")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_ten_times_loses_nothing_and_duplicates_nothing() {
    const CARDS: usize = 20_000;
    let data = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/cards.db?mode=rwc", data.path().display());
    let db = Db::connect(&url, 4).await.expect("db");
    db.insert_cards(&open_cards("KILL", CARDS), |_| {})
        .await
        .expect("cards");
    let (sim, sim_url) = start_sim().await;
    register(&sim, &db).await;
    let statuses = [
        "IN_PRODUCTION",
        "PRODUCED",
        "SHIPPED",
        "FAILED",
        "CANCELLED",
        "ORDERED",
    ];
    let mut want: HashMap<String, CardState> = HashMap::new();
    for (i, card) in db.open_orders().await.expect("cards").iter().enumerate() {
        let status = statuses[i % statuses.len()];
        assert!(sim.set_status(&card.card_id, status, None));
        want.insert(card.card_id.clone(), expected_state(status));
    }
    let changing = want.values().filter(|s| **s != CardState::Ordered).count() as i64;

    let mut seed = 0x2545_f491_u64;
    for kill_number in 0..10 {
        let mut child = start_server(&url, &sim_url, &sim, data.path(), &[]);
        // The first run starts a second after start; kill somewhere inside it.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait = 1_100 + seed % 1_500;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        kill(&mut child);
        let applied = scalar(
            &db,
            "SELECT COUNT(*) FROM card_history WHERE kind = 'changed'",
        )
        .await;
        eprintln!("kill {kill_number} after {wait} ms: {applied} of {changing} changes applied");
    }

    let mut child = start_server(&url, &sim_url, &sim, data.path(), &[]);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let done = runs(&db)
            .await
            .iter()
            .any(|run| run.status == desk_core::model::RunStatus::Completed);
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    kill(&mut child);

    let all = runs(&db).await;
    assert!(
        all.iter()
            .any(|run| run.status == desk_core::model::RunStatus::Completed),
        "a run completed after the kills: {all:?}"
    );
    for (card_id, expected) in &want {
        let card = db.card(card_id).await.expect("read").expect("card");
        assert_eq!(Some(card.state), Some(*expected), "{card_id}");
    }
    let duplicated = scalar(
        &db,
        "SELECT COUNT(*) FROM (SELECT card_id FROM card_history WHERE kind = 'changed' \
         GROUP BY card_id HAVING COUNT(*) > 1) d",
    )
    .await;
    assert_eq!(duplicated, 0, "no change recorded twice");
    let changes = scalar(
        &db,
        "SELECT COUNT(*) FROM card_history WHERE kind = 'changed'",
    )
    .await;
    assert_eq!(changes, changing, "one history row per change");
    let half_written = scalar(
        &db,
        "SELECT COUNT(*) FROM cards c WHERE c.state <> 'ordered' AND NOT EXISTS \
         (SELECT 1 FROM card_history h WHERE h.card_id = c.card_id AND h.kind = 'changed')",
    )
    .await;
    assert_eq!(half_written, 0, "no state without its history row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_one_postgresql_take_turns_and_one_takes_over_from_a_dead_holder() {
    let Some(test_db) = testkit::db::postgres().await else {
        return;
    };
    let db = test_db.db.clone();
    let url = test_db.url.clone();
    db.insert_cards(&open_cards("REPL", 200), |_| {})
        .await
        .expect("cards");
    let (sim, sim_url) = start_sim().await;
    register(&sim, &db).await;
    // 10 ms per GO Cards call: a run polls 200 cards in a few hundred ms.
    sim.set_fault(gocards_sim::FaultSpec {
        latency_ms: 10,
        ..gocards_sim::FaultSpec::new(gocards_sim::FaultMode::Latency)
    });
    let data = tempfile::tempdir().expect("temp dir");
    let extra = [("SYNC_STALE_AFTER_SECS", "0"), ("SYNC_CONCURRENCY", "8")];
    let mut replicas: Vec<Child> = (0..3)
        .map(|_| start_server(&url, &sim_url, &sim, data.path(), &extra))
        .collect();

    let wait_for_runs = |count: usize| {
        let db = db.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let done = runs(&db)
                    .await
                    .into_iter()
                    .filter(|run| run.status == desk_core::model::RunStatus::Completed)
                    .count();
                if done >= count || Instant::now() > deadline {
                    return done;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert!(wait_for_runs(4).await >= 4, "four runs completed");

    // Kill whichever replica holds the lease (or ran last), then another must run.
    let holder = db
        .sync_state()
        .await
        .expect("state")
        .lease_holder
        .or_else(|| {
            futures::executor::block_on(runs(&db))
                .last()
                .map(|r| r.holder.clone())
        })
        .expect("a holder");
    let pid: u32 = holder
        .strip_prefix("pid")
        .and_then(|rest| rest.split('-').next())
        .and_then(|pid| pid.parse().ok())
        .expect("holder names its pid");
    let index = replicas
        .iter()
        .position(|child| child.id() == pid)
        .expect("the holder is one of ours");
    let mut dead = replicas.remove(index);
    kill(&mut dead);
    let killed_at = backend::db::now_ms();
    let before = runs(&db).await.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    let taken_over = loop {
        let all = runs(&db).await;
        if let Some(run) = all.iter().skip(before).find(|run| {
            run.status == desk_core::model::RunStatus::Completed
                && run.holder != holder
                && run.started_at >= killed_at
        }) {
            break Some(run.clone());
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for child in &mut replicas {
        kill(child);
    }
    assert!(
        taken_over.is_some(),
        "another replica ran after the holder died"
    );

    // Runs never overlapped: each started after the one before it ended (an interrupted
    // run ends when the next one starts).
    let all = runs(&db).await;
    let holders: std::collections::HashSet<_> = all.iter().map(|r| r.holder.clone()).collect();
    assert!(holders.len() >= 2, "more than one replica ran: {holders:?}");
    for pair in all.windows(2) {
        let ended = pair[0].ended_at.expect("every earlier run has ended");
        assert!(
            pair[1].started_at >= ended,
            "runs overlap: {:?} and {:?}",
            pair[0],
            pair[1]
        );
    }
    // No card was polled twice in one run.
    let calls = sim.calls_ms();
    // (The first run applies every card from the listing; the later ones poll them all.)
    let first_id = all.first().map(|run| run.id);
    for run in all
        .iter()
        .filter(|run| run.status == desk_core::model::RunStatus::Completed)
    {
        let ended = run.ended_at.unwrap_or(i64::MAX);
        let mut seen = std::collections::HashSet::new();
        for (method, path, at) in &calls {
            if method == "GET"
                && path.starts_with("/api/card/")
                && *at >= run.started_at
                && *at <= ended
            {
                assert!(
                    seen.insert(path.clone()),
                    "run {} polled {path} twice",
                    run.id
                );
            }
        }
        if Some(run.id) != first_id {
            assert_eq!(
                seen.len(),
                200,
                "run {} polled every open order once",
                run.id
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_log() {
    let data = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/cards.db?mode=rwc", data.path().display());
    let db = Db::connect(&url, 4).await.expect("db");
    db.insert_cards(&open_cards("LOGS", 20), |_| {})
        .await
        .expect("cards");
    let (sim, sim_url) = start_sim().await;
    register(&sim, &db).await;
    let webhook_secret = "Webhook-secret-for-the-log-test-71c2";
    let log_path = data.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &url)
        .env("DATA_DIR", data.path())
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_SITE_ROOT", data.path().join("site"))
        .env("GOCARDS_BASE_URL", &sim_url)
        .env("GOCARDS_CLIENT_ID", &sim.config().client_id)
        .env("GOCARDS_CLIENT_SECRET", &sim.config().client_secret)
        .env("GOCARDS_ORGANISATION_ID", &sim.config().organisation_id)
        .env("GOCARDS_WEBHOOK_SECRET", webhook_secret)
        .env("SYNC_INTERVAL_SECS", "1")
        .env(
            "RUST_LOG",
            "trace,hyper=info,h2=info,tokio=info,runtime=info",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let mut child = command.spawn().expect("server");
    // Let a sync run (a token request with the secret, then the listing).
    let deadline = Instant::now() + Duration::from_secs(30);
    while runs(&db)
        .await
        .iter()
        .all(|run| run.status != desk_core::model::RunStatus::Completed)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    kill(&mut child);
    let text = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        text.contains("batch sync"),
        "the log was written: {} bytes",
        text.len()
    );
    assert!(
        !text.contains(&sim.config().client_secret),
        "the GO Cards secret is in the log"
    );
    assert!(
        !text.contains(webhook_secret),
        "the webhook secret is in the log"
    );
}
