//! Cards and their holders: search, profile, bulk insert, the guarded state change, and the
//! batch sync's reads and writes of cards.

use std::collections::HashMap;

use sqlx::{FromRow, QueryBuilder};

use super::history::{insert_history, NewHistory};
use super::holders::{find_holders, HolderKey, StoredHolder};
use super::{
    card_event, now_ms, on_pool, push_in_list, to_rfc3339, CardChange, Db, NotifyInTx,
    CARD_CHANGE_COLUMNS, IN_LIST_CHUNK,
};
use desk_core::domain::CardState;
use desk_core::model::{search_key, CardSearch, CardSummary, SortColumn, PAGE_SIZE};

/// Cards a statement of [`Db::apply_state_changes`] changes (6 binds each in the update, 9
/// in the history rows: well under either engine's limit).
const CHANGES_PER_STATEMENT: usize = 100;

/// One card's state change in [`Db::apply_state_changes`].
#[derive(Debug)]
pub struct StateChange<'a> {
    pub card_id: &'a str,
    pub expected_version: i64,
    pub failure_reason: Option<&'a str>,
    pub event: NewHistory<'a>,
}

/// What became of one change of [`Db::apply_state_changes`].
#[derive(Debug)]
pub enum ChangeWritten {
    /// Stored, with its history row.
    Applied,
    /// The card was no longer at the version (or state) it was read at: nothing written.
    Raced,
    /// Its statements failed; it alone was rolled back.
    Failed(sqlx::Error),
}

/// A card with its holder, as stored. The state is decoded as the row is read: a state this
/// version does not know is a decoding error, not a string every caller re-parses.
#[derive(Clone, Debug, FromRow)]
pub struct CardRow {
    pub card_id: String,
    #[sqlx(try_from = "String")]
    pub state: CardState,
    pub ordered_at: Option<i64>,
    pub last_checked_at: Option<i64>,
    pub version: i64,
    pub gocards_status: Option<String>,
    pub failure_reason: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_id: String,
}

#[derive(FromRow)]
struct SummaryRow {
    card_id: String,
    first_name: String,
    last_name: String,
    #[sqlx(try_from = "String")]
    state: CardState,
    ordered_at: Option<i64>,
    last_checked_at: Option<i64>,
}

impl SummaryRow {
    fn into_summary(self) -> CardSummary {
        CardSummary {
            state: self.state,
            holder: format!("{} {}", self.first_name, self.last_name),
            card_id: self.card_id,
            ordered_at: self.ordered_at.map(to_rfc3339),
            last_checked_at: self.last_checked_at.map(to_rfc3339),
        }
    }
}

/// A card to insert, with its holder (import and demo data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCard {
    pub card_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_id: String,
    pub state: CardState,
    pub ordered_at: Option<i64>,
}

/// Rows per multi-row INSERT: 13 parameters each stays under both engines' limits.
const INSERT_CHUNK: usize = 1000;

pub(super) const CARD_COLUMNS: &str =
    "c.card_id, c.state, c.ordered_at, c.last_checked_at, c.version, \
    c.gocards_status, c.failure_reason, h.first_name, h.last_name, h.email, h.employee_id";

/// How a page sorted by card ID is found when a holder prefix narrows the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchPlan {
    /// Find the matches through a prefix index, then sort them: cheap while they are few,
    /// and the only plan for the other sort orders.
    ByPrefix,
    /// Walk the cards in card-ID order, keep the matches, and stop after the page: cheap when
    /// matches are common (a one-letter prefix, tens of thousands of them), where sorting
    /// them all is not.
    InCardOrder,
}

/// Below this many matches, sorting them is cheaper than walking the cards in order.
pub const SORT_MATCHES_UP_TO: i64 = 10_000;
/// Past this page, walking in card order reads too far; the matches are sorted instead.
const WALK_PAGES_UP_TO: u32 = 20;

