//! The settings pages as the server renders them: admins only, "Not allowed" with 403 for
//! operators, and the ADMIN tab only for admins.

use testkit as common;

use common::app::{spawn, ADMIN, OPERATOR};

#[tokio::test]
async fn only_admins_see_the_settings_view() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let admin = app.login(ADMIN).await;
    let operator = app.login(OPERATOR).await;
    let pages = [
        "/admin/cards",
        "/admin/gocards",
        "/admin/users",
        "/admin/accounts",
        "/admin/audit",
    ];

    for path in pages {
        let (status, html) = app.page(path, Some(&operator)).await;
        assert_eq!(status, 403, "{path}");
        assert!(html.contains("Not allowed"), "{path}");
        assert!(
            !html.contains("admin-nav"),
            "{path}: no settings navigation"
        );

        let (status, _) = app.page(path, None).await;
        assert_eq!(
            status, 303,
            "{path}: anonymous visitors go to the log-in page"
        );
    }
    // `/admin` leads to the first settings page, which refuses operators.
    let (status, _) = app.page("/admin", Some(&operator)).await;
    assert_eq!(status, 303);

    let (status, html) = app.page("/admin/cards", Some(&admin)).await;
    assert_eq!(status, 200);
    for text in [
        "Cards › Card",
        "GO Cards connection",
        "Users",
        "Accounts",
        "Audit log",
        "role=\"tab\"",
        "In production",
    ] {
        assert!(html.contains(text), "{text}");
    }
    let (status, html) = app.page("/admin/gocards", Some(&admin)).await;
    assert_eq!(status, 200);
    for label in [
        "Base URL",
        "Client ID",
        "Client secret",
        "Organisation ID",
        "Timeout (ms)",
        "set by environment",
    ] {
        assert!(html.contains(label), "{label}");
    }
    let (status, html) = app.page("/admin/accounts", Some(&admin)).await;
    assert_eq!(status, 200);
    assert!(html.contains("operator") && html.contains("Add user"));
    assert!(
        html.contains("<h1 id=\"users-title\">Accounts</h1>"),
        "{html}"
    );
    let (status, html) = app.page("/admin/users", Some(&admin)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Users › User") && html.contains("Additional Commands"));

    // The ADMIN tab: for admins only.
    let (_, html) = app.page("/search", Some(&admin)).await;
    assert!(html.contains(">ADMIN<"));
    let (_, html) = app.page("/search", Some(&operator)).await;
    assert!(!html.contains(">ADMIN<"));
}
