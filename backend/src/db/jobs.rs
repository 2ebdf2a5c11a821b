//! Jobs' storage (migration 0010): the job, its items with their outcomes, and the lease
//! that says which process runs it.
//!
//! An item's outcome is written as the item completes, and only onto an item that has none
//! (or is "not run"): an item that is done is never run again, whoever asks.

use sqlx::FromRow;

use super::{now_ms, on_pool, Db};
use desk_core::domain::{CardState, ItemOutcome, JobCounts, JobStatus, OrderForm, Process};

/// A job as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRow {
    pub id: i64,
    pub process: Process,
    pub started_by: String,
    pub started_by_id: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub status: JobStatus,
    pub total: i64,
    pub reason: Option<String>,
    pub order: Option<OrderForm>,
    pub lease_holder: Option<String>,
    pub lease_until: Option<i64>,
    pub stop_requested: bool,
}

#[derive(FromRow)]
struct RawJob {
    id: i64,
    process: String,
    started_by: String,
    started_by_id: i64,
    started_at: i64,
    finished_at: Option<i64>,
    status: String,
    total: i64,
    reason: Option<String>,
    article_id: Option<String>,
    recipient: Option<String>,
    address_one: Option<String>,
    postal_code: Option<String>,
    city: Option<String>,
    country_code: Option<String>,
    lease_holder: Option<String>,
    lease_until: Option<i64>,
    stop_requested: i64,
}

fn decode<E: std::error::Error + Send + Sync + 'static>(e: E) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

impl RawJob {
    fn into_row(self) -> Result<JobRow, sqlx::Error> {
        let order = match self.article_id {
            Some(article_id) => Some(OrderForm {
                article_id,
                recipient: self.recipient.unwrap_or_default(),
                address_one: self.address_one.unwrap_or_default(),
                postal_code: self.postal_code.unwrap_or_default(),
                city: self.city.unwrap_or_default(),
                country_code: self.country_code.unwrap_or_default(),
            }),
            None => None,
        };
        Ok(JobRow {
            id: self.id,
            process: self.process.parse().map_err(decode)?,
            started_by: self.started_by,
            started_by_id: self.started_by_id,
            started_at: self.started_at,
            finished_at: self.finished_at,
            status: self.status.parse().map_err(decode)?,
            total: self.total,
            reason: self.reason,
            order,
            lease_holder: self.lease_holder,
            lease_until: self.lease_until,
            stop_requested: self.stop_requested != 0,
        })
    }
}

const JOB_COLUMNS: &str = "id, process, started_by, started_by_id, started_at, finished_at, \
    status, total, reason, article_id, recipient, address_one, postal_code, city, country_code, \
    lease_holder, lease_until, stop_requested";

/// One item of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemRow {
    pub position: i64,
    pub target: String,
    pub label: String,
    pub before: Option<CardState>,
    pub after: Option<CardState>,
    pub outcome: Option<ItemOutcome>,
    pub message: String,
}

#[derive(FromRow)]
struct RawItem {
    position: i64,
    target: String,
    label: String,
    before_state: Option<String>,
    after_state: Option<String>,
    outcome: Option<String>,
    message: String,
}

impl RawItem {
    fn into_row(self) -> Result<ItemRow, sqlx::Error> {
        let state = |s: Option<String>| -> Result<Option<CardState>, sqlx::Error> {
            s.map(|s| s.parse::<CardState>().map_err(decode))
                .transpose()
        };
        Ok(ItemRow {
            position: self.position,
            target: self.target,
            label: self.label,
            before: state(self.before_state)?,
            after: state(self.after_state)?,
            outcome: self
                .outcome
                .map(|o| o.parse::<ItemOutcome>().map_err(decode))
                .transpose()?,
            message: self.message,
        })
    }
}

const ITEM_COLUMNS: &str = "position, target, label, before_state, after_state, outcome, message";

/// An item to store with a new job. Items decided at the start (skipped) carry their outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewItem {
    pub target: String,
    pub label: String,
    pub before: Option<CardState>,
    pub outcome: Option<ItemOutcome>,
    pub message: String,
}

/// A job to store.
#[derive(Clone, Debug)]
pub struct NewJob<'a> {
    pub process: Process,
    pub started_by: &'a str,
    pub started_by_id: i64,
    pub reason: Option<&'a str>,
    pub order: Option<&'a OrderForm>,
    pub items: &'a [NewItem],
    pub lease_holder: &'a str,
    pub lease_until: i64,
}

