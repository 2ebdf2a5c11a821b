//! Cards › Card and Users › User: the Additional Commands of each list, as admins save them
//! and operators meet them.

use testkit as common;

use app::api::{AdminCommandTabs, CardProfile, SaveCommandTab, UpdateCardOrder};
use common::app::{spawn, ADMIN, OPERATOR};
use common::db::TestDb;
use desk_core::domain::CommandList;
use desk_core::domain::{CardState, Process};
use serde_json::json;

const ORDERED_CARD: &str = "CA2202040404-5GG3F4C8";
const IN_PRODUCTION_CARD: &str = "CA2202040405-AAAA0001";

common::engines!(a_new_database_enables_nothing);
async fn a_new_database_enables_nothing(t: TestDb) {
    for (state, processes) in t.db.all_commands().await.expect("read") {
        assert!(processes.is_empty(), "{}: {state:?}", t.name);
    }
    assert_eq!(
        t.db.all_commands().await.expect("read").len(),
        CardState::ALL.len() + 1
    );
}

common::engines!(a_process_that_cannot_apply_is_refused_and_nothing_is_written);
async fn a_process_that_cannot_apply_is_refused_and_nothing_is_written(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let admin = app.login(ADMIN).await;
    let before = t.db.all_commands().await.expect("read");
    let audit = t.db.count_audit().await.expect("count");
    for process in [Process::UpdateCardOrder, Process::AbortCardOrder] {
        for state in CardState::ALL
            .into_iter()
            .filter(|s| !process.applies_to(*s))
        {
            let (status, body) = app
                .call_fn(
                    Some(&admin),
                    SaveCommandTab {
                        list: CommandList::Card(state),
                        processes: vec![process],
                    },
                )
                .await;
            assert_eq!(status, 409, "{}: {state:?}: {body}", t.name);
            assert_eq!(body["kind"], "not_applicable");
            assert_eq!(
                body["message"],
                format!(
                    "{} cannot be enabled on the {} tab: it only acts on cards that are Ordered or In production.",
                    process.label(),
                    state.label()
                )
            );
        }
    }
    // A user process on a card tab, a card process on Users › User.
    let wrong = [
        (
            CommandList::Card(CardState::Ordered),
            Process::OrderCard,
            "Order card cannot be enabled on the Ordered tab: it acts on users. Enable it on Users › User.",
        ),
        (
            CommandList::User,
            Process::UpdateCardOrder,
            "Update card order cannot be enabled on Users › User: it acts on cards. Enable it on the Ordered and In production tabs of Cards › Card.",
        ),
        (
            CommandList::User,
            Process::AbortCardOrder,
            "Abort card order cannot be enabled on Users › User: it acts on cards. Enable it on the Ordered and In production tabs of Cards › Card.",
        ),
    ];
    for (list, process, message) in wrong {
        let (status, body) = app
            .call_fn(
                Some(&admin),
                SaveCommandTab {
                    list,
                    processes: vec![Process::OrderCard, process],
                },
            )
            .await;
        assert_eq!(status, 409, "{}: {list:?}: {body}", t.name);
        assert_eq!(body["message"], message);
    }
    assert_eq!(
        t.db.all_commands().await.expect("read"),
        before,
        "{}",
        t.name
    );
    assert_eq!(
        t.db.count_audit().await.expect("count"),
        audit,
        "{}",
        t.name
    );

    // An unknown process is a malformed payload (raw: `Process` has no such value).
    let (status, _) = app
        .call(
            "save_command_tab",
            Some(&admin),
            json!({"list": {"card": "ordered"}, "processes": ["format-disk"]}),
        )
        .await;
    assert_eq!(status, 400);
}

common::engines!(a_saved_tab_takes_effect_for_operators_at_once_and_is_audited);
async fn a_saved_tab_takes_effect_for_operators_at_once_and_is_audited(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let admin = app.login(ADMIN).await;
    let operator = app.login(OPERATOR).await;
    let commands = |card: &'static str| {
        let app = &app;
        let operator = operator.clone();
        async move {
            let (status, body) = app
                .call_fn(
                    Some(&operator),
                    CardProfile {
                        card_id: card.into(),
                    },
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body["commands"].clone()
        }
    };
    let save = |state: CardState, processes: Vec<Process>| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.call_fn(
                Some(&admin),
                SaveCommandTab {
                    list: CommandList::Card(state),
                    processes,
                },
            )
            .await
        }
    };

    // Disable everywhere: gone for operators, and the server refuses the command.
    for state in [CardState::Ordered, CardState::InProduction] {
        let (status, body) = save(state, vec![]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["processes"], json!([]));
    }
    assert_eq!(commands(ORDERED_CARD).await, json!([]));
    let (status, _) = app
        .call_fn(
            Some(&operator),
            UpdateCardOrder {
                card_id: ORDERED_CARD.into(),
                expected_version: 1,
            },
        )
        .await;
    assert_eq!(status, 403, "{}: disabled means refused", t.name);

    // Enable on Ordered only (a duplicate row is stored once).
    let (status, body) = save(
        CardState::Ordered,
        vec![Process::UpdateCardOrder, Process::UpdateCardOrder],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"list": {"card": "ordered"}, "processes": ["update-card-order"]})
    );
    assert_eq!(commands(ORDERED_CARD).await, json!(["update-card-order"]));
    assert_eq!(commands(IN_PRODUCTION_CARD).await, json!([]));

    let (status, tabs) = app.call_fn(Some(&admin), AdminCommandTabs {}).await;
    assert_eq!(status, 200);
    assert_eq!(
        tabs.as_array().map(Vec::len),
        Some(CardState::ALL.len() + 1)
    );
    assert_eq!(
        tabs[2],
        json!({"list": {"card": "ordered"}, "processes": ["update-card-order"]})
    );
    assert_eq!(tabs[11], json!({"list": "user", "processes": []}));

    let log = t.db.audit_log(1).await.expect("audit");
    assert_eq!(log[0].actor, "admin", "{}", t.name);
    assert_eq!(log[0].action, "set additional commands");
    assert_eq!(log[0].detail, "Ordered tab: Update card order");
    assert!(!log[0].at.is_empty());
}

common::engines!(users_user_holds_order_card_and_is_audited);
async fn users_user_holds_order_card_and_is_audited(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let admin = app.login(ADMIN).await;
    let operator = app.login(OPERATOR).await;
    let (status, body) = app
        .call_fn(
            Some(&admin),
            SaveCommandTab {
                list: CommandList::User,
                processes: vec![Process::OrderCard],
            },
        )
        .await;
    assert_eq!(status, 200, "{}: {body}", t.name);
    assert_eq!(body, json!({"list": "user", "processes": ["order-card"]}));
    assert_eq!(
        t.db.enabled_commands(CommandList::User)
            .await
            .expect("read"),
        vec![Process::OrderCard]
    );
    // The card tabs are untouched by the user list.
    assert_eq!(
        t.db.enabled_commands(CardState::Ordered)
            .await
            .expect("read"),
        vec![Process::UpdateCardOrder]
    );
    let log = t.db.audit_log(1).await.expect("audit");
    assert_eq!(log[0].detail, "Users › User: Order card");
    // Operators may not save any list.
    let (status, _) = app
        .call_fn(
            Some(&operator),
            SaveCommandTab {
                list: CommandList::User,
                processes: vec![],
            },
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        t.db.enabled_commands(CommandList::User)
            .await
            .expect("read"),
        vec![Process::OrderCard]
    );
}
