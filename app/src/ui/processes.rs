//! The dialogs of Abort card order (on a card) and Order card (on a user): what will
//! happen, the fields, then Next or Cancel; then the outcome and Close.

use leptos::prelude::*;

use super::format::optional_time;
use crate::api::{order_card_options, AbortCardOrder, OrderCard, OrderCardError};
use crate::domain::{check_reason, OrderField, OrderForm, MAX_ORDER_FIELD_CHARS};
use crate::model::{CardDetail, OrderOptions};

/// Abort card order on `card`, seen at its version.
#[component]
pub fn AbortCardOrderDialog(
    card: CardDetail,
    on_close: impl Fn() + Clone + Send + Sync + 'static,
    on_changed: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let run = ServerAction::<AbortCardOrder>::new();
    let reason = RwSignal::new(String::new());
    let problem: RwSignal<Option<String>> = RwSignal::new(None);
    let card_id = card.card_id.clone();
    let version = card.version;
    let next = move |_| match check_reason(&reason.get_untracked()) {
        Ok(reason) => {
            problem.set(None);
            run.dispatch(AbortCardOrder {
                card_id: card_id.clone(),
                expected_version: version,
                reason,
            });
        }
        Err(err) => problem.set(Some(err.to_string())),
    };
    Effect::new(move |_| {
        if run.value().with(|v| v.is_some()) {
            on_changed();
        }
    });
    let outcome = move || {
        run.value().get().map(|result| match result {
            Ok(done) => {
                view! { <p class="outcome changed" role="status">{done.message}</p> }.into_any()
            }
            Err(err) => {
                view! { <p class="outcome error" role="alert">{err.to_string()}</p> }.into_any()
            }
        })
    };
    let finished = move || run.value().with(|v| v.is_some());
    let busy = move || run.pending().get();
    let meanwhile = super::card::changed_meanwhile(&card, move || {
        run.pending().get() || run.value().with(|v| v.is_some())
    });
    let close = on_close.clone();
    view! {
        <div class="backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="abort-title">
                <h2 id="abort-title">"Abort card order"</h2>
                <dl class="details">
                    <dt>"Card"</dt><dd>{card.card_id.clone()}</dd>
                    <dt>"Holder"</dt><dd>{format!("{} {}", card.first_name, card.last_name)}</dd>
                    <dt>"Current status"</dt><dd>{card.state.label()}</dd>
                </dl>
                <p class="explain">
                    "Next asks GO Cards to cancel this order. If GO Cards cancels it, the card becomes Aborted. "
                    "GO Cards cannot cancel a card it has already produced."
                </p>
                <div class="field">
                    <label for="abort-reason">"Reason"</label>
                    <input
                        id="abort-reason"
                        type="text"
                        required
                        maxlength=MAX_ORDER_FIELD_CHARS
                        aria-invalid=move || problem.with(|p| p.is_some()).to_string()
                        prop:value=move || reason.get()
                        on:input=move |ev| reason.set(event_target_value(&ev))
                        disabled=move || busy() || finished()
                    />
                </div>
                {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
                <Show when=busy>
                    <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Asking GO Cards…"</p>
                </Show>
                {move || meanwhile().map(|message| view! { <p class="outcome changed-meanwhile" role="alert">{message}</p> })}
                {outcome}
                <div class="buttons">
                    <Show
                        when=finished
                        fallback=move || {
                            let close = close.clone();
                            view! {
                                <button type="button" class="primary" on:click=next.clone() disabled=move || busy() || meanwhile().is_some()>"Next"</button>
                                <button type="button" on:click=move |_| close() disabled=busy>"Cancel"</button>
                            }
                        }
                    >
                        {
                            let close = on_close.clone();
                            view! { <button type="button" class="primary" on:click=move |_| close()>"Close"</button> }
                        }
                    </Show>
                </div>
            </div>
        </div>
    }
}

/// The person Order card orders for, as the dialog shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderFor {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_id: String,
}

