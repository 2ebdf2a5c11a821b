//! The simulator's shared state, behind one `Arc`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use desk_core::domain::GoCardsStatus;
use gocards::CardInfo;

use super::faults::{FaultMode, FaultSpec};
use super::orders::OrderBook;
use super::store::{CancelOutcome, CardStore};
use super::tokens::{TokenBook, DEFAULT_TOKEN_LIFETIME};
use super::webhook::{WebhookEmitter, WebhookTarget};
use super::SimConfig;

/// The most `/api/*` calls kept for `GET /sim/calls`; older ones are dropped.
const MAX_CALLS_KEPT: usize = 100_000;

pub(crate) struct SimState {
    pub config: SimConfig,
    pub store: Mutex<CardStore>,
    pub tokens: Mutex<TokenBook>,
    pub orders: Mutex<OrderBook>,
    faults: Mutex<FaultSpec>,
    calls: Mutex<VecDeque<(String, String, i64)>>,
    webhook_target: Mutex<Option<WebhookTarget>>,
    webhook: WebhookEmitter,
    token_lifetime_secs: AtomicU64,
    token_requests: AtomicUsize,
    /// The production line (`POST /sim/production`), while it runs.
    production: Mutex<Option<ProductionLine>>,
}

/// `POST /sim/production`'s settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProductionLine {
    /// Each card on the line moves one status on within this long of its last change.
    pub step: Duration,
    /// The share of cards in production that fail instead, 0 to 1.
    pub fail_share: f64,
}

/// Locks a mutex; a poisoned one is still used (no code here panics while holding one).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SimState {
    pub fn new(config: SimConfig) -> Self {
        SimState {
            config,
            store: Mutex::default(),
            tokens: Mutex::default(),
            orders: Mutex::default(),
            faults: Mutex::default(),
            calls: Mutex::default(),
            webhook_target: Mutex::default(),
            webhook: WebhookEmitter::new(),
            token_lifetime_secs: AtomicU64::new(DEFAULT_TOKEN_LIFETIME.as_secs()),
            token_requests: AtomicUsize::new(0),
            production: Mutex::default(),
        }
    }

    pub fn record_call(&self, method: &str, path: &str) {
        let mut calls = lock(&self.calls);
        if calls.len() >= MAX_CALLS_KEPT {
            calls.pop_front();
        }
        calls.push_back((
            method.to_owned(),
            path.to_owned(),
            Utc::now().timestamp_millis(),
        ));
    }

    /// `(method, path, unix seconds)`, as `GET /sim/calls` reports them.
    pub fn calls(&self) -> Vec<(String, String, i64)> {
        lock(&self.calls)
            .iter()
            .map(|(method, path, ms)| (method.clone(), path.clone(), ms.div_euclid(1000)))
            .collect()
    }

    /// `(method, path, unix milliseconds)`.
    pub fn calls_ms(&self) -> Vec<(String, String, i64)> {
        lock(&self.calls).iter().cloned().collect()
    }

    pub fn count_token_request(&self) {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn token_requests(&self) -> usize {
        self.token_requests.load(Ordering::Relaxed)
    }

    pub fn token_lifetime(&self) -> Duration {
        Duration::from_secs(self.token_lifetime_secs.load(Ordering::Relaxed))
    }

    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.token_lifetime_secs
            .store(lifetime.as_secs(), Ordering::Relaxed);
    }

    pub fn fault(&self) -> FaultSpec {
        lock(&self.faults).clone()
    }

    pub fn set_fault(&self, fault: FaultSpec) {
        *lock(&self.faults) = fault;
    }

    /// The fault for this call, if it strikes. `expire_token_once` is used up by striking; a
    /// fault with `times` counts down, and is spent (back to `none`) at zero.
    pub fn take_fault(&self, card_id: Option<&str>, path: &str) -> Option<FaultSpec> {
        let mut faults = lock(&self.faults);
        if !faults.strikes(card_id, path) {
            return None;
        }
        let struck = faults.clone();
        let left = faults.times.map(|times| times.saturating_sub(1));
        if struck.mode == FaultMode::ExpireTokenOnce || left == Some(0) {
            *faults = FaultSpec::default();
        } else {
            faults.times = left;
        }
        Some(struck)
    }

    pub fn set_webhook(&self, target: Option<WebhookTarget>) {
        *lock(&self.webhook_target) = target;
    }

    pub fn upsert(&self, cards: Vec<CardInfo>) -> usize {
        lock(&self.store).upsert(cards)
    }

    pub fn set_status(
        &self,
        card_id: &str,
        status: &str,
        failure_reason: Option<String>,
    ) -> Option<CardInfo> {
        let changed =
            lock(&self.store).set_status(card_id, GoCardsStatus::parse(status), failure_reason)?;
        self.emit(std::slice::from_ref(&changed));
        Some(changed)
    }

    /// Cancels a card (`POST /api/card/{cardId}/cancel`); a cancelled card emits an event.
    pub fn cancel(&self, card_id: &str, reason: &str) -> CancelOutcome {
        let outcome = lock(&self.store).cancel(card_id, reason);
        if let CancelOutcome::Cancelled(card) = &outcome {
            self.emit(std::slice::from_ref(card));
        }
        outcome
    }

    pub fn advance(&self) -> usize {
        let moved = lock(&self.store).advance();
        self.emit(&moved);
        moved.len()
    }

    /// Starts, changes or (with `None`) stops the production line. A line already running
    /// takes the new settings at its next turn.
    pub fn set_production(self: &std::sync::Arc<Self>, line: Option<ProductionLine>) {
        let was_running = {
            let mut slot = lock(&self.production);
            let was = slot.is_some();
            *slot = line;
            was
        };
        if line.is_some() && !was_running {
            let state = std::sync::Arc::downgrade(self);
            tokio::spawn(async move {
                loop {
                    let Some(state) = state.upgrade() else { return };
                    let Some(line) = *lock(&state.production) else {
                        return;
                    };
                    state.production_turn(line);
                    // A turn a second, or more often for a fast line (tests).
                    let pause =
                        (line.step / 20).clamp(Duration::from_millis(20), Duration::from_secs(1));
                    drop(state);
                    tokio::time::sleep(pause).await;
                }
            });
        }
    }

    fn production_turn(&self, line: ProductionLine) {
        let step_ms = i64::try_from(line.step.as_millis()).unwrap_or(i64::MAX / 2);
        let moved = {
            let mut roll = || rand::random::<f64>();
            lock(&self.store).production_step(
                Utc::now().timestamp_millis(),
                step_ms,
                line.fail_share,
                &mut roll,
            )
        };
        if !moved.is_empty() {
            tracing::debug!(
                moved = moved.len(),
                "GO Cards simulator: the production line moved cards"
            );
            self.emit(&moved);
        }
    }

    /// One event per changed card, if a webhook is set.
    fn emit(&self, changed: &[CardInfo]) {
        let Some(target) = lock(&self.webhook_target).clone() else {
            return;
        };
        for card in changed {
            self.webhook.emit(&target, card);
        }
    }
}
