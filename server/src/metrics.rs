//! Observability (operations.md): the Prometheus listener on `METRICS_ADDR`, the HTTP
//! request metrics, and request ids.
//!
//! - Metrics are served on their own listener, never on the desk's public address, so that
//!   they are not public by accident. `GET /metrics` gives the Prometheus text format.
//! - Every request is counted by its route template (`/cards/{card_id}`, not each card), method
//!   and status, with its latency in a histogram.
//! - Every request has an `x-request-id`: the one a trusted proxy (`TRUSTED_PROXIES`) sent,
//!   else a fresh one. It is on the request's log lines (the `request` span), on the reply,
//!   and in the message of a server fault ("Reference: …").

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use backend::client_address::IpNet;
use backend::db::Db;

/// Open `/events` streams on this process.
pub const EVENT_STREAMS: &str = "carddesk_event_streams";
/// HTTP requests by `route`, `method` and `status`.
pub const HTTP_REQUESTS: &str = "carddesk_http_requests_total";
/// Seconds from a request's arrival to its reply's head, by `route` and `method`.
pub const HTTP_SECONDS: &str = "carddesk_http_request_duration_seconds";

/// The header a request's id travels in.
pub const REQUEST_ID: &str = app::api::REQUEST_ID_HEADER;

/// Histogram buckets for request and GO Cards call latencies, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's Prometheus recorder (once; later calls reuse it).
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = RECORDER.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)?
        .install_recorder()?;
    let handle = RECORDER.get_or_init(|| handle).clone();
    // Histograms are kept in windows that need draining now and then.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// Starts the metrics listener on `addr`; the address it listens on (port 0 picks one).
pub async fn serve(addr: SocketAddr, db: Db) -> anyhow::Result<SocketAddr> {
    let handle = recorder()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("could not listen on METRICS_ADDR {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    let router = Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            let db = db.clone();
            async move {
                let (in_use, idle) = db.pool_connections();
                backend::metrics::db_pool(in_use, idle);
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    tracing::info!("metrics on http://{bound}/metrics");
    Ok(bound)
}

/// Where the route layer leaves a request's route template for [`http_metrics`].
#[derive(Clone, Default)]
struct RouteSlot(Arc<OnceLock<String>>);

/// Outermost: counts every request, with the route template the router matched (else
/// `/pkg/*` for the site's files, or `other`).
pub async fn http_metrics(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let slot = RouteSlot::default();
    request.extensions_mut().insert(slot.clone());
    let method = request.method().as_str().to_owned();
    let pkg = request.uri().path().starts_with("/pkg/");
    let response = next.run(request).await;
    let route = match slot.0.get() {
        Some(route) => route.clone(),
        None if pkg => "/pkg/*".to_owned(),
        None => "other".to_owned(),
    };
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_SECONDS, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A route layer: runs after routing, where the matched template is known.
pub async fn note_route(request: Request, next: Next) -> Response {
    if let (Some(path), Some(slot)) = (
        request.extensions().get::<MatchedPath>(),
        request.extensions().get::<RouteSlot>(),
    ) {
        let _ = slot.0.set(path.as_str().to_owned());
    }
    next.run(request).await
}

/// The request's id, for its span and its reply.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Gives the request its id: a trusted proxy's `x-request-id`, if well-formed, else a new
/// one. Sets it on the request (server functions read it from there) and on the reply.
pub async fn request_id(trusted: Arc<[IpNet]>, mut request: Request, next: Next) -> Response {
    let peer: Option<IpAddr> = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let from_proxy = peer.is_some_and(|peer| trusted.iter().any(|net| net.contains(&peer)));
    let given = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| from_proxy && well_formed(id))
        .map(str::to_owned);
    let id = given.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let Ok(value) = HeaderValue::from_str(&id) else {
        return next.run(request).await;
    };
    request.headers_mut().insert(REQUEST_ID, value.clone());
    request.extensions_mut().insert(RequestId(id));
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, value);
    response
}

/// At most 64 characters of letters, digits, `-`, `_`, `.` and `:`.
fn well_formed(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The span each request's log lines are in: its id, method and path.
pub fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.as_str())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxys_request_id_is_kept_only_when_well_formed() {
        assert!(well_formed("b7c1e0a4-93f2-4d57-8a1e-2f6c0d9b3e71"));
        assert!(well_formed("1-67891233-abcdef012345678912345678"));
        assert!(well_formed("lb:7f3e2a91.0"));
        assert!(!well_formed("Root=1-67891233"));
        assert!(!well_formed(""));
        assert!(!well_formed("has space"));
        assert!(!well_formed("new\nline"));
        assert!(!well_formed(&"x".repeat(65)));
    }
}
