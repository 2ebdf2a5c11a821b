//! The CSV downloads: formula cells and RFC 4180 quoting, the headers of a download, a bad
//! search refused with the page's sentence and no audit line, the audit line of an export (and
//! of one the client cut off), the history and audit-log exports, keyset pages, and the round
//! trip of 10,000 cards through `import-cards`. (401 and 403 on every export:
//! `authz_matrix::every_export_checks_session_and_role`.)

use testkit as common;

use std::time::Duration;

use backend::db::cards::NewCard;
use backend::db::Db;
use common::app::{spawn, TestApp, ADMIN, OPERATOR};
use common::db::TestDb;
use desk_core::domain::CardState;
use desk_core::export::{CardExportRow, CsvRecord};
use desk_core::model::CardSearch;

/// GETs `path` with the session `cookie`: status, headers and body.
pub(crate) async fn get(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = app.http.get(format!("{}{path}", app.base));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let res = request.send().await.expect("get");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.expect("body"))
}

fn rows(csv: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.as_bytes())
        .records()
        .map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect())
        .collect()
}

fn card(id: &str, first: &str, last: &str, email: &str, employee_id: &str) -> NewCard {
    NewCard {
        card_id: id.into(),
        first_name: first.into(),
        last_name: last.into(),
        email: email.into(),
        employee_id: employee_id.into(),
        state: CardState::Ordered,
        ordered_at: Some(1_795_240_803_000),
    }
}

