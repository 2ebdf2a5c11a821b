use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Every state of a card in the external-production part of its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    Registered,
    Processing,
    Ordered,
    InProduction,
    Produced,
    Failed,
    Aborted,
    Active,
    Inactive,
    Expired,
    Locked,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown card state \"{0}\"; expected one of: registered, processing, ordered, in_production, produced, failed, aborted, active, inactive, expired, locked")]
pub struct UnknownCardState(pub String);

impl CardState {
    pub const ALL: [CardState; 11] = [
        CardState::Registered,
        CardState::Processing,
        CardState::Ordered,
        CardState::InProduction,
        CardState::Produced,
        CardState::Failed,
        CardState::Aborted,
        CardState::Active,
        CardState::Inactive,
        CardState::Expired,
        CardState::Locked,
    ];

    /// The snake_case name used in the CLI, CSV files, URLs and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CardState::Registered => "registered",
            CardState::Processing => "processing",
            CardState::Ordered => "ordered",
            CardState::InProduction => "in_production",
            CardState::Produced => "produced",
            CardState::Failed => "failed",
            CardState::Aborted => "aborted",
            CardState::Active => "active",
            CardState::Inactive => "inactive",
            CardState::Expired => "expired",
            CardState::Locked => "locked",
        }
    }

    /// The label a person reads.
    pub fn label(self) -> &'static str {
        match self {
            CardState::Registered => "Registered",
            CardState::Processing => "Processing",
            CardState::Ordered => "Ordered",
            CardState::InProduction => "In production",
            CardState::Produced => "Produced",
            CardState::Failed => "Failed",
            CardState::Aborted => "Aborted",
            CardState::Active => "Active",
            CardState::Inactive => "Inactive",
            CardState::Expired => "Expired",
            CardState::Locked => "Locked",
        }
    }

    /// An open order: GO Cards is still working on it, so a check can move it.
    pub fn is_open_order(self) -> bool {
        matches!(self, CardState::Ordered | CardState::InProduction)
    }

    /// Whether an `ordered_at` date may be missing for a card in this state.
    pub fn may_lack_order_date(self) -> bool {
        matches!(self, CardState::Registered | CardState::Processing)
    }

    /// Position along the production path, where it has one. Only the states the update
    /// command can reach are ranked; a report may never lower the rank.
    pub(crate) fn production_rank(self) -> Option<u8> {
        match self {
            CardState::Ordered => Some(0),
            CardState::InProduction => Some(1),
            CardState::Produced | CardState::Failed => Some(2),
            _ => None,
        }
    }
}

impl fmt::Display for CardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Decoding a stored state: storage reads the column as text and turns it into a state here.
impl TryFrom<String> for CardState {
    type Error = UnknownCardState;

    fn try_from(stored: String) -> Result<Self, Self::Error> {
        stored.parse()
    }
}

impl FromStr for CardState {
    type Err = UnknownCardState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CardState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownCardState(s.to_owned()))
    }
}

/// What an open process dialog says when a live event shows its card changed after the
/// dialog opened.
pub fn changed_meanwhile_message(now: CardState) -> String {
    format!("This card changed meanwhile: it is now {}.", now.label())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_names_round_trip() {
        for state in CardState::ALL {
            assert_eq!(state.as_str().parse::<CardState>(), Ok(state));
            let json = serde_json::to_string(&state).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
    }

    #[test]
    fn unknown_names_are_refused() {
        for bad in ["", "Ordered", "in production", "IN_PRODUCTION", "shipped"] {
            assert!(bad.parse::<CardState>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn only_ordered_and_in_production_are_open() {
        let open: Vec<_> = CardState::ALL
            .into_iter()
            .filter(|s| s.is_open_order())
            .collect();
        assert_eq!(open, vec![CardState::Ordered, CardState::InProduction]);
    }

    #[test]
    fn a_dialog_names_the_state_the_card_changed_to() {
        assert_eq!(
            super::changed_meanwhile_message(CardState::InProduction),
            "This card changed meanwhile: it is now In production."
        );
    }
}
