//! The settings pages as lazy routes: each page's code is its own WASM chunk, fetched when an
//! admin first opens it, so operators never download the settings view. (`make build-release`
//! builds with `cargo leptos build --split`; the server renders these pages as usual.)

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use super::{AuditPage, CardCommandsPage, ConnectionPage, SyncPage, UsersPage};

/// A settings page whose view is loaded on first use. The pages load their own data.
macro_rules! lazy_page {
    ($(#[$doc:meta])* $route:ident => $page:ident) => {
        $(#[$doc])*
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> AnyView {
                let _ = this;
                view! { <$page /> }.into_any()
            }
        }
    };
}

lazy_page!(
    /// `/admin/cards`: Additional Commands per card state.
    CardCommandsRoute => CardCommandsPage
);
lazy_page!(
    /// `/admin/gocards`: the GO Cards connection.
    ConnectionRoute => ConnectionPage
);
lazy_page!(
    /// `/admin/sync`: the batch sync.
    SyncRoute => SyncPage
);
lazy_page!(
    /// `/admin/users`: users and roles.
    UsersRoute => UsersPage
);
lazy_page!(
    /// `/admin/audit`: the audit log.
    AuditRoute => AuditPage
);
