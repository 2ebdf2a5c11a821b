use leptos::prelude::*;

use super::{LoginError, SessionError};
use crate::model::SessionInfo;

/// The longest username or password the login form accepts.
pub const MAX_CREDENTIAL_LEN: usize = 256;

/// Logs in and sends the browser to the search page.
#[server(endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), LoginError> {
    use crate::api::access;
    use backend::services::login::{self, LoginFailure};
    use backend::throttle::Refusal;

    if username.len() > MAX_CREDENTIAL_LEN || password.len() > MAX_CREDENTIAL_LEN {
        return Err(LoginError::InvalidCredentials);
    }
    let app = access::app_state()?;
    let address = access::client_address(&app).await;
    let checked = login::check(&app.db, &app.login_throttle, &username, password, address).await;
    let user = match checked {
        Ok(user) => user,
        Err(LoginFailure::BadUsername(e)) => {
            return Err(LoginError::BadRequest {
                message: e.to_string(),
            })
        }
        Err(LoginFailure::WrongCredentials) => {
            tracing::info!(username = %username, "failed login");
            return Err(LoginError::InvalidCredentials);
        }
        Err(LoginFailure::Refused(Refusal::Throttled(wait))) => {
            tracing::warn!(username = %username, "log-in refused: too many failed attempts");
            return Err(LoginError::Throttled {
                retry_after_secs: wait.as_secs().max(1),
            });
        }
        Err(LoginFailure::Refused(Refusal::Busy)) => {
            tracing::warn!("log-in refused: too many password checks at once");
            return Err(LoginError::Busy);
        }
        Err(LoginFailure::Storage(e)) => return Err(LoginError::from(e)),
        Err(e @ LoginFailure::Task(_)) => {
            tracing::error!(error = %e, "login check failed");
            return Err(LoginError::internal());
        }
    };
    let mut session = access::auth_session().await?;
    session.login(&user).await.map_err(|e| {
        tracing::error!(error = %e, "could not store the session");
        LoginError::internal()
    })?;
    // A new session id on every log-in, whatever the session held before (axum-login cycles
    // it only for a session that was never logged in): no id from before is valid after it.
    session.session.cycle_id().await.map_err(|e| {
        tracing::error!(error = %e, "could not renew the session id");
        LoginError::internal()
    })?;
    backend::auth::mark_logged_in(&session.session)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not store the session");
            LoginError::internal()
        })?;
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
