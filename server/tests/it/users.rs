//! Search for User and the user's profile (issue 13): the holder search against both
//! engines, the import's linking of rows to people, the server functions and the pages.

use testkit as common;

use backend::db::cards::NewCard;
use backend::db::Db;
use common::app::{spawn, OPERATOR};
use common::db::TestDb;
use desk_core::domain::CardState;
use desk_core::model::{HolderSearch, HolderSort, HolderSortColumn, HolderSummary, PAGE_SIZE};
use serde_json::json;
use server::cli::import::{import, ImportError};

const HEADER: &str = "card_id,first_name,last_name,email,employee_id,status,ordered_at\n";

fn card(
    i: usize,
    first: &str,
    last: &str,
    email: &str,
    employee_id: &str,
    state: CardState,
) -> NewCard {
    NewCard {
        card_id: format!("CA{:010}-USER{:04}", i, i),
        first_name: first.into(),
        last_name: last.into(),
        email: email.into(),
        employee_id: employee_id.into(),
        state,
        ordered_at: (state != CardState::Registered).then_some(1_763_000_000_000 + i as i64 * 1000),
    }
}

/// Five people; Anna Berg holds two cards, Nils Lind none (he is added without a card below).
fn people() -> Vec<NewCard> {
    vec![
        card(
            1,
            "Anna",
            "Berg",
            "anna.berg@example.org",
            "E100",
            CardState::Ordered,
        ),
        card(
            2,
            "Anna",
            "Berg",
            "anna.berg@example.org",
            "E100",
            CardState::Produced,
        ),
        card(
            3,
            "Åsa",
            "Östberg",
            "asa@corp.example",
            "E200",
            CardState::InProduction,
        ),
        card(
            4,
            "Erik",
            "Bergman",
            "erik@example.com",
            "X300",
            CardState::Registered,
        ),
        card(
            5,
            "Maja",
            "berglund",
            "maja@example.org",
            "E400",
            CardState::Failed,
        ),
    ]
}

async fn find(db: &Db, search: HolderSearch) -> (Vec<HolderSummary>, bool) {
    db.search_holders(&search).await.expect("search")
}

fn names(rows: &[HolderSummary]) -> Vec<String> {
    rows.iter().map(HolderSummary::name).collect()
}

common::engines!(users_are_found_by_each_field_as_case_insensitive_prefixes);
async fn users_are_found_by_each_field_as_case_insensitive_prefixes(t: TestDb) {
    let db = &t.db;
    db.insert_cards(&people(), |_| {}).await.expect("insert");
    assert_eq!(db.count_holders().await.expect("count"), 4, "{}", t.name);

    let by = |f: fn(&mut HolderSearch, &str), v: &str| {
        let mut s = HolderSearch::default();
        f(&mut s, v);
        s
    };
    let (rows, more) = find(db, by(|s, v| s.last_name = v.into(), "BERG")).await;
    assert_eq!(
        names(&rows),
        ["Anna Berg", "Maja berglund", "Erik Bergman"],
        "{}: sorted by last name, case folded",
        t.name
    );
    assert!(!more);
    let (rows, _) = find(db, by(|s, v| s.last_name = v.into(), "öst")).await;
    assert_eq!(names(&rows), ["Åsa Östberg"], "{}", t.name);
    let (rows, _) = find(db, by(|s, v| s.first_name = v.into(), "åS")).await;
    assert_eq!(names(&rows), ["Åsa Östberg"], "{}", t.name);
    let (rows, _) = find(db, by(|s, v| s.email = v.into(), "ANNA.b")).await;
    assert_eq!(names(&rows), ["Anna Berg"], "{}", t.name);
    let (rows, _) = find(db, by(|s, v| s.employee_id = v.into(), "e")).await;
    assert_eq!(rows.len(), 3, "{}: E100, E200, E400", t.name);
    let (rows, _) = find(db, by(|s, v| s.employee_id = v.into(), "x3")).await;
    assert_eq!(names(&rows), ["Erik Bergman"], "{}", t.name);
    // Only a prefix, not a part in the middle.
    let (rows, _) = find(db, by(|s, v| s.last_name = v.into(), "erg")).await;
    assert!(rows.is_empty(), "{}", t.name);
    // Fields together narrow the search.
    let both = HolderSearch {
        last_name: "berg".into(),
        first_name: "e".into(),
        ..Default::default()
    };
    assert_eq!(names(&find(db, both).await.0), ["Erik Bergman"]);

    // The Cards column: each card's state, oldest order first; "—" for none.
    let (rows, _) = find(db, by(|s, v| s.last_name = v.into(), "berg")).await;
    let anna = &rows[0];
    assert_eq!(anna.card_states, [CardState::Ordered, CardState::Produced]);
    assert_eq!(anna.cards_text(), "Ordered, Produced");
    assert_eq!(rows[1].cards_text(), "Failed");
    assert_eq!(rows[2].cards_text(), "Registered");
    // A holder without cards (none is written so today; the column must still say so).
    backend::on_pool!(db, pool => sqlx::query(
        "INSERT INTO card_holders (id, first_name, last_name, email, employee_id, \
         first_name_key, last_name_key, email_key, employee_id_key) \
         VALUES (77, 'Nils', 'Lind', 'nils@example.org', 'E500', 'nils', 'lind', 'nils@example.org', 'e500')",
    )
    .execute(pool)
    .await
    .map(|_| ())
    .expect("holder"));
    let (rows, _) = find(db, by(|s, v| s.last_name = v.into(), "lind")).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].cards_text(), "—", "{}", t.name);

    // Nothing found: an empty page.
    let (rows, more) = find(db, by(|s, v| s.last_name = v.into(), "zz")).await;
    assert!(rows.is_empty() && !more, "{}", t.name);
}

