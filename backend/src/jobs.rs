//! The job runner: a job is a loop over what an operator could have done by hand. Each item
//! calls the single command's service function (the same checks, the same history row, the
//! same message, with the job's starter as the actor) and its outcome is stored as it
//! completes.
//!
//! - At most `JOB_CONCURRENCY` items are in flight (each makes at most one GO Cards call).
//! - A `429` pauses the whole job for its `Retry-After`: no item starts before then.
//! - Stop: the items in flight finish, the rest are "not run".
//! - The process runs a job under a lease, renewed by a heartbeat. On shutdown its jobs stop
//!   as for Stop and become Interrupted; when the process dies, the lease lapses and any
//!   replica (or this one, starting again) marks the job Interrupted. "Run the rest" resumes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;

use crate::db::jobs::{ItemDone, ItemRow, JobRow};
use crate::db::{now_ms, Db};
use crate::services::abort_card_order::{abort_card_order, AbortCardOrderError};
use crate::services::order_card::{order_card, OrderCardError};
use crate::services::update_card_order::{update_card_order, UpdateCardOrderError};
use crate::GoCardsHandle;
use desk_core::domain::{CardId, CardState, ItemOutcome, JobStatus, Outcome, Process};
use desk_core::model::HistoryKind;
use gocards::GoCardsError;

/// How long a job's lease lasts; the heartbeat renews it three times as often.
pub const JOB_LEASE: Duration = Duration::from_secs(15);

/// What an item that could not be stored for a database fault says; it is run again by
/// "Run the rest".
pub const ITEM_STORAGE_FAULT: &str =
    "The database could not be reached, so this item did not run. Run the rest tries it again.";

/// This process's part in the jobs. Cheap to clone.
#[derive(Clone)]
pub struct JobsHandle(Arc<Shared>);

struct Shared {
    concurrency: usize,
    holder: String,
    /// One sender per job running here: `true` asks it to stop.
    running: Mutex<HashMap<i64, watch::Sender<bool>>>,
    /// `true` once the process is shutting down: running jobs stop, none starts.
    stopping: watch::Sender<bool>,
    /// How many jobs run here, for the shutdown to wait on.
    active: watch::Sender<usize>,
}

impl JobsHandle {
    pub fn new(concurrency: usize) -> Self {
        let holder = format!(
            "jobs-pid{}-{}",
            std::process::id(),
            hex::encode(rand::random::<[u8; 4]>())
        );
        JobsHandle(Arc::new(Shared {
            concurrency: concurrency.max(1),
            holder,
            running: Mutex::new(HashMap::new()),
            stopping: watch::Sender::new(false),
            active: watch::Sender::new(0),
        }))
    }

    pub fn concurrency(&self) -> usize {
        self.0.concurrency
    }

    /// The name this process runs jobs under.
    pub fn holder(&self) -> &str {
        &self.0.holder
    }

    pub fn lease_until(&self) -> i64 {
        now_ms() + duration_ms(JOB_LEASE)
    }

