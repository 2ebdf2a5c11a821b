//! Jobs: what the dialog previews, starting one, Stop, "Run the rest", and the views of
//! `/jobs` and `/jobs/{id}`. The runner is [`crate::jobs`]; each item is the single command.

use std::collections::BTreeMap;

use crate::db::jobs::{ItemRow, JobRow, JobStart, NewItem, NewJob};
use crate::db::{to_rfc3339, Db};
use crate::jobs::JobsHandle;
use crate::services::abort_card_order::AbortCardOrderError;
use crate::services::order_card::OrderCardError;
use crate::services::update_card_order::UpdateCardOrderError;
use crate::GoCardsHandle;
use desk_core::domain::{
    already_running_message, check_job_size, check_reason, job_title, CardId, CardState,
    CommandList, Entity, FieldError, ItemOutcome, JobSizeError, JobStatus, OrderForm, Process,
    ReasonError,
};
use desk_core::model::{
    JobItemView, JobItemsPage, JobPreview, JobRequest, JobView, SkippedGroup, JOBS_LISTED,
    JOB_ITEMS_PAGE_SIZE,
};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Size(#[from] JobSizeError),
    #[error("{0}")]
    Reason(ReasonError),
    #[error("{0}")]
    Order(FieldError),
    #[error("Abort card order needs a reason for all the cards.")]
    NoReason,
    #[error("The batch order needs an article and a delivery address.")]
    NoOrder,
    #[error("\"{0}\" is not a user id.")]
    BadUserId(String),
    #[error("\"{0}\" is not a card id.")]
    BadCardId(String),
    #[error("{0}")]
    AlreadyRunning(String),
    #[error("No job {0} exists.")]
    UnknownJob(i64),
    #[error("This job is someone else's: only they or an admin can stop it or run the rest.")]
    NotYours,
    #[error("The job is not running.")]
    NotRunning,
    #[error("Only a stopped or interrupted job can run the rest.")]
    CannotResume,
    #[error("The server is shutting down; start the job again in a moment.")]
    ShuttingDown,
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// Who asks.
#[derive(Clone, Copy, Debug)]
pub struct Asker<'a> {
    pub id: i64,
    pub username: &'a str,
    pub admin: bool,
}

/// One item as the preview decided it.
struct Planned {
    items: Vec<NewItem>,
    skipped: BTreeMap<String, u32>,
    to_run: u32,
    reason: Option<String>,
    order: Option<OrderForm>,
}

fn unique<T: Clone + Eq + std::hash::Hash>(items: &[T]) -> Vec<T> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    items
        .iter()
        .filter(|i| seen.insert((*i).clone()))
        .cloned()
        .collect()
}

