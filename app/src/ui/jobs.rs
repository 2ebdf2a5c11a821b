//! Many cards at once: the selection in the results, its toolbar, the job dialog with live
//! progress, and the pages `/jobs` and `/jobs/{id}`.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::format::optional_time;
use super::live::{use_live, LiveStatus};
use crate::api::{
    batch_order_options, bulk_commands, job_items, job_status, list_jobs, preview_job, RunRest,
    StartJob, StopJob,
};
use crate::domain::{
    check_reason, Entity, ItemOutcome, JobStatus, OrderField, OrderForm, Process, MAX_JOB_ITEMS,
    MAX_ORDER_FIELD_CHARS,
};
use crate::model::{JobRequest, JobView, OrderOptions};

/// How often a running job's progress is asked for while the live stream is down.
const REFRESH_MS: u64 = 700;

/// The rows selected in a result list (card ids, or user ids as text). It survives paging;
/// a new search clears it.
#[derive(Clone, Copy)]
pub struct Selection(RwSignal<BTreeSet<String>>);

impl Selection {
    pub fn new() -> Self {
        Selection(RwSignal::new(BTreeSet::new()))
    }

    pub fn contains(&self, id: &str) -> bool {
        self.0.with(|s| s.contains(id))
    }

    pub fn set(&self, id: &str, on: bool) {
        self.0.update(|s| {
            if on {
                s.insert(id.to_owned());
            } else {
                s.remove(id);
            }
        });
    }

    pub fn set_all(&self, ids: &[String], on: bool) {
        self.0.update(|s| {
            for id in ids {
                if on {
                    s.insert(id.clone());
                } else {
                    s.remove(id);
                }
            }
        });
    }

    pub fn replace(&self, ids: Vec<String>) {
        self.0.set(ids.into_iter().collect());
    }

    pub fn clear(&self) {
        self.0.update(BTreeSet::clear);
    }

    pub fn len(&self) -> usize {
        self.0.with(BTreeSet::len)
    }

    pub fn is_empty(&self) -> bool {
        self.0.with(BTreeSet::is_empty)
    }

    pub fn all(&self, ids: &[String]) -> bool {
        !ids.is_empty() && self.0.with(|s| ids.iter().all(|id| s.contains(id)))
    }

    pub fn items(&self) -> Vec<String> {
        self.0.with(|s| s.iter().cloned().collect())
    }
}

impl Default for Selection {
    fn default() -> Self {
        Self::new()
    }
}

/// A row's checkbox, named "Select {name}". A click does not open the row.
#[component]
pub fn RowCheckbox(selection: Selection, id: String, name: String) -> impl IntoView {
    let checked = {
        let id = id.clone();
        move || selection.contains(&id)
    };
    view! {
        <td class="select" on:click=|ev| ev.stop_propagation()>
            <input
                type="checkbox"
                aria-label=format!("Select {name}")
                prop:checked=checked
                on:change=move |ev| selection.set(&id, event_target_checked(&ev))
            />
        </td>
    }
}

/// The header's checkbox: "Select all on this page".
#[component]
pub fn PageCheckbox(selection: Selection, ids: Vec<String>) -> impl IntoView {
    let all = {
        let ids = ids.clone();
        move || selection.all(&ids)
    };
    view! {
        <th scope="col" class="select">
            <input
                type="checkbox"
                aria-label="Select all on this page"
                prop:checked=all
                on:change=move |ev| selection.set_all(&ids, event_target_checked(&ev))
            />
        </th>
    }
}

