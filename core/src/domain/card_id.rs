use serde::{Deserialize, Serialize};
use std::fmt;

/// A GO Cards card id: `CA`, 10 digits, `-`, 8 ASCII letters or digits.
/// Example: `CA2202040404-5GG3F4C8`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CardId(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a GO Cards card id (expected CA, 10 digits, a dash and 8 letters or digits, like CA2202040404-5GG3F4C8)")]
pub struct CardIdError(pub String);

impl CardId {
    pub const LEN: usize = 21;

    pub fn parse(raw: &str) -> Result<CardId, CardIdError> {
        let bytes = raw.as_bytes();
        let well_formed = bytes.len() == Self::LEN
            && bytes.starts_with(b"CA")
            && bytes[2..12].iter().all(u8::is_ascii_digit)
            && bytes[12] == b'-'
            && bytes[13..].iter().all(u8::is_ascii_alphanumeric);
        if well_formed {
            Ok(CardId(raw.to_owned()))
        } else {
            let shown: String = raw.chars().take(40).collect();
            Err(CardIdError(shown))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CardId {
    type Error = CardIdError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        CardId::parse(&raw)
    }
}

impl From<CardId> for String {
    fn from(id: CardId) -> String {
        id.0
    }
}

impl fmt::Display for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_example() {
        assert!(CardId::parse("CA2202040404-5GG3F4C8").is_ok());
    }

    #[test]
    fn refuses_near_misses() {
        for bad in [
            "",
            "CA2202040404-5GG3F4C",
            "CA2202040404-5GG3F4C89",
            "CB2202040404-5GG3F4C8",
            "CA220204040X-5GG3F4C8",
            "CA2202040404_5GG3F4C8",
            "CA2202040404-5GG3F4C!",
            "CA2202040404-5GG3F4Cå",
            " CA2202040404-5GG3F4C8",
        ] {
            assert!(CardId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn parses_every_well_formed_id(digits in "[0-9]{10}", tail in "[A-Za-z0-9]{8}") {
            let raw = format!("CA{digits}-{tail}");
            prop_assert_eq!(CardId::parse(&raw).map(|id| id.to_string()), Ok(raw));
        }

        #[test]
        fn never_panics_on_any_string(raw in any::<String>()) {
            let _ = CardId::parse(&raw);
        }
    }
}
