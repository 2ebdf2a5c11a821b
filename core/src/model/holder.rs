//! The "User" half of the search: the people who hold cards (card holders), their search and
//! their profile. Named holders here, so that they do not clash with the desk's accounts.

use serde::{Deserialize, Serialize};

use super::search::{MAX_FIELD_LEN, MAX_PAGE};
use crate::domain::CardState;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HolderSortColumn {
    /// Last name, then first name.
    #[default]
    Name,
    Email,
    EmployeeId,
}

impl HolderSortColumn {
    pub const ALL: [HolderSortColumn; 3] = [
        HolderSortColumn::Name,
        HolderSortColumn::Email,
        HolderSortColumn::EmployeeId,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HolderSortColumn::Name => "name",
            HolderSortColumn::Email => "email",
            HolderSortColumn::EmployeeId => "employee_id",
        }
    }

    pub fn header(self) -> &'static str {
        match self {
            HolderSortColumn::Name => "Name",
            HolderSortColumn::Email => "Email",
            HolderSortColumn::EmployeeId => "Employee ID",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct HolderSort {
    pub column: HolderSortColumn,
    pub descending: bool,
}

impl HolderSort {
    /// The URL form: `name`, or `-email` for descending.
    pub fn to_param(self) -> String {
        if self.descending {
            format!("-{}", self.column.as_str())
        } else {
            self.column.as_str().to_owned()
        }
    }

    /// Parses the URL form; anything unknown falls back to the default sort.
    pub fn from_param(raw: &str) -> HolderSort {
        let (descending, name) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        HolderSortColumn::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .map(|column| HolderSort { column, descending })
            .unwrap_or_default()
    }
}

/// A search for users (card holders). Text fields match as case-insensitive prefixes, as
/// for cards; there is no status.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct HolderSearch {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_id: String,
    /// 1-based.
    pub page: u32,
    pub sort: HolderSort,
}

impl HolderSearch {
    /// The same limits as the card search: each field's length and characters, and the page.
    pub fn validate(&self) -> Result<(), HolderSearchError> {
        if self.page() > MAX_PAGE {
            return Err(HolderSearchError::PageTooDeep);
        }
        for (field, value) in [
            ("First name", &self.first_name),
            ("Last name", &self.last_name),
            ("Email", &self.email),
            ("Employee ID", &self.employee_id),
        ] {
            if value.chars().count() > MAX_FIELD_LEN {
                return Err(HolderSearchError::FieldTooLong { field });
            }
            if crate::domain::text::has_control(value) {
                return Err(HolderSearchError::ControlCharacter { field });
            }
        }
        Ok(())
    }

    pub fn page(&self) -> u32 {
        self.page.max(1)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HolderSearchError {
    #[error("{field} is too long: at most {MAX_FIELD_LEN} characters")]
    FieldTooLong { field: &'static str },
    #[error("{field} contains a control character. Type only letters, digits and punctuation.")]
    ControlCharacter { field: &'static str },
    #[error(
        "Pages past {MAX_PAGE} are not shown. Narrow the search (the start of a name, an \
         email or an employee ID) to find the user."
    )]
    PageTooDeep,
}

/// One row of the user list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderSummary {
    pub holder_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_id: String,
    /// The state of each of the user's cards, oldest order first.
    pub card_states: Vec<CardState>,
}

impl HolderSummary {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// The "Cards" column: "Ordered, Produced", or "—" when the user has none.
    pub fn cards_text(&self) -> String {
        cards_text(&self.card_states)
    }
}

/// The states of some cards, as the "Cards" column shows them.
pub fn cards_text(states: &[CardState]) -> String {
    if states.is_empty() {
        return "—".to_owned();
    }
    states
        .iter()
        .map(|s| s.label())
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderSearchPage {
    pub rows: Vec<HolderSummary>,
    pub page: u32,
    pub has_next: bool,
}

/// One card on a user's profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderCard {
    pub card_id: String,
    pub state: CardState,
    /// RFC 3339, UTC.
    pub ordered_at: Option<String>,
}

/// A user's profile: details and cards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderDetail {
    pub holder_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_id: String,
    pub cards: Vec<HolderCard>,
    /// The user processes admins enabled on Users › User.
    #[serde(default)]
    pub commands: Vec<crate::domain::Process>,
}

impl HolderDetail {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_params_round_trip() {
        for column in HolderSortColumn::ALL {
            for descending in [false, true] {
                let sort = HolderSort { column, descending };
                assert_eq!(HolderSort::from_param(&sort.to_param()), sort);
            }
        }
        assert_eq!(HolderSort::from_param("card_id"), HolderSort::default());
    }

    #[test]
    fn bad_input_is_refused() {
        let long = HolderSearch {
            email: "x".repeat(MAX_FIELD_LEN + 1),
            ..Default::default()
        };
        assert_eq!(
            long.validate(),
            Err(HolderSearchError::FieldTooLong { field: "Email" })
        );
        let control = HolderSearch {
            last_name: "a\u{7}".into(),
            ..Default::default()
        };
        assert_eq!(
            control.validate(),
            Err(HolderSearchError::ControlCharacter { field: "Last name" })
        );
        let deep = HolderSearch {
            page: MAX_PAGE + 1,
            ..Default::default()
        };
        assert_eq!(deep.validate(), Err(HolderSearchError::PageTooDeep));
        let ok = HolderSearch {
            last_name: "ö".repeat(MAX_FIELD_LEN),
            page: MAX_PAGE,
            ..Default::default()
        };
        assert_eq!(ok.validate(), Ok(()));
    }

    #[test]
    fn the_cards_column_lists_states_or_a_dash() {
        assert_eq!(cards_text(&[]), "—");
        assert_eq!(
            cards_text(&[CardState::Ordered, CardState::Produced]),
            "Ordered, Produced"
        );
    }
}
