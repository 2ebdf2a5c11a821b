//! The app as an attacker meets it: log-in throttling, session fixation, cross-origin
//! writes to every server function, security headers, and secrets that never leave the server.

use testkit as common;

use app::api::{
    AdminAuditLog, AdminUsers, GocardsConnection, SaveGocardsConnection, SearchCards, SyncStatus,
    TestGocardsConnection, Whoami,
};
use common::app::{session_cookie, spawn, ADMIN, OPERATOR};
use desk_core::model::{CardSearch, ConnectionSettingsInput};
use secrecy::ExposeSecret;

#[tokio::test]
async fn repeated_failures_are_throttled_and_successes_never_count() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    // Many good log-ins: never throttled.
    for _ in 0..30 {
        let (status, _) = app.login_attempt(ADMIN).await;
        assert!(status < 400, "a good log-in: {status}");
    }
    for attempt in 1..=5 {
        let (status, body) = app.login_attempt((OPERATOR.0, "wrong-password")).await;
        assert_eq!(status, 401, "failure {attempt}: {body}");
        assert!(body.contains("Invalid username or password"), "{body}");
    }
    let (status, body) = app.login_attempt((OPERATOR.0, "wrong-password")).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("Too many failed attempts. Wait"), "{body}");
    // Blocked means blocked: the right password does not get through either.
    let (status, _) = app.login_attempt(OPERATOR).await;
    assert_eq!(status, 429);
    // Other users are not affected.
    let (status, _) = app.login_attempt(ADMIN).await;
    assert!(status < 400, "{status}");
}

#[tokio::test]
async fn the_session_id_changes_at_log_in() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    let first = app.login(OPERATOR).await;
    // Log in again, presenting the first session: a new id comes back.
    let reply = common::desk::log_in_request(&app.http, &app.base, OPERATOR.0, OPERATOR.1)
        .header("cookie", &first)
        .send()
        .await
        .expect("login");
    let second = session_cookie(&reply).expect("a new cookie");
    assert_ne!(first, second);
    // The old id no longer opens anything.
    let (status, _) = app
        .call_fn(
            Some(&first),
            SearchCards {
                search: CardSearch::default(),
            },
        )
        .await;
    assert_eq!(status, 401);
    // A planted id (never issued) is not adopted either.
    let planted = "carddesk.sid=planted-by-an-attacker";
    let reply = common::desk::log_in_request(&app.http, &app.base, OPERATOR.0, OPERATOR.1)
        .header("cookie", planted)
        .send()
        .await
        .expect("login");
    assert_ne!(session_cookie(&reply).as_deref(), Some(planted));
}

#[tokio::test]
async fn a_cross_origin_post_to_any_server_function_is_refused() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    let admin = app.login(ADMIN).await;
    let paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .collect();
    assert!(paths.len() >= 15, "{paths:?}");
    let audit_before = app.db.count_audit().await.expect("audit");
    for path in &paths {
        for (origin, site) in [
            (Some("https://evil.example"), None),
            (None, Some("cross-site")),
        ] {
            let mut request = app
                .http
                .post(format!("{}{path}", app.base))
                .header("cookie", &admin)
                .header("content-type", "application/json")
                .body("{}");
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            if let Some(site) = site {
                request = request.header("sec-fetch-site", site);
            }
            let status = request.send().await.expect("post").status().as_u16();
            assert_eq!(status, 403, "{path} from {origin:?} / {site:?}");
        }
    }
    assert_eq!(app.db.count_audit().await.expect("audit"), audit_before);
    assert!(app.db.sync_runs(1).await.expect("runs").is_empty());
}

