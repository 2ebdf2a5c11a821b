//! One run of the batch sync.
//!
//! 1. **Listing.** Walk `GET /api/cards` from the stored watermark, page by page. Each listed
//!    card that is ours goes through the domain's `apply`. The page's changes are one
//!    transaction (on PostgreSQL, four side by side): each card's state, version and history
//!    row, guarded by the version, a bad card rolled back alone, under a savepoint; their
//!    live events go out after the commit; "no change" only updates `last checked`, for the whole page in one statement.
//!    The watermark moves past a page only when every card before it was applied, so a crash
//!    (which loses at most the uncommitted page) or a failed card is read again next run.
//! 2. **Poll.** Every open order not checked since `stale_after` before the run started is
//!    asked for with `GET /api/card/{id}`, `concurrency` calls in flight. The cards are walked
//!    by card id, so none comes up twice in one run.
//!
//! One bad card never stops a run: it is counted as failed, gets an `error` history row (the
//! same error again on the card's newest row counts there: "failed again (×N, …)") and a
//! line in the run's errors, and is tried again next run (its `last checked` is left alone).
//!
//! Three things do stop a run early:
//! - **An outage.** After `max_consecutive_failures` GO Cards calls in a row failed as an
//!   outage does (unreachable, timeout, 5xx, each after its retries), the poll stops and the
//!   run records "GO Cards unreachable" once, instead of an error per stale open order.
//! - **A shutdown.** No new card is started; the calls in flight get `shutdown_grace` to
//!   finish and are applied; the run is marked "interrupted (shutdown)".
//! - **A lost lease** (another process took over): at once.
//!
//! A listing whose cursors go back to a page already read (A→B→A) ends the listing with an
//! error instead of looping for ever.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::retry::with_retries;
use super::{duration_ms, SyncHandle, SyncSettings};
use crate::db::cards::{CardAtVersion, CardRow};
use crate::db::history::NewHistory;
use crate::db::sync::{RunCounts, NEEDS_ATTENTION_RUNS};
use crate::db::{now_ms, Db, DbKind};
use crate::services::report::{
    apply_report, apply_sync_page, Applied, CheckWrite, Report, ReportSource,
};
use desk_core::domain::{CardId, CardState, GoCardsStatus, Outcome};
use desk_core::model::{HistoryKind, HistorySource, RunPhase, RunStatus};
use gocards::{CardInfo, CursorTrail, GoCardsClient, GoCardsError, ListCursor};

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunReport {
    pub run_id: i64,
    /// `completed`, `failed` (part of the run could not be done, or GO Cards was
    /// unreachable) or `interrupted` (the lease was lost, or the server shut down).
    pub status: RunStatus,
    pub counts: RunCounts,
    pub error: Option<String>,
}

/// How often live progress is written for the settings view.
const PROGRESS_EVERY: Duration = Duration::from_millis(300);
/// Cards per poll batch read from the database.
const POLL_BATCH: i64 = 500;

/// On PostgreSQL, a listing page's changes are written in this many transactions at once.
const PG_PAGE_PARTS: usize = 4;

/// The run's error when it stopped for a shutdown.
pub const INTERRUPTED_BY_SHUTDOWN: &str =
    "Interrupted (shutdown): the server stopped during the run. The next run carries on.";

/// Why a run stopped early.
enum Stop {
    LeaseLost,
    Shutdown,
    /// Too many GO Cards calls in a row failed as an outage does; the message says so.
    Unreachable(String),
    Storage(sqlx::Error),
}

impl From<sqlx::Error> for Stop {
    fn from(err: sqlx::Error) -> Self {
        Stop::Storage(err)
    }
}

/// A listed card: its index in the page, id, stored state and what applying it did.
type Listed = (usize, String, CardState, Result<CardResult, String>);

/// What one card's report did.
enum CardResult {
    Changed,
    /// Nothing to write but `last checked` (with this raw status, if any, for the card at
    /// this version).
    Unchanged {
        touch: Option<(Option<String>, i64)>,
    },
}

struct Run<'a> {
    db: &'a Db,
    gocards: &'a GoCardsClient,
    sync: &'a SyncHandle,
    settings: &'a SyncSettings,
    holder: &'a str,
    lost: &'a AtomicBool,
    /// GO Cards calls that failed as an outage does, in a row (any answer resets it).
    outage_failures: usize,
    run_id: i64,
    started_at: i64,
    counts: RunCounts,
    phase: RunPhase,
    total: Option<i64>,
    saved_at: Instant,
    /// Set by the first problem that stops part of the run (the listing unreadable).
    problem: Option<String>,
}

