//! Injected faults for `/api/*` (`POST /sim/faults`): what is set, and the replies they make.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::routes::ApiError;

/// The size of the `oversized` body.
pub const OVERSIZED_BODY_BYTES: usize = 32 * 1024 * 1024;
/// How long `timeout` waits when `latencyMs` is 0.
const DEFAULT_TIMEOUT_WAIT: Duration = Duration::from_secs(30);
static OVERSIZED_CHUNK: [u8; 64 * 1024] = [b' '; 64 * 1024];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    #[default]
    None,
    /// Wait `latencyMs`, then answer normally.
    Latency,
    Error500,
    /// `429` with `Retry-After: retryAfter`.
    Error429,
    Error404,
    Error403,
    /// Serve the call (an order is placed), then wait `latencyMs` (30 s when 0) before
    /// answering: longer than the client's timeout, so the reply is lost.
    Timeout,
    /// `200` with a body that is not JSON.
    Malformed,
    /// `200` with a 32 MiB body, streamed.
    Oversized,
    /// Serve the call (an order is placed), then close the connection without a complete
    /// reply.
    Drop,
    /// The next call gets `401` and every issued token stops working; then back to `none`.
    ExpireTokenOnce,
}

/// The body of `POST /sim/faults`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    pub mode: FaultMode,
    /// Only calls for this card (`/api/card/{cardId}`); `None` means every `/api/*` call.
    #[serde(default)]
    pub card_id: Option<String>,
    /// The chance, 0 to 1, that a matching call gets the fault.
    #[serde(default = "always")]
    pub probability: f64,
    #[serde(default)]
    pub latency_ms: u64,
    /// Seconds, for `error429`'s `Retry-After`.
    #[serde(default = "default_retry_after")]
    pub retry_after: u64,
    /// Only calls whose path starts with this, such as `/api/order`; `None` means any.
    #[serde(default)]
    pub path: Option<String>,
    /// Only the next this many matching calls; then the fault is spent (back to `none`).
    /// `None` means until replaced.
    #[serde(default)]
    pub times: Option<u32>,
}

fn always() -> f64 {
    1.0
}

fn default_retry_after() -> u64 {
    5
}

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec::new(FaultMode::None)
    }
}

impl FaultSpec {
    /// `mode` for every `/api/*` call, always.
    pub fn new(mode: FaultMode) -> Self {
        FaultSpec {
            mode,
            card_id: None,
            probability: always(),
            latency_ms: 0,
            retry_after: default_retry_after(),
            path: None,
            times: None,
        }
    }

    /// Only calls whose path starts with `prefix`, such as `/api/order`.
    pub fn on_path(mut self, prefix: impl Into<String>) -> Self {
        self.path = Some(prefix.into());
        self
    }

    /// Only the next `count` matching calls.
    pub fn times(mut self, count: u32) -> Self {
        self.times = Some(count);
        self
    }

    pub fn for_card(mut self, card_id: impl Into<String>) -> Self {
        self.card_id = Some(card_id.into());
        self
    }

    pub fn with_latency_ms(mut self, latency_ms: u64) -> Self {
        self.latency_ms = latency_ms;
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = seconds;
        self
    }

    pub fn with_probability(mut self, probability: f64) -> Self {
        self.probability = probability;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.probability) {
            return Err("probability must be a number from 0 to 1".to_owned());
        }
        if self.times == Some(0) {
            return Err("times must be at least 1 (or null for every call)".to_owned());
        }
        if let Some(path) = &self.path {
            if !path.starts_with("/api") {
                return Err("path must start with /api, such as /api/order".to_owned());
            }
        }
        Ok(())
    }

    /// Whether a call to `path` for `card_id` (if it names one) gets the fault this time.
    pub(crate) fn strikes(&self, card_id: Option<&str>, path: &str) -> bool {
        if self.mode == FaultMode::None || self.times == Some(0) {
            return false;
        }
        if let Some(prefix) = &self.path {
            if !path.starts_with(prefix.as_str()) {
                return false;
            }
        }
        if let Some(only) = &self.card_id {
            if card_id != Some(only.as_str()) {
                return false;
            }
        }
        self.probability >= 1.0 || rand::random::<f64>() < self.probability
    }
}

/// What the gate does with a struck call.
pub(crate) enum FaultEffect {
    /// Wait, then serve the call normally.
    Delay(Duration),
    /// Serve the call, then wait before answering.
    DelayReply(Duration),
    /// Serve the call, then close the connection instead of answering.
    DropReply,
    /// Answer this instead of serving the call.
    Reply(Response),
    /// Answer `401` after revoking every token.
    ExpireTokens,
}