/// Decides each item: skipped now (with the single command's message), or to run. With
/// `inputs`, the reason or the order form is checked too (Next); the preview, shown before
/// they are typed, leaves them out.
async fn plan(db: &Db, request: &JobRequest, inputs: bool) -> Result<Planned, JobError> {
    let ids = unique(&request.items);
    check_job_size(ids.len())?;
    let mut items = Vec::with_capacity(ids.len());
    let mut skipped: BTreeMap<String, u32> = BTreeMap::new();
    let mut skip =
        |items: &mut Vec<NewItem>, target: String, label: String, before, message: String| {
            *skipped.entry(message.clone()).or_default() += 1;
            items.push(NewItem {
                target,
                label,
                before,
                outcome: Some(ItemOutcome::Skipped),
                message,
            });
        };
    let mut reason = None;
    let mut order = None;
    match request.process.entity() {
        Entity::Card => {
            if inputs && request.process == Process::AbortCardOrder {
                let text = request.reason.as_deref().ok_or(JobError::NoReason)?;
                reason = Some(check_reason(text).map_err(JobError::Reason)?);
            }
            let mut parsed = Vec::with_capacity(ids.len());
            for id in &ids {
                let card = CardId::parse(id).map_err(|_| JobError::BadCardId(id.clone()))?;
                parsed.push(card.as_str().to_owned());
            }
            let states = db.card_states(&parsed).await?;
            let mut enabled: BTreeMap<CardState, bool> = BTreeMap::new();
            for id in parsed {
                let Some(state) = states.get(&id).copied() else {
                    let message = format!("No card {id} exists.");
                    skip(&mut items, id.clone(), id, None, message);
                    continue;
                };
                let refusal = if !request.process.applies_to(state) {
                    Some(not_applicable(request.process, state))
                } else {
                    let on = match enabled.get(&state) {
                        Some(on) => *on,
                        None => {
                            let on = db.is_command_enabled(state, request.process).await?;
                            enabled.insert(state, on);
                            on
                        }
                    };
                    (!on).then(|| not_enabled(request.process, state))
                };
                match refusal {
                    Some(message) => skip(&mut items, id.clone(), id, Some(state), message),
                    None => items.push(NewItem {
                        target: id.clone(),
                        label: id,
                        before: Some(state),
                        outcome: None,
                        message: String::new(),
                    }),
                }
            }
        }
        Entity::User => {
            if inputs {
                let form = request.order.as_ref().ok_or(JobError::NoOrder)?;
                order = Some(form.validated().map_err(JobError::Order)?);
            }
            let enabled = db
                .is_command_enabled(CommandList::User, Process::OrderCard)
                .await?;
            let mut parsed = Vec::with_capacity(ids.len());
            for id in &ids {
                let n = id
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| JobError::BadUserId(id.clone()))?;
                parsed.push(n);
            }
            let holders = db.job_holders(&parsed).await?;
            for id in parsed {
                let target = id.to_string();
                let Some(holder) = holders.get(&id) else {
                    let message = OrderCardError::UnknownUser(id).to_string();
                    skip(&mut items, target.clone(), target, None, message);
                    continue;
                };
                let name = holder.name();
                let refusal = if !enabled {
                    Some(OrderCardError::NotEnabled.to_string())
                } else if holder.email.trim().is_empty() {
                    Some(OrderCardError::NoEmail { name: name.clone() }.to_string())
                } else {
                    holder.open_card.as_ref().map(|card_id| {
                        OrderCardError::AlreadyOpen {
                            name: name.clone(),
                            card_id: card_id.clone(),
                        }
                        .to_string()
                    })
                };
                match refusal {
                    Some(message) => skip(&mut items, target, name, None, message),
                    None => items.push(NewItem {
                        target,
                        label: name,
                        before: None,
                        outcome: None,
                        message: String::new(),
                    }),
                }
            }
        }
    }
    let to_run = items.iter().filter(|i| i.outcome.is_none()).count();
    Ok(Planned {
        items,
        skipped,
        to_run: u32::try_from(to_run).unwrap_or(u32::MAX),
        reason,
        order,
    })
}

/// The single command's refusal for a state it does not act on.
fn not_applicable(process: Process, state: CardState) -> String {
    match process {
        Process::AbortCardOrder => AbortCardOrderError::NotApplicable(state).to_string(),
        _ => UpdateCardOrderError::NotApplicable(state).to_string(),
    }
}

fn not_enabled(process: Process, state: CardState) -> String {
    match process {
        Process::AbortCardOrder => AbortCardOrderError::NotEnabled(state).to_string(),
        _ => UpdateCardOrderError::NotEnabled(state).to_string(),
    }
}

/// What the dialog shows before Next: how many run, how many are skipped and why.
pub async fn preview(db: &Db, request: &JobRequest) -> Result<JobPreview, JobError> {
    let planned = plan(db, request, false).await?;
    let selected = u32::try_from(planned.items.len()).unwrap_or(u32::MAX);
    Ok(JobPreview {
        title: job_title(request.process, planned.items.len()),
        selected,
        to_run: planned.to_run,
        skipped: planned
            .skipped
            .into_iter()
            .map(|(reason, count)| SkippedGroup { count, reason })
            .collect(),
    })
}

