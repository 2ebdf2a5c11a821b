//! Every registered server function, called as anonymous, operator and admin with a minimal
//! valid payload: the status must be the expected one, and a refused call to an admin
//! function must change nothing. The functions come from the server's own registry, so a
//! new one missing from the table fails this test. The CSV downloads (GET) have a table of
//! their own, checked against `server::export::ROUTES`.

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
            "/api/search_users",
            operator_fn(Body::Json, json!({"search": {}}), [401, 200, 200]),
        ),
        (
            // The id is no holder's; the matrix test puts a real holder's here.
            "/api/user_profile",
            operator_fn(Body::Json, json!({"user_id": 0}), [401, 200, 200]),
        ),
        (
            "/api/update_card_order",
            operator_fn(
                Body::Json,
                json!({"card_id": card, "expected_version": 1}),
                [401, 200, 200],
            ),
        ),
        // An unknown user and a Produced card: past the session and role checks, each
        // refused by the process itself (404, 409), the same for operators and admins.
        (
            "/api/order_card_options",
            operator_fn(Body::Json, json!({"user_id": 424_242}), [401, 404, 404]),
        ),
        (
            "/api/order_card",
            operator_fn(
                Body::Json,
                json!({"user_id": 424_242, "form": {"article_id": "KSK-K11686X", "recipient": "M",
                       "address_one": "A 1", "postal_code": "1", "city": "C", "country_code": "SE"}}),
                [401, 404, 404],
            ),
        ),
        (
            "/api/abort_card_order",
            operator_fn(
                Body::Json,
                json!({"card_id": "CA2202040406-AAAA0002", "expected_version": 1, "reason": "matrix"}),
                [401, 409, 409],
            ),
        ),
        // Jobs: an operator's own. The ids are no job's (each account sees its own jobs
        // only, and an admin everyone's): past the session and role checks, 404 for both.
        (
            "/api/preview_job",
            operator_fn(
                Body::Json,
                json!({"request": {"process": "update-card-order", "items": [card]}}),
                [401, 200, 200],
            ),
        ),
        (
            // Operator and admin each start a one-card job of their own.
            "/api/start_job",
            operator_fn(
                Body::Json,
                json!({"request": {"process": "update-card-order", "items": [card]}}),
                [401, 200, 200],
            ),
        ),
        (
            "/api/job_status",
            operator_fn(Body::Json, json!({"id": 424_242}), [401, 404, 404]),
        ),
        (
            "/api/stop_job",
            operator_fn(Body::Json, json!({"id": 424_242}), [401, 404, 404]),
        ),
        (
            "/api/run_rest",
            operator_fn(Body::Json, json!({"id": 424_242}), [401, 404, 404]),
        ),
        (
            "/api/job_items",
            operator_fn(
                Body::Json,
                json!({"id": 424_242, "outcome": null, "page": 1}),
                [401, 404, 404],
            ),
        ),
        (
            "/api/list_jobs",
            operator_fn(Body::Json, json!({}), [401, 200, 200]),
        ),
        (
            "/api/bulk_commands",
            operator_fn(Body::Json, json!({}), [401, 200, 200]),
        ),
        (
            "/api/batch_order_options",
            operator_fn(Body::Json, json!({}), [401, 200, 200]),
        ),
        (
            "/api/select_all_cards",
            operator_fn(Body::Json, json!({"search": {}}), [401, 200, 200]),
        ),
        (
            "/api/select_all_users",
            operator_fn(Body::Json, json!({"search": {}}), [401, 200, 200]),
        ),
        ("/api/admin_command_tabs", admin_fn(json!({}))),
        (
            "/api/save_command_tab",
            admin_fn(json!({"list": {"card": "produced"}, "processes": []})),
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
    let mut table = table();
    // A user's profile needs a real holder id (ids are chosen at random as cards are stored).
    let (users, _) =
        t.db.search_holders(&desk_core::model::HolderSearch {
            last_name: "Berg".into(),
            ..Default::default()
        })
        .await
        .expect("holders");
    let user_id = users.first().map(|u| u.holder_id).expect("Anna Berg");
    if let Some(case) = table.get_mut("/api/user_profile") {
        case.payload = json!({ "user_id": user_id });
    }
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

/// The CSV downloads (GET), with the expected status for anonymous, operator and admin.
/// Keyed by route as the router declares it; `{card_id}` is a real card.
pub(crate) fn export_table() -> BTreeMap<&'static str, [u16; 3]> {
    BTreeMap::from([
        (desk_core::export::CARDS_PATH, [401, 200, 200]),
        (desk_core::export::USERS_PATH, [401, 200, 200]),
        ("/export/cards/{card_id}/history.csv", [401, 200, 200]),
        (desk_core::export::AUDIT_PATH, [401, 403, 200]),
        // No such job (none was started): an operator and an admin are told so.
        ("/export/jobs/{job_id}/items.csv", [401, 404, 404]),
    ])
}

common::engines!(every_export_checks_session_and_role);
async fn every_export_checks_session_and_role(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let operator = app.login(OPERATOR).await;
    let admin = app.login(ADMIN).await;
    let table = export_table();
    let routes: Vec<&str> = server::export::ROUTES.to_vec();
    assert_eq!(
        table.keys().copied().collect::<Vec<_>>(),
        {
            let mut sorted = routes.clone();
            sorted.sort_unstable();
            sorted
        },
        "every export route has a row, and every row a route"
    );
    for (route, expect) in &table {
        let path = route
            .replace("{card_id}", "CA2202040404-5GG3F4C8")
            .replace("{job_id}", "1");
        for (who, cookie, expected) in [
            ("anonymous", None, expect[0]),
            ("operator", Some(operator.as_str()), expect[1]),
            ("admin", Some(admin.as_str()), expect[2]),
        ] {
            let before = t.db.count_audit().await.expect("audit");
            let mut request = app.http.get(format!("{}{path}", app.base));
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let res = request.send().await.expect("send");
            let status = res.status().as_u16();
            let body = res.text().await.unwrap_or_default();
            assert_eq!(status, expected, "{}: {path} as {who}: {body}", t.name);
            if status != 200 {
                assert_eq!(
                    t.db.count_audit().await.expect("audit"),
                    before,
                    "{}: {path} refused to {who} but audited",
                    t.name
                );
                assert!(
                    !body.contains("card_id"),
                    "{path} as {who}: no rows: {body}"
                );
            }
        }
    }
}
