//! Jobs: a process over a selection, run on the server with progress. Each item is the
//! single command (see `backend::jobs`).

use leptos::prelude::*;
use server_fn::codec::Json;

use super::errors::api_error;
use crate::domain::ItemOutcome;
use crate::model::{CardSearch, HolderSearch, JobItemsPage, JobPreview, JobRequest, JobView};

api_error! {
    /// Previewing, starting, stopping or resuming a job, or reading one.
    pub enum JobError {
        #[error("No job {id} exists. It may have been someone else's; see Jobs.")]
        NotFound { id: i64 } => NOT_FOUND,
        #[error("{message}")]
        AlreadyRunning { message: String } => CONFLICT,
        #[error("The job has already ended.")]
        NotRunning => CONFLICT,
        #[error("Only a stopped or interrupted job can run the rest.")]
        CannotResume => CONFLICT,
        #[error("The server is shutting down; start the job again in a moment.")]
        ShuttingDown => SERVICE_UNAVAILABLE,
    }
}

api_error! {
    /// "Select all N matches".
    pub enum SelectAllError {}
}

#[cfg(feature = "ssr")]
impl From<backend::services::jobs::JobError> for JobError {
    fn from(err: backend::services::jobs::JobError) -> Self {
        use backend::services::jobs::JobError as E;
        match err {
            E::Size(_)
            | E::Reason(_)
            | E::Order(_)
            | E::NoReason
            | E::NoOrder
            | E::BadUserId(_)
            | E::BadCardId(_) => JobError::BadRequest {
                message: err.to_string(),
            },
            E::AlreadyRunning(message) => JobError::AlreadyRunning { message },
            E::UnknownJob(id) => JobError::NotFound { id },
            E::NotYours => JobError::Forbidden,
            E::NotRunning => JobError::NotRunning,
            E::CannotResume => JobError::CannotResume,
            E::ShuttingDown => JobError::ShuttingDown,
            E::Storage(db) => JobError::from(db),
        }
    }
}

#[cfg(feature = "ssr")]
fn asker(user: &backend::auth::DeskUser) -> backend::services::jobs::Asker<'_> {
    backend::services::jobs::Asker {
        id: user.id,
        username: &user.username,
        admin: user.role == crate::model::Role::Admin,
    }
}

/// What the dialog says before Next: how many will run, how many are skipped and why.
#[server(endpoint = "preview_job", input = Json)]
pub async fn preview_job(request: JobRequest) -> Result<JobPreview, JobError> {
    use crate::api::access;

    access::require_operator().await?;
    let state = access::app_state()?;
    Ok(backend::services::jobs::preview(&state.db, &request).await?)
}

/// Next: stores the job and starts it on the server.
#[server(endpoint = "start_job", input = Json)]
pub async fn start_job(request: JobRequest) -> Result<JobView, JobError> {
    use crate::api::access;

    let user = access::require_operator().await?;
    let state = access::app_state()?;
    Ok(backend::services::jobs::start(
        &state.db,
        &state.jobs,
        &state.gocards,
        asker(&user),
        &request,
    )
    .await?)
}

/// One job's progress (its own job for an operator, any for an admin).
#[server(endpoint = "job_status", input = Json)]
pub async fn job_status(id: i64) -> Result<JobView, JobError> {
    use crate::api::access;

    let user = access::require_operator().await?;
    let state = access::app_state()?;
    Ok(backend::services::jobs::job(&state.db, id, asker(&user)).await?)
}

/// Stop: the items in flight finish, the rest are "not run".
#[server(endpoint = "stop_job", input = Json)]
pub async fn stop_job(id: i64) -> Result<JobView, JobError> {
    use crate::api::access;

    let user = access::require_operator().await?;
    let state = access::app_state()?;
    Ok(backend::services::jobs::stop(&state.db, &state.jobs, id, asker(&user)).await?)
}

/// "Run the rest" of a stopped or interrupted job.
#[server(endpoint = "run_rest", input = Json)]
pub async fn run_rest(id: i64) -> Result<JobView, JobError> {
    use crate::api::access;

    let user = access::require_operator().await?;
    let state = access::app_state()?;
    Ok(
        backend::services::jobs::run_rest(&state.db, &state.jobs, &state.gocards, id, asker(&user))
            .await?,
    )
}

/// `/jobs`: the newest jobs, an operator's own, everyone's for an admin.
#[server(endpoint = "list_jobs", input = Json)]
pub async fn list_jobs() -> Result<Vec<JobView>, JobError> {
    use crate::api::access;

    let user = access::require_operator().await?;
    let state = access::app_state()?;
    Ok(backend::services::jobs::list(&state.db, asker(&user)).await?)
}

/// `/jobs/{id}`: a page of the job's items, of one outcome if given.
#[server(endpoint = "job_items", input = Json)]
pub async fn job_items(
    id: i64,
    outcome: Option<ItemOutcome>,
    page: u32,
) -> Result<JobItemsPage, JobError> {
    use crate::api::access;

    let user = access::require_operator().await?;
    let state = access::app_state()?;
    Ok(backend::services::jobs::items(&state.db, id, asker(&user), outcome, page).await?)
}

/// Every card matching `search` (up to a job's limit), for "Select all N matches".
#[server(endpoint = "select_all_cards", input = Json)]
pub async fn select_all_cards(search: CardSearch) -> Result<Vec<String>, SelectAllError> {
    use crate::api::access;
    use crate::domain::MAX_JOB_ITEMS;

    access::require_operator().await?;
    let state = access::app_state()?;
    search.validate().map_err(|e| SelectAllError::BadRequest {
        message: e.to_string(),
    })?;
    Ok(state.db.matching_card_ids(&search, MAX_JOB_ITEMS).await?)
}

/// Every user matching `search` (up to a job's limit), for "Select all N matches".
#[server(endpoint = "select_all_users", input = Json)]
pub async fn select_all_users(search: HolderSearch) -> Result<Vec<i64>, SelectAllError> {
    use crate::api::access;
    use crate::domain::MAX_JOB_ITEMS;

    access::require_operator().await?;
    let state = access::app_state()?;
    search.validate().map_err(|e| SelectAllError::BadRequest {
        message: e.to_string(),
    })?;
    Ok(state.db.matching_holder_ids(&search, MAX_JOB_ITEMS).await?)
}

/// The toolbar's buttons over a selection.
#[server(endpoint = "bulk_commands", input = Json)]
pub async fn bulk_commands() -> Result<crate::model::BulkCommands, JobError> {
    use crate::api::access;

    access::require_operator().await?;
    let state = access::app_state()?;
    Ok(state.db.bulk_commands().await?)
}

/// What the batch order's dialog needs: GO Cards' articles (or why they could not be read)
/// and the default country.
#[server(endpoint = "batch_order_options", input = Json)]
pub async fn batch_order_options() -> Result<crate::model::OrderOptions, JobError> {
    use crate::api::access;

    access::require_operator().await?;
    let state = access::app_state()?;
    let (articles, articles_error) = crate::api::processes::dialog_articles(&state).await;
    Ok(crate::model::OrderOptions {
        articles,
        articles_error,
        default_country: state.order_default_country.clone(),
        pending: None,
    })
}
