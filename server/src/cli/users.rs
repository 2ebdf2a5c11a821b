//! `user add` and `user set-password`.

use std::io::BufRead;

use anyhow::{bail, Context};

use app::backend::auth::hash_password;
use app::backend::db::Db;
use app::model::Role;

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_NAME_LEN: usize = 64;

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

pub fn check_password(password: &str) -> anyhow::Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        bail!("the password must have at least {MIN_PASSWORD_LEN} characters (give it on stdin)");
    }
    if password.len() > 256 {
        bail!("the password is too long: at most 256 bytes");
    }
    Ok(())
}

pub fn check_username(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if !ok {
        bail!("a username is 1 to {MAX_NAME_LEN} letters, digits, '.', '-', '_' or '@'");
    }
    Ok(())
}

pub async fn add(db: &Db, name: &str, role: &str, password: String) -> anyhow::Result<()> {
    check_username(name)?;
    let role: Role = role.parse()?;
    check_password(&password)?;
    let hash = hash_password(password).await?;
    if !db.insert_user(name, &hash, role).await? {
        bail!("a user named {name} already exists; use `user set-password {name}` to change the password");
    }
    Ok(())
}

pub async fn set_password(db: &Db, name: &str, password: String) -> anyhow::Result<()> {
    check_password(&password)?;
    let hash = hash_password(password).await?;
    if !db.set_password_hash(name, &hash).await? {
        bail!("no user named {name}; add one with `user add {name} --role operator`");
    }
    Ok(())
}
