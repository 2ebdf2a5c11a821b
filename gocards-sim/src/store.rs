//! The simulator's cards, indexed by `(updated, cardId)` for the keyset listing.
//!
//! `updated` comes from one clock that only moves forward (millisecond steps), so every
//! change gets a key above every key a cursor may already point at: a card that changes
//! again moves to the end of the listing, and a walk of the cursors sees it once more.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use chrono::{DateTime, Utc};
use desk_core::domain::GoCardsStatus;
use gocards::CardInfo;
use sha2::{Digest, Sha256};

/// One in this many `advance` steps fails a card (3%).
const FAILURES_PER_10K_STEPS: u64 = 300;
const FAILURE_REASONS: [&str; 4] = [
    "chip test failed",
    "embossing fault",
    "photo rejected by quality control",
    "card body damaged in production",
];

struct StoredCard {
    info: CardInfo,
    /// `info.updated` in ms since the epoch: the listing key.
    updated_ms: i64,
    /// How many times `advance` moved this card; seeds its next step.
    advance_steps: u32,
    /// When the production line moves this card next (ms), once the line has seen it.
    due_ms: Option<i64>,
}

/// Where a listing page starts.
pub(crate) enum ListStart {
    Beginning,
    /// Strictly after this `(updated ms, cardId)` key.
    AfterKey(i64, String),
    /// Strictly after this `updated` ms, any card id.
    AfterMillis(i64),
}

/// What `POST /api/card/{cardId}/cancel` found.
pub(crate) enum CancelOutcome {
    /// Was ORDERED or IN_PRODUCTION; now CANCELLED, `updated` bumped.
    Cancelled(CardInfo),
    /// Was CANCELLED already; unchanged.
    AlreadyCancelled(CardInfo),
    /// Past cancelling; the card's status, unchanged.
    TooLate(GoCardsStatus),
    Unknown,
}

#[derive(Default)]
pub(crate) struct CardStore {
    cards: HashMap<String, StoredCard>,
    by_update: BTreeSet<(i64, String)>,
    last_updated_ms: i64,
}

impl CardStore {
    /// The next `updated`: now, but always after the last one given.
    fn tick(&mut self) -> i64 {
        let now = Utc::now().timestamp_millis();
        self.last_updated_ms = now.max(self.last_updated_ms.saturating_add(1));
        self.last_updated_ms
    }

    /// Stores `info` with `updated` set to `updated_ms`, moving it in the index.
    fn put(&mut self, mut info: CardInfo, updated_ms: i64) -> CardInfo {
        info.updated = Some(millis_to_time(updated_ms));
        let advance_steps = match self.cards.get(&info.card_id) {
            Some(old) => {
                self.by_update
                    .remove(&(old.updated_ms, info.card_id.clone()));
                old.advance_steps
            }
            None => 0,
        };
        self.by_update.insert((updated_ms, info.card_id.clone()));
        self.cards.insert(
            info.card_id.clone(),
            StoredCard {
                info: info.clone(),
                updated_ms,
                advance_steps,
                due_ms: None,
            },
        );
        info
    }

    /// Creates or replaces cards. They share one new `updated` (one change, made atomically);
    /// the `updated` they came with is ignored.
    pub fn upsert(&mut self, cards: Vec<CardInfo>) -> usize {
        let updated_ms = self.tick();
        let count = cards.len();
        for card in cards {
            self.put(card, updated_ms);
        }
        count
    }

    pub fn get(&self, card_id: &str) -> Option<CardInfo> {
        self.cards.get(card_id).map(|stored| stored.info.clone())
    }

    pub fn contains(&self, card_id: &str) -> bool {
        self.cards.contains_key(card_id)
    }

    pub fn len(&self) -> usize {
        self.cards.len()
    }

    /// Forces a status (any string) and bumps `updated`. `None` for an unknown card.
    pub fn set_status(
        &mut self,
        card_id: &str,
        status: GoCardsStatus,
        failure_reason: Option<String>,
    ) -> Option<CardInfo> {
        let mut info = self.get(card_id)?;
        let updated_ms = self.tick();
        apply_status(
            &mut info,
            status,
            failure_reason,
            millis_to_time(updated_ms),
        );
        Some(self.put(info, updated_ms))
    }

