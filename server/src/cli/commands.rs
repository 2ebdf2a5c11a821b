//! `commands enable|disable PROCESS --state STATE` (a card-state tab) and
//! `commands enable|disable order-card --entity user` (Users › User).

use anyhow::bail;

use backend::db::Db;
use desk_core::domain::{CardState, CommandList, Entity, Process};

use super::{EntityArg, SwitchAction};

/// The list `--state` and `--entity` name for `process`. `--entity` defaults to the
/// process's own; a card list needs `--state`, and Users › User takes none.
pub fn list_of(
    process: Process,
    state: Option<CardState>,
    entity: Option<EntityArg>,
) -> anyhow::Result<CommandList> {
    let entity = match entity {
        Some(EntityArg::Card) => Entity::Card,
        Some(EntityArg::User) => Entity::User,
        None if state.is_some() => Entity::Card,
        None => process.entity(),
    };
    match (entity, state) {
        (Entity::Card, Some(state)) => Ok(CommandList::Card(state)),
        (Entity::Card, None) => bail!(
            "{} acts on cards: name the card-state tab with --state, for example --state ordered",
            process.as_str()
        ),
        (Entity::User, None) => Ok(CommandList::User),
        (Entity::User, Some(_)) => bail!(
            "--entity user has one list (Users › User) and takes no --state; leave --state out"
        ),
    }
}

/// Switches a process on or off on one list, as the admin view does. Returns the sentence
/// to print.
pub async fn switch(
    db: &Db,
    action: SwitchAction,
    process: Process,
    list: CommandList,
) -> anyhow::Result<String> {
    let enable = matches!(action, SwitchAction::Enable);
    if enable {
        if let Err(refusal) = process.check_list(list) {
            bail!("{refusal}");
        }
    }
    let changed = db.set_command(list, process, enable).await?;
    let place = match list {
        CommandList::Card(state) => format!("state {}", state.as_str()),
        CommandList::User => "Users › User".to_owned(),
    };
    db.audit(
        "cli",
        if enable {
            "enable command"
        } else {
            "disable command"
        },
        &format!("{} on {}", process.as_str(), place),
    )
    .await?;
    let verb = if enable { "enabled" } else { "disabled" };
    let place = match list {
        CommandList::Card(_) => format!("for {place}"),
        CommandList::User => format!("on {place}"),
    };
    Ok(if changed {
        format!("{} is now {verb} {place}.", process.label())
    } else {
        format!("{} was already {verb} {place}.", process.label())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_follows_state_and_entity() {
        let ordered = Some(CardState::Ordered);
        assert_eq!(
            list_of(Process::UpdateCardOrder, ordered, None).ok(),
            Some(CommandList::Card(CardState::Ordered))
        );
        assert_eq!(
            list_of(Process::OrderCard, None, Some(EntityArg::User)).ok(),
            Some(CommandList::User)
        );
        assert_eq!(
            list_of(Process::OrderCard, None, None).ok(),
            Some(CommandList::User)
        );
        assert!(list_of(Process::AbortCardOrder, None, None).is_err());
        assert!(list_of(Process::OrderCard, ordered, Some(EntityArg::User)).is_err());
        // Named explicitly, a card list for a user process: `switch` refuses it.
        assert_eq!(
            list_of(Process::OrderCard, ordered, Some(EntityArg::Card)).ok(),
            Some(CommandList::Card(CardState::Ordered))
        );
    }
}