    pub fn is_stopping(&self) -> bool {
        *self.0.stopping.borrow()
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, watch::Sender<bool>>> {
        self.0
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks job `id` to stop, if it runs here; `false` if it does not.
    pub fn stop_here(&self, id: i64) -> bool {
        match self.running().get(&id) {
            Some(stop) => {
                stop.send_replace(true);
                true
            }
            None => false,
        }
    }

    /// The process is shutting down: every job running here stops after its items in
    /// flight and becomes Interrupted.
    pub fn shut_down(&self) {
        self.0.stopping.send_replace(true);
        for stop in self.running().values() {
            stop.send_replace(true);
        }
    }

    /// Resolves when no job runs here any more.
    pub async fn idle(&self) {
        let mut active = self.0.active.subscribe();
        let _ = active.wait_for(|n| *n == 0).await;
    }

    /// Starts running job `job` (stored as running under this process's lease) in the
    /// background. `resumed`: "Run the rest", after the job stopped or was interrupted.
    pub fn spawn(&self, db: Db, gocards: GoCardsHandle, job: JobRow, resumed: bool) {
        let (stop_tx, stop_rx) = watch::channel(self.is_stopping());
        self.running().insert(job.id, stop_tx);
        self.0.active.send_modify(|n| *n += 1);
        let handle = self.clone();
        tokio::spawn(async move {
            let _running = crate::metrics::JobRunning::start();
            let id = job.id;
            let ended = run(&handle, &db, &gocards, job, stop_rx, resumed).await;
            if let Err(error) = ended {
                tracing::error!(job = id, %error, "job failed; its lease lapses and it becomes interrupted");
            }
            handle.running().remove(&id);
            handle.0.active.send_modify(|n| *n = n.saturating_sub(1));
        });
    }
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Runs the job's items still to run, then ends it.
async fn run(
    handle: &JobsHandle,
    db: &Db,
    gocards: &GoCardsHandle,
    job: JobRow,
    mut stop: watch::Receiver<bool>,
    resumed: bool,
) -> Result<(), sqlx::Error> {
    let items = db.items_to_run(job.id).await?;
    tracing::info!(
        job = job.id,
        process = job.process.as_str(),
        items = items.len(),
        "job starting"
    );
    // Until when no item may start (a 429's Retry-After), as a tokio instant.
    let (pause_tx, pause_rx) = watch::channel(tokio::time::Instant::now());
    let pause_tx = Arc::new(pause_tx);
    // The pause starts the moment GO Cards answers 429, not once that item has written its
    // history row: items that start meanwhile must already wait.
    let observer: gocards::RateLimitObserver = {
        let pause_tx = pause_tx.clone();
        Arc::new(move |wait| pause_until(&pause_tx, tokio::time::Instant::now() + wait))
    };
    let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let heartbeat = {
        let db = db.clone();
        let holder = handle.holder().to_owned();
        let id = job.id;
        let stop_tx = handle.running().get(&id).cloned();
        let lost = lost.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(JOB_LEASE / 3).await;
                match db
                    .renew_job_lease(id, &holder, now_ms() + duration_ms(JOB_LEASE))
                    .await
                {
                    Ok(Some(false)) => {}
                    Ok(Some(true)) => {
                        // Stop pressed on another replica.
                        if let Some(stop) = &stop_tx {
                            stop.send_replace(true);
                        }
                    }
                    Ok(None) => {
                        tracing::warn!(job = id, "job lease lost to another process; stopping");
                        lost.store(true, std::sync::atomic::Ordering::SeqCst);
                        if let Some(stop) = &stop_tx {
                            stop.send_replace(true);
                        }
                        return;
                    }
                    Err(error) => tracing::warn!(job = id, %error, "could not renew the job lease"),
                }
            }
        })
    };

