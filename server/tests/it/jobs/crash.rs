//! Crash and restart, against a release server (`make crash`): SIGKILL the server during a
//! 2,000-item job, start it again on the same SQLite file, find the job Interrupted, and
//! "Run the rest". Every item is processed exactly once: one history row per card from the
//! job, one GO Cards call per card except those in flight at the kill, and for the batch
//! order exactly one GO Cards order per user (`GET /sim/orders`). And SIGTERM: the server
//! finishes the items in flight, marks the job Interrupted itself, and exits in time.
//!
//! GO Cards is the simulator, in this test process, on a socket of its own: it outlives the
//! server, so its call log and its orders span the kill. Run by hand:
//! `JOBS_SERVER_BIN=target/release/server cargo test -p server --test it jobs::crash --
//! --ignored --nocapture`.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit as common;

use app::api::{JobStatus as JobStatusFn, RunRest, StartJob};
use backend::db::cards::NewCard;
use backend::db::Db;
use common::gocards::{start_sim, TestSim, CLIENT_ID, CLIENT_SECRET, ORGANISATION};
use desk_core::domain::{CardState, CommandList, OrderForm, Process};
use desk_core::model::{JobRequest, Role};
use gocards_sim::{FaultMode, FaultSpec};
use serde_json::Value;

const ITEMS: u32 = 2_000;
const CONCURRENCY: usize = 8;
/// GO Cards latency while the job runs: about 400 items a second at 8 in flight.
const LATENCY_MS: u64 = 20;
const USER: (&str, &str) = ("crash-operator", "crash-operator-password");

