//! `cargo bench -p server --bench gocards_client`: `GoCardsClient::card()` round trips
//! against the simulator on a loopback socket, at concurrency 1 and 50, next to the same
//! GET made with a bare reqwest client and a pre-fetched token. The difference is what the
//! client adds (token cache, URL building, body cap, JSON parsing, tracing).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use desk_core::domain::CardId;
use gocards::{GoCardsClient, GoCardsConfig};
use gocards_sim::{demo_cards, SimConfig, Simulator};
use secrecy::SecretString;

const CALLS: usize = 2000;
const WARM_UP_CALLS: usize = 200;
const CONCURRENCY: [usize; 2] = [1, 50];

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let config = SimConfig::standalone_defaults();
    let sim = Simulator::new(config.clone());
    let cards = demo_cards(100);
    let ids: Arc<Vec<CardId>> = Arc::new(
        cards
            .iter()
            .map(|card| CardId::parse(&card.card_id))
            .collect::<Result<_, _>>()?,
    );
    sim.upsert_cards(cards);
    let addr = sim.spawn(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let client = GoCardsClient::new(GoCardsConfig {
        base_url: url::Url::parse(&format!("http://{addr}"))?,
        client_id: config.client_id.clone(),
        client_secret: SecretString::from(config.client_secret.clone()),
        organisation_id: config.organisation_id.clone(),
        timeout: Duration::from_secs(10),
    })?;
    let raw = Arc::new(RawClient::new(addr, &config).await?);
    let through_client_call = {
        let (client, ids) = (client.clone(), ids.clone());
        Arc::new(move |i: usize| {
            let (client, ids) = (client.clone(), ids.clone());
            async move { card_call(&client, &ids, i).await }
        })
    };
    let raw_call = {
        let (raw, ids) = (raw.clone(), ids.clone());
        Arc::new(move |i: usize| {
            let (raw, ids) = (raw.clone(), ids.clone());
            async move { raw.get(&ids, i).await }
        })
    };

    println!("GO Cards client benchmark: {CALLS} card() calls per row, simulator on {addr}");
    println!(
        "{:>11} | {:>24} | {:>24} | {:>24} | {:>10}",
        "concurrency",
        "client p50 / p99 (µs)",
        "raw GET p50 / p99 (µs)",
        "overhead p50 / p99 (µs)",
        "client/s"
    );
    for concurrency in CONCURRENCY {
        // Warm both paths: connections, token, allocator.
        measure(concurrency, WARM_UP_CALLS, &through_client_call).await?;
        measure(concurrency, WARM_UP_CALLS, &raw_call).await?;
        // Interleave two halves to spread any drift over both paths.
        let mut through_client = Samples::default();
        let mut through_raw = Samples::default();
        for _ in 0..2 {
            through_raw.extend(measure(concurrency, CALLS / 2, &raw_call).await?);
            through_client.extend(measure(concurrency, CALLS / 2, &through_client_call).await?);
        }
        let (client_p50, client_p99) = (
            through_client.percentile(50.0),
            through_client.percentile(99.0),
        );
        let (raw_p50, raw_p99) = (through_raw.percentile(50.0), through_raw.percentile(99.0));
        println!(
            "{:>11} | {:>11.0} / {:>10.0} | {:>11.0} / {:>10.0} | {:>11.0} / {:>10.0} | {:>10.0}",
            concurrency,
            micros(client_p50),
            micros(client_p99),
            micros(raw_p50),
            micros(raw_p99),
            micros(client_p50) - micros(raw_p50),
            micros(client_p99) - micros(raw_p99),
            through_client.per_second(),
        );
    }
    println!(
        "simulator: {} /api calls served, {} token request(s) for the client and the raw path",
        sim.calls().len(),
        sim.token_requests()
    );
    Ok(())
}

async fn card_call(client: &GoCardsClient, ids: &[CardId], i: usize) -> anyhow::Result<()> {
    let id = ids.get(i % ids.len()).context("no ids")?;
    client.card(id).await?;
    Ok(())
}

/// The same GET with a bare reqwest client, a token fetched once, and the body read to bytes.
struct RawClient {
    http: reqwest::Client,
    base: String,
    token: String,
    organisation_id: String,
}

impl RawClient {
    async fn new(addr: SocketAddr, config: &SimConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let base = format!("http://{addr}");
        let reply: serde_json::Value = http
            .post(format!("{base}/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", config.client_id.as_str()),
                ("client_secret", config.client_secret.as_str()),
            ])
            .send()
            .await?
            .json()
            .await?;
        let token = reply["access_token"]
            .as_str()
            .context("no token")?
            .to_owned();
        Ok(RawClient {
            http,
            base,
            token,
            organisation_id: config.organisation_id.clone(),
        })
    }

    async fn get(&self, ids: &[CardId], i: usize) -> anyhow::Result<()> {
        let id = ids.get(i % ids.len()).context("no ids")?;
        let reply = self
            .http
            .get(format!("{}/api/card/{id}", self.base))
            .bearer_auth(&self.token)
            .header("X-Organisation-Id", &self.organisation_id)
            .send()
            .await?;
        anyhow::ensure!(reply.status().is_success(), "raw GET: {}", reply.status());
        reply.bytes().await?;
        Ok(())
    }
}

#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    busy: Duration,
}

impl Samples {
    fn extend(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.busy += other.busy;
    }

    fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort_unstable();
        let last = self.latencies.len().saturating_sub(1);
        let rank = ((p / 100.0) * last as f64).round() as usize;
        self.latencies
            .get(rank.min(last))
            .copied()
            .unwrap_or_default()
    }

    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.busy.as_secs_f64().max(f64::EPSILON)
    }
}

/// `total` calls spread over `concurrency` spawned tasks, each call timed.
async fn measure<F, Fut>(concurrency: usize, total: usize, call: &Arc<F>) -> anyhow::Result<Samples>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(total / concurrency + 1);
                for i in (worker..total).step_by(concurrency) {
                    let before = Instant::now();
                    call(i).await?;
                    latencies.push(before.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut samples = Samples::default();
    for worker in workers {
        samples.latencies.extend(worker.await??);
    }
    samples.busy = started.elapsed();
    Ok(samples)
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}