pub(super) async fn execute(
    db: &Db,
    gocards: &GoCardsClient,
    sync: &SyncHandle,
    started_by: &str,
    lost: &AtomicBool,
) -> Result<RunReport, sqlx::Error> {
    let holder = sync.holder();
    let run_id = db.sync_start_run(holder, started_by).await?;
    crate::metrics::sync_running(true);
    let mut run = Run {
        db,
        gocards,
        sync,
        settings: sync.settings(),
        holder,
        lost,
        outage_failures: 0,
        run_id,
        started_at: now_ms(),
        counts: RunCounts::default(),
        phase: RunPhase::Listing,
        total: None,
        saved_at: Instant::now(),
        problem: None,
    };
    let outcome = match run.listing().await {
        Ok(()) => run.poll().await,
        Err(stop) => Err(stop),
    };
    let (status, error) = match outcome {
        Ok(()) => match run.problem.take() {
            None => (RunStatus::Completed, None),
            Some(problem) => (RunStatus::Failed, Some(problem)),
        },
        Err(Stop::LeaseLost) => (
            RunStatus::Interrupted,
            Some("Another server took over the sync; it continues there.".to_owned()),
        ),
        Err(Stop::Shutdown) => {
            tracing::info!(run = run_id, "batch sync interrupted by the shutdown");
            (
                RunStatus::Interrupted,
                Some(INTERRUPTED_BY_SHUTDOWN.to_owned()),
            )
        }
        Err(Stop::Unreachable(message)) => (RunStatus::Failed, Some(message)),
        Err(Stop::Storage(err)) => {
            tracing::error!(error = %err, run = run_id, "batch sync stopped on a storage error");
            (
                RunStatus::Failed,
                Some("The database could not be written; see the server log.".to_owned()),
            )
        }
    };
    let finished = db
        .sync_finish_run(run_id, status, run.counts, error.as_deref())
        .await;
    crate::metrics::sync_running(false);
    finished?;
    crate::metrics::sync_finished(status, run.counts);
    Ok(RunReport {
        run_id,
        status,
        counts: run.counts,
        error,
    })
}

