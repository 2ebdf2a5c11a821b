//! Log-in: the axum-login backend over the users table, and the session store over
//! whichever database is in use.

use async_trait::async_trait;
use axum_login::{AuthUser, AuthnBackend, UserId};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use super::db::Db;
use desk_core::model::{Role, SessionUser};

/// A logged-in user. The hash is kept only so that a password change ends old sessions.
#[derive(Clone)]
pub struct DeskUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
    password_hash: String,
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
        self.password_hash.as_bytes()
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

/// A hash of a password nobody has, checked when the user does not exist, so that a
/// wrong name takes as long as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| password_auth::generate_hash(uuid::Uuid::new_v4().to_string()))
}

/// Hashes a password with argon2id, off the async threads.
pub async fn hash_password(password: String) -> Result<String, tokio::task::JoinError> {
    tokio::task::spawn_blocking(move || password_auth::generate_hash(password)).await
}

impl AuthnBackend for DeskAuth {
    type User = DeskUser;
    type Credentials = Credentials;
    type Error = AuthError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<DeskUser>, AuthError> {
        let row = self.db.user_by_name(&creds.username).await?;
        let hash = row
            .as_ref()
            .map(|r| r.password_hash.clone())
            .unwrap_or_else(|| decoy_hash().to_owned());
        let password = creds.password;
        let matches = tokio::task::spawn_blocking(move || {
            password_auth::verify_password(password, &hash).is_ok()
        })
        .await?;
        Ok(row
            .filter(|r| matches && r.enabled == 1)
            .and_then(into_desk_user))
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<DeskUser>, AuthError> {
        let row = self.db.user_by_id(*id).await?;
        Ok(row.filter(|r| r.enabled == 1).and_then(into_desk_user))
    }
}

fn into_desk_user(row: super::db::users::UserRow) -> Option<DeskUser> {
    let role = row.role()?;
    Some(DeskUser {
        id: row.id,
        username: row.username,
        role,
        password_hash: row.password_hash,
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
    pub async fn new(db: &Db) -> Result<Self, sqlx::Error> {
        let store = match db {
            Db::Sqlite(pool) => DeskSessionStore::Sqlite(SqliteStore::new(pool.clone())),
            Db::Postgres(pool) => DeskSessionStore::Postgres(PostgresStore::new(pool.clone())),
        };
        match &store {
            DeskSessionStore::Sqlite(s) => s.migrate().await?,
            DeskSessionStore::Postgres(s) => s.migrate().await?,
        }
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
