//! Reading replies safely: transport errors, the body-size cap, best-effort error bodies.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde::Deserialize;

use super::GoCardsError;

/// The largest reply body the client reads.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The most read of an error body, which only serves the log.
const MAX_ERROR_BODY_BYTES: usize = 16 * 1024;
/// How long the client waits for an error body before it gives up on it.
const ERROR_BODY_WAIT: Duration = Duration::from_secs(1);

/// A reqwest failure as one of ours: its timeout, or GO Cards not reachable.
pub(crate) fn transport_error(error: &reqwest::Error) -> GoCardsError {
    if error.is_timeout() {
        GoCardsError::Timeout
    } else if error.is_builder() {
        GoCardsError::InvalidConfig("a request could not be built from the settings".to_owned())
    } else {
        // Connection refused, DNS, TLS, or the connection closed mid-reply.
        GoCardsError::Unreachable
    }
}

/// Reads the whole body, refusing more than `cap` bytes: first by `Content-Length`, then by
/// counting, so a huge or endless body is dropped after `cap` bytes.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Bytes, GoCardsError> {
    let declared = response.content_length();
    if declared.is_some_and(|length| length > cap as u64) {
        return Err(GoCardsError::Oversized);
    }
    let expected = declared.map_or(0, |length| length as usize);
    let mut body = BytesMut::with_capacity(expected.min(cap));
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(&e))? {
        if body.len() + chunk.len() > cap {
            return Err(GoCardsError::Oversized);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The error body of the contract, every field optional: a proxy can answer with anything.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// The card's status, in the `409` of `POST /api/card/{cardId}/cancel`. Any JSON, so a
    /// number here does not make the rest unreadable.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

impl ErrorBody {
    /// Reads an error reply's body for the log, if it comes quickly and is the contract's JSON.
    pub async fn read(response: reqwest::Response) -> ErrorBody {
        let read =
            tokio::time::timeout(ERROR_BODY_WAIT, read_capped(response, MAX_ERROR_BODY_BYTES))
                .await;
        match read {
            Ok(Ok(bytes)) => serde_json::from_slice(&bytes).unwrap_or_default(),
            _ => ErrorBody::default(),
        }
    }

    /// `status` when it is a non-empty string.
    pub fn card_status(&self) -> Option<desk_core::domain::GoCardsStatus> {
        self.status
            .as_ref()
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|status| !status.is_empty())
            .map(desk_core::domain::GoCardsStatus::parse)
    }

    /// The fields, shortened, for a log line.
    pub fn summary(&self) -> String {
        let short = |text: &Option<String>| -> String {
            text.as_deref().unwrap_or("-").chars().take(200).collect()
        };
        format!(
            "error={} correlationId={} message={}",
            short(&self.error),
            short(&self.correlation_id),
            short(&self.message)
        )
    }
}

/// Parses a JSON body; on failure logs only where and what kind, never the body.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> Result<T, GoCardsError> {
    serde_json::from_slice(body).map_err(|error| {
        tracing::warn!(
            what,
            kind = ?error.classify(),
            line = error.line(),
            column = error.column(),
            body_bytes = body.len(),
            "GO Cards reply is not the expected JSON"
        );
        GoCardsError::Malformed
    })
}
