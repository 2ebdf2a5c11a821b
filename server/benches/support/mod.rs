#![allow(dead_code)]
//! Shared by the benchmarks: the real app on a local socket, with a logged-in operator.

use secrecy::SecretString;

use backend::db::Db;
use desk_core::model::Role;
use gocards_sim::Simulator;
use server::config::Config;

pub struct BenchApp {
    pub base: String,
    pub http: reqwest::Client,
    /// The session cookie of the operator `bench`.
    pub cookie: String,
    /// The in-process simulator and its address (demo mode).
    pub simulator: Option<(Simulator, std::net::SocketAddr)>,
    _data: tempfile::TempDir,
}

/// Starts the app over `db` on port 0 and logs in an operator `bench`.
pub async fn start(db: &Db) -> anyhow::Result<BenchApp> {
    start_with(db, |_| {}).await
}

/// As [`start`], with the configuration adjusted first.
pub async fn start_with(db: &Db, adjust: impl FnOnce(&mut Config)) -> anyhow::Result<BenchApp> {
    let data = tempfile::tempdir()?;
    let mut config = Config::defaults(data.path().to_path_buf());
    adjust(&mut config);
    config.session_secret = Some(SecretString::from("bench-secret-bench-secret-bench-secret"));
    // One operator calls Update card order back to back: the per-operator limit would refuse.
    config.manual_attempts_per_second = 1000;
    let password = "bench-password-1";
    let _ = server::cli::users::add(db, "bench", Role::Operator, password.into(), "bench").await;
    server::cli::users::set_password(db, "bench", password.into()).await?;
    let running = server::startup::build(&config, db.clone()).await?;
    let simulator = running.simulator.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, running.router).await;
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let cookie = testkit::desk::log_in(&http, &base, "bench", password).await?;
    Ok(BenchApp {
        base,
        http,
        cookie,
        simulator,
        _data: data,
    })
}
