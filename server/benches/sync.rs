//! The batch sync's two paths against the simulator on a local socket.
//!
//!   cargo bench -p server --bench sync
//!
//! - **Changed-cards path**: `BENCH_CARDS` (default 100,000) open orders, all reported
//!   IN_PRODUCTION by GO Cards; one run applies them from the listing (a transaction and a
//!   history row per card). Reports cards/s.
//! - **Polling path**: `BENCH_POLL_CARDS` (default 2,000) open orders, GO Cards answering
//!   each `GET /api/card/{id}` after 20 ms, 16 in flight; reports cards/s against the
//!   ceiling 16 / 20 ms = 800/s.
//!
//! `BENCH_DATABASE_URL` names an empty PostgreSQL database to measure that engine instead of
//! a fresh SQLite file under `target/bench/`.

use std::time::{Duration, Instant};

use backend::db::cards::NewCard;
use backend::db::Db;
use backend::sync::{run_if_due, SyncHandle, SyncSettings};
use desk_core::domain::CardState;
use gocards::{GoCardsClient, GoCardsConfig};
use gocards_sim::{FaultMode, FaultSpec, SimConfig, Simulator};
use secrecy::SecretString;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn fresh_db(file: &str) -> anyhow::Result<Db> {
    let url = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => url,
        Err(_) => {
            std::fs::create_dir_all("target/bench")?;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("target/bench/{file}{suffix}"));
            }
            format!("sqlite://target/bench/{file}?mode=rwc")
        }
    };
    let db = Db::connect(&url, 16).await?;
    if db.count_cards().await? != 0 {
        anyhow::bail!("the benchmark needs an empty database");
    }
    Ok(db)
}

fn cards(prefix: &str, count: usize) -> Vec<NewCard> {
    (0..count)
        .map(|i| NewCard {
            card_id: format!(
                "CA{:010}-{prefix}{:04}",
                3_000_000_000_u64 + i as u64,
                i % 10_000
            ),
            first_name: "Bench".into(),
            last_name: format!("Sync{i}"),
            email: "bench@example.org".into(),
            employee_id: format!("S{i}"),
            state: CardState::Ordered,
            ordered_at: Some(1_763_000_000_000),
        })
        .collect()
}

async fn setup(db: &Db, prefix: &str, count: usize) -> anyhow::Result<(Simulator, GoCardsClient)> {
    db.insert_cards(&cards(prefix, count), |_| {}).await?;
    db.analyze().await?;
    let sim = Simulator::new(SimConfig::generated());
    let addr = sim.spawn("127.0.0.1:0".parse()?).await?;
    let open = db.open_orders().await?;
    sim.upsert_cards(open.iter().map(server::startup::card_info_for).collect());
    let client = GoCardsClient::new(GoCardsConfig {
        base_url: url::Url::parse(&format!("http://{addr}/"))?,
        client_id: sim.config().client_id.clone(),
        client_secret: SecretString::from(sim.config().client_secret.clone()),
        organisation_id: sim.config().organisation_id.clone(),
        timeout: Duration::from_secs(10),
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((sim, client))
}

async fn run(
    db: &Db,
    client: &GoCardsClient,
    sync: &SyncHandle,
) -> anyhow::Result<(Duration, i64, i64)> {
    db.sync_request_run("bench").await?;
    let started = Instant::now();
    let report = run_if_due(db, client, sync)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the sync did not run"))?;
    if report.status != desk_core::model::RunStatus::Completed || report.counts.failed != 0 {
        anyhow::bail!("unexpected run: {report:?}");
    }
    Ok((
        started.elapsed(),
        report.counts.checked,
        report.counts.changed,
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let engine = if std::env::var("BENCH_DATABASE_URL").is_ok() {
        "PostgreSQL"
    } else {
        "SQLite"
    };

    // The changed-cards path.
    let count = env_usize("BENCH_CARDS", 100_000);
    let db = fresh_db("sync-listing.db").await?;
    let (sim, client) = setup(&db, "LIST", count).await?;
    for card in db.open_orders().await? {
        sim.set_status(&card.card_id, "IN_PRODUCTION", None);
    }
    let sync = SyncHandle::new(SyncSettings::default());
    let (took, checked, changed) = run(&db, &client, &sync).await?;
    println!(
        "{engine} changed-cards path: {changed} of {checked} cards changed in {:.2} s = {:.0} cards/s",
        took.as_secs_f64(),
        changed as f64 / took.as_secs_f64()
    );
    let (took, checked, _) = run(&db, &client, &sync).await?;
    println!(
        "{engine} a second run over the same cards: {checked} checked in {:.3} s",
        took.as_secs_f64()
    );
    if std::env::var("BENCH_DATABASE_URL").is_ok() {
        // One engine database holds one benchmark: the poll needs its own.
        return Ok(());
    }

    // The polling path.
    let count = env_usize("BENCH_POLL_CARDS", 2_000);
    let db = fresh_db("sync-poll.db").await?;
    let (sim, client) = setup(&db, "POLL", count).await?;
    let settings = SyncSettings {
        stale_after: Duration::ZERO,
        concurrency: 16,
        ..SyncSettings::default()
    };
    let sync = SyncHandle::new(settings);
    // A first run takes the listing (every card is new to it) out of the way.
    run(&db, &client, &sync).await?;
    sim.set_fault(FaultSpec {
        latency_ms: 20,
        ..FaultSpec::new(FaultMode::Latency)
    });
    let (took, checked, _) = run(&db, &client, &sync).await?;
    let rate = checked as f64 / took.as_secs_f64();
    println!(
        "{engine} polling path: {checked} cards in {:.2} s = {rate:.0} cards/s ({:.0} % of 800/s)",
        took.as_secs_f64(),
        rate / 800.0 * 100.0
    );
    Ok(())
}
