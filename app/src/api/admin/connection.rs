use leptos::prelude::*;
use server_fn::codec::Json;

use crate::api::errors::api_error;
use crate::model::{
    ConnectionSettingsInput, ConnectionSettingsView, ConnectionTestReport, FieldError,
    SaveConnectionReport,
};

api_error! {
    /// Reading the GO Cards connection settings.
    pub enum ConnectionSettingsError {}
}

api_error! {
    /// Saving the GO Cards connection settings.
    pub enum SaveConnectionError {
        #[error("Some settings are not valid: see the message by each field.")]
        Invalid { errors: Vec<FieldError> } => BAD_REQUEST,
    }
}

api_error! {
    /// Testing a GO Cards connection.
    pub enum TestConnectionError {
        #[error("Some settings are not valid: see the message by each field.")]
        Invalid { errors: Vec<FieldError> } => BAD_REQUEST,
    }
}

/// What the connection form shows: values in force, which come from env vars, and whether a
/// secret is stored (never the secret).
#[server(endpoint = "gocards_connection", input = Json)]
pub async fn gocards_connection() -> Result<ConnectionSettingsView, ConnectionSettingsError> {
    use crate::api::access;
    use backend::settings;

    access::require_admin().await?;
    let app = access::app_state()?;
    Ok(settings::view_connection(&app).await?)
}

/// Stores the settings (an empty secret keeps the stored one) and puts them in force.
#[server(endpoint = "save_gocards_connection", input = Json)]
pub async fn save_gocards_connection(
    settings: ConnectionSettingsInput,
) -> Result<SaveConnectionReport, SaveConnectionError> {
    use crate::api::access;
    use backend::settings::{save_connection, SaveError};

    let admin = access::require_admin().await?;
    let app = access::app_state()?;
    save_connection(&app, &settings, &admin.username)
        .await
        .map_err(|err| match err {
            SaveError::Invalid(errors) => SaveConnectionError::Invalid { errors },
            SaveError::Encrypt => {
                tracing::error!("could not encrypt the GO Cards client secret");
                SaveConnectionError::internal()
            }
            SaveError::Storage(err) => err.into(),
        })
}

/// Fetches a token and makes one API call with the typed settings (empty fields fall back
/// to the env and stored ones). Stores nothing.
#[server(endpoint = "test_gocards_connection", input = Json)]
pub async fn test_gocards_connection(
    settings: ConnectionSettingsInput,
) -> Result<ConnectionTestReport, TestConnectionError> {
    use crate::api::access;
    use backend::settings::{test_connection, TestError};

    let admin = access::require_admin().await?;
    let app = access::app_state()?;
    test_connection(&app, &settings, &admin.username)
        .await
        .map_err(|err| match err {
            TestError::Invalid(errors) => TestConnectionError::Invalid { errors },
            TestError::Storage(err) => err.into(),
        })
}
