//! Log-in throttling. Three rules, all decided before any password is hashed:
//!
//! - **Per user** (lock-out): a username may fail [`UserPolicy::free_failures`] times; after
//!   that each further try waits a delay that doubles from 2 s up to at most
//!   [`UserPolicy::max_delay`], and only one try at a time is let through. A try is counted
//!   when it starts and refunded when the password was right, so parallel guesses cannot get
//!   past the count. Forgotten after [`UserPolicy::forget_after`] without a failure.
//! - **Per address** (hash budget): an address may have [`AddressPolicy::burst`] passwords
//!   checked, refilled one per [`AddressPolicy::refill`]. Past it, a username that does not
//!   exist is answered at once with no hash (after the time a hash would take), while a real
//!   user's password is still checked: a correct password is never refused because of someone
//!   else's failures. IPv6 addresses are keyed by their /64.
//! - **Concurrency**: at most a few password checks run at once (argon2id takes 19 MiB each);
//!   a check that cannot start within [`CHECK_QUEUE_WAIT`] is answered "busy".
//!
//! Both maps are pruned by [`LoginThrottle::prune`], which the server calls every minute.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a log-in waits for a free password check before it is answered "busy".
pub const CHECK_QUEUE_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug)]
pub struct UserPolicy {
    pub free_failures: u32,
    pub max_delay: Duration,
    pub forget_after: Duration,
}

impl Default for UserPolicy {
    fn default() -> Self {
        UserPolicy {
            free_failures: 5,
            max_delay: Duration::from_secs(60),
            forget_after: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct AddressPolicy {
    pub burst: u32,
    pub refill: Duration,
}

impl Default for AddressPolicy {
    fn default() -> Self {
        AddressPolicy {
            burst: 20,
            refill: Duration::from_secs(6),
        }
    }
}

/// Per-username counts.
#[derive(Debug)]
struct UserFailures {
    failures: u32,
    in_flight: u32,
    not_before: Instant,
    last_failure: Instant,
}

pub struct LoginThrottle {
    user_policy: UserPolicy,
    users: Mutex<HashMap<String, UserFailures>>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    checks: Arc<Semaphore>,
}

/// Why a log-in is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("too many failed attempts for this user; retry in {0:?}")]
    Throttled(Duration),
    #[error("too many password checks at once")]
    Busy,
}

/// What the address's budget allows for this attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressBudget {
    /// Check the password, whoever the user is.
    Within,
    /// Check it only if the user exists.
    Spent,
}

/// A started try for one username: report how it ended with [`UserTry::finish`]. Dropped
/// without it (the request was cancelled, or no password was checked), it counts nothing.
pub struct UserTry<'a> {
    throttle: &'a LoginThrottle,
    key: String,
    done: bool,
}

impl UserTry<'_> {
    /// Records the result: a right password clears the user's failures.
    pub fn finish(mut self, password_was_right: bool) {
        self.done = true;
        let now = Instant::now();
        let policy = self.throttle.user_policy;
        let mut users = self.throttle.users();
        if let Some(entry) = users.get_mut(&self.key) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            if password_was_right {
                entry.failures = 0;
                entry.not_before = now;
            } else {
                entry.failures = entry.failures.saturating_add(1);
                entry.last_failure = now;
                if entry.failures >= policy.free_failures {
                    let beyond = entry.failures - policy.free_failures;
                    entry.not_before = now + delay_after(beyond, policy.max_delay);
                }
            }
        }
    }
}

impl Drop for UserTry<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Some(entry) = self.throttle.users().get_mut(&self.key) {
                entry.in_flight = entry.in_flight.saturating_sub(1);
            }
        }
    }
}

/// 2 s after the first failure past the free ones, then 4, 8, … up to `max`.
fn delay_after(beyond: u32, max: Duration) -> Duration {
    let secs = 2u64.saturating_pow(beyond.saturating_add(1).min(32));
    Duration::from_secs(secs).min(max)
}

fn quota(burst: u32, refill: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(refill)
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(burst)
}

