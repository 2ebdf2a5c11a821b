//! Storage: one `Db` handle over SQLite or PostgreSQL. Every query is written once, in SQL
//! both engines accept (`$N` parameters, `ON CONFLICT`, `NULLS LAST`), and runs through
//! `on_pool!`, which compiles the body for each engine's concrete pool. Where the engines
//! differ (migrations, locks), both versions sit side by side in this module.

pub mod audit;
pub mod cards;
pub mod commands;
pub mod export;
pub mod history;
pub mod holders;
pub mod jobs;
pub mod orders;
pub mod retention;
pub mod settings;
pub mod sync;
pub mod users;

use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Postgres;

use desk_core::model::{pack_payloads, unpack_payload, CardEvent, LiveEvent};

use crate::events::Events;

/// The default database: a SQLite file that needs no set-up.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/cards.db?mode=rwc";

/// How long a request waits for a PostgreSQL connection before it is told the database is
/// unavailable. While the server is down, each attempt is refused at once and retried until
/// then, so a request answers within this (plus its own work), not never.
pub const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The longest one PostgreSQL statement may run (`statement_timeout`, set on every
/// connection). Start-up work (migrations, waiting for the start-up lock) and `analyze` lift
/// it on their own connection.
pub const PG_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// The advisory lock that start-up work holds on PostgreSQL, so that replicas starting
/// together on a new database take turns: "carddesk" in ASCII. sqlx's migrator takes a lock
/// of its own besides, keyed by the database name.
pub const PG_STARTUP_LOCK: i64 = 0x6361_7264_6465_736b;

#[derive(Clone, Debug)]
pub enum Db {
    /// The pool, and this process's live events: SQLite runs as one process, so its changes
    /// are handed to the streams in-process, after commit.
    Sqlite(SqlitePool, Events),
    /// The pool, and this replica's live events, fed by its `LISTEN` connection ([`Db::listen`]).
    Postgres(PgPool, Events),
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
            $crate::db::Db::Sqlite($pool, _) => $body,
            $crate::db::Db::Postgres($pool, _) => $body,
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
            let options = PgConnectOptions::from_str(url)
                .map_err(ConnectError::Open)?
                .options([(
                    "statement_timeout",
                    PG_STATEMENT_TIMEOUT.as_millis().to_string(),
                )]);
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                // No connection is kept open for its own sake: after an outage the pool
                // holds only connections made since, each checked before it is handed out.
                .min_connections(0)
                .test_before_acquire(true)
                .acquire_timeout(PG_ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await
                .map_err(ConnectError::Open)?;
            Db::Postgres(pool, Events::new())
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
            Db::Sqlite(pool, Events::new())
        } else {
            return Err(ConnectError::UnsupportedUrl);
        };
        db.migrate().await?;
        Ok(db)
    }

    pub fn kind(&self) -> DbKind {
        match self {
            Db::Sqlite(..) => DbKind::Sqlite,
            Db::Postgres(..) => DbKind::Postgres,
        }
    }

    /// Brings the schema up to date. On PostgreSQL this runs under the start-up lock, on its
    /// connection, with no statement timeout (a migration may rebuild an index).
    async fn migrate(&self) -> Result<(), ConnectError> {
        match self {
            Db::Sqlite(pool, _) => sqlx::migrate!("./migrations/sqlite")
                .run(pool)
                .await
                .map_err(ConnectError::Migrate),
            Db::Postgres(pool, _) => {
                let mut lock = StartupLock::take(pool).await.map_err(ConnectError::Open)?;
                let done = sqlx::migrate!("./migrations/postgres")
                    .run(lock.connection())
                    .await;
                lock.release().await;
                done.map_err(ConnectError::Migrate)
            }
        }
    }

    /// Runs `work` (start-up set-up that uses the pool, such as the session store's tables)
    /// while holding the start-up lock, so that replicas starting together do it one at a
    /// time. The lock holds a connection of the pool of its own while `work` runs. SQLite
    /// needs no lock: one file, whose writers SQLite itself takes in turn.
    pub async fn under_startup_lock<T, E>(
        &self,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E>
    where
        E: From<sqlx::Error>,
    {
        let Db::Postgres(pool, _) = self else {
            return work.await;
        };
        let lock = StartupLock::take(pool).await?;
        let done = work.await;
        lock.release().await;
        done
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    /// Refreshes the planner's statistics, after a bulk load, so searches pick the right index.
    pub async fn analyze(&self) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(pool, _) => sqlx::query("ANALYZE").execute(pool).await.map(|_| ()),
            // VACUUM as well: it sets the visibility map, without which PostgreSQL cannot
            // answer from the covering indexes alone. Right after a bulk load its plans read
            // the table instead (a search's capped count took 72–295 ms instead of 3 ms).
            Db::Postgres(pool, _) => {
                // On a connection of its own without the statement timeout: on a million
                // cards this takes longer than any request may.
                let mut conn = Unbounded::acquire(pool).await?;
                // One statement per call: VACUUM cannot run inside a transaction, and a
                // multi-statement string is one.
                let done = async {
                    sqlx::raw_sql("VACUUM (ANALYZE) cards, card_holders")
                        .execute(conn.connection())
                        .await?;
                    sqlx::raw_sql("ANALYZE")
                        .execute(conn.connection())
                        .await
                        .map(|_| ())
                }
                .await;
                conn.release().await;
                done
            }
        }
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// Live events: what a committed change tells the open pages (`crate::events`).
impl Db {
    /// The pool's connections now: in use, and idle.
    pub fn pool_connections(&self) -> (usize, usize) {
        on_pool!(self, pool => {
            let idle = pool.num_idle();
            let open = usize::try_from(pool.size()).unwrap_or(usize::MAX);
            (open.saturating_sub(idle), idle)
        })
    }

    /// This process's hub of live events.
    pub fn events(&self) -> &Events {
        match self {
            Db::Sqlite(_, events) | Db::Postgres(_, events) => events,
        }
    }

    /// Publishes events of changes that have committed already (a job's or the sync's
    /// progress): on PostgreSQL with `NOTIFY`, to every replica; on SQLite in-process.
    pub async fn announce(&self, events: Vec<LiveEvent>) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(_, hub) => {
                hub.publish(events);
                Ok(())
            }
            Db::Postgres(pool, _) => {
                let mut conn = pool.acquire().await?;
                conn.notify_events(&events).await
            }
        }
    }

    /// After the commit of a transaction that staged `events` with
    /// [`NotifyInTx::notify_events`]: on SQLite they go to the streams now. On PostgreSQL the
    /// commit itself delivered them.
    pub(crate) fn after_commit(&self, events: Vec<LiveEvent>) {
        if let Db::Sqlite(_, hub) = self {
            hub.publish(events);
        }
    }

    /// Starts relaying `NOTIFY`s to this replica's streams, on a connection of its own that is
    /// made again, with backoff, whenever it drops; then every stream is told to reload,
    /// since what was sent meanwhile is lost. Waits (at most `wait`) until it listens, so that
    /// a replica that has started misses nothing. On SQLite there is nothing to listen to.
    pub async fn listen(&self, wait: Duration) {
        let Db::Postgres(pool, events) = self else {
            self.events().set_listening(true);
            return;
        };
        let options = (*pool.connect_options())
            .clone()
            .application_name(LISTEN_APPLICATION_NAME);
        // One connection, made when the listener asks; never more.
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(PG_ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        tokio::spawn(relay_notifications(listen_pool, events.clone()));
        if !events.wait_listening(wait).await {
            tracing::warn!(
                "not listening for other replicas' changes yet; the page updates start once it is"
            );
        }
    }
}

/// The `application_name` of each replica's `LISTEN` connection, to find it in
/// `pg_stat_activity`.
pub const LISTEN_APPLICATION_NAME: &str = "carddesk-listen";

async fn relay_notifications(pool: PgPool, events: Events) {
    use sqlx::postgres::PgListener;
    let mut backoff = LISTEN_BACKOFF_MIN;
    let mut dropped = false;
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(crate::events::CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            made = connected => match made {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?backoff, "could not LISTEN for other replicas' changes");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = events.until_shut_down() => return,
                    }
                    backoff = (backoff * 2).min(LISTEN_BACKOFF_MAX);
                    continue;
                }
            },
            _ = events.until_shut_down() => return,
        };
        backoff = LISTEN_BACKOFF_MIN;
        events.set_listening(true);
        if dropped {
            tracing::info!("listening for other replicas' changes again");
            events.reload_all();
        }
        loop {
            tokio::select! {
                got = listener.try_recv() => match got {
                    Ok(Some(notification)) => match unpack_payload(notification.payload()) {
                        Ok(received) => events.publish(received),
                        Err(error) => tracing::warn!(%error, "a change notification that is not ours"),
                    },
                    // The connection is gone; make it again.
                    Ok(None) | Err(_) => break,
                },
                _ = events.until_shut_down() => return,
            }
        }
        tracing::warn!("the LISTEN connection dropped; making it again");
        events.set_listening(false);
        dropped = true;
    }
}