/// "N selected", a button per process, "Clear selection"; with the whole page selected and
/// more matches, "Select all N matches". The buttons open the job dialog.
#[component]
pub fn SelectionToolbar(
    selection: Selection,
    entity: Entity,
    /// The rows of this page.
    page_ids: Vec<String>,
    /// Whether matches exist beyond this page.
    more_pages: bool,
    /// Lists every match (up to a job's limit) for "Select all N matches".
    source: MatchSource,
) -> impl IntoView {
    let commands = OnceResource::new(async { bulk_commands().await.unwrap_or_default() });
    let open: RwSignal<Option<Process>> = RwSignal::new(None);
    let page_all = {
        let ids = page_ids.clone();
        move || selection.all(&ids)
    };
    view! {
        <div class="selection-bar" role="toolbar" aria-label="Selection">
            <span class="selected-count" role="status">{move || format!("{} selected", selection.len())}</span>
            <Suspense fallback=|| ()>
                {move || commands.get().map(|commands| {
                    let processes: Vec<Process> = match entity {
                        Entity::Card => commands.cards,
                        Entity::User => if commands.users { vec![Process::OrderCard] } else { Vec::new() },
                    };
                    processes.into_iter().map(|process| {
                        let label = match process {
                            Process::OrderCard => "Order cards",
                            other => other.label(),
                        };
                        view! {
                            <button
                                type="button"
                                disabled=move || selection.is_empty()
                                on:click=move |_| open.set(Some(process))
                            >
                                {label}
                            </button>
                        }
                    }).collect_view()
                })}
            </Suspense>
            <button type="button" disabled=move || selection.is_empty() on:click=move |_| selection.clear()>
                "Clear selection"
            </button>
            {move || (page_all() && more_pages).then(|| view! { <SelectAll selection source=source.clone() /> })}
        </div>
        {move || open.get().map(|process| {
            let items = selection.items();
            view! { <JobDialog process items on_close=move || open.set(None) /> }
        })}
    }
}

/// "Select all N matches": the whole search, up to [`MAX_JOB_ITEMS`].
#[component]
fn SelectAll(selection: Selection, source: MatchSource) -> impl IntoView {
    let matches = Resource::new(|| (), move |_| (source.0)());
    view! {
        <Suspense fallback=|| view! { <span class="loading">"Counting the matches…"</span> }>
            {move || matches.get().map(|found| match found {
                Ok(ids) => {
                    let n = ids.len();
                    let label = if n >= MAX_JOB_ITEMS {
                        format!("Select the first {MAX_JOB_ITEMS} matches")
                    } else {
                        format!("Select all {n} matches")
                    };
                    let all_selected = selection.len() >= n;
                    (!all_selected).then(|| view! {
                        <button type="button" class="link" on:click=move |_| selection.replace(ids.clone())>{label}</button>
                    }).into_any()
                }
                Err(message) => view! { <span class="error" role="alert">{message}</span> }.into_any(),
            })}
        </Suspense>
    }
}

type MatchFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<String>, String>> + Send>>;

/// How "Select all N matches" lists the search's matches; the results provide it.
#[derive(Clone)]
pub struct MatchSource(pub std::sync::Arc<dyn Fn() -> MatchFuture + Send + Sync>);

impl MatchSource {
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Vec<String>, String>> + Send + 'static,
    {
        MatchSource(std::sync::Arc::new(move || Box::pin(f())))
    }
}

