//! Search speed on a large database: the bare SQL, the service call, and the HTTP endpoint.
//!
//!   cargo bench -p server --bench search
//!
//! Environment:
//! - `BENCH_DATABASE_URL`: default a SQLite file under `target/bench/`; a `postgres://` URL
//!   benchmarks PostgreSQL (the database must exist).
//! - `BENCH_CARDS`: cards to seed when the database is empty (default 1,000,000).
//! - `BENCH_ITERATIONS`: searches per measurement (default 400).
//!
//! The search is the operator's usual one: a status (Ordered, In production or Any, a third
//! each) plus a last-name prefix of 1 to 3 letters, page 1 of 50, sorted by card ID.
//!
//! Then Search for User over the holders (one per demo card: 1,000,000 by default): a
//! last-name prefix of 1, 2 and 3 letters, each measured on its own, page 1 of 50 sorted by
//! Name (the list's default), with each row's card states; the bare SQL, the service call
//! and the HTTP endpoint. `BENCH_USER_SORTS=1` also times the Email and Employee ID sorts.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use backend::db::Db;
use desk_core::domain::CardState;
use desk_core::model::{CardSearch, HolderSearch, HolderSort, HolderSortColumn, Sort};

mod support;

const PREFIXES: &[&str] = &[
    "b", "be", "ber", "and", "jo", "ka", "ni", "ö", "öst", "åk", "li", "lu", "s", "sv", "pe", "ek",
    "ho", "f", "da", "ch",
];

fn searches(n: usize) -> Vec<CardSearch> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..n)
        .map(|_| CardSearch {
            status: match rng.random_range(0..3) {
                0 => Some(CardState::Ordered),
                1 => Some(CardState::InProduction),
                _ => None,
            },
            last_name: PREFIXES[rng.random_range(0..PREFIXES.len())].to_owned(),
            page: 1,
            sort: Sort::default(),
            ..Default::default()
        })
        .collect()
}

/// Last-name prefixes for the user search, by length.
const USER_PREFIXES: [&[&str]; 3] = [
    &[
        "b", "a", "j", "k", "n", "e", "l", "o", "p", "s", "g", "h", "ö", "å", "w", "f", "d", "m",
        "y", "c",
    ],
    &[
        "be", "an", "jo", "ka", "ni", "er", "la", "ol", "pe", "sv", "gu", "ha", "ös", "åk", "li",
        "lu", "st", "sj", "ho", "ch",
    ],
    &[
        "ber", "and", "joh", "kar", "nil", "eri", "lar", "ols", "per", "sve", "gus", "pet", "öst",
        "åke", "lin", "lun", "str", "sjö", "hol", "che",
    ],
];

fn user_searches(n: usize, letters: usize, column: HolderSortColumn) -> Vec<HolderSearch> {
    let mut rng = StdRng::seed_from_u64(11 + letters as u64);
    let prefixes = USER_PREFIXES[letters - 1];
    (0..n)
        .map(|_| HolderSearch {
            last_name: prefixes[rng.random_range(0..prefixes.len())].to_owned(),
            page: 1,
            sort: HolderSort {
                column,
                descending: rng.random_bool(0.5) && column != HolderSortColumn::Name,
            },
            ..Default::default()
        })
        .collect()
}