const LISTEN_BACKOFF_MIN: Duration = Duration::from_millis(100);
const LISTEN_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Stages live events inside a transaction: on PostgreSQL a `NOTIFY`, delivered only when the
/// transaction commits; on SQLite nothing, and [`Db::after_commit`] hands them over.
pub(crate) trait NotifyInTx {
    async fn notify_events(&mut self, events: &[LiveEvent]) -> Result<(), sqlx::Error>;
}

impl NotifyInTx for sqlx::SqliteConnection {
    async fn notify_events(&mut self, _events: &[LiveEvent]) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

impl NotifyInTx for PgConnection {
    async fn notify_events(&mut self, events: &[LiveEvent]) -> Result<(), sqlx::Error> {
        let (payloads, left_out) = pack_payloads(events);
        if left_out > 0 {
            tracing::warn!(left_out, "live events too big to send");
        }
        for payload in payloads {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::events::CHANNEL)
                .bind(payload)
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }
}

/// The columns a card change returns for its live event, in [`CardChange`]'s order.
pub(crate) const CARD_CHANGE_COLUMNS: &str =
    "card_id, state, version, gocards_status, last_checked_at";

/// A changed card as the write returned it.
pub(crate) type CardChange = (String, String, i64, Option<String>, Option<i64>);

/// The live event of a changed card.
pub(crate) fn card_event(
    (card_id, state, version, gocards_status, last_checked_at): CardChange,
) -> Option<LiveEvent> {
    let state = state.parse().ok()?;
    Some(LiveEvent::Card(CardEvent {
        card_id,
        state,
        version,
        gocards_status,
        last_checked_at: last_checked_at.map(to_rfc3339),
    }))
}

/// Whether a storage error means the database cannot be reached or cannot answer now (an
/// outage, a restart, a full pool, a statement past [`PG_STATEMENT_TIMEOUT`]), rather than a
/// fault in what was asked. Such an error is worth trying again shortly.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // PostgreSQL: connection exceptions (class 08), the server shutting down or
            // starting (57P01–57P03), too many connections, and a statement cancelled by
            // `statement_timeout` (57014).
            code.starts_with("08")
                || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300" | "57014")
        }),
        _ => false,
    }
}