    /// Cancels an open card with `reason` as its `failureReason`.
    pub fn cancel(&mut self, card_id: &str, reason: &str) -> CancelOutcome {
        let Some(card) = self.get(card_id) else {
            return CancelOutcome::Unknown;
        };
        match card.status {
            GoCardsStatus::Cancelled => CancelOutcome::AlreadyCancelled(card),
            GoCardsStatus::Ordered | GoCardsStatus::InProduction => {
                match self.set_status(card_id, GoCardsStatus::Cancelled, Some(reason.to_owned())) {
                    Some(cancelled) => CancelOutcome::Cancelled(cancelled),
                    None => CancelOutcome::Unknown,
                }
            }
            // PRODUCED, SHIPPED, DELIVERED, FAILED, and any status the simulator was told.
            status => CancelOutcome::TooLate(status),
        }
    }

    /// Up to `size` cards in `(updated, cardId)` order from `start`, and whether more follow.
    pub fn page(&self, start: &ListStart, size: usize) -> (Vec<CardInfo>, bool) {
        let lower = match start {
            ListStart::Beginning => Bound::Unbounded,
            ListStart::AfterKey(ms, card_id) => Bound::Excluded((*ms, card_id.clone())),
            ListStart::AfterMillis(ms) => Bound::Included((ms.saturating_add(1), String::new())),
        };
        let mut keys = self.by_update.range((lower, Bound::Unbounded));
        let items = keys
            .by_ref()
            .take(size)
            .filter_map(|(_, card_id)| self.get(card_id))
            .collect();
        (items, keys.next().is_some())
    }

    /// Moves every open card (ORDERED, IN_PRODUCTION) one step forward; a few fail. The step
    /// depends only on the card id and how often it moved before, so a demo repeats.
    pub fn advance(&mut self) -> Vec<CardInfo> {
        let mut open: Vec<String> = self
            .cards
            .values()
            .filter(|stored| stored.info.status.is_open())
            .map(|stored| stored.info.card_id.clone())
            .collect();
        if open.is_empty() {
            return Vec::new();
        }
        open.sort();
        let updated_ms = self.tick();
        let now = millis_to_time(updated_ms);
        let mut moved = Vec::with_capacity(open.len());
        for card_id in open {
            let Some(stored) = self.cards.get_mut(&card_id) else {
                continue;
            };
            let roll = step_roll(&card_id, stored.advance_steps);
            stored.advance_steps = stored.advance_steps.saturating_add(1);
            let mut info = stored.info.clone();
            let (status, reason) = next_step(&info.status, roll);
            apply_status(&mut info, status, reason, now);
            moved.push(self.put(info, updated_ms));
        }
        moved
    }
}

impl CardStore {
    /// One turn of the production line at `now_ms`: each card on the line (ORDERED,
    /// IN_PRODUCTION, PRODUCED, SHIPPED) is given a time within `step_ms` of its last change,
    /// and once that time has come it moves one status on, or, with `fail_share`, while in
    /// production, to FAILED. `roll` draws a number in `[0, 1)`. Returns the moved cards.
    pub fn production_step(
        &mut self,
        now_ms: i64,
        step_ms: i64,
        fail_share: f64,
        roll: &mut impl FnMut() -> f64,
    ) -> Vec<CardInfo> {
        let mut due: Vec<(i64, String)> = Vec::new();
        for stored in self.cards.values_mut() {
            if line_step(&stored.info.status).is_none() {
                stored.due_ms = None;
                continue;
            }
            let at = *stored.due_ms.get_or_insert_with(|| {
                // Truncation is the point: a whole millisecond within the step.
                stored.updated_ms + (roll() * step_ms as f64) as i64
            });
            if at <= now_ms {
                due.push((at, stored.info.card_id.clone()));
            }
        }
        if due.is_empty() {
            return Vec::new();
        }
        // The longest-waiting first, and at most MAX_LINE_MOVES a turn: a demo database of a
        // million open orders gets a steady stream of events, not a flood that buries the
        // desk's webhook. The rest stay due for the next turns.
        due.sort();
        due.truncate(MAX_LINE_MOVES);
        let mut moved = Vec::with_capacity(due.len());
        for (_, card_id) in due {
            let Some(mut info) = self.get(&card_id) else {
                continue;
            };
            let Some(next) = line_step(&info.status) else {
                continue;
            };
            let in_production = matches!(
                info.status,
                GoCardsStatus::Ordered | GoCardsStatus::InProduction
            );
            let (status, reason) = if in_production && roll() < fail_share {
                let pick = (roll() * FAILURE_REASONS.len() as f64) as usize;
                let reason = FAILURE_REASONS
                    .get(pick)
                    .copied()
                    .unwrap_or("production failed");
                (GoCardsStatus::Failed, Some(reason.to_owned()))
            } else {
                (next, None)
            };
            let updated_ms = self.tick();
            apply_status(&mut info, status, reason, millis_to_time(updated_ms));
            moved.push(self.put(info, updated_ms));
        }
        moved
    }
}

