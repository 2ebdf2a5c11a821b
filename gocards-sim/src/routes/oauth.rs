//! `POST /oauth/token`: the client-credentials grant.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::ApiError;
use crate::state::{lock, SimState};

pub(crate) async fn token(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    state.count_token_request();
    let (mut grant_type, mut client_id, mut client_secret) = (None, None, None);
    for (name, value) in url::form_urlencoded::parse(&body) {
        match name.as_ref() {
            "grant_type" => grant_type = Some(value.into_owned()),
            "client_id" => client_id = Some(value.into_owned()),
            "client_secret" => client_secret = Some(value.into_owned()),
            _ => {}
        }
    }
    if grant_type.as_deref() != Some("client_credentials") {
        return ApiError::bad_request("grant_type must be client_credentials").into_response();
    }
    let config = &state.config;
    if client_id.as_deref() != Some(config.client_id.as_str())
        || client_secret.as_deref() != Some(config.client_secret.as_str())
    {
        tracing::debug!("GO Cards simulator refused client credentials");
        return ApiError::invalid_client("unknown client id or wrong client secret")
            .into_response();
    }
    let lifetime = state.token_lifetime();
    let access_token = lock(&state.tokens).issue(lifetime);
    Json(serde_json::json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
    }))
    .into_response()
}