/// Stores the job and starts it in the background.
pub async fn start(
    db: &Db,
    jobs: &JobsHandle,
    gocards: &GoCardsHandle,
    asker: Asker<'_>,
    request: &JobRequest,
) -> Result<JobView, JobError> {
    if jobs.is_stopping() {
        return Err(JobError::ShuttingDown);
    }
    if let Some(running) = db.running_job_of(asker.id).await? {
        return Err(already_running(db, running).await);
    }
    let planned = plan(db, request, true).await?;
    let new = NewJob {
        process: request.process,
        started_by: asker.username,
        started_by_id: asker.id,
        reason: planned.reason.as_deref(),
        order: planned.order.as_ref(),
        items: &planned.items,
        lease_holder: jobs.holder(),
        lease_until: jobs.lease_until(),
    };
    let id = match db.create_job(&new).await? {
        JobStart::Started(id) => id,
        JobStart::AlreadyRunning(running) => return Err(already_running(db, running).await),
    };
    let job = db.job(id).await?.ok_or(JobError::UnknownJob(id))?;
    tracing::info!(
        job = id,
        process = request.process.as_str(),
        by = asker.username,
        items = planned.items.len(),
        to_run = planned.to_run,
        "job stored"
    );
    jobs.spawn(db.clone(), gocards.clone(), job.clone(), false);
    view(db, &job, asker).await
}

async fn already_running(db: &Db, running: i64) -> JobError {
    match db.job(running).await {
        Ok(Some(job)) => {
            let counts = db.job_counts(running).await.unwrap_or_default();
            JobError::AlreadyRunning(already_running_message(job.process, &counts))
        }
        Ok(None) => JobError::AlreadyRunning("You already have a job running.".to_owned()),
        Err(err) => JobError::Storage(err),
    }
}

/// The job, if the asker may see it (their own, or any for an admin).
pub async fn visible_job(db: &Db, id: i64, asker: Asker<'_>) -> Result<JobRow, JobError> {
    match db.job(id).await? {
        Some(job) if asker.admin || job.started_by_id == asker.id => Ok(job),
        // Someone else's job is answered as no job, so ids say nothing.
        _ => Err(JobError::UnknownJob(id)),
    }
}

pub async fn view(db: &Db, job: &JobRow, asker: Asker<'_>) -> Result<JobView, JobError> {
    let mut counts = db.job_counts(job.id).await?;
    counts.total = counts
        .total
        .max(u32::try_from(job.total).unwrap_or(u32::MAX));
    let detail = match (&job.reason, &job.order) {
        (Some(reason), _) => Some(format!("Reason: {reason}")),
        (None, Some(order)) => Some(format!(
            "Article {}, to {}, {}, {} {}, {}",
            order.article_id,
            order.recipient,
            order.address_one,
            order.postal_code,
            order.city,
            order.country_code
        )),
        _ => None,
    };
    Ok(JobView {
        id: job.id,
        process: job.process,
        title: job_title(job.process, usize::try_from(job.total).unwrap_or(0)),
        started_by: job.started_by.clone(),
        started_at: to_rfc3339(job.started_at),
        finished_at: job.finished_at.map(to_rfc3339),
        status: job.status,
        counts,
        detail,
        yours: asker.admin || job.started_by_id == asker.id,
    })
}

/// One job, for the dialog's progress and the job's page.
pub async fn job(db: &Db, id: i64, asker: Asker<'_>) -> Result<JobView, JobError> {
    let job = visible_job(db, id, asker).await?;
    view(db, &job, asker).await
}

