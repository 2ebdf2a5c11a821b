//! GO Cards connection: the five settings, "Test connection" and "Save". The client secret
//! is write-only: the form shows whether one is stored, never the secret.

use leptos::prelude::*;
use leptos_meta::Title;

use super::unsaved::{Unsaved, UnsavedNote};
use crate::api::{
    gocards_connection, SaveConnectionError, SaveGocardsConnection, TestConnectionError,
    TestGocardsConnection,
};
use crate::model::{
    ConnectionField, ConnectionSettingsInput, ConnectionSettingsView, FieldError, SecretStatus,
};

#[component]
pub fn ConnectionPage() -> impl IntoView {
    let loaded = Resource::new(
        || (),
        |_| async { gocards_connection().await.map_err(|e| e.to_string()) },
    );
    view! {
        <Title text="GO Cards connection · Settings · Card desk" />
        <section class="panel" aria-labelledby="connection-title">
            <h1 id="connection-title">"GO Cards connection"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || loaded.get().map(|result| match result {
                    Ok(settings) => view! { <ConnectionForm settings /> }.into_any(),
                    Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The form's editable values.
#[derive(Clone, Copy)]
struct Fields {
    base_url: RwSignal<String>,
    client_id: RwSignal<String>,
    client_secret: RwSignal<String>,
    organisation_id: RwSignal<String>,
    timeout_ms: RwSignal<String>,
}

impl Fields {
    fn new(settings: &ConnectionSettingsView) -> Fields {
        Fields {
            base_url: RwSignal::new(settings.base_url.value.clone()),
            client_id: RwSignal::new(settings.client_id.value.clone()),
            client_secret: RwSignal::new(String::new()),
            organisation_id: RwSignal::new(settings.organisation_id.value.clone()),
            timeout_ms: RwSignal::new(settings.timeout_ms.value.clone()),
        }
    }

    fn reset(self, settings: &ConnectionSettingsView) {
        self.base_url.set(settings.base_url.value.clone());
        self.client_id.set(settings.client_id.value.clone());
        self.client_secret.set(String::new());
        self.organisation_id
            .set(settings.organisation_id.value.clone());
        self.timeout_ms.set(settings.timeout_ms.value.clone());
    }

    fn input(self) -> ConnectionSettingsInput {
        ConnectionSettingsInput {
            base_url: self.base_url.get_untracked(),
            client_id: self.client_id.get_untracked(),
            client_secret: self.client_secret.get_untracked(),
            organisation_id: self.organisation_id.get_untracked(),
            timeout_ms: self.timeout_ms.get_untracked(),
        }
    }

    fn differs_from(self, settings: &ConnectionSettingsView) -> bool {
        self.base_url.with(|v| *v != settings.base_url.value)
            || self.client_id.with(|v| *v != settings.client_id.value)
            || self.client_secret.with(|v| !v.is_empty())
            || self
                .organisation_id
                .with(|v| *v != settings.organisation_id.value)
            || self.timeout_ms.with(|v| *v != settings.timeout_ms.value)
    }
}

#[component]
fn ConnectionForm(settings: ConnectionSettingsView) -> impl IntoView {
    let current = RwSignal::new(settings.clone());
    let fields = Fields::new(&settings);
    let errors: RwSignal<Vec<FieldError>> = RwSignal::new(Vec::new());
    let save = ServerAction::<SaveGocardsConnection>::new();
    let test = ServerAction::<TestGocardsConnection>::new();
    Unsaved::expect().track(move || current.with(|c| fields.differs_from(c)));

    Effect::new(move |_| match save.value().get() {
        Some(Ok(report)) => {
            fields.reset(&report.settings);
            current.set(report.settings);
            errors.set(Vec::new());
        }
        Some(Err(SaveConnectionError::Invalid { errors: refused })) => errors.set(refused),
        _ => {}
    });
    Effect::new(move |_| {
        if let Some(Err(TestConnectionError::Invalid { errors: refused })) = test.value().get() {
            errors.set(refused);
        }
    });

    let from_env = move |field: ConnectionField| {
        Signal::derive(move || {
            current.with(|c| match field {
                ConnectionField::BaseUrl => c.base_url.from_env,
                ConnectionField::ClientId => c.client_id.from_env,
                ConnectionField::ClientSecret => c.client_secret == SecretStatus::FromEnv,
                ConnectionField::OrganisationId => c.organisation_id.from_env,
                ConnectionField::TimeoutMs => c.timeout_ms.from_env,
            })
        })
    };
    let secret_placeholder = Signal::derive(move || {
        match current.with(|c| c.client_secret) {
            SecretStatus::Stored => "•••••••• (stored)",
            SecretStatus::FromEnv => "•••••••• (set by environment)",
            SecretStatus::Unreadable => "stored secret unreadable: enter it again",
            SecretStatus::NotSet => "not set",
        }
        .to_owned()
    });
    let timeout_placeholder =
        Signal::derive(move || format!("{} (default)", current.with(|c| c.default_timeout_ms)));
    let mode = move || {
        current.with(|c| {
            if c.demo_mode {
                "Demo mode: the app uses the built-in GO Cards simulator. Enter a base URL and the credentials, then save, to use GO Cards.".to_owned()
            } else {
                format!("The app uses GO Cards at {}.", c.base_url.value)
            }
        })
    };
    let busy = move || save.pending().get() || test.pending().get();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.set(Vec::new());
        save.dispatch(SaveGocardsConnection {
            settings: fields.input(),
        });
    };
    let on_test = move |_| {
        errors.set(Vec::new());
        test.dispatch(TestGocardsConnection {
            settings: fields.input(),
        });
    };
    let save_result = move || {
        save.value().get().map(|result| match result {
            Ok(report) => {
                let class = if report.restart_needed { "saved warn" } else { "saved" };
                view! { <p class=class role="status" data-testid="save-result">{report.message}</p> }
                    .into_any()
            }
            Err(err) => view! { <p class="error" role="alert" data-testid="save-result">{err.to_string()}</p> }
                .into_any(),
        })
    };
    let test_result = move || {
        test.value().get().map(|result| match result {
            Ok(report) if report.ok => view! {
                <p class="outcome changed" role="status" data-testid="test-result">{report.message}</p>
            }
            .into_any(),
            Ok(report) => view! {
                <p class="outcome error" role="alert" data-testid="test-result">{report.message}</p>
            }
            .into_any(),
            Err(err) => view! {
                <p class="outcome error" role="alert" data-testid="test-result">{err.to_string()}</p>
            }
            .into_any(),
        })
    };

    view! {
        <p class="mode">{mode}</p>
        <form class="settings-form" on:submit=on_submit novalidate>
            <SettingInput field=ConnectionField::BaseUrl value=fields.base_url from_env=from_env(ConnectionField::BaseUrl) errors kind="url" />
            <SettingInput field=ConnectionField::ClientId value=fields.client_id from_env=from_env(ConnectionField::ClientId) errors />
            <SettingInput
                field=ConnectionField::ClientSecret
                value=fields.client_secret
                from_env=from_env(ConnectionField::ClientSecret)
                errors
                kind="password"
                placeholder=secret_placeholder
                hint="Write-only. Leave empty to keep the stored secret."
            />
            <SettingInput field=ConnectionField::OrganisationId value=fields.organisation_id from_env=from_env(ConnectionField::OrganisationId) errors />
            <SettingInput
                field=ConnectionField::TimeoutMs
                value=fields.timeout_ms
                from_env=from_env(ConnectionField::TimeoutMs)
                errors
                kind="text"
                placeholder=timeout_placeholder
                hint="From 100 to 120000 ms."
            />
            <div class="row-buttons">
                <button type="button" on:click=on_test disabled=busy>"Test connection"</button>
                <button type="submit" class="primary" disabled=busy>"Save"</button>
                <UnsavedNote when=Signal::derive(move || current.with(|c| fields.differs_from(c))) />
            </div>
        </form>
        <Show when=move || test.pending().get()>
            <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Testing the connection…"</p>
        </Show>
        {test_result}
        {save_result}
    }
}

/// One labelled field, read-only and marked when an env var sets it, with its message.
#[component]
fn SettingInput(
    field: ConnectionField,
    value: RwSignal<String>,
    from_env: Signal<bool>,
    errors: RwSignal<Vec<FieldError>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(into, optional)] placeholder: Signal<String>,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    let id = format!("setting-{}", field.as_str());
    let error_id = format!("{id}-error");
    let note_id = format!("{id}-note");
    let message = move || {
        errors.with(|all| {
            all.iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone())
        })
    };
    let described = {
        let (error_id, note_id) = (error_id.clone(), note_id.clone());
        move || {
            let mut ids = vec![note_id.clone()];
            if message().is_some() {
                ids.push(error_id.clone());
            }
            ids.join(" ")
        }
    };
    let autocomplete = if kind == "password" {
        "new-password"
    } else {
        "off"
    };
    view! {
        <div class="setting">
            <label for=id.clone()>{field.label()}</label>
            <input
                id=id
                type=kind
                autocomplete=autocomplete
                spellcheck="false"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                placeholder=move || placeholder.get()
                readonly=move || from_env.get()
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=described
            />
            <p class="setting-note" id=note_id>
                <Show when=move || from_env.get() fallback=move || hint>
                    <span class="env-mark">"set by environment"</span>
                    {format!(" ({})", field.env_var())}
                </Show>
            </p>
            {move || message().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}
