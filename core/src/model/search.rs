use serde::{Deserialize, Serialize};

use super::CardSummary;
use crate::domain::CardState;

/// Rows on one page of results.
pub const PAGE_SIZE: usize = 50;
/// The longest text a search field accepts.
pub const MAX_FIELD_LEN: usize = 200;
/// The deepest page served. Each page further costs the database the rows before it, so a
/// deeper one is refused with a request to narrow the search.
pub const MAX_PAGE: u32 = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SortColumn {
    #[default]
    CardId,
    Holder,
    Status,
    Ordered,
    LastChecked,
}

impl SortColumn {
    pub const ALL: [SortColumn; 5] = [
        SortColumn::CardId,
        SortColumn::Holder,
        SortColumn::Status,
        SortColumn::Ordered,
        SortColumn::LastChecked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortColumn::CardId => "card_id",
            SortColumn::Holder => "holder",
            SortColumn::Status => "status",
            SortColumn::Ordered => "ordered",
            SortColumn::LastChecked => "last_checked",
        }
    }

    pub fn header(self) -> &'static str {
        match self {
            SortColumn::CardId => "Card ID",
            SortColumn::Holder => "Holder",
            SortColumn::Status => "Status",
            SortColumn::Ordered => "Ordered",
            SortColumn::LastChecked => "Last checked",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Sort {
    pub column: SortColumn,
    pub descending: bool,
}

impl Sort {
    /// The URL form: `card_id`, or `-ordered` for descending.
    pub fn to_param(self) -> String {
        if self.descending {
            format!("-{}", self.column.as_str())
        } else {
            self.column.as_str().to_owned()
        }
    }

    /// Parses the URL form; anything unknown falls back to the default sort.
    pub fn from_param(raw: &str) -> Sort {
        let (descending, name) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        SortColumn::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .map(|column| Sort { column, descending })
            .unwrap_or_default()
    }
}

/// A search for cards, as the form and the URL carry it. Text fields match as
/// case-insensitive prefixes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CardSearch {
    pub status: Option<CardState>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_id: String,
    /// 1-based.
    pub page: u32,
    pub sort: Sort,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CardSearchError {
    #[error("{field} is too long: at most {MAX_FIELD_LEN} characters")]
    FieldTooLong { field: &'static str },
    #[error("{field} contains a control character. Type only letters, digits and punctuation.")]
    ControlCharacter { field: &'static str },
    #[error(
        "Pages past {MAX_PAGE} are not shown. Narrow the search (a status, or the start of a \
         name) to find the card."
    )]
    PageTooDeep,
}

impl CardSearch {
    /// Checks the limits: the length of each field, and the page (at most [`MAX_PAGE`]).
    /// Unknown statuses and pages below 1 are handled where the query is parsed (they become
    /// "Any" and page 1).
    pub fn validate(&self) -> Result<(), CardSearchError> {
        if self.page() > MAX_PAGE {
            return Err(CardSearchError::PageTooDeep);
        }
        for (field, value) in [
            ("First name", &self.first_name),
            ("Last name", &self.last_name),
            ("Email", &self.email),
            ("Employee ID", &self.employee_id),
        ] {
            if value.chars().count() > MAX_FIELD_LEN {
                return Err(CardSearchError::FieldTooLong { field });
            }
            if crate::domain::text::has_control(value) {
                return Err(CardSearchError::ControlCharacter { field });
            }
        }
        Ok(())
    }

    pub fn page(&self) -> u32 {
        self.page.max(1)
    }
}

/// Lower-cases a search key the same way on both sides of the comparison, so prefixes
/// like "ö" find "Östberg".
pub fn search_key(text: &str) -> String {
    text.trim().to_lowercase()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPage {
    pub rows: Vec<CardSummary>,
    pub page: u32,
    pub has_next: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_params_round_trip() {
        for column in SortColumn::ALL {
            for descending in [false, true] {
                let sort = Sort { column, descending };
                assert_eq!(Sort::from_param(&sort.to_param()), sort);
            }
        }
        assert_eq!(Sort::from_param("nonsense"), Sort::default());
    }

    #[test]
    fn long_fields_are_refused() {
        let search = CardSearch {
            last_name: "x".repeat(MAX_FIELD_LEN + 1),
            ..Default::default()
        };
        assert!(search.validate().is_err());
        let ok = CardSearch {
            last_name: "ö".repeat(MAX_FIELD_LEN),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn control_characters_are_refused() {
        let search = CardSearch {
            email: "a\u{0}b".into(),
            ..Default::default()
        };
        assert_eq!(
            search.validate(),
            Err(CardSearchError::ControlCharacter { field: "Email" })
        );
    }

    #[test]
    fn pages_past_the_last_are_refused() {
        let at = |page| CardSearch {
            page,
            ..Default::default()
        };
        assert!(at(0).validate().is_ok());
        assert!(at(MAX_PAGE).validate().is_ok());
        assert_eq!(
            at(MAX_PAGE + 1).validate(),
            Err(CardSearchError::PageTooDeep)
        );
        assert_eq!(at(u32::MAX).validate(), Err(CardSearchError::PageTooDeep));
        assert!(CardSearchError::PageTooDeep
            .to_string()
            .contains("Narrow the search"));
    }

    #[test]
    fn keys_fold_swedish_letters() {
        assert_eq!(search_key(" Åsa "), "åsa");
        assert_eq!(search_key("ÖSTBERG"), "östberg");
    }
}
