//! "Order card" end to end through its server functions, against the simulator: success,
//! each row of the error table, validation, an open order, not enabled; lost replies retried
//! with the same key; and twenty concurrent calls for one user.

use std::sync::Arc;

use testkit as common;

use app::api::{OrderCard, OrderCardOptions};
use backend::db::cards::NewCard;
use backend::db::orders::PendingOrder;
use backend::services::order_card::{ORDER_CONFLICT, ORDER_MAY_HAVE_BEEN_PLACED};
use common::app::{spawn, TestApp, OPERATOR};
use common::db::TestDb;
use desk_core::domain::{CardState, CommandList, OrderForm, Process};
use desk_core::model::{HistoryKind, HistorySource};
use gocards_sim::{FaultMode, FaultSpec};

/// A user who holds one card, Produced: no open order.
async fn user(app: &TestApp, n: u32) -> i64 {
    let id = format!("CA55{n:08}-USER{n:04}");
    let card = NewCard {
        card_id: id.clone(),
        first_name: "Olle".into(),
        last_name: format!("Orderson{n}"),
        email: format!("olle{n}@example.org"),
        employee_id: format!("U{n}"),
        state: CardState::Produced,
        ordered_at: Some(1_763_000_000_000),
    };
    app.db.insert_cards(&[card], |_| {}).await.expect("insert");
    app.db
        .holder_of_card(&id)
        .await
        .expect("read")
        .expect("holder")
}

fn form() -> OrderForm {
    OrderForm {
        article_id: "KSK-K11686X".into(),
        recipient: "Olle Orderson".into(),
        address_one: "Storgatan 1".into(),
        postal_code: "111 22".into(),
        city: "Stockholm".into(),
        country_code: "SE".into(),
    }
}

async fn enable(app: &TestApp) {
    app.db
        .set_command(CommandList::User, Process::OrderCard, true)
        .await
        .expect("enable");
}

async fn order(
    app: &TestApp,
    cookie: &str,
    user_id: i64,
    form: OrderForm,
) -> (u16, serde_json::Value) {
    app.call_fn(Some(cookie), OrderCard { user_id, form }).await
}

/// The cards the user holds that are open orders.
async fn open_cards(app: &TestApp, user_id: i64) -> Vec<String> {
    let mut open = Vec::new();
    for id in app.db.cards_of_holder(user_id).await.expect("cards") {
        let card = app.db.card(&id).await.expect("read").expect("card");
        if card.state.is_open_order() {
            open.push(id);
        }
    }
    open
}

/// GO Cards' orders whose reference belongs to the pending order, or all of them.
fn sim_orders(app: &TestApp) -> Vec<gocards_sim::SimOrder> {
    app.sim.orders()
}