/// What starting (or resuming) a job found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobStart {
    Started(i64),
    /// The operator already has a running job: this one.
    AlreadyRunning(i64),
}

/// What an item ended as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemDone {
    pub before: Option<CardState>,
    pub after: Option<CardState>,
    pub outcome: ItemOutcome,
    pub message: String,
}

/// Rows per multi-row INSERT of items (8 binds each, well under either engine's limit).
const ITEMS_PER_INSERT: usize = 200;

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Inside the transaction `$tx`: job `$id`'s items still to run become "not run".
macro_rules! mark_not_run {
    ($tx:expr, $id:expr, $now:expr) => {
        sqlx::query(
            "UPDATE job_items SET outcome = 'not_run', done_at = $2 \
             WHERE job_id = $1 AND outcome IS NULL",
        )
        .bind($id)
        .bind($now)
        .execute($tx)
        .await?;
    };
}

impl Db {
    /// Stores a running job and its items, in one transaction, unless the operator already
    /// has a running job (the partial unique index `jobs_one_running` decides).
    pub async fn create_job(&self, job: &NewJob<'_>) -> Result<JobStart, sqlx::Error> {
        let now = now_ms();
        let total = i64::try_from(job.items.len()).unwrap_or(i64::MAX);
        let insert_job = "INSERT INTO jobs (process, started_by, started_by_id, started_at, \
            status, total, reason, article_id, recipient, address_one, postal_code, city, \
            country_code, lease_holder, lease_until) \
            VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
            RETURNING id";
        let created: Result<i64, sqlx::Error> = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let order = job.order;
            let inserted = sqlx::query_scalar::<_, i64>(insert_job)
                .bind(job.process.as_str())
                .bind(job.started_by)
                .bind(job.started_by_id)
                .bind(now)
                .bind(total)
                .bind(job.reason)
                .bind(order.map(|o| o.article_id.as_str()))
                .bind(order.map(|o| o.recipient.as_str()))
                .bind(order.map(|o| o.address_one.as_str()))
                .bind(order.map(|o| o.postal_code.as_str()))
                .bind(order.map(|o| o.city.as_str()))
                .bind(order.map(|o| o.country_code.as_str()))
                .bind(job.lease_holder)
                .bind(job.lease_until)
                .fetch_one(&mut *tx)
                .await;
            match inserted {
                Ok(id) => {
                    for (chunk_no, chunk) in job.items.chunks(ITEMS_PER_INSERT).enumerate() {
                        let sql = items_insert_sql(chunk.len());
                        let mut query = sqlx::query(&sql);
                        for (i, item) in chunk.iter().enumerate() {
                            let position = (chunk_no * ITEMS_PER_INSERT + i) as i64;
                            query = query
                                .bind(id)
                                .bind(position)
                                .bind(item.target.as_str())
                                .bind(item.label.as_str())
                                .bind(item.before.map(CardState::as_str))
                                // An item decided now (skipped) stays as it was.
                                .bind(item.outcome.and(item.before).map(CardState::as_str))
                                .bind(item.outcome.map(ItemOutcome::as_str))
                                .bind(item.message.as_str());
                        }
                        query.execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(id)
                }
                Err(err) => Err(err),
            }
        });
        match created {
            Ok(id) => Ok(JobStart::Started(id)),
            Err(err) if is_unique_violation(&err) => {
                match self.running_job_of(job.started_by_id).await? {
                    Some(id) => Ok(JobStart::AlreadyRunning(id)),
                    // It ended in between: the caller may try again.
                    None => Err(err),
                }
            }
            Err(err) => Err(err),
        }
    }

    /// The running job started by the account `user_id`, if any.
    pub async fn running_job_of(&self, user_id: i64) -> Result<Option<i64>, sqlx::Error> {
        let sql = "SELECT id FROM jobs WHERE started_by_id = $1 AND status = 'running'";
        on_pool!(self, pool => sqlx::query_scalar::<_, i64>(sql)
            .bind(user_id)
            .fetch_optional(pool)
            .await)
    }

    pub async fn job(&self, id: i64) -> Result<Option<JobRow>, sqlx::Error> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let raw = on_pool!(self, pool => sqlx::query_as::<_, RawJob>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        raw.map(RawJob::into_row).transpose()
    }

    /// The newest `limit` jobs, of `started_by_id` only if given.
    pub async fn jobs(
        &self,
        started_by_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<JobRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 IS NULL OR started_by_id = $1) \
             ORDER BY id DESC LIMIT $2"
        );
        let raw = on_pool!(self, pool => sqlx::query_as::<_, RawJob>(&sql)
            .bind(started_by_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        raw.into_iter().map(RawJob::into_row).collect()
    }

    /// The counts of job `id`'s items by outcome (items still to run count in `total` only).
    pub async fn job_counts(&self, id: i64) -> Result<JobCounts, sqlx::Error> {
        let sql = "SELECT outcome, COUNT(*) FROM job_items WHERE job_id = $1 GROUP BY outcome";
        let rows: Vec<(Option<String>, i64)> = on_pool!(self, pool =>
            sqlx::query_as::<_, (Option<String>, i64)>(sql)
                .bind(id)
                .fetch_all(pool)
                .await)?;
        let mut counts = JobCounts::default();
        for (outcome, n) in rows {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            counts.total = counts.total.saturating_add(n);
            if let Some(outcome) = outcome.and_then(|o| o.parse::<ItemOutcome>().ok()) {
                counts.add(outcome, n);
            }
        }
        Ok(counts)
    }

    /// The items still to run, in order.
    pub async fn items_to_run(&self, id: i64) -> Result<Vec<ItemRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM job_items WHERE job_id = $1 AND outcome IS NULL \
             ORDER BY position"
        );
        let raw = on_pool!(self, pool => sqlx::query_as::<_, RawItem>(&sql)
            .bind(id)
            .fetch_all(pool)
            .await)?;
        raw.into_iter().map(RawItem::into_row).collect()
    }

    /// A page of job `id`'s items, of one outcome if given (`None` inside: still to run).
    pub async fn job_items(
        &self,
        id: i64,
        outcome: Option<ItemOutcome>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ItemRow>, i64), sqlx::Error> {
        let filter = outcome.map(ItemOutcome::as_str);
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM job_items WHERE job_id = $1 \
             AND ($2 IS NULL OR outcome = $2) ORDER BY position LIMIT $3 OFFSET $4"
        );
        let count_sql =
            "SELECT COUNT(*) FROM job_items WHERE job_id = $1 AND ($2 IS NULL OR outcome = $2)";
        let (raw, matching) = on_pool!(self, pool => {
            let raw = sqlx::query_as::<_, RawItem>(&sql)
                .bind(id)
                .bind(filter)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            let matching = sqlx::query_scalar::<_, i64>(count_sql)
                .bind(id)
                .bind(filter)
                .fetch_one(pool)
                .await?;
            Ok::<_, sqlx::Error>((raw, matching))
        })?;
        let items = raw
            .into_iter()
            .map(RawItem::into_row)
            .collect::<Result<_, _>>()?;
        Ok((items, matching))
    }

    /// Stores an item's outcome, unless it has one already; `false` then.
    pub async fn finish_item(
        &self,
        id: i64,
        position: i64,
        done: &ItemDone,
    ) -> Result<bool, sqlx::Error> {
        let sql = "UPDATE job_items SET before_state = $3, after_state = $4, outcome = $5, \
                   message = $6, done_at = $7 \
                   WHERE job_id = $1 AND position = $2 AND outcome IS NULL";
        let n = on_pool!(self, pool => sqlx::query(sql)
            .bind(id)
            .bind(position)
            .bind(done.before.map(CardState::as_str))
            .bind(done.after.map(CardState::as_str))
            .bind(done.outcome.as_str())
            .bind(done.message.as_str())
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Ends job `id` run by `holder`: the items left become "not run", and the job `status`.
    /// `false` when `holder` no longer runs it (another replica marked it interrupted).
    pub async fn finish_job(
        &self,
        id: i64,
        holder: &str,
        status: JobStatus,
    ) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let ended = sqlx::query(
                "UPDATE jobs SET status = $3, finished_at = $4, lease_holder = NULL, \
                 lease_until = NULL WHERE id = $1 AND lease_holder = $2 AND status = 'running'",
            )
            .bind(id)
            .bind(holder)
            .bind(status.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if ended > 0 {
                mark_not_run!(&mut *tx, id, now);
            }
            tx.commit().await?;
            Ok(ended > 0)
        })
    }

    /// Extends `holder`'s lease on job `id`; `Some(stop requested)`, or `None` when the job
    /// is no longer `holder`'s to run.
    pub async fn renew_job_lease(
        &self,
        id: i64,
        holder: &str,
        until: i64,
    ) -> Result<Option<bool>, sqlx::Error> {
        let sql = "UPDATE jobs SET lease_until = $3 \
                   WHERE id = $1 AND lease_holder = $2 AND status = 'running' \
                   RETURNING stop_requested";
        let stop = on_pool!(self, pool => sqlx::query_scalar::<_, i64>(sql)
            .bind(id)
            .bind(holder)
            .bind(until)
            .fetch_optional(pool)
            .await)?;
        Ok(stop.map(|s| s != 0))
    }

    /// Asks the process running job `id` to stop; `false` when it is not running.
    pub async fn request_job_stop(&self, id: i64) -> Result<bool, sqlx::Error> {
        let sql = "UPDATE jobs SET stop_requested = 1 WHERE id = $1 AND status = 'running'";
        let n = on_pool!(self, pool => sqlx::query(sql)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Marks interrupted every running job whose lease lapsed before `now` (the process
    /// running it died), or, with `all`, every running job (one process on one SQLite file,
    /// starting: none of them can still be running). Their undone items become "not run".
    pub async fn interrupt_lapsed_jobs(
        &self,
        now: i64,
        all: bool,
    ) -> Result<Vec<i64>, sqlx::Error> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let ids: Vec<i64> = sqlx::query_scalar::<_, i64>(
                "UPDATE jobs SET status = 'interrupted', finished_at = $1, lease_holder = NULL, \
                 lease_until = NULL WHERE status = 'running' \
                 AND ($2 = 1 OR lease_until IS NULL OR lease_until < $1) RETURNING id",
            )
            .bind(now)
            .bind(i64::from(all))
            .fetch_all(&mut *tx)
            .await?;
            for id in &ids {
                mark_not_run!(&mut *tx, *id, now);
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// "Run the rest": job `id` (stopped or interrupted) runs again under `holder`, its
    /// "not run" items to run, unless its operator has another job running.
    pub async fn resume_job(
        &self,
        id: i64,
        holder: &str,
        lease_until: i64,
    ) -> Result<Option<JobStart>, sqlx::Error> {
        let resumed: Result<u64, sqlx::Error> = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE jobs SET status = 'running', finished_at = NULL, lease_holder = $2, \
                 lease_until = $3, stop_requested = 0 \
                 WHERE id = $1 AND status IN ('stopped', 'interrupted')",
            )
            .bind(id)
            .bind(holder)
            .bind(lease_until)
            .execute(&mut *tx)
            .await
            .map(|r| r.rows_affected());
            match n {
                Ok(n) => {
                    if n > 0 {
                        sqlx::query(
                            "UPDATE job_items SET outcome = NULL, message = '', done_at = NULL \
                             WHERE job_id = $1 AND outcome = 'not_run'",
                        )
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(n)
                }
                Err(err) => Err(err),
            }
        });
        match resumed {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(JobStart::Started(id))),
            Err(err) if is_unique_violation(&err) => {
                let Some(job) = self.job(id).await? else {
                    return Ok(None);
                };
                match self.running_job_of(job.started_by_id).await? {
                    Some(running) => Ok(Some(JobStart::AlreadyRunning(running))),
                    None => Err(err),
                }
            }
            Err(err) => Err(err),
        }
    }
}

