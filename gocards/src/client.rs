//! `GoCardsClient`: the calls of gocards-api.md over one shared HTTP connection pool.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::SecondsFormat;
use reqwest::header::{HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

use super::metrics;
use super::token::{BearerToken, FetchedToken, TokenCache};
use super::transport::{parse_json, read_capped, transport_error, ErrorBody, MAX_BODY_BYTES};
use super::types::ArticleList;
use super::{
    Article, CancelReply, CardInfo, ChangedCardsPage, GoCardsConfig, GoCardsError, ListCursor,
    OrderReply, OrderRequest,
};
use desk_core::domain::CardId;

/// The header naming the organisation on every `/api/*` call.
pub const ORGANISATION_HEADER: &str = "X-Organisation-Id";
/// The header that makes `POST /api/order` and `POST /api/card/{cardId}/cancel` safe to repeat.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Assumed token lifetime when the token reply has no readable `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// The GO Cards client. Cheap to clone: clones share the connection pool and the token.
#[derive(Clone)]
pub struct GoCardsClient {
    inner: Arc<Inner>,
    /// Told each `429`'s wait the moment it arrives (a job pauses all its items on it).
    on_rate_limited: Option<RateLimitObserver>,
}

/// What [`GoCardsClient::observing_rate_limits`] calls with a `429`'s `Retry-After`.
pub type RateLimitObserver = Arc<dyn Fn(Duration) + Send + Sync>;

struct Inner {
    http: reqwest::Client,
    config: GoCardsConfig,
    tokens: TokenCache,
}

/// An `/api/*` call, described once so it can be sent twice (after a token refresh).
struct ApiCall<'a> {
    method: Method,
    url: Url,
    json_body: Option<&'a (dyn erased::JsonBody + Sync)>,
    idempotency_key: Option<uuid::Uuid>,
}

