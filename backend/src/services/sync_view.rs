//! What the settings view shows of the batch sync.

use crate::db::sync::SyncRunRow;
use crate::db::{now_ms, to_rfc3339, Db};
use crate::sync::{schedule, SyncHandle};
use desk_core::model::{
    NeedsAttentionView, RunStatus, SyncErrorView, SyncRunView, SyncStatus, SyncView,
};

/// Errors and needs-attention rows shown at most.
const SHOWN_ROWS: i64 = 50;

pub async fn sync_view(db: &Db, sync: &SyncHandle) -> Result<SyncView, sqlx::Error> {
    let schedule = schedule(db, sync.settings()).await?;
    let state = db.sync_state().await?;
    let last = db.sync_runs(1).await?.into_iter().next();
    let now = now_ms();
    let lease_live = state.lease_holder.is_some() && state.lease_until.is_some_and(|t| t >= now);
    let status = match &last {
        Some(run) if run.status == RunStatus::Running && lease_live => SyncStatus::Running,
        Some(run) if run.status != RunStatus::Completed => SyncStatus::Failed,
        _ => SyncStatus::Idle,
    };
    let errors = match &last {
        Some(run) => db
            .sync_errors(run.id, SHOWN_ROWS)
            .await?
            .into_iter()
            .map(|row| SyncErrorView {
                at: to_rfc3339(row.at),
                card_id: row.card_id,
                message: row.message,
            })
            .collect(),
        None => Vec::new(),
    };
    let needs_attention = db
        .sync_needs_attention(SHOWN_ROWS)
        .await?
        .into_iter()
        .map(|row| NeedsAttentionView {
            card_id: row.card_id,
            runs: row.runs,
            since: to_rfc3339(row.first_at),
        })
        .collect();
    Ok(SyncView {
        enabled: schedule.interval().is_some(),
        interval_secs: schedule.interval.as_secs(),
        schedule_from_env: schedule.from_env,
        status,
        run_requested: state.run_requested == 1,
        next_run: schedule.interval().and(state.next_run_at).map(to_rfc3339),
        last_run: last.map(run_view),
        errors,
        needs_attention,
    })
}

fn run_view(run: SyncRunRow) -> SyncRunView {
    SyncRunView {
        id: run.id,
        started_by: run.started_by,
        started_at: to_rfc3339(run.started_at),
        ended_at: run.ended_at.map(to_rfc3339),
        status: run.status,
        phase: run.phase,
        total: run.total,
        checked: run.checked,
        changed: run.changed,
        unchanged: run.unchanged,
        failed: run.failed,
        error: run.error,
    }
}
