//! Live updates, measured where a browser's stream receives them.
//!
//! 1. Change-to-stream latency: 200 changes, one after another, each a signed webhook from
//!    the simulator that moves an Ordered card to In production; the time from the simulator
//!    changing the card to the `card` event arriving on an open `/events` stream. On SQLite
//!    (one process), and across two PostgreSQL replicas (the webhook to replica A, the stream
//!    on replica B: A's NOTIFY, B's LISTEN). Goal: p95 ≤ 500 ms.
//! 2. 1,000 open streams on one release server (a process of its own, so its RSS is its
//!    own): the RSS they add (goal ≤ 50 MB), and the time from one change to the last of the
//!    1,000 streams receiving it (goal ≤ 200 ms).
//!
//!   cargo bench -p server --bench live
//!
//! `BENCH_CHANGES` (default 200), `BENCH_STREAMS` (default 1000), `BENCH_SERVER_BIN` (default
//! `target/release/server`; build it with `make build-release` first, and again after a bench,
//! since `cargo bench` rebuilds it without the site).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backend::db::cards::NewCard;
use desk_core::domain::CardState;
use futures::StreamExt;
use testkit::app::{spawn, spawn_replica, TestApp, OPERATOR};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `count` Ordered cards the simulator knows.
async fn open_cards(app: &TestApp, count: usize) -> anyhow::Result<Vec<String>> {
    let run = rand::random::<u32>() % 100_000;
    let cards: Vec<NewCard> = (0..count)
        .map(|i| NewCard {
            card_id: format!("CA79{run:05}{:03}-L{i:07}", i % 1000),
            first_name: "Live".into(),
            last_name: format!("Bench{i}"),
            email: format!("live{i}@example.org"),
            employee_id: format!("LV{run}-{i}"),
            state: CardState::Ordered,
            ordered_at: Some(1_763_000_000_000),
        })
        .collect();
    app.db.insert_cards(&cards, |_| {}).await?;
    let ids: Vec<String> = cards.into_iter().map(|c| c.card_id).collect();
    let rows = app.db.cards_by_ids(&ids).await?;
    app.sim
        .upsert_cards(rows.iter().map(server::startup::card_info_for).collect());
    Ok(ids)
}

/// Moves each card with a webhook through `through` and times its event on `watched`'s
/// stream.
async fn latencies(
    through: &TestApp,
    watched: &TestApp,
    cards: &[String],
) -> anyhow::Result<Vec<Duration>> {
    through.connect_demo_webhook();
    let cookie = watched.login(OPERATOR).await;
    let mut stream = testkit::sse::open(&watched.http, &watched.base, Some(&cookie)).await;
    anyhow::ensure!(stream.status == 200, "GET /events: {}", stream.status);
    let mut took = Vec::with_capacity(cards.len());
    for card in cards {
        let started = Instant::now();
        anyhow::ensure!(
            through.sim.set_status(card, "IN_PRODUCTION", None),
            "no card {card}"
        );
        let event = stream
            .next_card(card, Duration::from_secs(10))
            .await
            .ok_or_else(|| anyhow::anyhow!("no event for {card}"))?;
        took.push(event.at - started);
    }
    took.sort();
    Ok(took)
}