pub(crate) fn effect(fault: &FaultSpec) -> Option<FaultEffect> {
    let latency = Duration::from_millis(fault.latency_ms);
    let reply = match fault.mode {
        FaultMode::None => return None,
        FaultMode::Latency => return Some(FaultEffect::Delay(latency)),
        FaultMode::Timeout => {
            let wait = if latency.is_zero() {
                DEFAULT_TIMEOUT_WAIT
            } else {
                latency
            };
            return Some(FaultEffect::DelayReply(wait));
        }
        FaultMode::Drop => return Some(FaultEffect::DropReply),
        FaultMode::ExpireTokenOnce => return Some(FaultEffect::ExpireTokens),
        FaultMode::Error500 => ApiError::internal("injected fault: error500").into_response(),
        FaultMode::Error404 => ApiError::not_found("injected fault: error404").into_response(),
        FaultMode::Error403 => ApiError::forbidden("injected fault: error403").into_response(),
        FaultMode::Error429 => {
            let mut reply = ApiError::rate_limited("injected fault: error429").into_response();
            reply.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(fault.retry_after),
            );
            reply
        }
        FaultMode::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"cardId":"CA0000000000-BROKEN00","status":"ORDE"#,
        )
            .into_response(),
        FaultMode::Oversized => oversized_reply(),
    };
    Some(FaultEffect::Reply(reply))
}

/// 32 MiB of JSON-typed padding, produced chunk by chunk as the client reads (no
/// `Content-Length`, so the client has to count). Stops when the client hangs up.
fn oversized_reply() -> Response {
    let chunks = OVERSIZED_BODY_BYTES / OVERSIZED_CHUNK.len();
    let opening = std::iter::once(Ok::<_, Infallible>(Bytes::from_static(b"[\"")));
    let padding = (0..chunks).map(|_| Ok(Bytes::from_static(&OVERSIZED_CHUNK)));
    let body = Body::from_stream(futures::stream::iter(opening.chain(padding)));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// A reply whose body fails at once: the server closes the connection without a complete
/// reply, like a proxy that drops it.
pub(crate) fn dropped_reply() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected fault: drop",
        ))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(failing),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_have_the_contract_names() {
        for (mode, name) in [
            (FaultMode::None, "none"),
            (FaultMode::Latency, "latency"),
            (FaultMode::Error500, "error500"),
            (FaultMode::Error429, "error429"),
            (FaultMode::Error404, "error404"),
            (FaultMode::Error403, "error403"),
            (FaultMode::Timeout, "timeout"),
            (FaultMode::Malformed, "malformed"),
            (FaultMode::Oversized, "oversized"),
            (FaultMode::Drop, "drop"),
            (FaultMode::ExpireTokenOnce, "expire_token_once"),
        ] {
            assert_eq!(
                serde_json::to_value(mode).ok(),
                Some(serde_json::json!(name))
            );
        }
    }

    #[test]
    fn the_documented_body_is_read_with_defaults() {
        let spec: Result<FaultSpec, _> = serde_json::from_str(
            r#"{"mode": "error429", "cardId": null, "probability": 1.0, "latencyMs": 0, "retryAfter": 7}"#,
        );
        assert_eq!(
            spec.ok(),
            Some(FaultSpec::new(FaultMode::Error429).with_retry_after(7))
        );
        let short: Result<FaultSpec, _> = serde_json::from_str(r#"{"mode": "drop"}"#);
        assert_eq!(short.ok(), Some(FaultSpec::new(FaultMode::Drop)));
        assert!(serde_json::from_str::<FaultSpec>(r#"{"mode": "explode"}"#).is_err());
        assert!(serde_json::from_str::<FaultSpec>(r#"{"mode": "drop", "latency_ms": 5}"#).is_err());
    }

    #[test]
    fn card_filter_and_probability() {
        let one_card = FaultSpec::new(FaultMode::Error500).for_card("A");
        assert!(one_card.strikes(Some("A"), "/api/card/A"));
        assert!(!one_card.strikes(Some("B"), "/api/card/B"));
        assert!(!one_card.strikes(None, "/api/cards"));
        assert!(!FaultSpec::new(FaultMode::Error500)
            .with_probability(0.0)
            .strikes(None, "/api/cards"));
        assert!(FaultSpec::new(FaultMode::Error500)
            .with_probability(1.5)
            .validate()
            .is_err());
        assert!(FaultSpec::new(FaultMode::Error500)
            .with_probability(f64::NAN)
            .validate()
            .is_err());
    }

    #[test]
    fn path_filter_and_times() {
        let order = FaultSpec::new(FaultMode::Timeout).on_path("/api/order");
        assert!(order.strikes(None, "/api/order"));
        assert!(!order.strikes(None, "/api/cards"));
        assert!(!order.strikes(Some("A"), "/api/card/A"));
        assert!(!FaultSpec::new(FaultMode::Timeout)
            .times(1)
            .times(0)
            .strikes(None, "/api/order"));
        assert!(FaultSpec::new(FaultMode::Drop).times(0).validate().is_err());
        assert!(FaultSpec::new(FaultMode::Drop)
            .on_path("/sim/cards")
            .validate()
            .is_err());
        let read: Result<FaultSpec, _> =
            serde_json::from_str(r#"{"mode": "timeout", "path": "/api/order", "times": 1}"#);
        assert_eq!(
            read.ok(),
            Some(
                FaultSpec::new(FaultMode::Timeout)
                    .on_path("/api/order")
                    .times(1)
            )
        );
    }
}
