//! The storage layer against both engines: SQLite files and PostgreSQL.

use testkit as common;

use backend::db::cards::NewCard;
use backend::db::history::NewHistory;
use common::db::TestDb;
use desk_core::domain::{CardState, Process};
use desk_core::model::{CardSearch, HistoryKind, HistorySource, Role, Sort, SortColumn, PAGE_SIZE};

fn card(i: usize, first: &str, last: &str, state: CardState) -> NewCard {
    NewCard {
        card_id: format!("CA{:010}-ABCD{:04}", i, i),
        first_name: first.into(),
        last_name: last.into(),
        email: format!("{}.{}@example.org", first.to_lowercase(), i),
        employee_id: format!("E{i:05}"),
        state,
        ordered_at: Some(1_763_000_000_000 + i as i64 * 1000),
    }
}

fn sample() -> Vec<NewCard> {
    let mut cards = vec![
        card(1, "Anna", "Berg", CardState::Ordered),
        card(2, "Åsa", "Östberg", CardState::InProduction),
        card(3, "Erik", "Bergman", CardState::Ordered),
        card(4, "Olof", "Öberg", CardState::Produced),
        card(5, "Maja", "berglund", CardState::Failed),
    ];
    for i in 10..130 {
        cards.push(card(i, "Nils", "Lindqvist", CardState::Ordered));
    }
    cards
}

