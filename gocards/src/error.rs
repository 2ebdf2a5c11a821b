//! Every way a GO Cards call can fail, with the sentence an operator reads.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The wait assumed when a `429` has no readable `Retry-After`.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// The longest wait taken from `Retry-After`, so a bad header cannot stall the sync for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The error of every GO Cards call. The card is never changed by a failed call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GoCardsError {
    /// `400`: GO Cards refused the request.
    #[error("GO Cards answered 400 bad request")]
    BadRequest,
    /// Another client error (405, 413, 422, …), often from a proxy in front of GO Cards:
    /// refused, but not a verdict of GO Cards on the request itself.
    #[error("GO Cards answered {status}")]
    ClientError { status: u16 },
    /// Wrong client id or secret, or `401` again after the one token refresh and retry.
    #[error("GO Cards rejected the client credentials or the token")]
    Unauthorized,
    /// `403`: the organisation id is wrong or not allowed.
    #[error("GO Cards answered 403 forbidden for this organisation")]
    Forbidden,
    /// `404`: unknown card, or one GO Cards has anonymised.
    #[error("GO Cards answered 404 not found")]
    NotFound,
    /// `409`: the order already exists.
    #[error("GO Cards answered 409 conflict")]
    Conflict,
    /// `429`, with the wait from `Retry-After`.
    #[error("GO Cards answered 429 rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// `5xx`, or a status this client has no meaning for (such as a redirect).
    #[error("GO Cards answered {status}")]
    ServerError { status: u16 },
    /// No complete reply within the configured timeout.
    #[error("GO Cards did not answer within the timeout")]
    Timeout,
    /// Connection refused, DNS failure, TLS failure, or the connection closed mid-reply.
    #[error("GO Cards could not be reached")]
    Unreachable,
    /// The reply was not JSON of the expected shape.
    #[error("GO Cards sent a reply that is not the expected JSON")]
    Malformed,
    /// The reply was larger than the client accepts.
    #[error("GO Cards sent a reply larger than the limit")]
    Oversized,
    /// The connection settings cannot work (such as an empty client id).
    #[error("invalid GO Cards settings: {0}")]
    InvalidConfig(String),
}

impl GoCardsError {
    /// The sentence an operator reads (product.md, "Outcome messages").
    pub fn user_message(&self) -> String {
        match self {
            GoCardsError::BadRequest => {
                "GO Cards refused the request as invalid. The card is unchanged.".to_owned()
            }
            GoCardsError::ClientError { status } => format!(
                "GO Cards refused the request (error {status}). The card is unchanged; \
                 if it keeps happening, ask an admin to check the GO Cards connection."
            ),
            GoCardsError::Unauthorized => "GO Cards rejected the client credentials. \
                 Ask an admin to check the GO Cards connection."
                .to_owned(),
            GoCardsError::Forbidden => "GO Cards refused access for this organisation.".to_owned(),
            GoCardsError::NotFound => "Card not found in GO Cards.".to_owned(),
            GoCardsError::Conflict => {
                "GO Cards reports a conflict: the order already exists.".to_owned()
            }
            GoCardsError::RateLimited { retry_after } => format!(
                "GO Cards is busy; try again in {} s.",
                whole_seconds_at_least_one(*retry_after)
            ),
            GoCardsError::ServerError { status } => format!(
                "GO Cards is unavailable (error {status}). The card is unchanged; try again later."
            ),
            GoCardsError::Timeout => {
                "GO Cards did not answer in time. The card is unchanged; try again later."
                    .to_owned()
            }
            GoCardsError::Unreachable => {
                "Could not reach GO Cards. The card is unchanged; try again later.".to_owned()
            }
            GoCardsError::Malformed | GoCardsError::Oversized => {
                "GO Cards sent a reply that could not be read. The card is unchanged.".to_owned()
            }
            GoCardsError::InvalidConfig(problem) => format!(
                "The GO Cards connection settings are invalid: {problem}. \
                 Ask an admin to check the GO Cards connection."
            ),
        }
    }

    /// Whether trying the same call later may succeed: the "GO Cards fault" row of the
    /// contract's error table, plus `429`. The sync backs off and retries these.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            GoCardsError::RateLimited { .. }
                | GoCardsError::ServerError { .. }
                | GoCardsError::Timeout
                | GoCardsError::Unreachable
                | GoCardsError::Malformed
                | GoCardsError::Oversized
        )
    }

    /// Whether this is how a GO Cards outage looks, rather than a problem of one card: no
    /// connection, no answer in time, or a 5xx (or other unexpected status). The sync stops
    /// polling after a run of these (`SYNC_MAX_CONSECUTIVE_FAILURES`). A `429`, a bad reply,
    /// or a 4xx is an answer, and does not count.
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            GoCardsError::Unreachable | GoCardsError::Timeout | GoCardsError::ServerError { .. }
        )
    }

    /// The error for a non-success status of an `/api/*` reply. `401` is handled by the
    /// caller (refresh and retry once) but maps to `Unauthorized` here too. Client errors
    /// without a row of their own count as `BadRequest`; redirects (not followed) and
    /// anything else unexpected keep their code as `ServerError`.
    pub(crate) fn from_status(status: u16, retry_after: Option<&str>) -> GoCardsError {
        match status {
            401 => GoCardsError::Unauthorized,
            403 => GoCardsError::Forbidden,
            404 | 410 => GoCardsError::NotFound,
            408 => GoCardsError::Timeout,
            409 => GoCardsError::Conflict,
            429 => GoCardsError::RateLimited {
                retry_after: parse_retry_after(retry_after, Utc::now()),
            },
            400 => GoCardsError::BadRequest,
            402 | 405..=407 | 411..=428 | 430..=499 => GoCardsError::ClientError { status },
            _ => GoCardsError::ServerError { status },
        }
    }
}

