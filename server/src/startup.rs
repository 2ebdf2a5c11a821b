//! Building the running app from configuration: storage, GO Cards (or its simulator in demo
//! mode), first-start demo data, and the HTTP router.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use leptos::config::LeptosOptions;
use rand::distr::{Alphanumeric, SampleString};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha512};
use tower_sessions::cookie::Key;

use backend::db::cards::CardRow;
use backend::db::Db;
use backend::services::manual_attempts::ManualAttempts;
use backend::settings::{self, GoCardsSettings, SettingsCipher};
use backend::sync::SyncHandle;
use backend::{AppState, GoCardsHandle};
use desk_core::domain::{CardState, GoCardsStatus};
use desk_core::model::Role;
use gocards::{CardInfo, GoCardsClient, GoCardsConfig};

use crate::config::Config;
use crate::router::{self, WebSettings};
use gocards_sim::{SimConfig, Simulator};

/// Connections per process: enough for a busy desk, well under PostgreSQL's default 100
/// for three replicas.
pub const DB_CONNECTIONS: u32 = 16;

pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    Db::connect(&config.database_url, DB_CONNECTIONS)
        .await
        .context("opening the database named by DATABASE_URL")
}

/// The running pieces of a server process.
pub struct Running {
    pub router: axum::Router,
    pub state: AppState,
    /// The in-process simulator, in demo mode.
    pub simulator: Option<(Simulator, std::net::SocketAddr)>,
    /// The batch sync's scheduler, running in the background.
    pub scheduler: tokio::task::JoinHandle<()>,
    /// `DEMO_PRODUCTION_SECS`: the simulator's production line, started with the webhook.
    pub demo_production: Option<std::time::Duration>,
}