impl Db {
    /// The WHERE clause of `search` and its text parameters. With [`SearchPlan::InCardOrder`]
    /// the prefix conditions are written so that neither engine uses a prefix index for them.
    pub(super) fn search_filter(search: &CardSearch, plan: SearchPlan) -> (String, Vec<String>) {
        let mut filter = String::from("1 = 1");
        let mut binds: Vec<String> = Vec::new();
        if let Some(state) = search.status {
            binds.push(state.as_str().to_owned());
            filter.push_str(&format!(" AND c.state = ${}", binds.len()));
        }
        for (column, value) in [
            ("c.last_name_key", &search.last_name),
            ("c.first_name_key", &search.first_name),
            ("c.email_key", &search.email),
            ("c.employee_id_key", &search.employee_id),
        ] {
            let key = search_key(value);
            if key.is_empty() {
                continue;
            }
            let column = match plan {
                SearchPlan::ByPrefix => column.to_owned(),
                SearchPlan::InCardOrder => format!("({column} || '')"),
            };
            // A prefix is the range [key, key + U+10FFFF): both engines compare these
            // columns bytewise, so the range uses the index.
            let upper = format!("{key}\u{10FFFF}");
            binds.push(key);
            binds.push(upper);
            filter.push_str(&format!(
                " AND {column} >= ${} AND {column} < ${}",
                binds.len() - 1,
                binds.len()
            ));
        }
        (filter, binds)
    }

    /// Whether `search` is sorted by card ID and narrowed by a holder prefix, on an early
    /// page: the case where the plan matters.
    fn plan_matters(search: &CardSearch) -> bool {
        search.sort.column == SortColumn::CardId
            && search.page() <= WALK_PAGES_UP_TO
            && [
                &search.last_name,
                &search.first_name,
                &search.email,
                &search.employee_id,
            ]
            .iter()
            .any(|v| !search_key(v).is_empty())
    }

