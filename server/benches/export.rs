//! CSV export speed on a large database, in rows per second: the keyset pages alone, the
//! pages written as CSV, and the whole download over HTTP (`GET /export/cards.csv`, read as
//! it streams).
//!
//!   cargo bench -p server --bench export
//!
//! Environment:
//! - `BENCH_DATABASE_URL`: default a SQLite file `target/bench/export.db`; a `postgres://`
//!   URL benchmarks PostgreSQL (the database must exist).
//! - `BENCH_CARDS`: cards to seed with `seed-demo` when the database is empty (default
//!   1,000,000).
//! - `BENCH_RUNS`: exports per search and measurement (default 3); the median is reported.
//!
//! The searches: every card (no filter), one status (Ordered), and a last-name prefix of one
//! letter ("b"), each exported whole (every match, by card ID).

use std::time::{Duration, Instant};

use futures::StreamExt;

use backend::db::Db;
use desk_core::domain::CardState;
use desk_core::export::{CardExportRow, CsvSheet};
use desk_core::model::CardSearch;

mod support;

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn line(label: &str, rows: u64, runs: Vec<Duration>) {
    let best = runs.iter().min().copied().unwrap_or_default();
    let mid = median(runs);
    println!(
        "  {label:<28} {rows:>9} rows  median {:>7.3} s = {:>9.0} rows/s  (best {:>9.0} rows/s)",
        mid.as_secs_f64(),
        rows as f64 / mid.as_secs_f64(),
        rows as f64 / best.as_secs_f64()
    );
}

async fn pages_only(db: &Db, search: &CardSearch) -> anyhow::Result<u64> {
    let mut pages = db.export_cards(search.clone()).await?;
    let mut rows = 0;
    while let Some(page) = pages.next().await {
        rows += page?.len() as u64;
    }
    Ok(rows)
}

async fn pages_as_csv(db: &Db, search: &CardSearch) -> anyhow::Result<u64> {
    let mut pages = db.export_cards(search.clone()).await?;
    let mut sheet = CsvSheet::new();
    sheet.header::<CardExportRow>()?;
    let (mut rows, mut bytes) = (0, 0);
    while let Some(page) = pages.next().await {
        let page = page?;
        for row in &page {
            sheet.row(row)?;
        }
        rows += page.len() as u64;
        bytes += sheet.take()?.len();
    }
    std::hint::black_box(bytes);
    Ok(rows)
}

async fn over_http(bench: &support::BenchApp, query: &str) -> anyhow::Result<u64> {
    let res = bench
        .http
        .get(format!("{}/export/cards.csv{query}", bench.base))
        .header("cookie", &bench.cookie)
        .send()
        .await?;
    if !res.status().is_success() {
        anyhow::bail!("export failed: {}", res.status());
    }
    let mut body = res.bytes_stream();
    let mut lines = 0_u64;
    while let Some(chunk) = body.next().await {
        lines += chunk?.iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok(lines.saturating_sub(1))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| {
        let _ = std::fs::create_dir_all("target/bench");
        "sqlite://target/bench/export.db?mode=rwc".to_owned()
    });
    let cards: u64 = std::env::var("BENCH_CARDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let db = Db::connect(&url, 16).await?;
    if db.count_cards().await? == 0 {
        println!("seeding {cards} cards into {url} …");
        let started = Instant::now();
        server::cli::seed::seed_cards(&db, cards).await?;
        println!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    }
    println!(
        "database: {} ({} cards)",
        url.split('?').next().unwrap_or(&url),
        db.count_cards().await?
    );
    let bench = support::start(&db).await?;
    let searches = [
        ("every card", CardSearch::default(), ""),
        (
            "status Ordered",
            CardSearch {
                status: Some(CardState::Ordered),
                ..Default::default()
            },
            "?status=ordered",
        ),
        (
            "last name \"b\"",
            CardSearch {
                last_name: "b".into(),
                ..Default::default()
            },
            "?last_name=b",
        ),
    ];
    for (label, search, query) in &searches {
        println!("{label}:");
        // Warm the caches once.
        let rows = pages_only(&db, search).await?;
        let measure = |name: &'static str| (name, Vec::with_capacity(runs));
        let (mut a, mut b, mut c) = (
            measure("pages (Db::export_cards)"),
            measure("pages written as CSV"),
            measure("HTTP download"),
        );
        for _ in 0..runs {
            let started = Instant::now();
            anyhow::ensure!(pages_only(&db, search).await? == rows);
            a.1.push(started.elapsed());
            let started = Instant::now();
            anyhow::ensure!(pages_as_csv(&db, search).await? == rows);
            b.1.push(started.elapsed());
            let started = Instant::now();
            let sent = over_http(&bench, query).await?;
            c.1.push(started.elapsed());
            // Failure reasons may hold line breaks: at least one line a row.
            anyhow::ensure!(sent >= rows, "{sent} lines for {rows} rows");
        }
        for (name, times) in [a, b, c] {
            line(name, rows, times);
        }
    }
    Ok(())
}
