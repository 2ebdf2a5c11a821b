use leptos::prelude::*;
use server_fn::codec::Json;

use crate::api::errors::api_error;
use crate::domain::{CommandList, Process};
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

/// Every list with its Additional Commands: the card-state tabs in `CardState::ALL` order,
/// then Users › User.
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
        .map(|(list, processes)| CommandTab { list, processes })
        .collect())
}

/// Replaces one list. Operators see the change on their next profile load.
#[server(endpoint = "save_command_tab", input = Json)]
pub async fn save_command_tab(
    list: CommandList,
    processes: Vec<Process>,
) -> Result<CommandTab, SaveCommandTabError> {
    use crate::api::access;
    use backend::services::commands::{save_commands, SaveCommandsError as E};

    let admin = access::require_admin().await?;
    let app = access::app_state()?;
    match save_commands(&app.db, list, &processes, &admin.username).await {
        Ok(processes) => Ok(CommandTab { list, processes }),
        Err(err @ E::NotApplicable(..)) => Err(SaveCommandTabError::NotApplicable {
            message: err.to_string(),
        }),
        Err(E::Storage(err)) => Err(err.into()),
    }
}
