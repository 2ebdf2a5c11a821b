//! Saving a card-state tab's Additional Commands (Cards > Card in the settings view).

use crate::db::audit::AuditRecord;
use crate::db::Db;
use desk_core::domain::{CardState, Process};

#[derive(Debug, thiserror::Error)]
pub enum SaveCommandsError {
    #[error("{process} cannot be enabled on the {state} tab: it only acts on cards that are Ordered or In production.", process = .0.label(), state = .1.label())]
    NotApplicable(Process, CardState),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// Replaces the tab's list with `processes` (duplicates dropped, order kept) and writes the
/// audit line, atomically. A process that cannot apply to `state` refuses the whole save,
/// and nothing is written. Returns the list as stored.
pub async fn save_commands(
    db: &Db,
    state: CardState,
    processes: &[Process],
    actor: &str,
) -> Result<Vec<Process>, SaveCommandsError> {
    let mut list: Vec<Process> = Vec::with_capacity(processes.len());
    for &process in processes {
        if !process.applies_to(state) {
            return Err(SaveCommandsError::NotApplicable(process, state));
        }
        if !list.contains(&process) {
            list.push(process);
        }
    }
    let names: Vec<&str> = list.iter().map(|p| p.label()).collect();
    let detail = format!(
        "{} tab: {}",
        state.label(),
        if names.is_empty() {
            "no commands".to_owned()
        } else {
            names.join(", ")
        }
    );
    db.save_commands(
        state,
        &list,
        AuditRecord {
            actor,
            action: "set additional commands",
            detail: &detail,
        },
    )
    .await?;
    tracing::info!(actor, state = state.as_str(), %detail, "Additional Commands saved");
    Ok(list)
}
