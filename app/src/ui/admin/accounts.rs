//! Accounts: the desk's own operators and admins. List, add, enable or disable, promote or
//! demote, reset a password. ("User" elsewhere means a person who holds cards.)

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{admin_users, AddUser, ResetUserPassword, SetUserEnabled, SetUserRole};
use crate::model::{NewUser, PasswordReset, Role, UserSummary};
use crate::ui::table::DataTable;

/// What the last action said: a confirmation or a refusal.
type Notice = Option<Result<String, String>>;

#[component]
pub fn AccountsPage() -> impl IntoView {
    let add = ServerAction::<AddUser>::new();
    let enable = ServerAction::<SetUserEnabled>::new();
    let role = ServerAction::<SetUserRole>::new();
    let reset = ServerAction::<ResetUserPassword>::new();
    let users = Resource::new(
        move || {
            (
                add.version().get(),
                enable.version().get(),
                role.version().get(),
                reset.version().get(),
            )
        },
        |_| async { admin_users().await.map_err(|e| e.to_string()) },
    );
    let notice: RwSignal<Notice> = RwSignal::new(None);

    Effect::new(move |_| {
        if let Some(result) = add.value().get() {
            notice.set(Some(
                result
                    .map(|u| format!("Added {} {}. They can log in now.", u.role, u.username))
                    .map_err(|e| e.to_string()),
            ));
        }
    });
    Effect::new(move |_| {
        if let Some(result) = enable.value().get() {
            notice.set(Some(
                result
                    .map(|u| {
                        if u.enabled {
                            format!("Enabled {}.", u.username)
                        } else {
                            format!("Disabled {}. Their sessions have ended.", u.username)
                        }
                    })
                    .map_err(|e| e.to_string()),
            ));
        }
    });
    Effect::new(move |_| {
        if let Some(result) = role.value().get() {
            notice.set(Some(
                result
                    .map(|u| format!("{} is now an {}.", u.username, u.role))
                    .map_err(|e| e.to_string()),
            ));
        }
    });
    Effect::new(move |_| {
        if let Some(result) = reset.value().get() {
            let who = reset
                .input()
                .get()
                .map(|r| r.reset.username)
                .unwrap_or_default();
            notice.set(Some(
                result
                    .map(|()| format!("Set a new password for {who}. Their sessions have ended."))
                    .map_err(|e| e.to_string()),
            ));
        }
    });

    let shown_notice = move || {
        notice.get().map(|n| match n {
            Ok(message) => view! { <p class="saved" role="status">{message}</p> }.into_any(),
            Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
        })
    };

    view! {
        <Title text="Accounts · Settings · Card desk" />
        <section class="panel" aria-labelledby="users-title">
            <h1 id="users-title">"Accounts"</h1>
            {shown_notice}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || users.get().map(|result| match result {
                    Ok(list) => view! { <UserTable list enable role reset /> }.into_any(),
                    Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                })}
            </Transition>
        </section>
        <section class="panel" aria-labelledby="add-user-title">
            <h2 id="add-user-title">"Add a user"</h2>
            <AddUserForm add />
        </section>
    }
}

#[component]
fn UserTable(
    list: Vec<UserSummary>,
    enable: ServerAction<SetUserEnabled>,
    role: ServerAction<SetUserRole>,
    reset: ServerAction<ResetUserPassword>,
) -> impl IntoView {
    let resetting: RwSignal<Option<String>> = RwSignal::new(None);
    let rows = list
        .into_iter()
        .map(|user| view! { <UserRow user enable role reset resetting /> })
        .collect_view();
    view! {
        <DataTable
            class="users"
            columns=&["Username", "Role", "Status", "Actions"]
            rows=rows.into_any()
        />
    }
}