/// One password check per core, at least two: argon2id is all CPU, so more at once would
/// not be faster, only hold more 19 MiB blocks (on two cores, 2 × 19 MiB at most).
fn default_checks() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores.clamp(2, 16)
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(
            UserPolicy::default(),
            AddressPolicy::default(),
            default_checks(),
        )
    }
}

impl LoginThrottle {
    pub fn new(user_policy: UserPolicy, address_policy: AddressPolicy, checks: usize) -> Self {
        LoginThrottle {
            user_policy,
            users: Mutex::new(HashMap::new()),
            addresses: RateLimiter::keyed(quota(address_policy.burst, address_policy.refill)),
            checks: Arc::new(Semaphore::new(checks.max(1))),
        }
    }

    /// Starts a try for `username` (already parsed as a username), or refuses it while the
    /// user is locked out.
    pub fn start_user_try(&self, username: &str) -> Result<UserTry<'_>, Refusal> {
        let key = normalise(username);
        let now = Instant::now();
        let policy = self.user_policy;
        let mut users = self.users();
        let entry = users.entry(key.clone()).or_insert(UserFailures {
            failures: 0,
            in_flight: 0,
            not_before: now,
            last_failure: now,
        });
        if entry.in_flight == 0 && now.duration_since(entry.last_failure) >= policy.forget_after {
            entry.failures = 0;
        }
        let free = entry.failures + entry.in_flight < policy.free_failures;
        let after_delay = entry.in_flight == 0 && now >= entry.not_before;
        if !(free || after_delay) {
            let wait = entry
                .not_before
                .saturating_duration_since(now)
                .max(Duration::from_secs(1));
            return Err(Refusal::Throttled(wait));
        }
        entry.in_flight += 1;
        Ok(UserTry {
            throttle: self,
            key,
            done: false,
        })
    }

    /// Spends one password check from the address's budget, if any is left.
    pub fn address_budget(&self, address: Option<IpAddr>) -> AddressBudget {
        match address.map(address_key) {
            Some(key) if self.addresses.check_key(&key).is_err() => AddressBudget::Spent,
            _ => AddressBudget::Within,
        }
    }

    /// Waits (at most [`CHECK_QUEUE_WAIT`]) for one of the few concurrent password checks.
    /// The permit is owned, so that it can go with the check onto its thread and is not
    /// given back while a hash abandoned by its request still runs.
    pub async fn check_permit(&self) -> Result<OwnedSemaphorePermit, Refusal> {
        let checks = self.checks.clone();
        match tokio::time::timeout(CHECK_QUEUE_WAIT, checks.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Refusal::Busy),
        }
    }

    /// How many password checks could start now (for tests and metrics).
    pub fn free_checks(&self) -> usize {
        self.checks.available_permits()
    }

    /// Forgets users with nothing to remember and addresses whose budget is full again.
    pub fn prune(&self) {
        let now = Instant::now();
        let forget = self.user_policy.forget_after;
        self.users().retain(|_, entry| {
            entry.in_flight > 0
                || now < entry.not_before
                || (entry.failures > 0 && now.duration_since(entry.last_failure) < forget)
        });
        self.addresses.retain_recent();
        self.addresses.shrink_to_fit();
    }

    /// How many usernames and addresses are remembered (for tests and metrics).
    pub fn remembered(&self) -> (usize, usize) {
        (self.users().len(), self.addresses.len())
    }

    fn users(&self) -> MutexGuard<'_, HashMap<String, UserFailures>> {
        match self.users.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Usernames are matched case-insensitively, so `Admin` and `admin` share a count.
fn normalise(username: &str) -> String {
    username.trim().to_lowercase()
}

