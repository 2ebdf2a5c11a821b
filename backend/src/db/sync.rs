//! The batch sync's storage: the one-row state (watermark, lease, schedule), the runs with
//! their live counts, per-card errors, the "needs attention" list, and seen webhook events.
//!
//! The lease is what lets several replicas share one database: a process may run the sync
//! only while `lease_holder` names it and `lease_until` is in the future. Taking, renewing,
//! moving the watermark and releasing are each one guarded `UPDATE`, so they are atomic on
//! both engines without engine-specific locks.

use sqlx::{FromRow, QueryBuilder};

use super::{now_ms, on_pool, push_in_list, rows_affected, Db, IN_LIST_CHUNK};
use desk_core::model::{LiveEvent, RunPhase, RunStatus, SyncEvent};

/// The sync's state row.
#[derive(Clone, Debug, Default, FromRow)]
pub struct SyncStateRow {
    pub watermark: Option<String>,
    pub lease_holder: Option<String>,
    pub lease_until: Option<i64>,
    pub next_run_at: Option<i64>,
    pub run_requested: i64,
    pub requested_by: Option<String>,
}

/// One run, as stored.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct SyncRunRow {
    pub id: i64,
    pub holder: String,
    pub started_by: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    #[sqlx(try_from = "String")]
    pub status: RunStatus,
    #[sqlx(try_from = "String")]
    pub phase: RunPhase,
    pub total: Option<i64>,
    pub checked: i64,
    pub changed: i64,
    pub unchanged: i64,
    pub failed: i64,
    pub error: Option<String>,
}

