//! The `server` binary: `serve` (the default) and the tools around it.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use server::cli::{self, Cli, Command, UserCommand};
use server::config::Config;
use server::startup;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
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
        } => {
            let message = cli::commands::switch(&db, action, process.0, state.0).await?;
            println!("{message}");
            Ok(())
        }
        Command::GocardsSim { .. } => Ok(()),
    }
}

async fn serve(config: Config, db: backend::db::Db) -> anyhow::Result<()> {
    let running = startup::build(&config, db.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.site_addr)
        .await
        .map_err(|e| anyhow::anyhow!("could not listen on {}: {e}", config.site_addr))?;
    let addr = listener.local_addr()?;
    running.connect_demo_webhook(addr);
    tracing::info!("listening on http://{addr}");
    println!("Card desk is running at http://{addr}");
    axum::serve(
        listener,
        running
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    db.close().await;
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
