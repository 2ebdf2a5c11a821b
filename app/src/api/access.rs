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

/// The logged-in user, if any.
pub async fn current_user() -> Result<Option<DeskUser>, Denied> {
    Ok(auth_session().await?.user)
}

/// A logged-in operator or admin.
pub async fn require_operator() -> Result<DeskUser, Denied> {
    let user = current_user().await?.ok_or(Denied::Unauthenticated)?;
    if user.role.can_operate() {
        Ok(user)
    } else {
        Err(Denied::Forbidden)
    }
}

/// A logged-in admin.
pub async fn require_admin() -> Result<DeskUser, Denied> {
    let user = current_user().await?.ok_or(Denied::Unauthenticated)?;
    if user.role == Role::Admin {
        Ok(user)
    } else {
        Err(Denied::Forbidden)
    }
}
