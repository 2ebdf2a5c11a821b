//! Saving a list of Additional Commands: a card-state tab (Cards › Card) or Users › User.

use crate::db::audit::AuditRecord;
use crate::db::Db;
use desk_core::domain::{CommandList, NotApplicable, Process};

#[derive(Debug, thiserror::Error)]
pub enum SaveCommandsError {
    #[error("{0}")]
    NotApplicable(#[from] NotApplicable),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// Replaces the list `on` with `processes` (duplicates dropped, order kept) and writes the
/// audit line, atomically. A process that cannot apply there refuses the whole save, and
/// nothing is written. Returns the list as stored.
pub async fn save_commands(
    db: &Db,
    on: CommandList,
    processes: &[Process],
    actor: &str,
) -> Result<Vec<Process>, SaveCommandsError> {
    let mut list: Vec<Process> = Vec::with_capacity(processes.len());
    for &process in processes {
        process.check_list(on)?;
        if !list.contains(&process) {
            list.push(process);
        }
    }
    let names: Vec<&str> = list.iter().map(|p| p.label()).collect();
    let detail = format!(
        "{}: {}",
        match on {
            CommandList::Card(state) => format!("{} tab", state.label()),
            CommandList::User => "Users › User".to_owned(),
        },
        if names.is_empty() {
            "no commands".to_owned()
        } else {
            names.join(", ")
        }
    );
    db.save_commands(
        on,
        &list,
        AuditRecord {
            actor,
            action: "set additional commands",
            detail: &detail,
        },
    )
    .await?;
    tracing::info!(actor, list = on.as_str(), %detail, "Additional Commands saved");
    Ok(list)
}