    // The job's progress to the open pages, at most every JOB_EVENT_EVERY.
    let progressed = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let announcer = {
        let db = db.clone();
        let id = job.id;
        let progressed = progressed.clone();
        tokio::spawn(async move {
            loop {
                if progressed.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    announce_job(&db, id).await;
                }
                tokio::time::sleep(JOB_EVENT_EVERY).await;
            }
        })
    };

    let job = &job;
    let progressed = &progressed;
    let concurrency = handle.concurrency();
    futures::stream::iter(items)
        .map(|item| {
            let mut stop = stop.clone();
            let mut pause = pause_rx.clone();
            let pause_tx = &pause_tx;
            let observer = observer.clone();
            async move {
                // Wait out a 429 seen by any item of the job, unless the job stops meanwhile
                // (Stop, or the process shutting down): a waiting item is not in flight.
                loop {
                    let until = *pause.borrow_and_update();
                    if until <= tokio::time::Instant::now() || *stop.borrow_and_update() {
                        break;
                    }
                    tokio::select! {
                        () = tokio::time::sleep_until(until) => {}
                        changed = stop.changed() => {
                            if changed.is_err() {
                                tokio::time::sleep_until(until).await;
                            }
                        }
                    }
                }
                if *stop.borrow() {
                    return;
                }
                let current = gocards.current().observing_rate_limits(observer);
                let (done, retry_after) = match already_ran(db, job, &item, resumed).await {
                    Ok(Some(done)) => (Some(done), None),
                    Ok(None) => run_item(db, &current, job, &item).await,
                    Err(error) => {
                        tracing::warn!(%error, "job item: could not read the card's history");
                        (None, None)
                    }
                };
                if let Some(wait) = retry_after {
                    pause_until(pause_tx, tokio::time::Instant::now() + wait);
                }
                if let Some(done) = done {
                    match db.finish_item(job.id, item.position, &done).await {
                        Ok(stored) => {
                            if stored {
                                crate::metrics::job_item(job.process, done.outcome);
                            }
                            progressed.store(true, std::sync::atomic::Ordering::SeqCst)
                        }
                        Err(error) => {
                            tracing::error!(job = job.id, position = item.position, %error,
                            "could not store a job item's outcome; Run the rest runs it again")
                        }
                    }
                }
            }
        })
        .buffer_unordered(concurrency)
        .collect::<()>()
        .await;
    heartbeat.abort();
    announcer.abort();

    if lost.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok(());
    }
    let status = if handle.is_stopping() {
        JobStatus::Interrupted
    } else if *stop.borrow_and_update() {
        JobStatus::Stopped
    } else if db.items_to_run(job.id).await?.is_empty() {
        JobStatus::Done
    } else {
        // Items whose outcome could not be stored: "Run the rest" runs them.
        JobStatus::Interrupted
    };
    db.finish_job(job.id, handle.holder(), status).await?;
    announce_job(db, job.id).await;
    tracing::info!(job = job.id, status = status.as_str(), "job ended");
    Ok(())
}

/// Moves the job's pause on to `until`, unless it already lasts longer.
fn pause_until(pause: &watch::Sender<tokio::time::Instant>, until: tokio::time::Instant) {
    pause.send_if_modified(|current| {
        if *current < until {
            *current = until;
            true
        } else {
            false
        }
    });
}

/// How often a running job's counts go to the open pages, at most.
pub const JOB_EVENT_EVERY: Duration = Duration::from_millis(250);

/// Sends a job's status and counts to whoever may see it. A job goes on without it.
pub async fn announce_job(db: &Db, id: i64) {
    let event = async {
        let Some(job) = db.job(id).await? else {
            return Ok(None);
        };
        let counts = db.job_counts(id).await?;
        Ok::<_, sqlx::Error>(Some(desk_core::model::LiveEvent::Job(
            desk_core::model::JobEvent {
                job_id: id,
                started_by: job.started_by,
                status: job.status,
                counts,
            },
        )))
    };
    let sent = match event.await {
        Ok(Some(event)) => db.announce(vec![event]).await,
        Ok(None) => Ok(()),
        Err(error) => Err(error),
    };
    if let Err(error) = sent {
        tracing::warn!(job = id, %error, "could not send a job's progress to the open pages");
    }
}

