//! The pages and their shared chrome.

mod admin;
mod card;
mod format;
pub mod holder;
pub mod jobs;
mod layout;
pub mod live;
mod login;
pub mod processes;
mod routes;
pub mod search;
mod table;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use admin::AdminShell;
use layout::Layout;
use login::LoginPage;
use routes as lazy;
use search::SearchPage;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta
                    name="description"
                    content="Card desk: search smart cards and their holders, and order, update and abort card orders with GO Cards."
                />
                // Named with its content hash when the build hashes its files (hash-files).
                <HashedStylesheet options=options.clone() id="leptos" />
                <StartWatch />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// If the browser code fails to start (the WASM or its script does not load, does not
/// instantiate, or panics while hydrating), the page says so instead of sitting dead: a
/// notice with a Reload button, at the top of the page. Any error before `body[data-hydrated]`
/// counts, not one after. Plain script with this response's nonce, as the CSP asks.
#[component]
fn StartWatch() -> impl IntoView {
    view! { <script nonce=leptos::nonce::use_nonce() inner_html=START_WATCH></script> }
}

/// Script text, written raw into the page (`inner_html`): it must never contain `</script>`.
const START_WATCH: &str = r#"(function () {
  var shown = false;
  function startFailed(event) {
    var body = document.body;
    if (shown || !body || body.hasAttribute("data-hydrated")) return;
    var target = event && event.target;
    // A resource that failed counts only if it is code: a script, or a preloaded module.
    if (event && event.type === "error" && target && target !== window
        && target.tagName !== "SCRIPT"
        && !(target.tagName === "LINK" && target.rel === "modulepreload")) return;
    shown = true;
    var notice = document.createElement("div");
    notice.className = "start-failed";
    notice.setAttribute("role", "alert");
    notice.appendChild(document.createTextNode("The page could not start; reload. "));
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "Reload";
    button.addEventListener("click", function () { window.location.reload(); });
    notice.appendChild(button);
    body.insertBefore(notice, body.firstChild);
  }
  window.addEventListener("error", startFailed, true);
  window.addEventListener("unhandledrejection", startFailed);
})();"#;

/// Pages may run only this app's own scripts: the WASM (`'wasm-unsafe-eval'`), the files
/// under `/pkg`, and Leptos' inline hydration scripts, which carry this response's nonce.
/// No other site may frame them.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let nonce = leptos::nonce::use_nonce()
        .map(|nonce| format!(" 'nonce-{}'", &*nonce))
        .unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Adds a named mark to the page's performance timeline (a no-op where there is none).
#[cfg(feature = "hydrate")]
pub fn performance_mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// Called once the whole page is hydrated and live: a marker end-to-end tests wait for
/// (`body[data-hydrated]`), and a performance mark the front-end measurement reads
/// (`end2end/tests/perf.spec.ts`).
#[cfg(feature = "hydrate")]
pub fn mark_hydrated() {
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.set_attribute("data-hydrated", "true");
    }
    performance_mark("carddesk:hydrated");
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    live::provide_live();
    view! {
        <Title text="Card desk" />
        <Router>
            <Routes fallback=|| view! { <Layout><NotFound /></Layout> }>
                <Route path=path!("/") view=|| view! { <Redirect path="/search" /> } />
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/search") view=|| view! { <Layout><SearchPage /></Layout> } />
                // With `--split`, every page below is its own WASM chunk, loaded on first use
                // (ui/routes.rs): a first visit to the search downloads only its own code.
                <Route path=path!("/cards/:card_id") view=lazy::card() />
                // Async: an unknown user is known before the status is sent, so it is a 404.
                <Route
                    path=path!("/users/:user_id")
                    view=lazy::user()
                    ssr=SsrMode::Async
                />
                <Route path=path!("/jobs") view=lazy::jobs() />
                // Async: an unknown job is known before the status is sent, so it is a 404.
                <Route
                    path=path!("/jobs/:job_id")
                    view=lazy::job()
                    ssr=SsrMode::Async
                />
                // Async: the role check resolves before the status is sent, so "Not allowed" is a 403.
                <ParentRoute path=path!("/admin") view=AdminShell ssr=SsrMode::Async>
                    <Route path=path!("") view=|| view! { <Redirect path="/admin/cards" /> } />
                    <Route path=path!("cards") view=lazy::card_commands() />
                    <Route path=path!("gocards") view=lazy::connection() />
                    <Route path=path!("sync") view=lazy::sync() />
                    <Route path=path!("users") view=lazy::user_commands() />
                    <Route path=path!("accounts") view=lazy::accounts() />
                    <Route path=path!("audit") view=lazy::audit() />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="panel">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/search">"Go to the search"</a> "."</p>
        </section>
    }
}
