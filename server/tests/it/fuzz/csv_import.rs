//! The CSV import (`import-cards`): any bytes, and CSV-shaped files whose header, quoting,
//! row lengths and every field vary, go through `cli::import::import` against a real SQLite
//! file. Nothing panics. A file is imported whole or not at all: on success the card count
//! grows by exactly the number reported (the holders by at most that: a row for a stored
//! person links to them); on refusal both stay as they were and every problem names a line.

use super::{runner, seeds, Tally};
use testkit as common;

use backend::db::Db;
use desk_core::domain::CardState;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use server::cli::import::{import, ImportError, COLUMNS};

/// Already in the database: a row with this id must be refused.
const EXISTING: &str = "CA2600000001-FUZZ0001";

async fn counts(db: &Db) -> (i64, i64) {
    super::on_pool!(db, pool => sqlx::query_as::<_, (i64, i64)>(
        "SELECT (SELECT COUNT(*) FROM cards), (SELECT COUNT(*) FROM card_holders)",
    )
    .fetch_one(pool)
    .await
    .expect("counts"))
}

/// Removes every card but [`EXISTING`], and the holders left without a card.
async fn clear_imported(db: &Db) {
    super::on_pool!(db, pool => {
        sqlx::query("DELETE FROM card_history WHERE card_id <> $1")
            .bind(EXISTING)
            .execute(pool)
            .await
            .expect("clear history");
        sqlx::query("DELETE FROM cards WHERE card_id <> $1")
            .bind(EXISTING)
            .execute(pool)
            .await
            .expect("clear cards");
        sqlx::query("DELETE FROM card_holders WHERE id NOT IN (SELECT holder_id FROM cards)")
            .execute(pool)
            .await
            .expect("clear holders");
    })
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-zÅÄÖåäö' -]{1,12}",
        1 => Just(String::new()),
        1 => "\\PC{0,16}",
        1 => Just("x".repeat(201)),
        1 => "[,\"\r\n ]{1,4}",
        1 => "[a-z\\x00\\x1b]{1,6}",
    ]
}

fn card_id() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "CA[0-9]{10}-[A-Z0-9]{8}",
        1 => Just(EXISTING.to_owned()),
        1 => "CA[0-9]{0,12}-?[A-Za-z0-9]{0,9}",
        1 => "\\PC{0,24}",
    ]
}

fn status() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(CardState::ALL.to_vec()).prop_map(|s| s.as_str().to_owned()),
        1 => "[a-z_]{0,14}",
        1 => "\\PC{0,10}",
    ]
}

fn ordered_at() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](Z|[+-]0[0-9]:00)",
        2 => Just(String::new()),
        1 => "[0-9T:+Z-]{0,25}",
        1 => "\\PC{0,12}",
    ]
}

fn email() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,8}@example\\.org",
        2 => Just(String::new()),
        1 => "\\PC{0,16}",
    ]
}