/// The job dialog: what will run and what is skipped, the reason or the order's fields,
/// Next and Cancel; then the live progress.
#[component]
pub fn JobDialog(
    process: Process,
    items: Vec<String>,
    on_close: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let count = items.len();
    let request = JobRequest {
        process,
        items,
        reason: None,
        order: None,
    };
    let preview = {
        let request = request.clone();
        Resource::new(
            || (),
            move |_| {
                let request = request.clone();
                async move { preview_job(request).await.map_err(|e| e.to_string()) }
            },
        )
    };
    let options = Resource::new(
        move || process == Process::OrderCard,
        |needed| async move {
            if needed {
                batch_order_options()
                    .await
                    .map(Some)
                    .map_err(|e| e.to_string())
            } else {
                Ok(None)
            }
        },
    );
    let start = ServerAction::<StartJob>::new();
    let reason = RwSignal::new(String::new());
    let form: RwSignal<OrderForm> = RwSignal::new(OrderForm::default());
    let problems: RwSignal<Vec<String>> = RwSignal::new(Vec::new());
    let next = {
        let request = request.clone();
        move |_| {
            let mut request = request.clone();
            match process {
                Process::AbortCardOrder => match check_reason(&reason.get_untracked()) {
                    Ok(reason) => request.reason = Some(reason),
                    Err(err) => {
                        problems.set(vec![err.to_string()]);
                        return;
                    }
                },
                Process::OrderCard => {
                    let current = form.get_untracked();
                    let found = current.problems();
                    if !found.is_empty() {
                        problems.set(found.iter().map(|p| p.to_string()).collect());
                        return;
                    }
                    request.order = Some(current);
                }
                Process::UpdateCardOrder => {}
            }
            problems.set(Vec::new());
            start.dispatch(StartJob { request });
        }
    };
    let title = crate::domain::job_title(process, count);
    let started = move || start.value().with(|v| matches!(v, Some(Ok(_))));
    let busy = move || start.pending().get();
    let close = on_close.clone();
    view! {
        <div class="backdrop">
            <div class="dialog job-dialog" role="dialog" aria-modal="true" aria-labelledby="job-title">
                <h2 id="job-title">{title}</h2>
                <Show when=move || !started()>
                    <Suspense fallback=|| view! { <p class="loading">"Checking the selection…"</p> }>
                        {move || preview.get().map(|found| match found {
                            Ok(preview) => {
                                let run = format!(
                                    "{} will be processed.",
                                    preview.to_run
                                );
                                view! {
                                    <p class="explain">{run}</p>
                                    {preview.skipped.into_iter().map(|group| view! {
                                        <p class="explain skipped">{crate::domain::skipped_sentence(group.count as usize, &group.reason)}</p>
                                    }).collect_view()}
                                    <p class="explain">"The job runs on the server: closing this dialog or the browser does not stop it."</p>
                                }.into_any()
                            }
                            Err(message) => view! { <p class="outcome error" role="alert">{message}</p> }.into_any(),
                        })}
                    </Suspense>
                    {(process == Process::AbortCardOrder).then(|| view! {
                        <div class="field">
                            <label for="job-reason">"Reason"</label>
                            <input
                                id="job-reason"
                                type="text"
                                required
                                maxlength=MAX_ORDER_FIELD_CHARS
                                prop:value=move || reason.get()
                                on:input=move |ev| reason.set(event_target_value(&ev))
                                disabled=busy
                            />
                        </div>
                    })}
                    {(process == Process::OrderCard).then(|| view! {
                        <Suspense fallback=|| view! { <p class="loading">"Asking GO Cards for its articles…"</p> }>
                            {move || options.get().map(|found| match found {
                                Ok(Some(options)) => view! { <BatchOrderFields options form /> }.into_any(),
                                Ok(None) => ().into_any(),
                                Err(message) => view! { <p class="outcome error" role="alert">{message}</p> }.into_any(),
                            })}
                        </Suspense>
                    })}
                    {move || {
                        let found = problems.get();
                        (!found.is_empty()).then(|| view! {
                            <ul class="error" role="alert">
                                {found.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
                            </ul>
                        })
                    }}
                    {move || start.value().get().and_then(|r| r.err()).map(|err| view! {
                        <p class="outcome error" role="alert">{err.to_string()}</p>
                    })}
                    <div class="buttons">
                        <button type="button" class="primary" on:click=next.clone() disabled=busy>"Next"</button>
                        <button type="button" on:click={ let close = close.clone(); move |_| close() } disabled=busy>"Cancel"</button>
                    </div>
                </Show>
                {move || start.value().get().and_then(|r| r.ok()).map(|job| {
                    let close = on_close.clone();
                    view! {
                        <JobProgress job />
                        <div class="buttons">
                            <a class="button" href=format!("/jobs/{}", job_id_of(&start))>"Open the job"</a>
                            <button type="button" class="primary" on:click=move |_| close()>"Close"</button>
                        </div>
                    }
                })}
            </div>
        </div>
    }
}

fn job_id_of(start: &ServerAction<StartJob>) -> i64 {
    start
        .value()
        .with_untracked(|v| v.as_ref().and_then(|r| r.as_ref().ok()).map(|j| j.id))
        .unwrap_or_default()
}

/// The batch order's article and delivery address, one for every card.
#[component]
fn BatchOrderFields(options: OrderOptions, form: RwSignal<OrderForm>) -> impl IntoView {
    form.set(OrderForm {
        article_id: options
            .articles
            .first()
            .map(|a| a.article_id.clone())
            .unwrap_or_default(),
        country_code: options.default_country.clone(),
        ..OrderForm::default()
    });
    let text_field = move |field: OrderField, id: &'static str| {
        let value = move || form.with(|f| f.value(field).to_owned());
        view! {
            <div class="field">
                <label for=id>{field.label()}</label>
                <input
                    id=id
                    type="text"
                    required
                    maxlength=MAX_ORDER_FIELD_CHARS
                    prop:value=value
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        form.update(|f| super::processes::set_field(f, field, text));
                    }
                />
            </div>
        }
    };
    view! {
        {options.articles_error.clone().map(|message| view! { <p class="outcome error" role="alert">{message}</p> })}
        <p class="explain">"One article and one delivery address for every card: a batch is shipped to the office."</p>
        <div class="order-fields">
            <div class="field">
                <label for="job-article">"Article"</label>
                <select id="job-article" on:change=move |ev| {
                    let id = event_target_value(&ev);
                    form.update(|f| f.article_id = id);
                }>
                    {options.articles.into_iter().enumerate().map(|(i, a)| view! {
                        <option value=a.article_id.clone() selected=i == 0>{a.name}</option>
                    }).collect_view()}
                </select>
            </div>
            {text_field(OrderField::Recipient, "job-recipient")}
            {text_field(OrderField::Address, "job-address")}
            {text_field(OrderField::PostalCode, "job-postal-code")}
            {text_field(OrderField::City, "job-city")}
            {text_field(OrderField::Country, "job-country")}
        </div>
    }
}