/// A server function called on the rig's server, as the browser calls it.
macro_rules! call {
    ($rig:expr, $cookie:expr, $args:expr) => {
        $rig.send(common::desk::server_fn_request(
            &$rig.http,
            &$rig.base(),
            Some($cookie),
            &$args,
        ))
        .await
    };
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Rig {
    bin: String,
    data: tempfile::TempDir,
    db_url: String,
    port: u16,
    sim: TestSim,
    http: reqwest::Client,
}

impl Rig {
    async fn new() -> Option<Rig> {
        let Ok(bin) = std::env::var("JOBS_SERVER_BIN") else {
            eprintln!("JOBS_SERVER_BIN is not set: skipped (make crash sets it)");
            return None;
        };
        let data = tempfile::tempdir().expect("temp dir");
        let db_url = format!("sqlite://{}/desk.db?mode=rwc", data.path().display());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let sim = start_sim().await.expect("simulator");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Some(Rig {
            bin,
            data,
            db_url,
            port,
            sim,
            http,
        })
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `server serve` on the rig's database, with GO Cards the rig's simulator.
    async fn serve(&self) -> Server {
        let mut cmd = Command::new(&self.bin);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATA_DIR", self.data.path())
            .env("DATABASE_URL", &self.db_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", self.port))
            .env("LEPTOS_SITE_ROOT", self.data.path().join("site"))
            .env("GOCARDS_BASE_URL", format!("http://{}/", self.sim.addr))
            .env("GOCARDS_CLIENT_ID", CLIENT_ID)
            .env("GOCARDS_CLIENT_SECRET", CLIENT_SECRET)
            .env("GOCARDS_ORGANISATION_ID", ORGANISATION)
            .env("JOB_CONCURRENCY", CONCURRENCY.to_string())
            // No batch sync: every GO Cards call comes from the job.
            .env("SYNC_INTERVAL_SECS", "0")
            .env(
                "SESSION_SECRET",
                "crash-test-session-secret-crash-test-session-secret",
            )
            .env("RUST_LOG", "warn")
            .arg("serve")
            .stdout(Stdio::null());
        let server = Server(cmd.spawn().expect("server serve"));
        let ready = Instant::now();
        loop {
            if let Ok(reply) = self
                .http
                .get(format!("{}/readyz", self.base()))
                .send()
                .await
            {
                if reply.status().is_success() {
                    break;
                }
            }
            assert!(
                ready.elapsed() < Duration::from_secs(60),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    async fn log_in(&self) -> String {
        common::desk::log_in(&self.http, &self.base(), USER.0, USER.1)
            .await
            .unwrap_or_else(|e| panic!("log-in: {e}"))
    }

    /// Sends a server-function request made by [`Rig::call`].
    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let reply = request.send().await.expect("call");
        let status = reply.status().as_u16();
        let text = reply.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn status(&self, cookie: &str, id: i64) -> Value {
        let (code, job) = call!(self, cookie, JobStatusFn { id });
        assert_eq!(code, 200, "{job}");
        job
    }

    async fn wait_for(&self, cookie: &str, id: i64, want: &str) -> Value {
        let started = Instant::now();
        loop {
            let job = self.status(cookie, id).await;
            if job["status"] == want {
                return job;
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "job {id} is still {}: {job}",
                job["status"]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts the job, waits until `kill_at` items are done, and SIGKILLs the server.
    async fn start_and_kill(&self, server: Server, request: JobRequest, kill_at: u64) -> i64 {
        let cookie = self.log_in().await;
        let (code, job) = call!(self, &cookie, StartJob { request });
        assert_eq!(code, 200, "{job}");
        let id = job["id"].as_i64().expect("job id");
        loop {
            let job = self.status(&cookie, id).await;
            let done = processed(&job);
            assert_eq!(
                job["status"], "running",
                "the job ended before the kill: {job}"
            );
            if done >= kill_at {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut server = server;
        // `Child::kill` is SIGKILL: no shutdown, no Interrupted written by the server.
        server.0.kill().expect("SIGKILL");
        let _ = server.0.wait();
        id
    }
}

fn processed(job: &Value) -> u64 {
    ["changed", "unchanged", "ordered", "failed", "skipped"]
        .iter()
        .map(|k| job["counts"][*k].as_u64().unwrap_or(0))
        .sum()
}

fn count(job: &Value, key: &str) -> u64 {
    job["counts"][key].as_u64().unwrap_or(u64::MAX)
}

/// GO Cards calls per path so far.
fn calls(sim: &TestSim) -> HashMap<String, usize> {
    let mut calls = HashMap::new();
    for (_, path, _) in sim.sim.calls() {
        *calls.entry(path).or_default() += 1;
    }
    calls
}

async fn seed_user(db: &Db) {
    let hash = backend::auth::hash_password(USER.1.to_owned())
        .await
        .expect("hash");
    assert!(db
        .insert_user(USER.0, &hash, Role::Operator)
        .await
        .expect("user"));
}

fn new_card(n: u32, state: CardState) -> NewCard {
    NewCard {
        card_id: format!("CA77{n:08}-CRSH{n:04}"),
        first_name: "Kim".into(),
        last_name: format!("Crash{n}"),
        email: format!("kim{n}@example.org"),
        employee_id: format!("K{n}"),
        state,
        ordered_at: Some(1_763_000_000_000),
    }
}

/// `ITEMS` Ordered cards that GO Cards reports In production, Update card order enabled,
/// and GO Cards slow; their ids.
async fn seed_update_job(rig: &Rig) -> Vec<String> {
    let cards: Vec<NewCard> = (0..ITEMS)
        .map(|n| new_card(n, CardState::Ordered))
        .collect();
    let ids: Vec<String> = cards.iter().map(|c| c.card_id.clone()).collect();
    {
        let db = Db::connect(&rig.db_url, 4).await.expect("open");
        seed_user(&db).await;
        db.insert_cards(&cards, |_| {}).await.expect("cards");
        db.set_command(CardState::Ordered, Process::UpdateCardOrder, true)
            .await
            .expect("enable");
        let mut infos = Vec::with_capacity(ids.len());
        for id in &ids {
            let row = db.card(id).await.expect("read").expect("card");
            infos.push(server::startup::card_info_for(&row));
        }
        rig.sim.sim.upsert_cards(infos);
        for id in &ids {
            rig.sim.sim.set_status(id, "IN_PRODUCTION", None);
        }
        db.close().await;
    }
    rig.sim
        .sim
        .set_fault(FaultSpec::new(FaultMode::Latency).with_latency_ms(LATENCY_MS));
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a release server: make crash"]
async fn a_killed_update_job_runs_the_rest_and_each_card_once() {
    let Some(rig) = Rig::new().await else {
        return;
    };
    let ids = seed_update_job(&rig).await;
    let started = Instant::now();
    let server = rig.serve().await;
    let request = JobRequest {
        process: Process::UpdateCardOrder,
        items: ids.clone(),
        reason: None,
        order: None,
    };
    let id = rig
        .start_and_kill(server, request, u64::from(ITEMS) / 3)
        .await;
    let at_kill = calls(&rig.sim);

    let server = rig.serve().await;
    let cookie = rig.log_in().await;
    let job = rig.status(&cookie, id).await;
    assert_eq!(job["status"], "interrupted", "{job}");
    let done_before = count(&job, "changed");
    assert!(done_before > 0 && count(&job, "not_run") > 0, "{job}");
    assert_eq!(
        done_before + count(&job, "not_run"),
        u64::from(ITEMS),
        "{job}"
    );
    let (code, body) = call!(rig, &cookie, RunRest { id });
    assert_eq!(code, 200, "{body}");
    let done = rig.wait_for(&cookie, id, "done").await;
    let took = started.elapsed();
    drop(server);

    let after = calls(&rig.sim);
    let db = Db::connect(&rig.db_url, 4).await.expect("open");
    let mut twice = Vec::new();
    let mut rows_wrong = Vec::new();
    for card in &ids {
        let n = after
            .get(&format!("/api/card/{card}"))
            .copied()
            .unwrap_or(0);
        match n {
            1 => {}
            2 => twice.push(card.clone()),
            _ => panic!("{card} was asked {n} times"),
        }
        let rows = db.card_history(card, 10).await.expect("history");
        let from_job = rows
            .iter()
            .filter(|r| r.actor.as_deref() == Some(USER.0))
            .count();
        if from_job != 1 || rows.len() != 1 {
            rows_wrong.push((card.clone(), rows));
        }
        let stored = db.card(card).await.expect("read").expect("card");
        assert_eq!(stored.state, CardState::InProduction, "{card}");
    }
    db.close().await;
    let in_flight_at_kill = ids
        .iter()
        .filter(|c| at_kill.contains_key(&format!("/api/card/{c}")))
        .count() as u64
        - done_before;
    eprintln!(
        "crash (update): {ITEMS} cards, killed at {done_before} done with {in_flight_at_kill} \
         in flight; {} asked twice; done {} in {:.1} s in all",
        twice.len(),
        done,
        took.as_secs_f64()
    );
    assert!(
        rows_wrong.is_empty(),
        "{} cards without exactly one history row from the job: {:?}",
        rows_wrong.len(),
        rows_wrong.iter().take(3).collect::<Vec<_>>()
    );
    assert!(twice.len() <= CONCURRENCY, "{} asked twice", twice.len());
    assert!(twice.len() as u64 <= in_flight_at_kill);
    assert_eq!(count(&done, "not_run"), 0, "{done}");
    assert_eq!(processed(&done), u64::from(ITEMS), "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a release server: make crash"]
async fn a_killed_batch_order_orders_once_per_user() {
    let Some(rig) = Rig::new().await else {
        return;
    };
    let cards: Vec<NewCard> = (0..ITEMS)
        .map(|n| new_card(n, CardState::Produced))
        .collect();
    let mut users = Vec::with_capacity(cards.len());
    {
        let db = Db::connect(&rig.db_url, 4).await.expect("open");
        seed_user(&db).await;
        db.insert_cards(&cards, |_| {}).await.expect("cards");
        db.set_command(CommandList::User, Process::OrderCard, true)
            .await
            .expect("enable");
        for card in &cards {
            users.push(
                db.holder_of_card(&card.card_id)
                    .await
                    .expect("read")
                    .expect("holder"),
            );
        }
        db.close().await;
    }
    rig.sim
        .sim
        .set_fault(FaultSpec::new(FaultMode::Latency).with_latency_ms(LATENCY_MS));

    let started = Instant::now();
    let server = rig.serve().await;
    let request = JobRequest {
        process: Process::OrderCard,
        items: users.iter().map(i64::to_string).collect(),
        reason: None,
        order: Some(OrderForm {
            article_id: "KSK-K11686X".into(),
            recipient: "The Card Office".into(),
            address_one: "Storgatan 1".into(),
            postal_code: "111 22".into(),
            city: "Stockholm".into(),
            country_code: "SE".into(),
        }),
    };
    let id = rig
        .start_and_kill(server, request, u64::from(ITEMS) / 3)
        .await;
    let orders_at_kill = rig.sim.sim_orders().await.expect("orders").len();

    let server = rig.serve().await;
    let cookie = rig.log_in().await;
    let job = rig.status(&cookie, id).await;
    assert_eq!(job["status"], "interrupted", "{job}");
    let done_before = count(&job, "ordered");
    assert!(done_before > 0 && count(&job, "not_run") > 0, "{job}");
    let (code, body) = call!(rig, &cookie, RunRest { id });
    assert_eq!(code, 200, "{body}");
    let done = rig.wait_for(&cookie, id, "done").await;
    let took = started.elapsed();
    drop(server);

    // Exactly one order per user reached GO Cards, each for its own pending order.
    let orders = rig.sim.sim_orders().await.expect("orders");
    let references: std::collections::HashSet<&str> = orders
        .iter()
        .map(|o| o.external_reference.as_str())
        .collect();
    assert_eq!(orders.len(), users.len(), "one order per user");
    assert_eq!(references.len(), users.len(), "each its own reference");
    let posts = calls(&rig.sim).get("/api/order").copied().unwrap_or(0);
    let db = Db::connect(&rig.db_url, 4).await.expect("open");
    for user in &users {
        let mut open = 0;
        for card in db.cards_of_holder(*user).await.expect("cards") {
            let row = db.card(&card).await.expect("read").expect("card");
            if row.state == CardState::Ordered {
                open += 1;
                let rows = db.card_history(&card, 10).await.expect("history");
                assert_eq!(rows.len(), 1, "{card}: {rows:?}");
                assert_eq!(rows[0].actor.as_deref(), Some(USER.0));
            }
        }
        assert_eq!(open, 1, "user {user} has {open} open orders");
    }
    db.close().await;
    eprintln!(
        "crash (batch order): {ITEMS} users, killed at {done_before} ordered ({orders_at_kill} \
         orders at GO Cards); {posts} POST /api/order in all; done {} in {:.1} s in all",
        done,
        took.as_secs_f64()
    );
    assert!(
        posts <= users.len() + CONCURRENCY,
        "{posts} order calls for {} users",
        users.len()
    );
    assert_eq!(count(&done, "not_run"), 0, "{done}");
    assert_eq!(count(&done, "failed"), 0, "{done}");
    // Users whose order was stored but whose item was not (killed in between) are skipped
    // with the single command's message on the second run; at most those in flight.
    assert!(count(&done, "skipped") <= CONCURRENCY as u64, "{done}");
    assert_eq!(
        count(&done, "ordered") + count(&done, "skipped"),
        u64::from(ITEMS),
        "{done}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a release server: make crash"]
async fn sigterm_interrupts_a_job_after_its_items_in_flight() {
    let Some(rig) = Rig::new().await else {
        return;
    };
    let ids = seed_update_job(&rig).await;
    let mut server = rig.serve().await;
    let cookie = rig.log_in().await;
    let request = JobRequest {
        process: Process::UpdateCardOrder,
        items: ids.clone(),
        reason: None,
        order: None,
    };
    let (code, job) = call!(rig, &cookie, StartJob { request });
    assert_eq!(code, 200, "{job}");
    let id = job["id"].as_i64().expect("job id");
    while processed(&rig.status(&cookie, id).await) < u64::from(ITEMS) / 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = libc::pid_t::try_from(server.0.id()).expect("a pid");
    // SAFETY: kill(2) with a pid this test started and still owns; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let signalled = Instant::now();
    let exit = server.0.wait().expect("wait");
    let took = signalled.elapsed();
    assert!(exit.success(), "{exit:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");

    // The server itself marked the job Interrupted, after its items in flight: every card
    // GO Cards was asked about has its outcome.
    let at_exit = calls(&rig.sim);
    let asked = ids
        .iter()
        .filter(|c| at_exit.contains_key(&format!("/api/card/{c}")))
        .count() as u64;
    let server = rig.serve().await;
    let cookie = rig.log_in().await;
    let job = rig.status(&cookie, id).await;
    assert_eq!(job["status"], "interrupted", "{job}");
    assert_eq!(count(&job, "changed"), asked, "{job}");
    assert_eq!(
        count(&job, "changed") + count(&job, "not_run"),
        u64::from(ITEMS)
    );
    let (code, body) = call!(rig, &cookie, RunRest { id });
    assert_eq!(code, 200, "{body}");
    let done = rig.wait_for(&cookie, id, "done").await;
    drop(server);
    assert_eq!(count(&done, "changed"), u64::from(ITEMS), "{done}");
    let after = calls(&rig.sim);
    for card in &ids {
        assert_eq!(
            after.get(&format!("/api/card/{card}")).copied(),
            Some(1),
            "{card}"
        );
    }
    eprintln!(
        "sigterm: exited {:.1} s after SIGTERM with {asked} of {ITEMS} done; Run the rest \
         asked each remaining card once",
        took.as_secs_f64()
    );
}
