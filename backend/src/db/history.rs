//! The card history: one row per event, except that an error repeated identically (the
//! sync asking GO Cards while it is down, run after run) bumps the newest row's `repeats`
//! and `last_at` instead of adding rows, so a card's real history stays in view.

use sqlx::FromRow;

use super::{on_pool, rows_affected, to_rfc3339, Db};
use desk_core::domain::CardState;
use desk_core::model::{HistoryEntry, HistoryKind, HistorySource};

/// A history event about to be written.
#[derive(Clone, Debug)]
pub struct NewHistory<'a> {
    pub kind: HistoryKind,
    pub source: HistorySource,
    pub actor: Option<&'a str>,
    pub from_state: CardState,
    pub to_state: CardState,
    pub gocards_status: Option<&'a str>,
    pub detail: Option<&'a str>,
}

pub(crate) const INSERT_HISTORY: &str = "INSERT INTO card_history \
    (card_id, at, kind, source, actor, from_state, to_state, gocards_status, detail) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Binds a `NewHistory` to `INSERT_HISTORY` and runs it on `$executor`.
macro_rules! insert_history {
    ($executor:expr, $card_id:expr, $at:expr, $event:expr) => {
        sqlx::query($crate::db::history::INSERT_HISTORY)
            .bind($card_id)
            .bind($at)
            .bind($event.kind.as_str())
            .bind($event.source.as_str())
            .bind($event.actor)
            .bind($event.from_state.as_str())
            .bind($event.to_state.as_str())
            .bind($event.gocards_status)
            .bind($event.detail)
            .execute($executor)
    };
}
pub(crate) use insert_history;

#[derive(FromRow)]
struct HistoryRow {
    at: i64,
    kind: String,
    source: String,
    actor: Option<String>,
    from_state: String,
    to_state: String,
    gocards_status: Option<String>,
    detail: Option<String>,
    repeats: i64,
    last_at: Option<i64>,
}

impl HistoryRow {
    fn into_entry(self) -> Option<HistoryEntry> {
        Some(HistoryEntry {
            at: to_rfc3339(self.at),
            kind: HistoryKind::parse(&self.kind)?,
            source: HistorySource::parse(&self.source)?,
            actor: self.actor,
            from_state: self.from_state.parse().ok()?,
            to_state: self.to_state.parse().ok()?,
            gocards_status: self.gocards_status,
            detail: self.detail,
            repeats: self.repeats,
            last_at: self.last_at.map(to_rfc3339),
        })
    }
}

impl Db {
    /// A card's history, newest first.
    pub async fn card_history(
        &self,
        card_id: &str,
        limit: i64,
    ) -> Result<Vec<HistoryEntry>, sqlx::Error> {
        let sql = "SELECT at, kind, source, actor, from_state, to_state, gocards_status, detail, \
                   repeats, last_at FROM card_history WHERE card_id = $1 ORDER BY id DESC LIMIT $2";
        let rows = on_pool!(self, pool => sqlx::query_as::<_, HistoryRow>(sql)
            .bind(card_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .filter_map(HistoryRow::into_entry)
            .collect())
    }

    /// The newest row of a card's history that `actor` made by hand (a single command, or a
    /// job's item) at `since` (ms) or later.
    pub async fn manual_history_since(
        &self,
        card_id: &str,
        actor: &str,
        since: i64,
    ) -> Result<Option<HistoryEntry>, sqlx::Error> {
        let sql = "SELECT at, kind, source, actor, from_state, to_state, gocards_status, detail, \
                   repeats, last_at FROM card_history WHERE card_id = $1 AND actor = $2 \
                   AND source = $3 AND at >= $4 ORDER BY id DESC LIMIT 1";
        let row = on_pool!(self, pool => sqlx::query_as::<_, HistoryRow>(sql)
            .bind(card_id)
            .bind(actor)
            .bind(HistorySource::Manual.as_str())
            .bind(since)
            .fetch_optional(pool)
            .await)?;
        Ok(row.and_then(HistoryRow::into_entry))
    }

    pub async fn count_history(&self, card_id: &str) -> Result<i64, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM card_history WHERE card_id = $1")
            .bind(card_id)
            .fetch_one(pool)
            .await)
    }
}

impl Db {
    /// Writes a history row alone: for attempts refused before GO Cards was asked.
    pub async fn append_history(
        &self,
        card_id: &str,
        event: &NewHistory<'_>,
    ) -> Result<(), sqlx::Error> {
        let now = super::now_ms();
        on_pool!(self, pool => insert_history!(pool, card_id, now, event).await.map(|_| ()))
    }

    /// Writes `event`, or, when the card's newest row is the same event (kind, source,
    /// actor, states, GO Cards status and detail all equal), counts it there once more
    /// ("failed again (×N, last at …)"). `true`: it was counted on the newest row.
    pub async fn append_history_collapsing(
        &self,
        card_id: &str,
        event: &NewHistory<'_>,
    ) -> Result<bool, sqlx::Error> {
        let now = super::now_ms();
        // One statement, so the newest row cannot change between the comparison and the
        // count. Two identical events racing may both miss it and add a row each: harmless.
        let counted = rows_affected!(
            self,
            sqlx::query(
                "UPDATE card_history SET repeats = repeats + 1, last_at = $2 \
                 WHERE id = (SELECT MAX(id) FROM card_history WHERE card_id = $1) \
                 AND kind = $3 AND source = $4 AND COALESCE(actor, '') = COALESCE($5, '') \
                 AND from_state = $6 AND to_state = $7 \
                 AND COALESCE(gocards_status, '') = COALESCE($8, '') \
                 AND COALESCE(detail, '') = COALESCE($9, '')",
            )
            .bind(card_id)
            .bind(now)
            .bind(event.kind.as_str())
            .bind(event.source.as_str())
            .bind(event.actor)
            .bind(event.from_state.as_str())
            .bind(event.to_state.as_str())
            .bind(event.gocards_status)
            .bind(event.detail)
        )?;
        if counted == 1 {
            return Ok(true);
        }
        on_pool!(self, pool => insert_history!(pool, card_id, now, event).await.map(|_| ()))?;
        Ok(false)
    }
}