/// On "Run the rest", an item whose command ran but whose outcome was not stored (the
/// process died between the two writes, with the item in flight): the card's history has
/// the command's row, by the job's starter, since the job started. Its outcome is taken from
/// that row, so that the card is not asked, nor given a second row, again. `None`: run it.
async fn already_ran(
    db: &Db,
    job: &JobRow,
    item: &ItemRow,
    resumed: bool,
) -> Result<Option<ItemDone>, sqlx::Error> {
    if !resumed || job.process.entity() != desk_core::domain::Entity::Card {
        // The batch order needs no look: the item's pending order and its Idempotency-Key
        // make a second run place no second order.
        return Ok(None);
    }
    let Some(row) = db
        .manual_history_since(&item.target, &job.started_by, job.started_at)
        .await?
    else {
        return Ok(None);
    };
    let detail = row.detail.clone().unwrap_or_default();
    let (outcome, message) = match row.kind {
        HistoryKind::Changed => {
            let message = match job.process {
                Process::AbortCardOrder => format!(
                    "Order aborted: {} → {}",
                    row.from_state.label(),
                    row.to_state.label()
                ),
                _ => Outcome::Changed {
                    from: row.from_state,
                    to: row.to_state,
                    failure_reason: row.detail.clone(),
                }
                .message(),
            };
            (ItemOutcome::Changed, message)
        }
        HistoryKind::NoChange => (ItemOutcome::Unchanged, detail),
        HistoryKind::Refused => (ItemOutcome::Skipped, detail),
        _ => (ItemOutcome::Failed, detail),
    };
    tracing::info!(
        job = job.id,
        position = item.position,
        card = %item.target,
        "job item ran before the process stopped; its outcome is taken from the card's history"
    );
    Ok(done(
        Some(row.from_state),
        Some(row.to_state),
        outcome,
        message,
    ))
}

/// Runs one item: the single command. `None` for the outcome when the item could not run
/// for a database fault (it stays to run); a `Retry-After` when GO Cards answered 429.
async fn run_item(
    db: &Db,
    gocards: &gocards::GoCardsClient,
    job: &JobRow,
    item: &ItemRow,
) -> (Option<ItemDone>, Option<Duration>) {
    match job.process {
        Process::UpdateCardOrder | Process::AbortCardOrder => {
            card_item(db, gocards, job, item).await
        }
        Process::OrderCard => order_item(db, gocards, job, item).await,
    }
}

fn retry_after(err: &GoCardsError) -> Option<Duration> {
    match err {
        GoCardsError::RateLimited { retry_after } => Some(*retry_after),
        _ => None,
    }
}

fn done(
    before: Option<CardState>,
    after: Option<CardState>,
    outcome: ItemOutcome,
    message: impl Into<String>,
) -> Option<ItemDone> {
    Some(ItemDone {
        before,
        after,
        outcome,
        message: message.into(),
    })
}

