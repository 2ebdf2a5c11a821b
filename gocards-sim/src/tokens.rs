//! Bearer tokens the simulator has issued, with their expiry.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Tokens live this long unless a test shortens it.
pub(crate) const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

#[derive(Default)]
pub(crate) struct TokenBook {
    live: HashMap<String, Instant>,
}

impl TokenBook {
    /// Issues a new random token valid for `lifetime`; forgets expired ones.
    pub fn issue(&mut self, lifetime: Duration) -> String {
        let now = Instant::now();
        self.live.retain(|_, expires| *expires > now);
        let token = hex::encode(rand::random::<[u8; 24]>());
        self.live.insert(token.clone(), now + lifetime);
        token
    }

    pub fn is_live(&self, token: &str) -> bool {
        self.live
            .get(token)
            .is_some_and(|expires| *expires > Instant::now())
    }

    /// Every issued token stops working, as if all had expired.
    pub fn revoke_all(&mut self) {
        self.live.clear();
    }
}