common::engines!(users_are_paged_and_sorted_by_each_column);
async fn users_are_paged_and_sorted_by_each_column(t: TestDb) {
    let db = &t.db;
    // 120 people named Lindqvist, plus the five above.
    let mut cards = people();
    for i in 0..120 {
        cards.push(card(
            100 + i,
            &format!("P{:03}", 119 - i),
            "Lindqvist",
            &format!("p{i:03}@example.org"),
            &format!("L{:03}", (i * 7) % 120),
            CardState::Ordered,
        ));
    }
    db.insert_cards(&cards, |_| {}).await.expect("insert");
    let lind = |page, column, descending| HolderSearch {
        last_name: "lindq".into(),
        page,
        sort: HolderSort { column, descending },
        ..Default::default()
    };
    let mut seen = Vec::new();
    for page in 1..=3 {
        let (rows, more) = find(db, lind(page, HolderSortColumn::Name, false)).await;
        assert_eq!(more, page < 3, "{}: page {page}", t.name);
        assert_eq!(rows.len(), if page < 3 { PAGE_SIZE } else { 20 });
        seen.extend(rows.into_iter().map(|r| r.first_name));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "{}: by name, across pages", t.name);
    sorted.dedup();
    assert_eq!(sorted.len(), 120, "{}: no row twice, none missed", t.name);

    // Each column, both ways: the page is the first rows of that order.
    for column in HolderSortColumn::ALL {
        for descending in [false, true] {
            let (rows, _) = find(db, lind(1, column, descending)).await;
            let key = |r: &HolderSummary| match column {
                HolderSortColumn::Name => format!("{} {}", r.last_name, r.first_name),
                HolderSortColumn::Email => r.email.clone(),
                HolderSortColumn::EmployeeId => r.employee_id.clone(),
            };
            let keys: Vec<String> = rows.iter().map(key).collect();
            let mut expected = keys.clone();
            expected.sort();
            if descending {
                expected.reverse();
            }
            assert_eq!(keys, expected, "{}: {column:?} desc={descending}", t.name);
            let first = if descending {
                "p119@example.org"
            } else {
                "p000@example.org"
            };
            if column == HolderSortColumn::Email {
                assert_eq!(rows[0].email, first, "{}", t.name);
            }
            if column == HolderSortColumn::EmployeeId {
                let want = if descending { "L119" } else { "L000" };
                assert_eq!(rows[0].employee_id, want, "{}", t.name);
            }
        }
    }
    // Name sorts by last name first, then the first name.
    let (rows, _) = find(
        db,
        HolderSearch {
            last_name: "b".into(),
            sort: HolderSort {
                column: HolderSortColumn::Name,
                descending: true,
            },
            ..Default::default()
        },
    )
    .await;
    assert_eq!(names(&rows), ["Erik Bergman", "Maja berglund", "Anna Berg"]);
    // A page past the last is empty.
    let (rows, more) = find(db, lind(4, HolderSortColumn::Name, false)).await;
    assert!(rows.is_empty() && !more, "{}", t.name);
}

