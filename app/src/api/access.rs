//! The checks every server function makes itself: a session, and the right role.

use leptos::prelude::use_context;

use crate::model::Role;
use backend::auth::{AuthSession, DeskUser};
use backend::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No session: 401.
    Unauthenticated,
    /// The wrong role: 403.
    Forbidden,
    /// The server is misconfigured (no state or session layer): 500.
    Internal,
}

/// The application state, provided by the server.
pub fn app_state() -> Result<AppState, Denied> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        Denied::Internal
    })
}

/// The session of the current request.
pub async fn auth_session() -> Result<AuthSession, Denied> {
    leptos_axum::extract::<AuthSession>().await.map_err(|e| {
        tracing::error!(error = %e, "auth session missing from the request");
        Denied::Internal
    })
}

/// The client's address, from `X-Forwarded-For` when the connection comes from one of
/// `TRUSTED_PROXIES`; `None` when the server runs without connection info (some tests).
pub async fn client_address(app: &AppState) -> Option<std::net::IpAddr> {
    use axum::extract::ConnectInfo;
    let peer = leptos_axum::extract::<ConnectInfo<std::net::SocketAddr>>()
        .await
        .ok()?
        .0
        .ip();
    let headers = leptos_axum::extract::<http::HeaderMap>().await.ok()?;
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    Some(backend::client_address::client_address(
        peer,
        &forwarded,
        &app.trusted_proxies,
    ))
}

/// The logged-in user, if any.
pub async fn current_user() -> Result<Option<DeskUser>, Denied> {
    Ok(auth_session().await?.user)
}

/// A logged-in operator or admin.
pub async fn require_operator() -> Result<DeskUser, Denied> {
    operator(current_user().await?)
}

/// A logged-in admin.
pub async fn require_admin() -> Result<DeskUser, Denied> {
    admin(current_user().await?)
}

/// The check of [`require_operator`] on a session's user, for a handler outside the
/// server functions that has read the session itself (the CSV downloads).
pub fn operator(user: Option<DeskUser>) -> Result<DeskUser, Denied> {
    let user = user.ok_or(Denied::Unauthenticated)?;
    if user.role.can_operate() {
        Ok(user)
    } else {
        Err(Denied::Forbidden)
    }
}

/// The check of [`require_admin`] on a session's user.
pub fn admin(user: Option<DeskUser>) -> Result<DeskUser, Denied> {
    let user = user.ok_or(Denied::Unauthenticated)?;
    if user.role == Role::Admin {
        Ok(user)
    } else {
        Err(Denied::Forbidden)
    }
}
