//! The admin audit log: who changed which setting, and when. Secrets are never written here
//! in clear. Writes go in the same transaction as the change they record.

use sqlx::FromRow;

use super::{on_pool, to_rfc3339, Db};
use desk_core::model::AuditEntry;

/// One audit line to write.
#[derive(Clone, Copy, Debug)]
pub struct AuditRecord<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub detail: &'a str,
}

/// Inserts an audit line with any executor (a pool or a transaction) of either engine.
macro_rules! insert_audit {
    ($executor:expr, $at:expr, $record:expr) => {
        sqlx::query("INSERT INTO admin_audit (at, actor, action, detail) VALUES ($1, $2, $3, $4)")
            .bind($at)
            .bind($record.actor)
            .bind($record.action)
            .bind($record.detail)
            .execute($executor)
    };
}
pub(crate) use insert_audit;

#[derive(FromRow)]
struct AuditRow {
    at: i64,
    actor: String,
    action: String,
    detail: String,
}

impl Db {
    /// Writes one audit line on its own, for an action that changes nothing else.
    pub async fn record_audit(&self, record: AuditRecord<'_>) -> Result<(), sqlx::Error> {
        let now = super::now_ms();
        on_pool!(self, pool => insert_audit!(pool, now, record).await.map(|_| ()))
    }

    /// The latest `limit` audit lines, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
        let sql = "SELECT at, actor, action, detail FROM admin_audit ORDER BY id DESC LIMIT $1";
        let rows = on_pool!(self, pool => sqlx::query_as::<_, AuditRow>(sql)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|row| AuditEntry {
                at: to_rfc3339(row.at),
                actor: row.actor,
                action: row.action,
                detail: row.detail,
            })
            .collect())
    }

    pub async fn count_audit(&self) -> Result<i64, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM admin_audit")
            .fetch_one(pool)
            .await)
    }
}
