//! While the database is down: every reply says so, quickly. Server functions map a storage
//! error that means "unreachable" to their `Unavailable` variant (503) themselves; this
//! module catches the faults that never reach them (the session and log-in layers load the
//! session and its user before any handler runs, and answer a bare 500 when that fails), and
//! answers `/readyz`.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::api::DATABASE_UNAVAILABLE;
use backend::db::Db;
use backend::AppState;

/// How long the check after a 500 waits for the database. A request that failed because the
/// database is down has already waited the pool's acquire timeout (3 s), so this keeps the
/// whole reply under 5 s.
const PROBE_AFTER_FAULT: Duration = Duration::from_millis(500);

/// How long `/readyz` waits for its round trip: longer than the pool's acquire timeout, so
/// that a down database is reported by the pool, and a hung one by this.
const READINESS_PROBE: Duration = Duration::from_secs(4);

/// What a client that may try again is told to wait, in seconds.
const RETRY_AFTER_SECS: &str = "5";

/// Turns a 500 into a 503 that says "The database is unavailable; try again shortly." when
/// the database does not answer a round trip now. A 500 with the database up stays a 500.
pub async fn unavailable_database_is_503(db: Db, request: Request, next: Next) -> Response {
    let json = request.uri().path().starts_with("/api/") && !accepts_html(request.headers());
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    match tokio::time::timeout(PROBE_AFTER_FAULT, db.ping()).await {
        Ok(Ok(())) => response,
        Ok(Err(error)) => {
            tracing::warn!(%error, "a request failed while the database is unavailable");
            unavailable_reply(json)
        }
        Err(_) => {
            tracing::warn!("a request failed while the database does not answer");
            unavailable_reply(json)
        }
    }
}

/// `/readyz`: 200 `ready` when the database answers a round trip, else 503 with the
/// sentence.
pub async fn readyz(axum::Extension(state): axum::Extension<AppState>) -> Response {
    match tokio::time::timeout(READINESS_PROBE, state.db.ping()).await {
        Ok(Ok(())) => "ready".into_response(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            unavailable_text()
        }
        Err(_) => {
            tracing::warn!("readiness check failed: the database did not answer in time");
            unavailable_text()
        }
    }
}

/// A form posted without script, or a page: the browser shows what comes back.
fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

fn unavailable_reply(json: bool) -> Response {
    if json {
        // The shape of every server function's error: the browser decodes it into that
        // function's `Unavailable` variant.
        let body = serde_json::json!({ "kind": "unavailable", "message": DATABASE_UNAVAILABLE });
        return with_retry_after(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response(),
        );
    }
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Card desk</title><link rel=\"stylesheet\" href=\"/pkg/carddesk.css\"></head>\
         <body><main><p class=\"error\" role=\"alert\">{DATABASE_UNAVAILABLE}</p></main></body></html>"
    );
    with_retry_after(
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'self'; frame-ancestors 'none'",
                ),
            ],
            page,
        )
            .into_response(),
    )
}

fn unavailable_text() -> Response {
    with_retry_after((StatusCode::SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE).into_response())
}

fn with_retry_after(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    response
}
