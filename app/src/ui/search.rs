use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

use super::format::optional_time;
use super::holder::{holder_search_from_params, is_user_search, HolderResults};
use super::jobs::{MatchSource, PageCheckbox, RowCheckbox, Selection, SelectionToolbar};
use super::live::use_live;
use crate::api::{search_cards, select_all_cards};
use crate::domain::{CardState, Entity};
use crate::model::{CardSearch, CardSearchError, SearchPage as Page, Sort, SortColumn, MAX_PAGE};

/// Reads a search from the URL. An unknown status is an error the page shows.
pub fn search_from_params(params: &ParamsMap) -> Result<CardSearch, String> {
    let text = |key: &str| params.get(key).unwrap_or_default();
    let status = match params.get_str("status").unwrap_or("") {
        "" | "any" => None,
        raw => Some(raw.parse::<CardState>().map_err(|_| {
            let shown: String = raw.chars().take(40).collect();
            format!("Unknown status \"{shown}\". Choose one from the Status list.")
        })?),
    };
    Ok(CardSearch {
        status,
        first_name: text("first_name"),
        last_name: text("last_name"),
        email: text("email"),
        employee_id: text("employee_id"),
        page: params
            .get_str("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1),
        sort: Sort::from_param(params.get_str("sort").unwrap_or("")),
    })
}

/// Reads a search from the pairs of a query string, as [`search_from_params`] does: the CSV
/// download reads the same query as the page.
pub fn search_from_pairs(
    pairs: impl IntoIterator<Item = (String, String)>,
) -> Result<CardSearch, String> {
    search_from_params(&params_of(pairs))
}

/// The pairs of a query string as the router's map, as the router makes it of the page's
/// address.
pub fn params_of(pairs: impl IntoIterator<Item = (String, String)>) -> ParamsMap {
    let mut params = ParamsMap::new();
    for (key, value) in pairs {
        params.insert(key, value);
    }
    params
}

/// The address of the CSV download of every match of `search`.
pub fn export_url(search: &CardSearch) -> String {
    let query = search_url(&CardSearch {
        page: 1,
        ..search.clone()
    });
    format!(
        "{}{}",
        crate::export::CARDS_PATH,
        query.trim_start_matches("/search")
    )
}

/// The URL of a search, as the form would write it.
pub fn search_url(search: &CardSearch) -> String {
    let mut params = ParamsMap::new();
    if let Some(state) = search.status {
        params.insert("status", state.as_str().to_owned());
    }
    for (key, value) in [
        ("first_name", &search.first_name),
        ("last_name", &search.last_name),
        ("email", &search.email),
        ("employee_id", &search.employee_id),
    ] {
        if !value.is_empty() {
            params.insert(key, value.clone());
        }
    }
    if search.page > 1 {
        params.insert("page", search.page.to_string());
    }
    if search.sort != Sort::default() {
        params.insert("sort", search.sort.to_param());
    }
    format!("/search{}", params.to_query_string())
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    // "Search for": Card, or User (`for=user`), which has no Status and lists people.
    let for_user = Memo::new(move |_| query.with(is_user_search));
    let holder_search = Memo::new(move |_| query.with(holder_search_from_params));
    // The choice in the drop-down, before the form is sent: hides Status at once.
    let choosing_user = RwSignal::new(for_user.get_untracked());
    Effect::new(move |_| choosing_user.set(for_user.get()));
    let search = Memo::new(move |_| query.with(search_from_params));
    let results = Resource::new(
        move || (for_user.get(), search.get()),
        |(for_user, search)| async move {
            match search {
                // The user search has results of its own.
                _ if for_user => Ok(None),
                Ok(search) => search_cards(search)
                    .await
                    .map(Some)
                    .map_err(|e| e.to_string()),
                Err(message) => Err(message),
            }
        },
    );
    // Back after a break in the live stream: re-read the results.
    use_live().on_reload(move || results.refetch());
    let current = move || search.get().unwrap_or_default();
    // A selection survives paging and sorting; a new search clears it.
    let selection = Selection::new();
    let users_selection = Selection::new();
    let criteria = Memo::new(move |_| {
        let card = search.get().ok().map(|s| CardSearch {
            page: 1,
            sort: Sort::default(),
            ..s
        });
        let user = holder_search.get();
        let user = crate::model::HolderSearch {
            page: 1,
            sort: Default::default(),
            ..user
        };
        (for_user.get(), card, user)
    });
    Effect::watch(
        move || criteria.get(),
        move |_, _, _| {
            selection.clear();
            users_selection.clear();
        },
        false,
    );
    let sort_param = move || {
        if for_user.get() {
            holder_search.get().sort.to_param()
        } else {
            current().sort.to_param()
        }
    };

    view! {
        <Title text="Search · Card desk" />
        <section class="panel" aria-labelledby="search-title">
            <h1 id="search-title">"Search"</h1>
            <Form method="GET" action="/search">
                <div class="fields">
                    <div class="field">
                        <label for="search-for">"Search for"</label>
                        <select
                            id="search-for"
                            name="for"
                            on:change=move |ev| choosing_user.set(event_target_value(&ev) == "user")
                        >
                            <option value="card" selected=move || !for_user.get()>"Card"</option>
                            <option value="user" selected=move || for_user.get()>"User"</option>
                        </select>
                    </div>
                    <Show when=move || !choosing_user.get()>
                    <div class="field">
                        <label for="status">"Status"</label>
                        <select id="status" name="status">
                            <option value="" selected=move || current().status.is_none()>"Any"</option>
                            {CardState::ALL
                                .into_iter()
                                .map(|state| view! {
                                    <option
                                        value=state.as_str()
                                        selected=move || current().status == Some(state)
                                    >
                                        {state.label()}
                                    </option>
                                })
                                .collect_view()}
                        </select>
                    </div>
                    </Show>
                    <TextField id="first_name" label="First name" value=Signal::derive(move || current().first_name) />
                    <TextField id="last_name" label="Last name" value=Signal::derive(move || current().last_name) />
                    <TextField id="email" label="Email" value=Signal::derive(move || current().email) />
                    <TextField id="employee_id" label="Employee ID" value=Signal::derive(move || current().employee_id) />
                </div>
                <input type="hidden" name="sort" prop:value=sort_param />
                <button type="submit" class="primary">"Search"</button>
            </Form>
        </section>
        <section class="panel results" aria-label="Results">
            <Show
                when=move || !for_user.get()
                fallback=move || view! { <HolderResults search=holder_search selection=users_selection /> }
            >
                <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
                    {move || results.get().map(|result| match result {
                        Ok(Some(page)) => view! { <ResultTable page search=current() selection /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                    })}
                </Transition>
            </Show>
        </section>
    }
}

#[component]
fn TextField(id: &'static str, label: &'static str, value: Signal<String>) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id name=id type="search" maxlength="200" autocomplete="off" prop:value=value />
        </div>
    }
}

