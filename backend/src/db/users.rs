//! Users and their password hashes.

use sqlx::FromRow;

use super::audit::{insert_audit, AuditRecord};
use super::{guarded_write_with_audit, now_ms, on_pool, rows_affected, Db, DbKind};
use desk_core::model::Role;

/// A user as stored. Deliberately not `Serialize`: the hash never leaves the server.
#[derive(Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub enabled: i64,
    /// Moves on each time the user is disabled; part of every session's auth hash.
    pub session_epoch: i64,
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

const COLUMNS: &str = "id, username, password_hash, role, enabled, session_epoch";

/// The transaction-scoped advisory lock that puts user changes one after another on
/// PostgreSQL. The key is this desk's own; no other lock uses it.
const USER_CHANGES_LOCK: &str = "SELECT pg_advisory_xact_lock(7263501)";

impl Db {
    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
        on_pool!(self, pool => sqlx::query_as::<_, UserRow>(&sql).bind(username).fetch_optional(pool).await)
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        on_pool!(self, pool => sqlx::query_as::<_, UserRow>(&sql).bind(id).fetch_optional(pool).await)
    }

    /// Inserts a user without an audit line, for a test's set-up; `Ok(false)` when the name is
    /// taken. Users the desk creates go through `add_user`.
    pub async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<bool, sqlx::Error> {
        let sql = "INSERT INTO users (username, password_hash, role, enabled, created_at) \
                   VALUES ($1, $2, $3, 1, $4) ON CONFLICT (username) DO NOTHING";
        let done = rows_affected!(
            self,
            sqlx::query(sql)
                .bind(username)
                .bind(password_hash)
                .bind(role.as_str())
                .bind(now_ms())
        )?;
        Ok(done == 1)
    }

    pub async fn count_users(&self) -> Result<i64, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool).await)
    }
}

/// What a guarded change to a user did.
#[derive(Clone, Debug)]
pub enum UserChange {
    /// Done; the user as it is now.
    Done(UserRow),
    NoSuchUser,
    /// Refused: it would leave no enabled admin.
    LastAdmin,
}

/// A change to one user's role or enabled flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserUpdate {
    Enabled(bool),
    Role(Role),
}

impl Db {
    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username");
        on_pool!(self, pool => sqlx::query_as::<_, UserRow>(&sql).fetch_all(pool).await)
    }

    /// Inserts a user and the audit line in one transaction; `Ok(false)` when the name is
    /// taken (and nothing is written).
    pub async fn add_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        audit: AuditRecord<'_>,
    ) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        guarded_write_with_audit!(
            self,
            now,
            sqlx::query(
                "INSERT INTO users (username, password_hash, role, enabled, created_at) \
                 VALUES ($1, $2, $3, 1, $4) ON CONFLICT (username) DO NOTHING",
            )
            .bind(username)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(now),
            audit
        )
    }

    /// Sets a new password hash and writes the audit line; `Ok(false)` when no such user.
    /// The user's sessions end, since they are bound to the old hash.
    pub async fn reset_password_hash(
        &self,
        username: &str,
        hash: &str,
        audit: AuditRecord<'_>,
    ) -> Result<bool, sqlx::Error> {
        guarded_write_with_audit!(
            self,
            now_ms(),
            sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
                .bind(hash)
                .bind(username),
            audit
        )
    }

    /// Enables, disables, promotes or demotes a user, and writes the audit line, unless that
    /// would leave no enabled admin. Concurrent changes cannot race past the check: the
    /// transaction first takes [`USER_CHANGES_LOCK`] (PostgreSQL) or the write lock (SQLite).
    pub async fn update_user(
        &self,
        username: &str,
        update: UserUpdate,
        audit: AuditRecord<'_>,
    ) -> Result<UserChange, sqlx::Error> {
        let now = now_ms();
        let select = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
        // User changes go one at a time, so that the "last enabled admin" check sees every
        // other change. SQLite: take the write lock first. PostgreSQL: one transaction-scoped
        // advisory lock (locking the admin rows instead could deadlock, as two changes would
        // lock them in different orders).
        let one_at_a_time = match self.kind() {
            DbKind::Sqlite => "UPDATE users SET role = role WHERE role = 'admin'",
            DbKind::Postgres => USER_CHANGES_LOCK,
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(one_at_a_time).execute(&mut *tx).await?;
            let Some(row) = sqlx::query_as::<_, UserRow>(&select)
                .bind(username)
                .fetch_optional(&mut *tx)
                .await?
            else {
                tx.rollback().await?;
                return Ok(UserChange::NoSuchUser);
            };
            let counts_as_admin = row.role() == Some(Role::Admin) && row.enabled == 1;
            let stops_counting = match update {
                UserUpdate::Enabled(enabled) => !enabled,
                UserUpdate::Role(role) => role != Role::Admin,
            };
            if counts_as_admin && stops_counting {
                let others: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM users WHERE role = 'admin' AND enabled = 1 AND id <> $1",
                )
                .bind(row.id)
                .fetch_one(&mut *tx)
                .await?;
                if others == 0 {
                    tx.rollback().await?;
                    return Ok(UserChange::LastAdmin);
                }
            }
            match update {
                UserUpdate::Enabled(enabled) => {
                    // Disabling moves the session epoch on: the user's sessions end for good.
                    sqlx::query(
                        "UPDATE users SET enabled = $1, session_epoch = session_epoch + (1 - $1) \
                         WHERE id = $2",
                    )
                        .bind(i64::from(enabled))
                        .bind(row.id)
                        .execute(&mut *tx)
                        .await?;
                }
                UserUpdate::Role(role) => {
                    sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                        .bind(role.as_str())
                        .bind(row.id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            insert_audit!(&mut *tx, now, audit).await?;
            let updated = sqlx::query_as::<_, UserRow>(&select)
                .bind(username)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(UserChange::Done(updated))
        })
    }
}
