//! The GO Cards API itself: card info, the changed-cards listing, ordering, articles, cancel.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use desk_core::domain::GoCardsStatus;
use gocards::{ArticleList, CardInfo, ChangedCardsPage, ListCursor, OrderReply, OrderedCard};

use super::ApiError;
use crate::orders::read_order;
use crate::state::{lock, SimState};
use crate::store::CancelOutcome;
use crate::store::{millis_to_time, ListStart};

/// `size` when the query has none, and the most allowed.
const DEFAULT_PAGE_SIZE: usize = 500;
const MAX_PAGE_SIZE: usize = 1000;

pub(crate) async fn card(
    State(state): State<Arc<SimState>>,
    Path(card_id): Path<String>,
) -> Result<Json<CardInfo>, ApiError> {
    lock(&state.store)
        .get(&card_id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no card {card_id}")))
}

pub(crate) async fn changed_cards(
    State(state): State<Arc<SimState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<ChangedCardsPage>, ApiError> {
    let (mut since, mut after, mut size) = (None, None, None);
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "updatedSince" => since = Some(value.into_owned()),
            "afterCardId" => after = Some(value.into_owned()),
            "size" => size = Some(value.into_owned()),
            _ => {}
        }
    }
    let size = match size {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => raw
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|size| (1..=MAX_PAGE_SIZE).contains(size))
            .ok_or_else(|| ApiError::bad_request("size must be a whole number from 1 to 1000"))?,
    };
    let start = list_start(since.as_deref(), after)?;
    let (items, more) = lock(&state.store).page(&start, size);
    let next = if more {
        items.last().map(ListCursor::after)
    } else {
        None
    };
    Ok(Json(ChangedCardsPage { items, next }))
}

fn list_start(since: Option<&str>, after: Option<String>) -> Result<ListStart, ApiError> {
    let Some(since) = since else {
        return match after {
            None => Ok(ListStart::Beginning),
            Some(_) => Err(ApiError::bad_request("afterCardId needs updatedSince")),
        };
    };
    // A `+` of an offset arrives as a space when the caller did not encode it.
    let since: DateTime<Utc> = DateTime::parse_from_rfc3339(&since.trim().replace(' ', "+"))
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| ApiError::bad_request("updatedSince must be an RFC 3339 time"))?;
    let ms = since.timestamp_millis();
    let whole_ms = since.timestamp_subsec_nanos().is_multiple_of(1_000_000);
    Ok(match after {
        Some(card_id) if whole_ms => ListStart::AfterKey(ms, card_id),
        _ => ListStart::AfterMillis(ms),
    })
}

pub(crate) async fn order(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match place_order(&state, &headers, &body) {
        Ok(reply) => (StatusCode::CREATED, Json(reply)).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

fn place_order(state: &SimState, headers: &HeaderMap, body: &[u8]) -> Result<OrderReply, ApiError> {
    let key = idempotency_key(headers)?;
    let mut orders = lock(&state.orders);
    if let Some(first_reply) = orders.replay(&key) {
        return Ok(first_reply);
    }
    let request = read_order(body).map_err(ApiError::bad_request)?;
    if let Some(order_id) = orders.ordered_as(&request.external_reference) {
        return Err(ApiError::conflict(format!(
            "an order for this externalReference already exists: {order_id}"
        )));
    }
    let card_id = {
        let mut store = lock(&state.store);
        let card_id = new_card_id(|id| store.contains(id));
        let now = millis_to_time(Utc::now().timestamp_millis());
        store.upsert(vec![CardInfo {
            card_id: card_id.clone(),
            article_id: request.article_id.clone(),
            card_holder_email: request.card_holder_email.clone(),
            card_elements: request.card_elements.clone(),
            status: GoCardsStatus::Ordered,
            failure_reason: None,
            ordered: Some(now),
            produced: None,
            delivered: None,
            activated: None,
            updated: None,
        }]);
        card_id
    };
    let reply = OrderReply {
        order_id: format!("ORD-{}", hex::encode_upper(rand::random::<[u8; 6]>())),
        cards: vec![OrderedCard {
            card_id,
            status: GoCardsStatus::Ordered,
        }],
    };
    orders.record(key, &request, reply.clone());
    Ok(reply)
}

/// The `Idempotency-Key` header, required on `POST /api/order` and cancel.
fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request("the Idempotency-Key header is required"))
}

