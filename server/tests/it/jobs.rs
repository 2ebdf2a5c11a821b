//! Jobs end to end through their server functions, against the simulator: a 200-card Update
//! card order job with every kind of reply (each item equal to the single command on a twin
//! card with the same reply, no card asked twice, the 429 waited out), Stop and "Run the
//! rest", one running job per operator and who sees which job, the Abort card order job and
//! the batch order. The crash tests (SIGKILL a release server mid-job) are in `crash`,
//! ignored unless `JOBS_SERVER_BIN` is set (`make crash`).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use testkit as common;

use app::api::{
    AbortCardOrder, JobItems, JobStatus as JobStatusFn, ListJobs, OrderCard, PreviewJob, RunRest,
    StartJob, StopJob, UpdateCardOrder,
};
use backend::db::cards::NewCard;
use common::app::{spawn, TestApp, ADMIN, OPERATOR};
use common::db::TestDb;
use desk_core::domain::{CardState, CommandList, OrderForm, Process};
use desk_core::model::{HistoryEntry, JobRequest};
use gocards_sim::{FaultMode, FaultSpec};
use serde_json::Value;

mod crash;

const OPERATOR2: (&str, &str) = ("operator2", "operator2-password-1");

/// A card id in group `group` (two digits: a GO Cards path prefix `/api/card/CA{group}`).
fn card_id(group: u32, n: u32) -> String {
    format!("CA{group:02}{n:08}-JOBS{n:04}")
}

/// A card in `state`, known to the simulator (with `sim_status`) or not (a 404).
async fn card(app: &TestApp, id: &str, state: CardState, sim_status: Option<&str>) {
    let n = id.len();
    let new = NewCard {
        card_id: id.to_owned(),
        first_name: "Jo".into(),
        last_name: format!("Jobber{id}"),
        email: format!("jo{n}@example.org"),
        employee_id: format!("J-{id}"),
        state,
        ordered_at: Some(1_763_000_000_000),
    };
    app.db.insert_cards(&[new], |_| {}).await.expect("insert");
    if let Some(status) = sim_status {
        let row = app.db.card(id).await.expect("read").expect("card");
        app.sim
            .upsert_cards(vec![server::startup::card_info_for(&row)]);
        app.sim_status(id, status, None).await;
    }
}

fn request(process: Process, items: Vec<String>) -> JobRequest {
    JobRequest {
        process,
        items,
        reason: None,
        order: None,
    }
}

async fn start(app: &TestApp, cookie: &str, request: JobRequest) -> (u16, Value) {
    app.call_fn(Some(cookie), StartJob { request }).await
}

async fn status(app: &TestApp, cookie: &str, id: i64) -> (u16, Value) {
    app.call_fn(Some(cookie), JobStatusFn { id }).await
}

/// Polls JobStatus until the job is `want`; the job as then seen.
async fn wait_for(app: &TestApp, cookie: &str, id: i64, want: &str) -> Value {
    let started = Instant::now();
    loop {
        let (code, job) = status(app, cookie, id).await;
        assert_eq!(code, 200, "{job}");
        if job["status"] == want {
            return job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "job {id} is still {} (want {want}): {job}",
            job["status"]
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

/// Every item of job `id`, by target.
async fn items(app: &TestApp, cookie: &str, id: i64) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    for page in 1.. {
        let (code, body) = app
            .call_fn(
                Some(cookie),
                JobItems {
                    id,
                    outcome: None,
                    page,
                },
            )
            .await;
        assert_eq!(code, 200, "{body}");
        let rows = body["items"].as_array().cloned().unwrap_or_default();
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let target = row["target"].as_str().unwrap_or_default().to_owned();
            assert!(all.insert(target.clone(), row).is_none(), "{target} twice");
        }
    }
    all
}

/// GO Cards calls per path (`/api/card/{id}`, `/api/card/{id}/cancel`, `/api/order`).
fn calls_by_path(app: &TestApp) -> HashMap<String, usize> {
    let mut calls = HashMap::new();
    for (_, path, _) in app.sim.calls() {
        *calls.entry(path).or_default() += 1;
    }
    calls
}

fn card_path(id: &str) -> String {
    format!("/api/card/{id}")
}

/// The one history row of a card, with the fields the single command decides.
async fn only_history(app: &TestApp, id: &str) -> HistoryEntry {
    let mut rows = app.db.card_history(id, 10).await.expect("history");
    assert_eq!(rows.len(), 1, "{id}: {rows:?}");
    rows.remove(0)
}

fn same_row(a: &HistoryEntry, b: &HistoryEntry) -> bool {
    (
        a.kind,
        a.source,
        &a.actor,
        a.from_state,
        a.to_state,
        &a.gocards_status,
        &a.detail,
    ) == (
        b.kind,
        b.source,
        &b.actor,
        b.from_state,
        b.to_state,
        &b.gocards_status,
        &b.detail,
    )
}

/// What the single command gave on a twin card: its message, the card's state after, and
/// its history row (none for a refusal).
struct Single {
    message: String,
    after: CardState,
    row: Option<HistoryEntry>,
}

async fn single_update(app: &TestApp, cookie: &str, id: &str) -> Single {
    let (_, body) = app
        .call_fn(
            Some(cookie),
            UpdateCardOrder {
                card_id: id.into(),
                expected_version: 1,
            },
        )
        .await;
    let message = body["message"].as_str().expect("a message").to_owned();
    let after = app.db.card(id).await.expect("read").expect("card").state;
    let rows = app.db.card_history(id, 10).await.expect("history");
    assert!(rows.len() <= 1, "{rows:?}");
    Single {
        message,
        after,
        row: rows.into_iter().next(),
    }
}

fn counts(job: &Value) -> [u64; 7] {
    let c = &job["counts"];
    [
        "total",
        "changed",
        "unchanged",
        "ordered",
        "failed",
        "skipped",
        "not_run",
    ]
    .map(|k| c[k].as_u64().unwrap_or(u64::MAX))
}

fn job_id(body: &Value) -> i64 {
    body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no job id: {body}"))
}

/// The reply kinds of the 200-card job, each with its group (the card-id prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Reply {
    RateLimited,
    Changes,
    NoChange,
    Error500,
    NotFound,
    ChangesFromProduction,
    NotApplicable,
}

