//! Cards › Card: one tab per card state, each with its list of Additional Commands; and
//! Users › User: the one list for users. Both are edited the same way.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;

use super::unsaved::{Unsaved, UnsavedNote};
use crate::api::{admin_command_tabs, SaveCommandTab};
use crate::domain::{CardState, CommandList, Process};
use crate::model::CommandTab;

#[component]
pub fn CardCommandsPage() -> impl IntoView {
    view! {
        <Title text="Cards › Card · Settings · Card desk" />
        <section class="panel" aria-labelledby="commands-title">
            <h1 id="commands-title">"Cards › Card"</h1>
            <p class="hint">
                "Choose the Additional Commands operators get on a card, by the card's state. "
                "A change applies to operators at once."
            </p>
            <CommandLists lists=CommandList::ALL.into_iter().filter(|l| *l != CommandList::User).collect() />
        </section>
    }
}

#[component]
pub fn UserCommandsPage() -> impl IntoView {
    view! {
        <Title text="Users › User · Settings · Card desk" />
        <section class="panel" aria-labelledby="commands-title">
            <h1 id="commands-title">"Users › User"</h1>
            <p class="hint">
                "Choose the Additional Commands operators get on a user's profile. "
                "The desk keeps no user states, so there is one list for every user. "
                "A change applies to operators at once."
            </p>
            <CommandLists lists=vec![CommandList::User] />
        </section>
    }
}

/// Loads every list and edits `lists`: as tabs when there are several.
#[component]
fn CommandLists(lists: Vec<CommandList>) -> impl IntoView {
    let tabs = Resource::new(
        || (),
        |_| async { admin_command_tabs().await.map_err(|e| e.to_string()) },
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let lists = lists.clone();
                tabs.get().map(move |result| match result {
                    Ok(tabs) => {
                        let tabs = tabs.into_iter().filter(|t| lists.contains(&t.list)).collect();
                        view! { <CommandTabs tabs lists /> }.into_any()
                    }
                    Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                })
            }}
        </Transition>
    }
}

/// One row of a tab's list, as edited. `key` tells rows apart while they are edited.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    key: u64,
    process: Process,
}

/// A change to a tab's draft rows.
type RowEdit = Box<dyn FnOnce(&mut Vec<Row>)>;

/// What the last "Save" of a tab said.
#[derive(Clone, Debug)]
struct SaveNote {
    state: CommandList,
    result: Result<(), String>,
}

#[component]
fn CommandTabs(tabs: Vec<CommandTab>, lists: Vec<CommandList>) -> impl IntoView {
    let next_key = StoredValue::new(0u64);
    let new_row = move |process: Process| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        Row { key, process }
    };
    let saved: RwSignal<BTreeMap<CommandList, Vec<Process>>> = RwSignal::new(
        tabs.iter()
            .map(|tab| (tab.list, tab.processes.clone()))
            .collect(),
    );
    let drafts: RwSignal<BTreeMap<CommandList, Vec<Row>>> = RwSignal::new(
        tabs.iter()
            .map(|tab| {
                (
                    tab.list,
                    tab.processes.iter().map(|p| new_row(*p)).collect(),
                )
            })
            .collect(),
    );
    let tabbed = lists.len() > 1;
    let lists = StoredValue::new(lists);
    let selected =
        RwSignal::new(lists.with_value(|l| l.first().copied().unwrap_or(CommandList::User)));
    let note: RwSignal<Option<SaveNote>> = RwSignal::new(None);
    let saving: RwSignal<Option<CommandList>> = RwSignal::new(None);
    let save = ServerAction::<SaveCommandTab>::new();

    let dirty = move |state: CommandList| {
        let draft: Vec<Process> = drafts.with(|d| {
            d.get(&state)
                .map(|rows| rows.iter().map(|r| r.process).collect())
                .unwrap_or_default()
        });
        saved.with(|s| s.get(&state).cloned().unwrap_or_default()) != draft
    };
    Unsaved::expect().track(move || lists.with_value(|l| l.iter().copied().any(dirty)));

    Effect::new(move |_| {
        let Some(result) = save.value().get() else {
            return;
        };
        let Some(state) = saving.get_untracked() else {
            return;
        };
        match result {
            Ok(tab) => {
                saved.update(|s| {
                    s.insert(tab.list, tab.processes.clone());
                });
                drafts.update(|d| {
                    d.insert(
                        tab.list,
                        tab.processes.iter().map(|p| new_row(*p)).collect(),
                    );
                });
                note.set(Some(SaveNote {
                    state: tab.list,
                    result: Ok(()),
                }));
            }
            Err(err) => note.set(Some(SaveNote {
                state,
                result: Err(err.to_string()),
            })),
        }
    });

    let edit = move |state: CommandList, change: RowEdit| {
        drafts.update(|d| change(d.entry(state).or_default()));
        note.update(|n| {
            if n.as_ref().is_some_and(|n| n.state == state) {
                *n = None;
            }
        });
    };

    let panel = move || {
        let state = selected.get();
        let rows = move || drafts.with(|d| d.get(&state).cloned().unwrap_or_default());
        let on_save = move |_| {
            let processes = drafts.with_untracked(|d| {
                d.get(&state)
                    .map(|rows| rows.iter().map(|r| r.process).collect())
                    .unwrap_or_default()
            });
            saving.set(Some(state));
            note.set(None);
            save.dispatch(SaveCommandTab {
                list: state,
                processes,
            });
        };
        let shown_note = move || {
            note.get()
                .filter(|n| n.state == state)
                .map(|n| match n.result {
                    Ok(()) => view! { <p class="saved" role="status">"Saved."</p> }.into_any(),
                    Err(message) => {
                        view! { <p class="error" role="alert">{message}</p> }.into_any()
                    }
                })
        };
        view! {
            <h2>"Additional Commands"</h2>
            {match state {
                CommandList::Card(card_state) => view! {
                    <p class="hint">
                        "Commands operators can run on a card that is " <strong>{card_state.label()}</strong> "."
                    </p>
                }.into_any(),
                CommandList::User => view! {
                    <p class="hint">"Commands operators can run on a user."</p>
                }.into_any(),
            }}
            <ul class="command-rows">
                <For each=rows key=|row| row.key let:row>
                    <CommandRow state row edit />
                </For>
            </ul>
            <Show when=move || rows().is_empty()>
                <p class="hint">{if tabbed { "No commands on this tab." } else { "No commands on this list." }}</p>
            </Show>
            <div class="row-buttons">
                <button
                    type="button"
                    class="icon"
                    aria-label="New"
                    title="New"
                    on:click=move |_| edit(state, Box::new(move |rows| rows.push(new_row(first_fitting(state)))))
                >
                    "✎"
                </button>
                <button type="button" class="primary" on:click=on_save disabled=move || save.pending().get()>
                    "Save"
                </button>
                <UnsavedNote when=Signal::derive(move || dirty(state)) />
            </div>
            {shown_note}
        }
    };

    if !tabbed {
        return view! { <div class="command-list">{panel}</div> }.into_any();
    }
    let states: Vec<CardState> = lists.with_value(|l| {
        l.iter()
            .filter_map(|list| match list {
                CommandList::Card(state) => Some(*state),
                CommandList::User => None,
            })
            .collect()
    });
    view! {
        <div class="tabs" role="tablist" aria-label="Card states">
            {states
                .into_iter()
                .map(|state| view! { <StateTab state selected dirty=Signal::derive(move || dirty(CommandList::Card(state))) /> })
                .collect_view()}
        </div>
        <div
            class="tabpanel"
            role="tabpanel"
            id="commands-panel"
            aria-labelledby=move || tab_id(selected.get())
        >
            {panel}
        </div>
    }
    .into_any()
}

