//! Key-value settings and the admin audit log.

use super::{now_ms, on_pool, Db};

impl Db {
    pub async fn setting(&self, key: &str) -> Result<Option<String>, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await)
    }

    /// Stores a setting and writes the audit entry in the same transaction. `audit_detail`
    /// must not contain a secret in clear.
    pub async fn put_setting(
        &self,
        key: &str,
        value: &str,
        actor: &str,
        audit_detail: &str,
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(key)
            .bind(value)
            .bind(now)
            .bind(actor)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO admin_audit (at, actor, action, detail) VALUES ($1, $2, $3, $4)")
                .bind(now)
                .bind(actor)
                .bind(format!("set {key}"))
                .bind(audit_detail)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
    }

    pub async fn audit(&self, actor: &str, action: &str, detail: &str) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => sqlx::query("INSERT INTO admin_audit (at, actor, action, detail) VALUES ($1, $2, $3, $4)")
            .bind(now_ms())
            .bind(actor)
            .bind(action)
            .bind(detail)
            .execute(pool)
            .await
            .map(|_| ()))
    }
}
