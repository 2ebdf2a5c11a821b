//! Replicas that start together on a new PostgreSQL database: each brings the schema up to
//! date and sets up the session store under the database's start-up lock, so they take
//! turns, all of them start, and each finds the session table there.

use std::time::Duration;

use backend::auth::DeskSessionStore;
use backend::db::Db;
use tower_sessions::cookie::time::{Duration as CookieDuration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

const REPLICAS: usize = 8;
/// Fresh databases tried: a race that loses only sometimes still shows.
const ROUNDS: usize = 4;

/// What a replica's start does with storage: connect and migrate, set up the session store,
/// then store and read back a session.
async fn start_replica(url: String) -> Result<(), String> {
    let db = Db::connect(&url, 4)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let store = DeskSessionStore::new(&db)
        .await
        .map_err(|e| format!("session store set-up: {e}"))?;
    let mut record = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: OffsetDateTime::now_utc() + CookieDuration::hours(1),
    };
    store
        .create(&mut record)
        .await
        .map_err(|e| format!("store a session: {e}"))?;
    let loaded = store
        .load(&record.id)
        .await
        .map_err(|e| format!("load the session: {e}"))?;
    db.close().await;
    match loaded {
        Some(_) => Ok(()),
        None => Err("the stored session was not found again".to_owned()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_on_a_new_database_all_start() {
    for round in 1..=ROUNDS {
        let Some(database) = testkit::db::empty_postgres().await else {
            return;
        };
        // All at once, interleaved on the test's task (a `Db::connect` future is not
        // `Send` for every lifetime, which `tokio::spawn` asks).
        let starts = (0..REPLICAS).map(|_| start_replica(database.url.clone()));
        let outcomes =
            tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(starts))
                .await
                .unwrap_or_else(|_| panic!("round {round}: the replicas hung"));
        for (replica, outcome) in outcomes.into_iter().enumerate() {
            if let Err(problem) = outcome {
                panic!("round {round}: replica {replica} of {REPLICAS} did not start: {problem}");
            }
        }
    }
}

/// While another process holds the start-up lock, a start waits for it: nothing of the schema
/// or the session store is set up until the lock is free.
#[tokio::test]
async fn a_start_waits_for_the_startup_lock() {
    let Some(database) = testkit::db::empty_postgres().await else {
        return;
    };
    let holder = sqlx::PgPool::connect(&database.url).await.expect("connect");
    let mut lock = holder.acquire().await.expect("a connection");
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(backend::db::PG_STARTUP_LOCK)
        .execute(&mut *lock)
        .await
        .expect("take the start-up lock");
    let held = Duration::from_millis(1500);
    let started = std::time::Instant::now();
    let (outcome, released) = tokio::join!(start_replica(database.url.clone()), async {
        tokio::time::sleep(held).await;
        let schema: Option<(String,)> =
            sqlx::query_as("SELECT table_name::text FROM information_schema.tables WHERE table_name = '_sqlx_migrations'")
                .fetch_optional(&holder)
                .await
                .expect("look for the schema");
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(backend::db::PG_STARTUP_LOCK)
            .execute(&mut *lock)
            .await
            .expect("release the start-up lock");
        (started.elapsed(), schema)
    });
    outcome.unwrap_or_else(|problem| panic!("the start failed: {problem}"));
    let (released_after, schema_while_held) = released;
    assert_eq!(
        schema_while_held, None,
        "the migrations ran while another process held the start-up lock"
    );
    let took = started.elapsed();
    assert!(
        took >= released_after,
        "the start finished after {took:?}, before the lock was released ({released_after:?})"
    );
    drop(lock);
    holder.close().await;
}
