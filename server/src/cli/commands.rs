//! `commands enable|disable update-card-order --state ordered|in_production`.

use anyhow::bail;

use backend::db::Db;
use desk_core::domain::{CardState, Process};

use super::SwitchAction;

/// Switches a process on or off for one card state, as the admin view does. Returns the
/// sentence to print.
pub async fn switch(
    db: &Db,
    action: SwitchAction,
    process: Process,
    state: CardState,
) -> anyhow::Result<String> {
    let enable = matches!(action, SwitchAction::Enable);
    if enable && !process.applies_to(state) {
        bail!(
            "{} cannot be enabled for state {}: it only acts on cards that are ordered or in production",
            process.label(),
            state.as_str()
        );
    }
    let changed = db.set_command(state, process, enable).await?;
    db.audit(
        "cli",
        if enable {
            "enable command"
        } else {
            "disable command"
        },
        &format!("{} on {}", process.as_str(), state.as_str()),
    )
    .await?;
    let verb = if enable { "enabled" } else { "disabled" };
    Ok(if changed {
        format!(
            "{} is now {verb} for state {}.",
            process.label(),
            state.as_str()
        )
    } else {
        format!(
            "{} was already {verb} for state {}.",
            process.label(),
            state.as_str()
        )
    })
}
