//! Migration 0009: a database from before Search for User, where every card had a holder
//! row of its own, comes out with one user per person (same employee ID, or with none the
//! same email), each card pointing at the row with the lowest id. On both engines.

use std::borrow::Cow;
use std::path::Path;

use testkit as common;

use backend::db::Db;

/// Migrates `db` up to 0008 only, as a database one release ago had them (plus 0007's keys).
async fn migrate_to_0008(db: &Db, engine: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../backend/migrations/{engine}"));
    let mut migrator = sqlx::migrate::Migrator::new(dir).await.expect("migrations");
    migrator.migrations = Cow::Owned(
        migrator
            .migrations
            .iter()
            .filter(|m| m.version <= 8)
            .cloned()
            .collect(),
    );
    match db {
        Db::Sqlite(pool, _) => migrator.run(pool).await.expect("to 0008"),
        Db::Postgres(pool, _) => migrator.run(pool).await.expect("to 0008"),
    }
}

#[tokio::test]
async fn people_with_several_holder_rows_become_one_user_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}/old.db?mode=rwc", dir.path().display());
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .connect(&url)
        .await
        .expect("open");
    let old = Db::Sqlite(pool, Default::default());
    migrate_to_0008(&old, "sqlite").await;
    people_become_one_user(old, &url, "sqlite").await;
}

#[tokio::test]
async fn people_with_several_holder_rows_become_one_user_postgres() {
    let Some(empty) = common::db::empty_postgres().await else {
        return;
    };
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect(&empty.url)
        .await
        .expect("open");
    let old = Db::Postgres(pool, Default::default());
    migrate_to_0008(&old, "postgres").await;
    people_become_one_user(old, &empty.url, "postgres").await;
}

async fn people_become_one_user(old: Db, url: &str, name: &str) {
    let holders = [
        // id, first, last, email, employee id
        (10, "Anna", "Berg", "anna@example.org", "E7"),
        (11, "Anna", "Berg", "anna@example.org", "e7"),
        (12, "Anna", "Berg", "anna@example.org", "E7"),
        (20, "Bo", "Ek", "bo@example.org", ""),
        (21, "Bo", "Ek", "BO@example.org", ""),
        (30, "Cia", "Lind", "bo@example.org", "E9"),
    ];
    backend::on_pool!(&old, pool => {
        for (id, first, last, email, employee) in holders {
            sqlx::query(
                "INSERT INTO card_holders (id, first_name, last_name, email, employee_id, \
                 first_name_key, last_name_key, email_key, employee_id_key) \
                 VALUES ($1, $2, $3, $4, $5, lower($2), lower($3), lower($4), lower($5))",
            )
            .bind(id as i64).bind(first).bind(last).bind(email).bind(employee)
            .execute(pool).await.expect("holder");
            sqlx::query(
                "INSERT INTO cards (card_id, holder_id, state, version, updated_at, \
                 first_name_key, last_name_key, email_key, employee_id_key) \
                 VALUES ($1, $2, 'produced', 1, 0, '', '', '', '')",
            )
            .bind(format!("CA00000000{id:02}-MERGE{id:03}"))
            .bind(id as i64)
            .execute(pool).await.expect("card");
        }
    });
    backend::on_pool!(&old, pool => pool.close().await);

    // The next start applies 0009.
    let db = Db::connect(url, 4).await.expect("migrate to the end");
    let rows: Vec<(String, i64)> = backend::on_pool!(&db, pool => sqlx::query_as(
        "SELECT card_id, holder_id FROM cards ORDER BY card_id"
    ).fetch_all(pool).await.expect("cards"));
    let holder_of = |id: i64| {
        rows.iter()
            .find(|(card, _)| card.contains(&format!("{id:02}-MERGE")))
            .map(|(_, h)| *h)
    };
    assert_eq!(
        [10, 11, 12].map(holder_of),
        [Some(10); 3],
        "{name}: one employee ID, one user"
    );
    assert_eq!(
        [20, 21].map(holder_of),
        [Some(20); 2],
        "{name}: one email, one user"
    );
    assert_eq!(
        holder_of(30),
        Some(30),
        "{name}: an employee ID wins over the email"
    );
    let ids: Vec<i64> = backend::on_pool!(&db, pool => sqlx::query_scalar(
        "SELECT id FROM card_holders ORDER BY id"
    ).fetch_all(pool).await.expect("holders"));
    assert_eq!(ids, vec![10, 20, 30], "{name}");
    backend::on_pool!(&db, pool => pool.close().await);
}
