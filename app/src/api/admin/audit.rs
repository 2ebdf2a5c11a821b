use leptos::prelude::*;
use server_fn::codec::Json;

use crate::api::errors::api_error;
use crate::model::AuditEntry;

api_error! {
    /// Reading the admin audit log.
    pub enum AuditLogError {}
}

/// The latest admin audit lines, newest first.
#[server(endpoint = "admin_audit_log", input = Json)]
pub async fn admin_audit_log() -> Result<Vec<AuditEntry>, AuditLogError> {
    use crate::api::access;

    access::require_admin().await?;
    let app = access::app_state()?;
    Ok(app.db.audit_log(super::AUDIT_LOG_ROWS).await?)
}
