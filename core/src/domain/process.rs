use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::CardState;

/// A process an admin can offer as an Additional Command on a card-state tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Process {
    UpdateCardOrder,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown process \"{0}\"; the known process is update-card-order")]
pub struct UnknownProcess(pub String);

impl Process {
    pub const ALL: [Process; 1] = [Process::UpdateCardOrder];

    /// The stable name used in the CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Process::UpdateCardOrder => "update-card-order",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Process::UpdateCardOrder => "Update card order",
        }
    }

    /// The symbolic name in Identity Manager.
    pub fn symbolic_name(self) -> &'static str {
        match self {
            Process::UpdateCardOrder => "CardsAddonExtProdProcUpdate",
        }
    }

    /// Whether the process can act on a card in `state` at all.
    pub fn applies_to(self, state: CardState) -> bool {
        match self {
            Process::UpdateCardOrder => state.is_open_order(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_card_order_applies_only_to_open_orders() {
        for state in CardState::ALL {
            assert_eq!(
                Process::UpdateCardOrder.applies_to(state),
                matches!(state, CardState::Ordered | CardState::InProduction),
                "{state:?}"
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for p in Process::ALL {
            assert_eq!(p.as_str().parse::<Process>(), Ok(p));
        }
        assert!("update_card_order".parse::<Process>().is_err());
    }
}
