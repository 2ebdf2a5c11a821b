//! The real app on a port-0 socket, with the built-in simulator, over a real database.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use backend::db::cards::NewCard;
use backend::db::Db;
use desk_core::domain::CardState;
use desk_core::model::Role;
use gocards_sim::Simulator;
use secrecy::SecretString;
use server::config::{Config, GoCardsEnv};

pub const ADMIN: (&str, &str) = ("admin", "admin-password-1");
pub const OPERATOR: (&str, &str) = ("operator", "operator-password-1");

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub sim: Simulator,
    pub sim_addr: SocketAddr,
    pub http: reqwest::Client,
    pub state: backend::AppState,
    _data: tempfile::TempDir,
}

pub fn test_config(data: PathBuf) -> Config {
    let mut config = Config::defaults(data.clone());
    config.site_root = data.join("site").display().to_string();
    config.session_secret = Some(SecretString::from(
        "test-session-secret-test-session-secret",
    ));
    config.gocards = GoCardsEnv {
        timeout_ms: Some(1500),
        ..GoCardsEnv::default()
    };
    // Tests call Update card order faster than any operator; the limit has tests of its own
    // (`manual_attempts`), which set it back.
    config.manual_attempts_per_second = 1000;
    // Cards move only when a test moves them.
    config.demo_production_secs = 0;
    // The scheduler acts only when woken ("Run now"); tests run the sync themselves.
    config.sync.tick = Duration::from_secs(3600);
    config.sync.retry = backend::sync::RetryPolicy {
        attempts: 3,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    config
}

/// Cards every app test starts with: two open orders, one produced, for three people.
pub fn cards() -> Vec<NewCard> {
    let card = |id: &str, first: &str, last: &str, state| NewCard {
        card_id: id.into(),
        first_name: first.into(),
        last_name: last.into(),
        email: format!("{}@example.org", first.to_lowercase()),
        // One employee ID a person: the same ID would make them one user.
        employee_id: format!("E-{}", last.to_lowercase()),
        state,
        ordered_at: Some(1_763_000_000_000),
    };
    vec![
        card("CA2202040404-5GG3F4C8", "Anna", "Berg", CardState::Ordered),
        card(
            "CA2202040405-AAAA0001",
            "Åsa",
            "Östberg",
            CardState::InProduction,
        ),
        card("CA2202040406-AAAA0002", "Erik", "Lind", CardState::Produced),
    ]
}

/// A user for a test's set-up, written straight to the database: no audit line, since the
/// set-up is not what the test is about (the CLI's `user add` writes one).
pub async fn add_user(db: &Db, name: &str, role: Role, password: &str) {
    let hash = backend::auth::hash_password(password.to_owned())
        .await
        .expect("hash");
    assert!(
        db.insert_user(name, &hash, role)
            .await
            .expect("insert user"),
        "user {name} exists already"
    );
}

/// Starts the app with users `admin` and `operator`, the sample cards, and Update card
/// order enabled on Ordered and In production.
pub async fn spawn(db: Db) -> TestApp {
    spawn_with(db, |_| {}).await
}

/// `spawn`, with the configuration adjusted first.
pub async fn spawn_with(db: Db, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(data.path().to_path_buf());
    adjust(&mut config);
    add_user(&db, ADMIN.0, Role::Admin, ADMIN.1).await;
    add_user(&db, OPERATOR.0, Role::Operator, OPERATOR.1).await;
    db.insert_cards(&cards(), |_| {}).await.expect("cards");
    for state in [CardState::Ordered, CardState::InProduction] {
        db.set_command(state, desk_core::domain::Process::UpdateCardOrder, true)
            .await
            .expect("enable");
    }
    start(db, config, data).await
}

/// A second replica on the database of a running [`TestApp`] (PostgreSQL): the same users,
/// cards and sessions, its own process state, its own simulator.
pub async fn spawn_replica(db: Db) -> TestApp {
    let data = tempfile::tempdir().expect("temp dir");
    let config = test_config(data.path().to_path_buf());
    start(db, config, data).await
}

async fn start(db: Db, config: Config, data: tempfile::TempDir) -> TestApp {
    let running = server::startup::build(&config, db.clone())
        .await
        .expect("build app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = running.state.clone();
    let (sim, sim_addr) = running
        .simulator
        .clone()
        .expect("demo mode runs the simulator");
    tokio::spawn(async move {
        let service = running
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        base: format!("http://{addr}"),
        db,
        sim,
        sim_addr,
        http,
        state,
        _data: data,
    }
}

impl TestApp {
    /// Asks for a run and runs it here, now (the background scheduler only acts when woken).
    pub async fn run_sync(&self) -> backend::sync::RunReport {
        self.db.sync_request_run("test").await.expect("request");
        let client = self.state.gocards.current();
        backend::sync::run_if_due(&self.db, &client, &self.state.sync)
            .await
            .expect("sync storage")
            .expect("the sync ran")
    }

    /// Has the simulator push signed events to this app, as `serve` does in demo mode.
    /// Off by default, so that tests decide when a status change reaches the app.
    pub fn connect_demo_webhook(&self) {
        use secrecy::ExposeSecret;
        let secret = self
            .state
            .webhook_secret
            .as_ref()
            .expect("demo mode makes a secret");
        self.sim.set_webhook(
            format!("{}/webhooks/gocards", self.base),
            secret.expose_secret().to_owned(),
        );
    }

    /// The app's data folder (generated keys live there).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data.path()
    }

    /// Logs in through the server function; returns the session cookie.
    pub async fn login(&self, (user, password): (&str, &str)) -> String {
        crate::desk::log_in(&self.http, &self.base, user, password)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Logs in; the session cookie, or the status of the refusal.
    pub async fn try_login(&self, (user, password): (&str, &str)) -> Result<String, u16> {
        match crate::desk::log_in(&self.http, &self.base, user, password).await {
            Ok(cookie) => Ok(cookie),
            Err(crate::desk::LogInFailed::Refused { status, .. }) => Err(status),
            Err(e) => panic!("{e}"),
        }
    }

    /// A log-in that may be refused: the status and the body of the reply.
    pub async fn login_attempt(&self, (user, password): (&str, &str)) -> (u16, String) {
        crate::desk::log_in_attempt(&self.http, &self.base, user, password).await
    }

    /// POSTs JSON to a server function, as the browser does: `endpoint` names it, `body` is
    /// any JSON (a typed call is [`TestApp::call_fn`]).
    pub async fn call(
        &self,
        endpoint: &str,
        cookie: Option<&str>,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let path = format!("/api/{endpoint}");
        let req = crate::desk::raw_request(&self.http, &self.base, &path, cookie, body.to_string());
        reply(req).await
    }

    /// GETs a page as the browser does (with the session cookie, if any): its status and HTML.
    pub async fn page(&self, path: &str, cookie: Option<&str>) -> (u16, String) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let res = request.send().await.expect("get");
        let status = res.status().as_u16();
        (status, res.text().await.unwrap_or_default())
    }

    /// Calls a server function with its typed arguments, as the browser does.
    pub async fn call_fn<F>(&self, cookie: Option<&str>, args: F) -> (u16, serde_json::Value)
    where
        F: server_fn::ServerFn + serde::Serialize,
    {
        reply(crate::desk::server_fn_request(
            &self.http, &self.base, cookie, &args,
        ))
        .await
    }

    pub async fn sim_status(&self, card_id: &str, status: &str, reason: Option<&str>) {
        assert!(
            self.sim
                .set_status(card_id, status, reason.map(str::to_owned)),
            "sim knows {card_id}"
        );
    }
}

pub use crate::desk::session_cookie;

/// The status and the JSON body (or the text, as a JSON string) of a reply.
async fn reply(req: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let res = req.send().await.expect("call");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}