    /// The cheaper plan for `search`: matches are counted through the prefix index, up to
    /// [`SORT_MATCHES_UP_TO`], and walked in card order when there are at least that many.
    pub async fn search_plan(&self, search: &CardSearch) -> Result<SearchPlan, sqlx::Error> {
        if !Self::plan_matters(search) {
            return Ok(SearchPlan::ByPrefix);
        }
        let (filter, binds) = Self::search_filter(search, SearchPlan::ByPrefix);
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

    /// The SQL and its text parameters for one page of `search` (one row more than a page,
    /// to tell whether another follows), found with `plan`. Public so the benchmark can time
    /// the bare query.
    pub fn search_sql(search: &CardSearch, plan: SearchPlan) -> (String, Vec<String>) {
        // The page is found and sorted on `cards` alone (covering indexes), then joined to
        // the holders for its rows only.
        let (filter, binds) = Self::search_filter(search, plan);
        let inner = format!(
            "SELECT card_id, holder_id, state, ordered_at, last_checked_at, last_name_key, \
             first_name_key FROM cards c WHERE {filter}"
        );
        let direction = if search.sort.descending {
            "DESC"
        } else {
            "ASC"
        };
        let order = match search.sort.column {
            SortColumn::CardId => format!("c.card_id {direction}"),
            SortColumn::Holder => format!(
                "c.last_name_key {direction}, c.first_name_key {direction}, c.card_id {direction}"
            ),
            SortColumn::Status => format!("c.state {direction}, c.card_id {direction}"),
            SortColumn::Ordered => {
                format!("c.ordered_at {direction} NULLS LAST, c.card_id {direction}")
            }
            SortColumn::LastChecked => {
                format!("c.last_checked_at {direction} NULLS LAST, c.card_id {direction}")
            }
        };
        let offset = (i64::from(search.page()) - 1) * PAGE_SIZE as i64;
        let sql = format!(
            "SELECT c.card_id, h.first_name, h.last_name, c.state, c.ordered_at, c.last_checked_at \
             FROM ({inner} ORDER BY {order} LIMIT {} OFFSET {offset}) c \
             JOIN card_holders h ON h.id = c.holder_id ORDER BY {order}",
            PAGE_SIZE + 1
        );
        (sql, binds)
    }

    /// One page of cards matching `search`, plus whether another page follows.
    pub async fn search_cards(
        &self,
        search: &CardSearch,
    ) -> Result<(Vec<CardSummary>, bool), sqlx::Error> {
        let plan = self.search_plan(search).await?;
        let (sql, binds) = Db::search_sql(search, plan);
        let rows: Vec<SummaryRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, SummaryRow>(&sql);
            for bind in &binds {
                query = query.bind(bind);
            }
            query.fetch_all(pool).await
        })?;
        let has_next = rows.len() > PAGE_SIZE;
        let cards = rows
            .into_iter()
            .take(PAGE_SIZE)
            .map(SummaryRow::into_summary)
            .collect();
        Ok((cards, has_next))
    }

    pub async fn card(&self, card_id: &str) -> Result<Option<CardRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {CARD_COLUMNS} FROM cards c JOIN card_holders h ON h.id = c.holder_id \
             WHERE c.card_id = $1"
        );
        on_pool!(self, pool => sqlx::query_as::<_, CardRow>(&sql).bind(card_id).fetch_optional(pool).await)
    }

    pub async fn count_cards(&self) -> Result<i64, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM cards").fetch_one(pool).await)
    }

    /// Which of `ids` are already stored.
    pub async fn existing_card_ids(&self, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
        let mut found = Vec::new();
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let rows: Vec<String> = on_pool!(self, pool => {
                let mut query = QueryBuilder::new("SELECT card_id FROM cards WHERE card_id IN ");
                push_in_list(&mut query, chunk);
                query.build_query_scalar::<String>().fetch_all(pool).await
            })?;
            found.extend(rows);
        }
        Ok(found)
    }

    /// Inserts cards in one transaction: all or nothing. Each card goes to the holder with
    /// the same employee ID (or, without one, the same email; see [`HolderKey`]), stored or
    /// earlier in `cards`, and a holder is created only when there is none. The names of an
    /// existing holder are kept: a caller that must refuse rows whose names differ (the
    /// import) checks with [`Db::find_holders`] first.
    /// `on_progress` is called with the number of cards written so far.
    pub async fn insert_cards(
        &self,
        cards: &[NewCard],
        mut on_progress: impl FnMut(usize),
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // A write first: on SQLite it makes the transaction a writer from the start
            // (waiting out others under busy_timeout). A read first (the holder lookup) would
            // make the first insert fail with SQLITE_BUSY_SNAPSHOT if another connection
            // wrote in between. It changes no row on either engine.
            sqlx::query("UPDATE card_holders SET first_name = first_name WHERE id = -1")
                .execute(&mut *tx)
                .await?;
            let mut written = 0;
            for chunk in cards.chunks(INSERT_CHUNK) {
                let keys: Vec<Option<HolderKey>> = chunk
                    .iter()
                    .map(|card| HolderKey::of(&card.employee_id, &card.email))
                    .collect();
                let wanted: Vec<HolderKey> = keys
                    .iter()
                    .flatten()
                    .cloned()
                    .collect::<std::collections::HashSet<_>>()
                    .into_iter()
                    .collect();
                // Earlier chunks' holders are in the transaction, so this finds them too.
                let stored = find_holders!(tx, &wanted).await?;
                let mut known: HashMap<HolderKey, StoredHolder> = stored;
                let mut new_holders: Vec<StoredHolder> = Vec::new();
                // Each card's holder: found, made earlier in this chunk, or new.
                let holders: Vec<StoredHolder> = chunk
                    .iter()
                    .zip(&keys)
                    .map(|(card, key)| {
                        if let Some(holder) = key.as_ref().and_then(|k| known.get(k)) {
                            return holder.clone();
                        }
                        let holder = StoredHolder::new(
                            rand::random_range(1..i64::MAX),
                            &card.first_name,
                            &card.last_name,
                            &card.email,
                            &card.employee_id,
                        );
                        if let Some(key) = key {
                            known.insert(key.clone(), holder.clone());
                        }
                        new_holders.push(holder.clone());
                        holder
                    })
                    .collect();
                if !new_holders.is_empty() {
                    let mut rows = QueryBuilder::new(
                        "INSERT INTO card_holders (id, first_name, last_name, email, employee_id, \
                         first_name_key, last_name_key, email_key, employee_id_key) ",
                    );
                    rows.push_values(&new_holders, |mut row, holder| {
                        row.push_bind(holder.id)
                            .push_bind(&holder.first_name)
                            .push_bind(&holder.last_name)
                            .push_bind(&holder.email)
                            .push_bind(&holder.employee_id)
                            .push_bind(search_key(&holder.first_name))
                            .push_bind(search_key(&holder.last_name))
                            .push_bind(search_key(&holder.email))
                            .push_bind(search_key(&holder.employee_id));
                    });
                    rows.build().execute(&mut *tx).await?;
                }
                // A card carries its holder's keys: the stored holder's, when it has one.
                let mut rows = QueryBuilder::new(
                    "INSERT INTO cards (card_id, holder_id, state, ordered_at, last_checked_at, version, \
                     updated_at, first_name_key, last_name_key, email_key, employee_id_key) ",
                );
                rows.push_values(chunk.iter().zip(&holders), |mut row, (card, holder)| {
                    row.push_bind(&card.card_id)
                        .push_bind(holder.id)
                        .push_bind(card.state.as_str())
                        .push_bind(card.ordered_at)
                        .push_bind(None::<i64>)
                        .push_bind(1_i64)
                        .push_bind(now)
                        .push_bind(search_key(&holder.first_name))
                        .push_bind(search_key(&holder.last_name))
                        .push_bind(search_key(&holder.email))
                        .push_bind(search_key(&holder.employee_id));
                });
                rows.build().execute(&mut *tx).await?;
                written += chunk.len();
                on_progress(written);
            }
            tx.commit().await
        })
    }

    /// Open orders (Ordered, In production), for seeding the simulator.
    pub async fn open_orders(&self) -> Result<Vec<CardRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {CARD_COLUMNS} FROM cards c JOIN card_holders h ON h.id = c.holder_id \
             WHERE c.state IN ('ordered', 'in_production') ORDER BY c.card_id"
        );
        on_pool!(self, pool => sqlx::query_as::<_, CardRow>(&sql).fetch_all(pool).await)
    }

    /// Moves a card from `event.from_state` to `event.to_state` if it is still at
    /// `expected_version`, and writes the history row, in one transaction. Returns
    /// `Ok(false)` and writes nothing when the card changed meanwhile.
    pub async fn apply_state_change(
        &self,
        card_id: &str,
        expected_version: i64,
        failure_reason: Option<&str>,
        event: &NewHistory<'_>,
    ) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        let sql = format!(
            "UPDATE cards SET state = $1, version = version + 1, last_checked_at = $2, \
             updated_at = $2, gocards_status = $3, failure_reason = $4 \
             WHERE card_id = $5 AND version = $6 AND state = $7 RETURNING {CARD_CHANGE_COLUMNS}"
        );
        let live = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed: Option<CardChange> = sqlx::query_as(&sql)
                .bind(event.to_state.as_str())
                .bind(now)
                .bind(event.gocards_status)
                .bind(failure_reason)
                .bind(card_id)
                .bind(expected_version)
                .bind(event.from_state.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(changed) = changed else {
                tx.rollback().await?;
                return Ok(false);
            };
            // Staged before the history row: if anything after fails, the transaction, and
            // with it the event, is rolled back.
            let live: Vec<_> = card_event(changed).into_iter().collect();
            tx.notify_events(&live).await?;
            insert_history!(&mut *tx, card_id, now, event).await?;
            tx.commit().await?;
            live
        });
        self.after_commit(live);
        Ok(true)
    }

    /// The batch sync's changes of a page of cards, in one transaction: each as
    /// [`Db::apply_state_change`] writes it (state, version, history row), only if the card
    /// is still at its `expected_version`. The live events go out after the commit.
    ///
    /// A change whose card moved on is [`ChangeWritten::Raced`], and writes nothing. A change
    /// whose statements fail rolls back alone: the page is first written straight through (a
    /// statement for up to [`CHANGES_PER_STATEMENT`] cards' changes, one for their history
    /// rows), and should a statement fail, that attempt is rolled back and the page written
    /// again card by card, each under a savepoint, so the bad card is
    /// [`ChangeWritten::Failed`] and the others are stored. (The slow way is paid only by a
    /// page with a bad card.) `Err`: the page could not be committed, and nothing of it is stored.
    pub async fn apply_state_changes(
        &self,
        changes: &[StateChange<'_>],
    ) -> Result<Vec<ChangeWritten>, sqlx::Error> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        match self.write_state_changes(changes, false).await? {
            Some(written) => Ok(written),
            None => {
                let written = self.write_state_changes(changes, true).await?;
                Ok(written.unwrap_or_default())
            }
        }
    }

    /// One attempt of [`Db::apply_state_changes`]; `None` when, without savepoints, a
    /// statement failed (the transaction is rolled back).
    async fn write_state_changes(
        &self,
        changes: &[StateChange<'_>],
        savepoints: bool,
    ) -> Result<Option<Vec<ChangeWritten>>, sqlx::Error> {
        let now = now_ms();
        let sql = format!(
            "UPDATE cards SET state = $1, version = version + 1, last_checked_at = $2, \
             updated_at = $2, gocards_status = $3, failure_reason = $4 \
             WHERE card_id = $5 AND version = $6 AND state = $7 RETURNING {CARD_CHANGE_COLUMNS}"
        );
        macro_rules! write_one {
            ($conn:expr, $change:expr) => {{
                let change: &StateChange<'_> = $change;
                let event = &change.event;
                let changed: Result<Option<CardChange>, sqlx::Error> = sqlx::query_as(&sql)
                    .bind(event.to_state.as_str())
                    .bind(now)
                    .bind(event.gocards_status)
                    .bind(change.failure_reason)
                    .bind(change.card_id)
                    .bind(change.expected_version)
                    .bind(event.from_state.as_str())
                    .fetch_optional(&mut *$conn)
                    .await;
                match changed {
                    Ok(Some(changed)) => insert_history!(&mut *$conn, change.card_id, now, event)
                        .await
                        .map(|_| Some(changed)),
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                }
            }};
        }
        let live = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut written = Vec::with_capacity(changes.len());
            let mut live = Vec::new();
            if savepoints {
                // Card by card, each under a savepoint: a bad one rolls back alone.
                for change in changes {
                    let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
                    match write_one!(savepoint, change) {
                        Ok(Some(changed)) => {
                            savepoint.commit().await?;
                            live.extend(card_event(changed));
                            written.push(ChangeWritten::Applied);
                        }
                        Ok(None) => {
                            savepoint.rollback().await?;
                            written.push(ChangeWritten::Raced);
                        }
                        Err(e) => {
                            savepoint.rollback().await?;
                            written.push(ChangeWritten::Failed(e));
                        }
                    }
                }
            } else {
                // Straight through: a statement for many cards' changes, and one for their
                // history rows.
                for chunk in changes.chunks(CHANGES_PER_STATEMENT) {
                    let mut update = QueryBuilder::new(
                        "UPDATE cards SET state = v.column4, version = cards.version + 1, last_checked_at = ",
                    );
                    update
                        .push_bind(now)
                        .push(", updated_at = ")
                        .push_bind(now)
                        .push(", gocards_status = v.column5, failure_reason = v.column6 FROM (");
                    update.push_values(chunk, |mut row, change| {
                        row.push_bind(change.card_id)
                            .push_bind(change.expected_version)
                            .push_bind(change.event.from_state.as_str())
                            .push_bind(change.event.to_state.as_str())
                            .push_bind(change.event.gocards_status)
                            .push_bind(change.failure_reason);
                    });
                    update.push(
                        ") AS v WHERE cards.card_id = v.column1 AND cards.version = v.column2 \
                         AND cards.state = v.column3 RETURNING cards.card_id, cards.state, \
                         cards.version, cards.gocards_status, cards.last_checked_at",
                    );
                    let changed: Result<Vec<CardChange>, sqlx::Error> = update
                        .build_query_as()
                        .persistent(false)
                        .fetch_all(&mut *tx)
                        .await;
                    let changed = match changed {
                        Ok(changed) => changed,
                        Err(error) => {
                            tracing::debug!(%error, "a change of the page failed; writing the page again with savepoints");
                            tx.rollback().await?;
                            return Ok(None);
                        }
                    };
                    let applied: std::collections::HashSet<&str> =
                        changed.iter().map(|c| c.0.as_str()).collect();
                    let stored: Vec<&StateChange<'_>> = chunk
                        .iter()
                        .filter(|change| applied.contains(change.card_id))
                        .collect();
                    written.extend(chunk.iter().map(|change| {
                        if applied.contains(change.card_id) {
                            ChangeWritten::Applied
                        } else {
                            ChangeWritten::Raced
                        }
                    }));
                    if !stored.is_empty() {
                        let mut history = QueryBuilder::new(
                            "INSERT INTO card_history (card_id, at, kind, source, actor, from_state, \
                             to_state, gocards_status, detail) ",
                        );
                        history.push_values(&stored, |mut row, change| {
                            let event = &change.event;
                            row.push_bind(change.card_id)
                                .push_bind(now)
                                .push_bind(event.kind.as_str())
                                .push_bind(event.source.as_str())
                                .push_bind(event.actor)
                                .push_bind(event.from_state.as_str())
                                .push_bind(event.to_state.as_str())
                                .push_bind(event.gocards_status)
                                .push_bind(event.detail);
                        });
                        if let Err(error) = history.build().persistent(false).execute(&mut *tx).await {
                            tracing::debug!(%error, "a history row of the page failed; writing the page again with savepoints");
                            tx.rollback().await?;
                            return Ok(None);
                        }
                    }
                    live.extend(changed.into_iter().filter_map(card_event));
                }
            }
            // The page's events, packed into as few notifications as fit, in the page's
            // transaction: sent by its commit, or never.
            tx.notify_events(&live).await?;
            tx.commit().await?;
            (written, live)
        });
        let (written, live) = live;
        self.after_commit(live);
        Ok(Some(written))
    }

    /// Records a check that changed no state: `last checked`, the raw status GO Cards gave
    /// (when it is to be stored) and, when given, a history row, in one transaction, if the
    /// card is still at
    /// `expected_version`. Returns `Ok(false)` and writes nothing when another writer changed
    /// the card since it was read: the status would be stale, and the row's states wrong.
    /// The version is left alone, so concurrent checks that find nothing do not fail each
    /// other.
    pub async fn record_check(
        &self,
        card_id: &str,
        expected_version: i64,
        gocards_status: Option<&str>,
        event: Option<&NewHistory<'_>>,
    ) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        let sql = format!(
            "UPDATE cards SET last_checked_at = $1, \
             gocards_status = COALESCE($2, gocards_status) \
             WHERE card_id = $3 AND version = $4 RETURNING {CARD_CHANGE_COLUMNS}"
        );
        let live = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let checked: Option<CardChange> = sqlx::query_as(&sql)
                .bind(now)
                .bind(gocards_status)
                .bind(card_id)
                .bind(expected_version)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(checked) = checked else {
                tx.rollback().await?;
                return Ok(false);
            };
            let live: Vec<_> = card_event(checked).into_iter().collect();
            tx.notify_events(&live).await?;
            if let Some(event) = event {
                insert_history!(&mut *tx, card_id, now, event).await?;
            }
            tx.commit().await?;
            live
        });
        self.after_commit(live);
        Ok(true)
    }

    /// Records a manual attempt that asked GO Cards but has no status to store (GO Cards
    /// failed, or the card changed meanwhile): `last checked` and the history row.
    pub async fn record_attempt(
        &self,
        card_id: &str,
        event: &NewHistory<'_>,
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let sql = format!(
            "UPDATE cards SET last_checked_at = $1 WHERE card_id = $2 RETURNING {CARD_CHANGE_COLUMNS}"
        );
        let live = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let checked: Option<CardChange> = sqlx::query_as(&sql)
                .bind(now)
                .bind(card_id)
                .fetch_optional(&mut *tx)
                .await?;
            let live: Vec<_> = checked.and_then(card_event).into_iter().collect();
            tx.notify_events(&live).await?;
            insert_history!(&mut *tx, card_id, now, event).await?;
            tx.commit().await?;
            live
        });
        self.after_commit(live);
        Ok(())
    }
}

