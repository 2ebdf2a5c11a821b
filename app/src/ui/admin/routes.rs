//! The settings pages' routes. Where the browser build splits the WASM (`cargo leptos build
//! --split`, as `make build-release` does), each page is a lazy route: its code is its own WASM
//! chunk, fetched when an admin first opens it, so operators never download the settings
//! view. Any other build (`cargo leptos build`, `watch`, `end-to-end`, a release without
//! `--split`) has no splitter, so there the pages are ordinary routes (`cfg(wasm_split)`, set
//! by `build.rs`). The server renders both the same way, and always as lazy routes, so that
//! it names the chunks to preload when they exist.

use leptos::prelude::*;

use super::{
    AccountsPage, AuditPage, CardCommandsPage, ConnectionPage, SyncPage, UserCommandsPage,
};

/// A settings page's route: `$route` is the lazy route, `$view()` what the router is given.
/// The pages load their own data.
macro_rules! settings_route {
    ($(#[$doc:meta])* $view:ident: $route:ident => $page:ident) => {
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
                view! { <$page /> }.into_any()
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
            || view! { <$page /> }.into_any()
        }
    };
}

settings_route!(
    /// `/admin/cards`: Additional Commands per card state.
    card_commands: CardCommandsRoute => CardCommandsPage
);
settings_route!(
    /// `/admin/gocards`: the GO Cards connection.
    connection: ConnectionRoute => ConnectionPage
);
settings_route!(
    /// `/admin/sync`: the batch sync.
    sync: SyncRoute => SyncPage
);
settings_route!(
    /// `/admin/users`: Users › User, the Additional Commands for users.
    user_commands: UserCommandsRoute => UserCommandsPage
);
settings_route!(
    /// `/admin/accounts`: the desk's accounts (operators and admins) and their roles.
    accounts: AccountsRoute => AccountsPage
);
settings_route!(
    /// `/admin/audit`: the audit log.
    audit: AuditRoute => AuditPage
);
