//! The rows of the CSV exports, read a page at a time: each page is one short query, found
//! by keyset (after the last row of the page before), so an export of a million rows holds
//! one page in memory and no connection between pages, and no statement runs long (on
//! PostgreSQL each stays under `statement_timeout`). Pages are read as the previous one has
//! been sent: the export is not one snapshot, a row changed during it shows as it was when
//! its page was read.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use futures::Stream;
use sqlx::FromRow;

use super::cards::{CardRow, SearchPlan, CARD_COLUMNS, SORT_MATCHES_UP_TO};
use super::{on_pool, to_rfc3339, Db};
use desk_core::domain::CardState;
use desk_core::export::{CardExportRow, HolderExportRow};
use desk_core::model::{search_key, AuditEntry, CardSearch, HistoryEntry, HolderSearch};

/// Rows a page: big enough that a page's query costs little beside its rows, small enough
/// that a page stays a fraction of a megabyte.
pub const EXPORT_PAGE: i64 = 2_000;

/// An export's rows, page by page, until the last page; a storage error ends it.
pub type Pages<T> = Pin<Box<dyn Stream<Item = Result<Vec<T>, sqlx::Error>> + Send>>;

/// Pages read by `read(cursor)`, which gives a page and the cursor after it (`None`: that was
/// the last page). An empty page ends the stream too.
///
/// The next page is read while the one before is being sent: as soon as a page arrives, the
/// read of the one after it starts on a task of its own, so the database and the writing of
/// CSV to the connection overlap. At most two pages are in memory. A stream dropped early
/// (the client went away) leaves that one read to finish and be dropped.
pub fn keyset_pages<C, T, F, Fut>(start: C, read: F) -> Pages<T>
where
    C: Send + 'static,
    T: Send + 'static,
    F: FnMut(C) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Vec<T>, Option<C>), sqlx::Error>> + Send + 'static,
{
    type Read<T, C> = tokio::task::JoinHandle<Result<(Vec<T>, Option<C>), sqlx::Error>>;
    enum Next<T, C> {
        Start(C),
        Reading(Read<T, C>),
        Done,
    }
    Box::pin(futures::stream::try_unfold(
        (Next::Start(start), read),
        |(next, mut read)| async move {
            let reading: Read<T, C> = match next {
                Next::Start(cursor) => tokio::spawn(read(cursor)),
                Next::Reading(reading) => reading,
                Next::Done => return Ok(None),
            };
            let (rows, after) = reading
                .await
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))??;
            if rows.is_empty() {
                return Ok(None);
            }
            let next = match after {
                Some(cursor) => Next::Reading(tokio::spawn(read(cursor))),
                None => Next::Done,
            };
            Ok(Some((rows, (next, read))))
        },
    ))
}

/// The cursor after a page: `None` when the page was not full.
fn next_cursor<T, C>(rows: &[T], limit: i64, key: impl Fn(&T) -> C) -> Option<C> {
    if (rows.len() as i64) < limit {
        return None;
    }
    rows.last().map(key)
}

impl From<CardRow> for CardExportRow {
    fn from(row: CardRow) -> CardExportRow {
        CardExportRow {
            card_id: row.card_id,
            first_name: row.first_name,
            last_name: row.last_name,
            email: row.email,
            employee_id: row.employee_id,
            state: row.state,
            ordered_at: row.ordered_at.map(to_rfc3339),
            last_checked_at: row.last_checked_at.map(to_rfc3339),
            gocards_status: row.gocards_status,
            failure_reason: row.failure_reason,
        }
    }
}

#[derive(FromRow)]
struct HolderRow {
    id: i64,
    first_name: String,
    last_name: String,
    email: String,
    employee_id: String,
}

#[derive(FromRow)]
struct HistoryRow {
    id: i64,
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
        use desk_core::model::{HistoryKind, HistorySource};
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

#[derive(FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    detail: String,
}

/// Whether any of the text fields narrows the search.
fn has_prefix(fields: [&String; 4]) -> bool {
    fields.iter().any(|v| !search_key(v).is_empty())
}

