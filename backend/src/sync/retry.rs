//! GO Cards calls made by the sync, retried: a `429` waits out its `Retry-After`; other
//! faults (5xx, timeout, unreachable, malformed) back off exponentially with jitter and a
//! cap (backon computes the delays). Errors that no retry can fix (404, 403, ...) return at once.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use gocards::GoCardsError;

/// How hard the sync tries one call before counting it as failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub attempts: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    fn delays(&self) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::new()
            .with_jitter()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.attempts.saturating_sub(1))
            .build()
    }
}

/// Runs `call` until it succeeds, fails for good, or the attempts run out.
pub async fn with_retries<T, F, Fut>(policy: RetryPolicy, mut call: F) -> Result<T, GoCardsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, GoCardsError>>,
{
    let mut delays = policy.delays();
    loop {
        let err = match call().await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        if !err.is_retryable() {
            return Err(err);
        }
        let Some(backoff) = delays.next() else {
            return Err(err);
        };
        let wait = match &err {
            GoCardsError::RateLimited { retry_after } => *retry_after,
            _ => backoff,
        };
        tracing::debug!(error = %err, wait_ms = wait.as_millis() as u64, "GO Cards call failed; retrying");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn quick(attempts: usize) -> RetryPolicy {
        RetryPolicy {
            attempts,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
        }
    }

    #[tokio::test]
    async fn a_fault_that_clears_is_retried_until_it_succeeds() {
        let calls = AtomicUsize::new(0);
        let result = with_retries(quick(4), || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(GoCardsError::ServerError { status: 503 })
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(result, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn attempts_are_bounded() {
        let calls = AtomicUsize::new(0);
        let result: Result<(), _> = with_retries(quick(3), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(GoCardsError::Timeout)
        })
        .await;
        assert_eq!(result, Err(GoCardsError::Timeout));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_not_found_is_not_retried() {
        let calls = AtomicUsize::new(0);
        let result: Result<(), _> = with_retries(quick(5), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(GoCardsError::NotFound)
        })
        .await;
        assert_eq!(result, Err(GoCardsError::NotFound));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_waits_out_its_retry_after() {
        let calls = AtomicUsize::new(0);
        let started = tokio::time::Instant::now();
        let result = with_retries(quick(2), || async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(GoCardsError::RateLimited {
                    retry_after: Duration::from_secs(7),
                })
            } else {
                Ok(())
            }
        })
        .await;
        assert_eq!(result, Ok(()));
        assert!(started.elapsed() >= Duration::from_secs(7));
    }
}