/// A run's counts so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub checked: i64,
    pub changed: i64,
    pub unchanged: i64,
    pub failed: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct SyncErrorRow {
    pub run_id: i64,
    pub at: i64,
    pub card_id: Option<String>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct NotFoundRow {
    pub card_id: String,
    pub runs: i64,
    pub first_at: i64,
    pub last_at: i64,
}

/// Open orders GO Cards answered 404 for in this many runs in a row need a person.
pub const NEEDS_ATTENTION_RUNS: i64 = 3;

const RUN_COLUMNS: &str = "id, holder, started_by, started_at, ended_at, status, phase, total, \
    checked, changed, unchanged, failed, error";

impl Db {
    pub async fn sync_state(&self) -> Result<SyncStateRow, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_as::<_, SyncStateRow>(
            "SELECT watermark, lease_holder, lease_until, next_run_at, run_requested, requested_by \
             FROM sync_state WHERE id = 1",
        )
        .fetch_optional(pool)
        .await)
        .map(Option::unwrap_or_default)
    }

    /// Takes the lease for `holder` until `until` when a run is due (scheduled time passed,
    /// or "Run now" asked) and no other live process holds it. `true`: this process runs.
    /// `requested_by` is kept only when "Run now" is what made the run due.
    pub async fn sync_try_acquire(
        &self,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = rows_affected!(self, sqlx::query(
            "UPDATE sync_state SET lease_holder = $1, lease_until = $2, run_requested = 0, \
             requested_by = CASE WHEN run_requested = 1 THEN requested_by ELSE NULL END \
             WHERE id = 1 \
             AND (lease_holder IS NULL OR lease_until IS NULL OR lease_until < $3 OR lease_holder = $1) \
             AND (run_requested = 1 OR (next_run_at IS NOT NULL AND next_run_at <= $3))",
        )
        .bind(holder)
        .bind(until)
        .bind(now))?;
        Ok(done == 1)
    }

    /// Extends the lease; `false` when `holder` no longer has it (another process took over).
    pub async fn sync_renew(&self, holder: &str, until: i64) -> Result<bool, sqlx::Error> {
        let done = rows_affected!(
            self,
            sqlx::query(
                "UPDATE sync_state SET lease_until = $2 WHERE id = 1 AND lease_holder = $1",
            )
            .bind(holder)
            .bind(until)
        )?;
        Ok(done == 1)
    }

    /// Gives the lease up and schedules the next run (`None`: no schedule).
    pub async fn sync_release(
        &self,
        holder: &str,
        next_run_at: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        rows_affected!(
            self,
            sqlx::query(
                "UPDATE sync_state SET lease_holder = NULL, lease_until = NULL, next_run_at = $2 \
             WHERE id = 1 AND lease_holder = $1",
            )
            .bind(holder)
            .bind(next_run_at)
        )
        .map(|_| ())
    }

    /// "Run now": whichever process is free first takes it.
    pub async fn sync_request_run(&self, by: &str) -> Result<(), sqlx::Error> {
        rows_affected!(
            self,
            sqlx::query("UPDATE sync_state SET run_requested = 1, requested_by = $1 WHERE id = 1")
                .bind(by)
        )
        .map(|_| ())
    }

    /// Sets the next scheduled run. With `only_if_unset_or_past`, a time already in the
    /// future is kept (another replica scheduled it).
    pub async fn sync_schedule(
        &self,
        next_run_at: Option<i64>,
        only_if_unset_or_past: bool,
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let done = if only_if_unset_or_past {
            rows_affected!(
                self,
                sqlx::query(
                    "UPDATE sync_state SET next_run_at = $1 WHERE id = 1 \
                 AND (next_run_at IS NULL OR next_run_at < $2)",
                )
                .bind(next_run_at)
                .bind(now)
            )
        } else {
            rows_affected!(
                self,
                sqlx::query("UPDATE sync_state SET next_run_at = $1 WHERE id = 1")
                    .bind(next_run_at)
            )
        };
        done.map(|_| ())
    }

    /// Moves the watermark, only while `holder` has the lease.
    pub async fn sync_set_watermark(
        &self,
        holder: &str,
        watermark: &str,
    ) -> Result<bool, sqlx::Error> {
        let done = rows_affected!(
            self,
            sqlx::query("UPDATE sync_state SET watermark = $2 WHERE id = 1 AND lease_holder = $1")
                .bind(holder)
                .bind(watermark)
        )?;
        Ok(done == 1)
    }

    /// Starts a run's record. Runs left `running` by a process that died are marked
    /// `interrupted` first: the caller holds the lease, so none of them is still going.
    pub async fn sync_start_run(&self, holder: &str, started_by: &str) -> Result<i64, sqlx::Error> {
        let now = now_ms();
        let id = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE sync_runs SET status = 'interrupted', ended_at = $1, \
                 error = 'The server running this sync stopped before it finished.' \
                 WHERE status = 'running'",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO sync_runs (holder, started_by, started_at, status, phase) \
                 VALUES ($1, $2, $3, 'running', 'listing') RETURNING id",
            )
            .bind(holder)
            .bind(started_by)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        });
        self.announce_run(SyncEvent {
            run_id: id,
            status: RunStatus::Running,
            phase: RunPhase::Listing,
            total: None,
            checked: 0,
            changed: 0,
        })
        .await;
        Ok(id)
    }

    /// Stores a run's live progress.
    pub async fn sync_progress(
        &self,
        run_id: i64,
        phase: RunPhase,
        total: Option<i64>,
        counts: RunCounts,
    ) -> Result<(), sqlx::Error> {
        rows_affected!(
            self,
            sqlx::query(
                "UPDATE sync_runs SET phase = $2, total = $3, checked = $4, changed = $5, \
             unchanged = $6, failed = $7 WHERE id = $1",
            )
            .bind(run_id)
            .bind(phase.as_str())
            .bind(total)
            .bind(counts.checked)
            .bind(counts.changed)
            .bind(counts.unchanged)
            .bind(counts.failed)
        )?;
        self.announce_run(SyncEvent {
            run_id,
            status: RunStatus::Running,
            phase,
            total,
            checked: counts.checked,
            changed: counts.changed,
        })
        .await;
        Ok(())
    }

    /// Closes a run with its final status and counts.
    pub async fn sync_finish_run(
        &self,
        run_id: i64,
        status: RunStatus,
        counts: RunCounts,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        rows_affected!(
            self,
            sqlx::query(
                "UPDATE sync_runs SET status = $2, ended_at = $3, checked = $4, changed = $5, \
             unchanged = $6, failed = $7, error = $8, phase = 'done' WHERE id = $1",
            )
            .bind(run_id)
            .bind(status.as_str())
            .bind(now_ms())
            .bind(counts.checked)
            .bind(counts.changed)
            .bind(counts.unchanged)
            .bind(counts.failed)
            .bind(error)
        )?;
        self.announce_run(SyncEvent {
            run_id,
            status,
            phase: RunPhase::Done,
            total: None,
            checked: counts.checked,
            changed: counts.changed,
        })
        .await;
        Ok(())
    }

    /// Tells the admins' sync views; a run goes on without it.
    async fn announce_run(&self, event: SyncEvent) {
        if let Err(error) = self.announce(vec![LiveEvent::Sync(event)]).await {
            tracing::warn!(%error, "could not send the sync's progress to the open pages");
        }
    }

    /// The newest runs first.
    pub async fn sync_runs(&self, limit: i64) -> Result<Vec<SyncRunRow>, sqlx::Error> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM sync_runs ORDER BY id DESC LIMIT $1");
        on_pool!(self, pool => sqlx::query_as::<_, SyncRunRow>(&sql).bind(limit).fetch_all(pool).await)
    }

    pub async fn sync_record_error(
        &self,
        run_id: i64,
        card_id: Option<&str>,
        message: &str,
    ) -> Result<(), sqlx::Error> {
        rows_affected!(
            self,
            sqlx::query(
                "INSERT INTO sync_errors (run_id, at, card_id, message) VALUES ($1, $2, $3, $4)",
            )
            .bind(run_id)
            .bind(now_ms())
            .bind(card_id)
            .bind(message)
        )
        .map(|_| ())
    }

    /// A run's errors, newest first.
    pub async fn sync_errors(
        &self,
        run_id: i64,
        limit: i64,
    ) -> Result<Vec<SyncErrorRow>, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_as::<_, SyncErrorRow>(
            "SELECT run_id, at, card_id, message FROM sync_errors WHERE run_id = $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(run_id)
        .bind(limit)
        .fetch_all(pool)
        .await)
    }

    /// Counts a 404 for `card_id` in run `run_id`, once per run; returns the runs in a row.
    pub async fn sync_note_not_found(
        &self,
        card_id: &str,
        run_id: i64,
    ) -> Result<i64, sqlx::Error> {
        let now = now_ms();
        on_pool!(self, pool => sqlx::query_scalar::<_, i64>(
            "INSERT INTO sync_not_found (card_id, runs, last_run_id, first_at, last_at) \
             VALUES ($1, 1, $2, $3, $3) \
             ON CONFLICT (card_id) DO UPDATE SET \
             runs = CASE WHEN sync_not_found.last_run_id = excluded.last_run_id \
                    THEN sync_not_found.runs ELSE sync_not_found.runs + 1 END, \
             last_run_id = excluded.last_run_id, last_at = excluded.last_at \
             RETURNING runs",
        )
        .bind(card_id)
        .bind(run_id)
        .bind(now)
        .fetch_one(pool)
        .await)
    }

    /// Forgets the 404s of cards GO Cards answered for again.
    pub async fn sync_clear_not_found(&self, card_ids: &[String]) -> Result<(), sqlx::Error> {
        for chunk in card_ids.chunks(IN_LIST_CHUNK) {
            on_pool!(self, pool => {
                let mut query = QueryBuilder::new("DELETE FROM sync_not_found WHERE card_id IN ");
                push_in_list(&mut query, chunk);
                query.build().execute(pool).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// The ids on the not-found list (any count), to know whose entry a good answer clears.
    pub async fn sync_not_found_ids(&self) -> Result<Vec<String>, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, String>("SELECT card_id FROM sync_not_found")
            .fetch_all(pool)
            .await)
    }

    /// Open orders answered 404 in [`NEEDS_ATTENTION_RUNS`] runs in a row or more.
    pub async fn sync_needs_attention(&self, limit: i64) -> Result<Vec<NotFoundRow>, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_as::<_, NotFoundRow>(
            "SELECT n.card_id, n.runs, n.first_at, n.last_at FROM sync_not_found n \
             JOIN cards c ON c.card_id = n.card_id \
             WHERE n.runs >= $1 AND c.state IN ('ordered', 'in_production') \
             ORDER BY n.card_id LIMIT $2",
        )
        .bind(NEEDS_ATTENTION_RUNS)
        .bind(limit)
        .fetch_all(pool)
        .await)
    }

    /// Whether a webhook event was already applied.
    pub async fn webhook_event_seen(&self, event_id: &str) -> Result<bool, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM webhook_events WHERE event_id = $1",
        )
        .bind(event_id)
        .fetch_one(pool)
        .await)
        .map(|count| count > 0)
    }

    /// Remembers an applied webhook event; `false` if it was already there.
    pub async fn webhook_event_record(
        &self,
        event_id: &str,
        card_id: &str,
    ) -> Result<bool, sqlx::Error> {
        let done =
            rows_affected!(self, sqlx::query(
            "INSERT INTO webhook_events (event_id, received_at, card_id) VALUES ($1, $2, $3) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(now_ms())
        .bind(card_id))?;
        Ok(done == 1)
    }
}
