//! The admin audit log: every settings change and every export, newest first; "Export CSV"
//! downloads all of it.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::admin_audit_log;
use crate::model::AuditEntry;
use crate::ui::format::short_time;
use crate::ui::table::DataTable;

#[component]
pub fn AuditPage() -> impl IntoView {
    let log = Resource::new(
        || (),
        |_| async { admin_audit_log().await.map_err(|e| e.to_string()) },
    );
    view! {
        <Title text="Audit log · Settings · Card desk" />
        <section class="panel" aria-labelledby="audit-title">
            <h1 id="audit-title">"Audit log"</h1>
            <p class="hint">"Every change to the settings, and every export: who, what and when, newest first. Secrets are never shown."</p>
            <p class="export">
                <a href=crate::export::AUDIT_PATH download="" title="Download the whole audit log as a CSV file">
                    "Export CSV"
                </a>
            </p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || log.get().map(|result| match result {
                    Ok(entries) => view! { <AuditTable entries /> }.into_any(),
                    Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AuditTable(entries: Vec<AuditEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="empty">"No settings have been changed yet."</p> }.into_any();
    }
    let rows = entries
        .into_iter()
        .map(|entry| {
            view! {
                <tr>
                    <td>{short_time(&entry.at)}</td>
                    <td>{entry.actor}</td>
                    <td>{entry.action}</td>
                    <td>{entry.detail}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable
            class="audit"
            columns=&["When", "Who", "What", "Details"]
            rows=rows.into_any()
        />
    }
    .into_any()
}
