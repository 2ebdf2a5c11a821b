//! The bearer-token cache: one token shared by every call, fetched by one caller at a time.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::GoCardsError;

/// The most a token is renewed ahead of its expiry.
const MAX_RENEW_EARLY: Duration = Duration::from_secs(30);

/// A token as the token endpoint gave it.
pub(crate) struct FetchedToken {
    pub access_token: SecretString,
    pub expires_in: Duration,
}

/// A token handed to a call. `generation` says which fetch produced it, so that a `401`
/// drops only that token, not a newer one another call already fetched.
#[derive(Clone)]
pub(crate) struct BearerToken {
    pub generation: u64,
    pub secret: SecretString,
}

struct CachedToken {
    token: BearerToken,
    renew_at: Instant,
}

#[derive(Default)]
struct TokenState {
    current: Option<CachedToken>,
    generation: u64,
    last_failure: Option<GoCardsError>,
}

/// Callers that find no valid token queue on the mutex; the first fetches, the rest reuse
/// its token, or its error if the fetch failed while they waited (so fifty waiting calls do
/// not try a dead token endpoint fifty times in a row).
#[derive(Default)]
pub(crate) struct TokenCache {
    state: Mutex<TokenState>,
    fetches_finished: AtomicU64,
}

impl TokenCache {
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<BearerToken, GoCardsError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FetchedToken, GoCardsError>>,
    {
        let fetches_before = self.fetches_finished.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        if let Some(cached) = &state.current {
            if Instant::now() < cached.renew_at {
                return Ok(cached.token.clone());
            }
        }
        if self.fetches_finished.load(Ordering::Acquire) != fetches_before {
            if let Some(failure) = &state.last_failure {
                return Err(failure.clone());
            }
        }
        let fetched = fetch().await;
        self.fetches_finished.fetch_add(1, Ordering::Release);
        match fetched {
            Ok(fetched) => {
                state.generation += 1;
                let token = BearerToken {
                    generation: state.generation,
                    secret: fetched.access_token,
                };
                state.current = Some(CachedToken {
                    token: token.clone(),
                    renew_at: Instant::now() + usable_for(fetched.expires_in),
                });
                state.last_failure = None;
                Ok(token)
            }
            Err(failure) => {
                state.current = None;
                state.last_failure = Some(failure.clone());
                Err(failure)
            }
        }
    }

    /// Drops the token of `generation` if it is still the cached one (after a `401`).
    pub async fn invalidate(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|cached| cached.token.generation == generation)
        {
            state.current = None;
        }
    }

    /// Forgets any token, so the next call fetches a fresh one.
    pub async fn clear(&self) {
        self.state.lock().await.current = None;
    }
}

/// How long a token is used: until 10% of its life, at most 30 s, before it expires.
fn usable_for(expires_in: Duration) -> Duration {
    expires_in.saturating_sub((expires_in / 10).min(MAX_RENEW_EARLY))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[test]
    fn renews_early() {
        assert_eq!(
            usable_for(Duration::from_secs(3600)),
            Duration::from_secs(3570)
        );
        assert_eq!(usable_for(Duration::from_secs(20)), Duration::from_secs(18));
        assert_eq!(usable_for(Duration::ZERO), Duration::ZERO);
    }

    fn token(value: &str, expires_in: Duration) -> FetchedToken {
        FetchedToken {
            access_token: SecretString::from(value.to_owned()),
            expires_in,
        }
    }

    #[tokio::test]
    async fn one_fetch_for_concurrent_callers_and_invalidate_by_generation() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(token("t1", Duration::from_secs(3600)))
                    })
                    .await
                    .map(|t| t.generation)
            }));
        }
        for task in tasks {
            assert!(matches!(task.await, Ok(Ok(1))));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        // A stale generation does not drop the current token; the current one does.
        cache.invalidate(0).await;
        let again = cache.get(|| async { Err(GoCardsError::Unreachable) }).await;
        assert_eq!(
            again
                .map(|t| t.secret.expose_secret().to_owned())
                .ok()
                .as_deref(),
            Some("t1")
        );
        cache.invalidate(1).await;
        let fresh = cache
            .get(|| async { Ok(token("t2", Duration::from_secs(60))) })
            .await;
        assert!(matches!(fresh, Ok(ref t) if t.generation == 2));
    }

    #[tokio::test]
    async fn waiters_share_a_failed_fetch() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err::<FetchedToken, _>(GoCardsError::Timeout)
                    })
                    .await
                    .err()
            }));
        }
        for task in tasks {
            assert!(matches!(task.await, Ok(Some(GoCardsError::Timeout))));
        }
        assert!(
            fetches.load(Ordering::SeqCst) < 10,
            "every waiter fetched again"
        );
    }
}