/// Times the user search `work` three ways: the bare SQL, `Db::search_holders` (the SQL
/// plus each row's card states) and the server function over HTTP.
async fn bench_users(
    db: &Db,
    bench: &support::BenchApp,
    label: &str,
    work: &[HolderSearch],
) -> anyhow::Result<()> {
    for s in work.iter().take(20) {
        db.search_holders(s).await?;
    }
    let mut raw = Vec::with_capacity(work.len());
    for s in work {
        let started = Instant::now();
        let (sql, binds) = Db::holder_search_sql(s);
        let rows = backend::on_pool!(db, pool => {
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(pool).await.map(|r| r.len())
        })?;
        raw.push(started.elapsed());
        std::hint::black_box(rows);
    }
    let mut service = Vec::with_capacity(work.len());
    for s in work {
        let started = Instant::now();
        let page = db.search_holders(s).await?;
        service.push(started.elapsed());
        std::hint::black_box(page);
    }
    let mut endpoint = Vec::with_capacity(work.len());
    for s in work {
        let request = testkit::desk::server_fn_request(
            &bench.http,
            &bench.base,
            Some(&bench.cookie),
            &app::api::SearchUsers { search: s.clone() },
        );
        let started = Instant::now();
        let res = request.send().await?;
        let status = res.status();
        let bytes = res.bytes().await?;
        endpoint.push(started.elapsed());
        if !status.is_success() {
            anyhow::bail!(
                "user search failed: {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
    println!("{label}");
    report("  raw SQL", raw);
    report("  service", service);
    report("  HTTP endpoint", endpoint);
    Ok(())
}

fn report(label: &str, mut times: Vec<Duration>) -> Duration {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<22} n={:<5} p50 {:>7.3} ms   p95 {:>7.3} ms   p99 {:>7.3} ms",
        times.len(),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(at(0.99))
    );
    at(0.5)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| {
        let _ = std::fs::create_dir_all("target/bench");
        "sqlite://target/bench/search.db?mode=rwc".to_owned()
    });
    let cards: u64 = std::env::var("BENCH_CARDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let db = Db::connect(&url, 16).await?;
    let have = db.count_cards().await?;
    if have == 0 {
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
    let work = searches(iterations);

    // Warm the caches once.
    for s in work.iter().take(50) {
        db.search_cards(s).await?;
    }

    let mut raw = Vec::with_capacity(iterations);
    for s in &work {
        let started = Instant::now();
        // The plan's capped count is part of the database's work for this search.
        let plan = db.search_plan(s).await?;
        let (sql, binds) = Db::search_sql(s, plan);
        let rows = backend::on_pool!(&db, pool => {
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(pool).await.map(|r| r.len())
        })?;
        raw.push(started.elapsed());
        std::hint::black_box(rows);
    }

    let mut service = Vec::with_capacity(iterations);
    for s in &work {
        let started = Instant::now();
        let page = db.search_cards(s).await?;
        service.push(started.elapsed());
        std::hint::black_box(page);
    }

    // The endpoint: the real router on a local socket, logged in as an operator.
    let bench = support::start(&db).await?;
    let (base, http, cookie) = (&bench.base, &bench.http, &bench.cookie);
    let mut endpoint = Vec::with_capacity(iterations);
    for s in &work {
        let request = testkit::desk::server_fn_request(
            http,
            base,
            Some(cookie),
            &app::api::SearchCards { search: s.clone() },
        );
        let started = Instant::now();
        let res = request.send().await?;
        let status = res.status();
        let bytes = res.bytes().await?;
        endpoint.push(started.elapsed());
        if !status.is_success() {
            anyhow::bail!(
                "search failed: {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    let raw_p50 = report("raw SQL", raw);
    report("service (Db::search)", service);
    let endpoint_p50 = report("HTTP endpoint", endpoint);
    println!(
        "endpoint p50 / raw SQL p50 = {:.2}",
        endpoint_p50.as_secs_f64() / raw_p50.as_secs_f64()
    );

    println!("\nSearch for User ({} holders)", db.count_holders().await?);
    let mut columns = vec![HolderSortColumn::Name];
    if std::env::var("BENCH_USER_SORTS").as_deref() == Ok("1") {
        columns.extend([HolderSortColumn::Email, HolderSortColumn::EmployeeId]);
    }
    for column in columns {
        for letters in 1..=3 {
            let work = user_searches(iterations, letters, column);
            let label = format!(
                "last name, {letters} letter(s), sorted by {}",
                column.header()
            );
            bench_users(&db, &bench, &label, &work).await?;
        }
    }
    Ok(())
}
