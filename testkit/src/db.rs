//! Real databases for tests: a fresh SQLite file, and a fresh PostgreSQL database on the
//! server at 127.0.0.1:5432, dropped afterwards.

use backend::db::Db;

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that removes itself when dropped.
pub struct TestDb {
    pub db: Db,
    pub name: &'static str,
    /// The `DATABASE_URL` of this database, for server processes.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres(name) = &self.cleanup {
            // The pool belongs to the test's runtime; FORCE ends its connections.
            drop_database(name.clone());
        }
        if let Cleanup::Sqlite(dir) = &self.cleanup {
            let _ = dir.path();
        }
    }
}

/// Drops a test database on the shared server, ending its connections.
fn drop_database(name: String) {
    // Drop runs inside the test's runtime; use a thread with its own.
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            if let Ok(admin) = sqlx::PgPool::connect(PG_ADMIN_URL).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&admin)
                    .await;
                admin.close().await;
            }
        });
    })
    .join();
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/cards.db?mode=rwc", dir.path().display());
    let db = Db::connect(&url, 8).await.expect("open sqlite");
    TestDb {
        db,
        url,
        name: "sqlite",
        cleanup: Cleanup::Sqlite(dir),
    }
}

/// A fresh PostgreSQL database, or `None` (with a loud line) when the server is not
/// reachable and `REQUIRE_POSTGRES` is not set. With `REQUIRE_POSTGRES=1`, unreachable
/// PostgreSQL fails the test.
pub async fn postgres() -> Option<TestDb> {
    let NewDatabase { url, name } = new_postgres_database().await?;
    let db = Db::connect(&url, 8).await.expect("open postgres");
    Some(TestDb {
        db,
        url,
        name: "postgres",
        cleanup: Cleanup::Postgres(name),
    })
}

/// A new, empty PostgreSQL database (no schema yet), dropped with this value: for tests of
/// what happens on a first start.
pub struct EmptyPostgres {
    pub url: String,
    name: String,
}

impl Drop for EmptyPostgres {
    fn drop(&mut self) {
        drop_database(self.name.clone());
    }
}

/// [`EmptyPostgres`], or `None` like [`postgres`].
pub async fn empty_postgres() -> Option<EmptyPostgres> {
    let NewDatabase { url, name } = new_postgres_database().await?;
    Some(EmptyPostgres { url, name })
}

/// A database just created on the shared server; its owner drops it.
struct NewDatabase {
    url: String,
    name: String,
}

async fn new_postgres_database() -> Option<NewDatabase> {
    let admin = match sqlx::PgPool::connect(PG_ADMIN_URL).await {
        Ok(pool) => pool,
        Err(e) => {
            if std::env::var("REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("REQUIRE_POSTGRES=1 but PostgreSQL at 127.0.0.1:5432 is unreachable: {e}");
            }
            eprintln!("\n*** SKIPPING the PostgreSQL half of this test: 127.0.0.1:5432 is unreachable ({e}). Set REQUIRE_POSTGRES=1 to make this an error. ***\n");
            return None;
        }
    };
    let name = format!("carddesk_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    Some(NewDatabase { url, name })
}
