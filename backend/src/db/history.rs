//! The card history: one row per event.

use sqlx::FromRow;

use super::{on_pool, to_rfc3339, Db};
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
        let sql = "SELECT at, kind, source, actor, from_state, to_state, gocards_status, detail \
                   FROM card_history WHERE card_id = $1 ORDER BY id DESC LIMIT $2";
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
}
