//! Export memory, against a release server (`make export-flood`): the CSV export of a
//! search over 1,000,000 cards, while the server's RSS is sampled every 10 ms. It may grow by
//! at most 30 MB: the export holds one page of rows at a time, whatever the number of rows.
//! The cards are written straight into the SQLite file (one `INSERT … SELECT` each for the
//! holders and the cards, with the indexes made again after it), not through the app.
//!
//! Run it by hand: `FLOOD_SERVER_BIN=target/release/server cargo test -p server --test it
//! export_memory -- --ignored --nocapture`. `EXPORT_FLOOD_CARDS` changes the number of cards.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;

const CARDS: u64 = 1_000_000;
const MAX_GROWTH_KB: u64 = 30 * 1024;
const USER: (&str, &str) = ("export-operator", "export-password-1");

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

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `count` cards, each with a holder of its own, in two statements on one connection.
async fn bulk_insert(url: &str, count: u64) {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    // The schema first, as the server makes it.
    let db = backend::db::Db::connect(url, 1).await.expect("open");
    db.close().await;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .expect("url")
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Off)
        .connect()
        .await
        .expect("connect");
    let holders = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
         INSERT INTO card_holders (id, first_name, last_name, email, employee_id, \
         first_name_key, last_name_key, email_key, employee_id_key) \
         SELECT i, 'Anna' || (i % 97), 'Berg' || (i % 89), 'p' || i || '@example.org', 'E' || i, \
         'anna' || (i % 97), 'berg' || (i % 89), 'p' || i || '@example.org', 'e' || i FROM n"
    );
    let cards = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
         INSERT INTO cards (card_id, holder_id, state, ordered_at, last_checked_at, version, \
         gocards_status, failure_reason, updated_at, first_name_key, last_name_key, email_key, \
         employee_id_key) \
         SELECT printf('CA26%08d-X%07d', i, i % 10000000), i, \
         CASE i % 3 WHEN 0 THEN 'ordered' WHEN 1 THEN 'in_production' ELSE 'produced' END, \
         1795240803000 + i, 1795240900000 + i, 1, 'IN_PRODUCTION', \
         CASE WHEN i % 50 = 0 THEN 'held, \"check\" the address' END, 1795240803000, \
         'anna' || (i % 97), 'berg' || (i % 89), 'p' || i || '@example.org', 'e' || i FROM n"
    );
    // The indexes are dropped for the load and made again after it, from their own
    // definitions: one sort each instead of a million scattered inserts.
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND tbl_name IN ('cards', 'card_holders')",
    )
    .fetch_all(&mut conn)
    .await
    .expect("indexes");
    sqlx::raw_sql("PRAGMA cache_size = -400000")
        .execute(&mut conn)
        .await
        .expect("cache size");
    for (name, _) in &indexes {
        sqlx::raw_sql(&format!("DROP INDEX {name}"))
            .execute(&mut conn)
            .await
            .expect("drop index");
    }
    for sql in [&holders, &cards] {
        sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    }
    for (_, sql) in &indexes {
        sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    }
    sqlx::raw_sql("ANALYZE")
        .execute(&mut conn)
        .await
        .expect("analyze");
    use sqlx::Connection;
    conn.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a release server: make export-flood"]
async fn an_export_of_a_million_cards_keeps_memory_flat() {
    let Ok(bin) = std::env::var("FLOOD_SERVER_BIN") else {
        eprintln!("FLOOD_SERVER_BIN is not set: skipped");
        return;
    };
    let count: u64 = std::env::var("EXPORT_FLOOD_CARDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CARDS);
    let whole = Instant::now();
    let data = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/desk.db?mode=rwc", data.path().display());
    let started = Instant::now();
    bulk_insert(&url, count).await;
    let loaded = started.elapsed();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let env = |cmd: &mut Command| {
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATA_DIR", data.path())
            .env("DATABASE_URL", &url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            // Not demo mode: the built-in simulator would load every open order (two
            // thirds of the million) into memory at start, which is not what is measured.
            // Nothing here asks GO Cards.
            .env("GOCARDS_BASE_URL", "http://127.0.0.1:9")
            .env("GOCARDS_CLIENT_ID", "export-test")
            .env("GOCARDS_CLIENT_SECRET", "export-test-secret")
            .env("GOCARDS_ORGANISATION_ID", "export-test")
            .env("SYNC_INTERVAL_SECS", "3600")
            .env("RUST_LOG", "warn");
    };
    let mut add = Command::new(&bin);
    env(&mut add);
    let mut child = add
        .args(["user", "add", USER.0, "--role", "operator"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("server user add");
    if let Some(stdin) = child.stdin.as_mut() {
        use std::io::Write;
        writeln!(stdin, "{}", USER.1).expect("password");
    }
    assert!(child.wait().expect("user add").success());

    let mut serve = Command::new(&bin);
    env(&mut serve);
    let server = Server(
        serve
            .arg("serve")
            .stdout(Stdio::null())
            .spawn()
            .expect("server serve"),
    );
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let ready = Instant::now();
    while http.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cookie = testkit::desk::log_in(&http, &base, USER.0, USER.1)
        .await
        .expect("log-in");
    // Warm up: a small export, as any desk has had.
    let warm = http
        .get(format!("{base}/export/cards.csv?email=p1@"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("warm-up export");
    assert_eq!(warm.status(), 200);
    let _ = warm.bytes().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kb(pid);

    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kb(pid));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            peak
        })
    };
    let started = Instant::now();
    let res = http
        .get(format!("{base}/export/cards.csv"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("export");
    assert_eq!(res.status(), 200);
    let mut body = res.bytes_stream();
    let (mut bytes, mut lines) = (0_u64, 0_u64);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("a chunk");
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    let took = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.unwrap_or(0).max(rss_kb(pid));
    let after = rss_kb(pid);
    // Every 50th card has a failure reason with a quote but no line break: one line a row.
    let rows = lines - 1;
    eprintln!(
        "export memory: {rows} rows, {} MB in {:.1} s ({:.0} rows/s over HTTP); RSS before {} MB, \
         peak {} MB (+{} MB), after {} MB; bulk insert {:.1} s; whole test {:.1} s",
        bytes / 1_000_000,
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64(),
        before / 1024,
        peak / 1024,
        peak.saturating_sub(before) / 1024,
        after / 1024,
        loaded.as_secs_f64(),
        whole.elapsed().as_secs_f64()
    );
    assert_eq!(rows, count, "every card, once");
    assert!(
        peak.saturating_sub(before) <= MAX_GROWTH_KB,
        "RSS grew by {} MB",
        peak.saturating_sub(before) / 1024
    );
}