impl Reply {
    const ALL: [Reply; 7] = [
        Reply::RateLimited,
        Reply::Changes,
        Reply::NoChange,
        Reply::Error500,
        Reply::NotFound,
        Reply::ChangesFromProduction,
        Reply::NotApplicable,
    ];

    fn group(self) -> u32 {
        match self {
            Reply::RateLimited => 42,
            Reply::Changes => 10,
            Reply::NoChange => 20,
            Reply::Error500 => 75,
            Reply::NotFound => 40,
            Reply::ChangesFromProduction => 30,
            Reply::NotApplicable => 50,
        }
    }

    /// How many cards of the job get this reply (200 in all).
    fn count(self) -> u32 {
        match self {
            Reply::RateLimited => 1,
            Reply::Changes => 60,
            Reply::NoChange => 40,
            Reply::Error500 => 40,
            Reply::NotFound => 40,
            Reply::ChangesFromProduction => 10,
            Reply::NotApplicable => 9,
        }
    }

    fn start(self) -> CardState {
        match self {
            Reply::ChangesFromProduction => CardState::InProduction,
            Reply::NotApplicable => CardState::Produced,
            _ => CardState::Ordered,
        }
    }

    /// The status GO Cards reports; `None`: the simulator does not know the card (404).
    fn sim_status(self) -> Option<&'static str> {
        match self {
            Reply::NotFound => None,
            Reply::NoChange => Some("ORDERED"),
            Reply::ChangesFromProduction => Some("PRODUCED"),
            Reply::NotApplicable => Some("PRODUCED"),
            _ => Some("IN_PRODUCTION"),
        }
    }

    fn outcome(self) -> &'static str {
        match self {
            Reply::Changes | Reply::ChangesFromProduction => "changed",
            Reply::NoChange => "unchanged",
            Reply::RateLimited | Reply::Error500 | Reply::NotFound => "failed",
            Reply::NotApplicable => "skipped",
        }
    }

    /// The fault a twin card needs for the same reply.
    fn twin_fault(self, twin: &str) -> Option<FaultSpec> {
        match self {
            Reply::RateLimited => Some(
                FaultSpec::new(FaultMode::Error429)
                    .with_retry_after(2)
                    .for_card(twin),
            ),
            Reply::Error500 => Some(FaultSpec::new(FaultMode::Error500).for_card(twin)),
            _ => None,
        }
    }
}

