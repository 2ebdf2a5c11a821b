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

/// One setting to store (`Some`) or remove (`None`), with its audit detail, which must not
/// contain a secret in clear.
#[derive(Clone, Debug)]
pub struct SettingChange {
    pub key: &'static str,
    pub value: Option<String>,
    pub audit_detail: String,
}

impl Db {
    /// Stores several settings and their audit lines in one transaction: all or nothing.
    pub async fn put_settings(
        &self,
        changes: &[SettingChange],
        actor: &str,
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for change in changes {
                match &change.value {
                    Some(value) => {
                        sqlx::query(
                            "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                        )
                        .bind(change.key)
                        .bind(value)
                        .bind(now)
                        .bind(actor)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        sqlx::query("DELETE FROM settings WHERE key = $1")
                            .bind(change.key)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let action = format!("set {}", change.key);
                let record = super::audit::AuditRecord {
                    actor,
                    action: &action,
                    detail: &change.audit_detail,
                };
                super::audit::insert_audit!(&mut *tx, now, record).await?;
            }
            tx.commit().await
        })
    }
}