impl GoCardsClient {
    /// Checks the settings and builds the HTTP client. Nothing is sent yet.
    pub fn new(config: GoCardsConfig) -> Result<Self, GoCardsError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("carddesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| {
                GoCardsError::InvalidConfig(format!("the HTTP client could not start: {error}"))
            })?;
        Ok(GoCardsClient {
            inner: Arc::new(Inner {
                http,
                config,
                tokens: TokenCache::default(),
            }),
            on_rate_limited: None,
        })
    }

    /// This client (the same pool and token), which also tells `observer` the wait of every
    /// `429` it receives, as it arrives: before the caller has done anything with the error.
    pub fn observing_rate_limits(&self, observer: RateLimitObserver) -> GoCardsClient {
        GoCardsClient {
            inner: self.inner.clone(),
            on_rate_limited: Some(observer),
        }
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.config.base_url
    }

    /// `GET /api/card/{cardId}`.
    #[tracing::instrument(name = "gocards.card", skip_all, fields(card_id = %card_id))]
    pub async fn card(&self, card_id: &CardId) -> Result<CardInfo, GoCardsError> {
        let url = self.endpoint(&["api", "card", card_id.as_str()])?;
        let card: CardInfo = self.call_api(&ApiCall::get(url), "card").await?;
        if card.card_id != card_id.as_str() {
            tracing::warn!(returned = %card.card_id, "GO Cards answered with another card");
            return Err(GoCardsError::Malformed);
        }
        Ok(card)
    }

    /// `GET /api/cards`: the page of cards changed strictly after `cursor`.
    #[tracing::instrument(name = "gocards.changed_cards", skip_all, fields(size = size))]
    pub async fn changed_cards(
        &self,
        cursor: &ListCursor,
        size: u32,
    ) -> Result<ChangedCardsPage, GoCardsError> {
        let mut url = self.endpoint(&["api", "cards"])?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(since) = cursor.updated_since {
                query.append_pair(
                    "updatedSince",
                    &since.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                );
            }
            if let Some(after) = &cursor.after_card_id {
                query.append_pair("afterCardId", after);
            }
            query.append_pair("size", &size.to_string());
        }
        let page: ChangedCardsPage = self.call_api(&ApiCall::get(url), "changed cards").await?;
        // A `next` that does not move on would make the sync loop for ever.
        if let Some(next) = &page.next {
            if page.items.is_empty() || next == cursor {
                tracing::warn!("GO Cards listing gave a next cursor that does not advance");
                return Err(GoCardsError::Malformed);
            }
        }
        Ok(page)
    }

    /// `POST /api/order`. Repeating it with the same `idempotency_key` is safe.
    #[tracing::instrument(
        name = "gocards.order_card",
        skip_all,
        fields(external_reference = %order.external_reference, %idempotency_key)
    )]
    pub async fn order_card(
        &self,
        order: &OrderRequest,
        idempotency_key: uuid::Uuid,
    ) -> Result<OrderReply, GoCardsError> {
        let call = ApiCall {
            method: Method::POST,
            url: self.endpoint(&["api", "order"])?,
            json_body: Some(order),
            idempotency_key: Some(idempotency_key),
        };
        let reply: OrderReply = self.call_api(&call, "order").await?;
        if !reply.is_usable() {
            tracing::warn!(
                cards = reply.cards.len(),
                "GO Cards order reply has no cards or a card id in the wrong format"
            );
            return Err(GoCardsError::Malformed);
        }
        Ok(reply)
    }

    /// `GET /api/articles`: the articles the organisation may order.
    #[tracing::instrument(name = "gocards.articles", skip_all)]
    pub async fn articles(&self) -> Result<Vec<Article>, GoCardsError> {
        let url = self.endpoint(&["api", "articles"])?;
        let list: ArticleList = self.call_api(&ApiCall::get(url), "articles").await?;
        if list
            .items
            .iter()
            .any(|article| article.article_id.trim().is_empty())
        {
            tracing::warn!("GO Cards listed an article without an id");
            return Err(GoCardsError::Malformed);
        }
        Ok(list.items)
    }

    /// `POST /api/card/{cardId}/cancel`. Repeating it with the same `idempotency_key` is
    /// safe. A card past cancelling is `Ok(CancelReply::TooLate)`, with its status; a `409`
    /// that names no status is `Err(GoCardsError::Conflict)`.
    #[tracing::instrument(name = "gocards.cancel", skip_all, fields(card_id = %card_id, %idempotency_key))]
    pub async fn cancel(
        &self,
        card_id: &CardId,
        reason: &str,
        idempotency_key: uuid::Uuid,
    ) -> Result<CancelReply, GoCardsError> {
        let body = CancelBody { reason };
        let call = ApiCall {
            method: Method::POST,
            url: self.endpoint(&["api", "card", card_id.as_str(), "cancel"])?,
            json_body: Some(&body),
            idempotency_key: Some(idempotency_key),
        };
        match self.call_api_answer::<CardInfo>(&call, "cancel").await? {
            Answer::Success(card) if card.card_id == card_id.as_str() => {
                Ok(CancelReply::Cancelled(card))
            }
            Answer::Success(card) => {
                tracing::warn!(returned = %card.card_id, "GO Cards answered with another card");
                Err(GoCardsError::Malformed)
            }
            Answer::Refused {
                status,
                failure,
                body,
            } => {
                match body
                    .card_status()
                    .filter(|_| status == StatusCode::CONFLICT)
                {
                    Some(status) => Ok(CancelReply::TooLate { status }),
                    None => Err(failure),
                }
            }
        }
    }

    /// Fetches a fresh token with these settings, then makes one `/api` call
    /// (`GET /api/cards?size=1`), which checks the organisation id as well.
    #[tracing::instrument(name = "gocards.test_connection", skip_all)]
    pub async fn test_connection(&self) -> Result<(), GoCardsError> {
        self.inner.tokens.clear().await;
        self.changed_cards(&ListCursor::default(), 1)
            .await
            .map(|_| ())
    }

    fn endpoint(&self, segments: &[&str]) -> Result<Url, GoCardsError> {
        let mut url = self.inner.config.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| GoCardsError::InvalidConfig("the base URL has no path".to_owned()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn token(&self) -> Result<BearerToken, GoCardsError> {
        self.inner.tokens.get(|| self.fetch_token()).await
    }

    /// `POST /oauth/token` with the client-credentials grant, counted in the metrics.
    async fn fetch_token(&self) -> Result<FetchedToken, GoCardsError> {
        let started = Instant::now();
        let fetched = self.fetch_token_once().await;
        metrics::record_result("token", &fetched, started.elapsed());
        fetched
    }

    async fn fetch_token_once(&self) -> Result<FetchedToken, GoCardsError> {
        let config = &self.inner.config;
        let url = self.endpoint(&["oauth", "token"])?;
        let started = Instant::now();
        let sent = self
            .inner
            .http
            .post(url)
            .header(ACCEPT, "application/json")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", config.client_id.as_str()),
                ("client_secret", config.client_secret.expose_secret()),
            ])
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                let failure = transport_error(&error);
                tracing::warn!(
                    duration_ms = elapsed_ms(started),
                    ?failure,
                    "GO Cards token request failed"
                );
                return Err(failure);
            }
        };
        let status = response.status();
        if status.is_success() {
            let body = read_capped(response, MAX_BODY_BYTES).await?;
            let token = read_token(&body);
            tracing::debug!(
                status = status.as_u16(),
                duration_ms = elapsed_ms(started),
                ok = token.is_ok(),
                "GO Cards token"
            );
            return token;
        }
        let retry_after = header_text(&response, RETRY_AFTER);
        let error_body = ErrorBody::read(response).await;
        let failure = match status.as_u16() {
            400 if error_body.error.as_deref() == Some("invalid_client") => {
                GoCardsError::Unauthorized
            }
            401 | 403 => GoCardsError::Unauthorized,
            // The token endpoint is missing: the base URL is wrong. "Card not found" would mislead.
            404 | 405 | 410 => GoCardsError::ServerError {
                status: status.as_u16(),
            },
            code => GoCardsError::from_status(code, retry_after.as_deref()),
        };
        tracing::warn!(
            status = status.as_u16(),
            duration_ms = elapsed_ms(started),
            details = %error_body.summary(),
            ?failure,
            "GO Cards refused the token request"
        );
        Err(failure)
    }

    /// Sends an `/api/*` call with the token; on `401` drops the token, fetches a new one
    /// once and sends the call once more.
    async fn call_api<T: DeserializeOwned>(
        &self,
        call: &ApiCall<'_>,
        what: &'static str,
    ) -> Result<T, GoCardsError> {
        match self.call_api_answer(call, what).await? {
            Answer::Success(value) => Ok(value),
            Answer::Refused { failure, .. } => Err(failure),
        }
    }

    /// `call_api`, but an error status comes back as [`Answer::Refused`] with its body, for a
    /// caller that reads it (the `409` of cancel). Transport failures, unreadable success
    /// replies and the `401` after the one retry are still `Err`.
    async fn call_api_answer<T: DeserializeOwned>(
        &self,
        call: &ApiCall<'_>,
        what: &'static str,
    ) -> Result<Answer<T>, GoCardsError> {
        let endpoint = metrics::endpoint_label(what);
        let mut refreshed = false;
        loop {
            let token = self.token().await?;
            let started = Instant::now();
            let reply = self.send_api(call, &token).await;
            let duration_ms = elapsed_ms(started);
            let response = match reply {
                Ok(response) => response,
                Err(failure) => {
                    metrics::record(endpoint, metrics::outcome_of(&failure), started.elapsed());
                    tracing::warn!(method = %call.method, path = call.url.path(), duration_ms, ?failure, "GO Cards call failed");
                    return Err(failure);
                }
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                metrics::record(endpoint, "4xx", started.elapsed());
                tracing::info!(method = %call.method, path = call.url.path(), status = 401, duration_ms, "GO Cards refused the token; fetching a new one");
                self.inner.tokens.invalidate(token.generation).await;
                refreshed = true;
                continue;
            }
            if status.is_success() {
                let body = read_capped(response, MAX_BODY_BYTES).await;
                let duration_ms = elapsed_ms(started);
                let parsed = body.and_then(|body| parse_json::<T>(&body, what));
                metrics::record_result(endpoint, &parsed, started.elapsed());
                match &parsed {
                    Ok(_) => {
                        tracing::debug!(method = %call.method, path = call.url.path(), status = status.as_u16(), duration_ms, "GO Cards call")
                    }
                    Err(failure) => {
                        tracing::warn!(method = %call.method, path = call.url.path(), status = status.as_u16(), duration_ms, ?failure, "GO Cards reply unusable")
                    }
                }
                return parsed.map(Answer::Success);
            }
            let retry_after = header_text(&response, RETRY_AFTER);
            let error_body = ErrorBody::read(response).await;
            let failure = GoCardsError::from_status(status.as_u16(), retry_after.as_deref());
            metrics::record(endpoint, metrics::outcome_of(&failure), started.elapsed());
            if let (GoCardsError::RateLimited { retry_after }, Some(observer)) =
                (&failure, &self.on_rate_limited)
            {
                observer(*retry_after);
            }
            tracing::warn!(
                method = %call.method,
                path = call.url.path(),
                status = status.as_u16(),
                duration_ms,
                details = %error_body.summary(),
                ?failure,
                "GO Cards answered with an error"
            );
            if status == StatusCode::UNAUTHORIZED {
                return Err(failure);
            }
            return Ok(Answer::Refused {
                status,
                failure,
                body: error_body,
            });
        }
    }

    async fn send_api(
        &self,
        call: &ApiCall<'_>,
        token: &BearerToken,
    ) -> Result<reqwest::Response, GoCardsError> {
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .bearer_auth(token.secret.expose_secret())
            .header(
                ORGANISATION_HEADER,
                self.inner.config.organisation_id.as_str(),
            )
            .header(ACCEPT, "application/json");
        if let Some(key) = call.idempotency_key {
            request = request.header(IDEMPOTENCY_HEADER, key.to_string());
        }
        if let Some(body) = call.json_body {
            let json = body.to_json().map_err(|_| {
                GoCardsError::InvalidConfig("the request body could not be written".to_owned())
            })?;
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(json);
        }
        request
            .send()
            .await
            .map_err(|error| transport_error(&error))
    }
}

