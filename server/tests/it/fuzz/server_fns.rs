//! Server-function payload decoding: every registered server function gets, over HTTP to a
//! running app on a real SQLite file, its valid payload with fields replaced, removed or
//! added, any JSON, any bytes, and any form body, under either content type, as an admin.
//! Nothing panics and no reply is a 500 (GO Cards errors, 502–504, only where GO Cards is
//! asked); no error reply leaks parser or database internals; a refused call changes no user,
//! setting, command or audit line; and no card ever changes without its history row.
//!
//! Seeds: `server/tests/fuzz-seeds/server_fns/` — files named `<function>.<n>.<json|form|bin>`,
//! posted to that function with the matching content type.

use super::{any_json, runner, seeds, Tally};
use crate::authz_matrix::{table, Body};
use testkit as common;

use std::collections::BTreeMap;

use backend::db::Db;
use common::app::{spawn, TestApp, ADMIN};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;

/// Functions that ask GO Cards, and so may answer 502, 503 or 504.
const ASK_GOCARDS: [&str; 5] = [
    "/api/update_card_order",
    "/api/abort_card_order",
    "/api/order_card",
    "/api/order_card_options",
    "/api/test_gocards_connection",
];

/// Users, settings, commands and the audit line count; and the cards invariant
/// (sum of versions − cards − `changed` history rows, except the row that creates an ordered
/// card at version 1), which no call may break.
async fn snapshot(db: &Db) -> (String, i64) {
    // The same facts in each engine's SQL (group_concat / string_agg).
    let invariant = "(SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) - COUNT(*) FROM cards) - \
                     (SELECT COUNT(*) FROM card_history WHERE kind = 'changed' \
                        AND from_state <> 'registered')";
    match db {
        Db::Sqlite(pool, _) => sqlx::query_as::<_, (String, i64)>(&format!(
            "SELECT \
               COALESCE((SELECT group_concat(u, ';') FROM (SELECT username || ':' || role || ':' || \
                 enabled || ':' || password_hash AS u FROM users ORDER BY id)), '') || '|' || \
               COALESCE((SELECT group_concat(s, ';') FROM (SELECT key || '=' || value AS s \
                 FROM settings ORDER BY key)), '') || '|' || \
               COALESCE((SELECT group_concat(c, ';') FROM (SELECT state || ':' || process || ':' || \
                 position AS c FROM enabled_commands ORDER BY state, process)), '') || '|' || \
               (SELECT COUNT(*) FROM admin_audit), {invariant}"
        ))
        .fetch_one(pool)
        .await
        .expect("snapshot"),
        Db::Postgres(pool, _) => sqlx::query_as::<_, (String, i64)>(&format!(
            "SELECT \
               COALESCE((SELECT string_agg(username || ':' || role || ':' || enabled || ':' || \
                 password_hash, ';' ORDER BY id) FROM users), '') || '|' || \
               COALESCE((SELECT string_agg(key || '=' || value, ';' ORDER BY key) \
                 FROM settings), '') || '|' || \
               COALESCE((SELECT string_agg(state || ':' || process || ':' || position, ';' \
                 ORDER BY state, process) FROM enabled_commands), '') || '|' || \
               (SELECT COUNT(*) FROM admin_audit), {invariant}"
        ))
        .fetch_one(pool)
        .await
        .expect("snapshot"),
    }
}

#[derive(Clone, Debug)]
enum Payload {
    Json(Vec<u8>),
    Form(Vec<u8>),
    /// Any content type, any bytes.
    Other(String, Vec<u8>),
}

/// Every leaf of `value` with its path, objects only (arrays are left whole).
fn leaf_paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(map) = value {
        for (key, child) in map {
            prefix.push(key.clone());
            out.push(prefix.clone());
            leaf_paths(child, prefix, out);
            prefix.pop();
        }
    }
}

/// Applies one mutation at `path`: replace with `with`, or remove when `with` is `None`.
fn mutate(value: &mut Value, path: &[String], with: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        if let Some(with) = with {
            *value = with;
        }
        return;
    };
    let mut node = value;
    for key in parents {
        match node.get_mut(key) {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Some(map) = node.as_object_mut() {
        match with {
            Some(with) => {
                map.insert(last.clone(), with);
            }
            None => {
                map.remove(last);
            }
        }
    }
}

/// The valid payload of a function with one to three fields replaced, removed or added.
fn mutated(valid: Value) -> impl Strategy<Value = Value> {
    let mut paths = Vec::new();
    leaf_paths(&valid, &mut Vec::new(), &mut paths);
    paths.push(Vec::new());
    paths.push(vec!["unexpected".to_owned()]);
    let change = (
        proptest::sample::select(paths),
        prop_oneof![3 => any_json().prop_map(Some), 1 => Just(None)],
    );
    proptest::collection::vec(change, 1..=3).prop_map(move |changes| {
        let mut value = valid.clone();
        for (path, with) in changes {
            mutate(&mut value, &path, with);
        }
        value
    })
}

/// `application/x-www-form-urlencoded` bytes of `pairs`.
fn form_encode(pairs: impl IntoIterator<Item = (String, String)>) -> Vec<u8> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(&k, &v);
    }
    out.finish().into_bytes()
}

