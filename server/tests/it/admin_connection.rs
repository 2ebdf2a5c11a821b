//! GO Cards connection settings: field rules, Test connection against the simulator, the
//! write-only encrypted secret, switching the live client, env vars winning, and restarts.

use testkit as common;

use app::api::{
    GocardsConnection, SaveGocardsConnection, TestGocardsConnection, UpdateCardOrder, Whoami,
};
use common::app::{spawn, test_config, TestApp, ADMIN, OPERATOR};
use common::db::TestDb;
use desk_core::model::ConnectionSettingsInput;
use gocards_sim::{FaultMode, FaultSpec};
use serde_json::{json, Value};

/// The in-process simulator's real login, as the admin would type it.
fn sim_login(app: &TestApp) -> ConnectionSettingsInput {
    let sim = app.sim.config();
    ConnectionSettingsInput {
        base_url: format!("http://{}", app.sim_addr),
        client_id: sim.client_id.clone(),
        client_secret: sim.client_secret.clone(),
        organisation_id: sim.organisation_id.clone(),
        timeout_ms: String::new(),
    }
}

/// Only the base URL typed (the other fields empty, as `#[serde(default)]` reads a body
/// that leaves them out).
fn base_url_only(base_url: &str) -> ConnectionSettingsInput {
    ConnectionSettingsInput {
        base_url: base_url.into(),
        ..Default::default()
    }
}

async fn test_connection(
    app: &TestApp,
    admin: &str,
    settings: ConnectionSettingsInput,
) -> (u16, Value) {
    app.call_fn(Some(admin), TestGocardsConnection { settings })
        .await
}

async fn save(app: &TestApp, admin: &str, settings: ConnectionSettingsInput) -> (u16, Value) {
    app.call_fn(Some(admin), SaveGocardsConnection { settings })
        .await
}

/// What Test connection must answer for these settings.
struct TestCase {
    settings: ConnectionSettingsInput,
    ok: bool,
    message: String,
}

fn refused_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn test_connection_reports_exactly_what_failed() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let admin = app.login(ADMIN).await;
    let good = sim_login(&app);
    let base = format!("GO Cards at http://{}/", app.sim_addr);

    let cases = [
        TestCase {
            settings: good.clone(),
            ok: true,
            message: format!("Connection works: {base} issued a token and answered an API call for organisation {}.", app.sim.config().organisation_id),
        },
        TestCase {
            settings: ConnectionSettingsInput { client_secret: "wrong".into(), ..good.clone() },
            ok: false,
            message: format!("Wrong credentials: {base} rejected the client ID or client secret."),
        },
        TestCase {
            settings: ConnectionSettingsInput { organisation_id: "OTHER-ORG".into(), ..good.clone() },
            ok: false,
            message: format!("Wrong organisation: {base} accepted the credentials but refused organisation OTHER-ORG."),
        },
        TestCase {
            settings: ConnectionSettingsInput { base_url: "http://127.0.0.1:9".into(), ..good.clone() },
            ok: false,
            message: "Could not reach GO Cards at http://127.0.0.1:9/. Check the base URL and the network.".to_owned(),
        },
    ];
    for TestCase {
        settings,
        ok,
        message,
    } in cases
    {
        let (status, body) = test_connection(&app, &admin, settings).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["ok"], ok, "{body}");
        assert_eq!(body["message"], message);
    }

    // The env var sets a 1500 ms timeout; the simulator waits longer.
    app.sim
        .set_fault(FaultSpec::new(FaultMode::Timeout).with_latency_ms(3000));
    let (_, body) = test_connection(&app, &admin, good.clone()).await;
    assert_eq!(
        body["message"],
        format!("Timeout: {base} did not answer within 1500 ms.")
    );
    app.sim.set_fault(FaultSpec::new(FaultMode::None));

    // Empty fields fall back: in demo mode with nothing typed, the simulator is tested.
    let (status, body) = test_connection(&app, &admin, ConnectionSettingsInput::default()).await;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)), "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("the built-in GO Cards simulator"));

    // Nothing was stored by testing; each test is in the audit log.
    assert_eq!(t.db.setting("gocards.base_url").await.expect("read"), None);
    let audit = t.db.audit_log(100).await.expect("audit");
    assert_eq!(audit.len(), 6, "{audit:?}");
    assert!(audit
        .iter()
        .all(|line| line.action == "test GO Cards connection" && line.actor == ADMIN.0));
    assert!(
        audit[0]
            .detail
            .contains("the built-in GO Cards simulator: works"),
        "{audit:?}"
    );
}