/// How an `/api/*` call was answered, short of a transport failure.
enum Answer<T> {
    Success(T),
    /// A non-success status, its error, and the error body (best effort).
    Refused {
        status: StatusCode,
        failure: GoCardsError,
        body: ErrorBody,
    },
}

/// The body of `POST /api/card/{cardId}/cancel`.
#[derive(serde::Serialize)]
struct CancelBody<'a> {
    reason: &'a str,
}

/// The cursors one walk of `GET /api/cards` has read. Cursors only move forward in the
/// contract, so a `next` among them (A→B→A) sends the walk back to a page it has read, and
/// following it would loop for ever under a live lease. `changed_cards` itself only catches
/// a `next` equal to the cursor asked with.
#[derive(Debug, Default)]
pub struct CursorTrail {
    seen: HashSet<ListCursor>,
}

/// A listing `next` that goes back to a page this walk has read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("GO Cards sent the listing back to a page it had already sent (cursor {cursor})")]
pub struct CursorLoop {
    /// The repeated cursor, as JSON.
    pub cursor: String,
}

impl CursorTrail {
    /// A walk that starts by reading the page after `cursor`.
    pub fn starting_at(cursor: &ListCursor) -> CursorTrail {
        CursorTrail {
            seen: HashSet::from([cursor.clone()]),
        }
    }