pub(crate) async fn articles() -> Json<ArticleList> {
    Json(ArticleList {
        items: crate::articles::articles(),
    })
}

pub(crate) async fn cancel(
    State(state): State<Arc<SimState>>,
    Path(card_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = idempotency_key(&headers) {
        return refusal.into_response();
    }
    let reason = match read_reason(&body) {
        Ok(reason) => reason,
        Err(why) => return ApiError::bad_request(why).into_response(),
    };
    match state.cancel(&card_id, &reason) {
        CancelOutcome::Cancelled(card) | CancelOutcome::AlreadyCancelled(card) => {
            Json(card).into_response()
        }
        CancelOutcome::TooLate(status) => too_late(&card_id, &status),
        CancelOutcome::Unknown => ApiError::not_found(format!("no card {card_id}")).into_response(),
    }
}

/// `{"reason": "..."}`, read leniently so that a missing reason is a `400` that says so.
fn read_reason(body: &[u8]) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|error| format!("the body is not JSON: {error}"))?;
    match value.get("reason") {
        Some(serde_json::Value::String(reason)) if !reason.trim().is_empty() => Ok(reason.clone()),
        Some(serde_json::Value::String(_)) => Err("reason must not be empty".to_owned()),
        None | Some(serde_json::Value::Null) => Err("reason is required".to_owned()),
        Some(_) => Err("reason must be a string".to_owned()),
    }
}

/// `409` with the card's status: the contract's error body plus `status`.
fn too_late(card_id: &str, status: &GoCardsStatus) -> Response {
    let body = serde_json::json!({
        "error": "conflict",
        "message": format!("card {card_id} is {status} and can no longer be cancelled"),
        "status": status.as_str(),
        "correlationId": uuid::Uuid::new_v4().to_string(),
    });
    (StatusCode::CONFLICT, Json(body)).into_response()
}

/// A new id in the GO Cards format: `CA`, the minute as 10 digits, `-`, 8 letters or digits.
fn new_card_id(taken: impl Fn(&str) -> bool) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    loop {
        let tail: String = rand::random::<[u8; 8]>()
            .iter()
            .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
            .collect();
        let id = format!("CA{}-{tail}", Utc::now().format("%y%m%d%H%M"));
        if !taken(&id) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use desk_core::domain::CardId;

    #[test]
    fn new_card_ids_follow_the_format() {
        for _ in 0..100 {
            let id = new_card_id(|_| false);
            assert!(CardId::parse(&id).is_ok(), "{id}");
        }
    }

    #[test]
    fn cursor_parsing() {
        assert!(matches!(list_start(None, None), Ok(ListStart::Beginning)));
        assert!(list_start(None, Some("X".into())).is_err());
        assert!(list_start(Some("yesterday"), None).is_err());
        assert!(matches!(
            list_start(Some("2026-11-21T07:00:03.123Z"), Some("X".into())),
            Ok(ListStart::AfterKey(ms, ref id)) if ms == 1_795_244_403_123 && id == "X"
        ));
        // Sub-millisecond times cannot equal an `updated`: strictly after the millisecond.
        assert!(matches!(
            list_start(Some("2026-11-21T07:00:03.1234Z"), Some("X".into())),
            Ok(ListStart::AfterMillis(1_795_244_403_123))
        ));
        assert!(matches!(
            list_start(Some("2026-11-21T08:00:03 01:00"), None),
            Ok(ListStart::AfterMillis(1_795_244_403_000))
        ));
    }
}
