use serde::{Deserialize, Serialize};

use super::{CardState, GoCardsStatus};

/// The reason recorded when GO Cards reports an order as cancelled.
pub const CANCELLED_REASON: &str = "order cancelled in GO Cards";

/// What a status reported by GO Cards does to a card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Changed {
        from: CardState,
        to: CardState,
        /// Only for a move to Failed, when GO Cards gave a reason.
        failure_reason: Option<String>,
    },
    NoChange(NoChange),
    Refused(Refusal),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoChange {
    /// The status maps to the state the card is already in.
    SameState { reported: String },
    /// The status maps to an earlier state; cards never move backwards.
    Backwards { reported: String },
    /// GO Cards sent a status this app does not know.
    Unrecognised { reported: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The update acts only on Ordered and In production.
    NotApplicable { state: CardState },
}

/// Decides what `reported` does to a card in `current`, by the rules of the contract, in order:
/// refused, unrecognised, same state, backwards, changed. The manual command, the batch sync
/// and webhooks all call this one function.
pub fn apply(
    current: CardState,
    reported: &GoCardsStatus,
    failure_reason: Option<&str>,
) -> Outcome {
    let Some(current_rank) = current
        .production_rank()
        .filter(|_| current.is_open_order())
    else {
        return Outcome::Refused(Refusal::NotApplicable { state: current });
    };
    let raw = reported.as_str().to_owned();
    let Some(target) = reported.card_state() else {
        return Outcome::NoChange(NoChange::Unrecognised { reported: raw });
    };
    if target == current {
        return Outcome::NoChange(NoChange::SameState { reported: raw });
    }
    // Every mapped state is on the production path, so it has a rank.
    let target_rank = target.production_rank().unwrap_or(0);
    if target_rank < current_rank {
        return Outcome::NoChange(NoChange::Backwards { reported: raw });
    }
    let failure_reason = match (target, reported) {
        (CardState::Failed, GoCardsStatus::Cancelled) => Some(CANCELLED_REASON.to_owned()),
        (CardState::Failed, _) => failure_reason
            .map(str::trim)
            .filter(|reason| !reason.is_empty())
            .map(str::to_owned),
        _ => None,
    };
    Outcome::Changed {
        from: current,
        to: target,
        failure_reason,
    }
}

impl Outcome {
    /// The sentence an operator reads, in the words of product.md.
    pub fn message(&self) -> String {
        match self {
            Outcome::Changed {
                from,
                to,
                failure_reason,
            } => {
                let mut text = format!("Status updated: {from} → {to}");
                if let Some(reason) = failure_reason {
                    text.push_str(&format!(" (reason: {reason})"));
                }
                text
            }
            Outcome::NoChange(NoChange::SameState { reported }) => {
                format!("No change: GO Cards reports {reported}")
            }
            Outcome::NoChange(NoChange::Backwards { reported }) => {
                format!(
                    "No change: GO Cards reports {reported}, which would move the card backwards"
                )
            }
            Outcome::NoChange(NoChange::Unrecognised { reported }) => {
                format!("No change: unrecognised status {reported} from GO Cards")
            }
            Outcome::Refused(Refusal::NotApplicable { state }) => {
                format!("Update card order is not available for a card in state {state}.")
            }
        }
    }

    /// The state the card ends in.
    pub fn resulting_state(&self, current: CardState) -> CardState {
        match self {
            Outcome::Changed { to, .. } => *to,
            _ => current,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use CardState as S;
    use GoCardsStatus as G;

    fn all_statuses() -> Vec<GoCardsStatus> {
        let mut statuses = GoCardsStatus::KNOWN.to_vec();
        statuses.push(G::Unrecognised("QUALITY_HOLD".into()));
        statuses.push(G::Unrecognised(String::new()));
        statuses
    }

    /// The expected outcome of every (state, status) pair, written out by hand from the
    /// contract's table rather than derived from the code under test.
    fn expected(state: CardState, status: &GoCardsStatus) -> Outcome {
        let raw = status.as_str().to_owned();
        let changed = |to| Outcome::Changed {
            from: state,
            to,
            failure_reason: None,
        };
        match (state, status) {
            (S::Ordered, G::Ordered) | (S::InProduction, G::InProduction) => {
                Outcome::NoChange(NoChange::SameState { reported: raw })
            }
            (S::InProduction, G::Ordered) => {
                Outcome::NoChange(NoChange::Backwards { reported: raw })
            }
            (S::Ordered | S::InProduction, G::Unrecognised(_)) => {
                Outcome::NoChange(NoChange::Unrecognised { reported: raw })
            }
            (S::Ordered, G::InProduction) => changed(S::InProduction),
            (S::Ordered | S::InProduction, G::Produced | G::Shipped | G::Delivered) => {
                changed(S::Produced)
            }
            (S::Ordered | S::InProduction, G::Failed) => Outcome::Changed {
                from: state,
                to: S::Failed,
                failure_reason: Some("chip test failed".into()),
            },
            (S::Ordered | S::InProduction, G::Cancelled) => Outcome::Changed {
                from: state,
                to: S::Failed,
                failure_reason: Some(CANCELLED_REASON.into()),
            },
            _ => Outcome::Refused(Refusal::NotApplicable { state }),
        }
    }

    #[test]
    fn every_state_and_status_pair() {
        let mut pairs = 0;
        for state in CardState::ALL {
            for status in all_statuses() {
                let got = apply(state, &status, Some("chip test failed"));
                assert_eq!(got, expected(state, &status), "{state:?} + {status}");
                pairs += 1;
            }
        }
        assert_eq!(pairs, 11 * 9);
    }

    #[test]
    fn messages_match_the_product_table() {
        let cases = [
            (
                apply(S::Ordered, &G::InProduction, None),
                "Status updated: Ordered → In production",
            ),
            (
                apply(S::InProduction, &G::Delivered, None),
                "Status updated: In production → Produced",
            ),
            (
                apply(S::Ordered, &G::Failed, Some("embossing fault")),
                "Status updated: Ordered → Failed (reason: embossing fault)",
            ),
            (
                apply(S::Ordered, &G::Failed, Some("  ")),
                "Status updated: Ordered → Failed",
            ),
            (
                apply(S::InProduction, &G::Cancelled, None),
                "Status updated: In production → Failed (reason: order cancelled in GO Cards)",
            ),
            (
                apply(S::Ordered, &G::Ordered, None),
                "No change: GO Cards reports ORDERED",
            ),
            (
                apply(S::InProduction, &G::Ordered, None),
                "No change: GO Cards reports ORDERED, which would move the card backwards",
            ),
            (
                apply(S::Ordered, &G::parse("QUALITY_HOLD"), None),
                "No change: unrecognised status QUALITY_HOLD from GO Cards",
            ),
            (
                apply(S::Produced, &G::Ordered, None),
                "Update card order is not available for a card in state Produced.",
            ),
        ];
        for (outcome, text) in cases {
            assert_eq!(outcome.message(), text);
        }
    }

    fn any_status() -> impl Strategy<Value = GoCardsStatus> {
        prop_oneof![
            (0..GoCardsStatus::KNOWN.len()).prop_map(|i| GoCardsStatus::KNOWN[i].clone()),
            "[A-Z_]{0,12}".prop_map(|s| GoCardsStatus::parse(&s)),
        ]
    }

    fn any_state() -> impl Strategy<Value = CardState> {
        (0..CardState::ALL.len()).prop_map(|i| CardState::ALL[i])
    }

    proptest! {
        /// No sequence of reports ever moves a card backwards, and a card leaves the
        /// open states only to Produced or Failed, after which nothing moves it.
        #[test]
        fn no_sequence_of_reports_moves_a_card_backwards(
            start in any_state(),
            reports in proptest::collection::vec(any_status(), 0..40),
        ) {
            let mut state = start;
            for report in &reports {
                let outcome = apply(state, report, None);
                let next = outcome.resulting_state(state);
                if next != state {
                    prop_assert!(state.is_open_order());
                    let (Some(before), Some(after)) = (state.production_rank(), next.production_rank()) else {
                        return Err(TestCaseError::fail("a change left the production path"));
                    };
                    prop_assert!(after > before, "{state:?} -> {next:?}");
                    prop_assert!(matches!(next, S::InProduction | S::Produced | S::Failed));
                } else {
                    let changed = matches!(outcome, Outcome::Changed { .. });
                    prop_assert!(!changed, "a change that left the state as it was");
                }
                state = next;
            }
            if !start.is_open_order() {
                prop_assert_eq!(state, start);
            }
        }
    }
}
