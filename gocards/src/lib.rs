//! The GO Cards client (see shared/spec/gocards-api.md).
//!
//! - [`GoCardsClient`]: the calls, the token cache and the retry on `401` (`client`, `token`);
//!   [`CursorTrail`] catches a listing whose cursors loop.
//! - [`GoCardsConfig`]: connection settings, checked when the client is built (`config`).
//! - [`GoCardsError`]: every failure, with the operator's message (`error`).
//! - The wire types: [`CardInfo`], [`ListCursor`], [`ChangedCardsPage`], [`OrderRequest`],
//!   [`OrderReply`], [`Article`], [`CancelReply`] (`types`).
//! - `transport`: the 1 MiB body cap and the mapping of transport failures.

mod client;
mod config;
mod error;
pub mod metrics;
mod token;
mod transport;
mod types;

pub use client::{
    CursorLoop, CursorTrail, GoCardsClient, RateLimitObserver, IDEMPOTENCY_HEADER,
    ORGANISATION_HEADER,
};
pub use config::GoCardsConfig;
pub use error::{parse_retry_after, GoCardsError, DEFAULT_RETRY_AFTER, MAX_RETRY_AFTER};
pub use transport::MAX_BODY_BYTES;
pub use types::{
    Article, ArticleList, CancelReply, CardInfo, ChangedCardsPage, DeliveryAddress, ListCursor,
    OrderReply, OrderRequest, OrderedCard,
};
