//! The built-in GO Cards simulator (gocards-api.md, "Simulator control").
//!
//! - [`Simulator`]: the handle; [`SimConfig`]: the credentials it accepts (`config`).
//! - `store`: cards and the `(updated, cardId)` keyset index; `advance` lives there.
//! - `routes`: `/oauth/token`, `/api/*` (behind the fault and access gate), `/sim/*`.
//! - `faults`: [`FaultSpec`] and the replies each [`FaultMode`] makes.
//! - `tokens`, `orders`: issued tokens; idempotent orders, their checks, [`SimOrder`].
//! - `articles`: what the organisation may order ([`articles`]).
//! - `webhook`: signed events, posted in the background.
//! - `state`: the shared state, and the production line's turns.
//! - `demo`: believable cards for a standalone run.

mod articles;
mod config;
mod demo;
mod faults;
mod orders;
mod routes;
mod state;
mod store;
mod tokens;
mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gocards::CardInfo;

pub use articles::articles;
pub use config::SimConfig;
pub use demo::demo_cards;
pub use faults::{FaultMode, FaultSpec, OVERSIZED_BODY_BYTES};
pub use orders::SimOrder;
pub use webhook::{topic_for, webhook_signature, SIGNATURE_HEADER};

pub use state::ProductionLine;
use state::{lock, SimState};

/// A GO Cards simulator. Clones share one state.
#[derive(Clone)]
pub struct Simulator {
    state: Arc<SimState>,
}

impl Simulator {
    pub fn new(config: SimConfig) -> Self {
        Simulator {
            state: Arc::new(SimState::new(config)),
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.state.config
    }

    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// Binds `addr` (port 0 picks a free port) and serves in a tokio task until the runtime
    /// stops. Returns the bound address.
    pub async fn spawn(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let router = self.router();
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, %bound, "GO Cards simulator stopped");
            }
        });
        tracing::info!(address = %bound, "GO Cards simulator listening");
        Ok(bound)
    }

    /// Runs the production line, like `POST /sim/production`: every card on it moves one
    /// status on within `step` of its last change (`fail_share` of those in production to
    /// FAILED), each change an event. `None` stops it.
    pub fn set_production(&self, line: Option<ProductionLine>) {
        self.state.set_production(line);
    }

    /// Creates or replaces cards, like `POST /sim/cards`. Their `updated` is set by the
    /// simulator's clock, so the listing's cursors stay sound.
    pub fn upsert_cards(&self, cards: Vec<CardInfo>) {
        self.state.upsert(cards);
    }

    /// Forces any status, like `POST /sim/cards/{cardId}/status`: bumps `updated` and emits a
    /// webhook event if one is set. `false` for an unknown card.
    pub fn set_status(&self, card_id: &str, status: &str, failure_reason: Option<String>) -> bool {
        self.state
            .set_status(card_id, status, failure_reason)
            .is_some()
    }

    /// Where to post events, like `POST /sim/webhook`. An invalid URL or empty secret is
    /// logged and stops events.
    pub fn set_webhook(&self, url: String, secret: String) {
        match webhook::WebhookTarget::parse(&url, secret) {
            Ok(target) => self.state.set_webhook(Some(target)),
            Err(problem) => {
                tracing::warn!(%problem, "GO Cards simulator webhook not set");
                self.state.set_webhook(None);
            }
        }
    }

    /// Moves every open card one step forward, like `POST /sim/advance`.
    pub fn advance(&self) {
        self.state.advance();
    }

    /// The `/api/*` calls received: `(method, path, unix seconds)`, like `GET /sim/calls`.
    pub fn calls(&self) -> Vec<(String, String, i64)> {
        self.state.calls()
    }

    /// The same calls with millisecond times: `(method, path, unix milliseconds)`.
    pub fn calls_ms(&self) -> Vec<(String, String, i64)> {
        self.state.calls_ms()
    }

    pub fn card(&self, card_id: &str) -> Option<CardInfo> {
        lock(&self.state.store).get(card_id)
    }

    pub fn card_count(&self) -> usize {
        lock(&self.state.store).len()
    }

    /// Sets the fault for `/api/*`, like `POST /sim/faults`. For "delay the next order
    /// once": `FaultSpec::new(FaultMode::Timeout).on_path("/api/order").times(1)`.
    pub fn set_fault(&self, fault: FaultSpec) {
        self.state.set_fault(fault);
    }

    /// The fault now set, like `GET /sim/faults` (`none` once a counted fault is spent).
    pub fn fault(&self) -> FaultSpec {
        self.state.fault()
    }

    /// The orders received, one per distinct order (a replay adds none), like `GET /sim/orders`.
    pub fn orders(&self) -> Vec<SimOrder> {
        lock(&self.state.orders).received()
    }

    /// How many `POST /oauth/token` requests arrived, granted or not.
    pub fn token_requests(&self) -> usize {
        self.state.token_requests()
    }

    /// The `expires_in` of tokens issued from now on (whole seconds; default 3600).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state.set_token_lifetime(lifetime);
    }
}

/// `server gocards-sim --addr HOST:PORT`: credentials from `GOCARDS_*` or the standalone
/// defaults, a few demo cards, served until `shutdown` resolves (the server passes Ctrl-C or
/// SIGTERM).
pub async fn run_standalone(
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let simulator = Simulator::new(SimConfig::from_env_or_standalone_defaults());
    simulator.upsert_cards(demo_cards(12));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr().context("no local address")?;
    tracing::info!(
        address = %bound,
        client_id = %simulator.config().client_id,
        organisation_id = %simulator.config().organisation_id,
        "GO Cards simulator listening"
    );
    axum::serve(listener, simulator.router())
        .with_graceful_shutdown(shutdown)
        .await
        .context("GO Cards simulator failed")?;
    tracing::info!("GO Cards simulator stopped");
    Ok(())
}
