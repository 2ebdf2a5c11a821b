//! How long a request may take. A client that stops sending its body is answered 408 once no
//! byte of it has come for [`RequestTimeouts::body_read`]; a request whose answer has not
//! started after [`RequestTimeouts::whole`] is answered 503. Only the start of the answer is
//! timed: a streamed page keeps streaming after its head is sent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tower_http::timeout::{TimeoutBody, TimeoutError};

/// The limits; [`RequestTimeouts::default`] is what the server runs with (tests shorten them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestTimeouts {
    /// From the request's arrival to the start of its answer.
    pub whole: Duration,
    /// The longest wait for the next piece of a request body.
    pub body_read: Duration,
}

impl Default for RequestTimeouts {
    fn default() -> Self {
        RequestTimeouts {
            whole: Duration::from_secs(30),
            body_read: Duration::from_secs(10),
        }
    }
}

/// The middleware: the body is read through a timeout, and the handler's answer is waited
/// for at most `whole`.
pub async fn bounded(limits: RequestTimeouts, request: Request, next: Next) -> Response {
    let stalled = Arc::new(AtomicBool::new(false));
    let request = {
        let stalled = stalled.clone();
        request.map(move |body| {
            Body::new(
                TimeoutBody::new(limits.body_read, body).map_err(move |err| {
                    if err.is::<TimeoutError>() {
                        stalled.store(true, Ordering::Relaxed);
                    }
                    err
                }),
            )
        })
    };
    let path = request.uri().path().to_owned();
    let answer = tokio::time::timeout(limits.whole, next.run(request)).await;
    // Whatever the handler made of a body that stopped coming (400, 413, …), the cause is
    // the client's stall.
    if stalled.load(Ordering::Relaxed) {
        tracing::info!(%path, "the request body stopped arriving");
        return (
            StatusCode::REQUEST_TIMEOUT,
            "The request body stopped arriving. Send the request again.",
        )
            .into_response();
    }
    match answer {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%path, timeout = ?limits.whole, "a request took too long and was cut off");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The desk took too long to answer. Try again in a moment.",
            )
                .into_response()
        }
    }
}