common::engines!(a_profile_has_the_details_and_the_cards);
async fn a_profile_has_the_details_and_the_cards(t: TestDb) {
    let db = &t.db;
    db.insert_cards(&people(), |_| {}).await.expect("insert");
    let (rows, _) = find(
        db,
        HolderSearch {
            employee_id: "E100".into(),
            ..Default::default()
        },
    )
    .await;
    let id = rows[0].holder_id;
    let anna = db.holder(id).await.expect("read").expect("Anna");
    assert_eq!(
        (
            anna.first_name.as_str(),
            anna.last_name.as_str(),
            anna.email.as_str(),
            anna.employee_id.as_str()
        ),
        ("Anna", "Berg", "anna.berg@example.org", "E100")
    );
    let cards: Vec<(&str, CardState)> = anna
        .cards
        .iter()
        .map(|c| (c.card_id.as_str(), c.state))
        .collect();
    assert_eq!(
        cards,
        [
            ("CA0000000001-USER0001", CardState::Ordered),
            ("CA0000000002-USER0002", CardState::Produced)
        ],
        "{}",
        t.name
    );
    assert_eq!(
        anna.cards[0].ordered_at.as_deref(),
        Some("2025-11-13T02:13:21Z")
    );
    assert!(db.holder(id.wrapping_add(1)).await.expect("read").is_none());
    assert!(db.holder(-1).await.expect("read").is_none(), "{}", t.name);
}

/// Holders and cards in the database.
async fn counts(db: &Db) -> (i64, i64) {
    (
        db.count_holders().await.expect("holders"),
        db.count_cards().await.expect("cards"),
    )
}

common::engines!(import_links_rows_to_the_person_with_the_employee_id);
async fn import_links_rows_to_the_person_with_the_employee_id(t: TestDb) {
    let db = &t.db;
    let csv = format!(
        "{HEADER}CA2202040404-5GG3F4C8,Anna,Berg,anna@example.org,E1,ordered,2026-11-20T09:12:00Z\n\
         CA2202040405-5GG3F4C9,Anna,Berg,anna.new@example.org,e1,produced,2026-11-21T09:12:00Z\n\
         CA2202040406-5GG3F4D0,Erik,Lind,erik@example.org,E2,ordered,2026-11-20T09:12:00Z\n"
    );
    assert_eq!(import(db, csv.as_bytes()).await.expect("import"), 3);
    assert_eq!(
        counts(db).await,
        (2, 3),
        "{}: two cards, one person",
        t.name
    );
    // A later file finds the same person in the database.
    let later = format!("{HEADER}CA2202040407-5GG3F4D1,Anna,Berg,,E1,registered,\n");
    assert_eq!(import(db, later.as_bytes()).await.expect("import"), 1);
    assert_eq!(counts(db).await, (2, 4), "{}", t.name);
    let (rows, _) = find(
        db,
        HolderSearch {
            last_name: "berg".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].cards_text(),
        "Ordered, Produced, Registered",
        "{}",
        t.name
    );
    // The stored person keeps their details.
    assert_eq!(rows[0].email, "anna@example.org");
}

