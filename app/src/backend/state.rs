use std::sync::{Arc, RwLock};

use super::db::Db;
use super::gocards::GoCardsClient;

/// The shared handle to GO Cards. Admins can change the connection at run time, so the
/// client sits behind a lock; callers take a cheap clone of the current one.
#[derive(Clone)]
pub struct GoCardsHandle(Arc<RwLock<GoCardsClient>>);

impl GoCardsHandle {
    pub fn new(client: GoCardsClient) -> Self {
        GoCardsHandle(Arc::new(RwLock::new(client)))
    }

    pub fn current(&self) -> GoCardsClient {
        match self.0.read() {
            Ok(client) => client.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace(&self, client: GoCardsClient) {
        match self.0.write() {
            Ok(mut slot) => *slot = client,
            Err(poisoned) => *poisoned.into_inner() = client,
        }
    }
}

/// Everything a server function needs. Provided as context on every request.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub gocards: GoCardsHandle,
    /// GO Cards is the built-in simulator.
    pub demo_mode: bool,
}
