//! Live events: every committed change of a card, a job's progress and the batch sync's
//! progress reach the open `/events` streams of every replica.
//!
//! - On PostgreSQL a card change is published with `NOTIFY` in the change's own transaction,
//!   so it goes out only if the transaction commits. Each replica `LISTEN`s on one connection
//!   of its own ([`Db::listen`](crate::db::Db::listen)) and relays what it hears to its
//!   streams, its own changes included.
//! - On SQLite, one process, the change is handed to the in-process [`Events`] after commit.
//!
//! Each replica's [`Events`] is a bounded broadcast: a stream that falls more than
//! [`EVENTS_BUFFER`] events behind is told to reload, instead of the server holding events for
//! it without limit.

use std::sync::Arc;
use std::time::Duration;

use desk_core::model::LiveEvent;
use tokio::sync::{broadcast, watch};

/// The `NOTIFY` channel.
pub const CHANNEL: &str = "card_changes";

/// The events a replica holds for its slowest stream. Past it, that stream is sent `reload`.
pub const EVENTS_BUFFER: usize = 1024;

/// What a stream receives from its replica.
#[derive(Clone, Debug)]
pub enum Relayed {
    Event(Arc<LiveEvent>),
    /// Events may have been missed (the `LISTEN` connection dropped): re-read the page.
    Reload,
}

/// One replica's hub of live events.
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

struct Inner {
    sender: broadcast::Sender<Relayed>,
    /// `true` once the process shuts down: every stream ends.
    closed: watch::Sender<bool>,
    /// `true` while the `LISTEN` connection is up (always, on SQLite).
    listening: watch::Sender<bool>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("streams", &self.inner.sender.receiver_count())
            .finish()
    }
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(EVENTS_BUFFER);
        Events {
            inner: Arc::new(Inner {
                sender,
                closed: watch::channel(false).0,
                listening: watch::channel(false).0,
            }),
        }
    }

    /// A new stream's receiver: everything published from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            events: self.inner.sender.subscribe(),
            closed: self.inner.closed.subscribe(),
        }
    }

    /// Hands committed events to this replica's streams.
    pub fn publish(&self, events: impl IntoIterator<Item = LiveEvent>) {
        for event in events {
            // An error only says no stream is open.
            let _ = self.inner.sender.send(Relayed::Event(Arc::new(event)));
        }
    }

    /// Tells every stream to re-read its page.
    pub fn reload_all(&self) {
        let _ = self.inner.sender.send(Relayed::Reload);
    }

    /// Ends every stream, for a shutdown: open streams would otherwise hold the HTTP server's
    /// graceful stop until its limit.
    pub fn shut_down(&self) {
        self.inner.closed.send_replace(true);
    }

    /// Resolves once the process shuts down.
    pub async fn until_shut_down(&self) {
        let mut closed = self.inner.closed.subscribe();
        let _ = closed.wait_for(|closed| *closed).await;
    }

    /// Streams open now.
    pub fn streams(&self) -> usize {
        self.inner.sender.receiver_count()
    }

    pub(crate) fn set_listening(&self, up: bool) {
        self.inner.listening.send_replace(up);
    }

    /// Waits until the replica hears `NOTIFY`s (at once on SQLite), at most `limit`.
    pub async fn wait_listening(&self, limit: Duration) -> bool {
        let mut up = self.inner.listening.subscribe();
        tokio::time::timeout(limit, up.wait_for(|up| *up))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// One stream's receiving end.
pub struct Subscription {
    events: broadcast::Receiver<Relayed>,
    closed: watch::Receiver<bool>,
}

/// What a stream does next.
#[derive(Debug)]
pub enum Next {
    Event(Arc<LiveEvent>),
    /// It fell behind, or events were lost: the page re-reads.
    Reload,
    /// The process is shutting down.
    Closed,
}

impl Subscription {
    pub async fn next(&mut self) -> Next {
        if *self.closed.borrow() {
            return Next::Closed;
        }
        tokio::select! {
            got = self.events.recv() => match got {
                Ok(Relayed::Event(event)) => Next::Event(event),
                Ok(Relayed::Reload) => Next::Reload,
                // Behind by more than the buffer: what was missed is gone; reload once and
                // go on from the oldest event still held.
                Err(broadcast::error::RecvError::Lagged(_)) => Next::Reload,
                Err(broadcast::error::RecvError::Closed) => Next::Closed,
            },
            _ = self.closed.wait_for(|closed| *closed) => Next::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use desk_core::domain::CardState;
    use desk_core::model::CardEvent;

    fn card(n: usize) -> LiveEvent {
        LiveEvent::Card(CardEvent {
            card_id: format!("CA{n}"),
            state: CardState::Produced,
            version: 2,
            gocards_status: None,
            last_checked_at: None,
        })
    }

    #[tokio::test]
    async fn a_stream_gets_what_is_published_after_it_opened_in_order() {
        let events = Events::new();
        events.publish([card(0)]);
        let mut stream = events.subscribe();
        events.publish([card(1), card(2)]);
        for n in [1, 2] {
            match stream.next().await {
                Next::Event(e) => assert_eq!(*e, card(n)),
                other => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_stream_that_falls_behind_is_told_to_reload_and_the_buffer_stays_bounded() {
        let events = Events::new();
        let mut slow = events.subscribe();
        events.publish((0..EVENTS_BUFFER * 3).map(card));
        assert!(matches!(slow.next().await, Next::Reload));
        // It goes on from the oldest event still held: the last EVENTS_BUFFER ones.
        match slow.next().await {
            Next::Event(e) => assert_eq!(*e, card(EVENTS_BUFFER * 2)),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn shutting_down_ends_every_stream() {
        let events = Events::new();
        let mut stream = events.subscribe();
        let waiting = tokio::spawn(async move { stream.next().await });
        tokio::task::yield_now().await;
        events.shut_down();
        assert!(matches!(waiting.await.expect("joined"), Next::Closed));
        assert!(matches!(events.subscribe().next().await, Next::Closed));
    }
}