/// `Retry-After` as delay-seconds (RFC 9110), a decimal number of seconds, or an HTTP date.
/// Missing or unreadable gives [`DEFAULT_RETRY_AFTER`]; the result is capped at
/// [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(header: Option<&str>, now: DateTime<Utc>) -> Duration {
    let Some(raw) = header.map(str::trim).filter(|raw| !raw.is_empty()) else {
        return DEFAULT_RETRY_AFTER;
    };
    let parsed = if let Ok(seconds) = raw.parse::<u64>() {
        Some(Duration::from_secs(seconds))
    } else if let Some(seconds) = raw
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
    {
        Some(Duration::from_secs_f64(
            seconds.min(MAX_RETRY_AFTER.as_secs_f64()),
        ))
    } else {
        DateTime::parse_from_rfc2822(raw).ok().map(|at| {
            (at.with_timezone(&Utc) - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
        })
    };
    parsed.map_or(DEFAULT_RETRY_AFTER, |wait| wait.min(MAX_RETRY_AFTER))
}

/// Seconds for a person: rounded up, and at least 1.
fn whole_seconds_at_least_one(wait: Duration) -> u64 {
    let whole = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    whole.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_the_product_table() {
        let cases = [
            (
                GoCardsError::Timeout,
                "GO Cards did not answer in time. The card is unchanged; try again later.",
            ),
            (
                GoCardsError::ServerError { status: 503 },
                "GO Cards is unavailable (error 503). The card is unchanged; try again later.",
            ),
            (
                GoCardsError::Unreachable,
                "Could not reach GO Cards. The card is unchanged; try again later.",
            ),
            (
                GoCardsError::Malformed,
                "GO Cards sent a reply that could not be read. The card is unchanged.",
            ),
            (
                GoCardsError::Oversized,
                "GO Cards sent a reply that could not be read. The card is unchanged.",
            ),
            (GoCardsError::NotFound, "Card not found in GO Cards."),
            (
                GoCardsError::Forbidden,
                "GO Cards refused access for this organisation.",
            ),
            (
                GoCardsError::RateLimited {
                    retry_after: Duration::from_secs(7),
                },
                "GO Cards is busy; try again in 7 s.",
            ),
            (
                GoCardsError::RateLimited {
                    retry_after: Duration::from_millis(7_001),
                },
                "GO Cards is busy; try again in 8 s.",
            ),
            (
                GoCardsError::RateLimited {
                    retry_after: Duration::ZERO,
                },
                "GO Cards is busy; try again in 1 s.",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.user_message(), text, "{error:?}");
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T07:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(parse_retry_after(Some("7"), now), Duration::from_secs(7));
        assert_eq!(parse_retry_after(Some(" 7 "), now), Duration::from_secs(7));
        assert_eq!(
            parse_retry_after(Some("1.5"), now),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_retry_after(None, now), DEFAULT_RETRY_AFTER);
        assert_eq!(parse_retry_after(Some("soon"), now), DEFAULT_RETRY_AFTER);
        assert_eq!(parse_retry_after(Some("-3"), now), DEFAULT_RETRY_AFTER);
        assert_eq!(parse_retry_after(Some("NaN"), now), DEFAULT_RETRY_AFTER);
        assert_eq!(
            parse_retry_after(Some("99999999999999"), now),
            MAX_RETRY_AFTER
        );
        assert_eq!(
            parse_retry_after(Some("Sat, 21 Nov 2026 07:00:30 GMT"), now),
            Duration::from_secs(30)
        );
        assert_eq!(
            parse_retry_after(Some("Sat, 21 Nov 2026 06:00:00 GMT"), now),
            Duration::ZERO
        );
    }

    #[test]
    fn statuses_map_to_the_error_table() {
        assert_eq!(
            GoCardsError::from_status(400, None),
            GoCardsError::BadRequest
        );
        assert_eq!(
            GoCardsError::from_status(401, None),
            GoCardsError::Unauthorized
        );
        assert_eq!(
            GoCardsError::from_status(403, None),
            GoCardsError::Forbidden
        );
        assert_eq!(GoCardsError::from_status(404, None), GoCardsError::NotFound);
        assert_eq!(GoCardsError::from_status(409, None), GoCardsError::Conflict);
        assert_eq!(
            GoCardsError::from_status(429, Some("7")),
            GoCardsError::RateLimited {
                retry_after: Duration::from_secs(7)
            }
        );
        assert_eq!(
            GoCardsError::from_status(503, None),
            GoCardsError::ServerError { status: 503 }
        );
        assert_eq!(
            GoCardsError::from_status(302, None),
            GoCardsError::ServerError { status: 302 }
        );
        assert_eq!(
            GoCardsError::from_status(418, None),
            GoCardsError::ClientError { status: 418 }
        );
    }

    #[test]
    fn only_gocards_faults_are_retryable() {
        assert!(GoCardsError::Timeout.is_retryable());
        assert!(GoCardsError::ServerError { status: 500 }.is_retryable());
        assert!(GoCardsError::Oversized.is_retryable());
        assert!(!GoCardsError::NotFound.is_retryable());
        assert!(!GoCardsError::Unauthorized.is_retryable());
        assert!(!GoCardsError::BadRequest.is_retryable());
    }
}
