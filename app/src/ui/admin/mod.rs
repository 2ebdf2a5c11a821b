//! The admin's settings view under `/admin`: its own navigation, and a page per part.
//! Non-admins get "Not allowed" (403 on the server-rendered page); the server functions
//! behind every page refuse them too.

mod accounts;
mod audit;
mod commands;
mod connection;
mod sync;
mod unsaved;

use leptos::prelude::*;
use leptos_router::components::Outlet;
use leptos_router::hooks::use_location;

use super::layout::Layout;
use crate::api::whoami;

pub use accounts::AccountsPage;
pub use audit::AuditPage;
pub use commands::{CardCommandsPage, UserCommandsPage};
pub use connection::ConnectionPage;
pub use sync::SyncPage;
pub use unsaved::Unsaved;

/// The frame of every settings page: the top bar, then either the settings navigation and
/// the page, or "Not allowed".
#[component]
pub fn AdminShell() -> impl IntoView {
    let me = OnceResource::new(whoami());
    let unsaved = Unsaved::provide();
    view! {
        <Layout>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || me.get().map(|me| {
                    let is_admin = me
                        .as_ref()
                        .ok()
                        .and_then(|me| me.user.as_ref())
                        .is_some_and(|user| user.role.is_admin());
                    if is_admin {
                        view! {
                            <div class="admin">
                                <AdminNav unsaved />
                                <div class="admin-page"><Outlet /></div>
                            </div>
                        }
                        .into_any()
                    } else {
                        view! { <NotAllowed /> }.into_any()
                    }
                })}
            </Suspense>
        </Layout>
    }
}

/// The settings navigation. While a page has unsaved changes its links load a new page
/// (`rel="external"`), so the browser's "leave this page?" warning applies to them too.
#[component]
fn AdminNav(unsaved: Unsaved) -> impl IntoView {
    view! {
        <nav class="admin-nav" aria-label="Settings">
            <p class="nav-group" id="nav-cards">"Cards"</p>
            <ul aria-labelledby="nav-cards">
                <li><NavLink href="/admin/cards" label="Card" unsaved /></li>
            </ul>
            <p class="nav-group" id="nav-users">"Users"</p>
            <ul aria-labelledby="nav-users">
                <li><NavLink href="/admin/users" label="User" unsaved /></li>
            </ul>
            <ul>
                <li><NavLink href="/admin/gocards" label="GO Cards connection" unsaved /></li>
            </ul>
            <p class="nav-group" id="nav-jobs">"Scheduled jobs"</p>
            <ul aria-labelledby="nav-jobs">
                <li><NavLink href="/admin/sync" label="GO Cards batch sync" unsaved /></li>
            </ul>
            <ul>
                <li><NavLink href="/admin/accounts" label="Accounts" unsaved /></li>
                <li><NavLink href="/admin/audit" label="Audit log" unsaved /></li>
            </ul>
        </nav>
    }
}

#[component]
fn NavLink(href: &'static str, label: &'static str, unsaved: Unsaved) -> impl IntoView {
    let location = use_location();
    let current = move || location.pathname.with(|path| path.starts_with(href));
    view! {
        <a
            href=href
            class="nav-link"
            aria-current=move || current().then_some("page")
            rel=move || unsaved.is_set().then_some("external")
        >
            {label}
        </a>
    }
}

#[component]
fn NotAllowed() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <section class="panel">
            <h1>"Not allowed"</h1>
            <p>
                "The settings view is for admins only. "
                <a href="/search">"Go to the search"</a>
                "."
            </p>
        </section>
    }
}