/// The multi-row INSERT of `rows` items.
fn items_insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO job_items (job_id, position, target, label, before_state, after_state, \
         outcome, message) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        let b = row * 8;
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8
        ));
    }
    sql
}

/// What the batch order's preview needs of a user.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct JobHolder {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// A card of theirs in Ordered or In production.
    pub open_card: Option<String>,
}

impl JobHolder {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// Ids per `IN (…)` list.
const IDS_PER_QUERY: usize = 500;

fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Db {
    /// The state of each of `ids` that exists.
    pub async fn card_states(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, CardState>, sqlx::Error> {
        let mut states = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let sql = format!(
                "SELECT card_id, state FROM cards WHERE card_id IN ({})",
                placeholders(chunk.len())
            );
            let rows: Vec<(String, String)> = on_pool!(self, pool => {
                let mut query = sqlx::query_as::<_, (String, String)>(&sql);
                for id in chunk {
                    query = query.bind(id.as_str());
                }
                query.fetch_all(pool).await
            })?;
            for (id, state) in rows {
                states.insert(id, state.parse::<CardState>().map_err(decode)?);
            }
        }
        Ok(states)
    }

    /// Each of `ids` that exists, with an open card if they have one.
    pub async fn job_holders(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, JobHolder>, sqlx::Error> {
        let mut holders = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let sql = format!(
                "SELECT h.id, h.first_name, h.last_name, h.email, \
                 (SELECT MIN(c.card_id) FROM cards c WHERE c.holder_id = h.id \
                  AND c.state IN ('ordered', 'in_production')) AS open_card \
                 FROM card_holders h WHERE h.id IN ({})",
                placeholders(chunk.len())
            );
            let rows: Vec<JobHolder> = on_pool!(self, pool => {
                let mut query = sqlx::query_as::<_, JobHolder>(&sql);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.fetch_all(pool).await
            })?;
            for holder in rows {
                holders.insert(holder.id, holder);
            }
        }
        Ok(holders)
    }
}

impl Db {
    /// The ids of the cards matching `search` (its page and sort aside), in card order, at
    /// most `limit`: "Select all N matches".
    pub async fn matching_card_ids(
        &self,
        search: &desk_core::model::CardSearch,
        limit: usize,
    ) -> Result<Vec<String>, sqlx::Error> {
        let (filter, binds) = Db::search_filter(search, super::cards::SearchPlan::ByPrefix);
        let sql = format!(
            "SELECT c.card_id FROM cards c WHERE {filter} ORDER BY c.card_id LIMIT {limit}"
        );
        on_pool!(self, pool => {
            let mut query = sqlx::query_scalar::<_, String>(&sql);
            for bind in &binds {
                query = query.bind(bind);
            }
            query.fetch_all(pool).await
        })
    }

