//! The HTTP surface: Leptos pages and server functions, health checks, log-out, the CSV
//! downloads (`export`), and the layers every request passes (timeouts, security headers,
//! same-origin check, database outage replies, sessions, log-in).

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method};
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

use crate::origin::PublicOrigin;
use crate::timeouts::RequestTimeouts;

/// `Strict-Transport-Security` when cookies are marked secure (the desk is served over
/// HTTPS): browsers then use HTTPS for a year. Without `includeSubDomains`, since other
/// hosts under the desk's domain are not the desk's to decide.
const HSTS: &str = "max-age=31536000";

/// What the router needs besides the app state.
#[derive(Clone)]
pub struct WebSettings {
    pub leptos: LeptosOptions,
    /// Whether the assets' names carry hashes (their cache policy).
    pub naming: crate::assets::AssetNaming,
    pub session_idle: std::time::Duration,
    /// `SESSION_MAX_HOURS`: a session ends this long after its log-in, however busy.
    pub session_max_age: std::time::Duration,
    pub cookie_secure: bool,
    /// 64 bytes that sign the session cookie.
    pub cookie_key: Key,
    /// `PUBLIC_ORIGIN`: what `Origin` must be; unset, the request's own authority.
    pub public_origin: Option<PublicOrigin>,
    pub timeouts: RequestTimeouts,
    /// `EVENTS_MAX_CLIENTS`, and how often a stream checks its session.
    pub live: crate::events::LiveSettings,
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
    let max_age = web.session_max_age;
    let log_ins = std::sync::Arc::new(tokio::sync::Semaphore::new(LOG_INS_AT_ONCE));
    let options = web.leptos.clone();
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(crate::outage::readyz))
        .route("/logout", post(logout))
        .merge(crate::webhook::routes())
        .merge(crate::export::routes())
        .merge(crate::events::routes())
        .nest_service("/pkg", crate::assets::pkg_files(&options.site_root))
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(context_state.clone()),
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .route_layer(middleware::from_fn(crate::metrics::note_route))
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options)
        .layer(middleware::from_fn(require_login))
        .layer(middleware::from_fn(move |auth, request, next| {
            session_policy(auth, request, next, touch_every, max_age)
        }))
        .layer(auth)
        .layer(middleware::from_fn({
            let db = state.db.clone();
            move |request, next| {
                crate::outage::unavailable_database_is_503(db.clone(), request, next)
            }
        }))
        .layer(middleware::from_fn({
            let public = web.public_origin.clone();
            move |request, next| crate::origin::same_origin_only(public.clone(), request, next)
        }))
        .layer(axum::Extension(state.clone()))
        .layer(axum::Extension(web.live.clone()))
        // Inside the header layers, so that a timed-out request's reply carries them too.
        .layer(middleware::from_fn({
            let limits = web.timeouts;
            move |request, next| crate::timeouts::bounded(limits, request, next)
        }))
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
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            web.cookie_secure.then(|| HeaderValue::from_static(HSTS)),
        ))
        .layer(middleware::from_fn(move |request, next| {
            one_of_few_log_ins(request, next, log_ins.clone())
        }))
        .layer(middleware::from_fn({
            let naming = web.naming;
            move |request, next| crate::assets::cache_policy(naming, request, next)
        }))
        .layer(crate::assets::compression())
        .layer(TraceLayer::new_for_http().make_span_with(crate::metrics::request_span))
        .layer(middleware::from_fn({
            let trusted = state.trusted_proxies.clone();
            move |request, next| crate::metrics::request_id(trusted.clone(), request, next)
        }))
        .layer(middleware::from_fn(crate::metrics::http_metrics));
    Ok(app)
}

async fn logout(mut auth: AuthSession) -> Response {
    if let Err(e) = auth.logout().await {
        tracing::error!(error = %e, "logout failed");
    }
    Redirect::to("/login").into_response()
}

const TOUCHED_KEY: &str = "touched_ms";

/// What a session may do, on every request:
/// - A logged-in session older than `max_age` (`SESSION_MAX_HOURS`) is logged out.
/// - A session that names a user who may no longer log in (disabled, or unknown) is ended,
///   not kept alive: axum-login keeps such a session's data, so it would live on.
/// - tower-sessions saves a session only when it changes, so without this a session would end
///   `SESSION_IDLE_MINUTES` after log-in however busy its user, and touching it on every
///   request would add a write to each one. A logged-in session is marked as changed at most
///   once per `every`, so it is saved with a new expiry.
async fn session_policy(
    mut auth: AuthSession,
    mut request: Request,
    next: Next,
    every: std::time::Duration,
    max_age: std::time::Duration,
) -> Response {
    // An open live stream is not activity: a tab left open still logs out.
    let activity = request.uri().path() != crate::events::EVENTS_PATH;
    if auth.user.is_some() {
        if backend::auth::outlived(&auth.session, max_age).await {
            tracing::info!("session reached SESSION_MAX_HOURS; logged out");
            if let Err(e) = auth.logout().await {
                tracing::warn!(error = %e, "could not end an outlived session");
            }
            // Later extractors read the session from the request: it is anonymous now.
            if let Some(seen) = request.extensions_mut().get_mut::<AuthSession>() {
                seen.user = None;
            }
        } else {
            let session = &auth.session;
            let now = chrono::Utc::now().timestamp_millis();
            let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
            let last: Option<i64> = session.get(TOUCHED_KEY).await.ok().flatten();
            if activity && last.is_none_or(|t| now - t >= every_ms) {
                if let Err(e) = session.insert(TOUCHED_KEY, now).await {
                    tracing::warn!(error = %e, "could not refresh the session expiry");
                }
            }
        }
    } else if !auth.session.is_empty().await {
        if let Err(e) = auth.session.flush().await {
            tracing::warn!(error = %e, "could not end the session of a disabled user");
        }
    }
    next.run(request).await
}

/// Log-in requests handled at once; the rest wait in line (a connection and a request head
/// each) instead of each holding a session, a server-function context and a database query.
const LOG_INS_AT_ONCE: usize = 32;
/// How long a log-in waits in that line before it is answered "busy".
const LOG_IN_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Bounds the log-ins in progress, so that a flood of them costs memory by the few, not by
/// the thousand; everything else passes straight through.
async fn one_of_few_log_ins(
    request: Request,
    next: Next,
    log_ins: std::sync::Arc<tokio::sync::Semaphore>,
) -> Response {
    if request.uri().path() != "/api/login" {
        return next.run(request).await;
    }
    match tokio::time::timeout(LOG_IN_QUEUE_WAIT, log_ins.acquire_owned()).await {
        Ok(Ok(_permit)) => next.run(request).await,
        _ => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "The desk is busy; try again in a moment.",
        )
            .into_response(),
    }
}

/// Paths anyone may reach; everything else needs a session.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/healthz" | "/readyz" | "/favicon.ico" | "/robots.txt" | "/logout"
    )
        || path.starts_with("/pkg/")
        // Server functions, the CSV downloads and the live stream answer 401 themselves;
        // webhooks are guarded by their signature.
        || path == crate::events::EVENTS_PATH
        || path.starts_with("/api/")
        || path.starts_with("/export/")
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
