//! The "User" half of the search (`/search?for=user`) and the user's profile
//! (`/users/{user_id}`). Users here are card holders, not the desk's accounts.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::params::ParamsMap;

use super::format::optional_time;
use crate::api::{search_users, user_profile, UserProfileError};
use crate::domain::Process;
use crate::model::{
    HolderDetail, HolderSearch, HolderSearchError, HolderSearchPage, HolderSort, HolderSortColumn,
    MAX_PAGE,
};
use crate::ui::processes::{OrderCardDialog, OrderFor};
use crate::ui::table::DataTable;

/// The value of `for` that selects the user search.
pub const FOR_USER: &str = "user";

/// Whether the URL asks for the user search (`for=user`).
pub fn is_user_search(params: &ParamsMap) -> bool {
    params.get_str("for") == Some(FOR_USER)
}

/// Reads a user search from the URL (`for=user`, the text fields, `page`, `sort`).
pub fn holder_search_from_params(params: &ParamsMap) -> HolderSearch {
    let text = |key: &str| params.get(key).unwrap_or_default();
    HolderSearch {
        first_name: text("first_name"),
        last_name: text("last_name"),
        email: text("email"),
        employee_id: text("employee_id"),
        page: params
            .get_str("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1),
        sort: HolderSort::from_param(params.get_str("sort").unwrap_or("")),
    }
}

/// Reads a user search from the pairs of a query string, as [`holder_search_from_params`]
/// does (the CSV download reads the same query as the page).
pub fn holder_search_from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> HolderSearch {
    holder_search_from_params(&super::search::params_of(pairs))
}

/// The address of the CSV download of every user matching `search`.
pub fn holder_export_url(search: &HolderSearch) -> String {
    let query = holder_search_url(&HolderSearch {
        page: 1,
        ..search.clone()
    });
    format!(
        "{}{}",
        crate::export::USERS_PATH,
        query.trim_start_matches("/search")
    )
}

/// The URL of a user search, as the form would write it.
pub fn holder_search_url(search: &HolderSearch) -> String {
    let mut params = ParamsMap::new();
    params.insert("for", FOR_USER.to_owned());
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
    if search.sort != HolderSort::default() {
        params.insert("sort", search.sort.to_param());
    }
    format!("/search{}", params.to_query_string())
}

/// The user list for `search`: fetched, then shown as a table.
#[component]
pub fn HolderResults(
    search: Memo<HolderSearch>,
    selection: super::jobs::Selection,
) -> impl IntoView {
    let results = Resource::new(
        move || search.get(),
        |search| async move { search_users(search).await.map_err(|e| e.to_string()) },
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || results.get().map(|result| match result {
                Ok(page) => view! { <HolderTable page search=search.get() selection /> }.into_any(),
                Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn HolderTable(
    page: HolderSearchPage,
    search: HolderSearch,
    selection: super::jobs::Selection,
) -> impl IntoView {
    use super::jobs::{MatchSource, PageCheckbox, RowCheckbox, SelectionToolbar};
    if page.rows.is_empty() {
        let message = if page.page > 1 {
            "No users found on this page. Go back to the first page, or change the search."
        } else {
            "No users found"
        };
        return view! { <p class="empty" role="status">{message}</p> }.into_any();
    }
    let navigate = use_navigate();
    let export_href = holder_export_url(&search);
    let sortable = HolderSortColumn::ALL
        .into_iter()
        .map(|column| {
            let active = search.sort.column == column;
            let next = HolderSearch {
                page: 1,
                sort: HolderSort {
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
                    <a href=holder_search_url(&next) title=format!("Sort by {}", column.header())>
                        {column.header()}{arrow}
                    </a>
                </th>
            }
        })
        .collect_view();
    let page_ids: Vec<String> = page.rows.iter().map(|h| h.holder_id.to_string()).collect();
    let more_pages = page.has_next || page.page > 1;
    let source = {
        let search = search.clone();
        MatchSource::new(move || {
            let search = search.clone();
            async move {
                crate::api::select_all_users(search)
                    .await
                    .map(|ids| ids.into_iter().map(|id| id.to_string()).collect())
                    .map_err(|e| e.to_string())
            }
        })
    };
    let rows = page
        .rows
        .into_iter()
        .map(|holder| {
            let href = format!("/users/{}", holder.holder_id);
            let id = holder.holder_id.to_string();
            let go = {
                let navigate = navigate.clone();
                let href = href.clone();
                move |_| navigate(&href, Default::default())
            };
            let cards = holder.cards_text();
            view! {
                <tr class="clickable" on:click=go>
                    <RowCheckbox selection id name=holder.name() />
                    <td><a href=href>{holder.name()}</a></td>
                    <td>{holder.email}</td>
                    <td>{holder.employee_id}</td>
                    <td>{cards}</td>
                </tr>
            }
        })
        .collect_view();
    let at_page = page.page;
    let previous = HolderSearch {
        page: at_page.saturating_sub(1).max(1),
        ..search.clone()
    };
    let following = HolderSearch {
        page: at_page + 1,
        ..search
    };
    let nav_previous = {
        let navigate = navigate.clone();
        move |_| navigate(&holder_search_url(&previous), Default::default())
    };
    let nav_next = move |_| navigate(&holder_search_url(&following), Default::default());
    let at_last_page = at_page >= MAX_PAGE;
    let no_next = !page.has_next || at_last_page;
    let narrow = (at_last_page && page.has_next).then(|| {
        view! { <p class="empty" role="status">{HolderSearchError::PageTooDeep.to_string()}</p> }
    });
    view! {
        <SelectionToolbar selection entity=crate::domain::Entity::User page_ids=page_ids.clone() more_pages source />
        <table class="users">
            <thead><tr><PageCheckbox selection ids=page_ids />{sortable}<th scope="col">"Cards"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="export">
            <a href=export_href download="" title="Download every user this search matches, not only this page, as a CSV file">
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

/// `/users/:user_id`: the user's details and cards.
#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let raw_id = Memo::new(move |_| params.with(|p| p.get("user_id").unwrap_or_default()));
    let profile = Resource::new(
        move || raw_id.get(),
        |raw| async move {
            match raw.parse::<i64>() {
                Ok(id) => user_profile(id).await.map_err(|e| {
                    let not_found = matches!(e, UserProfileError::NotFound { .. });
                    (not_found, e.to_string())
                }),
                Err(_) => Err((true, not_a_user(&raw))),
            }
        },
    );
    // The process dialog lives outside the profile, so that refreshing the profile behind it
    // (to show the new card) does not close it.
    let order_for: RwSignal<Option<OrderFor>> = RwSignal::new(None);
    view! {
        <Title text="User · Card desk" />
        <p class="back"><a href="/search?for=user">"← Back to the search"</a></p>
        <Transition fallback=|| view! { <p class="loading">"Loading the user…"</p> }>
            {move || profile.get().map(|result| match result {
                Ok(user) => view! { <UserProfile user order_for /> }.into_any(),
                Err((not_found, message)) => view! { <UserNotFound not_found message /> }.into_any(),
            })}
        </Transition>
        {move || order_for.get().map(|user| view! {
            <OrderCardDialog
                user
                on_close=move || order_for.set(None)
                on_changed=move || profile.refetch()
            />
        })}
    }
}

/// The message for an address whose id is not a number: no user can have it.
fn not_a_user(raw: &str) -> String {
    let shown: String = raw.chars().take(40).collect();
    format!("No user {shown} exists. Check the address, or search again.")
}

#[component]
fn UserNotFound(not_found: bool, message: String) -> impl IntoView {
    // An unknown user is a 404 page, as an unknown address is (the route renders whole
    // before it answers, so the status can still be set).
    #[cfg(feature = "ssr")]
    if not_found {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    let title = if not_found {
        "User not found"
    } else {
        "The user could not be shown"
    };
    view! {
        <section class="panel" aria-labelledby="user-title">
            <h1 id="user-title">{title}</h1>
            <p class="error" role="alert">{message}</p>
            <p><a href="/search?for=user">"Search for a user"</a></p>
        </section>
    }
}

#[component]
fn UserProfile(user: HolderDetail, order_for: RwSignal<Option<OrderFor>>) -> impl IntoView {
    let name = user.name();
    let target = OrderFor {
        user_id: user.holder_id,
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        email: user.email.clone(),
        employee_id: user.employee_id.clone(),
    };
    let commands = user
        .commands
        .iter()
        .map(|&process| {
            let target = target.clone();
            view! {
                <li>
                    <button type="button" class="command" on:click=move |_| {
                        if process == Process::OrderCard {
                            order_for.set(Some(target.clone()));
                        }
                    }>
                        {process.label()}
                    </button>
                </li>
            }
        })
        .collect_view();
    let no_commands = user.commands.is_empty().then(|| {
        view! {
            <p class="hint">"No commands are enabled for users."</p>
        }
    });
    let rows = user
        .cards
        .iter()
        .map(|card| {
            view! {
                <tr>
                    <td><a href=format!("/cards/{}", card.card_id)>{card.card_id.clone()}</a></td>
                    <td><span class=format!("state state-{}", card.state.as_str())>{card.state.label()}</span></td>
                    <td>{optional_time(&card.ordered_at)}</td>
                </tr>
            }
        })
        .collect_view();
    let cards = if user.cards.is_empty() {
        view! { <p class="hint">"This user holds no cards yet."</p> }.into_any()
    } else {
        view! {
            <DataTable class="user-cards" columns=&["Card ID", "Status", "Ordered"] rows=rows.into_any() />
        }
        .into_any()
    };
    view! {
        <Title text=format!("{name} · Card desk") />
        <div class="profile">
            <section class="panel" aria-labelledby="user-title">
                <h1 id="user-title">{name.clone()}</h1>
                <dl class="details">
                    <dt>"First name"</dt><dd>{user.first_name.clone()}</dd>
                    <dt>"Last name"</dt><dd>{user.last_name.clone()}</dd>
                    <dt>"Email"</dt><dd>{dash(&user.email)}</dd>
                    <dt>"Employee ID"</dt><dd>{dash(&user.employee_id)}</dd>
                </dl>
            </section>
            <aside class="panel actions" aria-labelledby="todo-title">
                <h2 id="todo-title">"What do you want to do?"</h2>
                <ul class="commands">{commands}</ul>
                {no_commands}
            </aside>
        </div>
        <section class="panel" aria-labelledby="user-cards-title">
            <h2 id="user-cards-title">"Cards"</h2>
            {cards}
        </section>
    }
}

fn dash(value: &str) -> String {
    if value.is_empty() {
        "—".to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos_router::location::Url;

    fn parse(url: &str) -> ParamsMap {
        let query = url.trim_start_matches("/search?");
        let mut map = ParamsMap::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.insert(Url::unescape(k), Url::unescape(v));
        }
        map
    }

    #[test]
    fn urls_round_trip_and_keep_the_choice() {
        let search = HolderSearch {
            last_name: "Öst berg&co".into(),
            email: "a@b".into(),
            page: 3,
            sort: HolderSort {
                column: HolderSortColumn::EmployeeId,
                descending: true,
            },
            ..Default::default()
        };
        let url = holder_search_url(&search);
        assert!(url.contains("for=user"), "{url}");
        let params = parse(&url);
        assert!(is_user_search(&params));
        assert_eq!(holder_search_from_params(&params), search);
    }

    #[test]
    fn a_card_sort_or_a_bad_page_falls_back() {
        let params = parse("/search?for=user&sort=-ordered&page=-2");
        let search = holder_search_from_params(&params);
        assert_eq!((search.sort, search.page), (HolderSort::default(), 1));
        assert!(!is_user_search(&parse("/search?for=card")));
    }

    #[test]
    fn a_non_numeric_id_is_not_found() {
        assert!(not_a_user("abc").starts_with("No user abc exists"));
    }
}
