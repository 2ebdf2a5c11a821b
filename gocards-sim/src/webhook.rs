//! Signed webhook events, posted in the background.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use desk_core::domain::GoCardsStatus;
use gocards::CardInfo;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying `sha256=<hex HMAC-SHA256 of the raw body>`.
pub const SIGNATURE_HEADER: &str = "X-GoCards-Signature";
/// How long one delivery may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where events go, and the secret they are signed with.
#[derive(Clone)]
pub(crate) struct WebhookTarget {
    pub url: url::Url,
    pub secret: String,
}

impl WebhookTarget {
    /// An http(s) URL and a non-empty secret, or what is wrong with them.
    pub fn parse(url: &str, secret: String) -> Result<WebhookTarget, String> {
        let url =
            url::Url::parse(url.trim()).map_err(|error| format!("url is not a URL: {error}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("url must be http or https".to_owned());
        }
        if secret.is_empty() {
            return Err("secret must not be empty".to_owned());
        }
        Ok(WebhookTarget { url, secret })
    }
}

pub(crate) struct WebhookEmitter {
    http: Option<reqwest::Client>,
}

impl WebhookEmitter {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build();
        if let Err(error) = &http {
            tracing::warn!(%error, "GO Cards simulator cannot post webhooks");
        }
        WebhookEmitter { http: http.ok() }
    }

    /// Posts one event for `card` to `target` in a spawned task; failures are only logged.
    pub fn emit(&self, target: &WebhookTarget, card: &CardInfo) {
        let Some(http) = self.http.clone() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(card_id = %card.card_id, "no async runtime; webhook event not sent");
            return;
        };
        let envelope = serde_json::json!({
            "eventId": new_event_id(),
            "created": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "apiVersion": "2.0.0",
            "topic": topic_for(&card.status),
            "data": card,
        });
        let Ok(body) = serde_json::to_vec(&envelope) else {
            return;
        };
        let Some(signature) = webhook_signature(&body, &target.secret) else {
            return;
        };
        let url = target.url.clone();
        let card_id = card.card_id.clone();
        runtime.spawn(async move {
            let sent = http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, signature)
                .body(body)
                .send()
                .await;
            match sent {
                Ok(reply) if reply.status().is_success() => {
                    tracing::debug!(%card_id, status = reply.status().as_u16(), "webhook event delivered");
                }
                Ok(reply) => {
                    tracing::warn!(%card_id, status = reply.status().as_u16(), "webhook event refused");
                }
                Err(error) => tracing::warn!(%card_id, %error, "webhook event not delivered"),
            }
        });
    }
}

/// `sha256=<hex HMAC-SHA256(body, secret)>`, the value of [`SIGNATURE_HEADER`].
pub fn webhook_signature(body: &[u8], secret: &str) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(body);
    Some(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// The event topic for a status. `data.status` decides; the topic is informational.
/// Statuses without a topic of their own (ORDERED, unknown ones) use `CARD_STATUS_CHANGED`.
pub fn topic_for(status: &GoCardsStatus) -> &'static str {
    match status {
        GoCardsStatus::InProduction => "CARD_IN_PRODUCTION",
        GoCardsStatus::Produced => "CARD_PRODUCED",
        GoCardsStatus::Shipped | GoCardsStatus::Delivered => "CARD_SHIPPED",
        GoCardsStatus::Failed | GoCardsStatus::Cancelled => "CARD_FAILED",
        GoCardsStatus::Ordered | GoCardsStatus::Unrecognised(_) => "CARD_STATUS_CHANGED",
    }
}

/// Like `E2202040936-A41D6B65`: `E`, the minute (yyMMddHHmm), a dash, 8 random hex digits.
fn new_event_id() -> String {
    format!(
        "E{}-{}",
        Utc::now().format("%y%m%d%H%M"),
        hex::encode_upper(rand::random::<[u8; 4]>())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            webhook_signature(b"what do ya want for nothing?", "Jefe").as_deref(),
            Some("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn event_ids_follow_the_documented_shape() {
        let id = new_event_id();
        assert_eq!(id.len(), 20, "{id}");
        assert!(
            id.starts_with('E') && id.as_bytes().get(11) == Some(&b'-'),
            "{id}"
        );
    }
}