common::engines!(without_an_employee_id_the_email_is_the_person);
async fn without_an_employee_id_the_email_is_the_person(t: TestDb) {
    let db = &t.db;
    let csv = format!(
        "{HEADER}CA2202040404-5GG3F4C8,Maja,Holm,maja@example.org,,ordered,2026-11-20T09:12:00Z\n\
         CA2202040405-5GG3F4C9,Maja,Holm,MAJA@example.org,,failed,2026-11-21T09:12:00Z\n\
         CA2202040406-5GG3F4D0,Nils,Ek,,,registered,\n\
         CA2202040407-5GG3F4D1,Olof,Ek,,,registered,\n"
    );
    assert_eq!(import(db, csv.as_bytes()).await.expect("import"), 4);
    // Maja once (the email, case aside); Nils and Olof have neither key: one each.
    assert_eq!(counts(db).await, (3, 4), "{}", t.name);
    let later = format!(
        "{HEADER}CA2202040408-5GG3F4D2,Maja,Holm,maja@example.org,,ordered,2026-11-22T09:12:00Z\n"
    );
    import(db, later.as_bytes()).await.expect("import");
    assert_eq!(counts(db).await, (3, 5), "{}", t.name);
    // An employee ID is a person of its own, even with an email known without one.
    let other = format!("{HEADER}CA2202040409-5GG3F4D3,Maja,Holm,maja@example.org,E9,ordered,2026-11-22T09:12:00Z\n");
    import(db, other.as_bytes()).await.expect("import");
    assert_eq!(counts(db).await, (4, 6), "{}", t.name);
}

common::engines!(names_that_differ_for_one_person_refuse_the_whole_file);
async fn names_that_differ_for_one_person_refuse_the_whole_file(t: TestDb) {
    let db = &t.db;
    let first = format!(
        "{HEADER}CA2202040404-5GG3F4C8,Anna,Berg,anna@example.org,E1,ordered,2026-11-20T09:12:00Z\n\
         CA2202040410-5GG3F4C7,Maja,Holm,maja@example.org,,ordered,2026-11-20T09:12:00Z\n"
    );
    import(db, first.as_bytes()).await.expect("import");
    let before = counts(db).await;

    // Against the database: E1 is Anna Berg; by email, maja@ is Maja Holm.
    let csv = format!(
        "{HEADER}CA2202040405-5GG3F4C9,Erik,Lind,erik@example.org,E2,ordered,2026-11-20T09:12:00Z\n\
         CA2202040406-5GG3F4D0,Anna,Lind,anna@example.org,E1,ordered,2026-11-20T09:12:00Z\n\
         CA2202040407-5GG3F4D1,Maja,Holmberg,maja@example.org,,ordered,2026-11-20T09:12:00Z\n"
    );
    let err = import(db, csv.as_bytes()).await.expect_err("names differ");
    let text = err.to_string();
    let ImportError::Invalid(lines) = err else {
        panic!("expected line errors")
    };
    assert_eq!(
        lines.iter().map(|l| l.line).collect::<Vec<_>>(),
        [3, 4],
        "{text}"
    );
    assert!(
        lines[0]
            .problem
            .contains("employee ID e1 belongs to Anna Berg")
            && lines[0].problem.contains("names Anna Lind"),
        "{text}"
    );
    assert!(
        lines[1]
            .problem
            .contains("email maja@example.org belongs to Maja Holm"),
        "{text}"
    );
    assert!(text.contains("nothing was imported"));
    assert_eq!(counts(db).await, before, "{}: nothing written", t.name);

    // Within the file: the later row is refused, naming the earlier line.
    let csv = format!(
        "{HEADER}CA2202040405-5GG3F4C9,Erik,Lind,erik@example.org,E2,ordered,2026-11-20T09:12:00Z\n\
         CA2202040406-5GG3F4D0,Olof,Ek,olof@example.org,E3,ordered,2026-11-20T09:12:00Z\n\
         CA2202040407-5GG3F4D1,Erik,Lindh,erik@example.org,e2,ordered,2026-11-20T09:12:00Z\n"
    );
    let Err(ImportError::Invalid(lines)) = import(db, csv.as_bytes()).await else {
        panic!("expected line errors")
    };
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0].line, 4);
    assert!(
        lines[0]
            .problem
            .contains("employee ID e2 is Erik Lind on line 2"),
        "{lines:?}"
    );
    assert_eq!(counts(db).await, before, "{}: nothing written", t.name);
}