#[tokio::test]
async fn pages_carry_a_nonce_csp_and_the_other_security_headers() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    let reply = app
        .http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .expect("page");
    let headers = reply.headers().clone();
    let html = reply.text().await.expect("html");
    let csp = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .expect("a CSP")
        .to_owned();
    for part in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce");
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the inline scripts carry it"
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(
        headers
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
    assert_eq!(
        headers.get("x-frame-options").and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    // A new nonce per response.
    let again = app
        .http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .expect("page");
    let csp_again = again
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_ne!(csp, csp_again);
}

#[tokio::test]
async fn secrets_never_reach_pages_or_server_function_replies() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    let admin = app.login(ADMIN).await;
    // A client secret saved in the settings view, and the webhook key of demo mode.
    let client_secret = "Cl1entSecret-never-shown-8d1e";
    let (status, body) = app
        .call_fn(
            Some(&admin),
            SaveGocardsConnection {
                settings: ConnectionSettingsInput {
                    client_secret: client_secret.into(),
                    ..Default::default()
                },
            },
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let webhook_secret = app
        .state
        .webhook_secret
        .as_ref()
        .expect("demo webhook key")
        .expose_secret()
        .to_owned();
    let mut seen = String::new();
    for page in [
        "/search",
        "/admin/gocards",
        "/admin/sync",
        "/admin/audit",
        "/admin/users",
        "/admin/accounts",
    ] {
        let (_, html) = app.page(page, Some(&admin)).await;
        seen.push_str(&html);
    }
    for (_, body) in [
        app.call_fn(Some(&admin), GocardsConnection {}).await,
        app.call_fn(Some(&admin), SyncStatus {}).await,
        app.call_fn(Some(&admin), AdminAuditLog {}).await,
        app.call_fn(Some(&admin), AdminUsers {}).await,
        app.call_fn(Some(&admin), Whoami {}).await,
    ] {
        seen.push_str(&body.to_string());
    }
    let (_, body) = app
        .call_fn(
            Some(&admin),
            TestGocardsConnection {
                settings: ConnectionSettingsInput::default(),
            },
        )
        .await;
    seen.push_str(&body.to_string());
    assert!(seen.len() > 10_000, "the pages were read");
    assert!(!seen.contains(client_secret), "the client secret leaked");
    assert!(!seen.contains(&webhook_secret), "the webhook secret leaked");
}

#[tokio::test]
async fn holder_names_with_markup_are_shown_inert() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    let card = backend::db::cards::NewCard {
        card_id: "CA2500000001-XSSX0001".into(),
        first_name: "<script>alert(1)</script>".into(),
        last_name: "<img src=x onerror=alert(2)>".into(),
        email: "x@example.org".into(),
        employee_id: "\"><b>E</b>".into(),
        state: desk_core::domain::CardState::Ordered,
        ordered_at: Some(1_763_000_000_000),
    };
    app.db.insert_cards(&[card], |_| {}).await.expect("insert");
    let operator = app.login(OPERATOR).await;
    for page in ["/cards/CA2500000001-XSSX0001", "/search?status=ordered"] {
        let (_, html) = app.page(page, Some(&operator)).await;
        assert!(!html.contains("<script>alert(1)"), "{page}");
        assert!(!html.contains("<img src=x"), "{page}");
        assert!(!html.contains("<b>E</b>"), "{page}");
        if page.starts_with("/cards") {
            assert!(
                html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{page} shows it as text"
            );
        }
    }
}