/// The most cards one turn of the production line moves (a turn a second at most).
pub const MAX_LINE_MOVES: usize = 100;

/// The status after `current` on the production line, `None` off it.
fn line_step(current: &GoCardsStatus) -> Option<GoCardsStatus> {
    match current {
        GoCardsStatus::Ordered => Some(GoCardsStatus::InProduction),
        GoCardsStatus::InProduction => Some(GoCardsStatus::Produced),
        GoCardsStatus::Produced => Some(GoCardsStatus::Shipped),
        GoCardsStatus::Shipped => Some(GoCardsStatus::Delivered),
        _ => None,
    }
}

/// The step an open card takes for a given roll.
fn next_step(current: &GoCardsStatus, roll: u64) -> (GoCardsStatus, Option<String>) {
    if roll % 10_000 < FAILURES_PER_10K_STEPS {
        let pick = (roll / 10_000) as usize % FAILURE_REASONS.len();
        let reason = FAILURE_REASONS
            .get(pick)
            .copied()
            .unwrap_or("production failed");
        return (GoCardsStatus::Failed, Some(reason.to_owned()));
    }
    match current {
        GoCardsStatus::Ordered => (GoCardsStatus::InProduction, None),
        _ => (GoCardsStatus::Produced, None),
    }
}

/// A number fixed by the card id and its step count (SHA-256, stable across versions).
fn step_roll(card_id: &str, step: u32) -> u64 {
    let digest = Sha256::new()
        .chain_update(card_id.as_bytes())
        .chain_update(step.to_be_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Sets the status and the dates a real production line would set with it.
fn apply_status(
    info: &mut CardInfo,
    status: GoCardsStatus,
    failure_reason: Option<String>,
    now: DateTime<Utc>,
) {
    match status {
        GoCardsStatus::Produced | GoCardsStatus::Shipped => {
            info.produced.get_or_insert(now);
        }
        GoCardsStatus::Delivered => {
            info.produced.get_or_insert(now);
            info.delivered.get_or_insert(now);
        }
        _ => {}
    }
    info.status = status;
    info.failure_reason = failure_reason;
}

pub(crate) fn millis_to_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(id: &str, status: &str) -> CardInfo {
        CardInfo {
            card_id: id.to_owned(),
            article_id: "KSK-K11686X".to_owned(),
            card_holder_email: "a@example.org".to_owned(),
            card_elements: Default::default(),
            status: GoCardsStatus::parse(status),
            failure_reason: None,
            ordered: None,
            produced: None,
            delivered: None,
            activated: None,
            updated: None,
        }
    }

    #[test]
    fn a_changed_card_moves_to_the_end() {
        let mut store = CardStore::default();
        store.upsert(vec![
            card("A", "ORDERED"),
            card("B", "ORDERED"),
            card("C", "ORDERED"),
        ]);
        let (first, more) = store.page(&ListStart::Beginning, 2);
        assert!(more);
        let ids: Vec<_> = first.iter().map(|c| c.card_id.as_str()).collect();
        assert_eq!(ids, ["A", "B"]);
        store.set_status("A", GoCardsStatus::InProduction, None);
        let last = first
            .last()
            .and_then(|c| c.updated)
            .map(|t| t.timestamp_millis());
        let start = ListStart::AfterKey(last.unwrap_or_default(), "B".to_owned());
        let (rest, more) = store.page(&start, 10);
        let ids: Vec<_> = rest.iter().map(|c| c.card_id.as_str()).collect();
        assert_eq!(ids, ["C", "A"]);
        assert!(!more);
    }

    #[test]
    fn the_production_line_moves_each_card_one_status_on_once_its_time_has_come() {
        let mut store = CardStore::default();
        store.upsert(vec![
            card("A", "ORDERED"),
            card("B", "SHIPPED"),
            card("C", "DELIVERED"),
            card("D", "CANCELLED"),
        ]);
        let start = store.last_updated_ms;
        let mut half = || 0.5;
        // Due half a step after their change: nothing yet at a quarter.
        assert!(store
            .production_step(start + 250, 1000, 0.0, &mut half)
            .is_empty());
        let moved = store.production_step(start + 500, 1000, 0.0, &mut half);
        let statuses: Vec<(String, String)> = moved
            .iter()
            .map(|c| (c.card_id.clone(), c.status.to_string()))
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("A".into(), "IN_PRODUCTION".into()),
                ("B".into(), "DELIVERED".into())
            ]
        );
        // Each move bumps `updated`, and the next move is a step after it.
        let a_updated = store
            .get("A")
            .and_then(|a| a.updated)
            .expect("updated")
            .timestamp_millis();
        assert!(a_updated > start);
        assert!(store
            .production_step(a_updated + 400, 1000, 0.0, &mut half)
            .is_empty());
        let again = store.production_step(a_updated + 500, 1000, 0.0, &mut half);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].status, GoCardsStatus::Produced);
        assert!(again[0].produced.is_some());
    }

    #[test]
    fn a_turn_moves_at_most_max_line_moves_the_longest_waiting_first() {
        let mut store = CardStore::default();
        store.upsert(
            (0..MAX_LINE_MOVES + 50)
                .map(|n| card(&format!("C{n:05}"), "ORDERED"))
                .collect(),
        );
        let start = store.last_updated_ms;
        let mut draw = 0.0_f64;
        let mut rising = || {
            draw = (draw + 0.001) % 1.0;
            draw
        };
        let moved = store.production_step(start + 1_000, 1000, 0.0, &mut rising);
        assert_eq!(moved.len(), MAX_LINE_MOVES);
        // The next turn takes the ones left waiting (due by 150 ms; the moved ones are due
        // again only later); none moves twice.
        let rest = store.production_step(start + 150, 1000, 0.0, &mut rising);
        assert_eq!(rest.len(), 50);
        assert!(rest.iter().all(|c| c.status == GoCardsStatus::InProduction));
        assert!(rest
            .iter()
            .all(|c| moved.iter().all(|m| m.card_id != c.card_id)));
    }

    #[test]
    fn the_production_line_fails_its_share_while_in_production_only() {
        let mut store = CardStore::default();
        store.upsert(vec![card("A", "ORDERED"), card("B", "PRODUCED")]);
        let start = store.last_updated_ms;
        let mut always = || 0.0;
        let moved = store.production_step(start + 1, 1000, 1.0, &mut always);
        let a = moved.iter().find(|c| c.card_id == "A").expect("A moved");
        assert_eq!(a.status, GoCardsStatus::Failed);
        assert!(a.failure_reason.is_some());
        let b = moved.iter().find(|c| c.card_id == "B").expect("B moved");
        assert_eq!(b.status, GoCardsStatus::Shipped);
    }

    #[test]
    fn advance_is_deterministic_and_only_moves_open_cards() {
        let run = || {
            let mut store = CardStore::default();
            let mut cards: Vec<_> = (0..50)
                .map(|i| card(&format!("CA00000000{i:02}-AAAAAAAA"), "ORDERED"))
                .collect();
            cards.push(card("DONE", "DELIVERED"));
            store.upsert(cards);
            for _ in 0..3 {
                store.advance();
            }
            let mut seen: Vec<_> = (0..50)
                .filter_map(|i| store.get(&format!("CA00000000{i:02}-AAAAAAAA")))
                .map(|c| (c.card_id, c.status.as_str().to_owned(), c.failure_reason))
                .collect();
            seen.push((
                "DONE".into(),
                store
                    .get("DONE")
                    .map(|c| c.status.as_str().to_owned())
                    .unwrap_or_default(),
                None,
            ));
            seen
        };
        let first = run();
        assert_eq!(first, run());
        assert!(first
            .iter()
            .all(|(_, status, _)| status != "ORDERED" && status != "IN_PRODUCTION"));
        assert!(first.iter().any(|(_, status, _)| status == "PRODUCED"));
        assert_eq!(first.last().map(|(_, s, _)| s.as_str()), Some("DELIVERED"));
    }
}
