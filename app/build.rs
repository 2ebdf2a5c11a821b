//! Sets `cfg(wasm_split)` when cargo-leptos builds the browser code with `--split`: it links the
//! WASM with `--emit-relocs`, which the splitter needs. Only then may the settings pages be
//! lazy routes; without the splitter a lazy route's import stays unresolved and the page
//! never starts, so `ui::admin::routes` makes them ordinary routes instead.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(wasm_split)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=RUSTFLAGS");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32");
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if wasm
        && flags
            .split('\x1f')
            .any(|flag| flag.contains("--emit-relocs"))
    {
        println!("cargo::rustc-cfg=wasm_split");
    }
}
