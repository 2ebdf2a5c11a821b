//! `POST /webhooks/gocards`: GO Cards events. The handler is thin; the checks and the apply
//! live in `backend::services::webhook`.

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::json;

use backend::services::webhook::{
    receive, WebhookError, WebhookOutcome, MAX_WEBHOOK_BODY, SIGNATURE_HEADER,
};
use backend::AppState;

pub const WEBHOOK_PATH: &str = "/webhooks/gocards";

/// The route, with its own body limit (a larger body gets 413 unread).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(WEBHOOK_PATH, post(handle))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY))
}

async fn handle(
    Extension(state): Extension<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    match receive(&state.db, state.webhook_secret.as_ref(), signature, &body).await {
        Ok(outcome) => {
            let result = match &outcome {
                WebhookOutcome::Applied(outcome) => outcome.message(),
                WebhookOutcome::Duplicate => "duplicate event ignored".to_owned(),
                WebhookOutcome::UnknownCard => "not a card of this desk; ignored".to_owned(),
            };
            (StatusCode::OK, Json(json!({ "result": result }))).into_response()
        }
        Err(err) => {
            let status = match &err {
                WebhookError::NotConfigured | WebhookError::BadSignature => {
                    StatusCode::UNAUTHORIZED
                }
                WebhookError::Malformed(_) => StatusCode::BAD_REQUEST,
                WebhookError::ChangedMeanwhile => StatusCode::SERVICE_UNAVAILABLE,
                WebhookError::Storage(error) => {
                    tracing::error!(%error, "webhook event could not be stored");
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({ "error": "The event could not be stored; deliver it again later." })),
                    )
                        .into_response();
                }
            };
            tracing::warn!(error = %err, "webhook event refused");
            (status, Json(json!({ "error": err.to_string() }))).into_response()
        }
    }
}
