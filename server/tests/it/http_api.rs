//! The HTTP surface as a browser or an attacker meets it: sessions, roles, status codes,
//! same-origin checks, redirects.

use testkit as common;

use app::api::{SearchCards, UpdateCardOrder, Whoami};
use common::app::{session_cookie, spawn, OPERATOR};
use desk_core::domain::CardState;
use desk_core::model::CardSearch;
use serde_json::json;

#[tokio::test]
async fn server_functions_refuse_without_a_session_and_with_bad_payloads() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;

    let (status, body) = app
        .call_fn(
            None,
            SearchCards {
                search: CardSearch {
                    page: 1,
                    ..Default::default()
                },
            },
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["kind"], "unauthenticated");

    let (status, _) = app
        .call_fn(
            None,
            UpdateCardOrder {
                card_id: "CA2202040404-5GG3F4C8".into(),
                expected_version: 1,
            },
        )
        .await;
    assert_eq!(status, 401);

    let cookie = app.login(OPERATOR).await;
    // Malformed on purpose: no typed `SearchCards` can carry a string as its search.
    let (status, body) = app
        .call(
            "search_cards",
            Some(&cookie),
            json!({"search": "not a search"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["kind"], "bad_request");
    let raw = app
        .http
        .post(format!("{}/api/search_cards", app.base))
        .header("content-type", "application/json")
        .header("cookie", &cookie)
        .body("{\"search\": {")
        .send()
        .await
        .expect("send");
    assert_eq!(raw.status().as_u16(), 400);
    let text = raw.text().await.unwrap_or_default();
    assert!(
        !text.contains("expected") && !text.contains("line"),
        "parser internals leaked: {text}"
    );

    // Over-long fields: a clear 400, not a 500.
    let long = "x".repeat(201);
    let (status, body) = app
        .call_fn(
            Some(&cookie),
            SearchCards {
                search: CardSearch {
                    last_name: long,
                    page: 1,
                    ..Default::default()
                },
            },
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Last name is too long"));

    // An unknown state in the payload is a bad request too (raw: `CardState` has no such
    // value to serialise).
    let (status, _) = app
        .call("search_cards", Some(&cookie), json!({"search": {"status": "shipped", "first_name": "", "last_name": "", "email": "", "employee_id": "", "page": 1, "sort": {"column": "card_id", "descending": false}}}))
        .await;
    assert_eq!(status, 400);
}

/// Without the WASM (not loaded yet, or failed to start) the log-in form posts natively, with
/// `Accept: text/html`: a wrong password brings the person back to the form with the error,
/// a 302 to the page they came from, not a dead 401 page.
#[tokio::test]
async fn a_log_in_form_posted_without_script_comes_back_to_the_form() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let referer = format!("{}/login", app.base);
    for (password, to) in [("wrong-password", "back to the form"), (OPERATOR.1, "in")] {
        let res = common::desk::log_in_request(&app.http, &app.base, OPERATOR.0, password)
            .header("accept", "text/html,application/xhtml+xml")
            .header("referer", &referer)
            .send()
            .await
            .expect("login");
        assert!(
            res.status().is_redirection(),
            "{to}: {} instead of a redirect",
            res.status()
        );
        assert!(res.headers().contains_key("location"), "{to}: no Location");
    }
}

#[tokio::test]
async fn login_search_and_logout() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;

    let res = common::desk::log_in_request(&app.http, &app.base, "operator", "wrong-password")
        .send()
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(session_cookie(&res), None, "no session for a failed login");
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    assert_eq!(body["kind"], "invalid_credentials");

    let cookie = app.login(OPERATOR).await;
    let search = SearchCards {
        search: CardSearch {
            status: Some(CardState::Ordered),
            last_name: "BE".into(),
            page: 1,
            ..Default::default()
        },
    };
    let (status, body) = app.call_fn(Some(&cookie), search.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"][0]["card_id"], "CA2202040404-5GG3F4C8");
    assert_eq!(body["rows"].as_array().map(Vec::len), Some(1));

    // Pages need a session; the log-in page does not.
    let page = app
        .http
        .get(format!("{}/search", app.base))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status().as_u16(), 303);
    assert_eq!(page.headers()["location"], "/login");
    let page = app
        .http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .expect("login page");
    assert_eq!(page.status().as_u16(), 200);
    let page = app
        .http
        .get(format!("{}/search?status=ordered", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("search page");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap_or_default();
    assert!(
        html.contains("CA2202040404-5GG3F4C8"),
        "SSR renders the results"
    );

    let out = app
        .http
        .post(format!("{}/logout", app.base))
        .header("cookie", &cookie)
        .header("origin", &app.base)
        .send()
        .await
        .expect("logout");
    assert!(out.status().is_redirection());
    let (status, _) = app.call_fn(Some(&cookie), search).await;
    assert_eq!(status, 401, "the old cookie is dead after log-out");
}

#[tokio::test]
async fn cross_origin_posts_are_refused() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    for (header, value) in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = app
            .http
            .post(format!("{}/api/update_card_order", app.base))
            .header("content-type", "application/json")
            .header("cookie", &cookie)
            .header(header, value)
            .body(json!({"card_id": "CA2202040404-5GG3F4C8", "expected_version": 1}).to_string())
            .send()
            .await
            .expect("send");
        assert_eq!(res.status().as_u16(), 403, "{header}: {value}");
    }
    // Nothing happened to the card.
    assert_eq!(
        t.db.count_history("CA2202040404-5GG3F4C8")
            .await
            .expect("count"),
        0
    );
    assert!(app.sim.calls().is_empty(), "GO Cards was not asked");
}

#[tokio::test]
async fn health_checks_are_public() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    for path in ["/healthz", "/readyz"] {
        let res = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("get");
        assert_eq!(res.status().as_u16(), 200, "{path}");
    }
}

#[tokio::test]
async fn sessions_end_after_the_idle_time_but_not_while_in_use() {
    let t = common::db::sqlite().await;
    let app = common::app::spawn_with(t.db.clone(), |config| {
        config.session_idle = std::time::Duration::from_secs(3);
    })
    .await;
    let cookie = app.login(OPERATOR).await;
    let whoami = |cookie: String| {
        let app = &app;
        async move {
            let (_, body) = app.call_fn(Some(&cookie), Whoami {}).await;
            body["user"]["username"].as_str().map(str::to_owned)
        }
    };
    // Busy for 5 s (longer than the idle time): still logged in.
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        assert_eq!(whoami(cookie.clone()).await.as_deref(), Some("operator"));
    }
    // Then idle for longer than 3 s: logged out.
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    assert_eq!(whoami(cookie).await, None, "the idle session ended");
}
