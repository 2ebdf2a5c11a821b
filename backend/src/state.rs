use std::sync::{Arc, RwLock};

use super::db::Db;
use super::settings::GoCardsSettings;
use super::sync::SyncHandle;
use gocards::GoCardsClient;

/// The live GO Cards client, and whether it is the built-in simulator.
#[derive(Clone)]
struct Live {
    client: GoCardsClient,
    simulator: bool,
}

/// The shared handle to GO Cards. Admins can change the connection at run time, so the
/// client sits behind a lock; callers take a cheap clone of the current one.
#[derive(Clone)]
pub struct GoCardsHandle(Arc<RwLock<Live>>);

impl GoCardsHandle {
    /// A handle to a real GO Cards.
    pub fn new(client: GoCardsClient) -> Self {
        GoCardsHandle(Arc::new(RwLock::new(Live {
            client,
            simulator: false,
        })))
    }

    /// A handle to the built-in simulator (demo mode).
    pub fn new_simulator(client: GoCardsClient) -> Self {
        GoCardsHandle(Arc::new(RwLock::new(Live {
            client,
            simulator: true,
        })))
    }

    pub fn current(&self) -> GoCardsClient {
        self.live().client
    }

    /// Whether the live client is the built-in simulator (demo mode).
    pub fn is_simulator(&self) -> bool {
        self.live().simulator
    }

    /// Switches to a real GO Cards.
    pub fn replace(&self, client: GoCardsClient) {
        self.set(Live {
            client,
            simulator: false,
        });
    }

    /// Switches to the built-in simulator.
    pub fn replace_with_simulator(&self, client: GoCardsClient) {
        self.set(Live {
            client,
            simulator: true,
        });
    }

    fn live(&self) -> Live {
        match self.0.read() {
            Ok(live) => live.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set(&self, live: Live) {
        match self.0.write() {
            Ok(mut slot) => *slot = live,
            Err(poisoned) => *poisoned.into_inner() = live,
        }
    }
}

/// Everything a server function needs. Provided as context on every request.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub gocards: GoCardsHandle,
    /// GO Cards was the built-in simulator when the server started. An admin can switch
    /// the live client since; `gocards.is_simulator()` says what is in force now.
    pub demo_mode: bool,
    /// The GO Cards connection settings' other sources: env vars, the key that encrypts
    /// the stored secret, and the simulator's login. Server-side only.
    pub gocards_settings: GoCardsSettings,
    /// The batch sync's settings and this process's part in it ("Run now" wakes it).
    pub sync: SyncHandle,
    /// The key of `X-GoCards-Signature` on `POST /webhooks/gocards`; `None` refuses every
    /// event. Generated in demo mode, where the simulator signs with it.
    pub webhook_secret: Option<secrecy::SecretString>,
    /// Failed log-ins per username, password checks per address, and checks at once.
    pub login_throttle: Arc<super::throttle::LoginThrottle>,
    /// `TRUSTED_PROXIES`: connections from these may name the client in `X-Forwarded-For`.
    pub trusted_proxies: Arc<[super::client_address::IpNet]>,
    /// Update card order attempts per operator.
    pub manual_attempts: Arc<super::services::manual_attempts::ManualAttempts>,
    /// `ORDER_DEFAULT_COUNTRY`: the Country Order card starts with.
    pub order_default_country: String,
    /// The jobs this process runs (`JOB_CONCURRENCY` items in flight each).
    pub jobs: crate::jobs::JobsHandle,
}