/// The process a new row starts with: the first that can go on `list`.
fn first_fitting(list: CommandList) -> Process {
    Process::ALL
        .into_iter()
        .find(|p| p.check_list(list).is_ok())
        .unwrap_or(Process::ALL[0])
}

fn tab_id(list: CommandList) -> String {
    format!("tab-{}", list.as_str())
}

/// A tab button. Arrow keys, Home and End move between tabs, as in any tab list.
#[component]
fn StateTab(
    state: CardState,
    selected: RwSignal<CommandList>,
    dirty: Signal<bool>,
) -> impl IntoView {
    let is_selected = move || selected.get() == CommandList::Card(state);
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let all = CardState::ALL;
        let at = all.iter().position(|s| *s == state).unwrap_or(0);
        let next = match ev.key().as_str() {
            "ArrowRight" => all[(at + 1) % all.len()],
            "ArrowLeft" => all[(at + all.len() - 1) % all.len()],
            "Home" => all[0],
            "End" => all[all.len() - 1],
            _ => return,
        };
        ev.prevent_default();
        selected.set(CommandList::Card(next));
        focus_tab(CommandList::Card(next));
    };
    view! {
        <button
            type="button"
            role="tab"
            id=tab_id(CommandList::Card(state))
            class="tab-button"
            aria-selected=move || is_selected().to_string()
            aria-controls="commands-panel"
            tabindex=move || if is_selected() { "0" } else { "-1" }
            on:click=move |_| selected.set(CommandList::Card(state))
            on:keydown=on_key
        >
            {state.label()}
            <Show when=move || dirty.get()>
                <span class="dirty-mark" aria-hidden="true">" •"</span>
            </Show>
        </button>
    }
}

fn focus_tab(state: CommandList) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(button) = document()
            .get_element_by_id(&tab_id(state))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = button.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

#[component]
fn CommandRow(
    state: CommandList,
    row: Row,
    edit: impl Fn(CommandList, RowEdit) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let key = row.key;
    let id = format!("process-{}-{key}", state.as_str());
    let on_change = move |ev: leptos::ev::Event| {
        if let Ok(process) = event_target_value(&ev).parse::<Process>() {
            edit(
                state,
                Box::new(move |rows| {
                    if let Some(row) = rows.iter_mut().find(|r| r.key == key) {
                        row.process = process;
                    }
                }),
            );
        }
    };
    let remove = move |_| edit(state, Box::new(move |rows| rows.retain(|r| r.key != key)));
    view! {
        <li class="command-row">
            <label for=id.clone()>"Process"</label>
            <select id=id on:change=on_change>
                {Process::ALL
                    .into_iter()
                    .map(|process| view! {
                        <option value=process.as_str() selected=process == row.process>
                            {process.label()}
                        </option>
                    })
                    .collect_view()}
            </select>
            <button type="button" on:click=remove>"Remove"</button>
        </li>
    }
}
