//! Log-in: the axum-login backend over the users table, and the session store over
//! whichever database is in use.

use async_trait::async_trait;
use axum_login::{AuthUser, AuthnBackend, UserId};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use super::db::Db;
use desk_core::model::{Role, SessionUser};

/// A logged-in user. The auth hash (session epoch and password hash) is kept only so that a
/// password change, or disabling the user, ends old sessions.
#[derive(Clone)]
pub struct DeskUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
    auth_hash: Vec<u8>,
}

impl std::fmt::Debug for DeskUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeskUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl DeskUser {
    pub fn session_user(&self) -> SessionUser {
        SessionUser {
            username: self.username.clone(),
            role: self.role,
        }
    }
}

impl AuthUser for DeskUser {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.auth_hash
    }
}

#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("password check task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

#[derive(Clone, Debug)]
pub struct DeskAuth {
    db: Db,
}

impl DeskAuth {
    pub fn new(db: Db) -> Self {
        DeskAuth { db }
    }
}

/// A hash of a password nobody has, checked when the user does not exist.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| password_auth::generate_hash(uuid::Uuid::new_v4().to_string()))
}

/// Hashes a password with argon2id, off the async threads.
pub async fn hash_password(password: String) -> Result<String, tokio::task::JoinError> {
    tokio::task::spawn_blocking(move || password_auth::generate_hash(password)).await
}

/// Whether `password` matches `hash`; with no hash (no such user) a decoy is checked, so
/// that a wrong name takes as long as a wrong password. Runs argon2id off the async threads.
pub async fn verify_password(
    password: String,
    hash: Option<String>,
) -> Result<bool, tokio::task::JoinError> {
    let hash = hash.unwrap_or_else(|| decoy_hash().to_owned());
    tokio::task::spawn_blocking(move || password_auth::verify_password(password, &hash).is_ok())
        .await
}

impl AuthnBackend for DeskAuth {
    type User = DeskUser;
    type Credentials = Credentials;
    type Error = AuthError;

    /// Unthrottled: the log-in goes through `services::login::check`, which throttles and
    /// bounds the checks first. This is here because axum-login asks for it.
    async fn authenticate(&self, creds: Credentials) -> Result<Option<DeskUser>, AuthError> {
        let row = self.db.user_by_name(&creds.username).await?;
        let hash = row.as_ref().map(|r| r.password_hash.clone());
        let matches = verify_password(creds.password, hash).await?;
        Ok(row
            .filter(|r| matches && r.enabled == 1)
            .and_then(into_desk_user))
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<DeskUser>, AuthError> {
        let row = self.db.user_by_id(*id).await?;
        Ok(row.filter(|r| r.enabled == 1).and_then(into_desk_user))
    }
}

/// The user a row stands for; `None` for a role this build does not know.
pub fn into_desk_user(row: super::db::users::UserRow) -> Option<DeskUser> {
    let role = row.role()?;
    // The session epoch is part of the hash that axum-login keeps in each session: disabling
    // a user moves it on, so every session from before is refused for good, even after the
    // user is enabled again.
    let mut auth_hash = row.session_epoch.to_string().into_bytes();
    auth_hash.push(b':');
    auth_hash.extend_from_slice(row.password_hash.as_bytes());
    Some(DeskUser {
        id: row.id,
        username: row.username,
        role,
        auth_hash,
    })
}

pub type AuthSession = axum_login::AuthSession<DeskAuth>;

/// Sessions live server-side, in the same database as everything else, so that every
/// replica sees them.
#[derive(Clone, Debug)]
pub enum DeskSessionStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl DeskSessionStore {
    /// The store over tables that exist already (`new` made them at start).
    pub fn existing(db: &Db) -> Self {
        match db {
            Db::Sqlite(pool, _) => DeskSessionStore::Sqlite(SqliteStore::new(pool.clone())),
            Db::Postgres(pool, _) => DeskSessionStore::Postgres(PostgresStore::new(pool.clone())),
        }
    }

    /// The store, its tables made first if need be.
    pub async fn new(db: &Db) -> Result<Self, sqlx::Error> {
        let store = DeskSessionStore::existing(db);
        // Under the start-up lock: replicas creating the tables at once on a new PostgreSQL
        // database fail with a unique violation in the catalogue (or, in this store's
        // work-around for that, go on before the table exists).
        db.under_startup_lock(async {
            match &store {
                DeskSessionStore::Sqlite(s) => s.migrate().await,
                DeskSessionStore::Postgres(s) => s.migrate().await,
            }
        })
        .await?;
        Ok(store)
    }
}

#[async_trait]
impl SessionStore for DeskSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            DeskSessionStore::Sqlite(s) => s.create(record).await,
            DeskSessionStore::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            DeskSessionStore::Sqlite(s) => s.save(record).await,
            DeskSessionStore::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            DeskSessionStore::Sqlite(s) => s.load(id).await,
            DeskSessionStore::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            DeskSessionStore::Sqlite(s) => s.delete(id).await,
            DeskSessionStore::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for DeskSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            DeskSessionStore::Sqlite(s) => s.delete_expired().await,
            DeskSessionStore::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// Where a session keeps the time of its log-in, for `SESSION_MAX_HOURS`.
const LOGGED_IN_AT_KEY: &str = "logged_in_ms";

/// Notes in the session when it logged in.
pub async fn mark_logged_in(
    session: &tower_sessions::Session,
) -> Result<(), tower_sessions::session::Error> {
    session
        .insert(LOGGED_IN_AT_KEY, chrono::Utc::now().timestamp_millis())
        .await
}

/// Whether a logged-in session is older than `max_age` (however busy it was). A session
/// that never noted its log-in (from before this rule) counts as outlived.
pub async fn outlived(session: &tower_sessions::Session, max_age: std::time::Duration) -> bool {
    let at: Option<i64> = session.get(LOGGED_IN_AT_KEY).await.ok().flatten();
    let max_ms = i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX);
    at.is_none_or(|at| chrono::Utc::now().timestamp_millis().saturating_sub(at) > max_ms)
}
