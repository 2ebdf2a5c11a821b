//! Users in the settings view: add, disable and enable (sessions end at once), reset a
//! password, and never lose the last enabled admin.

use testkit as common;

use app::api::{AddUser, AdminUsers, ResetUserPassword, SearchCards, SetUserEnabled, SetUserRole};
use backend::db::audit::AuditRecord;
use backend::db::users::{UserChange, UserUpdate};
use common::app::{spawn, TestApp, ADMIN, OPERATOR};
use common::db::TestDb;
use desk_core::model::{CardSearch, NewUser, PasswordReset, Role};
use serde_json::json;

async fn search_status(app: &TestApp, cookie: &str) -> u16 {
    app.call_fn(
        Some(cookie),
        SearchCards {
            search: CardSearch::default(),
        },
    )
    .await
    .0
}

fn new_user(name: &str, password: &str, role: Role) -> AddUser {
    AddUser {
        user: NewUser {
            username: name.into(),
            password: password.into(),
            role,
        },
    }
}

fn set_enabled(username: &str, enabled: bool) -> SetUserEnabled {
    SetUserEnabled {
        username: username.into(),
        enabled,
    }
}

fn set_role(username: &str, role: Role) -> SetUserRole {
    SetUserRole {
        username: username.into(),
        role,
    }
}

fn reset(username: &str, password: &str) -> ResetUserPassword {
    ResetUserPassword {
        reset: PasswordReset {
            username: username.into(),
            password: password.into(),
        },
    }
}

