//! Log-in under attack, and sessions that end for good: failures under other names never
//! refuse a right password; parallel guesses get no more checks than the free failures; a
//! locked-out user waits a bounded delay; bad usernames answer 400; a disabled user's copied
//! cookie stays dead after re-enabling; `SESSION_MAX_HOURS` ends even a busy session.

use std::time::Duration;

use testkit as common;

use app::api::{SearchCards, SetUserEnabled, Whoami};
use common::app::{add_user, session_cookie, spawn, spawn_with, ADMIN, OPERATOR};
use desk_core::model::{CardSearch, Role};

async fn can_search(app: &common::app::TestApp, cookie: &str) -> u16 {
    app.call_fn(
        Some(cookie),
        SearchCards {
            search: CardSearch::default(),
        },
    )
    .await
    .0
}

#[tokio::test]
async fn failures_under_other_names_never_refuse_a_right_password() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    // More failures from this address than its budget of password checks (20).
    let names: Vec<String> = (0..40).map(|n| format!("made-up-{n}")).collect();
    let failures = names.iter().map(|name| app.login_attempt((name, "guess")));
    for (status, body) in futures::future::join_all(failures).await {
        assert!(matches!(status, 401 | 503), "{status}: {body}");
    }
    // The admin's right password, from the same address, gets in.
    let (status, body) = app.login_attempt(ADMIN).await;
    assert!(status < 400, "{status}: {body}");
    // A real user's wrong password is still checked and answered as wrong, not throttled.
    let (status, body) = app.login_attempt((OPERATOR.0, "wrong-password")).await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn parallel_guesses_for_one_user_get_no_more_checks_than_the_free_failures() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    let guesses = (0..60).map(|n| {
        let app = &app;
        async move {
            app.login_attempt((OPERATOR.0, &format!("guess-{n}")))
                .await
                .0
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    // Five tries start; one may find no free check in time (503, not counted).
    let checked = statuses.iter().filter(|s| matches!(s, 401 | 503)).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked, 5, "{statuses:?}");
    assert_eq!(throttled, 55, "{statuses:?}");
}

#[tokio::test]
async fn a_locked_out_user_waits_a_short_delay_then_may_try_again() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    for _ in 0..5 {
        assert_eq!(app.login_attempt((OPERATOR.0, "wrong")).await.0, 401);
    }
    let (status, body) = app.login_attempt(OPERATOR).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("Wait 2 s") || body.contains("Wait 1 s"),
        "{body}"
    );
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (status, body) = app.login_attempt(OPERATOR).await;
    assert!(status < 400, "after the delay: {status} {body}");
}

#[tokio::test]
async fn usernames_that_cannot_exist_are_refused_with_400() {
    let test_db = common::db::postgres().await;
    let Some(test_db) = test_db else { return };
    let app = spawn(test_db.db.clone()).await;
    for bad in ["ad\u{0}min", "has space", "\u{0}", "x\u{7}"] {
        let (status, body) = app.login_attempt((bad, "whatever")).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert!(body.contains("A username is 1 to 64"), "{body}");
    }
    // NUL in the password is just a wrong password.
    let (status, _) = app.login_attempt((ADMIN.0, "pass\u{0}word")).await;
    assert_eq!(status, 401);
}

async fn set_enabled(app: &common::app::TestApp, admin: &str, username: &str, enabled: bool) {
    let (status, body) = app
        .call_fn(
            Some(admin),
            SetUserEnabled {
                username: username.to_owned(),
                enabled,
            },
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn disabled_users_copied_cookie_stays_refused_after_re_enabling(test_db: common::db::TestDb) {
    let app = spawn(test_db.db.clone()).await;
    add_user(&test_db.db, "alice", Role::Operator, "alice-password").await;
    let admin = app.login(ADMIN).await;
    let copied = app.login(("alice", "alice-password")).await;
    assert_eq!(can_search(&app, &copied).await, 200);

    set_enabled(&app, &admin, "alice", false).await;
    assert_eq!(can_search(&app, &copied).await, 401);
    set_enabled(&app, &admin, "alice", true).await;
    assert_eq!(
        can_search(&app, &copied).await,
        401,
        "revived by re-enabling"
    );
    let (status, body) = app.call_fn(Some(&copied), Whoami {}).await;
    assert_eq!((status, &body["user"]), (200, &serde_json::Value::Null));

    // Alice logs in again: a new session that works.
    let fresh = app.login(("alice", "alice-password")).await;
    assert_ne!(fresh, copied);
    assert_eq!(can_search(&app, &fresh).await, 200);
}
common::engines!(disabled_users_copied_cookie_stays_refused_after_re_enabling);

#[tokio::test]
async fn a_log_in_on_a_disabled_users_session_gets_a_new_id() {
    let test_db = common::db::sqlite().await;
    let app = spawn(test_db.db.clone()).await;
    add_user(&test_db.db, "alice", Role::Operator, "alice-password").await;
    let admin = app.login(ADMIN).await;
    let alices = app.login(("alice", "alice-password")).await;
    set_enabled(&app, &admin, "alice", false).await;
    // Bob (the operator) logs in on the browser Alice used.
    let reply = common::desk::log_in_request(&app.http, &app.base, OPERATOR.0, OPERATOR.1)
        .header("cookie", &alices)
        .send()
        .await
        .expect("login");
    let bobs = session_cookie(&reply).expect("a cookie");
    assert_ne!(bobs, alices);
    assert_eq!(can_search(&app, &bobs).await, 200);
    // Alice's copy of her old cookie is not Bob's session.
    assert_eq!(can_search(&app, &alices).await, 401);
}

#[tokio::test]
async fn sessions_end_after_their_maximum_age_however_busy() {
    let test_db = common::db::sqlite().await;
    let app = spawn_with(test_db.db.clone(), |config| {
        config.session_max_age = Duration::from_secs(2);
    })
    .await;
    let cookie = app.login(OPERATOR).await;
    for _ in 0..4 {
        assert_eq!(can_search(&app, &cookie).await, 200);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(can_search(&app, &cookie).await, 401);
    let (status, _) = app.page("/search", Some(&cookie)).await;
    assert_eq!(status, 303, "pages send the outlived session to the log-in");
    // Logging in again works.
    let again = app.login(OPERATOR).await;
    assert_eq!(can_search(&app, &again).await, 200);
}
