//! `/sim/*`: set cards, statuses, faults and the webhook; advance; read the calls and orders.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use gocards::CardInfo;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse_body, ApiError};
use crate::faults::FaultSpec;
use crate::orders::SimOrder;
use crate::state::{lock, ProductionLine, SimState};
use crate::webhook::WebhookTarget;

pub(crate) async fn upsert_cards(
    State(state): State<Arc<SimState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let cards: Vec<CardInfo> = parse_body(&body)?;
    if cards.iter().any(|card| card.card_id.trim().is_empty()) {
        return Err(ApiError::bad_request("every card needs a cardId"));
    }
    let count = state.upsert(cards);
    Ok(Json(json!({ "upserted": count })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StatusChange {
    status: String,
    #[serde(default)]
    failure_reason: Option<String>,
}

pub(crate) async fn set_status(
    State(state): State<Arc<SimState>>,
    Path(card_id): Path<String>,
    body: Bytes,
) -> Result<Json<CardInfo>, ApiError> {
    let change: StatusChange = parse_body(&body)?;
    state
        .set_status(&card_id, &change.status, change.failure_reason)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no card {card_id}")))
}

pub(crate) async fn set_fault(
    State(state): State<Arc<SimState>>,
    body: Bytes,
) -> Result<Json<FaultSpec>, ApiError> {
    let fault: FaultSpec = parse_body(&body)?;
    fault.validate().map_err(ApiError::bad_request)?;
    state.set_fault(fault.clone());
    Ok(Json(fault))
}

pub(crate) async fn fault(State(state): State<Arc<SimState>>) -> Json<FaultSpec> {
    Json(state.fault())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookSetting {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    secret: Option<String>,
}

/// `{"url", "secret"}` sets where events go; a null or empty `url` stops them.
pub(crate) async fn set_webhook(
    State(state): State<Arc<SimState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let setting: WebhookSetting = parse_body(&body)?;
    let Some(url) = setting.url.filter(|url| !url.trim().is_empty()) else {
        state.set_webhook(None);
        return Ok(Json(json!({ "url": null })));
    };
    let target = WebhookTarget::parse(&url, setting.secret.unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    state.set_webhook(Some(target));
    Ok(Json(json!({ "url": url })))
}

pub(crate) async fn advance(State(state): State<Arc<SimState>>) -> Json<Value> {
    Json(json!({ "advanced": state.advance() }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProductionRequest {
    step_secs: f64,
    #[serde(default = "default_fail_share")]
    fail_share: f64,
}

fn default_fail_share() -> f64 {
    0.05
}

/// `POST /sim/production` with `{"stepSecs": 120, "failShare": 0.05}`; `stepSecs` 0 stops it.
pub(crate) async fn production(
    State(state): State<Arc<SimState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let asked: ProductionRequest = parse_body(&body)?;
    if !(asked.step_secs.is_finite() && (0.0..=86_400.0).contains(&asked.step_secs)) {
        return Err(ApiError::bad_request(
            "stepSecs must be between 0 and 86400",
        ));
    }
    if !(0.0..=1.0).contains(&asked.fail_share) {
        return Err(ApiError::bad_request("failShare must be between 0 and 1"));
    }
    let line = (asked.step_secs > 0.0).then(|| ProductionLine {
        step: std::time::Duration::from_secs_f64(asked.step_secs),
        fail_share: asked.fail_share,
    });
    state.set_production(line);
    Ok(Json(json!({
        "running": line.is_some(),
        "stepSecs": asked.step_secs,
        "failShare": asked.fail_share,
    })))
}

pub(crate) async fn calls(State(state): State<Arc<SimState>>) -> Json<Vec<(String, String, i64)>> {
    Json(state.calls())
}

pub(crate) async fn orders(State(state): State<Arc<SimState>>) -> Json<Vec<SimOrder>> {
    Json(lock(&state.orders).received())
}