impl Run<'_> {
    fn check_lease(&self) -> Result<(), Stop> {
        if self.lost.load(Ordering::SeqCst) {
            Err(Stop::LeaseLost)
        } else {
            Ok(())
        }
    }

    /// Between steps: stop for a lost lease or a shutdown.
    fn check_stop(&self) -> Result<(), Stop> {
        self.check_lease()?;
        if self.sync.is_stopping() {
            return Err(Stop::Shutdown);
        }
        Ok(())
    }

    /// Counts one GO Cards answer toward the outage limit: an outage failure adds one, any
    /// other answer (a card, a 404, a bad reply) resets it. Past the limit, the run's one
    /// "GO Cards unreachable" line is written and the run stops.
    async fn note_answer(&mut self, failure: Option<&GoCardsError>) -> Result<(), Stop> {
        let Some(err) = failure.filter(|err| err.is_outage()) else {
            self.outage_failures = 0;
            return Ok(());
        };
        self.outage_failures += 1;
        let limit = self.settings.max_consecutive_failures.max(1);
        if self.outage_failures < limit {
            return Ok(());
        }
        let message = format!(
            "GO Cards unreachable: {limit} calls in a row failed (last: {}), so the sync stopped \
             asking. The next run tries again; check the GO Cards connection if this repeats.",
            err.user_message()
        );
        tracing::warn!(error = %err, calls = limit, "batch sync: GO Cards unreachable; stopping the run");
        self.db
            .sync_record_error(self.run_id, None, &message)
            .await?;
        Err(Stop::Unreachable(message))
    }

    /// Waits for `call` unless the process starts shutting down first (`None`).
    async fn unless_stopping<T>(&self, call: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::select! {
            value = call => Some(value),
            () = self.sync.stopping() => None,
        }
    }

    async fn save_progress(&mut self, force: bool) -> Result<(), Stop> {
        if force || self.saved_at.elapsed() >= PROGRESS_EVERY {
            self.db
                .sync_progress(self.run_id, self.phase, self.total, self.counts)
                .await?;
            self.saved_at = Instant::now();
        }
        Ok(())
    }

    /// Phase 1: the changed-cards listing, from the watermark.
    async fn listing(&mut self) -> Result<(), Stop> {
        let state = self.db.sync_state().await?;
        let mut cursor = match state.watermark.as_deref() {
            None => ListCursor::default(),
            Some(raw) => serde_json::from_str::<ListCursor>(raw).unwrap_or_else(|error| {
                tracing::warn!(%error, "unreadable sync watermark; listing from the start");
                ListCursor::default()
            }),
        };
        // Stays true while every listed card so far was applied: only then may the
        // watermark move.
        let mut contiguous = true;
        // The cursors this walk has read: a `next` among them would loop for ever.
        let mut trail = CursorTrail::starting_at(&cursor);
        loop {
            self.check_stop()?;
            let page = with_retries(self.settings.retry, || {
                self.gocards.changed_cards(&cursor, self.settings.page_size)
            });
            // A page not read yet is simply read again next run.
            let Some(page) = self.unless_stopping(page).await else {
                return Err(Stop::Shutdown);
            };
            self.note_answer(page.as_ref().err()).await?;
            let page = match page {
                Ok(page) => page,
                Err(err) => {
                    tracing::warn!(error = %err, "batch sync: listing failed");
                    return self
                        .listing_failed(format!(
                            "The changed-cards listing could not be read: {} The next run starts from the same place.",
                            err.user_message()
                        ))
                        .await;
                }
            };
            if let Some(looped) = page
                .next
                .as_ref()
                .and_then(|next| trail.advance(next).err())
            {
                tracing::warn!(error = %looped, "batch sync: listing cursor loop");
                return self
                    .listing_failed(format!(
                        "The changed-cards listing stopped: {looped}. The next run starts from the last card applied; report it to GO Cards if it repeats."
                    ))
                    .await;
            }
            let first_failure = self.apply_listing_page(&page.items).await?;
            if contiguous {
                let applied_upto = match first_failure {
                    None => page
                        .next
                        .clone()
                        .or_else(|| page.items.last().map(ListCursor::after)),
                    Some(index) => {
                        contiguous = false;
                        index
                            .checked_sub(1)
                            .and_then(|i| page.items.get(i))
                            .map(ListCursor::after)
                    }
                };
                if let Some(applied_upto) = applied_upto {
                    let watermark = serde_json::to_string(&applied_upto)
                        .map_err(|e| Stop::Storage(sqlx::Error::Encode(Box::new(e))))?;
                    if !self.db.sync_set_watermark(self.holder, &watermark).await? {
                        return Err(Stop::LeaseLost);
                    }
                }
            }
            self.save_progress(true).await?;
            match page.next {
                Some(next) => cursor = next,
                None => return Ok(()),
            }
        }
    }

    /// The listing cannot go on: its error is the run's, and the poll still runs.
    async fn listing_failed(&mut self, message: String) -> Result<(), Stop> {
        self.db
            .sync_record_error(self.run_id, None, &message)
            .await?;
        self.problem = Some(message);
        Ok(())
    }

    /// Applies one listing page; returns the index of the first card that failed.
    async fn apply_listing_page(&mut self, items: &[CardInfo]) -> Result<Option<usize>, Stop> {
        let ids: Vec<String> = items.iter().map(|item| item.card_id.clone()).collect();
        let mut stored: HashMap<String, CardRow> = self
            .db
            .cards_by_ids(&ids)
            .await?
            .into_iter()
            .map(|card| (card.card_id.clone(), card))
            .collect();
        // GO Cards lists every card of the organisation; only ours matter here.
        let ours: Vec<(usize, &CardInfo, CardRow)> = items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| {
                stored.remove(&item.card_id).map(|card| (index, item, card))
            })
            .collect();
        // The page's changes in one transaction, a bad card rolled back alone
        // (`apply_sync_page`); a card another writer changed first is read again.
        let (meta, reports): (Vec<_>, Vec<_>) = ours
            .into_iter()
            .map(|(index, item, card)| {
                let report = Report {
                    status: &item.status,
                    failure_reason: item.failure_reason.as_deref(),
                };
                (
                    (index, card.card_id.clone(), card.state, &item.status),
                    (card, report),
                )
            })
            .unzip();
        // PostgreSQL writes parts of the page side by side, each its own transaction (its
        // commits wait on the disk, so they overlap well); SQLite has one writer.
        let parts = match self.db.kind() {
            DbKind::Postgres => PG_PAGE_PARTS.min(self.settings.concurrency.max(1)),
            DbKind::Sqlite => 1,
        };
        let per_part = reports.len().div_ceil(parts).max(1);
        let mut reports = reports.into_iter();
        let mut writes = Vec::new();
        loop {
            let part: Vec<_> = reports.by_ref().take(per_part).collect();
            if part.is_empty() {
                break;
            }
            writes.push(apply_sync_page(self.db, part));
        }
        let mut applied = Vec::new();
        for part in futures::future::join_all(writes).await {
            applied.extend(part?);
        }
        let results: Vec<Listed> = meta
            .into_iter()
            .zip(applied)
            .map(|((index, card_id, state, reported), applied)| {
                let result = card_result(&card_id, reported, applied);
                (index, card_id, state, result)
            })
            .collect();

        let mut first_failure = None;
        let mut touches: BTreeMap<Option<String>, Vec<CardAtVersion>> = BTreeMap::new();
        for (index, card_id, state, result) in results {
            self.counts.checked += 1;
            if !self.count(card_id, state, result, &mut touches).await? {
                first_failure.get_or_insert(index);
            }
        }
        for (status, ids) in touches {
            self.db.touch_checked(&ids, status.as_deref()).await?;
        }
        Ok(first_failure)
    }

    /// Counts one applied card; an unchanged one joins `touches` (its `last checked` is
    /// written with the page), a failed one gets its error rows. `false`: it failed.
    async fn count(
        &mut self,
        card_id: String,
        state: CardState,
        result: Result<CardResult, String>,
        touches: &mut BTreeMap<Option<String>, Vec<CardAtVersion>>,
    ) -> Result<bool, Stop> {
        match result {
            Ok(CardResult::Changed) => self.counts.changed += 1,
            Ok(CardResult::Unchanged { touch }) => {
                self.counts.unchanged += 1;
                if let Some((status, version)) = touch {
                    let card = CardAtVersion { card_id, version };
                    touches.entry(status).or_default().push(card);
                }
            }
            Err(message) => {
                self.counts.failed += 1;
                self.card_error(&card_id, state, &message, None).await?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Applies what GO Cards reported for `card` (`services::report`, which reads a card
    /// again when another writer changed it first). `Err` is the message of a failure.
    async fn apply_card(
        &self,
        card: CardRow,
        reported: &GoCardsStatus,
        failure_reason: Option<&str>,
    ) -> Result<CardResult, String> {
        let card_id = card.card_id.clone();
        let report = Report {
            status: reported,
            failure_reason,
        };
        let origin = ReportSource {
            source: HistorySource::Sync,
            actor: None,
        };
        card_result(
            &card_id,
            reported,
            apply_report(self.db, card, report, origin).await,
        )
    }

    /// Phase 2: poll the open orders not checked recently.
    async fn poll(&mut self) -> Result<(), Stop> {
        self.phase = RunPhase::Polling;
        let cutoff = self.started_at - duration_ms(self.settings.stale_after);
        let stale = self.db.count_stale_open_orders(cutoff).await?;
        self.total = Some(self.counts.checked + stale);
        self.save_progress(true).await?;
        let mut not_found: HashSet<String> =
            self.db.sync_not_found_ids().await?.into_iter().collect();
        for state in [CardState::Ordered, CardState::InProduction] {
            let mut after = String::new();
            loop {
                self.check_stop()?;
                let batch = self
                    .db
                    .stale_open_orders(state.as_str(), cutoff, &after, POLL_BATCH)
                    .await?;
                let Some(last) = batch.last() else {
                    break;
                };
                after = last.card_id.clone();
                self.poll_batch(batch, &mut not_found).await?;
                self.check_stop()?;
            }
        }
        self.save_progress(true).await
    }

    /// Polls one batch, `concurrency` calls in flight. On a shutdown no new card is started
    /// and the calls in flight get `shutdown_grace` to finish; what they answered is applied.
    async fn poll_batch(
        &mut self,
        batch: Vec<CardRow>,
        not_found: &mut HashSet<String>,
    ) -> Result<(), Stop> {
        let gocards = self.gocards;
        let sync = self.sync;
        let retry = self.settings.retry;
        let cards = batch.into_iter().take_while(|_| !sync.is_stopping());
        let mut answers = futures::stream::iter(cards.map(|card| async move {
            let answer = match CardId::parse(&card.card_id) {
                Ok(id) => with_retries(retry, || gocards.card(&id)).await,
                Err(_) => Err(GoCardsError::BadRequest),
            };
            (card, answer)
        }))
        .buffer_unordered(self.settings.concurrency.max(1));

        let mut touches: BTreeMap<Option<String>, Vec<CardAtVersion>> = BTreeMap::new();
        let mut found_again = Vec::new();
        let mut stopped = Ok(());
        let mut drain_until: Option<Instant> = None;
        loop {
            let next = match drain_until {
                None => match self.unless_stopping(answers.next()).await {
                    Some(next) => next,
                    None => {
                        drain_until = Some(Instant::now() + self.settings.shutdown_grace);
                        continue;
                    }
                },
                Some(deadline) => match tokio::time::timeout_at(deadline, answers.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        tracing::warn!("batch sync: GO Cards calls still in flight at shutdown are left for the next run");
                        break;
                    }
                },
            };
            let Some((card, answer)) = next else {
                break;
            };
            self.check_lease()?;
            self.counts.checked += 1;
            let card_id = card.card_id.clone();
            match answer {
                Ok(info) => {
                    if not_found.remove(&card_id) {
                        found_again.push(card_id.clone());
                    }
                    let state = card.state;
                    let result = self
                        .apply_card(card, &info.status, info.failure_reason.as_deref())
                        .await;
                    self.count(card_id, state, result, &mut touches).await?;
                    stopped = self.note_answer(None).await;
                }
                Err(err) => {
                    self.counts.failed += 1;
                    let mut message = err.user_message();
                    if err == GoCardsError::NotFound {
                        let runs = self.db.sync_note_not_found(&card_id, self.run_id).await?;
                        not_found.insert(card_id.clone());
                        if runs >= NEEDS_ATTENTION_RUNS {
                            // The same words every run, so the card's row counts the repeats.
                            message = format!(
                                "{message} On the needs-attention list: not found in {NEEDS_ATTENTION_RUNS} runs in a row or more."
                            );
                        }
                    }
                    self.card_error(&card_id, card.state, &message, Some(&err))
                        .await?;
                    stopped = self.note_answer(Some(&err)).await;
                }
            }
            if stopped.is_err() {
                break;
            }
            self.save_progress(false).await?;
        }
        drop(answers);
        for (status, ids) in touches {
            self.db.touch_checked(&ids, status.as_deref()).await?;
        }
        self.db.sync_clear_not_found(&found_again).await?;
        stopped?;
        if self.sync.is_stopping() {
            return Err(Stop::Shutdown);
        }
        Ok(())
    }

    /// A card the sync could not bring up to date: an `error` history row and a line in the
    /// run's errors. `last checked` stays, so the next run polls it again.
    async fn card_error(
        &self,
        card_id: &str,
        state: CardState,
        message: &str,
        err: Option<&GoCardsError>,
    ) -> Result<(), Stop> {
        if let Some(err) = err {
            tracing::warn!(%card_id, error = %err, "batch sync: card check failed");
        }
        let event = NewHistory {
            kind: HistoryKind::Error,
            source: HistorySource::Sync,
            actor: None,
            from_state: state,
            to_state: state,
            gocards_status: None,
            detail: Some(message),
        };
        self.db.append_history_collapsing(card_id, &event).await?;
        self.db
            .sync_record_error(self.run_id, Some(card_id), message)
            .await?;
        Ok(())
    }
}

/// What applying a report did to the card, as the run counts it. `Err` is the message of a
/// failure.
fn card_result(
    card_id: &str,
    reported: &GoCardsStatus,
    applied: Result<Applied, sqlx::Error>,
) -> Result<CardResult, String> {
    match applied {
        Ok(Applied::Stored {
            outcome: Outcome::Changed { .. },
            ..
        }) => Ok(CardResult::Changed),
        // No change, or refused (not an open order any more): `last checked` is written
        // with the page, as `CheckWrite` says (nothing for a card that is no open order).
        Ok(Applied::Stored {
            outcome, version, ..
        }) => {
            let write = CheckWrite::of(&outcome);
            let status = write.status(reported.as_str()).map(str::to_owned);
            Ok(CardResult::Unchanged {
                touch: (write != CheckWrite::Nothing).then_some((status, version)),
            })
        }
        Ok(Applied::ChangedMeanwhile) => {
            Err("The card kept changing during the sync; it is tried again next run.".to_owned())
        }
        Ok(Applied::Gone) => Err("The card was removed during the sync.".to_owned()),
        Err(err) => Err(storage_message(card_id, &err)),
    }
}

fn storage_message(card_id: &str, err: &sqlx::Error) -> String {
    tracing::error!(%card_id, error = %err, "batch sync: could not store a card's change");
    "The change could not be stored; it is tried again next run.".to_owned()
}
