//! Every registered server function, called as anonymous, operator and admin with a minimal
//! valid payload: the status must be the expected one, and a refused call to an admin
//! function must change nothing. The functions come from the server's own registry, so a
//! new one missing from the table fails this test.

use testkit as common;

use std::collections::BTreeMap;

use backend::db::Db;
use common::app::{spawn, TestApp, ADMIN, OPERATOR};
use common::db::TestDb;
use serde_json::{json, Value};

/// How a function's arguments are encoded: JSON (`input = Json`) or a URL-encoded form
/// (the default codec).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Body {
    Json,
    Form,
}

/// The expected status for anonymous, operator and admin.
pub(crate) struct Case {
    pub(crate) body: Body,
    pub(crate) payload: Value,
    expect: [u16; 3],
    /// Admins only: a refused call must leave every setting, user and audit line as it was.
    admin_only: bool,
}

fn operator_fn(body: Body, payload: Value, expect: [u16; 3]) -> Case {
    Case {
        body,
        payload,
        expect,
        admin_only: false,
    }
}

fn admin_fn(payload: Value) -> Case {
    Case {
        body: Body::Json,
        payload,
        expect: [401, 403, 200],
        admin_only: true,
    }
}

/// Keyed by path. The login payload has a wrong password on purpose: a successful log-in
/// would replace the caller's session.
pub(crate) fn table() -> BTreeMap<&'static str, Case> {
    let card = "CA2202040404-5GG3F4C8";
    BTreeMap::from([
        (
            "/api/login",
            operator_fn(
                Body::Form,
                json!({"username": "operator", "password": "not-the-password"}),
                [401, 401, 401],
            ),
        ),
        (
            "/api/whoami",
            operator_fn(Body::Form, json!({}), [200, 200, 200]),
        ),
        (
            "/api/search_cards",
            operator_fn(Body::Json, json!({"search": {}}), [401, 200, 200]),
        ),
        (
            "/api/card_profile",
            operator_fn(Body::Json, json!({"card_id": card}), [401, 200, 200]),
        ),
        (
            "/api/update_card_order",
            operator_fn(
                Body::Json,
                json!({"card_id": card, "expected_version": 1}),
                [401, 200, 200],
            ),
        ),
        ("/api/admin_command_tabs", admin_fn(json!({}))),
        (
            "/api/save_command_tab",
            admin_fn(json!({"state": "produced", "processes": []})),
        ),
        ("/api/gocards_connection", admin_fn(json!({}))),
        (
            "/api/save_gocards_connection",
            admin_fn(json!({"settings": {"client_id": "matrix-client"}})),
        ),
        (
            "/api/test_gocards_connection",
            admin_fn(json!({"settings": {}})),
        ),
        ("/api/admin_users", admin_fn(json!({}))),
        (
            "/api/add_user",
            admin_fn(
                json!({"user": {"username": "matrix-new", "password": "matrix-password", "role": "operator"}}),
            ),
        ),
        (
            "/api/set_user_enabled",
            admin_fn(json!({"username": "matrix-target", "enabled": false})),
        ),
        (
            "/api/set_user_role",
            admin_fn(json!({"username": "matrix-target", "role": "admin"})),
        ),
        (
            "/api/reset_user_password",
            admin_fn(
                json!({"reset": {"username": "matrix-target", "password": "another-password"}}),
            ),
        ),
        ("/api/admin_audit_log", admin_fn(json!({}))),
        ("/api/sync_status", admin_fn(json!({}))),
        ("/api/run_sync_now", admin_fn(json!({}))),
        (
            "/api/save_sync_schedule",
            admin_fn(json!({"schedule": {"enabled": false, "interval_secs": "600"}})),
        ),
    ])
}

/// Everything an admin function could change.
async fn snapshot(db: &Db) -> String {
    let users: Vec<String> = db
        .list_users()
        .await
        .expect("users")
        .iter()
        .map(|u| {
            format!(
                "{}:{}:{}:{}",
                u.username, u.role, u.enabled, u.password_hash
            )
        })
        .collect();
    let commands = db.all_commands().await.expect("commands");
    let mut settings = Vec::new();
    for key in [
        "gocards.base_url",
        "gocards.client_id",
        "gocards.client_secret",
        "gocards.organisation_id",
        "gocards.timeout_ms",
    ] {
        settings.push(db.setting(key).await.expect("setting"));
    }
    let audit = db.count_audit().await.expect("audit");
    format!("{users:?}\n{commands:?}\n{settings:?}\n{audit}")
}

async fn call(app: &TestApp, path: &str, case: &Case, cookie: Option<&str>) -> u16 {
    let mut request = app
        .http
        .post(format!("{}{path}", app.base))
        .header("origin", &app.base);
    request = match case.body {
        Body::Json => request
            .header("content-type", "application/json")
            .body(case.payload.to_string()),
        Body::Form => {
            let fields: Vec<(String, String)> = case
                .payload
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            request.form(&fields)
        }
    };
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.expect("send").status().as_u16()
}

common::engines!(every_server_function_checks_session_and_role);
async fn every_server_function_checks_session_and_role(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    common::app::add_user(
        &t.db,
        "matrix-target",
        desk_core::model::Role::Operator,
        "matrix-password",
    )
    .await;
    let operator = app.login(OPERATOR).await;
    let admin = app.login(ADMIN).await;

    // The app is built (spawn), so every server function is registered by now.
    let registered: BTreeMap<String, http::Method> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (path.to_owned(), method))
        .collect();
    let table = table();
    let missing: Vec<&String> = registered
        .keys()
        .filter(|p| !table.contains_key(p.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "server functions without a row in the authz table: {missing:?}"
    );
    let stale: Vec<&&str> = table
        .keys()
        .filter(|p| !registered.contains_key(**p))
        .collect();
    assert!(stale.is_empty(), "rows for unknown functions: {stale:?}");

    for (path, case) in &table {
        assert_eq!(
            registered.get(*path),
            Some(&http::Method::POST),
            "{path} is a POST"
        );
        let before = snapshot(&t.db).await;
        for (who, cookie, expected) in [
            ("anonymous", None, case.expect[0]),
            ("operator", Some(operator.as_str()), case.expect[1]),
        ] {
            let status = call(&app, path, case, cookie).await;
            assert_eq!(status, expected, "{}: {path} as {who}", t.name);
        }
        if case.admin_only {
            assert_eq!(
                snapshot(&t.db).await,
                before,
                "{}: {path} refused but changed something",
                t.name
            );
        }
        let status = call(&app, path, case, Some(&admin)).await;
        assert_eq!(status, case.expect[2], "{}: {path} as admin", t.name);
    }
    // The admin calls did their work.
    let target = t.db.user_by_name("matrix-target").await.expect("read");
    assert!(matches!(target, Some(ref u) if u.enabled == 0 && u.role == "admin"));
    assert!(t
        .db
        .user_by_name("matrix-new")
        .await
        .expect("read")
        .is_some());
    assert_eq!(
        t.db.setting("gocards.client_id")
            .await
            .expect("read")
            .as_deref(),
        Some("matrix-client")
    );
}
