//! A PostgreSQL outage, on a server of the test's own (`testkit::pg_cluster`), never the
//! machine's shared one: operators keep working (server functions, a page, `/readyz`, log-in)
//! while the server is killed and started again. While it is down every reply comes within
//! 5 s, 503 with the sentence, never 500; within 5 s of its return the desk answers again,
//! with no restart of the desk; and no card is half-written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testkit as common;

use app::api::{CardProfile, UpdateCardOrder, DATABASE_UNAVAILABLE};
use backend::db::cards::NewCard;
use backend::db::Db;
use common::app::{spawn, TestApp, OPERATOR};
use common::pg_cluster::PgCluster;
use desk_core::domain::CardState;

/// The longest any reply may take, outage or not.
const REPLY_LIMIT: Duration = Duration::from_secs(5);
/// How soon after PostgreSQL is back the desk must answer again.
const RECOVERY_LIMIT: Duration = Duration::from_secs(5);
const OUTAGE: Duration = Duration::from_secs(8);
const WORKERS: usize = 3;
const EXTRA_CARDS: u32 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Profile,
    Update,
    Page,
    Ready,
    LogIn,
}

#[derive(Debug)]
struct Reply {
    call: Call,
    started: Instant,
    took: Duration,
    status: u16,
    body: String,
}

impl Reply {
    fn ended(&self) -> Instant {
        self.started + self.took
    }

    fn ok(&self) -> bool {
        (200..400).contains(&self.status)
    }
}

type Log = Arc<Mutex<Vec<Reply>>>;