common::engines!(
    a_job_over_200_cards_gives_each_card_what_the_single_command_gives,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn a_job_over_200_cards_gives_each_card_what_the_single_command_gives(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let concurrency = app.state.jobs.concurrency();

    // The single command on a twin card for each reply.
    let mut single: BTreeMap<Reply, Single> = BTreeMap::new();
    for (k, reply) in Reply::ALL.into_iter().enumerate() {
        let twin = card_id(90 + k as u32, 1);
        card(&app, &twin, reply.start(), reply.sim_status()).await;
        if let Some(fault) = reply.twin_fault(&twin) {
            app.sim.set_fault(fault);
        }
        single.insert(reply, single_update(&app, &cookie, &twin).await);
        app.sim.set_fault(FaultSpec::new(FaultMode::None));
    }
    assert_eq!(
        single[&Reply::RateLimited].message,
        "GO Cards is busy; try again in 2 s."
    );
    // The single command records its refusal; the job decides a skipped item before it
    // runs (the dialog's "9 skipped: …") and attempts nothing, so it writes no row for it.
    assert_eq!(
        single[&Reply::NotApplicable].row.as_ref().map(|r| r.kind),
        Some(desk_core::model::HistoryKind::Refused)
    );

    // The job's cards, in job order: the 429 first, so that the pause comes early.
    let mut order: Vec<(String, Reply)> = Vec::new();
    for reply in Reply::ALL {
        for n in 0..reply.count() {
            let id = card_id(reply.group(), n);
            card(&app, &id, reply.start(), reply.sim_status()).await;
            order.push((id, reply));
        }
    }
    assert_eq!(order.len(), 200);
    let rate_limited = order[0].0.clone();
    app.sim.set_fault(
        FaultSpec::new(FaultMode::Error429)
            .with_retry_after(2)
            .for_card(rate_limited.clone())
            .times(1),
    );
    let calls_before = calls_by_path(&app);

    let ids: Vec<String> = order.iter().map(|(id, _)| id.clone()).collect();
    let (code, preview) = app
        .call_fn(
            Some(&cookie),
            PreviewJob {
                request: request(Process::UpdateCardOrder, ids.clone()),
            },
        )
        .await;
    assert_eq!(code, 200, "{preview}");
    assert_eq!(preview["title"], "Update card order for 200 cards");
    assert_eq!(preview["to_run"], 191);
    assert_eq!(
        preview["skipped"],
        serde_json::json!([{"count": 9, "reason": single[&Reply::NotApplicable].message}])
    );

    let started = Instant::now();
    let (code, job) = start(&app, &cookie, request(Process::UpdateCardOrder, ids)).await;
    assert_eq!(code, 200, "{}: {job}", t.name);
    let id = job_id(&job);
    assert_eq!(job["status"], "running");
    // Once the 429 has been answered (the job now waits 2 s), the 500s are set up: no card
    // of that group is asked before then, since the group comes after the pause.
    let watch = {
        let sim = app.sim.clone();
        let path = card_path(&rate_limited);
        tokio::spawn(async move {
            let at = loop {
                if let Some((_, _, at)) = sim.calls_ms().into_iter().find(|(_, p, _)| *p == path) {
                    break at;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            };
            sim.set_fault(
                FaultSpec::new(FaultMode::Error500).on_path(format!("/api/card/CA{}", 75)),
            );
            at
        })
    };
    let done = wait_for(&app, &cookie, id, "done").await;
    let elapsed = started.elapsed();
    let limited_at = watch.await.expect("watcher");
    eprintln!(
        "{}: a 200-card job with a 2 s pause took {:.2} s",
        t.name,
        elapsed.as_secs_f64()
    );
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    // total, changed, unchanged, ordered, failed, skipped, not run
    assert_eq!(counts(&done), [200, 70, 40, 0, 81, 9, 0], "{done}");
    assert!(done["finished_at"].is_string());
    assert_eq!(done["started_by"], "operator");

    // Each item is the single command: the message, the state after, the history row.
    let rows = items(&app, &cookie, id).await;
    assert_eq!(rows.len(), 200);
    for (card, reply) in &order {
        let item = &rows[card];
        let twin = &single[reply];
        assert_eq!(
            item["outcome"],
            reply.outcome(),
            "{}: {card}: {item}",
            t.name
        );
        assert_eq!(item["message"], twin.message.as_str(), "{card} ({reply:?})");
        assert_eq!(item["before"], serde_json::json!(reply.start()), "{card}");
        assert_eq!(item["after"], serde_json::json!(twin.after), "{card}");
        assert_eq!(item["href"], format!("/cards/{card}"));
        let stored = app.db.card(card).await.expect("read").expect("card");
        assert_eq!(stored.state, twin.after, "{card}");
        match twin.row.as_ref().filter(|_| *reply != Reply::NotApplicable) {
            Some(expected) => {
                let row = only_history(&app, card).await;
                assert!(
                    same_row(&row, expected),
                    "{card} ({reply:?}): {row:?}\nsingle: {expected:?}"
                );
                assert_eq!(row.actor.as_deref(), Some("operator"));
            }
            None => assert_eq!(app.db.count_history(card).await.expect("count"), 0),
        }
    }

    // No card is asked twice; a skipped card is not asked at all.
    let calls = calls_by_path(&app);
    for (card, reply) in &order {
        let path = card_path(card);
        let asked =
            calls.get(&path).copied().unwrap_or(0) - calls_before.get(&path).copied().unwrap_or(0);
        let want = usize::from(*reply != Reply::NotApplicable);
        assert_eq!(asked, want, "{card} ({reply:?}) asked {asked} times");
    }

    // The 429 paused the job the moment it arrived (the client tells the runner before the
    // item writes its history row): no item started after it until the 2 s were over. Items
    // already past the pause's gate then (the other JOB_CONCURRENCY - 1 in flight) still ask
    // GO Cards once; on a busy machine that can be a few hundred milliseconds later (each
    // reads its card first). Without the pause the job would make hundreds of calls in
    // those 2 s. (This failed in CI with 8 calls: the pause began only after the 429's item
    // had written its row, and items that started meanwhile got through.)
    let job_paths: std::collections::HashSet<String> =
        order.iter().map(|(card, _)| card_path(card)).collect();
    let times: Vec<i64> = app
        .sim
        .calls_ms()
        .into_iter()
        .filter(|(_, p, _)| job_paths.contains(p))
        .map(|(_, _, at)| at)
        .collect();
    let in_pause = times
        .iter()
        .filter(|at| **at > limited_at && **at < limited_at + 1_950)
        .count();
    assert!(
        in_pause < concurrency,
        "{in_pause} calls began within 1.95 s after the 429 (JOB_CONCURRENCY {concurrency})"
    );
    assert!(times.iter().any(|at| *at >= limited_at + 2_000));
}

/// A fault that makes each GO Cards call take `ms`.
fn latency(ms: u64) -> FaultSpec {
    FaultSpec::new(FaultMode::Latency).with_latency_ms(ms)
}

/// `n` Ordered cards in group `group` that GO Cards reports In production.
async fn ordered_cards(app: &TestApp, group: u32, n: u32) -> Vec<String> {
    let mut ids = Vec::new();
    for k in 0..n {
        let id = card_id(group, k);
        card(app, &id, CardState::Ordered, Some("IN_PRODUCTION")).await;
        ids.push(id);
    }
    ids
}

common::engines!(
    stop_finishes_the_items_in_flight_and_run_the_rest_does_the_others_once,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn stop_finishes_the_items_in_flight_and_run_the_rest_does_the_others_once(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let ids = ordered_cards(&app, 11, 80).await;
    app.sim.set_fault(latency(150));

    let (code, job) = start(
        &app,
        &cookie,
        request(Process::UpdateCardOrder, ids.clone()),
    )
    .await;
    assert_eq!(code, 200, "{}: {job}", t.name);
    let id = job_id(&job);
    loop {
        let (_, job) = status(&app, &cookie, id).await;
        if job["counts"]["changed"].as_u64().unwrap_or(0) >= 16 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, stopping) = app.call_fn(Some(&cookie), StopJob { id }).await;
    assert_eq!(code, 200, "{stopping}");
    let stopped = wait_for(&app, &cookie, id, "stopped").await;
    let [total, changed, _, _, failed, skipped, not_run] = counts(&stopped);
    assert_eq!(total, 80);
    assert_eq!((failed, skipped), (0, 0), "{stopped}");
    assert!(changed >= 16 && not_run > 0, "{stopped}");
    assert_eq!(changed + not_run, 80);
    // The bar is full at the items processed.
    assert!(stopped["finished_at"].is_string());

    // The items in flight finished: every card GO Cards was asked about has its outcome and
    // its history row; the others were not asked, are "not run", and unchanged.
    let rows = items(&app, &cookie, id).await;
    let calls = calls_by_path(&app);
    let mut asked = 0;
    for card in &ids {
        let item = &rows[card];
        let n = calls.get(&card_path(card)).copied().unwrap_or(0);
        let history = app.db.count_history(card).await.expect("count");
        match item["outcome"].as_str() {
            Some("changed") => {
                assert_eq!((n, history), (1, 1), "{card}");
                assert_eq!(item["message"], "Status updated: Ordered → In production");
                asked += 1;
            }
            Some("not_run") => {
                assert_eq!((n, history), (0, 0), "{card} is not run but was asked");
                assert_eq!(item["message"], "");
                let stored = app.db.card(card).await.expect("read").expect("card");
                assert_eq!(stored.state, CardState::Ordered);
            }
            other => panic!("{card}: {other:?}"),
        }
    }
    assert_eq!(asked, changed);

    // Stop again: it has ended. Run the rest runs the others, each once.
    let (code, body) = app.call_fn(Some(&cookie), StopJob { id }).await;
    assert_eq!(
        (code, body["message"].as_str()),
        (409, Some("The job has already ended."))
    );
    let (code, body) = app.call_fn(Some(&cookie), RunRest { id }).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "running");
    let done = wait_for(&app, &cookie, id, "done").await;
    assert_eq!(counts(&done), [80, 80, 0, 0, 0, 0, 0], "{done}");
    let calls = calls_by_path(&app);
    for card in &ids {
        assert_eq!(calls.get(&card_path(card)).copied(), Some(1), "{card}");
        assert_eq!(
            only_history(&app, card).await.to_state,
            CardState::InProduction
        );
    }
    let (code, body) = app.call_fn(Some(&cookie), RunRest { id }).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(
        body["message"],
        "Only a stopped or interrupted job can run the rest."
    );
}

common::engines!(
    one_running_job_per_operator_and_each_sees_their_own,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn one_running_job_per_operator_and_each_sees_their_own(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    common::app::add_user(
        &t.db,
        OPERATOR2.0,
        desk_core::model::Role::Operator,
        OPERATOR2.1,
    )
    .await;
    let op = app.login(OPERATOR).await;
    let op2 = app.login(OPERATOR2).await;
    let admin = app.login(ADMIN).await;
    let first = ordered_cards(&app, 12, 40).await;
    let second = ordered_cards(&app, 13, 5).await;
    app.sim.set_fault(latency(200));

    let (code, job) = start(&app, &op, request(Process::UpdateCardOrder, first.clone())).await;
    assert_eq!(code, 200, "{}: {job}", t.name);
    let mine = job_id(&job);
    // A second job of the same operator is refused, with the first one's progress.
    let (code, body) = start(&app, &op, request(Process::UpdateCardOrder, second.clone())).await;
    assert_eq!(code, 409, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    let rest = message
        .strip_prefix("You already have a job running: Update card order, ")
        .unwrap_or_else(|| panic!("{message}"));
    let (done, _) = rest
        .split_once(" of 40 done.")
        .unwrap_or_else(|| panic!("{message}"));
    assert!(done.parse::<u32>().is_ok_and(|n| n < 40), "{message}");
    // Nothing of the refused job was stored or run.
    for card in &second {
        assert_eq!(app.db.count_history(card).await.expect("count"), 0);
    }

    // Another operator may run a job of their own meanwhile.
    let (code, job) = start(
        &app,
        &op2,
        request(Process::UpdateCardOrder, second.clone()),
    )
    .await;
    assert_eq!(code, 200, "{job}");
    let theirs = job_id(&job);

    // Operators see their own jobs; admins see everyone's.
    let listed = |body: &Value| -> Vec<i64> {
        body.as_array()
            .map(|jobs| jobs.iter().filter_map(|j| j["id"].as_i64()).collect())
            .unwrap_or_default()
    };
    let (code, body) = app.call_fn(Some(&admin), ListJobs {}).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(listed(&body), vec![theirs, mine], "newest first");
    let (_, body) = app.call_fn(Some(&op), ListJobs {}).await;
    assert_eq!(listed(&body), vec![mine]);
    assert_eq!(body[0]["yours"], true);
    let (_, body) = app.call_fn(Some(&op2), ListJobs {}).await;
    assert_eq!(listed(&body), vec![theirs]);

    // Someone else's job is no job to an operator, whatever they ask of it.
    let (code, body) = status(&app, &op2, mine).await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(
        body["message"],
        format!("No job {mine} exists. It may have been someone else's; see Jobs.")
    );
    let (code, _) = app
        .call_fn(
            Some(&op2),
            JobItems {
                id: mine,
                outcome: None,
                page: 1,
            },
        )
        .await;
    assert_eq!(code, 404);
    let (code, _) = app.call_fn(Some(&op2), StopJob { id: mine }).await;
    assert_eq!(code, 404);
    let (code, _) = app.call_fn(Some(&op2), RunRest { id: mine }).await;
    assert_eq!(code, 404);
    let (code, _) = status(&app, &op, 9_999_999).await;
    assert_eq!(code, 404);
    // The admin sees it and may stop it.
    let (code, body) = status(&app, &admin, mine).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (body["started_by"].as_str(), body["yours"].as_bool()),
        (Some("operator"), Some(true))
    );
    let (code, _) = app.call_fn(Some(&admin), StopJob { id: mine }).await;
    assert_eq!(code, 200);
    wait_for(&app, &op, mine, "stopped").await;
    wait_for(&app, &op2, theirs, "done").await;

    // Once the first has ended, the operator may start another.
    app.sim.set_fault(FaultSpec::new(FaultMode::None));
    let third = ordered_cards(&app, 14, 2).await;
    let (code, job) = start(&app, &op, request(Process::UpdateCardOrder, third)).await;
    assert_eq!(code, 200, "{job}");
    wait_for(&app, &op, job_id(&job), "done").await;
}

common::engines!(
    an_abort_job_uses_one_reason_for_every_card,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn an_abort_job_uses_one_reason_for_every_card(t: TestDb) {
    const REASON: &str = "The department closed";
    let app = spawn(t.db.clone()).await;
    for state in [CardState::Ordered, CardState::InProduction] {
        app.db
            .set_command(state, Process::AbortCardOrder, true)
            .await
            .expect("enable");
    }
    let cookie = app.login(OPERATOR).await;
    let mut cards = Vec::new();
    for (group, state, sim, n) in [
        (15, CardState::Ordered, "ORDERED", 5),
        (16, CardState::InProduction, "IN_PRODUCTION", 3),
        (17, CardState::Produced, "PRODUCED", 2),
    ] {
        for k in 0..n {
            let id = card_id(group, k);
            card(&app, &id, state, Some(sim)).await;
            cards.push((id, state));
        }
    }
    // The single command on twins.
    let mut single = HashMap::new();
    for (k, (state, sim)) in [
        (CardState::Ordered, "ORDERED"),
        (CardState::InProduction, "IN_PRODUCTION"),
        (CardState::Produced, "PRODUCED"),
    ]
    .into_iter()
    .enumerate()
    {
        let twin = card_id(95 + k as u32, 1);
        card(&app, &twin, state, Some(sim)).await;
        let (_, body) = app
            .call_fn(
                Some(&cookie),
                AbortCardOrder {
                    card_id: twin.clone(),
                    expected_version: 1,
                    reason: REASON.into(),
                },
            )
            .await;
        let message = body["message"].as_str().expect("message").to_owned();
        let after = app.db.card(&twin).await.expect("read").expect("card").state;
        let row = app
            .db
            .card_history(&twin, 10)
            .await
            .expect("history")
            .into_iter()
            .next();
        single.insert(state, (twin, message, after, row));
    }

    let ids: Vec<String> = cards.iter().map(|(id, _)| id.clone()).collect();
    // One reason for all; without it, nothing starts.
    let (code, body) = start(&app, &cookie, request(Process::AbortCardOrder, ids.clone())).await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        body["message"],
        "Abort card order needs a reason for all the cards."
    );
    let mut req = request(Process::AbortCardOrder, ids);
    req.reason = Some(REASON.into());
    let (code, job) = start(&app, &cookie, req).await;
    assert_eq!(code, 200, "{}: {job}", t.name);
    assert_eq!(job["detail"], format!("Reason: {REASON}"));
    let id = job_id(&job);
    let done = wait_for(&app, &cookie, id, "done").await;
    assert_eq!(counts(&done), [10, 8, 0, 0, 0, 2, 0], "{done}");
    let rows = items(&app, &cookie, id).await;
    let calls = calls_by_path(&app);
    for (card, state) in &cards {
        let (twin, message, after, row) = &single[state];
        let item = &rows[card];
        assert_eq!(
            item["message"],
            message.replace(twin.as_str(), card),
            "{card}"
        );
        assert_eq!(item["after"], serde_json::json!(after), "{card}");
        let stored = app.db.card(card).await.expect("read").expect("card");
        assert_eq!(stored.state, *after);
        match row.as_ref().filter(|_| *state != CardState::Produced) {
            Some(expected) => {
                assert_eq!(item["outcome"], "changed");
                let got = only_history(&app, card).await;
                let mut expected = expected.clone();
                expected.detail = expected.detail.map(|d| d.replace(twin.as_str(), card));
                assert!(same_row(&got, &expected), "{got:?}\n{expected:?}");
                assert!(
                    got.detail.as_deref().unwrap_or_default().contains(REASON),
                    "{got:?}"
                );
                assert_eq!(
                    calls.get(&format!("/api/card/{card}/cancel")).copied(),
                    Some(1)
                );
            }
            None => {
                assert_eq!(item["outcome"], "skipped");
                assert_eq!(app.db.count_history(card).await.expect("count"), 0);
            }
        }
    }
}

fn order_form() -> OrderForm {
    OrderForm {
        article_id: "KSK-K11686X".into(),
        recipient: "The Card Office".into(),
        address_one: "Storgatan 1".into(),
        postal_code: "111 22".into(),
        city: "Stockholm".into(),
        country_code: "SE".into(),
    }
}

/// A user holding one card in `state`; their id.
async fn user(app: &TestApp, group: u32, n: u32, state: CardState) -> i64 {
    let id = card_id(group, n);
    card(app, &id, state, None).await;
    app.db
        .holder_of_card(&id)
        .await
        .expect("read")
        .expect("holder")
}

common::engines!(
    a_batch_order_orders_once_per_user_and_skips_open_orders,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn a_batch_order_orders_once_per_user_and_skips_open_orders(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    app.db
        .set_command(CommandList::User, Process::OrderCard, true)
        .await
        .expect("enable");
    let cookie = app.login(OPERATOR).await;
    let mut users = Vec::new();
    for n in 0..4 {
        users.push(user(&app, 18, n, CardState::Produced).await);
    }
    let open = user(&app, 19, 0, CardState::Ordered).await;
    let twin_open = user(&app, 19, 1, CardState::Ordered).await;
    let (code, body) = app
        .call_fn(
            Some(&cookie),
            OrderCard {
                user_id: twin_open,
                form: order_form(),
            },
        )
        .await;
    assert_eq!(code, 409, "{body}");
    let refusal = body["message"]
        .as_str()
        .expect("message")
        .replace(&card_id(19, 1), &card_id(19, 0));
    let refusal = refusal.replace(
        &format!("Jobber{}", card_id(19, 1)),
        &format!("Jobber{}", card_id(19, 0)),
    );

    let mut ids: Vec<String> = users.iter().map(i64::to_string).collect();
    ids.push(open.to_string());
    let (code, body) = start(&app, &cookie, request(Process::OrderCard, ids.clone())).await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        body["message"],
        "The batch order needs an article and a delivery address."
    );
    let mut req = request(Process::OrderCard, ids);
    req.order = Some(order_form());
    let (code, preview) = app
        .call_fn(
            Some(&cookie),
            PreviewJob {
                request: req.clone(),
            },
        )
        .await;
    assert_eq!(code, 200, "{preview}");
    assert_eq!(preview["title"], "Order cards for 5 users");
    assert_eq!(preview["to_run"], 4);
    assert_eq!(
        preview["skipped"],
        serde_json::json!([{"count": 1, "reason": refusal}])
    );
    let orders_before = app.sim.orders().len();
    let (code, job) = start(&app, &cookie, req).await;
    assert_eq!(code, 200, "{}: {job}", t.name);
    let id = job_id(&job);
    let done = wait_for(&app, &cookie, id, "done").await;
    assert_eq!(counts(&done), [5, 0, 0, 4, 0, 1, 0], "{done}");

    let rows = items(&app, &cookie, id).await;
    let orders = app.sim.orders();
    assert_eq!(orders.len() - orders_before, 4, "one order per user");
    let keys: std::collections::HashSet<&str> =
        orders.iter().map(|o| o.idempotency_key.as_str()).collect();
    assert_eq!(keys.len(), orders.len(), "each order its own key");
    for user_id in &users {
        let name = app.db.cards_of_holder(*user_id).await.expect("cards");
        let mut open_cards = Vec::new();
        for card in &name {
            let row = app.db.card(card).await.expect("read").expect("card");
            if row.state == CardState::Ordered {
                open_cards.push(row.card_id.clone());
            }
        }
        assert_eq!(open_cards.len(), 1, "user {user_id}: {name:?}");
        let ordered = &open_cards[0];
        let item = rows
            .values()
            .find(|r| r["href"] == format!("/users/{user_id}"))
            .unwrap_or_else(|| panic!("no item for {user_id}"));
        assert_eq!(item["outcome"], "ordered");
        assert_eq!(
            item["message"],
            format!("Card ordered: {ordered} is Ordered")
        );
        let history = only_history(&app, ordered).await;
        assert_eq!(history.actor.as_deref(), Some("operator"));
    }
    let skipped = rows
        .values()
        .find(|r| r["href"] == format!("/users/{open}"))
        .expect("the open order's item");
    assert_eq!(skipped["outcome"], "skipped");
    assert_eq!(skipped["message"], refusal.as_str());
}

common::engines!(
    an_item_whose_command_ran_before_the_process_died_is_not_run_again,
    flavor = "multi_thread",
    worker_threads = 2
);
/// The window a SIGKILL can hit: an item's command has run (GO Cards asked, the card and its
/// history row written) and the process dies before the item's outcome is stored. Run the
/// rest takes the outcome from the card's history instead of asking GO Cards again and
/// writing a second row.
async fn an_item_whose_command_ran_before_the_process_died_is_not_run_again(t: TestDb) {
    use backend::db::jobs::{JobStart, NewItem, NewJob};

    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let ids = ordered_cards(&app, 21, 3).await;
    let operator = app
        .db
        .user_by_name(OPERATOR.0)
        .await
        .expect("read")
        .expect("operator");
    let new_items: Vec<NewItem> = ids
        .iter()
        .map(|id| NewItem {
            target: id.clone(),
            label: id.clone(),
            before: Some(CardState::Ordered),
            outcome: None,
            message: String::new(),
        })
        .collect();
    // Stored as running by a process whose lease has lapsed: it died.
    let started = app
        .db
        .create_job(&NewJob {
            process: Process::UpdateCardOrder,
            started_by: OPERATOR.0,
            started_by_id: operator.id,
            reason: None,
            order: None,
            items: &new_items,
            lease_holder: "jobs-a-process-that-died",
            lease_until: 0,
        })
        .await
        .expect("store the job");
    let JobStart::Started(id) = started else {
        panic!("{started:?}");
    };
    // Its first item's command ran, as the runner runs it; its outcome was never stored.
    let card = desk_core::domain::CardId::parse(&ids[0]).expect("card id");
    let ran = backend::services::update_card_order::update_card_order(
        &app.db,
        &app.state.gocards.current(),
        &card,
        1,
        OPERATOR.0,
    )
    .await
    .expect("the single command");
    assert_eq!(
        app.db
            .interrupt_lapsed_jobs(backend::db::now_ms(), false)
            .await
            .expect("sweep")
            .len(),
        1
    );
    let job = wait_for(&app, &cookie, id, "interrupted").await;
    assert_eq!(counts(&job), [3, 0, 0, 0, 0, 0, 3], "{job}");

    let (code, body) = app.call_fn(Some(&cookie), RunRest { id }).await;
    assert_eq!(code, 200, "{}: {body}", t.name);
    let done = wait_for(&app, &cookie, id, "done").await;
    assert_eq!(counts(&done), [3, 3, 0, 0, 0, 0, 0], "{done}");
    let rows = items(&app, &cookie, id).await;
    assert_eq!(rows[&ids[0]]["message"], ran.message.as_str());
    assert_eq!(rows[&ids[0]]["after"], "in_production");
    let calls = calls_by_path(&app);
    for card in &ids {
        assert_eq!(calls.get(&card_path(card)).copied(), Some(1), "{card}");
        let row = only_history(&app, card).await;
        assert_eq!(row.to_state, CardState::InProduction);
        assert_eq!(
            rows[card]["message"],
            "Status updated: Ordered → In production"
        );
    }
}

common::engines!(
    stop_does_not_wait_out_a_429_pause,
    flavor = "multi_thread",
    worker_threads = 2
);
/// A 429 with a long Retry-After pauses the job; Stop during the pause ends it at once (no
/// item is in flight), not when the pause is over.
async fn stop_does_not_wait_out_a_429_pause(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let ids = ordered_cards(&app, 22, 40).await;
    app.sim.set_fault(
        FaultSpec::new(FaultMode::Error429)
            .with_retry_after(30)
            .for_card(ids[0].clone())
            .times(1),
    );
    let (code, job) = start(
        &app,
        &cookie,
        request(Process::UpdateCardOrder, ids.clone()),
    )
    .await;
    assert_eq!(code, 200, "{}: {job}", t.name);
    let id = job_id(&job);
    // The 429's item is stored (the pause began before that), and the items that started
    // before its reply came have finished: the job stands still.
    let mut last = None;
    loop {
        let (_, job) = status(&app, &cookie, id).await;
        let c = counts(&job);
        if c[4] >= 1 && last == Some(c) {
            break;
        }
        last = (c[4] >= 1).then_some(c);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let calls_paused = app.sim.calls().len();
    let asked = Instant::now();
    let (code, body) = app.call_fn(Some(&cookie), StopJob { id }).await;
    assert_eq!(code, 200, "{body}");
    let stopped = wait_for(&app, &cookie, id, "stopped").await;
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "Stop took {:?}: it waited out the 30 s pause",
        asked.elapsed()
    );
    let [total, changed, unchanged, _, failed, skipped, not_run] = counts(&stopped);
    assert_eq!(
        (total, unchanged, failed, skipped),
        (40, 0, 1, 0),
        "{stopped}"
    );
    assert!(not_run > 0 && changed + failed + not_run == 40, "{stopped}");
    assert_eq!(
        app.sim.calls().len(),
        calls_paused,
        "no card asked after the 429"
    );
}

common::engines!(
    a_jobs_items_export_as_csv_to_its_starter_and_admins,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn a_jobs_items_export_as_csv_to_its_starter_and_admins(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    common::app::add_user(
        &t.db,
        OPERATOR2.0,
        desk_core::model::Role::Operator,
        OPERATOR2.1,
    )
    .await;
    let op = app.login(OPERATOR).await;
    let op2 = app.login(OPERATOR2).await;
    let admin = app.login(ADMIN).await;
    let mut ids = ordered_cards(&app, 21, 4).await;
    let produced = card_id(22, 0);
    card(&app, &produced, CardState::Produced, Some("PRODUCED")).await;
    ids.push(produced.clone());
    let (code, job) = start(&app, &op, request(Process::UpdateCardOrder, ids.clone())).await;
    assert_eq!(code, 200, "{}: {job}", t.name);
    let id = job_id(&job);
    wait_for(&app, &op, id, "done").await;

    let get = |cookie: Option<String>, query: &'static str| {
        let app = &app;
        async move {
            let mut request = app
                .http
                .get(format!("{}/export/jobs/{id}/items.csv{query}", app.base));
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let res = request.send().await.expect("send");
            let status = res.status().as_u16();
            let disposition = res
                .headers()
                .get("content-disposition")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            (status, disposition, res.text().await.unwrap_or_default())
        }
    };
    let (status, disposition, body) = get(Some(op.clone()), "").await;
    assert_eq!(status, 200, "{}: {body}", t.name);
    assert!(
        disposition.contains(&format!("job-{id}-items-")),
        "{disposition}"
    );
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "position,item,name,state_before,state_after,outcome,message"
    );
    assert_eq!(lines.len(), 6, "{body}");
    for (n, card) in ids.iter().enumerate() {
        assert!(
            lines[n + 1].starts_with(&format!("{},{card},,", n + 1)),
            "{}",
            lines[n + 1]
        );
    }
    assert!(
        lines[1].contains(",ordered,in_production,changed,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[5].contains(",produced,produced,skipped,"),
        "{}",
        lines[5]
    );
    // One outcome only.
    let (status, _, body) = get(Some(op.clone()), "?outcome=skipped").await;
    assert_eq!(status, 200);
    assert_eq!(body.lines().count(), 2, "{body}");
    // An admin may, another operator is told there is no such job, nobody without a session.
    assert_eq!(get(Some(admin.clone()), "").await.0, 200);
    let (status, _, body) = get(Some(op2.clone()), "").await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains(&ids[0]), "{body}");
    assert_eq!(get(None, "").await.0, 401);
    let (status, _, body) = get(Some(op.clone()), "?outcome=maybe").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Unknown outcome"), "{body}");
    // Each download that was sent is in the audit log, with its row count.
    let mut lines = Vec::new();
    for _ in 0..100 {
        lines =
            t.db.audit_log(50)
                .await
                .expect("audit")
                .into_iter()
                .filter(|l| l.action == "export job items")
                .collect();
        if lines.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.detail.contains("5 rows")),
        "{lines:?}"
    );
}