/// Whether an outcome ends the dialog (Close), or leaves Next to try again: a lost reply,
/// bad fields, GO Cards busy or failing, the network or the database.
fn ends_dialog(result: &Result<crate::model::OrderCardResult, OrderCardError>) -> bool {
    !matches!(
        result,
        Err(OrderCardError::MayHaveBeenPlaced { .. })
            | Err(OrderCardError::BadRequest { .. })
            | Err(OrderCardError::GoCards { .. })
            | Err(OrderCardError::TooManyAttempts)
            | Err(OrderCardError::Network)
            | Err(OrderCardError::Unavailable { .. })
    )
}

/// Order card for `user`.
#[component]
pub fn OrderCardDialog(
    user: OrderFor,
    on_close: impl Fn() + Clone + Send + Sync + 'static,
    on_changed: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let user_id = user.user_id;
    let options = Resource::new(
        move || user_id,
        |id| async move { order_card_options(id).await.map_err(|e| e.to_string()) },
    );
    let name = format!("{} {}", user.first_name, user.last_name);
    view! {
        <div class="backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="order-title">
                <h2 id="order-title">"Order card"</h2>
                <dl class="details">
                    <dt>"User"</dt><dd>{name.clone()}</dd>
                    <dt>"Email"</dt><dd>{user.email.clone()}</dd>
                    <dt>"Employee ID"</dt><dd>{user.employee_id.clone()}</dd>
                </dl>
                <Suspense fallback=|| view! { <p class="loading">"Asking GO Cards for its articles…"</p> }>
                    {
                        let name = name.clone();
                        let on_close = on_close.clone();
                        let on_changed = on_changed.clone();
                        move || {
                            let name = name.clone();
                            let on_close = on_close.clone();
                            let on_changed = on_changed.clone();
                            let close = on_close.clone();
                            options.get().map(move |result| match result {
                                Ok(options) => view! {
                                    <OrderFields user_id name options on_close on_changed />
                                }.into_any(),
                                Err(message) => view! {
                                    <p class="outcome error" role="alert">{message}</p>
                                    <div class="buttons">
                                        <button type="button" class="primary" on:click=move |_| close()>"Close"</button>
                                    </div>
                                }.into_any(),
                            })
                        }
                    }
                </Suspense>
            </div>
        </div>
    }
}

