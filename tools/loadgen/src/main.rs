//! `loadgen`: virtual operators against a running desk, over HTTP, as the browser
//! calls it. Each logs in with its own session, then loops until the time is up: search (a
//! status and a last-name prefix), open one of the results, and now and then run Update card
//! order on it. Prints p50/p95/p99 per action, the throughput and the errors.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use app::api::{CardProfile, SearchCards, UpdateCardOrder};
use clap::Parser;
use desk_core::domain::CardState;
use desk_core::model::CardSearch;
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::Value;
use testkit::desk::server_fn_request;

/// Virtual operators against a running desk: search, open, Update card order now and then;
/// prints p50/p95/p99 per action. The password is read from stdin.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version)]
struct Args {
    /// The desk's address.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    operators: u32,
    /// Seconds to run.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    duration: u64,
    /// The user every virtual operator logs in as (each with its own session).
    #[arg(long, default_value = "operator")]
    user: String,
    /// Mean pause between one operator's actions, in milliseconds.
    #[arg(long, default_value_t = 250)]
    think_ms: u64,
    /// Each virtual operator also holds the live stream (`GET /events`) open, as a tab does.
    #[arg(long)]
    streams: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match start(args).await {
        Ok(report) => {
            println!("{report}");
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn start(args: Args) -> anyhow::Result<String> {
    let password = read_password()?;
    run(LoadPlan {
        base_url: args.url,
        operators: args.operators as usize,
        duration: Duration::from_secs(args.duration),
        username: args.user,
        password,
        think: Duration::from_millis(args.think_ms),
        update_every: 10,
        streams: args.streams,
    })
    .await
}

/// One line from stdin: the password, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("could not read the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// What a run is asked to do.
#[derive(Clone, Debug)]
pub struct LoadPlan {
    pub base_url: String,
    pub operators: usize,
    pub duration: Duration,
    pub username: String,
    pub password: String,
    /// Mean pause between one operator's actions (uniform from 0 to twice this).
    pub think: Duration,
    /// One in this many opened open orders gets Update card order.
    pub update_every: u32,
    /// Each operator holds a live stream open for the whole run.
    pub streams: bool,
}

/// Latencies of one action, in microseconds, and its failures.
#[derive(Default)]
struct Tally {
    micros: Vec<u64>,
    errors: u64,
    /// Answers that are part of normal work (409 "changed meanwhile", 502 GO Cards down).
    refusals: u64,
}

/// The status filter of a search; `None` is "Any".
const STATUSES: [Option<CardState>; 3] = [
    Some(CardState::Ordered),
    Some(CardState::InProduction),
    None,
];
const PREFIXES: [&str; 12] = [
    "b", "ber", "l", "lin", "s", "ö", "a", "and", "k", "m", "n", "jo",
];

pub async fn run(plan: LoadPlan) -> anyhow::Result<String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(plan.operators)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .context("HTTP client")?;
    let base = plan.base_url.trim_end_matches('/').to_owned();

    // Log everyone in first: the run measures work, not log-ins.
    let mut cookies = Vec::with_capacity(plan.operators);
    for _ in 0..plan.operators {
        cookies.push(testkit::desk::log_in(&http, &base, &plan.username, &plan.password).await?);
    }
    eprintln!(
        "{} operators logged in; running for {} s",
        plan.operators,
        plan.duration.as_secs()
    );

    let started = Instant::now();
    let deadline = started + plan.duration;
    // The streams, on a client without a request timeout: they are meant to stay open.
    let mut streams = Vec::new();
    if plan.streams {
        let stream_http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("HTTP client for the streams")?;
        for cookie in &cookies {
            streams.push(tokio::spawn(hold_stream(
                stream_http.clone(),
                base.clone(),
                cookie.clone(),
                deadline,
            )));
        }
    }
    let mut tasks = Vec::new();
    for cookie in cookies {
        let http = http.clone();
        let base = base.clone();
        let plan = plan.clone();
        tasks.push(tokio::spawn(async move {
            operator(http, base, cookie, plan, deadline).await
        }));
    }
    let mut totals: BTreeMap<&'static str, Tally> = BTreeMap::new();
    for task in tasks {
        let tallies = task.await.context("an operator task stopped")?;
        for (action, tally) in tallies {
            let total = totals.entry(action).or_default();
            total.micros.extend(tally.micros);
            total.errors += tally.errors;
            total.refusals += tally.refusals;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut text = report(&totals, elapsed, plan.operators);
    if plan.streams {
        let (mut held, mut events) = (0, 0);
        for stream in streams {
            let (whole_run, received) = stream.await.context("a stream task stopped")?;
            held += usize::from(whole_run);
            events += received;
        }
        text.push_str(&format!(
            "\nlive streams: {held} of {} open for the whole run, {events} events received",
            plan.operators
        ));
    }
    Ok(text)
}

/// Holds `GET /events` open until `deadline`, as a browser tab does: whether it stayed open
/// the whole time, and how many events came.
async fn hold_stream(
    http: reqwest::Client,
    base: String,
    cookie: String,
    deadline: Instant,
) -> (bool, u64) {
    use futures::StreamExt;
    let reply = http
        .get(format!("{base}/events"))
        .header("cookie", cookie)
        .header("accept", "text/event-stream")
        .send()
        .await;
    let Ok(reply) = reply.and_then(|r| r.error_for_status()) else {
        return (false, 0);
    };
    let mut body = reply.bytes_stream();
    let mut events = 0;
    let until = tokio::time::Instant::from_std(deadline);
    loop {
        match tokio::time::timeout_at(until, body.next()).await {
            // The run is over, with the stream still open.
            Err(_) => return (true, events),
            Ok(Some(Ok(chunk))) => {
                events += String::from_utf8_lossy(&chunk).matches("event:").count() as u64;
            }
            Ok(_) => return (false, events),
        }
    }
}

async fn operator(
    http: reqwest::Client,
    base: String,
    cookie: String,
    plan: LoadPlan,
    deadline: Instant,
) -> BTreeMap<&'static str, Tally> {
    let mut tallies: BTreeMap<&'static str, Tally> = BTreeMap::new();
    // Operators arrive over the first think time, as people do, not all in the same
    // millisecond: a synchronized burst of every operator's first search is another test.
    pause(plan.think).await;
    while Instant::now() < deadline {
        let (status_filter, prefix) = {
            let mut rng = rand::rng();
            (
                *STATUSES.choose(&mut rng).unwrap_or(&None),
                *PREFIXES.choose(&mut rng).unwrap_or(&"b"),
            )
        };
        let search = SearchCards {
            search: CardSearch {
                status: status_filter,
                last_name: prefix.to_owned(),
                ..Default::default()
            },
        };
        let (took, status, page) =
            timed(server_fn_request(&http, &base, Some(&cookie), &search)).await;
        record(&mut tallies, "search", took, status);
        let card_id = page["rows"].as_array().and_then(|rows| {
            rows.choose(&mut rand::rng())
                .and_then(|row| row["card_id"].as_str().map(str::to_owned))
        });
        if let Some(card_id) = card_id {
            pause(plan.think).await;
            let profile = CardProfile {
                card_id: card_id.clone(),
            };
            let (took, status, card) =
                timed(server_fn_request(&http, &base, Some(&cookie), &profile)).await;
            record(&mut tallies, "open profile", took, status);
            let open = matches!(card["state"].as_str(), Some("ordered" | "in_production"));
            let roll = rand::rng().random_range(0..plan.update_every.max(1));
            if open && roll == 0 {
                if let Some(version) = card["version"].as_i64() {
                    pause(plan.think).await;
                    let update = UpdateCardOrder {
                        card_id: card_id.clone(),
                        expected_version: version,
                    };
                    let (took, status, _) =
                        timed(server_fn_request(&http, &base, Some(&cookie), &update)).await;
                    record(&mut tallies, "update card order", took, status);
                }
            }
        }
        pause(plan.think).await;
    }
    tallies
}

/// Sends one server-function call (built by `server_fn_request` from the function's typed
/// arguments) and times it: the latency, the status (0 without a reply) and the JSON body.
async fn timed(request: reqwest::RequestBuilder) -> (Duration, u16, Value) {
    let started = Instant::now();
    let reply = request.send().await;
    let status = reply.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
    let body = match reply {
        Ok(reply) => reply.json::<Value>().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    (started.elapsed(), status, body)
}

fn record(
    tallies: &mut BTreeMap<&'static str, Tally>,
    action: &'static str,
    took: Duration,
    status: u16,
) {
    let tally = tallies.entry(action).or_default();
    match status {
        200..=299 => tally.micros.push(took.as_micros() as u64),
        // The card changed meanwhile, the command is off, or GO Cards refused: work, not failure.
        403 | 409 | 502 if action == "update card order" => {
            tally.refusals += 1;
            tally.micros.push(took.as_micros() as u64);
        }
        _ => tally.errors += 1,
    }
}

async fn pause(mean: Duration) {
    if mean.is_zero() {
        return;
    }
    let millis = rand::rng().random_range(0..=mean.as_millis() as u64 * 2);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)] as f64 / 1000.0
}

fn report(totals: &BTreeMap<&'static str, Tally>, elapsed: f64, operators: usize) -> String {
    let mut lines = vec![format!(
        "{operators} operators, {elapsed:.1} s\n\
         | action | calls | p50 ms | p95 ms | p99 ms | errors | refused (normal) |\n\
         |---|---|---|---|---|---|---|"
    )];
    let mut calls = 0;
    let mut errors = 0;
    for (action, tally) in totals {
        let mut sorted = tally.micros.clone();
        sorted.sort_unstable();
        calls += sorted.len() as u64 + tally.errors;
        errors += tally.errors;
        lines.push(format!(
            "| {action} | {} | {:.2} | {:.2} | {:.2} | {} | {} |",
            sorted.len() as u64 + tally.errors,
            percentile(&sorted, 0.50),
            percentile(&sorted, 0.95),
            percentile(&sorted, 0.99),
            tally.errors,
            tally.refusals
        ));
    }
    lines.push(format!(
        "throughput {:.0} calls/s, {errors} errors",
        calls as f64 / elapsed.max(0.001)
    ));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_list() {
        let sorted: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile(&sorted, 0.5), 51.0);
        assert_eq!(percentile(&sorted, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.99), 0.0);
    }
}
