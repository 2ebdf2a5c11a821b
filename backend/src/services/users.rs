//! The Users part of the settings view: add, enable or disable, promote or demote, and
//! reset a password. Every change is audited (never with a password).

use crate::auth::hash_password;
use crate::db::audit::AuditRecord;
use crate::db::users::{UserChange, UserRow, UserUpdate};
use crate::db::Db;
use desk_core::domain::{check_new_password, AccountError, Username};
use desk_core::model::{Role, UserSummary};

#[derive(Debug, thiserror::Error)]
pub enum UserAdminError {
    #[error(transparent)]
    Invalid(#[from] AccountError),
    #[error("A user named {0} already exists.")]
    NameTaken(String),
    #[error("No user named {0} exists.")]
    NoSuchUser(String),
    #[error("{0}")]
    LastAdmin(String),
    #[error("the password could not be hashed: {0}")]
    Hash(#[from] tokio::task::JoinError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

pub fn summary(row: &UserRow) -> Option<UserSummary> {
    Some(UserSummary {
        username: row.username.clone(),
        role: row.role()?,
        enabled: row.enabled == 1,
    })
}

pub async fn list_users(db: &Db) -> Result<Vec<UserSummary>, sqlx::Error> {
    Ok(db.list_users().await?.iter().filter_map(summary).collect())
}

pub async fn add_user(
    db: &Db,
    username: &str,
    password: String,
    role: Role,
    actor: &str,
) -> Result<UserSummary, UserAdminError> {
    let name = Username::parse(username)?;
    no_such_name(username)?;
    check_new_password(&password)?;
    let hash = hash_password(password).await?;
    let detail = format!("{name} as {role}");
    let audit = AuditRecord {
        actor,
        action: "add user",
        detail: &detail,
    };
    if !db.add_user(name.as_str(), &hash, role, audit).await? {
        return Err(UserAdminError::NameTaken(name.to_string()));
    }
    tracing::info!(actor, username = %name, %role, "user added");
    Ok(UserSummary {
        username: name.to_string(),
        role,
        enabled: true,
    })
}

pub async fn reset_password(
    db: &Db,
    username: &str,
    password: String,
    actor: &str,
) -> Result<(), UserAdminError> {
    no_such_name(username)?;
    check_new_password(&password)?;
    let hash = hash_password(password).await?;
    let audit = AuditRecord {
        actor,
        action: "reset password",
        detail: username,
    };
    if !db.reset_password_hash(username, &hash, audit).await? {
        return Err(UserAdminError::NoSuchUser(username.to_owned()));
    }
    tracing::info!(actor, username, "password reset");
    Ok(())
}

/// Enables, disables, promotes or demotes `username`, unless that leaves no enabled admin.
/// Disabling ends the user's sessions for good: a session from before is refused at once
/// (no enabled user) and stays refused after re-enabling (the session epoch moved on).
pub async fn update_user(
    db: &Db,
    username: &str,
    update: UserUpdate,
    actor: &str,
) -> Result<UserSummary, UserAdminError> {
    // A name no account can have (a NUL, say, which PostgreSQL would refuse to compare) is
    // simply no such user: the database is not asked.
    no_such_name(username)?;
    let (action, detail) = match update {
        UserUpdate::Enabled(true) => ("enable user", username.to_owned()),
        UserUpdate::Enabled(false) => ("disable user", username.to_owned()),
        UserUpdate::Role(role) => ("change role", format!("{username} to {role}")),
    };
    let audit = AuditRecord {
        actor,
        action,
        detail: &detail,
    };
    match db.update_user(username, update, audit).await? {
        UserChange::Done(row) => {
            tracing::info!(actor, action, %detail, "user changed");
            summary(&row).ok_or_else(|| UserAdminError::NoSuchUser(username.to_owned()))
        }
        UserChange::NoSuchUser => Err(UserAdminError::NoSuchUser(username.to_owned())),
        UserChange::LastAdmin => Err(UserAdminError::LastAdmin(match update {
            UserUpdate::Enabled(_) => format!(
                "{username} is the last enabled admin and cannot be disabled. Make another user an admin first."
            ),
            UserUpdate::Role(_) => format!(
                "{username} is the last enabled admin and cannot be made an operator. Make another user an admin first."
            ),
        })),
    }
}

/// `NoSuchUser` for a name that [`Username::parse`] refuses, with the name shown safely.
fn no_such_name(username: &str) -> Result<(), UserAdminError> {
    match desk_core::domain::Username::parse(username) {
        Ok(_) => Ok(()),
        Err(_) => Err(UserAdminError::NoSuchUser(
            desk_core::domain::text::clean_text(username, 60).into_owned(),
        )),
    }
}
