//! The tables of the desk: a header row of column names over the rows a page renders.

use leptos::prelude::*;

/// `rows` (the `<tr>`s) under a header of `columns`, each a `<th scope="col">`.
#[component]
pub fn DataTable(
    /// The table's class, for its column widths.
    class: &'static str,
    columns: &'static [&'static str],
    rows: AnyView,
) -> impl IntoView {
    let header = columns
        .iter()
        .map(|column| view! { <th scope="col">{*column}</th> })
        .collect_view();
    view! {
        <table class=class>
            <thead>
                <tr>{header}</tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
