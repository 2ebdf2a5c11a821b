//! A reader of `GET /events`, as a browser's `EventSource` reads it: each event's name and
//! data, as they arrive, with the time they arrived.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;

/// One event off the stream.
#[derive(Clone, Debug)]
pub struct SseEvent {
    pub name: String,
    pub data: String,
    pub at: Instant,
}

impl SseEvent {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or(serde_json::Value::Null)
    }
}

/// An open stream; events are read in the background into a queue.
pub struct EventStream {
    pub status: u16,
    events: mpsc::UnboundedReceiver<SseEvent>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Opens `base/events` with `cookie`. A refusal (401, 503) comes back as its status, with
/// no events.
pub async fn open(http: &reqwest::Client, base: &str, cookie: Option<&str>) -> EventStream {
    let mut request = http
        .get(format!("{base}/events"))
        .header("accept", "text/event-stream");
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.expect("GET /events");
    let status = response.status().as_u16();
    let (tx, events) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        if status != 200 {
            return;
        }
        let mut body = response.bytes_stream();
        let mut pending = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            pending.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = pending.find("\n\n") {
                let frame: String = pending.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = Vec::new();
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.trim_start().to_owned());
                    }
                }
                // Comment-only frames (the heartbeat) carry no event.
                if data.is_empty() && name == "message" {
                    continue;
                }
                let event = SseEvent {
                    name,
                    data: data.join("\n"),
                    at: Instant::now(),
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
        }
    });
    EventStream {
        status,
        events,
        reader,
    }
}

impl EventStream {
    /// The next event named `name` within `limit`, skipping others; `None` at the limit or
    /// when the stream ended.
    pub async fn next_named(&mut self, name: &str, limit: Duration) -> Option<SseEvent> {
        self.next_where(limit, |e| e.name == name).await
    }

    /// The next `card` event of `card_id` within `limit`.
    pub async fn next_card(&mut self, card_id: &str, limit: Duration) -> Option<SseEvent> {
        self.next_where(limit, |e| {
            e.name == "card" && e.json()["card_id"] == card_id
        })
        .await
    }

    pub async fn next_where(
        &mut self,
        limit: Duration,
        mut wanted: impl FnMut(&SseEvent) -> bool,
    ) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) if wanted(&event) => return Some(event),
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Whether the stream has ended (the server closed it), waiting at most `limit`.
    pub async fn ended_within(&mut self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(_)) => continue,
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    }

    /// Everything received so far, without waiting.
    pub fn drain(&mut self) -> Vec<SseEvent> {
        let mut all = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            all.push(event);
        }
        all
    }
}
