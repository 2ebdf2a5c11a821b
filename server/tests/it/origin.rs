//! The same-origin check as deployments meet it: behind a proxy that rewrites `Host`
//! (`PUBLIC_ORIGIN` names the origin browsers use), over HTTP/2 (no `Host`, the authority is
//! in the URI), and `Strict-Transport-Security` when cookies are secure.

use testkit as common;

use common::app::{spawn, spawn_with, TestApp, OPERATOR};
use server::origin::PublicOrigin;

/// The log-in form's POST, as a browser on `origin` sends it: its status and whether it
/// set a session cookie.
async fn log_in_from(app: &TestApp, http: &reqwest::Client, origin: &str) -> (u16, bool) {
    let res = testkit::desk::log_in_request(http, &app.base, OPERATOR.0, OPERATOR.1)
        .header("origin", origin)
        .send()
        .await
        .expect("log-in request");
    (
        res.status().as_u16(),
        testkit::desk::session_cookie(&res).is_some(),
    )
}

#[tokio::test]
async fn with_a_public_origin_only_that_origin_may_post() {
    let public = "https://desk.example";
    let test_db = common::db::sqlite().await;
    let app = spawn_with(test_db.db.clone(), |config| {
        config.public_origin = Some(PublicOrigin::parse(public).expect("origin"));
    })
    .await;
    // The proxy sent the request on to 127.0.0.1:port; the browser was on the public origin.
    let (status, cookie) = log_in_from(&app, &app.http, public).await;
    assert!(
        (200..400).contains(&status) && cookie,
        "from {public}: {status}"
    );
    for other in [
        app.base.as_str(),
        "https://evil.example",
        "http://desk.example",
    ] {
        let (status, cookie) = log_in_from(&app, &app.http, other).await;
        assert_eq!((status, cookie), (403, false), "from {other}");
    }
}

#[tokio::test]
async fn an_http2_client_can_log_in() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = testkit::desk::log_in_request(&h2, &app.base, OPERATOR.0, OPERATOR.1)
        .header("origin", &app.base)
        .send()
        .await
        .expect("log-in over HTTP/2");
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    let status = res.status().as_u16();
    assert!(
        (200..400).contains(&status) && testkit::desk::session_cookie(&res).is_some(),
        "log-in over HTTP/2: {status}"
    );
    // Another origin is still refused over HTTP/2.
    let (status, cookie) = log_in_from(&app, &h2, "http://evil.example").await;
    assert_eq!((status, cookie), (403, false));
}

#[tokio::test]
async fn hsts_is_sent_when_cookies_are_secure() {
    let hsts = |res: &reqwest::Response| {
        res.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let test_db = common::db::sqlite().await;
    let secure = spawn_with(test_db.db.clone(), |config| {
        config.cookie_secure = true;
    })
    .await;
    for path in ["/login", "/healthz", "/no-such-page"] {
        let res = secure
            .http
            .get(format!("{}{path}", secure.base))
            .send()
            .await
            .expect("get");
        assert_eq!(hsts(&res).as_deref(), Some("max-age=31536000"), "{path}");
    }
    let plain_db = common::db::sqlite().await;
    let plain = spawn(plain_db.db.clone()).await;
    let res = plain
        .http
        .get(format!("{}/login", plain.base))
        .send()
        .await
        .expect("get");
    assert_eq!(hsts(&res), None, "no HSTS without COOKIE_SECURE");
}