/// A job's live progress: the bar, the counts, Stop; the summary once it ended.
#[component]
pub fn JobProgress(job: JobView) -> impl IntoView {
    let id = job.id;
    let refresh = RwSignal::new(0_u64);
    let current = RwSignal::new(job);
    let polled = Resource::new(
        move || refresh.get(),
        move |n| async move {
            if n == 0 {
                None
            } else {
                job_status(id).await.ok()
            }
        },
    );
    Effect::new(move |_| {
        if let Some(Some(job)) = polled.get() {
            current.set(job);
        }
    });
    // Progress comes from the live stream; the job's end, and a break in the stream, are
    // read in full. Without the stream, the page asks every REFRESH_MS.
    let live = use_live();
    live.on_job(
        move || Some(id),
        move |event| {
            let ended = event.status != JobStatus::Running;
            current.update(|job| {
                job.status = event.status;
                job.counts = event.counts;
            });
            if ended {
                refresh.update(|n| *n += 1);
            }
        },
    );
    live.on_reload(move || refresh.update(|n| *n += 1));
    // Once, in the browser, as the dialog opens: a short job may have ended (and sent its
    // last event) before this dialog was there to hear it.
    Effect::new(move |_| refresh.update(|n| *n += 1));
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                let running = current.with_untracked(|j| j.status == JobStatus::Running);
                if running && live.status.get_untracked() != LiveStatus::Live {
                    refresh.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_millis(REFRESH_MS),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let stop = ServerAction::<StopJob>::new();
    let run_rest = ServerAction::<RunRest>::new();
    Effect::new(move |_| {
        let stopped = stop.value().get().and_then(|r| r.ok());
        let resumed = run_rest.value().get().and_then(|r| r.ok());
        if let Some(job) = resumed.or(stopped) {
            current.set(job);
            refresh.update(|n| *n += 1);
        }
    });
    let error = move || {
        let stop_err = stop.value().get().and_then(|r| r.err());
        let rest_err = run_rest.value().get().and_then(|r| r.err());
        stop_err
            .map(|e| e.to_string())
            .or(rest_err.map(|e| e.to_string()))
            .map(|message| view! { <p class="outcome error" role="alert">{message}</p> })
    };
    view! {
        <div class="job-progress">
            {move || {
                let job = current.get();
                let (now, max) = job.counts.progress(job.status);
                let counts = ItemOutcome::shown_for(job.process)
                    .iter()
                    .chain(std::iter::once(&ItemOutcome::NotRun).filter(|_| job.counts.not_run > 0))
                    .map(|outcome| view! {
                        <div><dt>{outcome.label()}</dt><dd>{job.counts.get(*outcome)}</dd></div>
                    })
                    .collect_view();
                let running = job.status == JobStatus::Running;
                let summary = if running {
                    format!("{now} of {max} done")
                } else {
                    format!("{}: {now} processed{}", job.status.label(), if job.counts.not_run > 0 {
                        format!(", {} not run", job.counts.not_run)
                    } else {
                        String::new()
                    })
                };
                let can_resume = job.yours && job.status.can_resume() && job.counts.not_run > 0;
                let can_stop = job.yours && running;
                view! {
                    <progress
                        role="progressbar"
                        aria-label="Job progress"
                        aria-valuemin="0"
                        aria-valuenow=now.to_string()
                        aria-valuemax=max.to_string()
                        max=max.max(1).to_string()
                        value=now.to_string()
                    ></progress>
                    <p class="job-summary" role="status">{summary}</p>
                    <dl class="counts" aria-label="Counts">{counts}</dl>
                    <div class="buttons">
                        {can_stop.then(|| view! {
                            <button type="button" on:click=move |_| { stop.dispatch(StopJob { id }); } disabled=move || stop.pending().get()>"Stop"</button>
                        })}
                        {can_resume.then(|| view! {
                            <button type="button" on:click=move |_| { run_rest.dispatch(RunRest { id }); } disabled=move || run_rest.pending().get()>"Run the rest"</button>
                        })}
                    </div>
                }
            }}
            {error}
        </div>
    }
}

/// `/jobs`: newest first; an operator's own, everyone's for an admin.
#[component]
pub fn JobsPage() -> impl IntoView {
    let refresh = RwSignal::new(0_u64);
    let jobs = Resource::new(
        move || refresh.get(),
        |_| async { list_jobs().await.map_err(|e| e.to_string()) },
    );
    let live = use_live();
    live.on_any_job(move || refresh.update(|n| *n += 1));
    live.on_reload(move || refresh.update(|n| *n += 1));
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                let running = jobs.with_untracked(|j| {
                    matches!(j, Some(Ok(list)) if list.iter().any(|j| j.status == JobStatus::Running))
                });
                if running && live.status.get_untracked() != LiveStatus::Live {
                    refresh.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_millis(REFRESH_MS * 2),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <Title text="Jobs · Card desk" />
        <section class="panel" aria-labelledby="jobs-title">
            <h1 id="jobs-title">"Jobs"</h1>
            <p class="hint">"A job runs a process over a selection, on the server. Select cards or users in the search, then choose a process in the toolbar."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading the jobs…"</p> }>
                {move || jobs.get().map(|found| match found {
                    Ok(list) if list.is_empty() => view! { <p class="empty" role="status">"No jobs yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="jobs">
                            <thead><tr>
                                <th scope="col">"Process"</th>
                                <th scope="col">"Started by"</th>
                                <th scope="col">"Started"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Counts"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|job| {
                                    let href = format!("/jobs/{}", job.id);
                                    let counts = counts_text(&job);
                                    view! {
                                        <tr>
                                            <td><a href=href>{job.title.clone()}</a></td>
                                            <td>{job.started_by.clone()}</td>
                                            <td>{optional_time(&Some(job.started_at.clone()))}</td>
                                            <td><span class=format!("job-status job-{}", job.status.as_str())>{job.status.label()}</span></td>
                                            <td>{counts}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

fn counts_text(job: &JobView) -> String {
    let mut parts: Vec<String> = ItemOutcome::shown_for(job.process)
        .iter()
        .map(|o| format!("{} {}", job.counts.get(*o), o.label()))
        .collect();
    if job.counts.not_run > 0 {
        parts.push(format!("{} not run", job.counts.not_run));
    }
    parts.join(", ")
}

/// `/jobs/{id}`: the job's progress and each item, filtered by outcome, with Export CSV.
#[component]
pub fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| {
        params.with(|p| p.get_str("job_id").and_then(|s| s.parse::<i64>().ok()))
    });
    let outcome = Memo::new(move |_| {
        query.with(|q| {
            q.get_str("outcome")
                .and_then(|s| s.parse::<ItemOutcome>().ok())
        })
    });
    let page = Memo::new(move |_| {
        query.with(|q| {
            q.get_str("page")
                .and_then(|s| s.parse::<u32>().ok())
                .unwrap_or(1)
                .max(1)
        })
    });
    let refresh = RwSignal::new(0_u64);
    let items = Resource::new(
        move || (id.get(), outcome.get(), page.get(), refresh.get()),
        |(id, outcome, page, _)| async move {
            match id {
                Some(id) => job_items(id, outcome, page).await.map_err(|e| {
                    let not_found = matches!(e, crate::api::JobError::NotFound { .. });
                    (not_found, e.to_string())
                }),
                None => Err((
                    true,
                    "This is not a job's address. Open the job from Jobs.".to_owned(),
                )),
            }
        },
    );
    let live = use_live();
    live.on_job(
        move || id.get_untracked(),
        move |_| refresh.update(|n| *n += 1),
    );
    live.on_reload(move || refresh.update(|n| *n += 1));
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                let running = items.with_untracked(
                    |i| matches!(i, Some(Ok(page)) if page.job.status == JobStatus::Running),
                );
                if running && live.status.get_untracked() != LiveStatus::Live {
                    refresh.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_millis(REFRESH_MS * 2),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <Title text="Job · Card desk" />
        <section class="panel" aria-labelledby="job-page-title">
            <p class="crumb"><a href="/jobs">"Jobs"</a></p>
            <Transition fallback=|| view! { <p class="loading">"Loading the job…"</p> }>
                {move || items.get().map(|found| match found {
                    Ok(page) => {
                        let job = page.job.clone();
                        let job_id = job.id;
                        let card = job.process.entity() == Entity::Card;
                        let filter_href = move |o: Option<ItemOutcome>| match o {
                            Some(o) => format!("/jobs/{job_id}?outcome={}", o.as_str()),
                            None => format!("/jobs/{job_id}"),
                        };
                        let current = outcome.get();
                        let filters = std::iter::once(None)
                            .chain(
                                ItemOutcome::shown_for(job.process)
                                    .iter()
                                    .copied()
                                    .chain(std::iter::once(ItemOutcome::NotRun))
                                    .map(Some),
                            )
                            .map(|o| {
                                let label = o.map_or("All", ItemOutcome::label);
                                let href = filter_href(o);
                                view! {
                                    <a href=href class="filter" aria-current=(current == o).then_some("page")>{label}</a>
                                }
                            })
                            .collect_view();
                        let export = desk_core::export::job_items_path(job_id, current);
                        let rows = page.items.into_iter().map(|item| {
                            let change = match (item.before, item.after) {
                                (Some(b), Some(a)) => format!("{} → {}", b.label(), a.label()),
                                (Some(b), None) => b.label().to_owned(),
                                (None, Some(a)) => format!("→ {}", a.label()),
                                (None, None) => String::new(),
                            };
                            let outcome = item.outcome.map_or("to run", ItemOutcome::label);
                            view! {
                                <tr>
                                    <td><a href=item.href>{item.target}</a></td>
                                    <td>{change}</td>
                                    <td>{outcome}</td>
                                    <td>{item.message}</td>
                                </tr>
                            }
                        }).collect_view();
                        let pages = page.matching.div_ceil(page.page_size.max(1)).max(1);
                        let at = page.page;
                        let page_href = move |n: u32| {
                            let mut href = filter_href(current);
                            href.push(if href.contains('?') { '&' } else { '?' });
                            href.push_str(&format!("page={n}"));
                            href
                        };
                        view! {
                            <h1 id="job-page-title">{job.title.clone()}</h1>
                            <dl class="facts">
                                <dt>"Started by"</dt><dd>{job.started_by.clone()}</dd>
                                <dt>"Started"</dt><dd>{optional_time(&Some(job.started_at.clone()))}</dd>
                                <dt>"Status"</dt><dd>{job.status.label()}</dd>
                                {job.detail.clone().map(|d| view! { <dt>"For every item"</dt><dd>{d}</dd> })}
                            </dl>
                            <JobProgress job=job.clone() />
                            <nav class="filters" aria-label="Filter by outcome">{filters}</nav>
                            <p><a href=export download="">"Export CSV"</a></p>
                            <table class="job-items">
                                <thead><tr>
                                    <th scope="col">{if card { "Card" } else { "User" }}</th>
                                    <th scope="col">"State"</th>
                                    <th scope="col">"Outcome"</th>
                                    <th scope="col">"Message"</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <nav class="pager" aria-label="Pages">
                                {(at > 1).then(|| view! { <a href=page_href(at - 1)>"Previous page"</a> })}
                                <span class="page-no">{format!("Page {at} of {pages}")}</span>
                                {(at < pages).then(|| view! { <a href=page_href(at + 1)>"Next page"</a> })}
                            </nav>
                        }.into_any()
                    }
                    Err((not_found, message)) => view! { <JobNotFound not_found message /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn JobNotFound(not_found: bool, message: String) -> impl IntoView {
    // An unknown job (or someone else's) is a 404 page, as an unknown address is (the route
    // renders whole before it answers, so the status can still be set).
    #[cfg(feature = "ssr")]
    if not_found {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    let title = if not_found {
        "Job not found"
    } else {
        "The job could not be shown"
    };
    view! {
        <h1 id="job-page-title">{title}</h1>
        <p class="error" role="alert">{message}</p>
    }
}
