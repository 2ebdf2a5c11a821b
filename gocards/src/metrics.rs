//! What the client records for the metrics endpoint (operations.md): every call to GO Cards
//! by endpoint and outcome, and how long it took. Without an installed recorder (tests, the
//! CLI) the `metrics` macros do nothing.

use std::time::Duration;

use crate::GoCardsError;

/// Calls by `endpoint` and `outcome` (`ok`, `4xx`, `5xx`, `timeout`, `unreachable`,
/// `malformed`).
pub const CALLS: &str = "carddesk_gocards_calls_total";
/// Seconds from sending a call to reading its reply, by `endpoint`.
pub const CALL_SECONDS: &str = "carddesk_gocards_call_duration_seconds";

/// The endpoint label of a call: `token`, `card`, `changed_cards`, `order`, `articles` or
/// `cancel`.
pub(crate) fn endpoint_label(what: &'static str) -> &'static str {
    match what {
        "changed cards" => "changed_cards",
        other => other,
    }
}

/// The outcome label of a call that ended in `failure`.
pub fn outcome_of(failure: &GoCardsError) -> &'static str {
    match failure {
        GoCardsError::Timeout => "timeout",
        GoCardsError::Unreachable | GoCardsError::InvalidConfig(_) => "unreachable",
        GoCardsError::Malformed | GoCardsError::Oversized => "malformed",
        GoCardsError::ServerError { .. } => "5xx",
        GoCardsError::BadRequest
        | GoCardsError::ClientError { .. }
        | GoCardsError::Unauthorized
        | GoCardsError::Forbidden
        | GoCardsError::NotFound
        | GoCardsError::Conflict
        | GoCardsError::RateLimited { .. } => "4xx",
    }
}

/// Counts one call to `endpoint` and its duration.
pub(crate) fn record(endpoint: &'static str, outcome: &'static str, took: Duration) {
    metrics::counter!(CALLS, "endpoint" => endpoint, "outcome" => outcome).increment(1);
    metrics::histogram!(CALL_SECONDS, "endpoint" => endpoint).record(took.as_secs_f64());
}

/// [`record`] for a call's result.
pub(crate) fn record_result<T>(
    endpoint: &'static str,
    result: &Result<T, GoCardsError>,
    took: Duration,
) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(failure) => outcome_of(failure),
    };
    record(endpoint, outcome, took);
}