/// Builds everything `serve` needs, without binding the app's own port.
pub async fn build(config: &Config, db: Db) -> anyhow::Result<Running> {
    let first_start = db.count_users().await? == 0;
    let cipher = SettingsCipher::from_secret(&settings_key(config)?);
    // Env vars win over the settings admins stored; no base URL from either is demo mode.
    let connection = settings::startup_connection(&db, &config.gocards, &cipher).await?;
    let demo_mode = connection.config.is_none();

    let (client, simulator, simulator_login) = match connection.config {
        None => {
            let sim_config = SimConfig::generated();
            let simulator = Simulator::new(sim_config.clone());
            let addr = simulator
                .spawn(config.gocards_sim_addr)
                .await
                .with_context(|| {
                    format!(
                        "starting the GO Cards simulator on {}",
                        config.gocards_sim_addr
                    )
                })?;
            tracing::info!(%addr, "demo mode: no GO Cards base URL (GOCARDS_BASE_URL or the settings view), so GO Cards is the built-in simulator");
            let login = GoCardsConfig {
                base_url: url::Url::parse(&format!("http://{addr}/")).context("simulator URL")?,
                client_id: sim_config.client_id.clone(),
                client_secret: SecretString::from(sim_config.client_secret.clone()),
                organisation_id: sim_config.organisation_id.clone(),
                timeout: connection.timeout,
            };
            let client = GoCardsClient::new(login.clone())
                .map_err(|e| anyhow::anyhow!("configuring the GO Cards client: {e}"))?;
            (client, Some((simulator, addr)), Some(login))
        }
        Some(gocards) => {
            let client = GoCardsClient::new(gocards)
                .map_err(|e| anyhow::anyhow!("configuring the GO Cards client: {e}"))?;
            tracing::info!(base_url = %client.base_url(), "GO Cards client configured");
            (client, None, None)
        }
    };

    if first_start && demo_mode {
        create_demo_users(&db).await?;
        if db.count_cards().await? == 0 {
            crate::cli::seed::seed_cards(&db, 200).await?;
            tracing::info!("first start in demo mode: seeded 200 demo cards and enabled Update card order and Abort card order on Ordered and In production, and Order card on Users › User");
        }
    }
    if first_start && !demo_mode {
        // Outside demo mode no account is made by itself (a password printed to a container
        // log would outlive everyone's memory of it).
        tracing::warn!(
            "no user accounts yet: create the first admin with `server user add NAME --role admin`"
        );
    }
    if let Some((sim, _)) = &simulator {
        let open = db.open_orders().await?;
        let count = open.len();
        sim.upsert_cards(open.iter().map(card_info_for).collect());
        tracing::info!(
            cards = count,
            "registered the open orders with the simulator"
        );
    }

    // Demo mode signs the simulator's events with a key made for this run.
    let webhook_secret = config.webhook_secret.clone().or_else(|| {
        simulator
            .as_ref()
            .map(|_| SecretString::from(Alphanumeric.sample_string(&mut rand::rng(), 48)))
    });
    let state = AppState {
        db: db.clone(),
        sync: SyncHandle::new(config.sync.clone()),
        login_throttle: Default::default(),
        trusted_proxies: config.trusted_proxies.clone().into(),
        manual_attempts: Arc::new(ManualAttempts::per_second(
            config.manual_attempts_per_second,
        )),
        webhook_secret,
        order_default_country: config.order_default_country.clone(),
        jobs: backend::jobs::JobsHandle::new(config.job_concurrency),
        gocards: if demo_mode {
            GoCardsHandle::new_simulator(client)
        } else {
            GoCardsHandle::new(client)
        },
        demo_mode,
        gocards_settings: GoCardsSettings {
            env: config.gocards.clone(),
            cipher,
            simulator: simulator_login,
        },
    };
    let hash_files = config
        .hash_files
        .unwrap_or_else(|| crate::assets::hash_file_next_to_exe(HASH_FILE));
    let leptos = LeptosOptions::builder()
        .output_name(crate::assets::OUTPUT_NAME)
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .hash_files(hash_files)
        .hash_file(std::sync::Arc::from(HASH_FILE))
        .build();
    let naming =
        crate::assets::AssetNaming::detect(std::path::Path::new(&config.site_root), hash_files);
    tracing::info!(hashed = naming.hashed, split = naming.split, "site assets");
    let web = WebSettings {
        leptos,
        naming,
        session_idle: config.session_idle,
        session_max_age: config.session_max_age,
        cookie_secure: config.cookie_secure,
        cookie_key: cookie_key(config)?,
        public_origin: config.public_origin.clone(),
        timeouts: config.timeouts,
        live: crate::events::LiveSettings::new(config.events_max_clients, config.session_idle),
    };
    let router = router::build(state.clone(), web).await?;
    // Other replicas' changes, for this one's live streams (PostgreSQL).
    db.listen(LISTEN_WAIT).await;
    // Jobs left running by a process that died: on SQLite (one process per file, and this
    // one is starting) every one of them; on PostgreSQL those whose lease lapsed, and from
    // then on every lease period.
    let on_sqlite = matches!(db.kind(), backend::db::DbKind::Sqlite);
    backend::services::jobs::interrupt_orphans(&db, on_sqlite).await?;
    spawn_job_sweep(db.clone());
    let scheduler = crate::scheduler::spawn(state.clone());
    spawn_throttle_pruning(state.login_throttle.clone());
    crate::retention::spawn(db.clone(), config.retention.clone());
    Ok(Running {
        router,
        state,
        simulator,
        scheduler,
        demo_production: (config.demo_production_secs > 0)
            .then(|| std::time::Duration::from_secs(config.demo_production_secs)),
    })
}

/// The file cargo-leptos writes the asset hashes to, next to the server binary.
const HASH_FILE: &str = "hash.txt";

/// How long start-up waits for the `LISTEN` connection before it goes on without it (it keeps
/// trying in the background).
const LISTEN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Marks Interrupted, every lease period, the jobs of replicas that died.
fn spawn_job_sweep(db: backend::db::Db) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(backend::jobs::JOB_LEASE);
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(error) = backend::services::jobs::interrupt_orphans(&db, false).await {
                tracing::warn!(%error, "could not look for interrupted jobs");
            }
        }
    });
}

/// Every minute, the log-in throttle forgets what no longer matters, so that a stream of
/// made-up names and addresses cannot fill the memory.
fn spawn_throttle_pruning(throttle: std::sync::Arc<backend::throttle::LoginThrottle>) {
    let weak = std::sync::Arc::downgrade(&throttle);
    drop(throttle);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        every.tick().await;
        loop {
            every.tick().await;
            match weak.upgrade() {
                Some(throttle) => throttle.prune(),
                None => return,
            }
        }
    });
}

