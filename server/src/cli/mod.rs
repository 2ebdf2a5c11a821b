//! The command line: every subcommand of the `server` binary.

pub mod commands;
pub mod import;
pub mod progress;
pub mod seed;
pub mod users;

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Parser, Subcommand, ValueEnum};

use desk_core::domain::{CardState, Process};
use desk_core::model::Role;

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
    /// Load existing orders from a CSV file (card_id,first_name,last_name,email,employee_id,status,ordered_at;
    /// a card export is one: its columns after these are ignored).
    ImportCards { file: PathBuf },
    /// Fill an empty database with believable demo users and cards.
    SeedDemo {
        #[arg(long, default_value_t = 200)]
        cards: u64,
    },
    /// Enable or disable an Additional Command: a card process on a card state's tab
    /// (`--state`), or a user process on Users › User (`--entity user`).
    Commands {
        action: SwitchAction,
        process: ProcessArg,
        /// The card-state tab, for a card process.
        #[arg(long)]
        state: Option<StateArg>,
        /// What the process acts on; by default the process's own (`card` for
        /// update-card-order and abort-card-order, `user` for order-card).
        #[arg(long)]
        entity: Option<EntityArg>,
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
        role: RoleArg,
    },
    /// Set a new password, read from stdin.
    SetPassword { name: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SwitchAction {
    Enable,
    Disable,
}

/// A domain enum as a command-line value: its stored word, parsed by clap, which lists the
/// possible values in `--help` and in the error for any other word.
macro_rules! domain_value {
    ($(#[$doc:meta])* $arg:ident($ty:ident) { $($variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $arg(pub $ty);

        impl ValueEnum for $arg {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($arg($ty::$variant)),*]
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(PossibleValue::new(self.0.as_str()))
            }
        }
    };
}

domain_value!(
    /// `--role operator|admin`.
    RoleArg(Role) { Operator, Admin }
);
domain_value!(
    /// The process of `commands enable|disable`.
    ProcessArg(Process) { UpdateCardOrder, AbortCardOrder, OrderCard }
);

/// `--entity card|user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EntityArg {
    Card,
    User,
}
domain_value!(
    /// `--state`: any card state (refused where the process cannot act).
    StateArg(CardState) {
        Registered, Processing, Ordered, InProduction, Produced, Failed, Aborted, Active,
        Inactive, Expired, Locked,
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_value_is_offered() {
        assert_eq!(RoleArg::value_variants().len(), 2);
        assert_eq!(ProcessArg::value_variants().len(), Process::ALL.len());
        assert_eq!(StateArg::value_variants().len(), CardState::ALL.len());
        for state in CardState::ALL {
            assert_eq!(
                StateArg::from_str(state.as_str(), false),
                Ok(StateArg(state))
            );
        }
    }

    #[test]
    fn a_word_that_names_no_value_is_refused_by_the_parser() {
        let parsed = Cli::try_parse_from([
            "server",
            "commands",
            "enable",
            "update-card-order",
            "--state",
            "shipped",
        ]);
        let Err(err) = parsed else {
            panic!("--state shipped was accepted");
        };
        assert!(err.to_string().contains("in_production"), "{err}");
        let parsed = Cli::try_parse_from(["server", "user", "add", "anna", "--role", "root"]);
        assert!(parsed.is_err());
    }
}
