use leptos::prelude::*;

use super::{LoginError, SessionError};
use crate::model::SessionInfo;

/// The longest username or password the login form accepts.
pub const MAX_CREDENTIAL_LEN: usize = 256;

/// Logs in and sends the browser to the search page.
#[server(endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), LoginError> {
    use crate::backend::access;
    use crate::backend::auth::Credentials;

    if username.is_empty()
        || username.len() > MAX_CREDENTIAL_LEN
        || password.len() > MAX_CREDENTIAL_LEN
    {
        return Err(LoginError::InvalidCredentials);
    }
    let mut session = access::auth_session().await?;
    let user = session
        .authenticate(Credentials {
            username: username.clone(),
            password,
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "login check failed");
            LoginError::Internal
        })?;
    let Some(user) = user else {
        tracing::info!(username = %username, "failed login");
        return Err(LoginError::InvalidCredentials);
    };
    // axum-login cycles the session id here, so a planted id is useless.
    session.login(&user).await.map_err(|e| {
        tracing::error!(error = %e, "could not store the session");
        LoginError::Internal
    })?;
    tracing::info!(username = %user.username, role = %user.role, "logged in");
    leptos_axum::redirect("/search");
    Ok(())
}

/// Who is logged in (if anyone), and whether GO Cards is simulated.
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<SessionInfo, SessionError> {
    use crate::backend::access;

    let state = access::app_state()?;
    let user = access::current_user().await?;
    Ok(SessionInfo {
        user: user.map(|u| u.session_user()),
        demo_mode: state.gocards.is_simulator(),
    })
}
