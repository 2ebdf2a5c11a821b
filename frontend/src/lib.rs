//! The WASM entry point. cargo-leptos builds this crate for the browser (`lib-package`); all
//! of the page lives in `app`. Natively it is empty (see Cargo.toml).

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    app::hydrate();
}
