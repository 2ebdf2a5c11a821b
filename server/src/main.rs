//! The `server` binary: `serve` (the default) and the tools around it.

use std::future::IntoFuture;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use server::cli::{self, Cli, Command, UserCommand};
use server::config::Config;
use server::startup;

#[tokio::main]
async fn main() -> ExitCode {
    return_large_allocations();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    // LOG_FORMAT=json: one JSON object a line, with the request's span (its id) on each.
    match std::env::var("LOG_FORMAT").as_deref().map(str::trim) {
        Ok("json") => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
        Ok("" | "text") | Err(_) => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
        Ok(other) => {
            eprintln!(
                "error: LOG_FORMAT: \"{other}\" is not valid: use json, or text (the default)"
            );
            return ExitCode::FAILURE;
        }
    }
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    if let Command::GocardsSim { addr } = command {
        return gocards_sim::run_standalone(addr, shutdown_signal()).await;
    }
    let config = Config::from_env()?;
    let db = startup::open_db(&config).await?;
    match command {
        Command::Serve => serve(config, db).await,
        Command::User(UserCommand::Add { name, role }) => {
            let password = cli::users::read_password()?;
            cli::users::add(&db, &name, role.0, password, "cli").await?;
            println!("Created {} {name}.", role.0.as_str());
            Ok(())
        }
        Command::User(UserCommand::SetPassword { name }) => {
            let password = cli::users::read_password()?;
            cli::users::set_password(&db, &name, password).await?;
            println!("Set a new password for {name}.");
            Ok(())
        }
        Command::ImportCards { file } => {
            let count = cli::import::import_file(&db, &file).await?;
            println!("Imported {count} cards from {}.", file.display());
            Ok(())
        }
        Command::SeedDemo { cards } => {
            cli::seed::seed_cards(&db, cards).await?;
            println!(
                "Seeded {cards} demo cards. Being a demo, Update card order is now enabled on Ordered and In production."
            );
            Ok(())
        }
        Command::Commands {
            action,
            process,
            state,
            entity,
        } => {
            let list = cli::commands::list_of(process.0, state.map(|s| s.0), entity)?;
            let message = cli::commands::switch(&db, action, process.0, list).await?;
            println!("{message}");
            Ok(())
        }
        Command::GocardsSim { .. } => Ok(()),
    }
}

/// How long a shutdown may take in all, from the signal: the sync's cards in flight, open
/// requests, the database pool. Past it the process exits anyway (orchestrators usually
/// kill at 10 s).
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(8);

async fn serve(config: Config, db: backend::db::Db) -> anyhow::Result<()> {
    if let Some(addr) = config.metrics_addr {
        server::metrics::serve(addr, db.clone()).await?;
    }
    let running = startup::build(&config, db.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.site_addr)
        .await
        .map_err(|e| anyhow::anyhow!("could not listen on {}: {e}", config.site_addr))?;
    let addr = listener.local_addr()?;
    running.connect_demo_webhook(addr);
    tracing::info!("listening on http://{addr}");
    println!("Card desk is running at http://{addr}");
    let startup::Running {
        router,
        state,
        scheduler,
        simulator: _simulator,
        ..
    } = running;

    let (signalled, mut signal) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        signalled.send_replace(true);
    });
    let mut http_stopped = signal.clone();
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = http_stopped.wait_for(|stop| *stop).await;
    })
    .into_future();
    let mut server = std::pin::pin!(server);
    // The server's graceful shutdown watches the same signal, and with no request open it
    // finishes in the same instant as the signal: which of the two this `select!` sees first
    // is chance. Either way out goes through the one shutdown below, which waits for the
    // sync to hand its lease back before the process (and with it the run) ends.
    let served_first = tokio::select! {
        served = &mut server => Some(served),
        _ = signal.wait_for(|stop| *stop) => None,
    };
    if served_first.is_some() && !*signal.borrow() {
        tracing::warn!("the HTTP server stopped by itself; stopping the batch sync");
    }

    // Tell the sync (it stops after the cards in flight, hands its lease back and marks its
    // run interrupted) while axum finishes the open requests, all within SHUTDOWN_LIMIT.
    let deadline = tokio::time::Instant::now() + SHUTDOWN_LIMIT;
    // Open live streams end, or the graceful stop would wait for them.
    state.db.events().shut_down();
    state.sync.shut_down();
    // Running jobs finish their items in flight and become Interrupted ("Run the rest").
    state.jobs.shut_down();
    let jobs = state.jobs.clone();
    let jobs_stopped = tokio::time::timeout_at(deadline, async move { jobs.idle().await });
    let http = async {
        match served_first {
            Some(served) => Ok(served),
            None => tokio::time::timeout_at(deadline, &mut server).await,
        }
    };
    let (sync_stopped, jobs_stopped, served) = tokio::join!(
        tokio::time::timeout_at(deadline, scheduler),
        jobs_stopped,
        http
    );
    if jobs_stopped.is_err() {
        tracing::warn!(
            "jobs still had items in flight after {SHUTDOWN_LIMIT:?}; their leases lapse by themselves"
        );
    }
    match sync_stopped {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%error, "the batch sync scheduler failed"),
        Err(_) => tracing::warn!(
            "the batch sync did not stop within {SHUTDOWN_LIMIT:?}; its lease lapses by itself"
        ),
    }
    if tokio::time::timeout_at(deadline, db.close()).await.is_err() {
        tracing::warn!("database connections still busy at exit");
    }
    match served {
        Ok(served) => served?,
        Err(_) => tracing::warn!("requests still open after {SHUTDOWN_LIMIT:?} were cut off"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

/// glibc serves big allocations from `mmap` only until the first one is freed; after that it
/// raises the threshold to that size and keeps such blocks in its per-thread arenas. Each
/// password check (argon2id) takes 19 MiB, so a flood of log-ins left hundreds of megabytes
/// held for good. A fixed threshold keeps every block of 1 MiB or more in `mmap`, handed back
/// to the system as soon as it is freed.
fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any other thread
    // exists (the runtime's workers allocate nothing large before this returns).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
