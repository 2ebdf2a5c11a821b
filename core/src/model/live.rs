//! What `GET /events` sends: a committed change of a card, a job's progress, the batch sync's
//! progress. The same JSON travels between replicas in PostgreSQL's `NOTIFY`.

use serde::{Deserialize, Serialize};

use crate::domain::{CardState, JobCounts, JobStatus};
use crate::model::{RunPhase, RunStatus};

/// A card's state after a committed change or check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardEvent {
    pub card_id: String,
    pub state: CardState,
    /// Moves on with every change of state; a check that found nothing new keeps it.
    pub version: i64,
    pub gocards_status: Option<String>,
    /// RFC 3339, UTC.
    pub last_checked_at: Option<String>,
}

/// A job's counts, for whoever may see the job: its starter and admins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEvent {
    pub job_id: i64,
    /// The username of the job's starter.
    pub started_by: String,
    pub status: JobStatus,
    pub counts: JobCounts,
}

/// The batch sync's run, for admins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncEvent {
    pub run_id: i64,
    pub status: RunStatus,
    pub phase: RunPhase,
    pub total: Option<i64>,
    pub checked: i64,
    pub changed: i64,
}

/// One event, tagged with its SSE event name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    Card(CardEvent),
    Job(JobEvent),
    Sync(SyncEvent),
}

impl LiveEvent {
    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            LiveEvent::Card(_) => "card",
            LiveEvent::Job(_) => "job",
            LiveEvent::Sync(_) => "sync",
        }
    }

    /// Whether a desk user may receive this event: every card change goes to everyone; a job
    /// to its starter and admins; the sync to admins.
    pub fn visible_to(&self, username: &str, is_admin: bool) -> bool {
        match self {
            LiveEvent::Card(_) => true,
            LiveEvent::Job(job) => is_admin || job.started_by == username,
            LiveEvent::Sync(_) => is_admin,
        }
    }

    /// The SSE `data:` line: the event's own fields, without the tag.
    pub fn data_json(&self) -> String {
        let json = match self {
            LiveEvent::Card(e) => serde_json::to_string(e),
            LiveEvent::Job(e) => serde_json::to_string(e),
            LiveEvent::Sync(e) => serde_json::to_string(e),
        };
        json.unwrap_or_else(|_| "{}".to_owned())
    }
}

/// The SSE event that tells a page to re-read what it shows: it fell behind, or events were
/// lost between replicas.
pub const RELOAD_EVENT: &str = "reload";

/// The longest `NOTIFY` payload PostgreSQL takes is 8000 bytes; stay below it.
pub const MAX_PAYLOAD_BYTES: usize = 7_900;

/// Packs events into JSON arrays of at most [`MAX_PAYLOAD_BYTES`] each, in order. An event
/// too big on its own (a card with a huge GO Cards status) goes without that status; one
/// still too big is left out, and its count returned, so the caller can say so.
pub fn pack_payloads(events: &[LiveEvent]) -> (Vec<String>, usize) {
    let mut payloads = Vec::new();
    let mut current = String::from("[");
    let mut left_out = 0;
    for event in events {
        let Some(json) = event_json(event) else {
            left_out += 1;
            continue;
        };
        // `[` + items + `,` separators + `]`.
        if current.len() > 1 && current.len() + 1 + json.len() + 1 > MAX_PAYLOAD_BYTES {
            current.push(']');
            payloads.push(std::mem::replace(&mut current, String::from("[")));
        }
        if current.len() > 1 {
            current.push(',');
        }
        current.push_str(&json);
    }
    if current.len() > 1 {
        current.push(']');
        payloads.push(current);
    }
    (payloads, left_out)
}

fn event_json(event: &LiveEvent) -> Option<String> {
    let fits = |json: &String| json.len() + 2 <= MAX_PAYLOAD_BYTES;
    let json = serde_json::to_string(event).ok()?;
    if fits(&json) {
        return Some(json);
    }
    let LiveEvent::Card(card) = event else {
        return None;
    };
    let slim = LiveEvent::Card(CardEvent {
        gocards_status: None,
        ..card.clone()
    });
    serde_json::to_string(&slim).ok().filter(fits)
}

/// Reads a payload [`pack_payloads`] wrote.
pub fn unpack_payload(payload: &str) -> Result<Vec<LiveEvent>, serde_json::Error> {
    serde_json::from_str(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn card(id: &str, status: Option<String>) -> LiveEvent {
        LiveEvent::Card(CardEvent {
            card_id: id.to_owned(),
            state: CardState::InProduction,
            version: 3,
            gocards_status: status,
            last_checked_at: Some("2026-12-01T10:00:00Z".to_owned()),
        })
    }

    #[test]
    fn a_card_event_goes_to_everyone_a_job_to_its_starter_and_admins_the_sync_to_admins() {
        let job = LiveEvent::Job(JobEvent {
            job_id: 1,
            started_by: "anna".into(),
            status: JobStatus::Running,
            counts: JobCounts::default(),
        });
        let sync = LiveEvent::Sync(SyncEvent {
            run_id: 1,
            status: RunStatus::Running,
            phase: RunPhase::Polling,
            total: Some(10),
            checked: 2,
            changed: 1,
        });
        assert!(card("CA1", None).visible_to("bob", false));
        assert!(job.visible_to("anna", false));
        assert!(!job.visible_to("bob", false));
        assert!(job.visible_to("bob", true));
        assert!(!sync.visible_to("anna", false));
        assert!(sync.visible_to("root", true));
    }

    #[test]
    fn the_data_line_is_the_spec_s_fields_without_the_tag() {
        let data = card("CA1", Some("IN_PRODUCTION".into())).data_json();
        let value: serde_json::Value = serde_json::from_str(&data).expect("json");
        assert_eq!(value["card_id"], "CA1");
        assert_eq!(value["state"], "in_production");
        assert_eq!(value["version"], 3);
        assert_eq!(value["gocards_status"], "IN_PRODUCTION");
        assert!(value.get("type").is_none());
    }

    #[test]
    fn a_huge_status_is_dropped_to_fit_and_nothing_else_is_lost() {
        let events = vec![card("CA1", Some("X".repeat(20_000))), card("CA2", None)];
        let (payloads, left_out) = pack_payloads(&events);
        assert_eq!(left_out, 0);
        let back: Vec<LiveEvent> = payloads
            .iter()
            .flat_map(|p| unpack_payload(p).expect("a payload"))
            .collect();
        assert_eq!(back, vec![card("CA1", None), card("CA2", None)]);
    }

    proptest! {
        #[test]
        fn payloads_fit_in_a_notify_and_keep_every_event_in_order(
            ids in proptest::collection::vec("[A-Z0-9-]{1,40}", 0..300),
            status in proptest::option::of("[ -~]{0,300}"),
        ) {
            let events: Vec<LiveEvent> = ids.iter().map(|id| card(id, status.clone())).collect();
            let (payloads, left_out) = pack_payloads(&events);
            prop_assert_eq!(left_out, 0);
            for payload in &payloads {
                prop_assert!(payload.len() <= MAX_PAYLOAD_BYTES, "{}", payload.len());
            }
            let back: Vec<LiveEvent> = payloads.iter().flat_map(|p| unpack_payload(p).expect("a payload")).collect();
            prop_assert_eq!(back, events);
        }
    }
}