/// A pooled PostgreSQL connection with `statement_timeout` lifted, for work that may run
/// long. [`Unbounded::release`] puts the timeout back before the pool gets the connection
/// again; dropped without that (a panic, a cancelled future, a failed reset), the connection
/// is closed instead, so no pooled connection ever lacks the timeout.
struct Unbounded {
    conn: Option<PoolConnection<Postgres>>,
}

impl Unbounded {
    async fn acquire(pool: &PgPool) -> Result<Unbounded, sqlx::Error> {
        let mut unbounded = Unbounded {
            conn: Some(pool.acquire().await?),
        };
        sqlx::raw_sql("SET statement_timeout = 0")
            .execute(unbounded.connection())
            .await?;
        Ok(unbounded)
    }

    fn connection(&mut self) -> &mut PgConnection {
        match &mut self.conn {
            Some(conn) => conn,
            // Only `release` and `drop` take the connection, and both consume `self`.
            None => unreachable!("an Unbounded connection is used after its release"),
        }
    }

    /// Restores the connection's own statement timeout and hands it back to the pool, or
    /// closes it when that fails.
    async fn release(mut self) {
        let reset = sqlx::raw_sql("RESET statement_timeout")
            .execute(self.connection())
            .await;
        match reset {
            // Dropped as it is, it goes back to the pool.
            Ok(_) => drop(self.conn.take()),
            Err(e) => {
                tracing::warn!(error = %e, "could not restore a connection's statement timeout; closing it")
            }
        }
    }
}

impl Drop for Unbounded {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.close_on_drop();
        }
    }
}

/// The start-up lock ([`PG_STARTUP_LOCK`]), held by one connection with no statement
/// timeout, so that waiting for another replica's migrations is not cut short. Released by
/// [`StartupLock::release`]; if that cannot unlock, or the lock is dropped unreleased, the
/// connection is closed, which ends the lock with its session.
struct StartupLock {
    conn: Unbounded,
}

impl StartupLock {
    async fn take(pool: &PgPool) -> Result<StartupLock, sqlx::Error> {
        let mut conn = Unbounded::acquire(pool).await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(PG_STARTUP_LOCK)
            .execute(conn.connection())
            .await?;
        Ok(StartupLock { conn })
    }

    fn connection(&mut self) -> &mut PgConnection {
        self.conn.connection()
    }

    async fn release(mut self) {
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(PG_STARTUP_LOCK)
            .execute(self.conn.connection())
            .await;
        match unlocked {
            Ok(_) => self.conn.release().await,
            // Dropping `self` closes the connection, and the lock ends with it.
            Err(e) => {
                tracing::warn!(error = %e, "could not release the start-up lock; closing its connection")
            }
        }
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
