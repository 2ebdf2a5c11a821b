//! The log-in flood, against a release server (`make flood`, part of `make test`): 1,000
//! parallel failed log-ins under made-up names from one address. The server's RSS may grow
//! by at most 100 MB, and a user with the right password, whose name is not in the flood,
//! logs in during it and after it.
//!
//! Run it by hand: `FLOOD_SERVER_BIN=target/release/server cargo test -p server --test it
//! flood -- --ignored --nocapture`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit as common;

const FLOOD: usize = 1_000;
const MAX_GROWTH_KB: u64 = 100 * 1024;
const LEGIT: (&str, &str) = ("legit-operator", "legit-password-1");

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a release server: make flood"]
async fn a_flood_of_failed_log_ins_costs_little_memory_and_locks_nobody_out() {
    let Ok(bin) = std::env::var("FLOOD_SERVER_BIN") else {
        eprintln!("FLOOD_SERVER_BIN is not set: skipped");
        return;
    };
    let data = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let env = |cmd: &mut Command| {
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATA_DIR", data.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/desk.db?mode=rwc", data.path().display()),
            )
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn");
    };
    let mut add = Command::new(&bin);
    env(&mut add);
    let mut child = add
        .args(["user", "add", LEGIT.0, "--role", "operator"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("server user add");
    if let Some(stdin) = child.stdin.as_mut() {
        use std::io::Write;
        writeln!(stdin, "{}", LEGIT.1).expect("password");
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
        .pool_max_idle_per_host(0)
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
    // Warm up: one right and one wrong log-in, as any desk has had.
    common::desk::log_in(&http, &base, LEGIT.0, LEGIT.1)
        .await
        .expect("warm-up log-in");
    common::desk::log_in_attempt(&http, &base, "warm-up", "wrong").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kb(pid);

    let sampling = {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        let handle = tokio::spawn(async move {
            let mut peak = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kb(pid));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            peak
        });
        (done, handle)
    };
    let started = Instant::now();
    let flood = futures::future::join_all((0..FLOOD).map(|n| {
        let http = http.clone();
        let base = base.clone();
        async move {
            common::desk::log_in_attempt(&http, &base, &format!("flood-{n}"), "wrong")
                .await
                .0
        }
    }));
    let during = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let at = Instant::now();
        let result = common::desk::log_in(&http, &base, LEGIT.0, LEGIT.1).await;
        (result, at.elapsed())
    };
    let (statuses, (legit_during, legit_took)) = tokio::join!(flood, during);
    let flood_took = started.elapsed();
    let legit_after = common::desk::log_in(&http, &base, LEGIT.0, LEGIT.1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    sampling.0.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampling.1.await.unwrap_or(0).max(rss_kb(pid));
    let after = rss_kb(pid);

    let mut counts = std::collections::BTreeMap::new();
    for status in &statuses {
        *counts.entry(*status).or_insert(0u32) += 1;
    }
    eprintln!(
        "login flood: {FLOOD} failed log-ins in {:.1} s, replies {counts:?}; RSS before {} MB, \
         peak {} MB (+{} MB), after {} MB; the right password during the flood took {} ms",
        flood_took.as_secs_f64(),
        before / 1024,
        peak / 1024,
        peak.saturating_sub(before) / 1024,
        after / 1024,
        legit_took.as_millis()
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 429 | 503)),
        "{counts:?}"
    );
    assert!(legit_during.is_ok(), "during the flood: {legit_during:?}");
    assert!(legit_after.is_ok(), "after the flood: {legit_after:?}");
    assert!(
        peak.saturating_sub(before) <= MAX_GROWTH_KB,
        "RSS grew by {} MB",
        peak.saturating_sub(before) / 1024
    );
}