#[component]
fn ResultTable(page: Page, search: CardSearch, selection: Selection) -> impl IntoView {
    if page.rows.is_empty() {
        let message = if page.page > 1 {
            "No cards found on this page. Go back to the first page, or change the search."
        } else {
            "No cards found"
        };
        return view! { <p class="empty" role="status">{message}</p> }.into_any();
    }
    let navigate = use_navigate();
    let export_href = export_url(&search);
    let headers = SortColumn::ALL
        .into_iter()
        .map(|column| {
            let active = search.sort.column == column;
            let next = CardSearch {
                page: 1,
                sort: Sort {
                    column,
                    descending: active && !search.sort.descending,
                },
                ..search.clone()
            };
            let aria_sort = match (active, search.sort.descending) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            };
            let arrow = match (active, search.sort.descending) {
                (false, _) => "",
                (true, false) => " ▲",
                (true, true) => " ▼",
            };
            view! {
                <th scope="col" aria-sort=aria_sort>
                    <a href=search_url(&next) title=format!("Sort by {}", column.header())>
                        {column.header()}{arrow}
                    </a>
                </th>
            }
        })
        .collect_view();
    let page_ids: Vec<String> = page.rows.iter().map(|c| c.card_id.clone()).collect();
    let more_pages = page.has_next || page.page > 1;
    let source = {
        let search = search.clone();
        MatchSource::new(move || {
            let search = search.clone();
            async move { select_all_cards(search).await.map_err(|e| e.to_string()) }
        })
    };
    let live = use_live();
    let status_filter = search.status;
    let rows = page
        .rows
        .into_iter()
        .map(|card| {
            let href = format!("/cards/{}", card.card_id);
            let id = card.card_id.clone();
            let go = {
                let navigate = navigate.clone();
                let href = href.clone();
                move |_| navigate(&href, Default::default())
            };
            // The card as the newest live event has it, else as the search found it.
            let event = live.card_signal(card.card_id.clone());
            let initial_state = card.state;
            let state = move || event.with(|e| e.as_ref().map_or(initial_state, |e| e.state));
            let checked = card.last_checked_at.clone();
            let last_checked = move || {
                event.with(|e| match e {
                    Some(e) => optional_time(&e.last_checked_at),
                    None => optional_time(&checked),
                })
            };
            // Updated rows flash; two names, so that the next update flashes again.
            let updates = RwSignal::new(0_u32);
            Effect::watch(move || event.get(), move |_, _, _| updates.update(|n| *n += 1), false);
            let row_class = move || match updates.get() {
                0 => "clickable",
                n if n % 2 == 1 => "clickable updated-a",
                _ => "clickable updated-b",
            };
            // A card that no longer matches the search's status stays, marked, until the
            // next search.
            let moved_out = move || status_filter.is_some_and(|wanted| state() != wanted);
            view! {
                <tr class=row_class on:click=go>
                    <RowCheckbox selection id=id.clone() name=id />
                    <td><a href=href>{card.card_id.clone()}</a></td>
                    <td>{card.holder}</td>
                    <td>
                        <span class=move || format!("state state-{}", state().as_str())>{move || state().label()}</span>
                        {move || moved_out().then(|| view! { <span class="moved-out">" changed"</span> })}
                    </td>
                    <td>{optional_time(&card.ordered_at)}</td>
                    <td>{last_checked}</td>
                </tr>
            }
        })
        .collect_view();
    let at_page = page.page;
    let previous = CardSearch {
        page: at_page.saturating_sub(1).max(1),
        ..search.clone()
    };
    let following = CardSearch {
        page: at_page + 1,
        ..search
    };
    let nav_previous = {
        let navigate = navigate.clone();
        move |_| navigate(&search_url(&previous), Default::default())
    };
    let nav_next = move |_| navigate(&search_url(&following), Default::default());
    // The last page served: more matches exist, but only a narrower search shows them.
    let at_last_page = at_page >= MAX_PAGE;
    let no_next = !page.has_next || at_last_page;
    let narrow = (at_last_page && page.has_next).then(|| {
        view! { <p class="empty" role="status">{CardSearchError::PageTooDeep.to_string()}</p> }
    });
    view! {
        <SelectionToolbar selection entity=Entity::Card page_ids=page_ids.clone() more_pages source />
        <table>
            <thead><tr><PageCheckbox selection ids=page_ids />{headers}</tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="export">
            <a href=export_href download="" title="Download every card this search matches, not only this page, as a CSV file">
                "Export CSV"
            </a>
        </p>
        <nav class="pager" aria-label="Pages">
            <button type="button" on:click=nav_previous disabled=at_page <= 1>"Previous page"</button>
            <span class="page-no">"Page "{at_page}</span>
            <button type="button" on:click=nav_next disabled=no_next>"Next page"</button>
        </nav>
        {narrow}
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos_router::location::Url;

    fn params(pairs: &[(&'static str, &str)]) -> ParamsMap {
        let mut map = ParamsMap::new();
        for (k, v) in pairs {
            map.insert(*k, (*v).to_owned());
        }
        map
    }

    #[test]
    fn urls_round_trip() {
        let search = CardSearch {
            status: Some(CardState::InProduction),
            last_name: "Öst berg&co".into(),
            page: 3,
            sort: Sort {
                column: SortColumn::Ordered,
                descending: true,
            },
            ..Default::default()
        };
        let url = search_url(&search);
        let query = url.trim_start_matches("/search?");
        let mut map = ParamsMap::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.insert(Url::unescape(k), Url::unescape(v));
        }
        assert_eq!(search_from_params(&map), Ok(search));
    }

    #[test]
    fn the_export_address_carries_the_search_but_not_the_page() {
        let search = CardSearch {
            status: Some(CardState::Ordered),
            last_name: "Öst berg".into(),
            page: 4,
            ..Default::default()
        };
        let url = export_url(&search);
        assert!(url.starts_with("/export/cards.csv?"), "{url}");
        assert!(!url.contains("page="), "{url}");
        let query = url.trim_start_matches("/export/cards.csv?");
        let pairs = query.split('&').map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (Url::unescape(k), Url::unescape(v))
        });
        assert_eq!(
            search_from_pairs(pairs),
            Ok(CardSearch { page: 1, ..search })
        );
        assert_eq!(export_url(&CardSearch::default()), "/export/cards.csv");
    }

    #[test]
    fn unknown_status_is_a_message_not_a_crash() {
        let err = search_from_params(&params(&[("status", "<script>")]));
        assert!(err.is_err());
        let any = search_from_params(&params(&[("status", "any"), ("page", "-4")]));
        assert_eq!(any.map(|s| (s.status, s.page)), Ok((None, 1)));
    }
}
