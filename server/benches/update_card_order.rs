//! The server's overhead on the "Next" round trip of Update card order: the whole HTTP call
//! minus the time GO Cards (the simulator) takes for the same `GET /api/card/{id}`.
//!
//!   cargo bench -p server --bench update_card_order
//!
//! `BENCH_DATABASE_URL` (default a fresh SQLite file under `target/bench/`) and
//! `BENCH_ITERATIONS` (default 1000). The cards stay Ordered (GO Cards reports ORDERED), so
//! every call does the full work: session, checks, GO Cards, a history row, `last checked`.

use std::time::{Duration, Instant};

use backend::db::cards::NewCard;
use backend::db::Db;
use desk_core::domain::{CardState, Process};

mod support;

fn percentiles(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let at =
        |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let url = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => url,
        Err(_) => {
            std::fs::create_dir_all("target/bench")?;
            let _ = std::fs::remove_file("target/bench/update.db");
            "sqlite://target/bench/update.db?mode=rwc".to_owned()
        }
    };
    let db = Db::connect(&url, 16).await?;
    let cards: Vec<NewCard> = (0..100)
        .map(|i| NewCard {
            card_id: format!("CA44{i:08}-BENCH{:03}", i),
            first_name: "Bench".into(),
            last_name: format!("Card{i}"),
            email: "bench@example.org".into(),
            employee_id: format!("B{i}"),
            state: CardState::Ordered,
            ordered_at: Some(1_763_000_000_000),
        })
        .collect();
    if db.card(&cards[0].card_id).await?.is_none() {
        db.insert_cards(&cards, |_| {}).await?;
    }
    db.set_command(CardState::Ordered, Process::UpdateCardOrder, true)
        .await?;

    let bench = support::start(&db).await?;
    let (sim, sim_addr) = bench
        .simulator
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no simulator"))?;
    let (base, http, cookie) = (&bench.base, &bench.http, &bench.cookie);

    // The GO Cards part alone: the same call, straight to the simulator.
    let sim_config = sim.config().clone();
    let token: serde_json::Value = http
        .post(format!("http://{sim_addr}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", sim_config.client_id.as_str()),
            ("client_secret", sim_config.client_secret.as_str()),
        ])
        .send()
        .await?
        .json()
        .await?;
    let bearer = format!(
        "Bearer {}",
        token["access_token"].as_str().unwrap_or_default()
    );

    let mut whole = Vec::with_capacity(iterations);
    let mut gocards = Vec::with_capacity(iterations);
    for i in 0..iterations + 50 {
        let card = &cards[i % cards.len()].card_id;
        let started = Instant::now();
        let res = http
            .get(format!("http://{sim_addr}/api/card/{card}"))
            .header("authorization", &bearer)
            .header("x-organisation-id", &sim_config.organisation_id)
            .send()
            .await?;
        let _ = res.bytes().await?;
        let sim_time = started.elapsed();

        let request = testkit::desk::server_fn_request(
            http,
            base,
            Some(cookie),
            &app::api::UpdateCardOrder {
                card_id: card.clone(),
                expected_version: 1,
            },
        );
        let started = Instant::now();
        let res = request.send().await?;
        let status = res.status();
        let text = res.text().await?;
        let total = started.elapsed();
        if !status.is_success() || !text.contains("No change") {
            anyhow::bail!("unexpected reply {status}: {text}");
        }
        if i >= 50 {
            whole.push(total);
            gocards.push(sim_time);
        }
    }
    let overhead: Vec<Duration> = whole
        .iter()
        .zip(&gocards)
        .map(|(w, g)| w.saturating_sub(*g))
        .collect();
    let (w50, w99) = percentiles(whole);
    let (g50, g99) = percentiles(gocards);
    let (o50, o99) = percentiles(overhead);
    println!("database: {}", url.split('?').next().unwrap_or(&url));
    println!("Next round trip   n={iterations}  p50 {w50:.3} ms  p99 {w99:.3} ms");
    println!("GO Cards alone    n={iterations}  p50 {g50:.3} ms  p99 {g99:.3} ms");
    println!("server overhead   n={iterations}  p50 {o50:.3} ms  p99 {o99:.3} ms");
    Ok(())
}
