//! Checking a log-in: the throttle's three rules (see [`crate::throttle`]) decide before
//! any password is hashed, then one of the few concurrent checks runs argon2id off the async
//! threads.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use desk_core::domain::{AccountError, Username};

use crate::auth::{self, DeskUser};
use crate::db::Db;
use crate::throttle::{AddressBudget, LoginThrottle, Refusal};

#[derive(Debug, thiserror::Error)]
pub enum LoginFailure {
    #[error(transparent)]
    BadUsername(#[from] AccountError),
    #[error("wrong username or password")]
    WrongCredentials,
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("database: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("password check task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// How long the last password check took, so that a name answered without a hash takes
/// about as long as one checked.
static LAST_CHECK_MICROS: AtomicU64 = AtomicU64::new(50_000);

/// Checks `username` and `password`; the user, if both are right and the user is enabled.
/// Counted in the log-in metrics by outcome.
pub async fn check(
    db: &Db,
    throttle: &LoginThrottle,
    username: &str,
    password: String,
    address: Option<IpAddr>,
) -> Result<DeskUser, LoginFailure> {
    use crate::metrics::LoginOutcome;
    let checked = check_once(db, throttle, username, password, address).await;
    crate::metrics::login(match &checked {
        Ok(_) => LoginOutcome::Ok,
        Err(LoginFailure::BadUsername(_) | LoginFailure::WrongCredentials) => LoginOutcome::Wrong,
        Err(LoginFailure::Refused(_)) => LoginOutcome::Throttled,
        Err(LoginFailure::Storage(_) | LoginFailure::Task(_)) => LoginOutcome::Error,
    });
    checked
}

async fn check_once(
    db: &Db,
    throttle: &LoginThrottle,
    username: &str,
    password: String,
    address: Option<IpAddr>,
) -> Result<DeskUser, LoginFailure> {
    let username = Username::parse(username)?;
    let attempt = throttle.start_user_try(username.as_str())?;
    let budget = throttle.address_budget(address);
    let row = db.user_by_name(username.as_str()).await?;
    if row.is_none() && budget == AddressBudget::Spent {
        // This address has had its share of password checks: names that do not exist get
        // no more (no hash, no memory), but the answer takes as long as a check.
        let micros = LAST_CHECK_MICROS.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_micros(micros)).await;
        attempt.finish(false);
        return Err(LoginFailure::WrongCredentials);
    }
    let permit = throttle.check_permit().await?;
    let started = Instant::now();
    let hash = row.as_ref().map(|r| r.password_hash.clone());
    // The check holds its permit until the hash is done, even when the request that asked
    // for it is dropped (a client that gives up must not free a slot while argon2id runs).
    let matches = tokio::spawn(async move {
        let matches = auth::verify_password(password, hash).await;
        drop(permit);
        matches
    })
    .await??;
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    LAST_CHECK_MICROS.store(micros, Ordering::Relaxed);
    let user = row
        .filter(|r| matches && r.enabled == 1)
        .and_then(auth::into_desk_user);
    attempt.finish(user.is_some());
    user.ok_or(LoginFailure::WrongCredentials)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::throttle::{AddressPolicy, UserPolicy};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_log_in_dropped_mid_check_keeps_its_permit_until_the_hash_is_done() {
        let path = std::env::temp_dir().join(format!("login-{}.db", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = Db::connect(&url, 2).await.expect("database");
        let throttle = LoginThrottle::new(UserPolicy::default(), AddressPolicy::default(), 1);
        // Drop the log-in as soon as its password check has started (argon2id then runs for
        // tens of milliseconds more).
        let mut log_in = Box::pin(check(&db, &throttle, "nobody", "wrong".into(), None));
        loop {
            tokio::select! {
                done = &mut log_in => panic!("the check ended before it was dropped: {done:?}"),
                () = tokio::time::sleep(Duration::from_millis(1)) => {
                    if throttle.free_checks() == 0 {
                        break;
                    }
                }
            }
        }
        drop(log_in);
        assert_eq!(throttle.free_checks(), 0, "the hash still runs");
        let waited = Instant::now();
        while throttle.free_checks() == 0 {
            assert!(
                waited.elapsed() < Duration::from_secs(10),
                "the permit never came back"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(db);
        let _ = std::fs::remove_file(&path);
    }
}
