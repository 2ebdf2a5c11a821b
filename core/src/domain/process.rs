use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::CardState;

/// What a process acts on: a card, or a user (a person who holds cards).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Card,
    User,
}

/// A process an admin can offer as an Additional Command: on a card-state tab (card
/// processes) or on Users › User (user processes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Process {
    UpdateCardOrder,
    AbortCardOrder,
    OrderCard,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown process \"{0}\"; the known processes are update-card-order, abort-card-order and order-card")]
pub struct UnknownProcess(pub String);

impl Process {
    pub const ALL: [Process; 3] = [
        Process::UpdateCardOrder,
        Process::AbortCardOrder,
        Process::OrderCard,
    ];

    /// The stable name used in the CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Process::UpdateCardOrder => "update-card-order",
            Process::AbortCardOrder => "abort-card-order",
            Process::OrderCard => "order-card",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Process::UpdateCardOrder => "Update card order",
            Process::AbortCardOrder => "Abort card order",
            Process::OrderCard => "Order card",
        }
    }

    /// The symbolic name in Identity Manager.
    pub fn symbolic_name(self) -> &'static str {
        match self {
            Process::UpdateCardOrder => "CardsAddonExtProdProcUpdate",
            Process::AbortCardOrder => "CardsAddonExtProdProcAbort",
            Process::OrderCard => "CardsAddonExtProdProcOrder",
        }
    }

    pub fn entity(self) -> Entity {
        match self {
            Process::UpdateCardOrder | Process::AbortCardOrder => Entity::Card,
            Process::OrderCard => Entity::User,
        }
    }

    /// Whether the process can act on a card in `state` at all. A user process acts on no
    /// card.
    pub fn applies_to(self, state: CardState) -> bool {
        match self {
            Process::UpdateCardOrder | Process::AbortCardOrder => state.is_open_order(),
            Process::OrderCard => false,
        }
    }

    /// Whether the process may be enabled on `list`; the error says why not, and where it
    /// belongs.
    pub fn check_list(self, list: CommandList) -> Result<(), NotApplicable> {
        let fits = match list {
            CommandList::Card(state) => self.applies_to(state),
            CommandList::User => self.entity() == Entity::User,
        };
        if fits {
            Ok(())
        } else {
            Err(NotApplicable {
                process: self,
                list,
            })
        }
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Process {
    type Err = UnknownProcess;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Process::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProcess(s.to_owned()))
    }
}

/// One list of Additional Commands: a card-state tab of Cards › Card, or the one list of
/// Users › User. The desk keeps no user states, so users have a single list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandList {
    Card(CardState),
    User,
}

impl CommandList {
    /// Every list: the card-state tabs in `CardState::ALL` order, then Users › User.
    pub const ALL: [CommandList; 12] = [
        CommandList::Card(CardState::ALL[0]),
        CommandList::Card(CardState::ALL[1]),
        CommandList::Card(CardState::ALL[2]),
        CommandList::Card(CardState::ALL[3]),
        CommandList::Card(CardState::ALL[4]),
        CommandList::Card(CardState::ALL[5]),
        CommandList::Card(CardState::ALL[6]),
        CommandList::Card(CardState::ALL[7]),
        CommandList::Card(CardState::ALL[8]),
        CommandList::Card(CardState::ALL[9]),
        CommandList::Card(CardState::ALL[10]),
        CommandList::User,
    ];

    /// The stable name in the database: the card state's name, or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandList::Card(state) => state.as_str(),
            CommandList::User => "user",
        }
    }

    /// Reads a stored name back; `None` for a name this version does not know.
    pub fn from_stored(name: &str) -> Option<CommandList> {
        if name == "user" {
            return Some(CommandList::User);
        }
        name.parse().ok().map(CommandList::Card)
    }

    /// How a person names the list: "the Ordered tab", "Users › User".
    pub fn label(self) -> String {
        match self {
            CommandList::Card(state) => format!("the {} tab", state.label()),
            CommandList::User => "Users › User".to_owned(),
        }
    }
}

impl From<CardState> for CommandList {
    fn from(state: CardState) -> Self {
        CommandList::Card(state)
    }
}

/// A process an admin tried to enable where it cannot act.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub struct NotApplicable {
    pub process: Process,
    pub list: CommandList,
}

impl fmt::Display for NotApplicable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let process = self.process.label();
        let list = self.list.label();
        match (self.process.entity(), self.list) {
            (Entity::User, _) => write!(
                f,
                "{process} cannot be enabled on {list}: it acts on users. Enable it on Users › User."
            ),
            (Entity::Card, CommandList::User) => write!(
                f,
                "{process} cannot be enabled on {list}: it acts on cards. Enable it on the Ordered and In production tabs of Cards › Card."
            ),
            (Entity::Card, CommandList::Card(_)) => write!(
                f,
                "{process} cannot be enabled on {list}: it only acts on cards that are Ordered or In production."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_processes_apply_only_to_open_orders() {
        for process in [Process::UpdateCardOrder, Process::AbortCardOrder] {
            for state in CardState::ALL {
                assert_eq!(
                    process.applies_to(state),
                    matches!(state, CardState::Ordered | CardState::InProduction),
                    "{process:?} {state:?}"
                );
            }
        }
        assert!(CardState::ALL
            .into_iter()
            .all(|s| !Process::OrderCard.applies_to(s)));
    }

    #[test]
    fn each_process_fits_only_its_lists() {
        for process in Process::ALL {
            for list in CommandList::ALL {
                let fits = process.check_list(list).is_ok();
                let expected = match list {
                    CommandList::User => process == Process::OrderCard,
                    CommandList::Card(state) => {
                        process != Process::OrderCard && state.is_open_order()
                    }
                };
                assert_eq!(fits, expected, "{process:?} on {list:?}");
            }
        }
    }

    #[test]
    fn refusals_say_where_the_process_belongs() {
        let message = |process: Process, list| match process.check_list(list) {
            Err(err) => err.to_string(),
            Ok(()) => String::new(),
        };
        let err = message(Process::OrderCard, CommandList::Card(CardState::Ordered));
        assert_eq!(
            err,
            "Order card cannot be enabled on the Ordered tab: it acts on users. Enable it on Users › User."
        );
        let err = message(Process::UpdateCardOrder, CommandList::User);
        assert!(err.contains("it acts on cards"), "{err}");
        let err = message(
            Process::AbortCardOrder,
            CommandList::Card(CardState::Produced),
        );
        assert!(
            err.to_string().contains(
                "on the Produced tab: it only acts on cards that are Ordered or In production"
            ),
            "{err}"
        );
    }

    #[test]
    fn names_round_trip() {
        for p in Process::ALL {
            assert_eq!(p.as_str().parse::<Process>(), Ok(p));
        }
        assert!("update_card_order".parse::<Process>().is_err());
        for list in CommandList::ALL {
            assert_eq!(CommandList::from_stored(list.as_str()), Some(list));
        }
        assert_eq!(CommandList::from_stored("users"), None);
        assert_eq!(CommandList::ALL.len(), CardState::ALL.len() + 1);
    }
}
