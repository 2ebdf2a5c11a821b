use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::format::{optional_time, short_time};
use crate::api::{card_profile, UpdateCardOrder};
use crate::domain::Process;
use crate::model::{CardDetail, HistoryEntry, HistoryKind, HistorySource};
use crate::ui::live::use_live;
use crate::ui::processes::AbortCardOrderDialog;
use crate::ui::table::DataTable;

#[component]
pub fn CardPage() -> impl IntoView {
    let params = use_params_map();
    let card_id = Memo::new(move |_| params.with(|p| p.get("card_id").unwrap_or_default()));
    let profile = Resource::new(
        move || card_id.get(),
        |id| async move { card_profile(id).await.map_err(|e| e.to_string()) },
    );
    // The process dialog lives outside the profile, so that refreshing the profile behind it
    // (to show the new status) does not close it.
    let process_for: RwSignal<Option<(Process, CardDetail)>> = RwSignal::new(None);
    // A change of this card by anyone (the sync, a webhook, another operator, a job), or a
    // break in the live stream: re-read the profile, its history and its commands.
    let live = use_live();
    Effect::watch(
        move || live.card.get(),
        move |event, _, _| {
            if event
                .as_ref()
                .is_some_and(|e| e.card_id == card_id.get_untracked())
            {
                profile.refetch();
            }
        },
        false,
    );
    live.on_reload(move || profile.refetch());
    view! {
        <Title text=move || format!("{} · Card desk", card_id.get()) />
        <p class="back"><a href="/search">"← Back to the search"</a></p>
        <Transition fallback=|| view! { <p class="loading">"Loading the card…"</p> }>
            {move || profile.get().map(|result| match result {
                Ok(card) => view! { <Profile card process_for /> }.into_any(),
                Err(message) => view! {
                    <section class="panel"><p class="error" role="alert">{message}</p></section>
                }.into_any(),
            })}
        </Transition>
        {move || process_for.get().map(|(process, card)| match process {
            Process::AbortCardOrder => view! {
                <AbortCardOrderDialog
                    card
                    on_close=move || process_for.set(None)
                    on_changed=move || profile.refetch()
                />
            }.into_any(),
            _ => view! {
                <UpdateCardOrderDialog card process_for on_changed=move || profile.refetch() />
            }.into_any(),
        })}
    }
}

#[component]
fn Profile(
    card: CardDetail,
    process_for: RwSignal<Option<(Process, CardDetail)>>,
) -> impl IntoView {
    let snapshot = card.clone();
    let commands = card
        .commands
        .iter()
        .map(|&process| {
            view! {
                <li>
                    <button type="button" class="command" on:click={
                        let snapshot = snapshot.clone();
                        move |_| process_for.set(Some((process, snapshot.clone())))
                    }>
                        {process.label()}
                    </button>
                </li>
            }
        })
        .collect_view();
    let no_commands = card.commands.is_empty().then(|| view! {
        <p class="hint">"No commands are enabled for a card in state "{card.state.label()}"."</p>
    });
    let history = card.history.clone();
    view! {
        <Title text=format!("{} · Card desk", card.card_id) />
        <div class="profile">
            <section class="panel" aria-labelledby="card-title">
                <h1 id="card-title">"Card "{card.card_id.clone()}</h1>
                <dl class="details">
                    <dt>"Status"</dt>
                    <dd><span class=format!("state state-{}", card.state.as_str()) data-testid="card-status">{card.state.label()}</span></dd>
                    <dt>"Holder"</dt>
                    <dd>{match card.holder_id {
                        Some(id) => view! {
                            <a href=format!("/users/{id}")>{format!("{} {}", card.first_name, card.last_name)}</a>
                        }.into_any(),
                        None => format!("{} {}", card.first_name, card.last_name).into_any(),
                    }}</dd>
                    <dt>"Email"</dt><dd>{card.email.clone()}</dd>
                    <dt>"Employee ID"</dt><dd>{card.employee_id.clone()}</dd>
                    <dt>"Ordered"</dt><dd>{optional_time(&card.ordered_at)}</dd>
                    <dt>"Last checked"</dt><dd>{optional_time(&card.last_checked_at)}</dd>
                    <dt>"GO Cards status"</dt><dd>{card.gocards_status.clone().unwrap_or_else(|| "—".into())}</dd>
                    {card.failure_reason.clone().map(|reason| view! { <dt>"Failure reason"</dt><dd>{reason}</dd> })}
                </dl>
            </section>
            <aside class="panel actions" aria-labelledby="todo-title">
                <h2 id="todo-title">"What do you want to do?"</h2>
                <ul class="commands">{commands}</ul>
                {no_commands}
            </aside>
        </div>
        <section class="panel" aria-labelledby="history-title">
            <h2 id="history-title">"Status history"</h2>
            <p class="export">
                <a href=crate::export::history_path(&card.card_id) download="" title="Download the card's whole history as a CSV file">
                    "Export history"
                </a>
            </p>
            <HistoryTable entries=history />
        </section>
    }
}

