//! The HTTP surface: Leptos pages and server functions, health checks, log-out, and the
//! layers every request passes (sessions, log-in, same-origin check, error statuses).

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_login::AuthManagerLayerBuilder;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::{Key, SameSite};
use tower_sessions::{Expiry, SessionManagerLayer};

use app::{shell, App};
use backend::auth::{AuthSession, DeskAuth, DeskSessionStore};
use backend::AppState;

/// What the router needs besides the app state.
#[derive(Clone)]
pub struct WebSettings {
    pub leptos: LeptosOptions,
    pub session_idle: std::time::Duration,
    pub cookie_secure: bool,
    /// 64 bytes that sign the session cookie.
    pub cookie_key: Key,
}

pub const SESSION_COOKIE: &str = "carddesk.sid";

/// Builds the whole application router.
pub async fn build(state: AppState, web: WebSettings) -> Result<Router, sqlx::Error> {
    let store = DeskSessionStore::new(&state.db).await?;
    let idle = tower_sessions::cookie::time::Duration::try_from(web.session_idle)
        .unwrap_or(tower_sessions::cookie::time::Duration::minutes(30));
    let sessions = SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(web.cookie_secure)
        .with_expiry(Expiry::OnInactivity(idle))
        .with_signed(web.cookie_key.clone());
    let auth = AuthManagerLayerBuilder::new(DeskAuth::new(state.db.clone()), sessions).build();

    // Push an active session's expiry back at most this often (a tenth of the idle time,
    // at most a minute), so sessions end after that much inactivity without a write per request.
    let touch_every = (web.session_idle / 10).min(std::time::Duration::from_secs(60));
    let options = web.leptos.clone();
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/logout", post(logout))
        .merge(crate::webhook::routes())
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(context_state.clone()),
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options)
        .layer(middleware::from_fn(require_login))
        .layer(middleware::from_fn(move |session, request, next| {
            touch_session(session, request, next, touch_every)
        }))
        .layer(auth)
        .layer(middleware::from_fn(same_origin_only))
        .layer(axum::Extension(state.clone()))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(TraceLayer::new_for_http());
    Ok(app)
}

async fn readyz(axum::Extension(state): axum::Extension<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn logout(mut auth: AuthSession) -> Response {
    if let Err(e) = auth.logout().await {
        tracing::error!(error = %e, "logout failed");
    }
    Redirect::to("/login").into_response()
}

const TOUCHED_KEY: &str = "touched_ms";

/// tower-sessions saves a session only when it changes, so without this a session would end
/// `SESSION_IDLE_MINUTES` after log-in however busy its user, and touching it on every request
/// would add a write to each one. This marks a logged-in session as changed at most once per
/// `every`, so it is saved with a new expiry.
async fn touch_session(
    session: tower_sessions::Session,
    request: Request,
    next: Next,
    every: std::time::Duration,
) -> Response {
    if !session.is_empty().await {
        let now = chrono::Utc::now().timestamp_millis();
        let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
        let last: Option<i64> = session.get(TOUCHED_KEY).await.ok().flatten();
        if last.is_none_or(|t| now - t >= every_ms) {
            if let Err(e) = session.insert(TOUCHED_KEY, now).await {
                tracing::warn!(error = %e, "could not refresh the session expiry");
            }
        }
    }
    next.run(request).await
}

/// Paths anyone may reach; everything else needs a session.
fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/healthz" | "/readyz" | "/favicon.ico" | "/logout")
        || path.starts_with("/pkg/")
        // Server functions answer 401 themselves; webhooks are guarded by their signature.
        || path.starts_with("/api/")
        || path.starts_with("/webhooks/")
}

/// Sends anonymous visitors to the log-in page, and logged-in ones away from it.
async fn require_login(auth: AuthSession, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let logged_in = auth.user.is_some();
    if path == "/login" && logged_in && request.method() == Method::GET {
        return Redirect::to("/search").into_response();
    }
    if !logged_in && !is_public(path) {
        return Redirect::to("/login").into_response();
    }
    // Addresses that only lead elsewhere get a real redirect. Rendered by Leptos they were an
    // empty 200 page whose WASM moved on (and `/admin/` a 403 even for admins).
    if logged_in && request.method() == Method::GET {
        let target = match path {
            "/" => Some("/search"),
            "/admin" | "/admin/" => Some("/admin/cards"),
            _ => None,
        };
        if let Some(target) = target {
            return Redirect::to(target).into_response();
        }
    }
    next.run(request).await
}

/// Refuses a state-changing request that a browser sent from another origin.
async fn same_origin_only(request: Request, next: Next) -> Response {
    let method = request.method();
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || request.uri().path().starts_with("/webhooks/") {
        return next.run(request).await;
    }
    if !is_same_origin(request.headers()) {
        tracing::warn!(path = %request.uri().path(), "refused a cross-origin request");
        return (
            StatusCode::FORBIDDEN,
            "Cross-origin requests are refused. Use the app from its own address.",
        )
            .into_response();
    }
    next.run(request).await
}

/// A request is same-origin when its `Origin` (if any) names the host it was sent to, and
/// the browser does not flag it as cross-site.
pub fn is_same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    authority == Some(host)
}
