//! Deep pages (issue 12): pages past `MAX_PAGE` are refused with a request to narrow the
//! search (400, not 500, and the search page shows it), and the sorts by "Ordered" and "Last
//! checked" are served by an index on each engine, in both directions, NULLS LAST: no sort of
//! every match, so the deepest page costs the rows before it.

use testkit as common;

use app::api::SearchCards;
use backend::db::cards::{NewCard, SearchPlan};
use backend::db::Db;
use common::app::{spawn, OPERATOR};
use common::db::TestDb;
use desk_core::domain::CardState;
use desk_core::model::{CardSearch, Sort, SortColumn, MAX_PAGE};

common::engines!(pages_past_the_last_are_refused_with_a_clear_message);
async fn pages_past_the_last_are_refused_with_a_clear_message(t: TestDb) {
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let at = |page| SearchCards {
        search: CardSearch {
            page,
            ..Default::default()
        },
    };
    let (status, body) = app.call_fn(Some(&cookie), at(MAX_PAGE)).await;
    assert_eq!(status, 200, "{}: {body}", t.name);
    assert_eq!(body["rows"].as_array().map(Vec::len), Some(0));

    for page in [MAX_PAGE + 1, 100_000, u32::MAX] {
        let (status, body) = app.call_fn(Some(&cookie), at(page)).await;
        assert_eq!(status, 400, "{}: page {page}: {body}", t.name);
        assert_eq!(body["kind"], "bad_request");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("Narrow the search"), "{message}");
    }

    // The search page says so too, as an alert, and answers 200.
    let (status, html) = app.page("/search?page=201", Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Narrow the search"), "{}", t.name);
}

/// Cards in every state, some never ordered and some never checked, so that both NULLS LAST
/// and the statistics look like a real desk's.
async fn seed(db: &Db, count: usize) {
    let states = [
        CardState::Ordered,
        CardState::InProduction,
        CardState::Produced,
        CardState::Failed,
    ];
    let cards: Vec<NewCard> = (0..count)
        .map(|i| NewCard {
            card_id: format!("CA55{:08}-SORT{:04}", (i * 7_919) % 100_000_000, i % 10_000),
            first_name: "Sort".into(),
            last_name: format!("Holder{}", i % 97),
            email: "sort@example.org".into(),
            employee_id: format!("S{i}"),
            state: states[i % states.len()],
            ordered_at: (i % 10 != 0).then(|| 1_763_000_000_000 + (i as i64 % 500) * 60_000),
        })
        .collect();
    db.insert_cards(&cards, |_| {}).await.expect("insert");
    backend::on_pool!(db, pool => sqlx::query(
        "UPDATE cards SET last_checked_at = ordered_at + 1000 WHERE card_id < 'CA5550000000'",
    )
    .execute(pool)
    .await
    .map(|_| ()))
    .expect("checked");
    db.analyze().await.expect("analyze");
}

/// The plan of `sql`, one line per node.
async fn plan(db: &Db, sql: &str, binds: &[String]) -> Vec<String> {
    match db {
        Db::Sqlite(pool, _) => {
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
            for bind in binds {
                query = query.bind(bind);
            }
            let rows = query.fetch_all(pool).await.expect("explain");
            // Keep the subquery's part: the page is found and sorted there; the outer ORDER BY
            // only orders the 51 rows joined to their holders.
            let Some(inner) = rows.iter().find(|row| row.3.starts_with("CO-ROUTINE")) else {
                return rows.into_iter().map(|row| row.3).collect();
            };
            let inner = inner.0;
            rows.into_iter()
                .filter(|row| row.1 == inner)
                .map(|row| row.3)
                .collect()
        }
        Db::Postgres(pool, _) => {
            let mut tx = pool.begin().await.expect("begin");
            // Sorting priced out: the plan uses an index whenever one gives this order.
            sqlx::query("SET LOCAL enable_sort = off")
                .execute(&mut *tx)
                .await
                .expect("set");
            let explain = format!("EXPLAIN {sql}");
            let mut query = sqlx::query_scalar::<_, String>(&explain);
            for bind in binds {
                query = query.bind(bind);
            }
            let lines = query.fetch_all(&mut *tx).await.expect("explain");
            // From the subquery's LIMIT down: the outer sort is of the page's rows only.
            lines
                .into_iter()
                .skip_while(|line| !line.contains("Limit"))
                .skip(1)
                .collect()
        }
    }
}

common::engines!(sorts_by_ordered_and_last_checked_read_an_index);
async fn sorts_by_ordered_and_last_checked_read_an_index(t: TestDb) {
    seed(&t.db, 4_000).await;
    for column in [SortColumn::Ordered, SortColumn::LastChecked] {
        for descending in [false, true] {
            for status in [
                None,
                Some(CardState::Ordered),
                Some(CardState::InProduction),
            ] {
                let search = CardSearch {
                    status,
                    page: MAX_PAGE,
                    sort: Sort { column, descending },
                    ..Default::default()
                };
                let (sql, binds) = Db::search_sql(&search, SearchPlan::ByPrefix);
                let plan = plan(&t.db, &sql, &binds).await;
                let case = format!("{}: {column:?} descending={descending} {status:?}", t.name);
                assert!(
                    plan.iter()
                        .any(|node| node.contains("INDEX") || node.contains("Index")),
                    "{case}: no index read: {plan:#?}"
                );
                assert!(
                    !plan
                        .iter()
                        .any(|node| node.contains("TEMP B-TREE") || node.contains("Sort")),
                    "{case}: every match is sorted: {plan:#?}"
                );
            }
        }
    }
}

common::engines!(sorted_pages_put_the_missing_dates_last_in_both_directions);
async fn sorted_pages_put_the_missing_dates_last_in_both_directions(t: TestDb) {
    seed(&t.db, 400).await;
    for column in [SortColumn::Ordered, SortColumn::LastChecked] {
        for descending in [false, true] {
            let mut seen = Vec::new();
            for page in 1..=MAX_PAGE {
                let search = CardSearch {
                    page,
                    sort: Sort { column, descending },
                    ..Default::default()
                };
                let (rows, more) = t.db.search_cards(&search).await.expect("page");
                seen.extend(rows.into_iter().map(|row| match column {
                    SortColumn::Ordered => (row.ordered_at, row.card_id),
                    _ => (row.last_checked_at, row.card_id),
                }));
                if !more {
                    break;
                }
            }
            assert_eq!(seen.len(), 400, "{}: {column:?}", t.name);
            let first_missing = seen.iter().position(|(at, _)| at.is_none());
            let dated = first_missing.unwrap_or(seen.len());
            assert!(
                seen[dated..].iter().all(|(at, _)| at.is_none()),
                "{}: {column:?} descending={descending}: missing dates come last",
                t.name
            );
            let mut expected = seen[..dated].to_vec();
            expected.sort();
            if descending {
                expected.reverse();
            }
            assert_eq!(seen[..dated], expected[..], "{}: {column:?}", t.name);
        }
    }
}
