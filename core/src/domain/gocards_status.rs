use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

use super::CardState;

/// The longest unknown status kept; the rest is cut off.
pub const MAX_STATUS_CHARS: usize = 64;

/// A status as GO Cards reports it. An unknown string is not an error: it is kept,
/// and the domain treats it as "no change".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GoCardsStatus {
    Ordered,
    InProduction,
    Produced,
    Shipped,
    Delivered,
    Failed,
    Cancelled,
    Unrecognised(String),
}

impl GoCardsStatus {
    pub const KNOWN: [GoCardsStatus; 7] = [
        GoCardsStatus::Ordered,
        GoCardsStatus::InProduction,
        GoCardsStatus::Produced,
        GoCardsStatus::Shipped,
        GoCardsStatus::Delivered,
        GoCardsStatus::Failed,
        GoCardsStatus::Cancelled,
    ];

    pub fn parse(raw: &str) -> GoCardsStatus {
        match raw {
            "ORDERED" => GoCardsStatus::Ordered,
            "IN_PRODUCTION" => GoCardsStatus::InProduction,
            "PRODUCED" => GoCardsStatus::Produced,
            "SHIPPED" => GoCardsStatus::Shipped,
            "DELIVERED" => GoCardsStatus::Delivered,
            "FAILED" => GoCardsStatus::Failed,
            "CANCELLED" => GoCardsStatus::Cancelled,
            other => GoCardsStatus::Unrecognised(
                super::text::clean_text(other, MAX_STATUS_CHARS).into_owned(),
            ),
        }
    }

    /// The wire spelling, as GO Cards writes it.
    pub fn as_str(&self) -> &str {
        match self {
            GoCardsStatus::Ordered => "ORDERED",
            GoCardsStatus::InProduction => "IN_PRODUCTION",
            GoCardsStatus::Produced => "PRODUCED",
            GoCardsStatus::Shipped => "SHIPPED",
            GoCardsStatus::Delivered => "DELIVERED",
            GoCardsStatus::Failed => "FAILED",
            GoCardsStatus::Cancelled => "CANCELLED",
            GoCardsStatus::Unrecognised(raw) => raw,
        }
    }

    /// The card state this status stands for, per the mapping table of the contract.
    pub fn card_state(&self) -> Option<CardState> {
        match self {
            GoCardsStatus::Ordered => Some(CardState::Ordered),
            GoCardsStatus::InProduction => Some(CardState::InProduction),
            GoCardsStatus::Produced | GoCardsStatus::Shipped | GoCardsStatus::Delivered => {
                Some(CardState::Produced)
            }
            GoCardsStatus::Failed | GoCardsStatus::Cancelled => Some(CardState::Failed),
            GoCardsStatus::Unrecognised(_) => None,
        }
    }

    /// Whether GO Cards will still move a card in this status (the simulator's notion
    /// of an open order).
    pub fn is_open(&self) -> bool {
        matches!(self, GoCardsStatus::Ordered | GoCardsStatus::InProduction)
    }
}

impl fmt::Display for GoCardsStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for GoCardsStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for GoCardsStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Ok(GoCardsStatus::parse(&raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_statuses_round_trip() {
        for status in GoCardsStatus::KNOWN {
            assert_eq!(GoCardsStatus::parse(status.as_str()), status);
        }
    }

    #[test]
    fn unknown_strings_are_kept_not_rejected() {
        let parsed: GoCardsStatus =
            serde_json::from_str("\"QUALITY_HOLD\"").unwrap_or(GoCardsStatus::Ordered);
        assert_eq!(parsed, GoCardsStatus::Unrecognised("QUALITY_HOLD".into()));
        assert_eq!(parsed.card_state(), None);
        // Case matters: GO Cards writes statuses in upper case.
        assert!(matches!(
            GoCardsStatus::parse("ordered"),
            GoCardsStatus::Unrecognised(_)
        ));
    }

    #[test]
    fn unknown_statuses_lose_their_control_characters() {
        assert_eq!(
            GoCardsStatus::parse("HOLD\u{0}"),
            GoCardsStatus::Unrecognised("HOLD\u{FFFD}".into())
        );
        let long = "X".repeat(500);
        assert_eq!(GoCardsStatus::parse(&long).as_str().len(), MAX_STATUS_CHARS);
    }

    #[test]
    fn mapping_follows_the_contract() {
        use CardState as S;
        use GoCardsStatus as G;
        let expected = [
            (G::Ordered, S::Ordered),
            (G::InProduction, S::InProduction),
            (G::Produced, S::Produced),
            (G::Shipped, S::Produced),
            (G::Delivered, S::Produced),
            (G::Failed, S::Failed),
            (G::Cancelled, S::Failed),
        ];
        for (status, state) in expected {
            assert_eq!(status.card_state(), Some(state), "{status}");
        }
    }
}
