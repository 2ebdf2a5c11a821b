//! Storage: one `Db` handle over SQLite or PostgreSQL. Every query is written once, in SQL
//! both engines accept (`$N` parameters, `ON CONFLICT`, `NULLS LAST`), and runs through
//! `on_pool!`, which compiles the body for each engine's concrete pool. Where the engines
//! differ (migrations, locks), both versions sit side by side in this module.

pub mod audit;
pub mod cards;
pub mod commands;
pub mod history;
pub mod settings;
pub mod sync;
pub mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// The default database: a SQLite file that needs no set-up.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/cards.db?mode=rwc";

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// Runs `$body` with `$pool` bound to the concrete pool of either engine.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub use on_pool;

/// Runs one statement (`sqlx::query(..)` with its binds) on either engine; evaluates to the
/// number of rows it changed.
macro_rules! rows_affected {
    ($db:expr, $query:expr) => {
        $crate::db::on_pool!($db, pool => $query.execute(pool).await.map(|done| done.rows_affected()))
    };
}
pub(crate) use rows_affected;

/// In one transaction: a write guarded by its `WHERE` (or `ON CONFLICT DO NOTHING`) and, if
/// it changed exactly one row, its audit line. Evaluates to `Ok(false)` when it changed
/// nothing, and then nothing is written. `$at` is the audit line's time.
macro_rules! guarded_write_with_audit {
    ($db:expr, $at:expr, $query:expr, $audit:expr) => {{
        let now = $at;
        $crate::db::on_pool!($db, pool => async {
            let mut tx = pool.begin().await?;
            let done = $query.execute(&mut *tx).await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            $crate::db::audit::insert_audit!(&mut *tx, now, $audit).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)
    }};
}
pub(crate) use guarded_write_with_audit;

/// How many ids one `IN (…)` list binds: well under either engine's limit on binds.
pub(crate) const IN_LIST_CHUNK: usize = 500;

/// Appends `(…)` with one bind per id: the `IN` list of a statement run a chunk of
/// [`IN_LIST_CHUNK`] ids at a time.
pub(crate) fn push_in_list<'args, DB>(
    query: &mut sqlx::QueryBuilder<'args, DB>,
    ids: &'args [String],
) where
    DB: sqlx::Database,
    &'args String: sqlx::Encode<'args, DB> + sqlx::Type<DB>,
{
    query.push("(");
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    query.push(")");
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL is not a sqlite:// or postgres:// URL")]
    UnsupportedUrl,
    #[error("could not create the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("could not open the database: {0}")]
    Open(#[source] sqlx::Error),
    #[error("could not bring the database schema up to date: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

impl Db {
    /// Opens the database named by `url`, creating a SQLite file (and its folder) if needed,
    /// and applies the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, ConnectError> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(ConnectError::Open)?;
            Db::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(ConnectError::Open)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            if let Some(dir) = options.get_filename().parent() {
                if !dir.as_os_str().is_empty() && !is_memory(options.get_filename()) {
                    std::fs::create_dir_all(dir).map_err(|source| ConnectError::DataDir {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(ConnectError::Open)?;
            Db::Sqlite(pool)
        } else {
            return Err(ConnectError::UnsupportedUrl);
        };
        db.migrate().await?;
        Ok(db)
    }

    pub fn kind(&self) -> DbKind {
        match self {
            Db::Sqlite(_) => DbKind::Sqlite,
            Db::Postgres(_) => DbKind::Postgres,
        }
    }

    async fn migrate(&self) -> Result<(), ConnectError> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
        }
        .map_err(ConnectError::Migrate)
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    /// Refreshes the planner's statistics, after a bulk load, so searches pick the right index.
    pub async fn analyze(&self) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(pool) => sqlx::query("ANALYZE").execute(pool).await.map(|_| ()),
            // VACUUM as well: it sets the visibility map, without which PostgreSQL cannot
            // answer from the covering indexes alone. Right after a bulk load its plans read
            // the table instead (a search's capped count took 72–295 ms instead of 3 ms).
            Db::Postgres(pool) => {
                // One statement per call: VACUUM cannot run inside a transaction, and a
                // multi-statement string is one.
                sqlx::raw_sql("VACUUM (ANALYZE) cards, card_holders")
                    .execute(pool)
                    .await?;
                sqlx::raw_sql("ANALYZE").execute(pool).await.map(|_| ())
            }
        }
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

fn is_memory(path: &Path) -> bool {
    path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:")
}

/// Milliseconds since the Unix epoch: how every timestamp is stored.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Renders a stored timestamp as RFC 3339 UTC, to the second.
pub fn to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}