#[component]
fn UserRow(
    user: UserSummary,
    enable: ServerAction<SetUserEnabled>,
    role: ServerAction<SetUserRole>,
    reset: ServerAction<ResetUserPassword>,
    resetting: RwSignal<Option<String>>,
) -> impl IntoView {
    let name = user.username.clone();
    let toggle = {
        let name = name.clone();
        move |_| {
            enable.dispatch(SetUserEnabled {
                username: name.clone(),
                enabled: !user.enabled,
            });
        }
    };
    let other_role = if user.role.is_admin() {
        Role::Operator
    } else {
        Role::Admin
    };
    let switch_role = {
        let name = name.clone();
        move |_| {
            role.dispatch(SetUserRole {
                username: name.clone(),
                role: other_role,
            });
        }
    };
    let is_resetting = {
        let name = name.clone();
        move || resetting.with(|r| r.as_deref() == Some(name.as_str()))
    };
    let open_reset = {
        let name = name.clone();
        move |_| resetting.set(Some(name.clone()))
    };
    let status = if user.enabled { "Enabled" } else { "Disabled" };
    view! {
        <tr>
            <td>{name.clone()}</td>
            <td>{user.role.as_str()}</td>
            <td><span class=if user.enabled { "state state-active" } else { "state state-locked" }>{status}</span></td>
            <td><div class="actions">
                <button type="button" on:click=toggle disabled=move || enable.pending().get()>
                    {if user.enabled { "Disable" } else { "Enable" }}
                </button>
                <button type="button" on:click=switch_role disabled=move || role.pending().get()>
                    {if user.role.is_admin() { "Make operator" } else { "Make admin" }}
                </button>
                <Show
                    when=is_resetting.clone()
                    fallback=move || view! { <button type="button" on:click=open_reset.clone()>"Reset password"</button> }
                >
                    <ResetForm username=name.clone() reset resetting />
                </Show>
            </div></td>
        </tr>
    }
}

#[component]
fn ResetForm(
    username: String,
    reset: ServerAction<ResetUserPassword>,
    resetting: RwSignal<Option<String>>,
) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let id = format!("new-password-{username}");
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        reset.dispatch(ResetUserPassword {
            reset: PasswordReset {
                username: username.clone(),
                password: password.get_untracked(),
            },
        });
        resetting.set(None);
    };
    view! {
        <form class="inline-form" on:submit=on_submit>
            <label for=id.clone()>"New password"</label>
            <input
                id=id
                type="password"
                autocomplete="new-password"
                prop:value=move || password.get()
                on:input=move |ev| password.set(event_target_value(&ev))
            />
            <button type="submit" class="primary">"Set password"</button>
            <button type="button" on:click=move |_| resetting.set(None)>"Cancel"</button>
        </form>
    }
}

#[component]
fn AddUserForm(add: ServerAction<AddUser>) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Operator);
    Effect::new(move |_| {
        if matches!(add.value().get(), Some(Ok(_))) {
            username.set(String::new());
            password.set(String::new());
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        add.dispatch(AddUser {
            user: NewUser {
                username: username.get_untracked().trim().to_owned(),
                password: password.get_untracked(),
                role: role.get_untracked(),
            },
        });
    };
    view! {
        <form class="fields add-user" on:submit=on_submit>
            <div class="field">
                <label for="new-username">"Username"</label>
                <input
                    id="new-username"
                    type="text"
                    autocomplete="off"
                    maxlength="64"
                    prop:value=move || username.get()
                    on:input=move |ev| username.set(event_target_value(&ev))
                />
            </div>
            <div class="field">
                <label for="new-user-password">"Initial password"</label>
                <input
                    id="new-user-password"
                    type="password"
                    autocomplete="new-password"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))
                />
            </div>
            <div class="field">
                <label for="new-user-role">"Role"</label>
                <select
                    id="new-user-role"
                    on:change=move |ev| {
                        role.set(if event_target_value(&ev) == "admin" { Role::Admin } else { Role::Operator })
                    }
                >
                    <option value="operator" selected=true>"Operator"</option>
                    <option value="admin">"Admin"</option>
                </select>
            </div>
            <div class="field end">
                <button type="submit" class="primary" disabled=move || add.pending().get()>"Add user"</button>
            </div>
        </form>
        <p class="hint">"Usernames are 1 to 64 letters, digits, '.', '-', '_' or '@'. Passwords have at least 8 characters."</p>
    }
}