/// `/jobs`: the newest jobs, the asker's own (everyone's for an admin).
pub async fn list(db: &Db, asker: Asker<'_>) -> Result<Vec<JobView>, JobError> {
    let rows = db
        .jobs((!asker.admin).then_some(asker.id), i64::from(JOBS_LISTED))
        .await?;
    let mut views = Vec::with_capacity(rows.len());
    for job in &rows {
        views.push(view(db, job, asker).await?);
    }
    Ok(views)
}

/// `/jobs/{id}`: a page of items, of one outcome if given.
pub async fn items(
    db: &Db,
    id: i64,
    asker: Asker<'_>,
    outcome: Option<ItemOutcome>,
    page: u32,
) -> Result<JobItemsPage, JobError> {
    let job = visible_job(db, id, asker).await?;
    let size = JOB_ITEMS_PAGE_SIZE;
    let offset = i64::from(page.saturating_sub(1)) * i64::from(size);
    let (rows, matching) = db.job_items(id, outcome, offset, i64::from(size)).await?;
    Ok(JobItemsPage {
        job: view(db, &job, asker).await?,
        items: rows.iter().map(|r| item_view(job.process, r)).collect(),
        matching: u32::try_from(matching).unwrap_or(u32::MAX),
        page: page.max(1),
        page_size: size,
    })
}

pub fn item_view(process: Process, row: &ItemRow) -> JobItemView {
    let href = match process.entity() {
        Entity::Card => format!("/cards/{}", row.target),
        Entity::User => format!("/users/{}", row.target),
    };
    JobItemView {
        position: u32::try_from(row.position).unwrap_or(u32::MAX),
        target: row.label.clone(),
        href,
        before: row.before,
        after: row.after,
        outcome: row.outcome,
        message: row.message.clone(),
    }
}

/// Stop: the items in flight finish, the rest are "not run".
pub async fn stop(
    db: &Db,
    jobs: &JobsHandle,
    id: i64,
    asker: Asker<'_>,
) -> Result<JobView, JobError> {
    let job = visible_job(db, id, asker).await?;
    if job.status != JobStatus::Running {
        return Err(JobError::NotRunning);
    }
    // Here, at once; on another replica, at its next heartbeat.
    db.request_job_stop(id).await?;
    jobs.stop_here(id);
    tracing::info!(job = id, by = asker.username, "job stop requested");
    view(db, &job, asker).await
}

/// "Run the rest": the items not run, under this process.
pub async fn run_rest(
    db: &Db,
    jobs: &JobsHandle,
    gocards: &GoCardsHandle,
    id: i64,
    asker: Asker<'_>,
) -> Result<JobView, JobError> {
    if jobs.is_stopping() {
        return Err(JobError::ShuttingDown);
    }
    let job = visible_job(db, id, asker).await?;
    if !job.status.can_resume() {
        return Err(JobError::CannotResume);
    }
    match db.resume_job(id, jobs.holder(), jobs.lease_until()).await? {
        None => return Err(JobError::CannotResume),
        Some(JobStart::AlreadyRunning(running)) => return Err(already_running(db, running).await),
        Some(JobStart::Started(_)) => {}
    }
    let job = db.job(id).await?.ok_or(JobError::UnknownJob(id))?;
    tracing::info!(job = id, by = asker.username, "job runs the rest");
    jobs.spawn(db.clone(), gocards.clone(), job.clone(), true);
    view(db, &job, asker).await
}

/// Marks interrupted the jobs whose process died (lease lapsed), or on a single SQLite
/// process starting, every job left running.
pub async fn interrupt_orphans(db: &Db, at_start_on_sqlite: bool) -> Result<u64, sqlx::Error> {
    let ids = db
        .interrupt_lapsed_jobs(crate::db::now_ms(), at_start_on_sqlite)
        .await?;
    for &id in &ids {
        crate::jobs::announce_job(db, id).await;
    }
    let n = ids.len() as u64;
    if n > 0 {
        tracing::info!(
            jobs = n,
            "jobs whose process stopped are now Interrupted; Run the rest resumes them"
        );
    }
    Ok(n)
}
