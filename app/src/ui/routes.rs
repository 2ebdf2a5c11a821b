//! The lazy routes: every page but the log-in and the search. Where the browser build splits
//! the WASM (`cargo leptos build --split`, as `make build-release` does), each such page is a
//! lazy route: its code is its own WASM chunk, fetched when it is first opened (and named for
//! preloading by the server when a page is loaded at its address), so the first visit to the
//! search downloads only the log-in's and the search's code (operations.md's budget), and
//! operators never download the settings view. Any other build (`cargo leptos build`, `watch`, `end-to-end`, a release without
//! `--split`) has no splitter, so there the pages are ordinary routes (`cfg(wasm_split)`, set
//! by `build.rs`). The server renders both the same way, and always as lazy routes, so that
//! it names the chunks to preload when they exist.

use leptos::prelude::*;

use super::admin::{
    AccountsPage, AuditPage, CardCommandsPage, ConnectionPage, SyncPage, UserCommandsPage,
};
use super::card::CardPage;
use super::holder::UserPage;
use super::jobs::{JobPage, JobsPage};
use super::layout::Layout;

/// A page's lazy route: `$route` is the lazy route, `$view()` what the router is given, and
/// `$body` the view. The pages load their own data.
macro_rules! lazy_page {
    ($(#[$doc:meta])* $view:ident: $route:ident => $body:expr) => {
        $(#[$doc])*
        #[cfg(any(not(feature = "hydrate"), wasm_split))]
        pub struct $route;

        #[cfg(any(not(feature = "hydrate"), wasm_split))]
        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> AnyView {
                let _ = this;
                $body.into_any()
            }
        }

        $(#[$doc])*
        #[cfg(any(not(feature = "hydrate"), wasm_split))]
        pub fn $view() -> leptos_router::Lazy<$route> {
            leptos_router::Lazy::new()
        }

        $(#[$doc])*
        #[cfg(all(feature = "hydrate", not(wasm_split)))]
        pub fn $view() -> impl Fn() -> AnyView + Clone + Send + 'static {
            || $body.into_any()
        }
    };
}

lazy_page!(
    /// `/admin/cards`: Additional Commands per card state.
    card_commands: CardCommandsRoute => view! { <CardCommandsPage /> }
);
lazy_page!(
    /// `/admin/gocards`: the GO Cards connection.
    connection: ConnectionRoute => view! { <ConnectionPage /> }
);
lazy_page!(
    /// `/admin/sync`: the batch sync.
    sync: SyncRoute => view! { <SyncPage /> }
);
lazy_page!(
    /// `/admin/users`: Users › User, the Additional Commands for users.
    user_commands: UserCommandsRoute => view! { <UserCommandsPage /> }
);
lazy_page!(
    /// `/admin/accounts`: the desk's accounts (operators and admins) and their roles.
    accounts: AccountsRoute => view! { <AccountsPage /> }
);
lazy_page!(
    /// `/admin/audit`: the audit log.
    audit: AuditRoute => view! { <AuditPage /> }
);
lazy_page!(
    /// `/cards/{card_id}`: a card's profile, its history and its commands.
    card: CardRoute => view! { <Layout><CardPage /></Layout> }
);
lazy_page!(
    /// `/users/{user_id}`: a user's profile, their cards and Order card.
    user: UserRoute => view! { <Layout><UserPage /></Layout> }
);
lazy_page!(
    /// `/jobs`: the jobs.
    jobs: JobsRoute => view! { <Layout><JobsPage /></Layout> }
);
lazy_page!(
    /// `/jobs/{job_id}`: one job, its progress and its items.
    job: JobRoute => view! { <Layout><JobPage /></Layout> }
);
