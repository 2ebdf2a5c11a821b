//! "You have unsaved changes": a flag pages set, a note they show, and the browser's
//! leave-page warning while the flag is up.

use leptos::prelude::*;

/// Whether the current settings page has changes not saved yet.
#[derive(Clone, Copy)]
pub struct Unsaved(RwSignal<bool>);

impl Unsaved {
    /// Creates the flag for the settings view and warns before the page unloads while it is
    /// up.
    pub fn provide() -> Unsaved {
        let flag = Unsaved(RwSignal::new(false));
        provide_context(flag);
        #[cfg(feature = "hydrate")]
        {
            let handle = window_event_listener(leptos::ev::beforeunload, move |event| {
                if flag.0.try_get_untracked().unwrap_or(false) {
                    event.prevent_default();
                    event.set_return_value("You have unsaved changes.");
                }
            });
            on_cleanup(move || handle.remove());
        }
        flag
    }

    /// The flag of the settings view; a fresh one outside it.
    pub fn expect() -> Unsaved {
        use_context::<Unsaved>().unwrap_or_else(|| Unsaved(RwSignal::new(false)))
    }

    pub fn is_set(self) -> bool {
        self.0.get()
    }

    /// Keeps the flag equal to `dirty` while the calling page is shown.
    pub fn track(self, dirty: impl Fn() -> bool + Send + Sync + 'static) {
        Effect::new(move |_| self.0.set(dirty()));
        on_cleanup(move || {
            let _ = self.0.try_set(false);
        });
    }
}

/// The visible note beside a form's buttons.
#[component]
pub fn UnsavedNote(when: Signal<bool>) -> impl IntoView {
    view! {
        <Show when=move || when.get()>
            <span class="unsaved">"Unsaved changes"</span>
        </Show>
    }
}
