//! The simulator's HTTP routes: `oauth` (token), `api` (the contract, behind `gate`),
//! `control` (`/sim/*`), and the error body they share.

mod api;
mod control;
mod gate;
mod oauth;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};

use super::state::SimState;

/// `/sim/cards` may carry many cards at once.
const CONTROL_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub(crate) fn router(state: Arc<SimState>) -> Router {
    let api = Router::new()
        .route("/api/card/{card_id}", get(api::card))
        .route("/api/cards", get(api::changed_cards))
        .route("/api/card/{card_id}/cancel", post(api::cancel))
        .route("/api/order", post(api::order))
        .route("/api/articles", get(api::articles))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            gate::api_gate,
        ));
    let control = Router::new()
        .route("/sim/cards", post(control::upsert_cards))
        .route("/sim/cards/{card_id}/status", post(control::set_status))
        .route("/sim/faults", post(control::set_fault).get(control::fault))
        .route("/sim/webhook", post(control::set_webhook))
        .route("/sim/advance", post(control::advance))
        .route("/sim/production", post(control::production))
        .route("/sim/calls", get(control::calls))
        .route("/sim/orders", get(control::orders))
        .layer(DefaultBodyLimit::max(CONTROL_BODY_LIMIT));
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .merge(api)
        .merge(control)
        .fallback(|| async { ApiError::not_found("no such route") })
        .with_state(state)
}

/// An error reply in the contract's shape: `{"error", "message", "correlationId"}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn invalid_client(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.code,
            "message": self.message,
            "correlationId": uuid::Uuid::new_v4().to_string(),
        });
        let mut reply = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            reply.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        reply
    }
}

/// Reads a JSON body, answering `400` with the reason when it is not the expected shape.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        ApiError::bad_request(format!("the body is not the expected JSON: {error}"))
    })
}
