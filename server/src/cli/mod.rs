//! The command line: every subcommand of the `server` binary.

pub mod commands;
pub mod import;
pub mod progress;
pub mod seed;
pub mod users;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "server",
    version,
    about = "The card-order desk: web app, tools and GO Cards simulator"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the app (the default).
    Serve,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Load existing orders from a CSV file (card_id,first_name,last_name,email,employee_id,status,ordered_at).
    ImportCards { file: PathBuf },
    /// Fill an empty database with believable demo users and cards.
    SeedDemo {
        #[arg(long, default_value_t = 200)]
        cards: u64,
    },
    /// Enable or disable an Additional Command for a card state.
    Commands {
        action: SwitchAction,
        process: String,
        #[arg(long)]
        state: String,
    },
    /// Run the GO Cards simulator on its own.
    GocardsSim {
        #[arg(long, default_value = "127.0.0.1:4010")]
        addr: std::net::SocketAddr,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from stdin.
    Add {
        name: String,
        #[arg(long)]
        role: String,
    },
    /// Set a new password, read from stdin.
    SetPassword { name: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SwitchAction {
    Enable,
    Disable,
}