common::engines!(search_filters_by_state_and_case_insensitive_prefixes);
async fn search_filters_by_state_and_case_insensitive_prefixes(t: TestDb) {
    let db = &t.db;
    db.insert_cards(&sample(), |_| {}).await.expect("insert");

    let search = |s: CardSearch| async move { db.search_cards(&s).await.expect("search") };
    let (rows, _) = search(CardSearch {
        last_name: "BERG".into(),
        ..Default::default()
    })
    .await;
    let names: Vec<_> = rows.iter().map(|r| r.holder.clone()).collect();
    assert_eq!(
        names,
        vec!["Anna Berg", "Erik Bergman", "Maja berglund"],
        "{}",
        t.name
    );

    let (rows, _) = search(CardSearch {
        last_name: "öst".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(rows.len(), 1, "{}: ö prefix", t.name);
    assert_eq!(rows[0].holder, "Åsa Östberg");

    let (rows, _) = search(CardSearch {
        first_name: "å".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(rows.len(), 1, "{}: å prefix", t.name);

    let (rows, _) = search(CardSearch {
        status: Some(CardState::Ordered),
        last_name: "berg".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(rows.len(), 2, "{}", t.name);
    assert!(rows.iter().all(|r| r.state == CardState::Ordered));

    let (rows, more) = search(CardSearch {
        status: Some(CardState::Aborted),
        ..Default::default()
    })
    .await;
    assert!(rows.is_empty() && !more, "{}", t.name);

    // Wildcards are not wildcards.
    let (rows, _) = search(CardSearch {
        last_name: "%".into(),
        ..Default::default()
    })
    .await;
    assert!(rows.is_empty(), "{}: % matched", t.name);
}

common::engines!(search_pages_and_sorts);
async fn search_pages_and_sorts(t: TestDb) {
    let db = &t.db;
    db.insert_cards(&sample(), |_| {}).await.expect("insert");
    let base = CardSearch {
        status: Some(CardState::Ordered),
        ..Default::default()
    };
    // 2 + 120 ordered cards: pages of 50, 50, 22.
    let mut seen = Vec::new();
    for page in 1..=3 {
        let (rows, more) = db
            .search_cards(&CardSearch {
                page,
                ..base.clone()
            })
            .await
            .expect("page");
        assert_eq!(more, page < 3, "{} page {page}", t.name);
        assert_eq!(rows.len(), if page < 3 { PAGE_SIZE } else { 22 });
        seen.extend(rows.into_iter().map(|r| r.card_id));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "{}: default order is card id", t.name);
    sorted.dedup();
    assert_eq!(sorted.len(), 122, "{}: no card twice", t.name);

    let (rows, _) = db
        .search_cards(&CardSearch {
            page: 9999,
            ..base.clone()
        })
        .await
        .expect("far page");
    assert!(rows.is_empty());

    let (rows, _) = db
        .search_cards(&CardSearch {
            sort: Sort {
                column: SortColumn::Ordered,
                descending: true,
            },
            ..base.clone()
        })
        .await
        .expect("sorted");
    let dates: Vec<_> = rows.iter().map(|r| r.ordered_at.clone()).collect();
    let mut expected = dates.clone();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, expected, "{}", t.name);

    let (rows, _) = db
        .search_cards(&CardSearch {
            sort: Sort {
                column: SortColumn::Holder,
                descending: false,
            },
            ..Default::default()
        })
        .await
        .expect("by holder");
    assert_eq!(rows[0].holder, "Anna Berg", "{}", t.name);
}

common::engines!(state_changes_are_guarded_by_the_version);
async fn state_changes_are_guarded_by_the_version(t: TestDb) {
    let db = &t.db;
    db.insert_cards(&sample(), |_| {}).await.expect("insert");
    let id = "CA0000000001-ABCD0001";
    let before = db.card(id).await.expect("read").expect("card");
    assert_eq!(before.version, 1);
    let event = NewHistory {
        kind: HistoryKind::Changed,
        source: HistorySource::Manual,
        actor: Some("operator"),
        from_state: CardState::Ordered,
        to_state: CardState::InProduction,
        gocards_status: Some("IN_PRODUCTION"),
        detail: None,
    };
    // A stale version changes nothing and writes no history.
    assert!(!db
        .apply_state_change(id, 7, None, &event)
        .await
        .expect("stale"));
    assert_eq!(db.count_history(id).await.expect("count"), 0, "{}", t.name);
    assert!(db
        .apply_state_change(id, 1, None, &event)
        .await
        .expect("apply"));
    let after = db.card(id).await.expect("read").expect("card");
    assert_eq!(after.state, CardState::InProduction);
    assert_eq!(after.version, 2);
    assert!(after.last_checked_at.is_some());
    // The same change again, at the old version: refused.
    assert!(!db
        .apply_state_change(id, 1, None, &event)
        .await
        .expect("again"));

    // A check that finds nothing keeps the version.
    let no_change = NewHistory {
        kind: HistoryKind::NoChange,
        from_state: CardState::InProduction,
        to_state: CardState::InProduction,
        ..event.clone()
    };
    // At a stale version it writes nothing: no status, no row.
    assert!(!db
        .record_check(id, 1, Some("ORDERED"), Some(&no_change))
        .await
        .expect("stale check"));
    assert!(db
        .record_check(id, 2, Some("IN_PRODUCTION"), Some(&no_change))
        .await
        .expect("check"));
    let checked = db.card(id).await.expect("read").expect("card");
    assert_eq!(checked.version, 2, "{}", t.name);
    let history = db.card_history(id, 10).await.expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].kind, HistoryKind::NoChange, "newest first");
    assert_eq!(history[1].kind, HistoryKind::Changed);
    assert_eq!(history[1].actor.as_deref(), Some("operator"));
}

common::engines!(commands_users_and_bulk_inserts);
async fn commands_users_and_bulk_inserts(t: TestDb) {
    let db = &t.db;
    assert!(
        db.enabled_commands(CardState::Ordered)
            .await
            .expect("list")
            .is_empty(),
        "off by default"
    );
    assert!(db
        .set_command(CardState::Ordered, Process::UpdateCardOrder, true)
        .await
        .expect("on"));
    assert!(!db
        .set_command(CardState::Ordered, Process::UpdateCardOrder, true)
        .await
        .expect("again"));
    assert!(db
        .is_command_enabled(CardState::Ordered, Process::UpdateCardOrder)
        .await
        .expect("q"));
    assert!(!db
        .is_command_enabled(CardState::InProduction, Process::UpdateCardOrder)
        .await
        .expect("q"));
    db.replace_commands(CardState::Ordered, &[])
        .await
        .expect("replace");
    assert!(!db
        .is_command_enabled(CardState::Ordered, Process::UpdateCardOrder)
        .await
        .expect("q"));

    assert!(db
        .insert_user("anna", "hash", Role::Operator)
        .await
        .expect("user"));
    assert!(
        !db.insert_user("anna", "hash2", Role::Admin)
            .await
            .expect("dup"),
        "{}",
        t.name
    );
    assert_eq!(db.count_users().await.expect("count"), 1);

    // A batch that collides with a stored card writes nothing at all.
    db.insert_cards(&sample()[..2], |_| {})
        .await
        .expect("first");
    let clash = vec![
        card(900, "New", "Person", CardState::Ordered),
        card(1, "Anna", "Berg", CardState::Ordered),
    ];
    assert!(db.insert_cards(&clash, |_| {}).await.is_err());
    assert_eq!(
        db.count_cards().await.expect("count"),
        2,
        "{}: partial write",
        t.name
    );
    let existing = db
        .existing_card_ids(&[
            "CA0000000001-ABCD0001".into(),
            "CA0000000999-ABCD0999".into(),
        ])
        .await
        .expect("ids");
    assert_eq!(existing, vec!["CA0000000001-ABCD0001".to_owned()]);
}

common::engines!(both_search_plans_give_the_same_pages);
/// A common prefix (at least `SORT_MATCHES_UP_TO` matches) sorted by card ID is walked in
/// card order; a rare one is found through the prefix index and sorted. Both plans give the
/// same pages.
async fn both_search_plans_give_the_same_pages(t: TestDb) {
    use backend::db::cards::{SearchPlan, SORT_MATCHES_UP_TO};
    use backend::db::Db;

    /// A search, and the plan it must get on its first pages.
    struct PlanCase {
        last_name: &'static str,
        status: Option<CardState>,
        expected_plan: SearchPlan,
    }

    let common_count = SORT_MATCHES_UP_TO as usize + 500;
    let states = [
        CardState::Ordered,
        CardState::InProduction,
        CardState::Produced,
    ];
    let mut cards: Vec<NewCard> = (0..common_count)
        // Card ids out of name order, so the two plans really differ in what they read.
        .map(|i| {
            card(
                (i * 7_919) % 1_000_000 + 1,
                "Nils",
                &format!("Berg{i}"),
                states[i % 3],
            )
        })
        .collect();
    for i in 0..40 {
        cards.push(card(2_000_000 + i, "Rare", "Zetterlund", states[i % 3]));
    }
    let db = &t.db;
    db.insert_cards(&cards, |_| {}).await.expect("insert");
    for PlanCase {
        last_name,
        status,
        expected_plan,
    } in [
        PlanCase {
            last_name: "b",
            status: None,
            expected_plan: SearchPlan::InCardOrder,
        },
        PlanCase {
            last_name: "berg1",
            status: None,
            expected_plan: SearchPlan::ByPrefix,
        },
        PlanCase {
            last_name: "b",
            status: Some(CardState::Ordered),
            expected_plan: SearchPlan::ByPrefix,
        },
        PlanCase {
            last_name: "zet",
            status: None,
            expected_plan: SearchPlan::ByPrefix,
        },
    ] {
        for page in [1, 2, 40] {
            let search = CardSearch {
                status,
                last_name: last_name.into(),
                page,
                sort: Sort::default(),
                ..Default::default()
            };
            let plan = db.search_plan(&search).await.expect("plan");
            let expected = if page > 20 {
                SearchPlan::ByPrefix
            } else {
                expected_plan
            };
            assert_eq!(
                plan, expected,
                "{}: {last_name} {status:?} page {page}",
                t.name
            );
            let mut pages = Vec::new();
            for plan in [SearchPlan::ByPrefix, SearchPlan::InCardOrder] {
                let (sql, binds) = Db::search_sql(&search, plan);
                let ids: Vec<String> = backend::on_pool!(db, pool => {
                    let mut q = sqlx::query_scalar::<_, String>(&sql);
                    for b in &binds {
                        q = q.bind(b);
                    }
                    q.fetch_all(pool).await
                })
                .expect("page");
                pages.push(ids);
            }
            assert_eq!(
                pages[0], pages[1],
                "{}: {last_name} {status:?} page {page}",
                t.name
            );
            let (found, _) = db.search_cards(&search).await.expect("search");
            let found: Vec<String> = found.into_iter().map(|c| c.card_id).collect();
            assert_eq!(found[..], pages[0][..found.len()], "{}", t.name);
            if last_name == "zet" && page == 1 {
                assert_eq!(found.len(), 40);
            }
            if last_name == "b" && status.is_none() && page == 1 {
                assert_eq!(found.len(), PAGE_SIZE);
                let mut sorted = found.clone();
                sorted.sort();
                assert_eq!(found, sorted, "in card-ID order");
            }
        }
    }
}
