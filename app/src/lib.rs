//! The card-order desk's web app: server functions and the UI, shared by the server (`ssr`)
//! and the browser (`hydrate`, through the `frontend` crate).
//!
//! - `api`: server functions, with one error type per operation. Under `ssr` they call the
//!   `backend` crate's services; in the browser they are HTTP calls.
//! - `ui`: the pages.
//! - `domain`, `model`: re-exported from `desk-core`, the pure domain and the wire types.
#![recursion_limit = "256"]

pub mod api;
pub mod ui;

pub use desk_core::{domain, export, model};
pub use ui::{shell, App};

/// The WASM entry point: hydrate the server-rendered page. As `leptos::mount::hydrate_lazy`
/// (the settings pages' code arrives in chunks of its own, see `ui::admin::routes`), plus a
/// marker once all of the page, lazy parts included, is hydrated and live.
#[cfg(feature = "hydrate")]
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