/// A second GO Cards double on another port that keeps every token request it receives.
async fn recording_double() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::routing::post;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let keep = seen.clone();
    let router = axum::Router::new().route(
        "/oauth/token",
        post(move |body: String| {
            let keep = keep.clone();
            async move {
                if let Ok(mut seen) = keep.lock() {
                    seen.push(body);
                }
                (axum::http::StatusCode::UNAUTHORIZED, "no")
            }
        }),
    );
    let addr = common::gocards::serve(router).await.expect("double");
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn test_connection_never_sends_the_stored_secret_to_another_host() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let admin = app.login(ADMIN).await;
    let stored = sim_login(&app);
    let (status, body) = save(&app, &admin, stored.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (other_url, seen) = recording_double().await;

    // Another host with the secret left empty: refused, nothing sent.
    for settings in [
        base_url_only(&other_url),
        ConnectionSettingsInput {
            base_url: other_url.clone(),
            client_id: stored.client_id.clone(),
            organisation_id: stored.organisation_id.clone(),
            ..Default::default()
        },
        // The host in force with another client ID: the secret is not sent for it either.
        ConnectionSettingsInput {
            client_id: "someone-else".into(),
            ..Default::default()
        },
    ] {
        let (status, body) = test_connection(&app, &admin, settings).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(refused_fields(&body), ["client_secret"], "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("Type the client secret"),
            "{body}"
        );
    }
    assert!(seen.lock().map(|s| s.is_empty()).unwrap_or(false));

    // The connection in force, secret empty: the stored secret goes where it belongs.
    let (status, body) = test_connection(&app, &admin, ConnectionSettingsInput::default()).await;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)), "{body}");

    // Typed again, the secret goes to the other host: the typed one, not the stored one.
    let (status, body) = test_connection(
        &app,
        &admin,
        ConnectionSettingsInput {
            base_url: other_url.clone(),
            client_secret: "typed-for-this-test".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(false)), "{body}");
    let bodies = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(bodies[0].contains("typed-for-this-test"), "{bodies:?}");
    assert!(!bodies[0].contains(&stored.client_secret), "{bodies:?}");

    // Plain http to a host other than this machine is refused outright.
    let (status, body) = test_connection(
        &app,
        &admin,
        ConnectionSettingsInput {
            base_url: "http://gocards.example:8080".into(),
            client_secret: "typed".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(refused_fields(&body), ["base_url"], "{body}");
}

#[tokio::test]
async fn invalid_input_is_refused_field_by_field_and_nothing_is_stored() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let admin = app.login(ADMIN).await;

    let (status, body) = save(&app, &admin, base_url_only("ftp://cards.example")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["kind"], "invalid");
    assert_eq!(refused_fields(&body), vec!["base_url"]);
    assert_eq!(
        body["errors"][0]["message"],
        "Base URL must start with http:// or https://."
    );

    // A base URL needs a client id, a secret and an organisation.
    let (status, body) = save(&app, &admin, base_url_only("https://cards.example")).await;
    assert_eq!(status, 400);
    assert_eq!(
        refused_fields(&body),
        vec!["client_id", "client_secret", "organisation_id"]
    );
    assert_eq!(
        body["errors"][0]["message"],
        "Client ID is required with a base URL."
    );
    let (status, body) = test_connection(
        &app,
        &admin,
        ConnectionSettingsInput {
            client_id: "  ".into(),
            ..base_url_only("https://cards.example")
        },
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(refused_fields(&body)[0], "client_id");

    assert_eq!(t.db.setting("gocards.base_url").await.expect("read"), None);
    assert_eq!(t.db.count_audit().await.expect("count"), 0);
}

common::engines!(saving_switches_the_live_client_keeps_the_secret_encrypted_and_audits);
async fn saving_switches_the_live_client_keeps_the_secret_encrypted_and_audits(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let admin = app.login(ADMIN).await;
    let operator = app.login(OPERATOR).await;
    let secret = app.sim.config().client_secret.clone();

    let (_, view) = app.call_fn(Some(&admin), GocardsConnection {}).await;
    assert_eq!(view["demo_mode"], true);
    assert_eq!(view["client_secret"], "not_set");
    assert_eq!(
        view["timeout_ms"],
        json!({"value": "1500", "from_env": true})
    );

    let (status, body) = save(&app, &admin, sim_login(&app)).await;
    assert_eq!(status, 200, "{}: {body}", t.name);
    assert_eq!(body["restart_needed"], false);
    assert_eq!(
        body["message"],
        format!(
            "Saved. The app now uses GO Cards at http://{}/.",
            app.sim_addr
        )
    );
    assert_eq!(body["settings"]["demo_mode"], false);
    assert_eq!(body["settings"]["client_secret"], "stored");
    assert!(
        !body.to_string().contains(&secret),
        "the secret never goes back"
    );

    // Encrypted at rest; never in the audit log.
    let stored =
        t.db.setting("gocards.client_secret")
            .await
            .expect("read")
            .unwrap_or_default();
    assert!(
        stored.starts_with("v1:") && !stored.contains(&secret),
        "{stored}"
    );
    let log = t.db.audit_log(10).await.expect("audit");
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for key in ["base_url", "client_id", "client_secret", "organisation_id"] {
        assert!(
            actions.contains(&format!("set gocards.{key}").as_str()),
            "{actions:?}"
        );
    }
    assert!(log
        .iter()
        .all(|e| e.actor == "admin" && !e.detail.contains(&secret)));

    // The badge follows the live client, and operators work through it at once.
    let (_, me) = app.call_fn(Some(&operator), Whoami {}).await;
    assert_eq!(me["demo_mode"], false, "{}: {me}", t.name);
    let (status, body) = app
        .call_fn(
            Some(&operator),
            UpdateCardOrder {
                card_id: "CA2202040404-5GG3F4C8".into(),
                expected_version: 1,
            },
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Saving again with an empty secret keeps it; saving the same values changes nothing.
    let (status, body) = save(
        &app,
        &admin,
        ConnectionSettingsInput {
            client_secret: String::new(),
            ..sim_login(&app)
        },
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["message"], "Saved. Nothing had changed.");

    // No base URL: back to the simulator, which is still running.
    let (status, body) = save(&app, &admin, ConnectionSettingsInput::default()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["restart_needed"], false);
    assert_eq!(body["settings"]["demo_mode"], true, "{}", t.name);
}

#[tokio::test]
async fn stored_settings_are_used_at_start_and_env_vars_win() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let admin = app.login(ADMIN).await;
    let (status, _) = save(&app, &admin, sim_login(&app)).await;
    assert_eq!(status, 200);

    // A restart with the same data folder (and so the same key) connects to the stored URL.
    let config = test_config(app.data_dir().to_path_buf());
    let running = server::startup::build(&config, t.db.clone())
        .await
        .expect("restart");
    assert!(running.simulator.is_none(), "not demo mode");
    assert!(!running.state.gocards.is_simulator());
    assert_eq!(
        running.state.gocards.current().base_url().as_str(),
        format!("http://{}/", app.sim_addr)
    );

    // Going back to demo mode now needs a restart: this process started no simulator.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, running.router).await;
    });
    let admin2 = common::desk::log_in(&app.http, &base, ADMIN.0, ADMIN.1)
        .await
        .expect("a session");
    let res = common::desk::server_fn_request(
        &app.http,
        &base,
        Some(&admin2),
        &SaveGocardsConnection {
            settings: ConnectionSettingsInput::default(),
        },
    )
    .send()
    .await
    .expect("save");
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["restart_needed"], true);
    assert!(body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("restart the server"));

    // Env vars win, and the view marks them.
    let mut config = test_config(app.data_dir().to_path_buf());
    config.gocards.base_url = Some(format!("http://{}", app.sim_addr));
    config.gocards.client_id = Some(app.sim.config().client_id.clone());
    config.gocards.client_secret = Some(app.sim.config().client_secret.clone().into());
    config.gocards.organisation_id = Some(app.sim.config().organisation_id.clone());
    let running = server::startup::build(&config, t.db.clone())
        .await
        .expect("env start");
    assert!(running.simulator.is_none());
    let view = backend::settings::view_connection(&running.state)
        .await
        .expect("view");
    assert!(view.base_url.from_env && view.client_id.from_env && view.organisation_id.from_env);
    assert_eq!(view.client_secret, desk_core::model::SecretStatus::FromEnv);

    // Another SETTINGS_KEY cannot read the stored secret: the server says so at start.
    let (status, _) = save(&app, &admin, sim_login(&app)).await;
    assert_eq!(status, 200);
    let mut config = test_config(app.data_dir().to_path_buf());
    config.settings_key = Some("a-different-key".to_owned().into());
    let error = server::startup::build(&config, t.db.clone())
        .await
        .err()
        .map(|e| e.to_string());
    assert!(
        error
            .as_deref()
            .unwrap_or_default()
            .contains("SETTINGS_KEY"),
        "{error:?}"
    );
}