#[tokio::test]
async fn the_demo_seed_makes_one_user_per_person() {
    let t = common::db::sqlite().await;
    server::cli::seed::seed_cards(&t.db, 300)
        .await
        .expect("seed");
    // Each demo card is for a person of its own (a unique employee ID): one user each.
    assert_eq!(counts(&t.db).await, (300, 300));
    let (rows, _) = find(&t.db, HolderSearch::default()).await;
    assert!(rows.iter().all(|r| r.card_states.len() == 1));
}

common::engines!(the_server_functions_search_and_show_users);
async fn the_server_functions_search_and_show_users(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let operator = app.login(OPERATOR).await;
    let (status, page) = app
        .call(
            "search_users",
            Some(&operator),
            json!({"search": {"last_name": "öST"}}),
        )
        .await;
    assert_eq!(status, 200, "{}: {page}", t.name);
    let rows = page["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["first_name"], "Åsa");
    assert_eq!(rows[0]["card_states"], json!(["in_production"]));
    let id = rows[0]["holder_id"].as_i64().expect("id");

    let (status, user) = app
        .call("user_profile", Some(&operator), json!({ "user_id": id }))
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["cards"][0]["card_id"], "CA2202040405-AAAA0001");

    let (status, err) = app
        .call("user_profile", Some(&operator), json!({ "user_id": 1 }))
        .await;
    assert_eq!(status, 404, "{err}");
    assert_eq!(
        err["message"],
        "No user 1 exists. Check the address, or search again."
    );

    // Bad input is refused as for cards, with a message a person can act on.
    for (search, says) in [
        (
            json!({"last_name": "x".repeat(201)}),
            "Last name is too long",
        ),
        (
            json!({"email": "a\u{0}b"}),
            "Email contains a control character",
        ),
        (json!({"page": 201}), "Pages past 200 are not shown"),
    ] {
        let (status, err) = app
            .call("search_users", Some(&operator), json!({ "search": search }))
            .await;
        assert_eq!(status, 400, "{err}");
        assert!(
            err["message"].as_str().unwrap_or("").starts_with(says),
            "{err}"
        );
    }
    let (status, _) = app
        .call("user_profile", Some(&operator), json!({ "user_id": "abc" }))
        .await;
    assert_eq!(status, 400);
    let (status, _) = app.call("search_users", None, json!({"search": {}})).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_user_pages_render_on_the_server() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let operator = app.login(OPERATOR).await;
    let (status, html) = app
        .page("/search?for=user&last_name=berg", Some(&operator))
        .await;
    assert_eq!(status, 200);
    for text in [
        ">Name",
        ">Email",
        ">Employee ID",
        ">Cards<",
        "Anna Berg",
        ">Ordered<",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    assert!(
        html.contains(r#"<option value="user" selected"#),
        "the choice is kept"
    );
    assert!(!html.contains(r#"id="status""#), "no Status for users");
    let (_, html) = app
        .page("/search?for=user&last_name=zz", Some(&operator))
        .await;
    assert!(html.contains("No users found"));

    let (rows, _) = find(
        &t.db,
        HolderSearch {
            last_name: "berg".into(),
            ..Default::default()
        },
    )
    .await;
    let href = format!("/users/{}", rows[0].holder_id);
    let (_, html) = app
        .page("/search?for=user&last_name=berg", Some(&operator))
        .await;
    assert!(
        html.contains(&format!(r#"href="{href}""#)),
        "the name links to the profile"
    );
    let (status, html) = app.page(&href, Some(&operator)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Anna Berg"));
    assert!(html.contains(r#"href="/cards/CA2202040404-5GG3F4C8""#));
    for unknown in ["/users/1", "/users/not-a-number"] {
        let (status, html) = app.page(unknown, Some(&operator)).await;
        assert_eq!(status, 404, "{unknown}");
        assert!(html.contains("User not found"), "{unknown}");
    }
    // No session: to the login page, as for every page.
    let (status, _) = app.page(&href, None).await;
    assert_ne!(status, 200);
}
