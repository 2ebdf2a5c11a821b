//! `GET /events`, the live stream: a committed change of a card reaches every open stream,
//! on either engine and across replicas on PostgreSQL; a rolled-back one never does; a job's
//! and the sync's progress go only to whoever may see them; the stream needs a session,
//! does not keep it alive, is capped per process, tells a client that fell behind to reload,
//! and comes back after its `LISTEN` connection is killed.

use std::time::{Duration, Instant};

use testkit as common;

use app::api::{SetUserEnabled, StartJob, UpdateCardOrder};
use common::app::{add_user, spawn, spawn_replica, spawn_with, TestApp, ADMIN, OPERATOR};
use common::db::TestDb;
use common::sse::{open, EventStream};
use desk_core::domain::{CardState, Process};
use desk_core::model::{CardEvent, JobRequest, LiveEvent, Role};

/// Anna Berg's card: Ordered, known to the simulator.
const ORDERED: &str = "CA2202040404-5GG3F4C8";
/// Åsa Östberg's card: In production.
const IN_PRODUCTION: &str = "CA2202040405-AAAA0001";

/// How long a change may take to reach a stream here, where tests run side by side on a busy
/// machine. What a change takes is measured by `cargo bench -p server --bench live`, and the
/// Playwright specs hold the pages to 2 s.
const WITHIN: Duration = Duration::from_secs(5);

async fn stream(app: &TestApp, cookie: &str) -> EventStream {
    let stream = open(&app.http, &app.base, Some(cookie)).await;
    assert_eq!(stream.status, 200, "GET /events with a session");
    stream
}

async fn version_of(app: &TestApp, card_id: &str) -> i64 {
    app.db
        .card(card_id)
        .await
        .expect("read")
        .expect("card")
        .version
}

#[tokio::test]
async fn the_stream_needs_a_session() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let anonymous = open(&app.http, &app.base, None).await;
    assert_eq!(anonymous.status, 401);
    let forged = open(&app.http, &app.base, Some("carddesk.sid=forged")).await;
    assert_eq!(forged.status, 401);
    for who in [OPERATOR, ADMIN] {
        let cookie = app.login(who).await;
        assert_eq!(
            open(&app.http, &app.base, Some(&cookie)).await.status,
            200,
            "{}",
            who.0
        );
        // A stream to read, nothing to post.
        let posted = app
            .http
            .post(format!("{}/events", app.base))
            .header("cookie", &cookie)
            .header("origin", &app.base)
            .send()
            .await
            .expect("POST /events");
        assert_eq!(posted.status().as_u16(), 405, "{}", who.0);
    }
}

testkit::engines!(a_webhook_s_change_reaches_an_open_stream_after_commit);
async fn a_webhook_s_change_reaches_an_open_stream_after_commit(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    app.connect_demo_webhook();
    let cookie = app.login(OPERATOR).await;
    let mut events = stream(&app, &cookie).await;
    let before = version_of(&app, ORDERED).await;
    let sent = Instant::now();
    assert!(app.sim.set_status(ORDERED, "IN_PRODUCTION", None));
    let event = events
        .next_card(ORDERED, WITHIN)
        .await
        .unwrap_or_else(|| panic!("{}: no card event within {WITHIN:?}", t.name));
    let card: CardEvent = serde_json::from_str(&event.data).expect("a card event");
    assert_eq!(card.state, CardState::InProduction);
    assert_eq!(card.version, before + 1);
    assert_eq!(card.gocards_status.as_deref(), Some("IN_PRODUCTION"));
    assert!(card.last_checked_at.is_some());
    // Sent after commit: what the event says is what a read finds.
    assert_eq!(version_of(&app, ORDERED).await, card.version);
    eprintln!("{}: webhook to stream in {:?}", t.name, event.at - sent);
}

