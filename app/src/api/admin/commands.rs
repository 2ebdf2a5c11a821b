use leptos::prelude::*;
use server_fn::codec::Json;

use crate::api::errors::api_error;
use crate::domain::{CardState, Process};
use crate::model::CommandTab;

api_error! {
    /// Reading the Additional Commands of every tab.
    pub enum CommandTabsError {}
}

api_error! {
    /// Saving one tab's Additional Commands.
    pub enum SaveCommandTabError {
        #[error("{message}")]
        NotApplicable { message: String } => CONFLICT,
    }
}

/// Every card-state tab with its Additional Commands, in `CardState::ALL` order.
#[server(endpoint = "admin_command_tabs", input = Json)]
pub async fn admin_command_tabs() -> Result<Vec<CommandTab>, CommandTabsError> {
    use crate::api::access;

    access::require_admin().await?;
    let app = access::app_state()?;
    Ok(app
        .db
        .all_commands()
        .await?
        .into_iter()
        .map(|(state, processes)| CommandTab { state, processes })
        .collect())
}

/// Replaces one tab's list. Operators see the change on their next profile load.
#[server(endpoint = "save_command_tab", input = Json)]
pub async fn save_command_tab(
    state: CardState,
    processes: Vec<Process>,
) -> Result<CommandTab, SaveCommandTabError> {
    use crate::api::access;
    use backend::services::commands::{save_commands, SaveCommandsError as E};

    let admin = access::require_admin().await?;
    let app = access::app_state()?;
    match save_commands(&app.db, state, &processes, &admin.username).await {
        Ok(processes) => Ok(CommandTab { state, processes }),
        Err(err @ E::NotApplicable(..)) => Err(SaveCommandTabError::NotApplicable {
            message: err.to_string(),
        }),
        Err(E::Storage(err)) => Err(err.into()),
    }
}