/// An IPv4 address is its own key; an IPv6 address is keyed by its /64, which one client
/// usually holds whole.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(free: u32, burst: u32) -> LoginThrottle {
        LoginThrottle::new(
            UserPolicy {
                free_failures: free,
                ..UserPolicy::default()
            },
            AddressPolicy {
                burst,
                refill: Duration::from_secs(60),
            },
            4,
        )
    }

    #[test]
    fn a_user_is_locked_out_after_the_free_failures_and_others_are_not() {
        let throttle = throttle(3, 100);
        for _ in 0..3 {
            let attempt = throttle.start_user_try("anna");
            assert!(attempt.is_ok());
            if let Ok(attempt) = attempt {
                attempt.finish(false);
            }
        }
        match throttle.start_user_try("ANNA ") {
            Err(Refusal::Throttled(wait)) => assert!(wait >= Duration::from_secs(1), "{wait:?}"),
            other => panic!("expected a lock-out, got {:?}", other.map(|_| ())),
        }
        assert!(throttle.start_user_try("erik").is_ok());
    }

    #[test]
    fn parallel_tries_cannot_get_past_the_count() {
        let throttle = throttle(5, 100);
        let started: Vec<_> = (0..60)
            .filter_map(|_| throttle.start_user_try("admin").ok())
            .collect();
        assert_eq!(started.len(), 5);
    }

    #[test]
    fn a_right_password_refunds_its_try_and_clears_the_failures() {
        let throttle = throttle(2, 100);
        if let Ok(attempt) = throttle.start_user_try("anna") {
            attempt.finish(false);
        }
        if let Ok(attempt) = throttle.start_user_try("anna") {
            attempt.finish(true);
        }
        for _ in 0..2 {
            if let Ok(attempt) = throttle.start_user_try("anna") {
                attempt.finish(false);
            }
        }
        assert!(throttle.start_user_try("anna").is_err());
    }

    #[test]
    fn a_cancelled_try_counts_nothing() {
        let throttle = throttle(1, 100);
        for _ in 0..10 {
            drop(throttle.start_user_try("busy"));
        }
        assert!(throttle.start_user_try("busy").is_ok());
    }

    #[test]
    fn the_delay_grows_to_the_cap() {
        let max = Duration::from_secs(60);
        let delays: Vec<u64> = (0..8).map(|n| delay_after(n, max).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(delay_after(u32::MAX, max), max);
    }

    #[test]
    fn an_address_budget_is_spent_per_address_and_per_ipv6_64() {
        let throttle = throttle(5, 3);
        let here: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..3 {
            assert_eq!(throttle.address_budget(Some(here)), AddressBudget::Within);
        }
        assert_eq!(throttle.address_budget(Some(here)), AddressBudget::Spent);
        assert_eq!(
            throttle.address_budget(Some([10, 0, 0, 3].into())),
            AddressBudget::Within
        );
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap_or(here);
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap_or(here);
        for _ in 0..3 {
            assert_eq!(throttle.address_budget(Some(a)), AddressBudget::Within);
        }
        assert_eq!(throttle.address_budget(Some(b)), AddressBudget::Spent);
        assert_eq!(throttle.address_budget(None), AddressBudget::Within);
    }

    #[test]
    fn pruning_forgets_what_no_longer_matters() {
        let throttle = LoginThrottle::new(
            UserPolicy {
                free_failures: 5,
                max_delay: Duration::from_secs(60),
                forget_after: Duration::ZERO,
            },
            AddressPolicy {
                burst: 5,
                refill: Duration::from_millis(1),
            },
            1,
        );
        for n in 0..100 {
            if let Ok(attempt) = throttle.start_user_try(&format!("user{n}")) {
                attempt.finish(false);
            }
            throttle.address_budget(Some([10, 0, 1, n].into()));
        }
        assert_eq!(throttle.remembered(), (100, 100));
        std::thread::sleep(Duration::from_millis(20));
        throttle.prune();
        assert_eq!(throttle.remembered(), (0, 0));
    }

    #[tokio::test]
    async fn checks_beyond_the_permits_wait_then_give_up() {
        let throttle = throttle(5, 5);
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(throttle.check_permit().await);
        }
        assert!(held.iter().all(Result::is_ok));
        tokio::time::pause();
        assert_eq!(throttle.check_permit().await.err(), Some(Refusal::Busy));
    }
}
