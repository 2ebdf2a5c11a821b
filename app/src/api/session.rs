use leptos::prelude::*;

use super::{LoginError, SessionError};
use crate::model::SessionInfo;

/// The longest username or password the login form accepts.
pub const MAX_CREDENTIAL_LEN: usize = 256;

/// Logs in and sends the browser to the search page.
#[server(endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), LoginError> {
    use crate::api::access;
    use backend::auth::Credentials;

    if username.is_empty()
        || username.len() > MAX_CREDENTIAL_LEN
        || password.len() > MAX_CREDENTIAL_LEN
    {
        return Err(LoginError::InvalidCredentials);
    }
    let app = access::app_state()?;
    let address = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .await
        .ok()
        .map(|info| info.0.ip());
    let throttled = |wait: std::time::Duration| LoginError::Throttled {
        retry_after_secs: wait.as_secs().max(1),
    };
    if let Err(wait) = app.login_throttle.check(&username, address) {
        tracing::warn!(username = %username, "log-in refused: too many failed attempts");
        return Err(throttled(wait));
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
        if let Some(wait) = app.login_throttle.record_failure(&username, address) {
            return Err(throttled(wait));
        }
        return Err(LoginError::InvalidCredentials);
    };
    // axum-login cycles the session id when an anonymous session logs in; a session that
    // was already logged in (another user on the same browser) gets a new id here too, so
    // no id from before the log-in is ever valid after it.
    let was_logged_in = session.user.is_some();
    session.login(&user).await.map_err(|e| {
        tracing::error!(error = %e, "could not store the session");
        LoginError::Internal
    })?;
    if was_logged_in {
        session.session.cycle_id().await.map_err(|e| {
            tracing::error!(error = %e, "could not renew the session id");
            LoginError::Internal
        })?;
    }
    tracing::info!(username = %user.username, role = %user.role, "logged in");
    leptos_axum::redirect("/search");
    Ok(())
}

/// Who is logged in (if anyone), and whether GO Cards is simulated.
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<SessionInfo, SessionError> {
    use crate::api::access;

    let state = access::app_state()?;
    let user = access::current_user().await?;
    Ok(SessionInfo {
        user: user.map(|u| u.session_user()),
        demo_mode: state.gocards.is_simulator(),
    })
}