common::engines!(an_added_operator_logs_in_and_disabling_ends_the_session_at_once);
async fn an_added_operator_logs_in_and_disabling_ends_the_session_at_once(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let admin = app.login(ADMIN).await;

    let (status, body) = app
        .call_fn(
            Some(&admin),
            new_user("newop", "newop-pass-1", Role::Operator),
        )
        .await;
    assert_eq!(status, 200, "{}: {body}", t.name);
    assert_eq!(
        body,
        json!({"username": "newop", "role": "operator", "enabled": true})
    );
    let session = app
        .try_login(("newop", "newop-pass-1"))
        .await
        .expect("logs in");
    assert_eq!(search_status(&app, &session).await, 200);

    // Refusals: the name is taken, a bad name, a short password.
    let (status, body) = app
        .call_fn(Some(&admin), new_user("newop", "another-pass", Role::Admin))
        .await;
    assert_eq!((status, body["kind"].as_str()), (409, Some("name_taken")));
    let (status, body) = app
        .call_fn(
            Some(&admin),
            new_user("bad name", "another-pass", Role::Operator),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("A username is"));
    let (status, body) = app
        .call_fn(Some(&admin), new_user("shorty", "short", Role::Operator))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "The password must have at least 8 characters."
    );

    // Disabling ends the session on the next request, and the password no longer works.
    let (status, body) = app.call_fn(Some(&admin), set_enabled("newop", false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["enabled"], false);
    assert_eq!(
        search_status(&app, &session).await,
        401,
        "{}: session ended",
        t.name
    );
    assert_eq!(app.try_login(("newop", "newop-pass-1")).await, Err(401));

    let (status, _) = app.call_fn(Some(&admin), set_enabled("newop", true)).await;
    assert_eq!(status, 200);
    assert!(app.try_login(("newop", "newop-pass-1")).await.is_ok());

    let (status, body) = app.call_fn(Some(&admin), set_enabled("ghost", false)).await;
    assert_eq!((status, body["kind"].as_str()), (404, Some("not_found")));

    let (status, list) = app.call_fn(Some(&admin), AdminUsers {}).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list
        .as_array()
        .map(|users| {
            users
                .iter()
                .filter_map(|u| u["username"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, vec!["admin", "newop", "operator"]);

    // The audit log names every change and never a password.
    let log = t.db.audit_log(50).await.expect("audit");
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec!["enable user", "disable user", "add user"],
        "{}",
        t.name
    );
    assert!(log
        .iter()
        .all(|e| e.actor == "admin" && !e.detail.contains("newop-pass")));
}

common::engines!(a_password_reset_ends_old_sessions);
async fn a_password_reset_ends_old_sessions(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let admin = app.login(ADMIN).await;
    let operator = app.try_login(OPERATOR).await.expect("login");
    let (status, body) = app.call_fn(Some(&admin), reset("operator", "short")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        search_status(&app, &operator).await,
        200,
        "a refused reset changes nothing"
    );

    let (status, body) = app
        .call_fn(Some(&admin), reset("operator", "brand-new-pass"))
        .await;
    assert_eq!(status, 200, "{}: {body}", t.name);
    assert_eq!(search_status(&app, &operator).await, 401, "{}", t.name);
    assert_eq!(app.try_login(OPERATOR).await, Err(401));
    assert!(app.try_login(("operator", "brand-new-pass")).await.is_ok());
    let log = t.db.audit_log(1).await.expect("audit");
    assert_eq!(
        (log[0].action.as_str(), log[0].detail.as_str()),
        ("reset password", "operator")
    );
}

/// A change refused because it would leave no enabled admin: the reply, and its message.
struct Refusal {
    endpoint: &'static str,
    reply: (u16, serde_json::Value),
    message: &'static str,
}

common::engines!(the_last_enabled_admin_cannot_be_disabled_or_demoted);
async fn the_last_enabled_admin_cannot_be_disabled_or_demoted(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let admin = app.login(ADMIN).await;
    let audit = t.db.count_audit().await.expect("count");
    for Refusal {
        endpoint,
        reply: (status, body),
        message,
    } in [
        Refusal {
            endpoint: "set_user_enabled",
            reply: app.call_fn(Some(&admin), set_enabled("admin", false)).await,
            message: "admin is the last enabled admin and cannot be disabled. Make another user an admin first.",
        },
        Refusal {
            endpoint: "set_user_role",
            reply: app.call_fn(Some(&admin), set_role("admin", Role::Operator)).await,
            message: "admin is the last enabled admin and cannot be made an operator. Make another user an admin first.",
        },
    ] {
        assert_eq!(status, 409, "{}: {endpoint}: {body}", t.name);
        assert_eq!(body["kind"], "last_admin");
        assert_eq!(body["message"], message);
    }
    assert_eq!(
        t.db.count_audit().await.expect("count"),
        audit,
        "nothing written"
    );

    // A disabled admin does not count: promote the operator, disable it, and the first
    // admin is still the last enabled one.
    let (status, body) = app
        .call_fn(Some(&admin), set_role("operator", Role::Admin))
        .await;
    assert_eq!((status, body["role"].as_str()), (200, Some("admin")));
    let (status, _) = app
        .call_fn(Some(&admin), set_enabled("operator", false))
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .call_fn(Some(&admin), set_role("admin", Role::Operator))
        .await;
    assert_eq!(status, 409, "{}", t.name);
    // With a second enabled admin, the first may step down.
    let (status, _) = app
        .call_fn(Some(&admin), set_enabled("operator", true))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .call_fn(Some(&admin), set_role("admin", Role::Operator))
        .await;
    assert_eq!(status, 200, "{body}");
    // The demoted admin's session is an operator's now.
    let (status, _) = app.call_fn(Some(&admin), AdminUsers {}).await;
    assert_eq!(status, 403, "{}", t.name);
}

common::engines!(concurrent_changes_never_leave_no_enabled_admin);
async fn concurrent_changes_never_leave_no_enabled_admin(t: TestDb) {
    for name in ["a1", "a2", "a3"] {
        common::app::add_user(&t.db, name, Role::Admin, "admin-password").await;
    }
    let audit = AuditRecord {
        actor: "test",
        action: "disable user",
        detail: "",
    };
    let mut tasks = Vec::new();
    for (i, name) in ["a1", "a2", "a3", "a1", "a2", "a3"].into_iter().enumerate() {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            let update = if i < 3 {
                UserUpdate::Enabled(false)
            } else {
                UserUpdate::Role(Role::Operator)
            };
            db.update_user(name, update, audit).await
        }));
    }
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("task").expect("storage") {
            UserChange::LastAdmin => refused += 1,
            UserChange::Done(_) => {}
            UserChange::NoSuchUser => panic!("every user exists"),
        }
    }
    let enabled_admins =
        t.db.list_users()
            .await
            .expect("users")
            .iter()
            .filter(|u| u.role == "admin" && u.enabled == 1)
            .count();
    assert_eq!(enabled_admins, 1, "{}: exactly one admin is left", t.name);
    assert!(refused >= 1, "{}", t.name);
}