/// The batch sync's reads and writes of cards.
impl Db {
    /// The stored cards among `ids`, in no particular order.
    pub async fn cards_by_ids(&self, ids: &[String]) -> Result<Vec<CardRow>, sqlx::Error> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let rows: Vec<CardRow> = on_pool!(self, pool => {
                let mut query = QueryBuilder::new(format!(
                    "SELECT {CARD_COLUMNS} FROM cards c JOIN card_holders h ON h.id = c.holder_id \
                     WHERE c.card_id IN "
                ));
                push_in_list(&mut query, chunk);
                query.build_query_as::<CardRow>().fetch_all(pool).await
            })?;
            found.extend(rows);
        }
        Ok(found)
    }

    /// Open orders in `state` not checked since `cutoff`, after `after_card_id`, by card id:
    /// the sync's poll walks these pages, so each card comes up at most once in a run.
    pub async fn stale_open_orders(
        &self,
        state: &str,
        cutoff: i64,
        after_card_id: &str,
        limit: i64,
    ) -> Result<Vec<CardRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {CARD_COLUMNS} FROM cards c JOIN card_holders h ON h.id = c.holder_id \
             WHERE c.state = $1 AND c.card_id > $2 \
             AND (c.last_checked_at IS NULL OR c.last_checked_at < $3) \
             ORDER BY c.card_id LIMIT $4"
        );
        on_pool!(self, pool => sqlx::query_as::<_, CardRow>(&sql)
            .bind(state)
            .bind(after_card_id)
            .bind(cutoff)
            .bind(limit)
            .fetch_all(pool)
            .await)
    }

    pub async fn count_stale_open_orders(&self, cutoff: i64) -> Result<i64, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM cards WHERE state IN ('ordered', 'in_production') \
             AND (last_checked_at IS NULL OR last_checked_at < $1)",
        )
        .bind(cutoff)
        .fetch_one(pool)
        .await)
    }

    /// Records checks that changed nothing, for many cards at once: `last checked`, and the
    /// raw status GO Cards gave (when it is to be stored), for each card still at the version
    /// it was read at (a card another writer changed since keeps its newer status). One
    /// statement per chunk, not one transaction per card.
    pub async fn touch_checked(
        &self,
        cards: &[CardAtVersion],
        gocards_status: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        // Two binds a card: half the usual chunk.
        for chunk in cards.chunks(IN_LIST_CHUNK / 2) {
            let live = on_pool!(self, pool => {
                let mut tx = pool.begin().await?;
                let mut query = QueryBuilder::new("UPDATE cards SET last_checked_at = ");
                query.push_bind(now);
                query.push(", gocards_status = COALESCE(");
                query.push_bind(gocards_status);
                query.push(", gocards_status) WHERE (card_id, version) IN (VALUES ");
                let mut list = query.separated(", ");
                for card in chunk {
                    list.push("(");
                    list.push_bind_unseparated(&card.card_id);
                    list.push_unseparated(", ");
                    list.push_bind_unseparated(card.version);
                    list.push_unseparated(")");
                }
                query.push(") RETURNING ");
                query.push(CARD_CHANGE_COLUMNS);
                let checked: Vec<CardChange> = query.build_query_as().fetch_all(&mut *tx).await?;
                let live: Vec<_> = checked.into_iter().filter_map(card_event).collect();
                tx.notify_events(&live).await?;
                tx.commit().await?;
                live
            });
            self.after_commit(live);
        }
        Ok(())
    }
}

/// A card as the version it was read at: a write for it applies only if nobody changed it
/// since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardAtVersion {
    pub card_id: String,
    pub version: i64,
}