    /// The ids of the users matching `search`, by name, at most `limit`.
    pub async fn matching_holder_ids(
        &self,
        search: &desk_core::model::HolderSearch,
        limit: usize,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let (filter, binds) = Db::holder_filter(search, false);
        let sql = format!(
            "SELECT h.id FROM card_holders h WHERE {filter} \
             ORDER BY h.last_name_key, h.first_name_key, h.id LIMIT {limit}"
        );
        on_pool!(self, pool => {
            let mut query = sqlx::query_scalar::<_, i64>(&sql);
            for bind in &binds {
                query = query.bind(bind);
            }
            query.fetch_all(pool).await
        })
    }
}

impl Db {
    /// The toolbar's processes: card processes enabled on any card state, in
    /// `Process::ALL` order, and whether Order card is enabled for users.
    pub async fn bulk_commands(&self) -> Result<desk_core::model::BulkCommands, sqlx::Error> {
        use desk_core::domain::{CommandList, Entity};
        let sql = "SELECT DISTINCT state, process FROM enabled_commands";
        let rows: Vec<(String, String)> = on_pool!(self, pool =>
            sqlx::query_as::<_, (String, String)>(sql).fetch_all(pool).await)?;
        let mut commands = desk_core::model::BulkCommands::default();
        for process in Process::ALL {
            let on = |list: &dyn Fn(CommandList) -> bool| {
                rows.iter().any(|(state, name)| {
                    name == process.as_str()
                        && CommandList::ALL
                            .iter()
                            .any(|l| l.as_str() == state.as_str() && list(*l))
                })
            };
            match process.entity() {
                Entity::Card => {
                    if on(&|l| matches!(l, CommandList::Card(s) if process.applies_to(s))) {
                        commands.cards.push(process);
                    }
                }
                Entity::User => commands.users = on(&|l| l == CommandList::User),
            }
        }
        Ok(commands)
    }
}

impl Db {
    /// Job `id`'s items (of one outcome if given) in order, a page at a time, for the CSV
    /// export.
    pub fn export_job_items(
        &self,
        id: i64,
        process: Process,
        outcome: Option<ItemOutcome>,
    ) -> super::export::Pages<desk_core::model::JobItemView> {
        let db = self.clone();
        let limit = super::export::EXPORT_PAGE;
        super::export::keyset_pages(-1_i64, move |after: i64| {
            let db = db.clone();
            async move {
                let sql = format!(
                    "SELECT {ITEM_COLUMNS} FROM job_items WHERE job_id = $1 AND position > $2 \
                     AND ($3 IS NULL OR outcome = $3) ORDER BY position LIMIT {limit}"
                );
                let raw = on_pool!(&db, pool => sqlx::query_as::<_, RawItem>(&sql)
                    .bind(id)
                    .bind(after)
                    .bind(outcome.map(ItemOutcome::as_str))
                    .fetch_all(pool)
                    .await)?;
                let rows = raw
                    .into_iter()
                    .map(RawItem::into_row)
                    .collect::<Result<Vec<_>, _>>()?;
                let next = if (rows.len() as i64) < limit {
                    None
                } else {
                    rows.last().map(|r| r.position)
                };
                let views = rows
                    .iter()
                    .map(|r| crate::services::jobs::item_view(process, r))
                    .collect();
                Ok((views, next))
            }
        })
    }
}