common::engines!(an_order_creates_one_ordered_card_with_its_history);
async fn an_order_creates_one_ordered_card_with_its_history(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    enable(&app).await;
    let cookie = app.login(OPERATOR).await;
    let user_id = user(&app, 1).await;

    let (status, options) = app
        .call_fn(Some(&cookie), OrderCardOptions { user_id })
        .await;
    assert_eq!(status, 200, "{}: {options}", t.name);
    assert_eq!(options["articles"][0]["article_id"], "KSK-K11686X");
    assert_eq!(options["articles"].as_array().map(Vec::len), Some(3));
    assert_eq!(options["default_country"], "SE");
    assert_eq!(options["pending"], serde_json::Value::Null);
    assert_eq!(options["articles_error"], serde_json::Value::Null);

    let (status, body) = order(&app, &cookie, user_id, form()).await;
    assert_eq!(status, 200, "{}: {body}", t.name);
    let card_id = body["card_id"].as_str().expect("card id").to_owned();
    assert_eq!(
        body["message"],
        format!("Card ordered: {card_id} is Ordered")
    );
    assert_eq!(body["retried"], false);

    let card = app.db.card(&card_id).await.expect("read").expect("card");
    assert_eq!(card.state, CardState::Ordered);
    assert_eq!(card.gocards_status.as_deref(), Some("ORDERED"));
    assert!(card.ordered_at.is_some());
    assert_eq!(card.version, 1);
    assert_eq!(
        app.db.holder_of_card(&card_id).await.expect("read"),
        Some(user_id)
    );
    let history = app.db.card_history(&card_id, 10).await.expect("history");
    assert_eq!(history.len(), 1, "{}", t.name);
    let row = &history[0];
    assert_eq!(row.kind, HistoryKind::Changed);
    assert_eq!(row.source, HistorySource::Manual);
    assert_eq!(row.actor.as_deref(), Some("operator"));
    assert_eq!(
        (row.from_state, row.to_state),
        (CardState::Registered, CardState::Ordered)
    );
    assert_eq!(row.gocards_status.as_deref(), Some("ORDERED"));
    let detail = row.detail.clone().unwrap_or_default();
    assert!(detail.starts_with("Card ordered (order OR-"), "{detail}");
    assert_eq!(app.db.pending_order(user_id).await.expect("read"), None);

    // GO Cards got one order, for this person, to this address.
    let orders = sim_orders(&app);
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].card_ids, vec![card_id.clone()]);
    assert!(detail.contains(&orders[0].external_reference), "{detail}");
    let at_gocards = app.sim.card(&card_id).expect("GO Cards has the card");
    assert_eq!(at_gocards.card_holder_email, "olle1@example.org");
    assert_eq!(
        at_gocards
            .card_elements
            .get("LAST_NAME")
            .map(String::as_str),
        Some("Orderson1")
    );

    // A second order for the same user is refused: the first is open.
    let (status, body) = order(&app, &cookie, user_id, form()).await;
    assert_eq!(status, 409, "{}: {body}", t.name);
    assert_eq!(body["kind"], "already_open");
    assert_eq!(
        body["message"],
        format!("Olle Orderson1 already has an open card order: {card_id}.")
    );
    assert_eq!(sim_orders(&app).len(), 1, "nothing more was ordered");
}