fn report(what: &str, took: &[Duration]) {
    println!(
        "| {what} | {} | {} | {} | {} |",
        took.len(),
        ms(percentile(took, 50.0)),
        ms(percentile(took, 95.0)),
        ms(took.last().copied().unwrap_or_default()),
    );
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// 1,000 streams on one release server: their RSS, and one change's fan-out to all.
async fn many_streams(bin: &str, streams: usize) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let (port, sim_port) = (free_port()?, free_port()?);
    let env = |cmd: &mut Command| {
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATA_DIR", data.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/live.db?mode=rwc", data.path().display()),
            )
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("GOCARDS_SIM_ADDR", format!("127.0.0.1:{sim_port}"))
            .env("DEMO_PRODUCTION_SECS", "0")
            .env("SYNC_INTERVAL_SECS", "0")
            .env("RUST_LOG", "warn");
    };
    let mut seed = Command::new(bin);
    env(&mut seed);
    anyhow::ensure!(
        seed.args(["seed-demo", "--cards", "50"])
            .stdout(Stdio::null())
            .status()?
            .success(),
        "seed-demo"
    );
    let mut add = Command::new(bin);
    env(&mut add);
    let mut child = add
        .args(["user", "add", "live", "--role", "operator"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    if let Some(stdin) = child.stdin.as_mut() {
        use std::io::Write;
        stdin.write_all(b"live-bench-pass-1\n")?;
    }
    anyhow::ensure!(child.wait()?.success(), "user add");
    let mut serve = Command::new(bin);
    env(&mut serve);
    let server = Server(serve.arg("serve").stdout(Stdio::null()).spawn()?);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(http.get(format!("{base}/healthz")).send().await, Ok(r) if r.status().is_success())
    {
        anyhow::ensure!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cookie = testkit::desk::log_in(&http, &base, "live", "live-bench-pass-1").await?;
    let search = app::api::SearchCards {
        search: desk_core::model::CardSearch {
            status: Some(CardState::Ordered),
            ..Default::default()
        },
    };
    let page: serde_json::Value =
        testkit::desk::server_fn_request(&http, &base, Some(&cookie), &search)
            .send()
            .await?
            .json()
            .await?;
    let card = page["rows"][0]["card_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no Ordered card: {page}"))?
        .to_owned();

    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = server.0.id();
    let before = rss_kb(pid);
    // Each stream on a connection of its own, as each browser tab has.
    let (arrived_tx, mut arrived) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let (open_tx, mut opened) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let mut readers = Vec::with_capacity(streams);
    for _ in 0..streams {
        let client = reqwest::Client::builder().build()?;
        let (base, cookie, card) = (base.clone(), cookie.clone(), card.clone());
        let (arrived_tx, open_tx) = (arrived_tx.clone(), open_tx.clone());
        readers.push(tokio::spawn(async move {
            let reply = client
                .get(format!("{base}/events"))
                .header("cookie", cookie)
                .send()
                .await;
            let Ok(reply) = reply else {
                let _ = open_tx.send(false);
                return;
            };
            let _ = open_tx.send(reply.status().is_success());
            let mut body = reply.bytes_stream();
            let mut seen = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                if seen.contains(&card) {
                    let _ = arrived_tx.send(Instant::now());
                    return;
                }
                if seen.len() > 64 * 1024 {
                    seen.clear();
                }
            }
        }));
    }
    let mut open = 0;
    for _ in 0..streams {
        if opened.recv().await == Some(true) {
            open += 1;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let with_streams = rss_kb(pid);

    let sim = format!("http://127.0.0.1:{sim_port}");
    let started = Instant::now();
    let moved = http
        .post(format!("{sim}/sim/cards/{card}/status"))
        .json(&serde_json::json!({"status": "IN_PRODUCTION"}))
        .send()
        .await?;
    anyhow::ensure!(
        moved.status().is_success(),
        "sim status: {}",
        moved.status()
    );
    let mut first = None;
    let mut last = started;
    for _ in 0..open {
        match tokio::time::timeout(Duration::from_secs(10), arrived.recv()).await {
            Ok(Some(at)) => {
                first.get_or_insert(at);
                last = at;
            }
            _ => anyhow::bail!("not every stream received the change"),
        }
    }
    let first = first.unwrap_or(started);
    println!(
        "{open} of {streams} streams open; server RSS {} MB before, {} MB with them: +{} MB",
        before / 1024,
        with_streams / 1024,
        with_streams.saturating_sub(before) / 1024
    );
    println!(
        "one change to all {open} streams: first after {}, last after {} (fan-out {} from the first to the last)",
        ms(first - started),
        ms(last - started),
        ms(last - first)
    );
    for reader in readers {
        reader.abort();
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let changes: usize = env_or("BENCH_CHANGES", 200);
    let streams: usize = env_or("BENCH_STREAMS", 1000);
    println!("change to stream, {changes} changes one after another (a webhook each)");
    println!("| where | changes | p50 | p95 | max |");
    println!("|---|---|---|---|---|");
    let sqlite = testkit::db::sqlite().await;
    let app = spawn(sqlite.db.clone()).await;
    let cards = open_cards(&app, changes).await?;
    report("SQLite, one process", &latencies(&app, &app, &cards).await?);
    match testkit::db::postgres().await {
        Some(pg) => {
            let a = spawn(pg.db.clone()).await;
            let b = spawn_replica(backend::db::Db::connect(&pg.url, 8).await?).await;
            let cards = open_cards(&a, changes).await?;
            report(
                "PostgreSQL, webhook to replica A, stream on replica B",
                &latencies(&a, &b, &cards).await?,
            );
        }
        None => println!("(PostgreSQL unreachable: its row is skipped)"),
    }
    let bin = std::env::var("BENCH_SERVER_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/server").to_owned()
    });
    if std::path::Path::new(&bin).exists() {
        many_streams(&bin, streams).await?;
    } else {
        println!(
            "({bin} is missing: build it with `make build-release` for the {streams}-stream part)"
        );
    }
    Ok(())
}
