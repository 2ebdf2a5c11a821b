use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::Login;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || {
        login
            .value()
            .get()
            .and_then(|result| result.err())
            .map(|err| view! { <p class="error" role="alert">{err.to_string()}</p> })
    };
    view! {
        <Title text="Log in · Card desk" />
        <main class="login">
            <section class="panel narrow">
                <h1>"Card desk"</h1>
                <p class="hint">"Log in to search cards and update their orders."</p>
                <ActionForm action=login>
                    <label for="username">"Username"</label>
                    <input id="username" name="username" type="text" autocomplete="username" required />
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required />
                    <button type="submit" class="primary" disabled=move || login.pending().get()>
                        "Log in"
                    </button>
                </ActionForm>
                {error}
            </section>
        </main>
    }
}