common::engines!(bad_fields_are_refused_and_nothing_is_stored_or_asked);
async fn bad_fields_are_refused_and_nothing_is_stored_or_asked(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    enable(&app).await;
    let cookie = app.login(OPERATOR).await;
    let user_id = user(&app, 2).await;
    let cases: Vec<(OrderForm, &str)> = vec![
        (
            OrderForm {
                city: " ".into(),
                ..form()
            },
            "City is required.",
        ),
        (
            OrderForm {
                article_id: String::new(),
                ..form()
            },
            "Article is required.",
        ),
        (
            OrderForm {
                address_one: "x".repeat(201),
                ..form()
            },
            "Address is too long: at most 200 characters.",
        ),
        (
            OrderForm {
                country_code: "se".into(),
                ..form()
            },
            "Country must be two capital letters (ISO 3166-1 alpha-2), such as SE.",
        ),
        (
            OrderForm {
                recipient: "Olle\u{0}".into(),
                ..form()
            },
            "Recipient contains control characters; type it again without them.",
        ),
    ];
    for (bad, message) in cases {
        let (status, body) = order(&app, &cookie, user_id, bad).await;
        assert_eq!(status, 400, "{}: {body}", t.name);
        assert_eq!(body["message"], message);
    }
    // A payload missing the form altogether is refused the same way.
    let (status, _) = app
        .call(
            "order_card",
            Some(&cookie),
            serde_json::json!({"user_id": user_id}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(app.db.pending_order(user_id).await.expect("read"), None);
    assert_eq!(open_cards(&app, user_id).await, Vec::<String>::new());
    assert!(app.sim.calls().is_empty(), "{:?}", app.sim.calls());
}

common::engines!(not_enabled_unknown_and_anonymous_are_refused);
async fn not_enabled_unknown_and_anonymous_are_refused(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let user_id = user(&app, 3).await;
    let (status, body) = order(&app, &cookie, user_id, form()).await;
    assert_eq!(status, 403, "{}: {body}", t.name);
    assert_eq!(
        body["message"],
        "Order card is not enabled for users. Ask an admin to enable it on Settings › Users › User."
    );
    enable(&app).await;
    let (status, body) = order(&app, &cookie, 987_654_321, form()).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["message"], "No user 987654321 exists. Search again.");
    let (status, _) = app
        .call_fn(
            None,
            OrderCard {
                user_id,
                form: form(),
            },
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = app.call_fn(None, OrderCardOptions { user_id }).await;
    assert_eq!(status, 401);
    assert_eq!(app.db.pending_order(user_id).await.expect("read"), None);
    assert!(app.sim.calls().is_empty(), "{:?}", app.sim.calls());
}

common::engines!(a_definite_refusal_drops_the_pending_order);
async fn a_definite_refusal_drops_the_pending_order(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    enable(&app).await;
    let cookie = app.login(OPERATOR).await;

    // 400: an article GO Cards does not offer.
    let user_id = user(&app, 4).await;
    let (status, body) = order(
        &app,
        &cookie,
        user_id,
        OrderForm {
            article_id: "KSK-NOPE".into(),
            ..form()
        },
    )
    .await;
    assert_eq!(status, 502, "{}: {body}", t.name);
    assert_eq!(
        body["message"],
        "GO Cards refused the order as invalid. Nothing was ordered; check the article and the address, then try again."
    );
    assert_eq!(app.db.pending_order(user_id).await.expect("read"), None);

    // 403.
    app.sim
        .set_fault(FaultSpec::new(FaultMode::Error403).on_path("/api/order"));
    let (status, body) = order(&app, &cookie, user_id, form()).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(
        body["message"],
        "GO Cards refused access for this organisation. Nothing was ordered; ask an admin to check the GO Cards connection."
    );
    assert_eq!(app.db.pending_order(user_id).await.expect("read"), None);
    app.sim.set_fault(FaultSpec::new(FaultMode::None));

    // 409: the reference was used at GO Cards with another key. The desk's pending order
    // carries that reference (as if a second desk had made the same one).
    let other = user(&app, 5).await;
    let (status, _) = order(&app, &cookie, other, form()).await;
    assert_eq!(status, 200);
    let used = sim_orders(&app)
        .last()
        .map(|o| o.external_reference.clone())
        .expect("an order");
    let pending = PendingOrder {
        holder_id: user_id,
        idempotency_key: uuid::Uuid::new_v4(),
        external_reference: used,
        form: form(),
        created_at: 0,
        created_by: "operator".into(),
        attempts: 0,
    };
    app.db.start_order(&pending).await.expect("store");
    let (status, body) = order(&app, &cookie, user_id, form()).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["message"], ORDER_CONFLICT);
    assert_eq!(app.db.pending_order(user_id).await.expect("read"), None);
    assert_eq!(open_cards(&app, user_id).await, Vec::<String>::new());
    // Each failure is in the audit log.
    let log = app.db.audit_log(10).await.expect("audit");
    assert_eq!(
        log.iter()
            .filter(|e| e.action == "order card failed")
            .count(),
        3,
        "{log:?}"
    );
}

common::engines!(a_lost_reply_keeps_the_pending_order_and_the_retry_orders_once);
async fn a_lost_reply_keeps_the_pending_order_and_the_retry_orders_once(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    enable(&app).await;
    let cookie = app.login(OPERATOR).await;
    let faults = [
        // The order is placed, and its reply comes after the desk's timeout (1.5 s).
        FaultSpec::new(FaultMode::Timeout).with_latency_ms(3000),
        // Placed, and the connection closed before the reply.
        FaultSpec::new(FaultMode::Drop),
        // Not placed: a 500.
        FaultSpec::new(FaultMode::Error500),
        // Not placed: a 429, which keeps the order too.
        FaultSpec::new(FaultMode::Error429).with_retry_after(7),
    ];
    for (n, fault) in faults.into_iter().enumerate() {
        let mode = fault.mode;
        let user_id = user(&app, 10 + n as u32).await;
        let before = sim_orders(&app).len();
        app.sim.set_fault(fault.on_path("/api/order").times(1));
        let (status, body) = order(&app, &cookie, user_id, form()).await;
        if mode == FaultMode::Error429 {
            assert_eq!(status, 502, "{}: {body}", t.name);
            assert_eq!(
                body["message"],
                "GO Cards is busy; try again in 7 s. The order is kept, so nothing is ordered twice."
            );
        } else {
            assert_eq!(status, 504, "{}: {mode:?}: {body}", t.name);
            assert_eq!(body["kind"], "may_have_been_placed");
            assert_eq!(body["message"], ORDER_MAY_HAVE_BEEN_PLACED);
        }
        let pending = app
            .db
            .pending_order(user_id)
            .await
            .expect("read")
            .expect("the pending order stays");
        assert_eq!(pending.attempts, 1);
        assert_eq!(open_cards(&app, user_id).await, Vec::<String>::new());
        let placed = sim_orders(&app);
        let placed_first = matches!(mode, FaultMode::Timeout | FaultMode::Drop);
        assert_eq!(placed.len(), before + usize::from(placed_first), "{mode:?}");

        // The dialog offers the pending order. Other fields are refused, not silently
        // replaced by the stored ones; Next again sends it, with the same key.
        let (_, options) = app
            .call_fn(Some(&cookie), OrderCardOptions { user_id })
            .await;
        assert_eq!(options["pending"]["form"]["city"], "Stockholm");
        let (status, body) = order(
            &app,
            &cookie,
            user_id,
            OrderForm {
                city: "Uppsala".into(),
                ..form()
            },
        )
        .await;
        assert_eq!(status, 409, "{}: {mode:?}: {body}", t.name);
        assert_eq!(body["kind"], "pending_differs");
        assert_eq!(sim_orders(&app).len(), placed.len(), "nothing sent");
        let (status, body) = order(&app, &cookie, user_id, form()).await;
        assert_eq!(status, 200, "{}: {mode:?}: {body}", t.name);
        assert_eq!(body["retried"], true);
        let card_id = body["card_id"].as_str().expect("card").to_owned();
        let orders = sim_orders(&app);
        assert_eq!(
            orders.len(),
            before + 1,
            "{mode:?}: exactly one order at GO Cards"
        );
        let last = orders.last().expect("order");
        assert_eq!(last.idempotency_key, pending.idempotency_key.to_string());
        assert_eq!(last.card_ids, vec![card_id.clone()]);
        assert_eq!(open_cards(&app, user_id).await, vec![card_id]);
        assert_eq!(app.db.pending_order(user_id).await.expect("read"), None);
    }
}

common::engines!(twenty_concurrent_orders_for_one_user_make_one_card_and_one_order);
async fn twenty_concurrent_orders_for_one_user_make_one_card_and_one_order(t: TestDb) {
    let app = Arc::new(spawn(t.db.clone()).await);
    enable(&app).await;
    let cookie = app.login(OPERATOR).await;
    let user_id = user(&app, 30).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            let cookie = cookie.clone();
            tokio::spawn(async move { order(&app, &cookie, user_id, form()).await })
        })
        .collect();
    let mut ordered = Vec::new();
    for task in tasks {
        let (status, body) = task.await.expect("task");
        match status {
            200 => ordered.push(body["card_id"].as_str().unwrap_or_default().to_owned()),
            409 => assert_eq!(body["kind"], "already_open", "{body}"),
            other => panic!("{}: unexpected {other}: {body}", t.name),
        }
    }
    assert!(!ordered.is_empty(), "{}", t.name);
    ordered.dedup();
    assert_eq!(ordered.len(), 1, "{}: every success names one card", t.name);
    assert_eq!(open_cards(&app, user_id).await, ordered, "{}", t.name);
    assert_eq!(
        sim_orders(&app).len(),
        1,
        "{}: one order at GO Cards",
        t.name
    );
    let history = app.db.card_history(&ordered[0], 50).await.expect("history");
    assert_eq!(history.len(), 1, "{}: one history row", t.name);
    assert_eq!(app.db.pending_order(user_id).await.expect("read"), None);
}

common::engines!(articles_that_cannot_be_read_are_reported);
async fn articles_that_cannot_be_read_are_reported(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    enable(&app).await;
    let cookie = app.login(OPERATOR).await;
    let user_id = user(&app, 40).await;
    app.sim
        .set_fault(FaultSpec::new(FaultMode::Error500).on_path("/api/articles"));
    let (status, options) = app
        .call_fn(Some(&cookie), OrderCardOptions { user_id })
        .await;
    assert_eq!(status, 200, "{}: {options}", t.name);
    assert_eq!(options["articles"], serde_json::json!([]));
    let message = options["articles_error"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Cannot list GO Cards' articles: GO Cards is unavailable (error 500).")
            && message.contains("Nothing can be ordered until it answers"),
        "{message}"
    );
    let (status, _) = app
        .call_fn(
            Some(&cookie),
            OrderCardOptions {
                user_id: 123_456_789,
            },
        )
        .await;
    assert_eq!(status, 404);
}
