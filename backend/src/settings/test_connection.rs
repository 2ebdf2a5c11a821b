//! "Test connection": a token and one `/api` call with the typed settings, reported in one
//! sentence. Changes nothing.

use std::fmt;

use url::Url;

use super::layered::Submitted;
use super::{CheckedInput, Connection};
use crate::db::audit::AuditRecord;
use crate::AppState;
use desk_core::model::{
    ConnectionField, ConnectionSettingsInput, ConnectionTestReport, FieldError,
};
use gocards::{GoCardsClient, GoCardsConfig, GoCardsError};

#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error("some settings are not valid")]
    Invalid(Vec<FieldError>),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// Fetches a token and makes one `/api` call with the typed settings, falling back to the
/// env and stored ones for empty fields. Changes no setting; writes one audit line.
///
/// The secret in force is sent only where it is in force: with a base URL or client ID that
/// differs from the one in force, the secret must be typed again.
pub async fn test_connection(
    state: &AppState,
    input: &ConnectionSettingsInput,
    actor: &str,
) -> Result<ConnectionTestReport, TestError> {
    let Submitted { checked, current } = Submitted::load(state, input, TestError::Invalid).await?;
    let elsewhere = refuse_stored_secret_elsewhere(&current, &checked);
    let typed = with_typed(current, checked);
    let (config, target) = match typed.config().map_err(TestError::Invalid)? {
        Some(config) => {
            let target = Target::GoCards(config.base_url.clone());
            (config, target)
        }
        None => match (
            &state.gocards_settings.simulator,
            state.gocards.is_simulator(),
        ) {
            (Some(simulator), true) => {
                let config = GoCardsConfig {
                    timeout: typed.timeout(),
                    ..simulator.clone()
                };
                (config, Target::Simulator)
            }
            _ => {
                return Err(TestError::Invalid(vec![FieldError {
                    field: ConnectionField::BaseUrl,
                    message: "Enter a base URL to test.".to_owned(),
                }]))
            }
        },
    };
    elsewhere.map_err(TestError::Invalid)?;
    let report = run_test(config, target.clone()).await.report();
    let detail = format!("{target}: {}", if report.ok { "works" } else { "failed" });
    state
        .db
        .record_audit(AuditRecord {
            actor,
            action: "test GO Cards connection",
            detail: &detail,
        })
        .await?;
    Ok(report)
}

/// A typed base URL or client ID other than the one in force, with the secret left empty,
/// would send the secret in force to somebody else: refused.
fn refuse_stored_secret_elsewhere(
    current: &Connection,
    checked: &CheckedInput,
) -> Result<(), Vec<FieldError>> {
    if checked.client_secret.is_some() {
        return Ok(());
    }
    let in_force_url = current
        .base_url
        .value()
        .and_then(|raw| Url::parse(raw).ok());
    let new_url = checked
        .base_url
        .as_ref()
        .is_some_and(|typed| in_force_url.as_ref() != Some(typed));
    let new_client = checked
        .client_id
        .as_ref()
        .is_some_and(|typed| current.client_id.value() != Some(typed));
    if new_url || new_client {
        let changed = if new_url { "base URL" } else { "client ID" };
        return Err(vec![FieldError {
            field: ConnectionField::ClientSecret,
            message: format!(
                "Type the client secret to test another {changed}: the stored secret is sent only to the connection in force."
            ),
        }]);
    }
    Ok(())
}

/// The connection with the typed fields over the stored ones; empty fields fall back.
fn with_typed(current: Connection, checked: CheckedInput) -> Connection {
    Connection {
        base_url: current
            .base_url
            .typed_over(checked.base_url.map(|u| u.as_str().to_owned())),
        client_id: current.client_id.typed_over(checked.client_id),
        client_secret: current.client_secret.typed_over(checked.client_secret),
        organisation_id: current.organisation_id.typed_over(checked.organisation_id),
        timeout_ms: current.timeout_ms.typed_over(checked.timeout_ms),
    }
}

async fn run_test(config: GoCardsConfig, target: Target) -> TestOutcome {
    let organisation = config.organisation_id.clone();
    let timeout_ms = config.timeout.as_millis();
    let result = match GoCardsClient::new(config) {
        Ok(client) => {
            let result = client.test_connection().await;
            tracing::info!(ok = result.is_ok(), error = ?result.as_ref().err(), "GO Cards connection test");
            result.map_err(Failure::Call)
        }
        Err(error) => Err(Failure::Settings(error)),
    };
    TestOutcome {
        target,
        organisation,
        timeout_ms,
        result,
    }
}

/// What was tested.
#[derive(Clone)]
enum Target {
    Simulator,
    GoCards(Url),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Simulator => write!(f, "the built-in GO Cards simulator"),
            Target::GoCards(base_url) => write!(f, "GO Cards at {base_url}"),
        }
    }
}

enum Failure {
    /// The client refused the settings, so nothing was called.
    Settings(GoCardsError),
    Call(GoCardsError),
}

/// One test's result; `report` renders every outcome's sentence.
struct TestOutcome {
    target: Target,
    organisation: String,
    timeout_ms: u128,
    result: Result<(), Failure>,
}

impl TestOutcome {
    fn report(&self) -> ConnectionTestReport {
        let TestOutcome {
            target,
            organisation,
            timeout_ms,
            result,
        } = self;
        let message = match result {
            Ok(()) => format!(
                "Connection works: {target} issued a token and answered an API call for organisation {organisation}."
            ),
            Err(Failure::Settings(error)) => format!("These settings cannot work: {error}."),
            Err(Failure::Call(error)) => match error {
                GoCardsError::Unreachable => {
                    format!("Could not reach {target}. Check the base URL and the network.")
                }
                GoCardsError::Unauthorized => {
                    format!("Wrong credentials: {target} rejected the client ID or client secret.")
                }
                GoCardsError::Forbidden => format!(
                    "Wrong organisation: {target} accepted the credentials but refused organisation {organisation}."
                ),
                GoCardsError::Timeout => {
                    format!("Timeout: {target} did not answer within {timeout_ms} ms.")
                }
                GoCardsError::ServerError {
                    status: status @ (404 | 405 | 410),
                } => format!("{target} has no token endpoint (error {status}). Check the base URL."),
                GoCardsError::ServerError { status } => {
                    format!("{target} answered with error {status}. Try again later.")
                }
                GoCardsError::Malformed | GoCardsError::Oversized => {
                    format!("{target} does not answer like GO Cards. Check the base URL.")
                }
                GoCardsError::RateLimited { retry_after } => format!(
                    "{target} is busy; try again in {} s.",
                    retry_after.as_secs().max(1)
                ),
                GoCardsError::NotFound => {
                    format!("{target} answered 404 to the API call. Check the base URL.")
                }
                GoCardsError::BadRequest | GoCardsError::Conflict => {
                    format!("{target} refused the test call as invalid.")
                }
                GoCardsError::ClientError { status } => format!(
                    "{target} refused the test call (error {status}). Check the base URL, and \
                     any proxy in front of GO Cards."
                ),
                GoCardsError::InvalidConfig(problem) => {
                    format!("These settings cannot work: {problem}.")
                }
            },
        };
        ConnectionTestReport {
            ok: result.is_ok(),
            message,
        }
    }
}
