//! The batch sync's scheduler: every tick (or when "Run now" wakes it) it asks the database
//! whether a run is due, and runs it if this process gets the lease. Every replica runs one;
//! the lease in the database makes sure only one of them runs at a time. It ends when the
//! process shuts down (`SyncHandle::shut_down`), once a run in progress has stopped.

use backend::db::now_ms;
use backend::sync::{self, duration_ms};
use backend::AppState;

/// Starts the scheduler in the background. The first scheduled run comes one interval
/// after start (unless another replica already scheduled one sooner). The handle resolves
/// after a shutdown, once the sync has stopped.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let settings = state.sync.settings().clone();
        match sync::schedule(&state.db, &settings).await {
            Ok(schedule) => {
                let next = schedule
                    .interval()
                    .map(|interval| now_ms() + duration_ms(interval));
                if let Err(error) = state.db.sync_schedule(next, next.is_some()).await {
                    tracing::error!(%error, "could not schedule the batch sync");
                }
                match schedule.interval() {
                    Some(interval) => tracing::info!(
                        interval_secs = interval.as_secs(),
                        holder = state.sync.holder(),
                        "batch sync scheduled"
                    ),
                    None => tracing::info!("batch sync schedule is off; Run now still works"),
                }
            }
            Err(error) => tracing::error!(%error, "could not read the batch sync schedule"),
        }
        loop {
            tokio::select! {
                () = tokio::time::sleep(settings.tick) => {}
                () = state.sync.woken() => {}
                () = state.sync.stopping() => break,
            }
            let client = state.gocards.current();
            // On a shutdown a running sync stops by itself (it watches the same flag) and
            // hands its lease back before this returns.
            if let Err(error) = sync::run_if_due(&state.db, &client, &state.sync).await {
                tracing::error!(%error, "batch sync could not run");
            }
        }
        tracing::info!("batch sync scheduler stopped");
    })
}
