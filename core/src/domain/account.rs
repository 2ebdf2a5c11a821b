//! The rules for user names and passwords, shared by the command line (`user add`,
//! `user set-password`) and the admin's Users view.

use std::fmt;

/// The longest username.
pub const MAX_USERNAME_LEN: usize = 64;
/// The shortest password, in characters.
pub const MIN_PASSWORD_LEN: usize = 8;
/// The longest password, in bytes (the login form accepts no more).
pub const MAX_PASSWORD_BYTES: usize = 256;

/// A valid username: 1 to 64 ASCII letters, digits, `.`, `-`, `_` or `@`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("A username is 1 to {MAX_USERNAME_LEN} letters, digits, '.', '-', '_' or '@'.")]
    BadUsername,
    #[error("The password must have at least {MIN_PASSWORD_LEN} characters.")]
    PasswordTooShort,
    #[error("The password is too long: at most {MAX_PASSWORD_BYTES} bytes.")]
    PasswordTooLong,
}

impl Username {
    pub fn parse(raw: &str) -> Result<Username, AccountError> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_USERNAME_LEN
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
        if ok {
            Ok(Username(raw.to_owned()))
        } else {
            Err(AccountError::BadUsername)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a new password against the rules. It is not kept in a type: it goes straight to
/// the hash.
pub fn check_new_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AccountError::PasswordTooShort);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::PasswordTooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn usernames() {
        for good in ["admin", "a", "anna.berg@example.org", "op_2-x"] {
            assert!(Username::parse(good).is_ok(), "{good}");
        }
        let long = "x".repeat(MAX_USERNAME_LEN + 1);
        for bad in ["", "has space", "åsa", "semi;colon", long.as_str()] {
            assert_eq!(
                Username::parse(bad),
                Err(AccountError::BadUsername),
                "{bad}"
            );
        }
    }

    #[test]
    fn passwords() {
        assert_eq!(
            check_new_password("short"),
            Err(AccountError::PasswordTooShort)
        );
        assert_eq!(check_new_password("åäöåäöåä"), Ok(()));
        assert_eq!(
            check_new_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)),
            Err(AccountError::PasswordTooLong)
        );
    }

    proptest! {
        #[test]
        fn a_parsed_username_is_what_was_given(raw in "[A-Za-z0-9._@-]{1,64}") {
            let parsed = Username::parse(&raw);
            prop_assert_eq!(parsed.map(|u| u.as_str().to_owned()), Ok(raw));
        }
    }
}
