use leptos::prelude::*;

use crate::api::whoami;

/// The page chrome: the app name, the demo badge, the tabs, who is logged in, Log out.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let me = OnceResource::new(whoami());
    view! {
        <header class="topbar">
            <a class="brand" href="/search">"Card desk"</a>
            <nav aria-label="Main">
                <a href="/search" class="tab">"SEARCH"</a>
            </nav>
            <Suspense fallback=|| ()>
                {move || me.get().map(|me| match me {
                    Ok(me) => {
                        let demo = me.demo_mode.then(|| view! {
                            <span class="badge demo" title="GO Cards is the built-in simulator">
                                "Demo: simulated GO Cards"
                            </span>
                        });
                        let user = me.user.map(|user| view! {
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
