//! `GET /events`: the live stream of a logged-in page (server-sent events).
//!
//! - It needs a session (401 without), and it is not activity: it never pushes the session's
//!   expiry back. It checks the session every [`LiveSettings::session_check`] and ends once
//!   the session has ended (idle, logged out, the user disabled), after a `logged_out` event.
//! - It sends `card`, `job` and `sync` events, each to whoever may see it, after commit
//!   (`backend::events`), a comment every [`HEARTBEAT`] so that proxies keep it open, and
//!   `reload` when it fell behind.
//! - At most `EVENTS_MAX_CLIENTS` streams are open per process; past it, 503.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use axum_login::{AuthUser, AuthnBackend};
use tower_sessions::session::Id;
use tower_sessions::SessionStore;

use backend::auth::{AuthSession, DeskAuth, DeskSessionStore, DeskUser};
use backend::events::{Next, Subscription};
use backend::AppState;
use desk_core::model::RELOAD_EVENT;

pub const EVENTS_PATH: &str = "/events";

/// A comment line this often keeps proxies from closing an idle stream.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// The default of `EVENTS_MAX_CLIENTS`: streams per process.
pub const DEFAULT_MAX_CLIENTS: usize = 1000;

/// The event a stream sends before it ends because its session did.
pub const LOGGED_OUT_EVENT: &str = "logged_out";

/// The streams' limits, and how many are open.
#[derive(Clone, Debug)]
pub struct LiveSettings {
    pub max_clients: usize,
    /// How often a stream looks whether its session still holds.
    pub session_check: Duration,
    open: Arc<AtomicUsize>,
}

impl LiveSettings {
    /// Checks the session a few times within its idle time, and at least every heartbeat.
    pub fn new(max_clients: usize, session_idle: Duration) -> Self {
        LiveSettings {
            max_clients,
            session_check: (session_idle / 4).clamp(Duration::from_millis(250), HEARTBEAT),
            open: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A place for one more stream, or `None` at the limit.
    fn take_slot(&self) -> Option<Slot> {
        let taken = self
            .open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |open| {
                (open < self.max_clients).then_some(open + 1)
            })
            .is_ok();
        taken.then(|| {
            metrics::gauge!(crate::metrics::EVENT_STREAMS).increment(1.0);
            Slot(self.open.clone())
        })
    }
}

/// One open stream's place; given back when the stream is dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
        metrics::gauge!(crate::metrics::EVENT_STREAMS).decrement(1.0);
    }
}

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route(EVENTS_PATH, get(events))
}

async fn events(
    Extension(state): Extension<AppState>,
    Extension(live): Extension<LiveSettings>,
    auth: AuthSession,
) -> Response {
    let (Some(user), Some(session_id)) = (auth.user.clone(), auth.session.id()) else {
        return (
            StatusCode::UNAUTHORIZED,
            "Your session has ended. Log in again.",
        )
            .into_response();
    };
    let Some(slot) = live.take_slot() else {
        tracing::warn!(
            max = live.max_clients,
            "EVENTS_MAX_CLIENTS streams are open; a page goes without live updates"
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "30")],
            "Too many pages are receiving live updates from this server. Reload the page to see changes.",
        )
            .into_response();
    };
    let stream = Stream {
        events: state.db.events().subscribe(),
        watch: SessionWatch {
            store: DeskSessionStore::existing(&state.db),
            users: DeskAuth::new(state.db.clone()),
            id: session_id,
            auth_hash: user.session_auth_hash().to_vec(),
            user_id: user.id(),
        },
        user,
        check: tokio::time::interval_at(
            tokio::time::Instant::now() + live.session_check,
            live.session_check,
        ),
        ended: false,
        _slot: slot,
    };
    let body = futures::stream::unfold(stream, |mut stream| async move {
        let event = stream.next().await?;
        Some((Ok::<Event, Infallible>(event), stream))
    });
    let mut response = Sse::new(body)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // nginx would otherwise buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

struct Stream {
    events: Subscription,
    watch: SessionWatch,
    user: DeskUser,
    check: tokio::time::Interval,
    ended: bool,
    _slot: Slot,
}

impl Stream {
    /// The next event to send, or `None` to end the stream.
    async fn next(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        let is_admin = self.user.role.is_admin();
        loop {
            tokio::select! {
                next = self.events.next() => match next {
                    Next::Event(event) => {
                        if event.visible_to(&self.user.username, is_admin) {
                            return Some(Event::default().event(event.name()).data(event.data_json()));
                        }
                    }
                    Next::Reload => return Some(Event::default().event(RELOAD_EVENT).data("{}")),
                    Next::Closed => return None,
                },
                _ = self.check.tick() => {
                    if !self.watch.holds().await {
                        self.ended = true;
                        return Some(Event::default().event(LOGGED_OUT_EVENT).data("{}"));
                    }
                }
            }
        }
    }
}

/// Whether a stream's session still holds, read without touching it.
struct SessionWatch {
    store: DeskSessionStore,
    users: DeskAuth,
    id: Id,
    auth_hash: Vec<u8>,
    user_id: i64,
}

impl SessionWatch {
    async fn holds(&self) -> bool {
        // The store leaves out an expired session; logging out deletes it.
        match self.store.load(&self.id).await {
            Ok(Some(_)) => {}
            Ok(None) => return false,
            // The database is away: keep the stream; the next check decides.
            Err(error) => {
                tracing::debug!(%error, "could not read a stream's session");
                return true;
            }
        }
        // The user disabled, or its password changed: its sessions have ended.
        match self.users.get_user(&self.user_id).await {
            Ok(Some(user)) => user.session_auth_hash() == self.auth_hash.as_slice(),
            Ok(None) => false,
            Err(_) => true,
        }
    }
}