#[component]
fn OrderFields(
    user_id: i64,
    name: String,
    options: OrderOptions,
    on_close: impl Fn() + Clone + Send + Sync + 'static,
    on_changed: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let run = ServerAction::<OrderCard>::new();
    let pending = options.pending.clone();
    let start = match &pending {
        Some(pending) => pending.form.clone(),
        None => OrderForm {
            article_id: options
                .articles
                .first()
                .map(|a| a.article_id.clone())
                .unwrap_or_default(),
            recipient: name,
            country_code: options.default_country.clone(),
            ..OrderForm::default()
        },
    };
    let form = RwSignal::new(start);
    // A pending order is sent as it was stored: its fields are shown, not edited. That holds
    // from the first lost reply on, too.
    let locked = RwSignal::new(pending.is_some());
    let problems: RwSignal<Vec<String>> = RwSignal::new(Vec::new());
    let can_order = options.articles_error.is_none() || pending.is_some();
    let next = move |_| {
        let current = form.get_untracked();
        let found = current.problems();
        if found.is_empty() {
            problems.set(Vec::new());
            run.dispatch(OrderCard {
                user_id,
                form: current,
            });
        } else {
            problems.set(found.iter().map(|p| p.to_string()).collect());
        }
    };
    Effect::new(move |_| {
        if run.value().with(|v| matches!(v, Some(Ok(_)))) {
            on_changed();
        }
        if run
            .value()
            .with(|v| matches!(v, Some(Err(OrderCardError::MayHaveBeenPlaced { .. }))))
        {
            locked.set(true);
        }
    });
    let busy = move || run.pending().get();
    let finished = move || run.value().with(|v| v.as_ref().is_some_and(ends_dialog));
    let outcome = move || {
        run.value().get().map(|result| match result {
            Ok(done) => {
                let href = format!("/cards/{}", done.card_id);
                view! {
                    <p class="outcome changed" role="status">
                        {done.message}" "<a href=href>"Open the card"</a>
                    </p>
                }
                .into_any()
            }
            Err(err) => {
                view! { <p class="outcome error" role="alert">{err.to_string()}</p> }.into_any()
            }
        })
    };
    let text_field = move |field: OrderField, id: &'static str| {
        let value = move || form.with(|f| f.value(field).to_owned());
        view! {
            <div class="field">
                <label for=id>{field.label()}</label>
                <input
                    id=id
                    type="text"
                    required
                    maxlength=MAX_ORDER_FIELD_CHARS
                    readonly=move || locked.get()
                    prop:value=value
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        form.update(|f| set_field(f, field, text));
                    }
                    disabled=move || busy() || finished()
                />
            </div>
        }
    };
    let article_select = {
        let articles = options.articles.clone();
        let pending_article = pending.as_ref().map(|p| p.form.article_id.clone());
        view! {
            <div class="field">
                <label for="order-article">"Article"</label>
                <select
                    id="order-article"
                    on:change=move |ev| {
                        let id = event_target_value(&ev);
                        form.update(|f| f.article_id = id);
                    }
                    disabled=move || locked.get() || busy() || finished() || !can_order
                >
                    {articles
                        .into_iter()
                        .map(|a| {
                            let selected = form.with_untracked(|f| f.article_id == a.article_id);
                            view! { <option value=a.article_id.clone() selected=selected>{a.name}</option> }
                        })
                        .collect_view()}
                    {pending_article
                        .filter(|id| !options.articles.iter().any(|a| &a.article_id == id))
                        .map(|id| { let label = id.clone(); view! { <option value=id selected=true>{label}</option> } })}
                </select>
            </div>
        }
    };
    let close = on_close.clone();
    view! {
        {options.articles_error.clone().filter(|_| pending.is_none()).map(|message| view! {
            <p class="outcome error" role="alert">{message}</p>
        })}
        {pending.map(|p| view! {
            <p class="explain pending" role="note">
                {format!(
                    "An order placed {} by {} got no answer from GO Cards. Next sends that same order again, so nothing is ordered twice.",
                    optional_time(&Some(p.created_at)),
                    p.created_by
                )}
            </p>
        })}
        <div class="order-fields">
            {article_select}
            {text_field(OrderField::Recipient, "order-recipient")}
            {text_field(OrderField::Address, "order-address")}
            {text_field(OrderField::PostalCode, "order-postal-code")}
            {text_field(OrderField::City, "order-city")}
            {text_field(OrderField::Country, "order-country")}
        </div>
        {move || {
            let found = problems.get();
            (!found.is_empty()).then(|| view! {
                <ul class="error" role="alert">
                    {found.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
                </ul>
            })
        }}
        <Show when=busy>
            <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Ordering from GO Cards…"</p>
        </Show>
        {outcome}
        <div class="buttons">
            <Show
                when=finished
                fallback=move || {
                    let close = close.clone();
                    view! {
                        <button type="button" class="primary" on:click=next disabled=move || busy() || !can_order>"Next"</button>
                        <button type="button" on:click=move |_| close() disabled=busy>"Cancel"</button>
                    }
                }
            >
                {
                    let close = on_close.clone();
                    view! { <button type="button" class="primary" on:click=move |_| close()>"Close"</button> }
                }
            </Show>
        </div>
    }
}

pub(crate) fn set_field(form: &mut OrderForm, field: OrderField, text: String) {
    match field {
        OrderField::Article => form.article_id = text,
        OrderField::Recipient => form.recipient = text,
        OrderField::Address => form.address_one = text,
        OrderField::PostalCode => form.postal_code = text,
        OrderField::City => form.city = text,
        OrderField::Country => form.country_code = text,
    }
}