fn form_body() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(("\\PC{0,10}", "\\PC{0,30}"), 0..4).prop_map(form_encode)
}

fn payload(body: Body, valid: Value) -> impl Strategy<Value = Payload> {
    let as_form = matches!(body, Body::Form);
    prop_oneof![
        6 => mutated(valid).prop_map(move |v| {
            if as_form {
                let pairs = v.as_object().into_iter().flatten().map(|(k, v)| {
                    (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
                });
                Payload::Form(form_encode(pairs))
            } else {
                Payload::Json(v.to_string().into_bytes())
            }
        }),
        1 => any_json().prop_map(|v| Payload::Json(v.to_string().into_bytes())),
        1 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(Payload::Json),
        1 => form_body().prop_map(Payload::Form),
        1 => (
            prop_oneof![
                Just("text/plain".to_owned()),
                Just("application/cbor".to_owned()),
                Just("multipart/form-data; boundary=x".to_owned()),
                "[ -~]{0,30}",
            ],
            proptest::collection::vec(any::<u8>(), 0..200)
        )
            .prop_map(|(t, b)| Payload::Other(t, b)),
    ]
}

async fn post(app: &TestApp, cookie: &str, path: &str, payload: &Payload) -> (u16, String) {
    let (content_type, bytes) = match payload {
        Payload::Json(b) => ("application/json".to_owned(), b.clone()),
        Payload::Form(b) => ("application/x-www-form-urlencoded".to_owned(), b.clone()),
        Payload::Other(t, b) => (t.clone(), b.clone()),
    };
    let mut request = app
        .http
        .post(format!("{}{path}", app.base))
        .header("origin", &app.base)
        .header("cookie", cookie)
        .body(bytes);
    if let Ok(value) = http::HeaderValue::from_str(&content_type) {
        request = request.header("content-type", value);
    }
    match request.send().await {
        Ok(reply) => {
            let status = reply.status().as_u16();
            (status, reply.text().await.unwrap_or_default())
        }
        Err(e) => (0, format!("no reply: {e}")),
    }
}

super::on_both_engines!(any_server_function_payload_is_refused_cleanly_or_applied_whole);

fn any_server_function_payload_is_refused_cleanly_or_applied_whole(engine: super::Engine) {
    let runtime = super::runtime();
    let Some(test_db) = engine.open(&runtime) else {
        return;
    };
    let db = test_db.db.clone();
    let app = runtime.block_on(spawn(db.clone()));
    runtime.block_on(common::app::add_user(
        &db,
        "matrix-target",
        desk_core::model::Role::Operator,
        "matrix-password",
    ));
    let admin = runtime.block_on(app.login(ADMIN));
    let registered: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .collect();
    let table = table();
    let valid: BTreeMap<String, (Body, Value)> = registered
        .iter()
        .filter_map(|p| {
            table
                .get(p.as_str())
                .map(|c| (p.clone(), (c.body, c.payload.clone())))
        })
        .collect();
    assert_eq!(
        valid.len(),
        registered.len(),
        "every function has a payload"
    );
    let start = runtime.block_on(snapshot(&db)).1;

    let tally = Tally::default();
    let check = |path: &str, payload: &Payload| -> Result<(), TestCaseError> {
        let before = runtime.block_on(snapshot(&db));
        let (status, body) = runtime.block_on(post(&app, &admin, path, payload));
        let after = runtime.block_on(snapshot(&db));
        prop_assert!(status != 0, "{path}: {body}");
        tally.add(format!("{}xx", status / 100));
        let gocards_error = ASK_GOCARDS.contains(&path) && matches!(status, 502..=504);
        prop_assert!(
            status < 500 || gocards_error,
            "{path} answered {status}: {body}"
        );
        if status >= 400 {
            for leak in [
                "panicked",
                "sqlx",
                "SQLITE",
                "serde",
                "at line",
                "Deserialize",
                "error returned from database",
                "invalid byte sequence",
            ] {
                prop_assert!(!body.contains(leak), "{path} leaked {leak:?}: {body}");
            }
            prop_assert_eq!(
                &before.0,
                &after.0,
                "{} refused ({}) but changed something",
                path,
                status
            );
        }
        prop_assert_eq!(after.1, start, "a card changed without its history row");
        Ok(())
    };

    for (name, bytes) in seeds("server_fns") {
        let mut parts = name.rsplitn(3, '.');
        let (kind, _, function) = (parts.next(), parts.next(), parts.next());
        let path = format!("/api/{}", function.unwrap_or_default());
        assert!(valid.contains_key(&path), "seed {name}: no function {path}");
        let payload = match kind {
            Some("json") => Payload::Json(bytes),
            Some("form") => Payload::Form(bytes),
            _ => Payload::Other("application/octet-stream".to_owned(), bytes),
        };
        if let Err(failure) = check(&path, &payload) {
            panic!("seed {name}: {failure}");
        }
    }

    let input = proptest::sample::select(valid.into_iter().collect::<Vec<_>>())
        .prop_flat_map(|(path, (body, valid))| (Just(path), payload(body, valid)));
    if let Err(failure) =
        runner("server_fns", engine).run(&input, |(path, payload)| check(&path, &payload))
    {
        panic!("{failure}");
    }
    tally.report("server_fns", &["2xx", "4xx"]);
}