async fn card_item(
    db: &Db,
    gocards: &gocards::GoCardsClient,
    job: &JobRow,
    item: &ItemRow,
) -> (Option<ItemDone>, Option<Duration>) {
    let Ok(card_id) = CardId::parse(&item.target) else {
        let message = format!("No card {} exists.", item.target);
        return (done(None, None, ItemOutcome::Skipped, message), None);
    };
    // The version the command checks is the card's as the item starts: the operator chose
    // the card, not one moment of it.
    let card = match db.card(card_id.as_str()).await {
        Ok(Some(card)) => card,
        Ok(None) => {
            let message = format!("No card {card_id} exists.");
            return (done(None, None, ItemOutcome::Skipped, message), None);
        }
        Err(error) => {
            tracing::warn!(%error, "job item: could not read the card");
            return (None, None);
        }
    };
    let before = Some(card.state);
    let actor = job.started_by.as_str();
    match job.process {
        Process::UpdateCardOrder => {
            match update_card_order(db, gocards, &card_id, card.version, actor).await {
                Ok(report) => {
                    let outcome = match report.outcome {
                        Outcome::Changed { .. } => ItemOutcome::Changed,
                        _ => ItemOutcome::Unchanged,
                    };
                    (
                        done(before, Some(report.state), outcome, report.message),
                        None,
                    )
                }
                Err(err) => {
                    let message = err.to_string();
                    match err {
                        UpdateCardOrderError::UnknownCard(_)
                        | UpdateCardOrderError::NotApplicable(_)
                        | UpdateCardOrderError::NotEnabled(_) => {
                            (done(before, before, ItemOutcome::Skipped, message), None)
                        }
                        UpdateCardOrderError::ChangedMeanwhile => {
                            (done(before, before, ItemOutcome::Failed, message), None)
                        }
                        UpdateCardOrderError::GoCards(e) => (
                            done(before, before, ItemOutcome::Failed, message),
                            retry_after(&e),
                        ),
                        UpdateCardOrderError::Storage(error) => {
                            tracing::warn!(%error, "job item: storage fault");
                            (None, None)
                        }
                    }
                }
            }
        }
        Process::AbortCardOrder => {
            let reason = job.reason.as_deref().unwrap_or_default();
            match abort_card_order(db, gocards, &card_id, card.version, reason, actor).await {
                Ok(report) => (
                    done(
                        before,
                        Some(report.state),
                        ItemOutcome::Changed,
                        report.message,
                    ),
                    None,
                ),
                Err(err) => {
                    let message = err.to_string();
                    match err {
                        AbortCardOrderError::UnknownCard(_)
                        | AbortCardOrderError::NotApplicable(_)
                        | AbortCardOrderError::NotEnabled(_) => {
                            (done(before, before, ItemOutcome::Skipped, message), None)
                        }
                        AbortCardOrderError::GoCards(e) => {
                            let after = current_state(db, &card_id).await.or(before);
                            (
                                done(before, after, ItemOutcome::Failed, message),
                                retry_after(&e),
                            )
                        }
                        AbortCardOrderError::Storage(error) => {
                            tracing::warn!(%error, "job item: storage fault");
                            (None, None)
                        }
                        AbortCardOrderError::InvalidReason(_)
                        | AbortCardOrderError::ChangedMeanwhile
                        | AbortCardOrderError::CancelledButChanged
                        | AbortCardOrderError::TooLate(_)
                        | AbortCardOrderError::Refused
                        | AbortCardOrderError::NotConfirmed(_) => {
                            let after = current_state(db, &card_id).await.or(before);
                            (done(before, after, ItemOutcome::Failed, message), None)
                        }
                    }
                }
            }
        }
        Process::OrderCard => (
            done(
                before,
                before,
                ItemOutcome::Skipped,
                "Order card runs on users, not cards.",
            ),
            None,
        ),
    }
}

async fn current_state(db: &Db, card_id: &CardId) -> Option<CardState> {
    db.card(card_id.as_str())
        .await
        .ok()
        .flatten()
        .map(|c| c.state)
}

async fn order_item(
    db: &Db,
    gocards: &gocards::GoCardsClient,
    job: &JobRow,
    item: &ItemRow,
) -> (Option<ItemDone>, Option<Duration>) {
    let Ok(holder_id) = item.target.parse::<i64>() else {
        let message = format!("No user {} exists.", item.target);
        return (done(None, None, ItemOutcome::Skipped, message), None);
    };
    let Some(form) = job.order.as_ref() else {
        return (
            done(
                None,
                None,
                ItemOutcome::Failed,
                "The job has no order form.",
            ),
            None,
        );
    };
    match order_card(db, gocards, holder_id, form, &job.started_by).await {
        Ok(report) => (
            done(
                None,
                Some(CardState::Ordered),
                ItemOutcome::Ordered,
                report.message,
            ),
            None,
        ),
        Err(err) => {
            let message = err.to_string();
            match err {
                OrderCardError::UnknownUser(_)
                | OrderCardError::NotEnabled
                | OrderCardError::NoEmail { .. }
                | OrderCardError::AlreadyOpen { .. } => {
                    (done(None, None, ItemOutcome::Skipped, message), None)
                }
                OrderCardError::Refused(e)
                | OrderCardError::GoCards(e)
                | OrderCardError::MayHaveBeenPlaced(e) => (
                    done(None, None, ItemOutcome::Failed, message),
                    retry_after(&e),
                ),
                OrderCardError::Invalid(_)
                | OrderCardError::PendingDiffers { .. }
                | OrderCardError::BadCardId(_) => {
                    (done(None, None, ItemOutcome::Failed, message), None)
                }
                OrderCardError::Storage(error) => {
                    tracing::warn!(%error, "job item: storage fault");
                    (None, None)
                }
            }
        }
    }
}