impl Running {
    /// In demo mode, has the simulator post its signed events to this app's own webhook,
    /// listening at `app_addr`, so status changes arrive live.
    pub fn connect_demo_webhook(&self, app_addr: std::net::SocketAddr) {
        let (Some((sim, _)), Some(secret)) = (&self.simulator, &self.state.webhook_secret) else {
            return;
        };
        let host = if app_addr.ip().is_unspecified() {
            std::net::SocketAddr::from(([127, 0, 0, 1], app_addr.port()))
        } else {
            app_addr
        };
        sim.set_webhook(
            format!("http://{host}{}", crate::webhook::WEBHOOK_PATH),
            secret.expose_secret().to_owned(),
        );
        tracing::info!("demo mode: the simulator posts signed events to this app's webhook");
        // The demo lives: open orders move through production by themselves, and their
        // events arrive as webhooks.
        if let Some(step) = self.demo_production {
            sim.set_production(Some(gocards_sim::ProductionLine {
                step,
                fail_share: DEMO_FAIL_SHARE,
            }));
            tracing::info!(
                step_secs = step.as_secs(),
                "demo mode: the simulator's production line moves each open order on within DEMO_PRODUCTION_SECS (0 stops it)"
            );
        }
    }
}

/// The share of the demo's cards in production that fail.
const DEMO_FAIL_SHARE: f64 = 0.05;

/// What GO Cards would say about a stored open order, for seeding the simulator.
pub fn card_info_for(card: &CardRow) -> CardInfo {
    let status = match card.state {
        CardState::InProduction => GoCardsStatus::InProduction,
        _ => GoCardsStatus::Ordered,
    };
    let mut elements = BTreeMap::new();
    elements.insert("FIRST_NAME".to_owned(), card.first_name.clone());
    elements.insert("LAST_NAME".to_owned(), card.last_name.clone());
    let ordered = card
        .ordered_at
        .and_then(chrono::DateTime::from_timestamp_millis);
    CardInfo {
        card_id: card.card_id.clone(),
        article_id: "KSK-K11686X".to_owned(),
        card_holder_email: card.email.clone(),
        card_elements: elements,
        status,
        failure_reason: None,
        ordered,
        produced: None,
        delivered: None,
        activated: None,
        updated: ordered,
    }
}

/// On the very first start in demo mode: the demo users `admin` and `operator`, with
/// generated passwords printed once.
async fn create_demo_users(db: &Db) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    for (name, role) in [("admin", Role::Admin), ("operator", Role::Operator)] {
        let password = Alphanumeric.sample_string(&mut rand::rng(), 16);
        if let Err(err) =
            crate::cli::users::add(db, name, role, password.clone(), "first start").await
        {
            // Replicas started together on a new database: another one made them.
            if db.count_users().await? > 0 {
                tracing::info!("another server created the demo users first");
                return Ok(());
            }
            return Err(err);
        }
        lines.push(format!("  {name:<9} {password}"));
    }
    println!(
        "\nFirst start: created the demo users. Their passwords are shown only this once:\n{}\n\
         Change them with `server user set-password NAME`.\n",
        lines.join("\n")
    );
    Ok(())
}

/// The key that signs session cookies: from SESSION_SECRET, or a key generated once into
/// the data folder (fine for one machine; replicas must share SESSION_SECRET).
fn cookie_key(config: &Config) -> anyhow::Result<Key> {
    let secret = match &config.session_secret {
        Some(secret) => secret.expose_secret().to_owned(),
        None => read_or_create_secret(&config.data_dir.join("session.key"))?,
    };
    let digest = Sha512::digest(secret.as_bytes());
    Ok(Key::from(digest.as_slice()))
}

/// The key that encrypts stored secrets: from SETTINGS_KEY, or a demo key generated once
/// into the data folder (replicas must share SETTINGS_KEY).
fn settings_key(config: &Config) -> anyhow::Result<SecretString> {
    match &config.settings_key {
        Some(key) => Ok(key.clone()),
        None => {
            read_or_create_secret(&config.data_dir.join("settings.key")).map(SecretString::from)
        }
    }
}

/// Reads a key file, or makes one when there is none. A file that holds a key too short is
/// an error, never replaced: what was encrypted or signed with it would be lost silently.
pub fn read_or_create_secret(path: &Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(existing) => {
            let existing = existing.trim();
            if existing.len() >= crate::config::MIN_KEY_BYTES {
                return Ok(existing.to_owned());
            }
            anyhow::bail!(
                "{} holds a key of {} bytes; at least {} are needed. It is not replaced, as \
                 data may depend on it: put the right key back, or set the matching variable \
                 (SESSION_SECRET or SETTINGS_KEY). Deleting the file makes a new key, and \
                 secrets stored with the old one become unreadable.",
                path.display(),
                existing.len(),
                crate::config::MIN_KEY_BYTES
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let secret = Alphanumeric.sample_string(&mut rand::rng(), 64);
    write_private(path, &secret).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a key (set the matching env var to choose your own)");
    Ok(secret)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())
}