/// Every route the app serves — the pages from the app's own route list, plus the server's
/// own routes — as anonymous, operator and admin. A page added without a row here fails.
#[tokio::test]
async fn every_route_as_anonymous_operator_and_admin() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let operator = app.login(OPERATOR).await;
    let admin = app.login(ADMIN).await;
    let card = common::app::cards()[0].card_id.clone();
    let (holders, _) =
        t.db.search_holders(&desk_core::model::HolderSearch::default())
            .await
            .expect("holders");
    let user_id = holders[0].holder_id.to_string();

    // (path as routed, [anonymous, operator, admin]); all GET.
    let pages: &[(&str, [u16; 3])] = &[
        ("/", [303, 303, 303]),
        ("/login", [200, 303, 303]),
        ("/search", [303, 200, 200]),
        ("/cards/{card_id}", [303, 200, 200]),
        ("/users/{user_id}", [303, 200, 200]),
        ("/jobs", [303, 200, 200]),
        // No job was started: an unknown job is a 404 page.
        ("/jobs/{job_id}", [303, 404, 404]),
        ("/admin", [303, 303, 303]),
        ("/admin/", [303, 303, 303]),
        ("/admin/cards", [303, 403, 200]),
        ("/admin/gocards", [303, 403, 200]),
        ("/admin/sync", [303, 403, 200]),
        ("/admin/users", [303, 403, 200]),
        ("/admin/accounts", [303, 403, 200]),
        ("/admin/audit", [303, 403, 200]),
    ];
    let routed: std::collections::BTreeSet<String> = leptos_axum::generate_route_list(app::App)
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    let listed: std::collections::BTreeSet<String> =
        pages.iter().map(|(p, _)| (*p).to_owned()).collect();
    let missing: Vec<&String> = routed.difference(&listed).collect();
    assert!(missing.is_empty(), "routes without a row: {missing:?}");

    // (method, path, [anonymous, operator, admin])
    let server_routes: [(&str, &str, [u16; 3]); 4] = [
        ("GET", "/healthz", [200, 200, 200]),
        ("GET", "/readyz", [200, 200, 200]),
        // Unsigned: refused whoever sends it.
        ("POST", "/webhooks/gocards", [401, 401, 401]),
        // Anonymous visitors learn nothing about which addresses exist.
        ("GET", "/no-such-page", [303, 404, 404]),
    ];
    let rows = pages
        .iter()
        .map(|(path, expect)| ("GET", *path, *expect))
        .chain(server_routes);
    let mut wrong = Vec::new();
    for (method, routed_path, expect) in rows {
        let path = routed_path
            .replace("{card_id}", &card)
            .replace("{user_id}", &user_id)
            .replace("{job_id}", "1");
        for (who, cookie, expected) in [
            ("anonymous", None, expect[0]),
            ("operator", Some(operator.as_str()), expect[1]),
            ("admin", Some(admin.as_str()), expect[2]),
        ] {
            let mut request = match method {
                "POST" => app
                    .http
                    .post(format!("{}{path}", app.base))
                    .header("origin", &app.base)
                    .body("{}"),
                _ => app.http.get(format!("{}{path}", app.base)),
            };
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let reply = request.send().await.expect("request");
            let status = reply.status().as_u16();
            let location = reply
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if status != expected {
                wrong.push(format!(
                    "{method} {path} as {who}: {status} (location {location:?}), expected {expected}"
                ));
            }
            if status == 303 && cookie.is_none() && location != "/login" {
                wrong.push(format!(
                    "{path} as {who}: to {location}, not the log-in page"
                ));
            }
            if status == 303
                && cookie.is_some()
                && !location.starts_with("/search")
                && !location.starts_with("/admin/cards")
            {
                wrong.push(format!("{path} as {who}: to {location}"));
            }
            if status == 403
                && !reply
                    .text()
                    .await
                    .unwrap_or_default()
                    .contains("Not allowed")
            {
                wrong.push(format!("{path} as {who}: 403 without \"Not allowed\""));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // A path that climbs out of the asset directory, sent byte for byte (an HTTP client
    // would normalise it away): no file outside it is served.
    for raw_path in [
        "/pkg/../../../../../../etc/passwd",
        "/pkg/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    ] {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = app.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
        let request =
            format!("GET {raw_path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.expect("read");
        let reply = String::from_utf8_lossy(&reply);
        let status_line = reply.lines().next().unwrap_or_default().to_owned();
        assert!(
            status_line.contains(" 404 ")
                || status_line.contains(" 400 ")
                || status_line.contains(" 303 "),
            "{raw_path}: {status_line}"
        );
        assert!(
            !reply.contains("root:"),
            "{raw_path} served a file outside the site"
        );
    }

    // Logging out is a POST of a session's own: afterwards the session is gone.
    let reply = app
        .http
        .post(format!("{}/logout", app.base))
        .header("origin", &app.base)
        .header("cookie", &operator)
        .send()
        .await
        .expect("logout");
    assert!(reply.status().is_redirection(), "{}", reply.status());
    let reply = app
        .http
        .get(format!("{}/search", app.base))
        .header("cookie", &operator)
        .send()
        .await
        .expect("search");
    assert_eq!(
        reply.status().as_u16(),
        303,
        "the old session no longer works"
    );
}
