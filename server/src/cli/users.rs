//! `user add` and `user set-password`.

use std::io::BufRead;

use anyhow::{bail, Context};

use backend::db::Db;
use backend::services::users::{add_user, reset_password, UserAdminError};
use desk_core::domain::{AccountError, Username};
use desk_core::model::Role;

pub use desk_core::domain::{MAX_USERNAME_LEN as MAX_NAME_LEN, MIN_PASSWORD_LEN};

/// Reads one line from stdin: the password, without its line ending.
pub fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("could not read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    check_password(&password)?;
    Ok(password)
}

/// The password rules of `desk_core::domain`, worded for the command line.
pub fn check_password(password: &str) -> anyhow::Result<()> {
    match desk_core::domain::check_new_password(password) {
        Ok(()) => Ok(()),
        Err(AccountError::PasswordTooShort) => {
            bail!(
                "the password must have at least {MIN_PASSWORD_LEN} characters (give it on stdin)"
            )
        }
        Err(other) => bail!("{}", lower_first(&other.to_string())),
    }
}

pub fn check_username(name: &str) -> anyhow::Result<()> {
    Username::parse(name).map_err(|e| anyhow::anyhow!("{}", lower_first(&e.to_string())))?;
    Ok(())
}

/// "A username is ..." → "a username is ...", the style of the other CLI errors.
fn lower_first(sentence: &str) -> String {
    let trimmed = sentence.trim_end_matches('.');
    let mut chars = trimmed.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `user add`: through the same audited service as the settings view, with `actor` in the
/// audit line ("cli", or the server creating the demo users on its first start).
pub async fn add(
    db: &Db,
    name: &str,
    role: Role,
    password: String,
    actor: &str,
) -> anyhow::Result<()> {
    check_username(name)?;
    check_password(&password)?;
    match add_user(db, name, password, role, actor).await {
        Ok(_) => Ok(()),
        Err(UserAdminError::NameTaken(_)) => bail!(
            "a user named {name} already exists; use `user set-password {name}` to change the password"
        ),
        Err(other) => Err(other.into()),
    }
}

/// `user set-password`: through the audited users service, as the settings view's reset.
pub async fn set_password(db: &Db, name: &str, password: String) -> anyhow::Result<()> {
    check_password(&password)?;
    match reset_password(db, name, password, "cli").await {
        Ok(()) => Ok(()),
        Err(UserAdminError::NoSuchUser(_)) => {
            bail!("no user named {name}; add one with `user add {name} --role operator`")
        }
        Err(other) => Err(other.into()),
    }
}
