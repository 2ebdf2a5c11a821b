use leptos::prelude::*;

use leptos_router::hooks::use_location;

use crate::api::whoami;

/// The page chrome: the app name, the demo badge, the tabs, who is logged in, Log out.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let me = OnceResource::new(whoami());
    let location = use_location();
    // `try_with` and `try_get`: a page whose render is abandoned (its reply already sent,
    // say, when the database is down) may still resolve a Suspense below after its owner,
    // and so `location` and `me`, are gone.
    let on = move |prefixes: &[&str]| {
        location
            .pathname
            .try_with(|path| prefixes.iter().any(|p| path.starts_with(p)))
            .unwrap_or(false)
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/search">"Card desk"</a>
            <nav aria-label="Main">
                <a href="/search" class="tab" aria-current=move || on(&["/search", "/cards"]).then_some("page")>
                    "SEARCH"
                </a>
                <a href="/jobs" class="tab" aria-current=move || on(&["/jobs"]).then_some("page")>
                    "JOBS"
                </a>
                <Suspense fallback=|| ()>
                    {move || {
                        let is_admin = me.try_get().flatten().and_then(|me| me.ok()).and_then(|me| me.user).is_some_and(|u| u.role.is_admin());
                        is_admin.then(|| view! {
                            <a href="/admin" class="tab" aria-current=move || on(&["/admin"]).then_some("page")>"ADMIN"</a>
                        })
                    }}
                </Suspense>
            </nav>
            <Suspense fallback=|| ()>
                {move || me.try_get().flatten().map(|me| match me {
                    Ok(me) => {
                        let demo = me.demo_mode.then(|| view! {
                            <span class="badge demo" title="GO Cards is the built-in simulator">
                                "Demo: simulated GO Cards"
                            </span>
                        });
                        let user = me.user.map(|user| view! {
                            <super::live::LiveIndicator />
                            <span class="who">{user.username}" ("{user.role.as_str()}")"</span>
                            <form method="post" action="/logout" class="logout">
                                <button type="submit">"Log out"</button>
                            </form>
                        });
                        view! { {demo} {user} }.into_any()
                    }
                    Err(_) => ().into_any(),
                })}
            </Suspense>
        </header>
        <main>{children()}</main>
    }
}
