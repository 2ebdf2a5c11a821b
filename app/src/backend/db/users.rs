//! Users and their password hashes.

use sqlx::FromRow;

use super::{now_ms, on_pool, Db};
use crate::model::Role;

/// A user as stored. Deliberately not `Serialize`: the hash never leaves the server.
#[derive(Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub enabled: i64,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl UserRow {
    pub fn role(&self) -> Option<Role> {
        self.role.parse().ok()
    }
}

const COLUMNS: &str = "id, username, password_hash, role, enabled";

impl Db {
    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
        on_pool!(self, pool => sqlx::query_as::<_, UserRow>(&sql).bind(username).fetch_optional(pool).await)
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        on_pool!(self, pool => sqlx::query_as::<_, UserRow>(&sql).bind(id).fetch_optional(pool).await)
    }

    /// Inserts a user; `Ok(false)` when the name is taken.
    pub async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<bool, sqlx::Error> {
        let sql = "INSERT INTO users (username, password_hash, role, enabled, created_at) \
                   VALUES ($1, $2, $3, 1, $4) ON CONFLICT (username) DO NOTHING";
        let done = on_pool!(self, pool => sqlx::query(sql)
            .bind(username)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Sets a new password hash; `Ok(false)` when no such user exists.
    pub async fn set_password_hash(&self, username: &str, hash: &str) -> Result<bool, sqlx::Error> {
        let sql = "UPDATE users SET password_hash = $1 WHERE username = $2";
        let done = on_pool!(self, pool => sqlx::query(sql).bind(hash).bind(username).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    pub async fn count_users(&self) -> Result<i64, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool).await)
    }
}