impl Db {
    /// How an export of `search` walks the cards in card-ID order: through a prefix index
    /// and a sort of the matches while they are fewer than [`SORT_MATCHES_UP_TO`], else in
    /// card order, keeping the matches (a sort of every match on each page would cost the
    /// square of the matches).
    async fn export_plan(&self, search: &CardSearch) -> Result<SearchPlan, sqlx::Error> {
        if !has_prefix([
            &search.last_name,
            &search.first_name,
            &search.email,
            &search.employee_id,
        ]) {
            return Ok(SearchPlan::ByPrefix);
        }
        let (filter, binds) = Db::search_filter(search, SearchPlan::ByPrefix);
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM cards c WHERE {filter} LIMIT {SORT_MATCHES_UP_TO}) m"
        );
        let matches: i64 = on_pool!(self, pool => {
            let mut query = sqlx::query_scalar::<_, i64>(&sql);
            for bind in &binds {
                query = query.bind(bind);
            }
            query.fetch_one(pool).await
        })?;
        Ok(if matches >= SORT_MATCHES_UP_TO {
            SearchPlan::InCardOrder
        } else {
            SearchPlan::ByPrefix
        })
    }

    /// One page of the cards matching `search` (its filters; its page and sort do not
    /// apply), by card ID, after `after`.
    pub async fn export_cards_page(
        &self,
        search: &CardSearch,
        plan: SearchPlan,
        after: &str,
        limit: i64,
    ) -> Result<Vec<CardExportRow>, sqlx::Error> {
        let (filter, mut binds) = Db::search_filter(search, plan);
        binds.push(after.to_owned());
        let sql = format!(
            "SELECT {CARD_COLUMNS} FROM cards c JOIN card_holders h ON h.id = c.holder_id \
             WHERE {filter} AND c.card_id > ${} ORDER BY c.card_id LIMIT {limit}",
            binds.len()
        );
        let rows: Vec<CardRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, CardRow>(&sql);
            for bind in &binds {
                query = query.bind(bind);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(CardExportRow::from).collect())
    }

    /// Every card matching `search`, by card ID, a page at a time.
    pub async fn export_cards(
        &self,
        search: CardSearch,
    ) -> Result<Pages<CardExportRow>, sqlx::Error> {
        self.export_cards_paged(search, EXPORT_PAGE).await
    }

    /// [`Db::export_cards`] with pages of `limit` rows (tests use small pages).
    pub async fn export_cards_paged(
        &self,
        search: CardSearch,
        limit: i64,
    ) -> Result<Pages<CardExportRow>, sqlx::Error> {
        let plan = self.export_plan(&search).await?;
        let db = self.clone();
        Ok(keyset_pages(String::new(), move |after: String| {
            let db = db.clone();
            let search = search.clone();
            async move {
                let rows = db.export_cards_page(&search, plan, &after, limit).await?;
                let next = next_cursor(&rows, limit, |r| r.card_id.clone());
                Ok((rows, next))
            }
        }))
    }

    /// Whether an export of `search` walks the holders in id order without a prefix index.
    async fn holder_export_walks(&self, search: &HolderSearch) -> Result<bool, sqlx::Error> {
        if !has_prefix([
            &search.last_name,
            &search.first_name,
            &search.email,
            &search.employee_id,
        ]) {
            return Ok(false);
        }
        let (filter, binds) = Db::holder_filter(search, false);
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM card_holders h WHERE {filter} LIMIT {SORT_MATCHES_UP_TO}) m"
        );
        let matches: i64 = on_pool!(self, pool => {
            let mut query = sqlx::query_scalar::<_, i64>(&sql);
            for bind in &binds {
                query = query.bind(bind);
            }
            query.fetch_one(pool).await
        })?;
        Ok(matches >= SORT_MATCHES_UP_TO)
    }

    /// One page of the users matching `search`, by id, after `after`, each with its cards.
    async fn export_holders_page(
        &self,
        search: &HolderSearch,
        walk: bool,
        after: i64,
        limit: i64,
    ) -> Result<Vec<HolderExportRow>, sqlx::Error> {
        let (filter, binds) = Db::holder_filter(search, walk);
        let sql = format!(
            "SELECT h.id, h.first_name, h.last_name, h.email, h.employee_id FROM card_holders h \
             WHERE {filter} AND h.id > ${} ORDER BY h.id LIMIT {limit}",
            binds.len() + 1
        );
        let rows: Vec<HolderRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, HolderRow>(&sql);
            for bind in &binds {
                query = query.bind(bind);
            }
            query.bind(after).fetch_all(pool).await
        })?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut cards: HashMap<i64, Vec<(String, CardState)>> = HashMap::new();
        for card in self.cards_of_holders(&ids).await? {
            cards
                .entry(card.holder_id)
                .or_default()
                .push((card.card_id, card.state));
        }
        Ok(rows
            .into_iter()
            .map(|row| HolderExportRow {
                cards: cards.remove(&row.id).unwrap_or_default(),
                holder_id: row.id,
                first_name: row.first_name,
                last_name: row.last_name,
                email: row.email,
                employee_id: row.employee_id,
            })
            .collect())
    }

    /// Every user matching `search` (its filters; page and sort do not apply), by id.
    pub async fn export_holders(
        &self,
        search: HolderSearch,
    ) -> Result<Pages<HolderExportRow>, sqlx::Error> {
        self.export_holders_paged(search, EXPORT_PAGE).await
    }

    /// [`Db::export_holders`] with pages of `limit` rows.
    pub async fn export_holders_paged(
        &self,
        search: HolderSearch,
        limit: i64,
    ) -> Result<Pages<HolderExportRow>, sqlx::Error> {
        let walk = self.holder_export_walks(&search).await?;
        let db = self.clone();
        Ok(keyset_pages(i64::MIN, move |after: i64| {
            let db = db.clone();
            let search = search.clone();
            async move {
                let rows = db.export_holders_page(&search, walk, after, limit).await?;
                let next = next_cursor(&rows, limit, |r| r.holder_id);
                Ok((rows, next))
            }
        }))
    }

    /// A card's whole history, newest first (the profile shows the newest 200).
    pub fn export_history(&self, card_id: String) -> Pages<HistoryEntry> {
        self.export_history_paged(card_id, EXPORT_PAGE)
    }

    /// [`Db::export_history`] with pages of `limit` rows.
    pub fn export_history_paged(&self, card_id: String, limit: i64) -> Pages<HistoryEntry> {
        let db = self.clone();
        keyset_pages(i64::MAX, move |before: i64| {
            let db = db.clone();
            let card_id = card_id.clone();
            async move {
                let sql = format!(
                    "SELECT id, at, kind, source, actor, from_state, to_state, gocards_status, \
                     detail, repeats, last_at FROM card_history WHERE card_id = $1 AND id < $2 \
                     ORDER BY id DESC LIMIT {limit}"
                );
                let rows: Vec<HistoryRow> = on_pool!(&db, pool => sqlx::query_as::<_, HistoryRow>(&sql)
                    .bind(&card_id)
                    .bind(before)
                    .fetch_all(pool)
                    .await)?;
                let next = next_cursor(&rows, limit, |r| r.id);
                // A row of a kind this version does not know is left out, as on the profile.
                let entries = rows
                    .into_iter()
                    .filter_map(HistoryRow::into_entry)
                    .collect();
                Ok((entries, next))
            }
        })
    }

    /// The whole admin audit log, newest first.
    pub fn export_audit(&self) -> Pages<AuditEntry> {
        self.export_audit_paged(EXPORT_PAGE)
    }

    /// [`Db::export_audit`] with pages of `limit` rows.
    pub fn export_audit_paged(&self, limit: i64) -> Pages<AuditEntry> {
        let db = self.clone();
        keyset_pages(i64::MAX, move |before: i64| {
            let db = db.clone();
            async move {
                let sql = format!(
                    "SELECT id, at, actor, action, detail FROM admin_audit WHERE id < $1 \
                     ORDER BY id DESC LIMIT {limit}"
                );
                let rows: Vec<AuditRow> = on_pool!(&db, pool => sqlx::query_as::<_, AuditRow>(&sql)
                    .bind(before)
                    .fetch_all(pool)
                    .await)?;
                let next = next_cursor(&rows, limit, |r| r.id);
                let entries = rows
                    .into_iter()
                    .map(|row| AuditEntry {
                        at: to_rfc3339(row.at),
                        actor: row.actor,
                        action: row.action,
                        detail: row.detail,
                    })
                    .collect();
                Ok((entries, next))
            }
        })
    }
}