/// Waits for the newest audit line whose action is `action`.
async fn audit_line(db: &Db, action: &str) -> Option<desk_core::model::AuditEntry> {
    for _ in 0..100 {
        let log = db.audit_log(20).await.expect("audit log");
        if let Some(line) = log.into_iter().find(|l| l.action == action) {
            return Some(line);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

common::engines!(formula_cells_are_guarded_and_quoted);
async fn formula_cells_are_guarded_and_quoted(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    t.db.insert_cards(
        &[
            card(
                "CA2202040500-FORMULA1",
                "=HYPERLINK(\"x\")",
                "Plus",
                "",
                "F-1",
            ),
            card(
                "CA2202040501-FORMULA2",
                "+46 70",
                "-Minus",
                "@x@example.org",
                "F-2",
            ),
            card(
                "CA2202040502-FORMULA3",
                "@SUM(A1)",
                "Berg, \"Jr\"",
                "",
                "F-3",
            ),
            card("CA2202040503-FORMULA4", "Two\nlines", "Tab\tin", "", "F-4"),
        ],
        |_| {},
    )
    .await
    .expect("cards");
    let operator = app.login(OPERATOR).await;
    let (status, headers, body) =
        get(&app, "/export/cards.csv?employee_id=F-", Some(&operator)).await;
    assert_eq!(status, 200, "{}: {body}", t.name);
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    let disposition = headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let name = disposition
        .strip_prefix("attachment; filename=\"cards-")
        .and_then(|rest| rest.strip_suffix(".csv\""))
        .unwrap_or_else(|| panic!("{disposition}"));
    assert!(
        name.len() == 13
            && name.as_bytes()[8] == b'-'
            && name.chars().filter(char::is_ascii_digit).count() == 12,
        "cards-YYYYMMDD-HHMM.csv: {disposition}"
    );
    // RFC 4180 on the wire: CRLF records, quotes doubled inside quoted fields.
    assert!(body.starts_with(&format!("{}\r\n", CardExportRow::HEADER.join(","))));
    assert!(body.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{body}");
    assert!(body.contains("\"Berg, \"\"Jr\"\"\""), "{body}");
    assert!(body.contains("\"Two\nlines\""), "{body}");
    let table = rows(&body);
    assert_eq!(table.len(), 5, "{body}");
    let cells = |i: usize| &table[i][..5];
    assert_eq!(
        cells(1),
        [
            "CA2202040500-FORMULA1",
            "'=HYPERLINK(\"x\")",
            "Plus",
            "",
            "F-1"
        ]
    );
    assert_eq!(
        cells(2),
        [
            "CA2202040501-FORMULA2",
            "'+46 70",
            "'-Minus",
            "'@x@example.org",
            "F-2"
        ]
    );
    assert_eq!(
        cells(3),
        [
            "CA2202040502-FORMULA3",
            "'@SUM(A1)",
            "Berg, \"Jr\"",
            "",
            "F-3"
        ]
    );
    assert_eq!(cells(4)[1..3], ["Two\nlines", "Tab\tin"]);
    assert_eq!(table[1][5], "ordered");
    assert_eq!(table[1][6], "2026-11-21T06:00:03Z");
}

common::engines!(a_bad_search_is_refused_with_the_pages_sentence);
async fn a_bad_search_is_refused_with_the_pages_sentence(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let operator = app.login(OPERATOR).await;
    let before = t.db.count_audit().await.expect("count");
    let long = "x".repeat(201);
    for (path, says) in [
        (
            "/export/cards.csv?status=shipped".to_owned(),
            "Unknown status \"shipped\". Choose one from the Status list.",
        ),
        (
            format!("/export/cards.csv?last_name={long}"),
            "Last name is too long: at most 200 characters",
        ),
        (
            "/export/cards.csv?email=a%00b".to_owned(),
            "Email contains a control character",
        ),
        (
            format!("/export/users.csv?for=user&first_name={long}"),
            "First name is too long: at most 200 characters",
        ),
    ] {
        let (status, _, body) = get(&app, &path, Some(&operator)).await;
        assert_eq!(status, 400, "{}: {path}: {body}", t.name);
        assert!(body.contains(says), "{path}: {body}");
    }
    assert_eq!(
        t.db.count_audit().await.expect("count"),
        before,
        "{}: a refused export writes no audit line",
        t.name
    );
}

common::engines!(an_export_writes_who_what_and_how_many);
async fn an_export_writes_who_what_and_how_many(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let operator = app.login(OPERATOR).await;
    let (status, _, body) = get(
        &app,
        "/export/cards.csv?status=ordered&last_name=B&page=7",
        Some(&operator),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Every match, whatever the page: Anna Berg.
    let table = rows(&body);
    assert_eq!(table.len(), 2, "{body}");
    let line = audit_line(&t.db, "export cards").await.expect("audit line");
    assert_eq!(line.actor, "operator");
    assert_eq!(
        line.detail, "search status=ordered&last_name=B; 1 row",
        "{}",
        t.name
    );

    // The user search.
    let (status, headers, body) = get(
        &app,
        "/export/users.csv?for=user&last_name=%C3%B6",
        Some(&operator),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("attachment; filename=\"users-")));
    let table = rows(&body);
    assert_eq!(
        table[0],
        [
            "user_id",
            "first_name",
            "last_name",
            "email",
            "employee_id",
            "cards"
        ]
    );
    assert_eq!(table.len(), 2, "{body}");
    assert_eq!(
        table[1][1..],
        [
            "Åsa",
            "Östberg",
            "åsa@example.org",
            "E-östberg",
            "CA2202040405-AAAA0001 in_production"
        ]
    );
    let line = audit_line(&t.db, "export users").await.expect("audit line");
    assert_eq!(line.detail, "search for=user&last_name=ö; 1 row");

    // A card's history, after an Update card order.
    let card = "CA2202040404-5GG3F4C8";
    let (status, _) = app
        .call(
            "update_card_order",
            Some(&operator),
            serde_json::json!({"card_id": card, "expected_version": 1}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, headers, body) = get(
        &app,
        &format!("/export/cards/{card}/history.csv"),
        Some(&operator),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(&format!("attachment; filename=\"history-{card}-"))));
    let table = rows(&body);
    assert_eq!(table[0][..3], ["at", "kind", "source"]);
    assert_eq!(table.len(), 2, "{body}");
    assert_eq!(table[1][2], "manual");
    assert_eq!(table[1][3], "operator");
    let line = audit_line(&t.db, "export card history")
        .await
        .expect("audit line");
    assert_eq!(line.detail, format!("card {card}; 1 row"));
    let (status, _, body) = get(
        &app,
        "/export/cards/CA9999999999-NOSUCH00/history.csv",
        Some(&operator),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("No card CA9999999999-NOSUCH00"));

    // The audit log, by an admin: the lines above are in it.
    let admin = app.login(ADMIN).await;
    let (status, _, body) = get(&app, "/export/audit.csv", Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    let table = rows(&body);
    assert_eq!(table[0], ["at", "actor", "action", "detail"]);
    assert!(table
        .iter()
        .any(|r| r[2] == "export cards" && r[1] == "operator"));
    let line = audit_line(&t.db, "export audit log")
        .await
        .expect("audit line");
    assert_eq!(line.actor, "admin");
    assert_eq!(
        line.detail,
        format!("the audit log; {} rows", table.len() - 1)
    );
}

/// An endless export: pages of `n` rows each, numbered.
fn endless(n: usize) -> backend::db::export::Pages<CardExportRow> {
    backend::db::export::keyset_pages(0_u64, move |page: u64| async move {
        let rows = (0..n)
            .map(|i| CardExportRow {
                card_id: format!("CA{page:010}-{i:08}"),
                first_name: "A".into(),
                last_name: "B".into(),
                email: String::new(),
                employee_id: String::new(),
                state: CardState::Ordered,
                ordered_at: None,
                last_checked_at: None,
                gocards_status: None,
                failure_reason: None,
            })
            .collect();
        Ok((rows, Some(page + 1)))
    })
}

#[tokio::test]
async fn an_export_cut_off_by_the_client_records_the_rows_sent() {
    use http_body_util::BodyExt;
    let t = common::db::sqlite().await;
    let audit = server::export::ExportAudit {
        db: t.db.clone(),
        actor: "operator".into(),
        action: "export cards",
        what: "search status=ordered".into(),
    };
    let response = server::export::csv_download(audit, "cards-x.csv", endless(100)).await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    // The header with the first page, then two pages more; the third is asked for, so the
    // second counts as sent.
    for _ in 0..3 {
        let frame = body.frame().await.expect("a chunk").expect("no error");
        assert!(frame.into_data().is_ok_and(|d| !d.is_empty()));
    }
    assert_eq!(
        t.db.count_audit().await.expect("count"),
        0,
        "not before the end"
    );
    drop(body);
    let line = audit_line(&t.db, "export cards").await.expect("audit line");
    assert_eq!(
        line.detail,
        "search status=ordered; cut off by the client after 200 rows (the rows sent before it \
         stopped reading)"
    );
}

common::engines!(pages_cover_every_match_once_in_card_order);
async fn pages_cover_every_match_once_in_card_order(t: TestDb) {
    let cards: Vec<NewCard> = (0..53)
        .map(|i| {
            let mut c = card(
                &format!("CA22020406{i:02}-PAGE{i:04}"),
                "Page",
                if i % 2 == 0 { "Even" } else { "Odd" },
                "",
                &format!("P{i}"),
            );
            c.state = if i % 3 == 0 {
                CardState::Produced
            } else {
                CardState::Ordered
            };
            c
        })
        .collect();
    t.db.insert_cards(&cards, |_| {}).await.expect("cards");
    let search = CardSearch {
        last_name: "even".into(),
        status: Some(CardState::Ordered),
        ..Default::default()
    };
    let mut pages = t.db.export_cards_paged(search, 5).await.expect("pages");
    let mut seen = Vec::new();
    use futures::StreamExt;
    while let Some(page) = pages.next().await {
        let page = page.expect("page");
        assert!(page.len() <= 5);
        seen.extend(page.into_iter().map(|r| r.card_id));
    }
    let expected: Vec<String> = cards
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0 && i % 3 != 0)
        .map(|(_, c)| c.card_id.clone())
        .collect();
    assert_eq!(seen, expected, "{}", t.name);
}

common::engines!(an_export_of_10000_cards_imports_into_an_empty_database);
async fn an_export_of_10000_cards_imports_into_an_empty_database(t: TestDb) {
    use rand::SeedableRng;
    let app = spawn(t.db.clone()).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(14);
    let now = backend::db::now_ms();
    let mut cards: Vec<NewCard> = (0..10_000)
        .map(|i| server::cli::seed::demo_card(&mut rng, i, now))
        .collect();
    // Cells a spreadsheet would read as formulas, and ones that need quoting.
    cards[0].first_name = "=1+1".into();
    cards[1].last_name = "-Berg".into();
    cards[2].first_name = "+Anna".into();
    cards[3].email = "@odd@example.org".into();
    cards[4].last_name = "O'Brien, \"Jr\"".into();
    // Names of one person must agree: demo employee IDs are unique, so these are fine.
    t.db.insert_cards(&cards, |_| {}).await.expect("cards");
    let operator = app.login(OPERATOR).await;
    // Every demo card, and none of the three sample cards (employee IDs E-…).
    let (status, _, body) = get(&app, "/export/cards.csv?employee_id=E1", Some(&operator)).await;
    assert_eq!(status, 200, "{}", t.name);
    let exported = rows(&body);
    assert_eq!(exported.len(), 10_001, "{}", t.name);
    let line = audit_line(&t.db, "export cards").await.expect("audit line");
    assert_eq!(line.detail, "search employee_id=E1; 10000 rows");

    let target = match t.name {
        "sqlite" => common::db::sqlite().await,
        _ => common::db::postgres().await.expect("postgres is up"),
    };
    let imported = server::cli::import::import(&target.db, body.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", t.name));
    assert_eq!(imported, 10_000);

    // Row by row, the seven columns: as stored in the source, and as the target exports them.
    let mut source: Vec<&NewCard> = cards.iter().collect();
    source.sort_by(|a, b| a.card_id.cmp(&b.card_id));
    let mut back = Vec::new();
    let mut pages = target
        .db
        .export_cards(CardSearch::default())
        .await
        .expect("pages");
    use futures::StreamExt;
    while let Some(page) = pages.next().await {
        back.extend(page.expect("page"));
    }
    assert_eq!(back.len(), 10_000);
    let to_rfc = |ms: Option<i64>| ms.map(backend::db::to_rfc3339);
    for ((card, row), line) in source.iter().zip(&back).zip(&exported[1..]) {
        let stored = (
            card.card_id.as_str(),
            card.first_name.as_str(),
            card.last_name.as_str(),
            card.email.as_str(),
            card.employee_id.as_str(),
            card.state,
            to_rfc(card.ordered_at.map(|ms| ms / 1000 * 1000)),
        );
        let again = (
            row.card_id.as_str(),
            row.first_name.as_str(),
            row.last_name.as_str(),
            row.email.as_str(),
            row.employee_id.as_str(),
            row.state,
            row.ordered_at.clone(),
        );
        assert_eq!(stored, again, "{}", t.name);
        assert_eq!(line[0], card.card_id);
        assert_eq!(line[5], card.state.as_str());
    }
    assert_eq!(back[0].first_name, "=1+1", "the guard is taken off again");
    assert!(exported.iter().any(|l| l[1] == "'=1+1"));
}
