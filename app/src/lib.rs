//! The card-order desk: shared types, the pure domain, server functions and the UI.
//!
//! - `domain`: card states, GO Cards statuses, the mapping (pure, no I/O).
//! - `model`: the types on the wire.
//! - `api`: server functions, with one error type per operation.
//! - `ui`: the pages.
//! - `backend` (ssr only): storage, the GO Cards client and the services.
#![recursion_limit = "256"]

pub mod api;
pub mod domain;
pub mod model;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod backend;

pub use ui::{shell, App};

/// The WASM entry point: hydrate the server-rendered page. As `leptos::mount::hydrate_lazy`
/// (the settings pages' code arrives in chunks of its own, see `ui::admin::routes`), plus a
/// marker once all of the page, lazy parts included, is hydrated and live.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // The WASM is loaded and compiled; hydration starts.
    ui::performance_mark("carddesk:hydrate-start");
    wasm_bindgen_futures::spawn_local(async {
        let owner = leptos::mount::hydrate_from_async(leptos::tachys::dom::body(), App).await;
        owner.forget();
        ui::mark_hydrated();
    });
}
