//! Manual attempts per operator: "Update card order" is allowed a few times a second for each
//! user (governor's GCRA, keyed by user id), so nobody can flood a card's history, or GO Cards,
//! by script. An attempt over the limit is refused before anything is written or asked.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Attempts a second per operator, unless configured otherwise.
pub const DEFAULT_PER_SECOND: u32 = 10;
/// How often keys that are back to a full allowance are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

pub struct ManualAttempts {
    per_user: DefaultKeyedRateLimiter<i64>,
    last_pruned: Mutex<Instant>,
}

impl Default for ManualAttempts {
    fn default() -> Self {
        ManualAttempts::per_second(DEFAULT_PER_SECOND)
    }
}

impl ManualAttempts {
    /// `per_second` attempts a second for each user, and as many at once.
    pub fn per_second(per_second: u32) -> Self {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        ManualAttempts {
            per_user: RateLimiter::keyed(Quota::per_second(per_second)),
            last_pruned: Mutex::new(Instant::now()),
        }
    }

    /// Counts an attempt by `user_id`; `Err(wait)` when it is over the limit, with how long
    /// until the next one is allowed.
    pub fn check(&self, user_id: i64) -> Result<(), Duration> {
        self.prune_now_and_then();
        self.per_user
            .check_key(&user_id)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Drops the users whose allowance is full again: they are as if never seen.
    pub fn prune(&self) {
        self.per_user.retain_recent();
        self.per_user.shrink_to_fit();
    }

    /// How many users are remembered.
    pub fn tracked(&self) -> usize {
        self.per_user.len()
    }

    fn prune_now_and_then(&self) {
        let due = {
            let mut last = match self.last_pruned.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            let due = last.elapsed() >= PRUNE_EVERY;
            if due {
                *last = Instant::now();
            }
            due
        };
        if due {
            self.prune();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_has_an_allowance_of_their_own() {
        let attempts = ManualAttempts::per_second(10);
        let allowed = (0..30).filter(|_| attempts.check(1).is_ok()).count();
        assert_eq!(allowed, 10, "a burst of 10, then refused");
        let wait = attempts.check(1).expect_err("over the limit");
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        assert!(attempts.check(2).is_ok(), "another user is unaffected");
    }

    #[test]
    fn users_back_to_a_full_allowance_are_pruned() {
        let attempts = ManualAttempts::per_second(10);
        for user in 0..100 {
            assert!(attempts.check(user).is_ok());
        }
        assert_eq!(attempts.tracked(), 100);
        // One attempt each is refilled after 100 ms; governor keeps a key one period more.
        std::thread::sleep(Duration::from_millis(300));
        attempts.prune();
        assert_eq!(attempts.tracked(), 0);
    }
}
