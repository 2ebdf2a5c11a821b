use leptos::prelude::*;
use server_fn::codec::Json;

use crate::api::errors::api_error;
use crate::model::{NewUser, PasswordReset, Role, UserSummary};

api_error! {
    /// Listing users.
    pub enum UsersError {}
}

api_error! {
    /// Adding a user.
    pub enum AddUserError {
        #[error("A user named {username} already exists.")]
        NameTaken { username: String } => CONFLICT,
    }
}

api_error! {
    /// Enabling, disabling, promoting or demoting a user.
    pub enum ChangeUserError {
        #[error("No user named {username} exists.")]
        NotFound { username: String } => NOT_FOUND,
        #[error("{message}")]
        LastAdmin { message: String } => CONFLICT,
    }
}

api_error! {
    /// Resetting a user's password.
    pub enum ResetPasswordError {
        #[error("No user named {username} exists.")]
        NotFound { username: String } => NOT_FOUND,
    }
}

#[cfg(feature = "ssr")]
mod map {
    use backend::services::users::UserAdminError as E;

    /// The parts every user operation shares; `None` for the operation's own variants.
    pub fn common<T>(err: E, internal: T, bad: impl Fn(String) -> T) -> Result<T, E>
    where
        T: From<sqlx::Error>,
    {
        match err {
            E::Invalid(rule) => Ok(bad(rule.to_string())),
            E::Hash(join) => {
                tracing::error!(error = %join, "password hashing failed");
                Ok(internal)
            }
            // Unavailable (503) in an outage, else a logged server fault.
            E::Storage(db) => Ok(T::from(db)),
            other => Err(other),
        }
    }
}

/// Every user with role and enabled flag.
#[server(endpoint = "admin_users", input = Json)]
pub async fn admin_users() -> Result<Vec<UserSummary>, UsersError> {
    use crate::api::access;
    use backend::services::users;

    access::require_admin().await?;
    let app = access::app_state()?;
    Ok(users::list_users(&app.db).await?)
}

/// Adds an operator or admin with an initial password.
#[server(endpoint = "add_user", input = Json)]
pub async fn add_user(user: NewUser) -> Result<UserSummary, AddUserError> {
    use crate::api::access;
    use backend::services::users::{self, UserAdminError as E};

    let admin = access::require_admin().await?;
    let app = access::app_state()?;
    let bad = |message| AddUserError::BadRequest { message };
    users::add_user(
        &app.db,
        &user.username,
        user.password,
        user.role,
        &admin.username,
    )
    .await
    .map_err(
        |err| match map::common(err, AddUserError::internal(), bad) {
            Ok(mapped) => mapped,
            Err(E::NameTaken(username)) => AddUserError::NameTaken { username },
            Err(_) => AddUserError::internal(),
        },
    )
}

/// Enables or disables a user. Disabling ends the user's sessions at once.
#[server(endpoint = "set_user_enabled", input = Json)]
pub async fn set_user_enabled(
    username: String,
    enabled: bool,
) -> Result<UserSummary, ChangeUserError> {
    use backend::db::users::UserUpdate;

    change_user(username, UserUpdate::Enabled(enabled)).await
}

/// Makes a user an operator or an admin.
#[server(endpoint = "set_user_role", input = Json)]
pub async fn set_user_role(username: String, role: Role) -> Result<UserSummary, ChangeUserError> {
    use backend::db::users::UserUpdate;

    change_user(username, UserUpdate::Role(role)).await
}

#[cfg(feature = "ssr")]
async fn change_user(
    username: String,
    update: backend::db::users::UserUpdate,
) -> Result<UserSummary, ChangeUserError> {
    use crate::api::access;
    use backend::services::users::{self, UserAdminError as E};

    let admin = access::require_admin().await?;
    let app = access::app_state()?;
    let bad = |message| ChangeUserError::BadRequest { message };
    users::update_user(&app.db, &username, update, &admin.username)
        .await
        .map_err(
            |err| match map::common(err, ChangeUserError::internal(), bad) {
                Ok(mapped) => mapped,
                Err(E::NoSuchUser(username)) => ChangeUserError::NotFound { username },
                Err(E::LastAdmin(message)) => ChangeUserError::LastAdmin { message },
                Err(_) => ChangeUserError::internal(),
            },
        )
}

/// Sets a new password. The user's sessions end (they are bound to the old password).
#[server(endpoint = "reset_user_password", input = Json)]
pub async fn reset_user_password(reset: PasswordReset) -> Result<(), ResetPasswordError> {
    use crate::api::access;
    use backend::services::users::{self, UserAdminError as E};

    let admin = access::require_admin().await?;
    let app = access::app_state()?;
    let bad = |message| ResetPasswordError::BadRequest { message };
    users::reset_password(&app.db, &reset.username, reset.password, &admin.username)
        .await
        .map_err(
            |err| match map::common(err, ResetPasswordError::internal(), bad) {
                Ok(mapped) => mapped,
                Err(E::NoSuchUser(username)) => ResetPasswordError::NotFound { username },
                Err(_) => ResetPasswordError::internal(),
            },
        )
}
