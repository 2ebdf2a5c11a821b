//! Retention: deleting what the desk no longer needs, a batch at a time so that a large
//! backlog never holds the database's write lock for long. Card history and the admin audit
//! log are kept; nothing here touches them.

use super::{on_pool, rows_affected, Db};

/// Rows deleted per statement.
const DELETE_BATCH: i64 = 5_000;

/// What pruning the sync runs deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrunedRuns {
    pub runs: u64,
    pub errors: u64,
}

impl Db {
    /// Deletes the webhook events received before `cutoff` (ms). An event older than that
    /// is no longer recognised as a replay; a redelivery still never moves a card back.
    pub async fn delete_webhook_events_before(&self, cutoff: i64) -> Result<u64, sqlx::Error> {
        self.delete_in_batches(
            "DELETE FROM webhook_events WHERE event_id IN \
             (SELECT event_id FROM webhook_events WHERE received_at < $1 LIMIT $2)",
            cutoff,
        )
        .await
    }

    /// Deletes every sync run but the newest `keep`, with their errors (the errors first, so
    /// none is left without its run if this stops halfway).
    pub async fn delete_sync_runs_beyond(&self, keep: u32) -> Result<PrunedRuns, sqlx::Error> {
        let Some(offset) = i64::from(keep).checked_sub(1) else {
            return Ok(PrunedRuns::default());
        };
        let oldest_kept: Option<i64> = on_pool!(self, pool => sqlx::query_scalar::<_, i64>(
            "SELECT id FROM sync_runs ORDER BY id DESC LIMIT 1 OFFSET $1",
        )
        .bind(offset)
        .fetch_optional(pool)
        .await)?;
        let Some(oldest_kept) = oldest_kept else {
            return Ok(PrunedRuns::default());
        };
        let errors = self
            .delete_in_batches(
                "DELETE FROM sync_errors WHERE id IN \
                 (SELECT id FROM sync_errors WHERE run_id < $1 LIMIT $2)",
                oldest_kept,
            )
            .await?;
        let runs = self
            .delete_in_batches(
                "DELETE FROM sync_runs WHERE id IN \
                 (SELECT id FROM sync_runs WHERE id < $1 LIMIT $2)",
                oldest_kept,
            )
            .await?;
        Ok(PrunedRuns { runs, errors })
    }

    /// Runs `sql` (binding `below` and the batch size) until a batch deletes less than a
    /// batch; the rows deleted.
    async fn delete_in_batches(&self, sql: &str, below: i64) -> Result<u64, sqlx::Error> {
        let mut deleted = 0;
        loop {
            let batch = rows_affected!(self, sqlx::query(sql).bind(below).bind(DELETE_BATCH))?;
            deleted += batch;
            if batch < DELETE_BATCH as u64 {
                return Ok(deleted);
            }
        }
    }
}