/// Quotes a field the way a spreadsheet would, or (sometimes) not at all.
fn render(field: &str, quote: bool) -> String {
    if quote {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

fn row() -> impl Strategy<Value = Vec<String>> {
    (
        card_id(),
        field(),
        field(),
        email(),
        "[A-Z0-9]{0,6}",
        status(),
        ordered_at(),
    )
        .prop_map(|(id, first, last, email, employee, status, ordered)| {
            vec![id, first, last, email, employee, status, ordered]
        })
}

/// A header: the real one, shuffled, with a column missing or extra, or with a BOM.
fn header() -> impl Strategy<Value = Vec<String>> {
    let real: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    prop_oneof![
        4 => Just(real.clone()),
        1 => Just(real.clone()).prop_shuffle(),
        1 => (0..COLUMNS.len()).prop_map({
            let real = real.clone();
            move |drop| {
                let mut h = real.clone();
                h.remove(drop);
                h
            }
        }),
        1 => Just({
            let mut h = real.clone();
            h.push("notes".to_owned());
            h
        }),
        1 => Just({
            let mut h = real;
            h[0] = format!("\u{feff}{}", h[0]);
            h
        }),
    ]
}

/// A row every field of which is valid (the id may still collide).
fn valid_row() -> impl Strategy<Value = Vec<String>> {
    (
        "CA[0-9]{10}-[A-Z0-9]{8}",
        "[A-Za-zÅÄÖåäö]{1,12}",
        "[A-Za-zÅÄÖåäö' -]{0,11}[a-zö]",
        prop_oneof![Just(String::new()), "[a-z]{1,8}@example\\.org"],
        "[A-Z0-9]{0,6}",
        proptest::sample::select(CardState::ALL.to_vec()),
        "20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z",
    )
        .prop_map(|(id, first, last, email, employee, state, ordered)| {
            vec![id, first, last, email, employee, state.as_str().to_owned(), ordered]
        })
}

/// A CSV file: header and rows (now and then all of them valid), each field quoted or not,
/// rows cut short or lengthened, `\n` or `\r\n` line ends.
fn csv_file() -> impl Strategy<Value = Vec<u8>> {
    let rows = prop_oneof![
        3 => proptest::collection::vec((row(), any::<bool>(), -2i8..=1), 0..8),
        1 => proptest::collection::vec((valid_row(), any::<bool>(), Just(0i8)), 1..8),
    ];
    (header(), rows, any::<bool>(), any::<bool>()).prop_map(
        |(header, rows, crlf, trailing_newline)| {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut lines = vec![header.join(",")];
            for (mut fields, quote, length_change) in rows {
                match length_change {
                    -2 => {
                        fields.truncate(3);
                    }
                    1 => fields.push("extra".to_owned()),
                    _ => {}
                }
                lines.push(
                    fields
                        .iter()
                        .map(|f| render(f, quote || f.contains([',', '"', '\n', '\r'])))
                        .collect::<Vec<_>>()
                        .join(","),
                );
            }
            let mut text = lines.join(end);
            if trailing_newline {
                text.push_str(end);
            }
            text.into_bytes()
        },
    )
}

super::on_both_engines!(any_csv_file_is_imported_whole_or_not_at_all);

fn any_csv_file_is_imported_whole_or_not_at_all(engine: super::Engine) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(test_db) = engine.open(&runtime) else {
        return;
    };
    let db = test_db.db.clone();
    let existing = format!(
        "{}\n{EXISTING},Fuzz,Target,fuzz@example.org,F1,ordered,2026-11-20T09:12:00Z\n",
        COLUMNS.join(",")
    );
    runtime
        .block_on(import(&db, existing.as_bytes()))
        .expect("the first card");

    let tally = Tally::default();
    let check = |bytes: &[u8]| -> Result<(), TestCaseError> {
        let before = runtime.block_on(counts(&db));
        let outcome = runtime.block_on(import(&db, bytes));
        let after = runtime.block_on(counts(&db));
        match outcome {
            Ok(n) => {
                let n = n as i64;
                prop_assert_eq!(after.0, before.0 + n, "imported {} cards", n);
                // A row for a stored person (by employee ID, else email) makes no holder.
                prop_assert!(
                    after.1 >= before.1 && after.1 <= before.1 + n,
                    "imported {} cards, holders {} → {}",
                    n,
                    before.1,
                    after.1
                );
                tally.add(if n > 0 { "imported" } else { "empty" });
                // Housekeeping, outside the checks: a small table keeps every case as cheap
                // as the first (each import ends with ANALYZE).
                if after.0 > 2_000 {
                    runtime.block_on(clear_imported(&db));
                }
            }
            Err(ImportError::Invalid(lines)) => {
                prop_assert_eq!(after, before, "a refused file wrote something");
                prop_assert!(!lines.is_empty(), "refused without a reason");
                for line in &lines {
                    prop_assert!(!line.problem.is_empty());
                }
                let report = ImportError::Invalid(lines).to_string();
                prop_assert!(report.contains("nothing was imported"));
                tally.add("refused");
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
        Ok(())
    };
    for (name, bytes) in seeds("csv") {
        if let Err(failure) = check(&bytes) {
            panic!("seed {name}: {failure}");
        }
    }
    let input = prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..600),
        4 => csv_file(),
    ];
    if let Err(failure) = runner("csv_import", engine).run(&input, |bytes| check(&bytes)) {
        panic!("{failure}");
    }
    tally.report("csv_import", &["imported", "refused"]);
}