testkit::engines!(a_check_that_finds_nothing_new_is_an_event_too);
async fn a_check_that_finds_nothing_new_is_an_event_too(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let mut events = stream(&app, &cookie).await;
    let version = version_of(&app, ORDERED).await;
    let (code, body) = app
        .call_fn(
            Some(&cookie),
            UpdateCardOrder {
                card_id: ORDERED.into(),
                expected_version: version,
            },
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let event = events
        .next_card(ORDERED, WITHIN)
        .await
        .expect("a card event");
    let card: CardEvent = serde_json::from_str(&event.data).expect("a card event");
    assert_eq!((card.state, card.version), (CardState::Ordered, version));
}

/// Makes every new history row fail, as a change's last statement, so that its transaction
/// rolls back after the change (and, on PostgreSQL, its `NOTIFY`) was written.
async fn refuse_history(db: &backend::db::Db, refuse: bool) {
    let statements: &[&str] = match (db.kind(), refuse) {
        (backend::db::DbKind::Sqlite, true) => &[
            "CREATE TRIGGER refuse_history BEFORE INSERT ON card_history \
              BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        ],
        (backend::db::DbKind::Sqlite, false) => &["DROP TRIGGER refuse_history"],
        (backend::db::DbKind::Postgres, true) => &[
            "CREATE FUNCTION refuse_history() RETURNS trigger AS $$ \
              BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_history BEFORE INSERT ON card_history \
              FOR EACH ROW EXECUTE FUNCTION refuse_history()",
        ],
        (backend::db::DbKind::Postgres, false) => &[
            "DROP TRIGGER refuse_history ON card_history",
            "DROP FUNCTION refuse_history()",
        ],
    };
    for sql in statements {
        backend::db::on_pool!(db, pool => sqlx::query(sql).execute(pool).await.map(|_| ()))
            .expect(sql);
    }
}

testkit::engines!(a_change_whose_transaction_rolls_back_sends_no_event);
async fn a_change_whose_transaction_rolls_back_sends_no_event(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let mut events = stream(&app, &cookie).await;
    app.sim_status(ORDERED, "PRODUCED", None).await;
    let version = version_of(&app, ORDERED).await;
    let update = UpdateCardOrder {
        card_id: ORDERED.into(),
        expected_version: version,
    };

    refuse_history(&app.db, true).await;
    let (code, body) = app.call_fn(Some(&cookie), update.clone()).await;
    assert!(code >= 500, "the change fails: {code} {body}");
    assert_eq!(
        version_of(&app, ORDERED).await,
        version,
        "nothing was written"
    );
    assert!(
        events
            .next_card(ORDERED, Duration::from_secs(1))
            .await
            .is_none(),
        "{}: a rolled-back change sent an event",
        t.name
    );

    refuse_history(&app.db, false).await;
    let (code, body) = app.call_fn(Some(&cookie), update).await;
    assert_eq!(code, 200, "{body}");
    let event = events
        .next_card(ORDERED, WITHIN)
        .await
        .expect("the committed change");
    assert_eq!(event.json()["state"], "produced");
}

/// A second operator, and a stream each for both operators and the admin.
async fn three_streams(app: &TestApp) -> (String, [EventStream; 3]) {
    const OTHER: (&str, &str) = ("operator2", "operator2-password-1");
    add_user(&app.db, OTHER.0, Role::Operator, OTHER.1).await;
    let mine = app.login(OPERATOR).await;
    let other = app.login(OTHER).await;
    let admin = app.login(ADMIN).await;
    let streams = [
        stream(app, &mine).await,
        stream(app, &other).await,
        stream(app, &admin).await,
    ];
    (mine, streams)
}

#[tokio::test]
async fn a_job_s_progress_goes_to_its_starter_and_admins_only() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let (mine, [mut starter, mut other, mut admin]) = three_streams(&app).await;
    let (code, body) = app
        .call_fn(
            Some(&mine),
            StartJob {
                request: JobRequest {
                    process: Process::UpdateCardOrder,
                    items: vec![ORDERED.into(), IN_PRODUCTION.into()],
                    reason: None,
                    order: None,
                },
            },
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let job_id = body["id"].as_i64().expect("job id");
    let done = |e: &common::sse::SseEvent| {
        e.name == "job" && e.json()["job_id"] == job_id && e.json()["status"] == "done"
    };
    let last = starter
        .next_where(Duration::from_secs(10), done)
        .await
        .expect("the starter sees the job end");
    assert_eq!(last.json()["counts"]["total"], 2);
    assert_eq!(last.json()["started_by"], OPERATOR.0);
    assert!(
        admin.next_where(WITHIN, done).await.is_some(),
        "an admin sees it"
    );
    // The cards' changes go to everyone; the job does not.
    assert!(other.next_card(ORDERED, WITHIN).await.is_some());
    assert!(
        other.drain().iter().all(|e| e.name != "job"),
        "another operator saw the job"
    );
    assert!(other
        .next_named("job", Duration::from_millis(500))
        .await
        .is_none());
}

#[tokio::test]
async fn the_sync_s_progress_goes_to_admins_only() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let (_, [mut operator, _, mut admin]) = three_streams(&app).await;
    app.run_sync().await;
    let first = admin
        .next_named("sync", WITHIN)
        .await
        .expect("the admin sees the run");
    assert_eq!(first.json()["status"], "running");
    let end = admin
        .next_where(WITHIN, |e| e.name == "sync" && e.json()["phase"] == "done")
        .await
        .expect("and its end");
    assert_eq!(end.json()["status"], "completed");
    assert!(operator
        .next_named("sync", Duration::from_millis(500))
        .await
        .is_none());
}

#[tokio::test]
async fn an_open_stream_is_not_activity_the_session_ends_and_so_does_the_stream() {
    let idle = Duration::from_secs(2);
    let t = common::db::sqlite().await;
    let app = spawn_with(t.db.clone(), |c| c.session_idle = idle).await;
    let cookie = app.login(OPERATOR).await;
    let logged_in = Instant::now();
    let mut events = stream(&app, &cookie).await;
    let ended = events
        .next_named("logged_out", idle * 3)
        .await
        .expect("the stream says the session ended");
    let after = ended.at - logged_in;
    assert!(after >= idle, "ended after {after:?}, before the idle time");
    assert!(
        events.ended_within(Duration::from_secs(2)).await,
        "and ends"
    );
    let again = open(&app.http, &app.base, Some(&cookie)).await;
    assert_eq!(again.status, 401, "the session is over");
    let (code, _) = app.page("/search", Some(&cookie)).await;
    assert_eq!(code, 303, "the pages send it to the log-in");
}

#[tokio::test]
async fn a_disabled_user_s_stream_ends() {
    // A short idle time makes the stream check its session often.
    let t = common::db::sqlite().await;
    let app = spawn_with(t.db.clone(), |c| c.session_idle = Duration::from_secs(4)).await;
    let cookie = app.login(OPERATOR).await;
    let admin = app.login(ADMIN).await;
    let mut events = stream(&app, &cookie).await;
    let (code, body) = app
        .call_fn(
            Some(&admin),
            SetUserEnabled {
                username: OPERATOR.0.to_owned(),
                enabled: false,
            },
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert!(events
        .next_named("logged_out", Duration::from_secs(3))
        .await
        .is_some());
}

#[tokio::test]
async fn streams_past_events_max_clients_get_503_until_one_closes() {
    let t = common::db::sqlite().await;
    let app = spawn_with(t.db.clone(), |c| c.events_max_clients = 2).await;
    let cookie = app.login(OPERATOR).await;
    let first = stream(&app, &cookie).await;
    let _second = stream(&app, &cookie).await;
    let third = open(&app.http, &app.base, Some(&cookie)).await;
    assert_eq!(third.status, 503);
    drop(first);
    // The server sees the first one go once its connection closes.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = open(&app.http, &app.base, Some(&cookie)).await;
        if again.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "a place never came free");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// `count` streams whose clients send the request and never read a byte.
async fn stalled_streams(app: &TestApp, cookie: &str, count: usize) -> Vec<tokio::net::TcpStream> {
    use tokio::io::AsyncWriteExt;
    let host = app.base.trim_start_matches("http://").to_owned();
    let mut stalled = Vec::new();
    for _ in 0..count {
        let mut socket = tokio::net::TcpStream::connect(&host)
            .await
            .expect("connect");
        let request = format!(
            "GET /events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\nCookie: {cookie}\r\n\r\n"
        );
        socket.write_all(request.as_bytes()).await.expect("send");
        stalled.push(socket);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.db.events().streams() < count {
        assert!(Instant::now() < deadline, "the streams did not open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stalled
}

fn flood_event(n: usize) -> LiveEvent {
    LiveEvent::Card(CardEvent {
        card_id: format!("CA{n:010}-FLOOD{:04}", n % 10_000),
        state: CardState::InProduction,
        version: 2,
        gocards_status: Some("IN_PRODUCTION".into()),
        last_checked_at: Some("2026-12-01T10:00:00Z".into()),
    })
}

async fn publish_flood(app: &TestApp, range: std::ops::Range<usize>) {
    for n in range {
        app.db.events().publish([flood_event(n)]);
        if n % 5_000 == 0 {
            tokio::task::yield_now().await;
        }
    }
}

/// Reads a stalled stream at last, until `event: reload` comes.
async fn reads_a_reload(mut socket: tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&seen).contains("event: reload") {
        assert!(Instant::now() < deadline, "no reload event came");
        let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .expect("the stream goes on")
            .expect("read");
        assert!(n > 0, "the stream ended");
        seen.extend_from_slice(&buf[..n]);
        // Keep only the tail: the marker may span two reads.
        if seen.len() > 1024 * 1024 {
            seen.drain(..seen.len() - 1024);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_told_to_reload_when_it_reads_again() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let mut stalled = stalled_streams(&app, &cookie, 3).await;
    // Far more than the socket buffers and the replica's buffer of events hold.
    publish_flood(&app, 0..100_000).await;
    reads_a_reload(stalled.pop().expect("a socket")).await;
}

/// The server's memory while 20 clients that never read are sent 200,000 events each (about
/// 30 MB of stream apiece): it must not grow with the events. It measures this process's RSS,
/// so it runs alone: `make live-memory`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measures the test process's RSS; run alone with `make live-memory`"]
async fn memory_does_not_grow_with_events_sent_to_clients_that_never_read() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let mut stalled = stalled_streams(&app, &cookie, 20).await;
    publish_flood(&app, 0..20_000).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib();
    publish_flood(&app, 0..200_000).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    println!(
        "RSS grew {grown_mib} MiB (from {} MiB) over 200,000 events to 20 clients that never read",
        before / 1024
    );
    assert!(grown_mib <= 30, "RSS grew {grown_mib} MiB");
    reads_a_reload(stalled.pop().expect("a socket")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_replica_a_reaches_a_stream_on_replica_b_a_webhook_then_a_job() {
    let Some(test_db) = common::db::postgres().await else {
        return;
    };
    let a = spawn(test_db.db.clone()).await;
    a.connect_demo_webhook();
    let second = backend::db::Db::connect(&test_db.url, 8)
        .await
        .expect("replica B's pool");
    let b = spawn_replica(second).await;
    let cookie = a.login(OPERATOR).await;
    // Sessions live in the database: the same cookie works on B.
    let mut on_b = stream(&b, &cookie).await;

    let sent = Instant::now();
    assert!(a.sim.set_status(ORDERED, "IN_PRODUCTION", None));
    let event = on_b
        .next_card(ORDERED, WITHIN)
        .await
        .expect("B hears A's webhook");
    assert_eq!(event.json()["state"], "in_production");
    eprintln!(
        "replica A's webhook to replica B's stream in {:?}",
        event.at - sent
    );

    let (code, body) = a
        .call_fn(
            Some(&cookie),
            StartJob {
                request: JobRequest {
                    process: Process::UpdateCardOrder,
                    items: vec![IN_PRODUCTION.into()],
                    reason: None,
                    order: None,
                },
            },
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let job_id = body["id"].as_i64().expect("job id");
    let done = on_b
        .next_where(Duration::from_secs(10), |e| {
            e.name == "job" && e.json()["job_id"] == job_id && e.json()["status"] == "done"
        })
        .await
        .expect("B hears A's job end");
    assert_eq!(done.json()["counts"]["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_resume_within_5_s_after_the_listen_connection_is_killed() {
    let Some(test_db) = common::db::postgres().await else {
        return;
    };
    let app = spawn(test_db.db.clone()).await;
    app.connect_demo_webhook();
    let cookie = app.login(OPERATOR).await;
    let mut events = stream(&app, &cookie).await;
    let killed: Vec<bool> = backend::db::on_pool!(&app.db, pool => sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND datname = current_database()",
    )
    .bind(backend::db::LISTEN_APPLICATION_NAME)
    .fetch_all(pool)
    .await)
    .expect("terminate");
    assert_eq!(killed, vec![true], "one LISTEN connection, killed");
    let killed_at = Instant::now();
    // The page is told to re-read what it shows, since events were lost meanwhile.
    assert!(
        events
            .next_named("reload", Duration::from_secs(5))
            .await
            .is_some(),
        "no reload after the LISTEN connection came back"
    );
    // A change now reaches the stream again.
    let statuses = ["IN_PRODUCTION", "PRODUCED"];
    let mut heard = None;
    for status in statuses {
        assert!(app.sim.set_status(ORDERED, status, None));
        if let Some(event) = events.next_card(ORDERED, WITHIN).await {
            heard = Some(event);
            break;
        }
    }
    let heard = heard.expect("events resumed");
    let after = heard.at - killed_at;
    eprintln!("events resumed {after:?} after the LISTEN connection was killed");
    assert!(after <= Duration::from_secs(5), "{after:?}");
}
