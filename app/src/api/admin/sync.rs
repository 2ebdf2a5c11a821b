//! "Scheduled jobs > GO Cards batch sync": its state, "Run now" and the schedule.

use leptos::prelude::*;
use server_fn::codec::Json;

use crate::api::errors::api_error;
use crate::model::{SyncScheduleInput, SyncView};

api_error! {
    /// Reading the batch sync's state.
    pub enum SyncViewError {}
}

api_error! {
    /// Asking for a run now.
    pub enum RunSyncError {}
}

api_error! {
    /// Saving the batch sync's schedule.
    pub enum SaveSyncScheduleError {
        #[error("{message}")]
        Invalid { message: String } => BAD_REQUEST,
        #[error("The schedule is set by SYNC_INTERVAL_SECS on the server; change it there.")]
        SetByEnvironment => BAD_REQUEST,
    }
}

/// The schedule, what the sync is doing, the newest run with its counts and errors, and the
/// needs-attention list. The view polls this while it is open.
#[server(endpoint = "sync_status", input = Json)]
pub async fn sync_status() -> Result<SyncView, SyncViewError> {
    use crate::api::access;
    use backend::services;

    access::require_admin().await?;
    let app = access::app_state()?;
    Ok(services::sync_view::sync_view(&app.db, &app.sync).await?)
}

/// "Run now": the first server free to run it starts a run within a second.
#[server(endpoint = "run_sync_now", input = Json)]
pub async fn run_sync_now() -> Result<SyncView, RunSyncError> {
    use crate::api::access;
    use backend::{services, sync};

    let admin = access::require_admin().await?;
    let app = access::app_state()?;
    sync::request_run(&app.db, &app.sync, &admin.username).await?;
    app.db
        .audit(&admin.username, "run batch sync", "Run now")
        .await?;
    Ok(services::sync_view::sync_view(&app.db, &app.sync).await?)
}

/// Stores the schedule (enabled, interval) and reschedules the next run from now.
#[server(endpoint = "save_sync_schedule", input = Json)]
pub async fn save_sync_schedule(
    schedule: SyncScheduleInput,
) -> Result<SyncView, SaveSyncScheduleError> {
    use crate::api::access;
    use backend::services;
    use backend::sync::{save_schedule, ScheduleError};

    let admin = access::require_admin().await?;
    let app = access::app_state()?;
    save_schedule(
        &app.db,
        &app.sync,
        schedule.enabled,
        &schedule.interval_secs,
        &admin.username,
    )
    .await
    .map_err(|err| match err {
        ScheduleError::SetByEnvironment => SaveSyncScheduleError::SetByEnvironment,
        ScheduleError::InvalidInterval => SaveSyncScheduleError::Invalid {
            message: err.to_string(),
        },
        ScheduleError::Storage(err) => err.into(),
    })?;
    Ok(services::sync_view::sync_view(&app.db, &app.sync).await?)
}
