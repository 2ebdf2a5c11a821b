//! GO Cards events at `POST /webhooks/gocards`: verify the signature, read the envelope,
//! refuse replays (by `eventId`, stored), and apply `data.status` through the same path as
//! the manual command and the sync, which never moves a card backwards.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;

use super::report::{apply_report, Applied, Report, ReportSource};
use crate::db::Db;
use desk_core::domain::{CardId, Outcome};
use desk_core::model::HistorySource;
use gocards::CardInfo;

/// The header with `sha256=<hex HMAC-SHA256 of the raw body>`.
pub const SIGNATURE_HEADER: &str = "x-gocards-signature";
/// Larger bodies are refused with 413 before they are read in full.
pub const MAX_WEBHOOK_BODY: usize = 256 * 1024;
const MAX_EVENT_ID: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("Webhooks are not set up on this server (GOCARDS_WEBHOOK_SECRET is unset).")]
    NotConfigured,
    #[error("The X-GoCards-Signature header is missing or does not match the body.")]
    BadSignature,
    #[error("The body is not a GO Cards event: {0}")]
    Malformed(String),
    /// The card changed under two attempts in a row; the event is not recorded, so a
    /// redelivery applies it.
    #[error("The card was being changed at the same moment; deliver the event again.")]
    ChangedMeanwhile,
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// What an accepted event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    Applied(Outcome),
    /// This `eventId` was applied before.
    Duplicate,
    /// Not a card of this desk.
    UnknownCard,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    event_id: String,
    #[serde(default)]
    topic: Option<String>,
    data: CardInfo,
}

/// Checks `sha256=<hex>` against the body, in constant time.
pub fn verify_signature(
    secret: &SecretString,
    body: &[u8],
    header: Option<&str>,
) -> Result<(), WebhookError> {
    let hex_digest = header
        .map(str::trim)
        .and_then(|value| value.strip_prefix("sha256="))
        .ok_or(WebhookError::BadSignature)?;
    let expected = hex::decode(hex_digest).map_err(|_| WebhookError::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .map_err(|_| WebhookError::BadSignature)?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| WebhookError::BadSignature)
}

/// Handles one delivery. Nothing is written unless the signature is good and the body is a
/// well-formed event.
pub async fn receive(
    db: &Db,
    secret: Option<&SecretString>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<WebhookOutcome, WebhookError> {
    let secret = secret.ok_or(WebhookError::NotConfigured)?;
    verify_signature(secret, body, signature)?;
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|err| WebhookError::Malformed(err.to_string()))?;
    let event_id = envelope.event_id.trim();
    if event_id.is_empty()
        || event_id.len() > MAX_EVENT_ID
        || !event_id.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(WebhookError::Malformed(
            "eventId must be 1 to 128 printable characters".to_owned(),
        ));
    }
    let card_id = CardId::parse(&envelope.data.card_id)
        .map_err(|err| WebhookError::Malformed(format!("data.cardId: {err}")))?;
    if db.webhook_event_seen(event_id).await? {
        return Ok(WebhookOutcome::Duplicate);
    }
    tracing::debug!(%event_id, topic = envelope.topic.as_deref().unwrap_or(""), card_id = %card_id, "GO Cards event");

    let origin = ReportSource {
        source: HistorySource::Webhook,
        actor: None,
    };
    let Some(card) = db.card(card_id.as_str()).await? else {
        db.webhook_event_record(event_id, card_id.as_str()).await?;
        return Ok(WebhookOutcome::UnknownCard);
    };
    let report = Report {
        status: &envelope.data.status,
        failure_reason: envelope.data.failure_reason.as_deref(),
    };
    let outcome = match apply_report(db, card, report, origin).await? {
        Applied::Stored { outcome, .. } => outcome,
        Applied::ChangedMeanwhile => return Err(WebhookError::ChangedMeanwhile),
        Applied::Gone => {
            db.webhook_event_record(event_id, card_id.as_str()).await?;
            return Ok(WebhookOutcome::UnknownCard);
        }
    };
    if !db.webhook_event_record(event_id, card_id.as_str()).await? {
        return Ok(WebhookOutcome::Duplicate);
    }
    Ok(WebhookOutcome::Applied(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_good_signature_verifies() {
        let secret = SecretString::from("s3cret");
        let body = br#"{"eventId":"E1"}"#;
        assert!(verify_signature(&secret, body, Some(&sign("s3cret", body))).is_ok());
    }

    #[test]
    fn bad_signatures_are_refused() {
        let secret = SecretString::from("s3cret");
        let body = br#"{"eventId":"E1"}"#;
        for header in [
            None,
            Some(String::new()),
            Some("sha256=zz".to_owned()),
            Some(sign("other", body)),
            Some(sign("s3cret", b"another body")),
            Some(sign("s3cret", body).replace("sha256=", "sha1=")),
        ] {
            assert!(
                matches!(
                    verify_signature(&secret, body, header.as_deref()),
                    Err(WebhookError::BadSignature)
                ),
                "{header:?}"
            );
        }
    }
}
