//! `import-cards`: every row checked, line numbers in the report, all or nothing.

use testkit as common;

use common::db::TestDb;
use server::cli::import::{import, parse_cards, ImportError};

const HEADER: &str = "card_id,first_name,last_name,email,employee_id,status,ordered_at\n";

common::engines!(a_good_file_is_imported_whole);
async fn a_good_file_is_imported_whole(t: TestDb) {
    let csv = format!(
        "{HEADER}CA2202040404-5GG3F4C8,Anna,Berg,anna.berg@example.org,E1,ordered,2026-11-20T09:12:00Z\n\
         CA2202040405-5GG3F4C9,Åsa,Östberg,,E2,registered,\n\
         CA2202040406-5GG3F4D0,Erik,Lind,erik@example.org,E3,in_production,2026-11-21T07:00:03+01:00\n"
    );
    let n = import(&t.db, csv.as_bytes()).await.expect("import");
    assert_eq!(n, 3, "{}", t.name);
    let card =
        t.db.card("CA2202040406-5GG3F4D0")
            .await
            .expect("read")
            .expect("card");
    assert_eq!(card.state, desk_core::domain::CardState::InProduction);
    assert_eq!(
        card.ordered_at,
        Some(1_795_240_803_000),
        "offset applied: 06:00:03Z"
    );
    let anna =
        t.db.card("CA2202040404-5GG3F4C8")
            .await
            .expect("read")
            .expect("card");
    assert_eq!(anna.first_name, "Anna");

    // The same ids again: refused against the database, nothing written.
    let err = import(&t.db, csv.as_bytes()).await.expect_err("duplicates");
    let ImportError::Invalid(lines) = err else {
        panic!("expected line errors")
    };
    assert_eq!(
        lines.iter().map(|l| l.line).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert!(lines[0].problem.contains("already in the database"));
    assert_eq!(t.db.count_cards().await.expect("count"), 3, "{}", t.name);
}

#[tokio::test]
async fn a_bad_row_rejects_the_whole_file_with_line_numbers() {
    let t = common::db::sqlite().await;
    let csv = format!(
        "{HEADER}CA2202040404-5GG3F4C8,Anna,Berg,anna@example.org,E1,ordered,2026-11-20T09:12:00Z\n\
         CA22020404-BAD,Erik,Lind,erik@example.org,E2,ordered,2026-11-20T09:12:00Z\n\
         CA2202040406-5GG3F4D0,Maja,Holm,maja@example.org,E3,shipped,2026-11-20T09:12:00Z\n\
         CA2202040407-5GG3F4D1,Nils,Ek,nils@example.org,E4,ordered,20/11/2026\n\
         CA2202040404-5GG3F4C8,Anna,Berg,anna@example.org,E1,ordered,2026-11-20T09:12:00Z\n\
         CA2202040408-5GG3F4D2,Olof,Ek,olof@example.org,E5,produced,\n"
    );
    let err = import(&t.db, csv.as_bytes()).await.expect_err("bad file");
    let text = err.to_string();
    let ImportError::Invalid(lines) = err else {
        panic!("expected line errors")
    };
    let at: Vec<u64> = lines.iter().map(|l| l.line).collect();
    assert_eq!(at, vec![3, 4, 5, 6, 7], "{text}");
    assert!(lines[0].problem.contains("not a GO Cards card id"));
    assert!(lines[1].problem.contains("unknown card state \"shipped\""));
    assert!(lines[2].problem.contains("RFC 3339"));
    assert!(lines[3].problem.contains("repeats line 2"));
    assert!(lines[4].problem.contains("must have one"));
    assert!(text.contains("nothing was imported"));
    assert_eq!(
        t.db.count_cards().await.expect("count"),
        0,
        "nothing written"
    );
}

#[test]
fn a_missing_column_is_named() {
    let csv = "card_id,first_name,last_name,email,status,ordered_at\nCA2202040404-5GG3F4C8,A,B,,ordered,2026-11-20T09:12:00Z\n";
    let errors = parse_cards(csv.as_bytes()).expect_err("missing column");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 1);
    assert!(
        errors[0].problem.contains("employee_id"),
        "{}",
        errors[0].problem
    );
}

#[test]
fn short_rows_and_garbage_do_not_panic() {
    let csv = format!("{HEADER}CA2202040404-5GG3F4C8,Anna\n\u{0}\u{1},\"unterminated\n");
    let errors = parse_cards(csv.as_bytes()).expect_err("bad rows");
    assert!(errors
        .iter()
        .any(|e| e.line == 2 && e.problem.contains("no value")));
}
