//! "Scheduled jobs > GO Cards batch sync": the schedule, what the sync is doing (from the live
//! stream, no reload and no polling), "Run now" with a live progress bar, the last run's
//! counts and errors, and the open orders that need a person.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{sync_status, RunSyncNow, SaveSyncSchedule};
use crate::model::{RunStatus, SyncRunView, SyncScheduleInput, SyncStatus, SyncView};
use crate::ui::format::{optional_time, short_time};

#[component]
pub fn SyncPage() -> impl IntoView {
    let refresh = RwSignal::new(0_u64);
    let state = Resource::new(
        move || refresh.get(),
        |_| async { sync_status().await.map_err(|e| e.to_string()) },
    );
    // Each sync event (a run started, its progress, its end) and a break in the stream
    // re-read the state. No polling: an open page alone keeps no session alive.
    let live = crate::ui::live::use_live();
    live.on_sync(move || refresh.update(|n| *n += 1));
    live.on_reload(move || refresh.update(|n| *n += 1));
    let run_now = ServerAction::<RunSyncNow>::new();
    Effect::new(move |_| {
        if run_now.value().get().is_some() {
            refresh.update(|n| *n += 1);
        }
    });
    let first = OnceResource::new(async { sync_status().await.map_err(|e| e.to_string()) });

    view! {
        <Title text="GO Cards batch sync · Settings · Card desk" />
        <section class="panel" aria-labelledby="sync-title">
            <p class="crumb">"Scheduled jobs"</p>
            <h1 id="sync-title">"GO Cards batch sync"</h1>
            <p class="hint">
                "Brings every open order (Ordered, In production) up to date with GO Cards: the cards GO Cards lists as changed, then any open order not checked for a day."
            </p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || state.get().map(|result| match result {
                    Ok(view) => view! { <SyncState view run_now /> }.into_any(),
                    Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                })}
            </Transition>
        </section>
        <section class="panel" aria-labelledby="schedule-title">
            <h2 id="schedule-title">"Schedule"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || first.get().map(|result| match result {
                    Ok(view) => view! { <ScheduleForm view on_saved=move || refresh.update(|n| *n += 1) /> }.into_any(),
                    Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn SyncState(view: SyncView, run_now: ServerAction<RunSyncNow>) -> impl IntoView {
    let busy = view.status == SyncStatus::Running || view.run_requested;
    let status_text = if view.run_requested && view.status != SyncStatus::Running {
        "Starting…".to_owned()
    } else {
        view.status.label().to_owned()
    };
    let interval = if view.enabled {
        format!("every {}", human_interval(view.interval_secs))
    } else {
        "off (Run now only)".to_owned()
    };
    let run = view.last_run.clone();
    let run_error = move || {
        run_now
            .value()
            .get()
            .and_then(|result| result.err())
            .map(|err| {
                view! { <p class="error" role="alert">{err.to_string()}</p> }
            })
    };
    view! {
        <dl class="facts sync-facts">
            <dt>"Enabled"</dt><dd>{if view.enabled { "Yes" } else { "No" }}</dd>
            <dt>"Interval"</dt><dd>{interval}</dd>
            <dt>"Status"</dt><dd data-testid="sync-status" class=format!("sync-{}", status_text.to_lowercase().trim_end_matches('…'))>{status_text.clone()}</dd>
            <dt>"Last start"</dt><dd>{run.as_ref().map(|r| short_time(&r.started_at)).unwrap_or_else(|| "—".to_owned())}</dd>
            <dt>"Last end"</dt><dd>{run.as_ref().map(|r| optional_time(&r.ended_at)).unwrap_or_else(|| "—".to_owned())}</dd>
            <dt>"Next run"</dt><dd>{optional_time(&view.next_run)}</dd>
        </dl>
        <p class="actions">
            <button
                type="button"
                class="primary"
                disabled=busy
                on:click=move |_| { run_now.dispatch(RunSyncNow {}); }
            >
                "Run now"
            </button>
        </p>
        {run_error}
        {busy.then(|| view! { <Progress run=run.clone().filter(|r| r.status == RunStatus::Running) /> })}
        {run.map(|run| view! { <RunFigures run /> })}
        <Errors view=view.clone() />
        <NeedsAttention view />
    }
}

#[component]
fn Progress(run: Option<SyncRunView>) -> impl IntoView {
    let (bar, text) = match &run {
        Some(run) => match run.total.filter(|total| *total > 0) {
            Some(total) => (
                view! { <progress aria-label="Sync progress" max=total value=run.checked.min(total)></progress> }.into_any(),
                format!("Polling open orders: {} of {} checked", run.checked, total),
            ),
            None => (
                view! { <progress aria-label="Sync progress"></progress> }.into_any(),
                format!("Reading the cards GO Cards changed: {} checked", run.checked),
            ),
        },
        None => (
            view! { <progress aria-label="Sync progress"></progress> }.into_any(),
            "Waiting for a server to start the run…".to_owned(),
        ),
    };
    view! {
        <div class="sync-progress" role="status">
            {bar}
            <p>{text}</p>
        </div>
    }
}

#[component]
fn RunFigures(run: SyncRunView) -> impl IntoView {
    let heading = match run.status {
        RunStatus::Running => "This run so far".to_owned(),
        _ => format!("Last run ({})", run.status),
    };
    let by = if run.started_by == "schedule" {
        "started by the schedule".to_owned()
    } else {
        format!("started by {}", run.started_by)
    };
    view! {
        <h2>{heading}</h2>
        <p class="hint">{by}</p>
        <dl class="counts" aria-label="Sync counts">
            <div><dt>"Checked"</dt><dd data-testid="count-checked">{run.checked}</dd></div>
            <div><dt>"Changed"</dt><dd data-testid="count-changed">{run.changed}</dd></div>
            <div><dt>"Unchanged"</dt><dd data-testid="count-unchanged">{run.unchanged}</dd></div>
            <div><dt>"Failed"</dt><dd data-testid="count-failed">{run.failed}</dd></div>
        </dl>
        {run.error.map(|error| view! { <p class="error" role="alert">{error}</p> })}
    }
}

#[component]
fn Errors(view: SyncView) -> impl IntoView {
    if view.errors.is_empty() {
        return ().into_any();
    }
    let rows = view
        .errors
        .into_iter()
        .map(|error| {
            let card = error.card_id.unwrap_or_else(|| "—".to_owned());
            let link = format!("/cards/{card}");
            view! {
                <tr>
                    <td>{short_time(&error.at)}</td>
                    <td><a href=link>{card}</a></td>
                    <td>{error.message}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h2 id="sync-errors">"Last errors"</h2>
        <p class="hint">"These cards were left as they were; the next run tries them again."</p>
        <table aria-labelledby="sync-errors">
            <thead><tr><th scope="col">"When"</th><th scope="col">"Card ID"</th><th scope="col">"What happened"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn NeedsAttention(view: SyncView) -> impl IntoView {
    if view.needs_attention.is_empty() {
        return ().into_any();
    }
    let rows = view
        .needs_attention
        .into_iter()
        .map(|row| {
            let link = format!("/cards/{}", row.card_id);
            view! {
                <tr>
                    <td><a href=link>{row.card_id}</a></td>
                    <td>{row.runs}</td>
                    <td>{short_time(&row.since)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h2 id="needs-attention">"Needs attention"</h2>
        <p class="hint">"GO Cards answered “not found” for these open orders in three runs or more. GO Cards anonymises old orders; check each card and abort or re-order it."</p>
        <table aria-labelledby="needs-attention">
            <thead><tr><th scope="col">"Card ID"</th><th scope="col">"Runs in a row"</th><th scope="col">"Since"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn ScheduleForm(
    view: SyncView,
    on_saved: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let enabled = RwSignal::new(view.enabled);
    let interval = RwSignal::new(view.interval_secs.to_string());
    let from_env = view.schedule_from_env;
    let save = ServerAction::<SaveSyncSchedule>::new();
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            enabled.set(saved.enabled);
            interval.set(saved.interval_secs.to_string());
            on_saved();
        }
    });
    let outcome = move || match save.value().get() {
        Some(Ok(_)) => Some(view! { <p class="ok" role="status">"Schedule saved."</p> }.into_any()),
        Some(Err(err)) => {
            Some(view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any())
        }
        None => None,
    };
    view! {
        <form
            class="schedule"
            on:submit=move |ev| {
                ev.prevent_default();
                save.dispatch(SaveSyncSchedule {
                    schedule: SyncScheduleInput {
                        enabled: enabled.get_untracked(),
                        interval_secs: interval.get_untracked(),
                    },
                });
            }
        >
            {from_env.then(|| view! { <p class="hint">"Set by environment (SYNC_INTERVAL_SECS): change it on the server."</p> })}
            <label class="check">
                <input
                    type="checkbox"
                    prop:checked=move || enabled.get()
                    on:change=move |ev| enabled.set(event_target_checked(&ev))
                    disabled=from_env
                />
                " Run on a schedule"
            </label>
            <label>
                "Interval (s)"
                <input
                    type="number"
                    min="10"
                    max="604800"
                    prop:value=move || interval.get()
                    on:input=move |ev| interval.set(event_target_value(&ev))
                    disabled=from_env
                />
            </label>
            <button type="submit" disabled=from_env>"Save schedule"</button>
            {outcome}
        </form>
    }
}

fn human_interval(secs: u64) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