#[component]
fn HistoryTable(entries: Vec<HistoryEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="hint">"Nothing has happened to this card yet."</p> }.into_any();
    }
    let rows = entries
        .into_iter()
        .map(|entry| {
            let source = match (entry.source, &entry.actor) {
                (HistorySource::Manual, Some(actor)) => format!("manual, by {actor}"),
                (HistorySource::Manual, None) => "manual".to_owned(),
                (HistorySource::Sync, _) => "batch sync".to_owned(),
                (HistorySource::Webhook, _) => "webhook".to_owned(),
            };
            let change = if entry.from_state == entry.to_state {
                entry.from_state.label().to_owned()
            } else {
                format!("{} → {}", entry.from_state.label(), entry.to_state.label())
            };
            // The sync's repeated identical errors are one row: say how often, and when last.
            let again = (entry.repeats > 1).then(|| {
                let what = if entry.kind == HistoryKind::Error { "failed again" } else { "again" };
                let last = optional_time(&entry.last_at);
                view! { <br /><small class="repeats">{format!("{what} (×{}, last at {last})", entry.repeats)}</small> }
            });
            view! {
                <tr>
                    <td>{short_time(&entry.at)}</td>
                    <td>{entry.kind.label()}{again}</td>
                    <td>{change}</td>
                    <td>{source}</td>
                    <td>{entry.gocards_status.unwrap_or_else(|| "—".into())}</td>
                    <td>{entry.detail.unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable
            class="history"
            columns=&["When", "Event", "State", "Source", "GO Cards status", "Details"]
            rows=rows.into_any()
        />
    }
    .into_any()
}

/// The "Update card order" process: what will happen, then Next or Cancel; then the outcome.
#[component]
fn UpdateCardOrderDialog(
    card: CardDetail,
    process_for: RwSignal<Option<(Process, CardDetail)>>,
    on_changed: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let run = ServerAction::<UpdateCardOrder>::new();
    let card_id = card.card_id.clone();
    let version = card.version;
    let next = move |_| {
        run.dispatch(UpdateCardOrder {
            card_id: card_id.clone(),
            expected_version: version,
        });
    };
    let close = move |_| process_for.set(None);
    // Refresh the profile behind the dialog as soon as the outcome is known.
    Effect::new(move |_| {
        if run.value().with(|v| v.is_some()) {
            on_changed();
        }
    });
    let outcome = move || {
        run.value().get().map(|result| match result {
            Ok(done) => {
                let class = if done.changed {
                    "outcome changed"
                } else {
                    "outcome no-change"
                };
                view! { <p class=class role="status">{done.message}</p> }.into_any()
            }
            Err(err) => {
                view! { <p class="outcome error" role="alert">{err.to_string()}</p> }.into_any()
            }
        })
    };
    let finished = move || run.value().with(|v| v.is_some());
    let meanwhile = changed_meanwhile(&card, move || run.pending().get() || finished());
    let blocked = move || meanwhile().is_some();
    view! {
        <div class="backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="process-title">
                <h2 id="process-title">"Update card order"</h2>
                <dl class="details">
                    <dt>"Card"</dt><dd>{card.card_id.clone()}</dd>
                    <dt>"Holder"</dt>
                    <dd>{match card.holder_id {
                        Some(id) => view! {
                            <a href=format!("/users/{id}")>{format!("{} {}", card.first_name, card.last_name)}</a>
                        }.into_any(),
                        None => format!("{} {}", card.first_name, card.last_name).into_any(),
                    }}</dd>
                    <dt>"Current status"</dt><dd>{card.state.label()}</dd>
                </dl>
                <p class="explain">
                    "Next asks GO Cards for the status of this order and updates the card: "
                    "in production, produced or failed. If GO Cards reports nothing new, the card stays as it is."
                </p>
                <Show when=move || run.pending().get()>
                    <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Asking GO Cards…"</p>
                </Show>
                {move || meanwhile().map(|message| view! { <p class="outcome changed-meanwhile" role="alert">{message}</p> })}
                {outcome}
                <div class="buttons">
                    <Show
                        when=finished
                        fallback=move || view! {
                            <button type="button" class="primary" on:click=next.clone() disabled=move || run.pending().get() || blocked()>"Next"</button>
                            <button type="button" on:click=move |_| process_for.set(None) disabled=move || run.pending().get()>"Cancel"</button>
                        }
                    >
                        <button type="button" class="primary" on:click=close>"Close"</button>
                    </Show>
                </div>
            </div>
        </div>
    }
}

/// "This card changed meanwhile: it is now In production.", once a live event shows the card
/// at another version than the dialog was opened on, until `settled` (the operator pressed
/// Next: the outcome says what happened then).
pub fn changed_meanwhile(
    card: &CardDetail,
    settled: impl Fn() -> bool + Send + Sync + 'static,
) -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static {
    let event = use_live().card_signal(card.card_id.clone());
    let version = card.version;
    let message = Memo::new(move |_| {
        if settled() {
            return None;
        }
        event.with(|e| {
            e.as_ref()
                .filter(|e| e.version != version)
                .map(|e| crate::domain::changed_meanwhile_message(e.state))
        })
    });
    move || message.get()
}
