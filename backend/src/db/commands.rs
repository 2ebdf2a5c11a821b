//! Additional Commands: which processes admins enabled on which list (a card-state tab,
//! or Users › User). The `state` column holds the list's stored name (`CommandList::as_str`).

use super::audit::{insert_audit, AuditRecord};
use super::{now_ms, on_pool, rows_affected, Db};
use desk_core::domain::{CommandList, Process};

/// Deletes a tab's rows and inserts `processes` in order, inside the transaction `$tx`.
macro_rules! replace_rows {
    ($tx:expr, $state:expr, $processes:expr) => {
        sqlx::query("DELETE FROM enabled_commands WHERE state = $1")
            .bind($state.as_str())
            .execute($tx)
            .await?;
        for (position, process) in $processes.iter().enumerate() {
            sqlx::query(
                "INSERT INTO enabled_commands (state, process, position) VALUES ($1, $2, $3) \
                 ON CONFLICT (state, process) DO NOTHING",
            )
            .bind($state.as_str())
            .bind(process.as_str())
            .bind(position as i64)
            .execute($tx)
            .await?;
        }
    };
}

impl Db {
    /// The processes enabled on `list`, in the admin's order. Unknown names (from a newer
    /// version, say) are skipped.
    pub async fn enabled_commands(
        &self,
        list: impl Into<CommandList>,
    ) -> Result<Vec<Process>, sqlx::Error> {
        let state: CommandList = list.into();
        let sql =
            "SELECT process FROM enabled_commands WHERE state = $1 ORDER BY position, process";
        let names: Vec<String> = on_pool!(self, pool => sqlx::query_scalar::<_, String>(sql)
            .bind(state.as_str())
            .fetch_all(pool)
            .await)?;
        Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
    }

    pub async fn is_command_enabled(
        &self,
        list: impl Into<CommandList>,
        process: Process,
    ) -> Result<bool, sqlx::Error> {
        let state: CommandList = list.into();
        let sql = "SELECT COUNT(*) FROM enabled_commands WHERE state = $1 AND process = $2";
        let n: i64 = on_pool!(self, pool => sqlx::query_scalar::<_, i64>(sql)
            .bind(state.as_str())
            .bind(process.as_str())
            .fetch_one(pool)
            .await)?;
        Ok(n > 0)
    }

    /// Replaces the whole list, atomically. The caller has checked that every process
    /// applies to it.
    pub async fn replace_commands(
        &self,
        list: impl Into<CommandList>,
        processes: &[Process],
    ) -> Result<(), sqlx::Error> {
        let state: CommandList = list.into();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            replace_rows!(&mut *tx, state, processes);
            tx.commit().await
        })
    }

    /// Replaces the whole list and writes the audit line, in one transaction. The caller
    /// has checked that every process applies to it.
    pub async fn save_commands(
        &self,
        list: CommandList,
        processes: &[Process],
        audit: AuditRecord<'_>,
    ) -> Result<(), sqlx::Error> {
        let state = list;
        let now = now_ms();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            replace_rows!(&mut *tx, state, processes);
            insert_audit!(&mut *tx, now, audit).await?;
            tx.commit().await
        })
    }

    /// Every list, in `CommandList::ALL` order (empty ones included).
    pub async fn all_commands(&self) -> Result<Vec<(CommandList, Vec<Process>)>, sqlx::Error> {
        let sql = "SELECT state, process FROM enabled_commands ORDER BY position, process";
        let rows: Vec<(String, String)> = on_pool!(self, pool => sqlx::query_as::<_, (String, String)>(sql)
            .fetch_all(pool)
            .await)?;
        Ok(CommandList::ALL
            .into_iter()
            .map(|state| {
                let processes = rows
                    .iter()
                    .filter(|(s, _)| s == state.as_str())
                    .filter_map(|(_, p)| p.parse().ok())
                    .collect();
                (state, processes)
            })
            .collect())
    }

    /// Enables or disables one process on one list; `Ok(true)` when something changed.
    pub async fn set_command(
        &self,
        list: impl Into<CommandList>,
        process: Process,
        enabled: bool,
    ) -> Result<bool, sqlx::Error> {
        let state: CommandList = list.into();
        let done = if enabled {
            rows_affected!(
                self,
                sqlx::query(
                    "INSERT INTO enabled_commands (state, process, position) VALUES ($1, $2, \
                 (SELECT COUNT(*) FROM enabled_commands WHERE state = $1)) \
                 ON CONFLICT (state, process) DO NOTHING",
                )
                .bind(state.as_str())
                .bind(process.as_str())
            )?
        } else {
            rows_affected!(
                self,
                sqlx::query("DELETE FROM enabled_commands WHERE state = $1 AND process = $2")
                    .bind(state.as_str())
                    .bind(process.as_str())
            )?
        };
        Ok(done > 0)
    }
}
