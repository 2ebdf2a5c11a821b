//! The server's overhead on Order card's Next: the whole HTTP call minus the time GO Cards
//! (the simulator) takes for the same `POST /api/order`, each for a user with no open order.
//! The overhead is the session, the checks, the pending order stored before the call, and
//! the card with its history row stored after it.
//!
//!   cargo bench -p server --bench order_card
//!
//! `BENCH_DATABASE_URL` (default a fresh SQLite file under `target/bench/`) and
//! `BENCH_ITERATIONS` (default 1000).

use std::time::{Duration, Instant};

use backend::db::cards::NewCard;
use backend::db::Db;
use desk_core::domain::{CardState, CommandList, OrderForm, Process};

mod support;

fn percentiles(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let at =
        |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99))
}

fn form() -> OrderForm {
    OrderForm {
        article_id: "KSK-K11686X".into(),
        recipient: "Bench Person".into(),
        address_one: "Storgatan 1".into(),
        postal_code: "111 22".into(),
        city: "Stockholm".into(),
        country_code: "SE".into(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let warm_up = 50;
    let url = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => url,
        Err(_) => {
            std::fs::create_dir_all("target/bench")?;
            let _ = std::fs::remove_file("target/bench/order.db");
            "sqlite://target/bench/order.db?mode=rwc".to_owned()
        }
    };
    let db = Db::connect(&url, 16).await?;
    // A new run: people no earlier run ordered for.
    let run = rand::random::<u32>() % 100_000;
    let people: Vec<NewCard> = (0..iterations + warm_up)
        .map(|i| NewCard {
            card_id: format!("CA77{run:05}{:03}-B{i:07}", i % 1000),
            first_name: "Bench".into(),
            last_name: format!("Person{i}"),
            email: format!("bench{i}@example.org"),
            employee_id: format!("OB{run}-{i}"),
            state: CardState::Produced,
            ordered_at: Some(1_763_000_000_000),
        })
        .collect();
    db.insert_cards(&people, |_| {}).await?;
    let mut holders = Vec::with_capacity(people.len());
    for person in &people {
        let holder = db
            .holder_of_card(&person.card_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no holder for {}", person.card_id))?;
        holders.push(holder);
    }
    db.set_command(CommandList::User, Process::OrderCard, true)
        .await?;

    let bench = support::start(&db).await?;
    let (sim, sim_addr) = bench
        .simulator
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no simulator"))?;
    let (base, http, cookie) = (&bench.base, &bench.http, &bench.cookie);

    // The GO Cards part alone: the same kind of order, straight to the simulator.
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
    for (i, holder) in holders.iter().enumerate() {
        let body = serde_json::json!({
            "externalReference": format!("BENCH-{run}-{i}"),
            "articleId": "KSK-K11686X",
            "cardHolderEmail": "bench@example.org",
            "cardElements": {"FIRST_NAME": "Bench", "LAST_NAME": "Direct"},
            "deliveryAddress": {"recipient": "Bench", "addressOne": "Storgatan 1",
                "postalCode": "111 22", "city": "Stockholm", "countryCode": "SE"},
        });
        let started = Instant::now();
        let res = http
            .post(format!("http://{sim_addr}/api/order"))
            .header("authorization", &bearer)
            .header("x-organisation-id", &sim_config.organisation_id)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await?;
        let direct = res.status();
        let _ = res.bytes().await?;
        let sim_time = started.elapsed();
        if direct.as_u16() != 201 {
            anyhow::bail!("the simulator answered {direct} to a direct order");
        }

        let request = testkit::desk::server_fn_request(
            http,
            base,
            Some(cookie),
            &app::api::OrderCard {
                user_id: *holder,
                form: form(),
            },
        );
        let started = Instant::now();
        let res = request.send().await?;
        let status = res.status();
        let text = res.text().await?;
        let total = started.elapsed();
        if !status.is_success() || !text.contains("Card ordered") {
            anyhow::bail!("unexpected reply {status}: {text}");
        }
        if i >= warm_up {
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
    println!("Order card Next   n={iterations}  p50 {w50:.3} ms  p99 {w99:.3} ms");
    println!("GO Cards alone    n={iterations}  p50 {g50:.3} ms  p99 {g99:.3} ms");
    println!("server overhead   n={iterations}  p50 {o50:.3} ms  p99 {o99:.3} ms");
    Ok(())
}
