//! The page's live updates: one `EventSource` on `/events` per tab, opened by the first
//! logged-in page, and the signals pages read to update in place.
//!
//! - `card`: the newest card event; rows, profiles and dialogs pick out their own card.
//! - `job`, `sync`: the newest job event, and a count of sync events.
//! - `reload`: moves on when the page should re-read what it shows: the stream came back
//!   after a break (events are not replayed), or the server said it fell behind.
//! - `status`: "Live", "Reconnecting…", or off (the server refused the stream).

use leptos::prelude::*;

use crate::model::{CardEvent, JobEvent};

/// Where the stream stands, for the top bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveStatus {
    /// Not opened yet (and always, on the server).
    Connecting,
    Live,
    /// The connection broke; the browser is making it again.
    Reconnecting,
    /// The server refused the stream (too many, or the session ended): changes show on reload.
    Off,
}

impl LiveStatus {
    pub fn label(self) -> &'static str {
        match self {
            LiveStatus::Connecting => "Connecting…",
            LiveStatus::Live => "Live",
            LiveStatus::Reconnecting => "Reconnecting…",
            LiveStatus::Off => "Live updates off",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            LiveStatus::Connecting | LiveStatus::Live => {
                "Changes by the sync, GO Cards and other operators show here as they happen"
            }
            LiveStatus::Reconnecting => {
                "The connection for live updates broke; the page catches up once it is back"
            }
            LiveStatus::Off => "This page shows no changes by themselves; reload to see them",
        }
    }
}

#[derive(Clone, Copy)]
pub struct Live {
    pub status: RwSignal<LiveStatus>,
    pub reload: RwSignal<u64>,
    pub card: RwSignal<Option<CardEvent>>,
    pub job: RwSignal<Option<JobEvent>>,
    pub sync: RwSignal<u64>,
    opened: StoredValue<bool>,
}

impl Live {
    fn new() -> Self {
        Live {
            status: RwSignal::new(LiveStatus::Connecting),
            reload: RwSignal::new(0),
            card: RwSignal::new(None),
            job: RwSignal::new(None),
            sync: RwSignal::new(0),
            opened: StoredValue::new(false),
        }
    }

    /// Opens the tab's stream, once (in the browser; nothing on the server).
    pub fn connect(self) {
        if self.opened.get_value() {
            return;
        }
        self.opened.set_value(true);
        #[cfg(feature = "hydrate")]
        browser::open(self);
    }

    /// Runs `reread` whenever the page should re-read what it shows.
    pub fn on_reload(self, reread: impl Fn() + 'static) {
        Effect::watch(move || self.reload.get(), move |_, _, _| reread(), false);
    }

    /// The newest event of card `card_id` (a state change or a check), once one came.
    pub fn card_signal(self, card_id: String) -> ReadSignal<Option<CardEvent>> {
        let mine = RwSignal::new(None);
        Effect::new(move |_| {
            self.card.with(|event| {
                if let Some(event) = event.as_ref().filter(|e| e.card_id == card_id) {
                    mine.set(Some(event.clone()));
                }
            })
        });
        mine.read_only()
    }

    /// Runs `progressed` on each event of job `job_id`.
    pub fn on_job(
        self,
        job_id: impl Fn() -> Option<i64> + 'static,
        progressed: impl Fn(&JobEvent) + 'static,
    ) {
        Effect::watch(
            move || self.job.get(),
            move |event, _, _| {
                if let Some(event) = event.as_ref().filter(|e| Some(e.job_id) == job_id()) {
                    progressed(event);
                }
            },
            false,
        );
    }

    /// Runs `progressed` on each event of any job (the jobs list).
    pub fn on_any_job(self, progressed: impl Fn() + 'static) {
        Effect::watch(move || self.job.get(), move |_, _, _| progressed(), false);
    }

    /// Runs `progressed` on each event of the batch sync.
    pub fn on_sync(self, progressed: impl Fn() + 'static) {
        Effect::watch(move || self.sync.get(), move |_, _, _| progressed(), false);
    }
}

/// Makes the tab's [`Live`]; the app calls it once, above every page.
pub fn provide_live() {
    provide_context(Live::new());
}

/// The tab's [`Live`] (an idle one where none was provided).
pub fn use_live() -> Live {
    use_context::<Live>().unwrap_or_else(Live::new)
}

/// The top bar's "Live" / "Reconnecting…", and Reload when the stream is off.
#[component]
pub fn LiveIndicator() -> impl IntoView {
    let live = use_live();
    Effect::new(move |_| live.connect());
    let status = move || live.status.get();
    view! {
        <span
            class=move || format!("live live-{}", match status() {
                LiveStatus::Connecting => "connecting",
                LiveStatus::Live => "on",
                LiveStatus::Reconnecting => "reconnecting",
                LiveStatus::Off => "off",
            })
            role="status"
            title=move || status().title()
        >
            <span class="dot" aria-hidden="true"></span>
            {move || status().label()}
        </span>
        <Show when=move || status() == LiveStatus::Off>
            <button type="button" class="reload" on:click=move |_| reload_page()>"Reload"</button>
        </Show>
    }
}

fn reload_page() {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::Cell;
    use std::rc::Rc;

    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{EventSource, MessageEvent};

    use leptos::prelude::*;

    use super::{Live, LiveStatus};
    use crate::model::{CardEvent, JobEvent};

    pub fn open(live: Live) {
        let Ok(source) = EventSource::new("/events") else {
            live.status.set(LiveStatus::Off);
            return;
        };
        let was_open = Rc::new(Cell::new(false));
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new({
            let was_open = was_open.clone();
            move |_| {
                // Back after a break: what happened meanwhile was not sent.
                if was_open.replace(true) {
                    live.reload.update(|n| *n += 1);
                }
                live.status.set(LiveStatus::Live);
            }
        });
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new({
            let source = source.clone();
            move |_| {
                // CLOSED: refused (503, 401), so the browser gives up; else it tries again.
                live.status
                    .set(if source.ready_state() == EventSource::CLOSED {
                        LiveStatus::Off
                    } else {
                        LiveStatus::Reconnecting
                    });
            }
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();

        listen(&source, "card", move |data| {
            if let Ok(event) = serde_json::from_str::<CardEvent>(data) {
                live.card.set(Some(event));
            }
        });
        listen(&source, "job", move |data| {
            if let Ok(event) = serde_json::from_str::<JobEvent>(data) {
                live.job.set(Some(event));
            }
        });
        listen(&source, "sync", move |_| live.sync.update(|n| *n += 1));
        listen(&source, crate::model::RELOAD_EVENT, move |_| {
            live.reload.update(|n| *n += 1)
        });
        // The session ended (idle, or logged out elsewhere): to the log-in page.
        listen(&source, "logged_out", {
            let source = source.clone();
            move |_| {
                source.close();
                if let Some(window) = web_sys::window() {
                    let _ = window.location().set_href("/login");
                }
            }
        });
    }

    fn listen(source: &EventSource, name: &str, handle: impl Fn(&str) + 'static) {
        let callback = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(data) = event.data().as_string() {
                handle(&data);
            }
        });
        let _ = source.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        callback.forget();
    }
}