fn record(log: &Log, call: Call, started: Instant, status: u16, body: String) {
    let reply = Reply {
        call,
        started,
        took: started.elapsed(),
        status,
        body,
    };
    log.lock().expect("reply log").push(reply);
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Open orders the workers run Update card order on, known to the simulator.
async fn add_open_orders(app: &TestApp) -> Vec<String> {
    let cards: Vec<NewCard> = (0..EXTRA_CARDS)
        .map(|n| NewCard {
            card_id: format!("CA44{n:08}-OUTG{n:04}"),
            first_name: "Outage".into(),
            last_name: format!("Holder{n}"),
            email: "outage@example.org".into(),
            employee_id: format!("O{n}"),
            state: CardState::Ordered,
            ordered_at: Some(1_763_000_000_000),
        })
        .collect();
    app.db.insert_cards(&cards, |_| {}).await.expect("cards");
    let mut ids = Vec::new();
    for card in &cards {
        let row = app
            .db
            .card(&card.card_id)
            .await
            .expect("read")
            .expect("card");
        app.sim
            .upsert_cards(vec![server::startup::card_info_for(&row)]);
        ids.push(card.card_id.clone());
    }
    ids
}

/// One operator: opens each of its cards and runs Update card order on the open ones, until
/// `until`.
async fn operator(app: Arc<TestApp>, cookie: String, cards: Vec<String>, until: Instant, log: Log) {
    let mut turn = 0usize;
    while Instant::now() < until {
        let card_id = cards[turn % cards.len()].clone();
        turn += 1;
        let started = Instant::now();
        let (status, profile) = app
            .call_fn(
                Some(&cookie),
                CardProfile {
                    card_id: card_id.clone(),
                },
            )
            .await;
        record(&log, Call::Profile, started, status, text(&profile));
        let open = matches!(
            profile["state"].as_str(),
            Some("ordered") | Some("in_production")
        );
        if let (200, true, Some(version)) = (status, open, profile["version"].as_i64()) {
            let started = Instant::now();
            let (status, body) = app
                .call_fn(
                    Some(&cookie),
                    UpdateCardOrder {
                        card_id,
                        expected_version: version,
                    },
                )
                .await;
            record(&log, Call::Update, started, status, text(&body));
        }
    }
}

/// Asks one thing again and again until `until`: the search page, `/readyz`, or a log-in.
/// Log-ins are tried only while `down`: in a test build a log-in's argon2id hash alone takes
/// seconds, which says nothing about the database.
async fn prober(
    app: Arc<TestApp>,
    call: Call,
    cookie: String,
    until: Instant,
    down: Arc<AtomicBool>,
    log: Log,
) {
    while Instant::now() < until {
        let started = Instant::now();
        let (status, body) = match call {
            Call::Page => app.page("/search", Some(&cookie)).await,
            Call::Ready => app.page("/readyz", None).await,
            Call::LogIn if down.load(Ordering::Relaxed) => app.login_attempt(OPERATOR).await,
            _ => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        record(&log, call, started, status, body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_is_answered_503_in_time_and_the_desk_recovers_by_itself() {
    let Some(cluster) = PgCluster::start().await else {
        return;
    };
    cluster.create_database("carddesk").await;
    let db = Db::connect(&cluster.url("carddesk"), 8)
        .await
        .expect("open the test's own PostgreSQL");
    let app = Arc::new(spawn(db).await);
    let mut cards = add_open_orders(&app).await;
    let cookie = app.login(OPERATOR).await;

    let log: Log = Arc::default();
    let is_down = Arc::new(AtomicBool::new(false));
    let until = Instant::now() + Duration::from_secs(3) + OUTAGE + Duration::from_secs(8);
    let mut workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let mine: Vec<String> = cards.iter().skip(w).step_by(WORKERS).cloned().collect();
            tokio::spawn(operator(
                app.clone(),
                cookie.clone(),
                mine,
                until,
                log.clone(),
            ))
        })
        .collect();
    for call in [Call::Page, Call::Ready, Call::LogIn] {
        workers.push(tokio::spawn(prober(
            app.clone(),
            call,
            cookie.clone(),
            until,
            is_down.clone(),
            log.clone(),
        )));
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    // Every open order moves on at GO Cards, so that updates are being written when the
    // server dies.
    app.sim.advance();
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.kill().await;
    let down = Instant::now();
    is_down.store(true, Ordering::Relaxed);
    tokio::time::sleep(OUTAGE).await;
    is_down.store(false, Ordering::Relaxed);
    let restarting = Instant::now();
    cluster.restart().await;
    let back = Instant::now();
    app.sim.advance();
    for worker in workers {
        worker.await.expect("an operator panicked");
    }

    let replies = std::mem::take(&mut *log.lock().expect("reply log"));
    let mut problems = Vec::new();
    for reply in &replies {
        // A log-in that succeeds once PostgreSQL is back also hashes its password, which
        // in a test build alone takes seconds: its time says nothing about the database.
        let hashed = reply.call == Call::LogIn && reply.ok();
        if reply.took > REPLY_LIMIT && !hashed {
            problems.push(format!("{:?} took {:?}", reply.call, reply.took));
        }
        if reply.status == 500 {
            problems.push(format!("{:?} answered 500: {}", reply.call, reply.body));
        }
    }
    // Asked and answered while the server was down: 503 and the sentence, whatever was
    // asked. A reply that ends after the restart began may have waited for a connection
    // and got one: PostgreSQL accepts connections a little before `pg_ctl -w` notices.
    let during: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.started >= down && r.ended() <= restarting)
        .collect();
    for reply in &during {
        if reply.status != 503 || !reply.body.contains(DATABASE_UNAVAILABLE) {
            problems.push(format!(
                "during the outage {:?} answered {}: {}",
                reply.call,
                reply.status,
                reply.body.chars().take(300).collect::<String>()
            ));
        }
    }
    for call in [Call::Profile, Call::Page, Call::Ready, Call::LogIn] {
        if !during.iter().any(|r| r.call == call) {
            problems.push(format!("no {call:?} was answered during the outage"));
        }
    }
    // Back again: from the first reply started after the restart from which every reply
    // succeeds.
    let mut after: Vec<&Reply> = replies.iter().filter(|r| r.started >= back).collect();
    after.sort_by_key(|r| r.started);
    let last_failure = after.iter().rposition(|r| !r.ok());
    let recovered_at = match last_failure {
        None => after.first().map(|r| r.started),
        Some(i) => after.get(i + 1).map(|r| r.started),
    };
    let recovery = recovered_at.map(|at| at.saturating_duration_since(back));
    match recovery {
        Some(recovery) if recovery <= RECOVERY_LIMIT => {}
        other => problems.push(format!(
            "the desk did not answer again within {RECOVERY_LIMIT:?} of PostgreSQL's restart ({other:?}); the last failures: {:?}",
            after.iter().filter(|r| !r.ok()).rev().take(3).map(|r| (r.call, r.status)).collect::<Vec<_>>()
        )),
    }
    // The longest reply of any that was under way while the server was down.
    let longest = replies
        .iter()
        .filter(|r| r.started < back && r.ended() > down)
        .filter(|r| !(r.call == Call::LogIn && r.ok()))
        .map(|r| r.took)
        .max()
        .unwrap_or_default();
    println!(
        "database outage: {} replies asked and answered during {:?} down; longest reply under way during the outage {:?}; \
         PostgreSQL restart took {:?}; the desk answered again {:?} after it was back; {} replies in all",
        during.len(),
        restarting - down,
        longest,
        back - restarting,
        recovery.unwrap_or_default(),
        replies.len()
    );

    // Nothing half-written: each card's version counts its state changes, and its state is
    // where its last change led.
    cards.extend(
        testkit::app::cards()
            .into_iter()
            .map(|card| card.card_id)
            .collect::<Vec<_>>(),
    );
    let Db::Postgres(pool, _) = &app.db else {
        unreachable!("the test's own PostgreSQL")
    };
    let rows: Vec<(String, String, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT c.card_id, c.state, c.version, \
           (SELECT count(*) FROM card_history h WHERE h.card_id = c.card_id AND h.kind = 'changed'), \
           (SELECT h.to_state FROM card_history h WHERE h.card_id = c.card_id AND h.kind = 'changed' \
              ORDER BY h.id DESC LIMIT 1) \
         FROM cards c",
    )
    .fetch_all(pool)
    .await
    .expect("read the cards back");
    assert_eq!(rows.len(), cards.len(), "every card is still there");
    let mut changes = 0;
    for (card_id, state, version, changed, last_to) in &rows {
        changes += changed;
        if *version != 1 + changed {
            problems.push(format!(
                "{card_id}: version {version} but {changed} changes recorded"
            ));
        }
        if last_to.as_ref().is_some_and(|to| to != state) {
            problems.push(format!(
                "{card_id}: state {state} but its last change went to {last_to:?}"
            ));
        }
    }
    println!("database outage: {changes} card changes written across the test");
    assert!(
        changes > 0,
        "the load changed no card, so it proves nothing"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}\n(PostgreSQL's log:\n{})",
        problems.len(),
        problems.join("\n"),
        cluster.log()
    );
    drop(app);
    drop(cluster);
}

/// No PostgreSQL statement runs past 5 s (one cut off is "unavailable": 503), and the
/// work that lifts the limit on its own connection (`analyze`) puts it back before the pool
/// hands that connection out again.
#[tokio::test]
async fn postgres_statements_stop_after_5_s() {
    let Some(test_db) = testkit::db::postgres().await else {
        return;
    };
    let Db::Postgres(pool, _) = &test_db.db else {
        unreachable!("a PostgreSQL test database")
    };
    let started = Instant::now();
    let slow = sqlx::query("SELECT pg_sleep(8)").execute(pool).await;
    let took = started.elapsed();
    let err = slow.expect_err("an 8 s statement is cut off");
    assert!(backend::db::is_unavailable(&err), "{err}");
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(7),
        "cut off after {took:?}"
    );

    test_db.db.analyze().await.expect("analyze");
    // Every connection the pool has, the one `analyze` used among them.
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(pool.acquire().await.expect("a connection"));
    }
    for conn in &mut held {
        let (limit,): (String,) = sqlx::query_as("SHOW statement_timeout")
            .fetch_one(&mut **conn)
            .await
            .expect("show");
        assert_eq!(limit, "5s");
    }
}
