//! Log-in throttling: failed attempts only, counted per username and per client address
//! (governor's GCRA limiters). Once a key has used up its failures it is blocked until the
//! limiter would allow another; while blocked, no password is checked for it, not even the
//! right one, so guessing gains nothing. A successful log-in counts for nothing, so busy
//! desks (and the load test) are never throttled.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Failures allowed per username before it is blocked; one more is allowed every minute.
const USER_FAILURES: u32 = 5;
const USER_REFILL: Duration = Duration::from_secs(60);
/// Failures allowed per address (many users behind one address); one more every 6 s.
const ADDRESS_FAILURES: u32 = 20;
const ADDRESS_REFILL: Duration = Duration::from_secs(6);

pub struct LoginThrottle {
    users: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<Key, Instant>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
}

fn quota(burst: u32, refill: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(refill)
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(USER_FAILURES, USER_REFILL, ADDRESS_FAILURES, ADDRESS_REFILL)
    }
}

impl LoginThrottle {
    pub fn new(
        user_failures: u32,
        user_refill: Duration,
        address_failures: u32,
        address_refill: Duration,
    ) -> Self {
        LoginThrottle {
            users: RateLimiter::keyed(quota(user_failures, user_refill)),
            addresses: RateLimiter::keyed(quota(address_failures, address_refill)),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` while the username or the address is blocked.
    pub fn check(&self, username: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let mut blocked = self.lock();
        blocked.retain(|_, until| *until > now);
        let wait = [
            Some(Key::User(normalise(username))),
            address.map(Key::Address),
        ]
        .into_iter()
        .flatten()
        .filter_map(|key| blocked.get(&key).map(|until| *until - now))
        .max();
        match wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Counts a failed attempt; `Some(wait)` when it used up the last allowed failure.
    pub fn record_failure(&self, username: &str, address: Option<IpAddr>) -> Option<Duration> {
        let clock = DefaultClock::default();
        let mut longest: Option<Duration> = None;
        let user = normalise(username);
        if let Err(not_until) = self.users.check_key(&user) {
            let wait = not_until.wait_time_from(clock.now());
            self.block(Key::User(user), wait);
            longest = longest.max(Some(wait));
        }
        if let Some(address) = address {
            if let Err(not_until) = self.addresses.check_key(&address) {
                let wait = not_until.wait_time_from(clock.now());
                self.block(Key::Address(address), wait);
                longest = longest.max(Some(wait));
            }
        }
        longest
    }

    fn block(&self, key: Key, wait: Duration) {
        self.lock().insert(key, Instant::now() + wait);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Instant>> {
        match self.blocked.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Usernames are matched case-insensitively, so `Admin` and `admin` share a count.
fn normalise(username: &str) -> String {
    username.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_blocked_after_the_allowed_failures_and_others_are_not() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60), 100, Duration::from_secs(1));
        let addr: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert!(throttle.check("anna", Some(addr)).is_ok());
            assert_eq!(throttle.record_failure("anna", Some(addr)), None);
        }
        let wait = throttle
            .record_failure("Anna", Some(addr))
            .expect("blocked now");
        assert!(wait > Duration::from_secs(30), "{wait:?}");
        assert!(throttle.check("ANNA ", None).is_err());
        assert!(throttle.check("erik", Some(addr)).is_ok());
    }

    #[test]
    fn an_address_is_blocked_across_usernames() {
        let throttle = LoginThrottle::new(100, Duration::from_secs(1), 4, Duration::from_secs(60));
        let addr: IpAddr = [10, 0, 0, 2].into();
        for n in 0..4 {
            assert_eq!(
                throttle.record_failure(&format!("user{n}"), Some(addr)),
                None
            );
        }
        assert!(throttle.record_failure("user9", Some(addr)).is_some());
        assert!(throttle.check("someone-else", Some(addr)).is_err());
        assert!(throttle
            .check("someone-else", Some([10, 0, 0, 3].into()))
            .is_ok());
    }

    #[test]
    fn checking_counts_nothing() {
        let throttle = LoginThrottle::new(1, Duration::from_secs(60), 1, Duration::from_secs(60));
        for _ in 0..100 {
            assert!(throttle.check("busy", None).is_ok());
        }
    }
}