    /// Notes `next` as the page to read next; `Err` when the walk has read it already.
    pub fn advance(&mut self, next: &ListCursor) -> Result<(), CursorLoop> {
        if self.seen.insert(next.clone()) {
            return Ok(());
        }
        Err(CursorLoop {
            cursor: serde_json::to_string(next).unwrap_or_else(|_| format!("{next:?}")),
        })
    }
}

impl ApiCall<'_> {
    fn get(url: Url) -> ApiCall<'static> {
        ApiCall {
            method: Method::GET,
            url,
            json_body: None,
            idempotency_key: None,
        }
    }
}

/// The token endpoint's reply. Not `Debug`: it holds the token.
#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

fn read_token(body: &[u8]) -> Result<FetchedToken, GoCardsError> {
    let reply: TokenReply = parse_json(body, "token")?;
    if reply.access_token.is_empty() || HeaderValue::from_str(&reply.access_token).is_err() {
        tracing::warn!("GO Cards token is empty or not usable in a header");
        return Err(GoCardsError::Malformed);
    }
    let expires_in = reply
        .expires_in
        .as_ref()
        .and_then(|value| match value {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        })
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map_or(DEFAULT_TOKEN_LIFETIME, |seconds| {
            Duration::from_secs_f64(seconds.min(365.0 * 86_400.0))
        });
    Ok(FetchedToken {
        access_token: SecretString::from(reply.access_token),
        expires_in,
    })
}

fn header_text(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Lets `ApiCall` hold any serialisable body without a type parameter.
mod erased {
    pub trait JsonBody {
        fn to_json(&self) -> serde_json::Result<Vec<u8>>;
    }

    impl<T: serde::Serialize> JsonBody for T {
        fn to_json(&self) -> serde_json::Result<Vec<u8>> {
            serde_json::to_vec(self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(card_id: &str) -> ListCursor {
        ListCursor {
            updated_since: None,
            after_card_id: Some(card_id.to_owned()),
        }
    }

    #[test]
    fn a_cursor_trail_moves_on_and_catches_a_loop() {
        let mut trail = CursorTrail::starting_at(&ListCursor::default());
        assert_eq!(trail.advance(&after("A")), Ok(()));
        assert_eq!(trail.advance(&after("B")), Ok(()));
        let looped = trail.advance(&after("A")).err();
        assert_eq!(
            looped.map(|e| e.cursor),
            Some(r#"{"updatedSince":null,"afterCardId":"A"}"#.to_owned())
        );
        // Back to the start is a loop too.
        assert!(trail.advance(&ListCursor::default()).is_err());
    }
}
