//! In front of every `/api/*` route: record the call, apply faults, check token and organisation.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::faults::{dropped_reply, effect, FaultEffect};
use crate::state::{lock, SimState};

pub(crate) async fn api_gate(
    State(state): State<Arc<SimState>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    state.record_call(request.method().as_str(), &path);
    // `/api/card/{cardId}` and `/api/card/{cardId}/cancel` name a card.
    let card_id = path
        .strip_prefix("/api/card/")
        .map(|rest| rest.split('/').next().unwrap_or(rest));
    let mut after_serving = None;
    if let Some(fault) = state.take_fault(card_id, &path) {
        tracing::debug!(?fault.mode, %path, "GO Cards simulator injects a fault");
        match effect(&fault) {
            Some(FaultEffect::Delay(wait)) => tokio::time::sleep(wait).await,
            Some(FaultEffect::Reply(reply)) => return reply,
            Some(FaultEffect::ExpireTokens) => {
                lock(&state.tokens).revoke_all();
                return ApiError::unauthorized("the access token has expired").into_response();
            }
            Some(later @ (FaultEffect::DelayReply(_) | FaultEffect::DropReply)) => {
                after_serving = Some(later);
            }
            None => {}
        }
    }
    let reply = match check_access(&state, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    };
    // `timeout` and `drop` lose the reply, not the call: what it did (an order) is done.
    match after_serving {
        Some(FaultEffect::DelayReply(wait)) => {
            tokio::time::sleep(wait).await;
            reply
        }
        Some(FaultEffect::DropReply) => dropped_reply(),
        _ => reply,
    }
}

/// `401` without a live bearer token, `403` for another organisation.
fn check_access(state: &SimState, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(token) = token else {
        return Err(ApiError::unauthorized("a bearer token is required"));
    };
    if !lock(&state.tokens).is_live(token) {
        return Err(ApiError::unauthorized(
            "the access token is unknown or has expired",
        ));
    }
    let organisation = headers
        .get("x-organisation-id")
        .and_then(|value| value.to_str().ok());
    if organisation != Some(state.config.organisation_id.as_str()) {
        return Err(ApiError::forbidden(
            "X-Organisation-Id is missing or not an organisation this client may use",
        ));
    }
    Ok(())
}
