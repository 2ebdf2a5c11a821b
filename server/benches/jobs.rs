//! A job's throughput: Update card order over 1,000 Ordered cards, through the server
//! functions (StartJob, then JobStatus until Done), with GO Cards (the simulator) answering
//! after a fixed latency. The goal at 20 ms and `JOB_CONCURRENCY` 8 is 80 % of 8 ÷ 20 ms,
//! 320 cards/s. The same job runs at the other concurrencies beside it, in one run.
//!
//!   cargo bench -p server --bench jobs
//!
//! `BENCH_DATABASE_URL` (default a fresh SQLite file under `target/bench/`), `BENCH_JOB_CARDS`
//! (default 1000), `BENCH_LATENCY_MS` (default 20), `BENCH_CONCURRENCY` (default "1,8,16").

use std::time::{Duration, Instant};

use backend::db::cards::NewCard;
use backend::db::Db;
use desk_core::domain::{CardState, JobStatus, Process};
use desk_core::model::JobRequest;
use gocards_sim::{FaultMode, FaultSpec};

mod support;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cards: usize = env_or("BENCH_JOB_CARDS", 1000);
    let latency_ms: u64 = env_or("BENCH_LATENCY_MS", 20);
    let concurrencies: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "1,8,16".to_owned())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    println!("job of {cards} cards, Update card order, GO Cards latency {latency_ms} ms");
    for concurrency in concurrencies {
        let url = match std::env::var("BENCH_DATABASE_URL") {
            Ok(url) => url,
            Err(_) => {
                std::fs::create_dir_all("target/bench")?;
                let path = format!("target/bench/jobs-{concurrency}.db");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
                format!("sqlite://{path}?mode=rwc")
            }
        };
        let db = Db::connect(&url, 16).await?;
        let run = rand::random::<u32>() % 100_000;
        let seeded: Vec<NewCard> = (0..cards)
            .map(|i| NewCard {
                card_id: format!("CA78{run:05}{:03}-J{i:07}", i % 1000),
                first_name: "Bench".into(),
                last_name: format!("Job{i}"),
                email: format!("job{i}@example.org"),
                employee_id: format!("JB{run}-{i}"),
                state: CardState::Ordered,
                ordered_at: Some(1_763_000_000_000),
            })
            .collect();
        db.insert_cards(&seeded, |_| {}).await?;
        db.set_command(CardState::Ordered, Process::UpdateCardOrder, true)
            .await?;
        // Registered with the simulator by the start-up (demo mode: open orders).
        let bench = support::start_with(&db, |config| config.job_concurrency = concurrency).await?;
        let (sim, _) = bench
            .simulator
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no simulator"))?;
        sim.set_fault(FaultSpec::new(FaultMode::Latency).with_latency_ms(latency_ms));
        let (base, http, cookie) = (&bench.base, &bench.http, &bench.cookie);
        let request = JobRequest {
            process: Process::UpdateCardOrder,
            items: seeded.iter().map(|c| c.card_id.clone()).collect(),
            reason: None,
            order: None,
        };
        let started = Instant::now();
        let res = testkit::desk::server_fn_request(
            http,
            base,
            Some(cookie),
            &app::api::StartJob { request },
        )
        .send()
        .await?;
        let status = res.status();
        let job: serde_json::Value = res.json().await?;
        if !status.is_success() {
            anyhow::bail!("StartJob answered {status}: {job}");
        }
        let id = job["id"].as_i64().unwrap_or_default();
        let view = loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let view: serde_json::Value = testkit::desk::server_fn_request(
                http,
                base,
                Some(cookie),
                &app::api::JobStatus { id },
            )
            .send()
            .await?
            .json()
            .await?;
            let done = view["status"].as_str() != Some(JobStatus::Running.as_str());
            if done || started.elapsed() > Duration::from_secs(600) {
                break view;
            }
        };
        let took = started.elapsed().as_secs_f64();
        let ideal = concurrency as f64 * 1000.0 / latency_ms.max(1) as f64;
        let rate = cards as f64 / took;
        println!(
            "JOB_CONCURRENCY {concurrency:>2}: {cards} cards in {took:.2} s = {rate:.0} cards/s \
             ({:.0} % of {concurrency} / {latency_ms} ms = {ideal:.0}/s); status {}, counts {}",
            100.0 * rate / ideal,
            view["status"],
            view["counts"]
        );
        db.close().await;
    }
    Ok(())
}
