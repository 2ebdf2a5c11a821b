//! The connection form's rules. Each refused field gets its own message; fields set by env
//! vars are not checked (they are read-only and ignored).

use reqwest::header::HeaderValue;
use secrecy::SecretString;

use super::GoCardsEnv;
use desk_core::domain::text::has_control;
use desk_core::model::{ConnectionField, ConnectionSettingsInput, FieldError};

pub const MIN_TIMEOUT_MS: u64 = 100;
pub const MAX_TIMEOUT_MS: u64 = 120_000;
const MAX_TEXT_LEN: usize = 500;

/// The form after its rules: `None` for an empty field (or one set by env).
#[derive(Clone, Debug, Default)]
pub struct CheckedInput {
    pub base_url: Option<url::Url>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub organisation_id: Option<String>,
    pub timeout_ms: Option<u64>,
}

pub fn check_input(
    input: &ConnectionSettingsInput,
    env: &GoCardsEnv,
) -> Result<CheckedInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut refuse = |field: ConnectionField, message: &str| {
        errors.push(FieldError {
            field,
            message: message.to_owned(),
        })
    };
    let text = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
    let mut checked = CheckedInput::default();

    if env.base_url.is_none() {
        if let Some(raw) = text(&input.base_url) {
            match check_base_url(&raw) {
                Ok(url) => checked.base_url = Some(url),
                Err(message) => refuse(ConnectionField::BaseUrl, message),
            }
        }
    }
    if env.client_id.is_none() {
        checked.client_id = text(&input.client_id);
        if checked
            .client_id
            .as_ref()
            .is_some_and(|v| v.len() > MAX_TEXT_LEN)
        {
            refuse(ConnectionField::ClientId, "Client ID is too long.");
        } else if checked.client_id.as_deref().is_some_and(has_control) {
            refuse(
                ConnectionField::ClientId,
                "Client ID must not hold control characters.",
            );
        }
    }
    if env.client_secret.is_none() && !input.client_secret.is_empty() {
        if input.client_secret.len() > MAX_TEXT_LEN {
            refuse(ConnectionField::ClientSecret, "Client secret is too long.");
        } else if has_control(&input.client_secret) {
            refuse(
                ConnectionField::ClientSecret,
                "Client secret must not hold control characters.",
            );
        } else {
            checked.client_secret = Some(SecretString::from(input.client_secret.clone()));
        }
    }
    if env.organisation_id.is_none() {
        checked.organisation_id = text(&input.organisation_id);
        if let Some(org) = &checked.organisation_id {
            let printable = org.chars().all(|c| c.is_ascii_graphic() || c == ' ');
            if org.len() > MAX_TEXT_LEN || !printable || HeaderValue::from_str(org).is_err() {
                refuse(
                    ConnectionField::OrganisationId,
                    "Organisation ID may hold only printable ASCII characters.",
                );
            }
        }
    }
    if env.timeout_ms.is_none() {
        if let Some(raw) = text(&input.timeout_ms) {
            match raw.parse::<u64>() {
                Ok(ms) if (MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&ms) => {
                    checked.timeout_ms = Some(ms)
                }
                _ => refuse(
                    ConnectionField::TimeoutMs,
                    &format!(
                        "Timeout (ms) must be a whole number from {MIN_TIMEOUT_MS} to {MAX_TIMEOUT_MS}."
                    ),
                ),
            }
        }
    }
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(errors)
    }
}

fn check_base_url(raw: &str) -> Result<url::Url, &'static str> {
    let url = url::Url::parse(raw).map_err(|_| {
        "Base URL must be a full address starting with http:// or https://, such as https://cards.nxsas.com."
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("Base URL must start with http:// or https://.");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("Base URL must name a host.");
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err("Base URL must start with https:// (plain http:// only for this machine: localhost, 127.0.0.1 or [::1]).");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("Base URL must not have a query (?…) or a fragment (#…).");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("Base URL must not hold a user name or password.");
    }
    Ok(url)
}

/// Whether the URL's host is this machine, where plain http leaves no wire.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(base_url: &str, timeout_ms: &str) -> ConnectionSettingsInput {
        ConnectionSettingsInput {
            base_url: base_url.into(),
            client_id: "id".into(),
            client_secret: String::new(),
            organisation_id: "ORG".into(),
            timeout_ms: timeout_ms.into(),
        }
    }

    fn fields(result: Result<CheckedInput, Vec<FieldError>>) -> Vec<ConnectionField> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn base_urls() {
        let env = GoCardsEnv::default();
        for good in [
            "https://cards.nxsas.com",
            "http://127.0.0.1:4011/",
            "http://localhost:4011/",
            "http://[::1]:4011/",
            "https://proxy/gocards/",
        ] {
            assert!(check_input(&input(good, ""), &env).is_ok(), "{good}");
        }
        for bad in [
            "ftp://x",
            "cards.nxsas.com",
            "https://x/?a=1",
            "https://u:p@x",
            "javascript:alert(1)",
            "http://cards.nxsas.com",
            "http://10.0.0.7:4011/",
        ] {
            assert_eq!(
                fields(check_input(&input(bad, ""), &env)),
                vec![ConnectionField::BaseUrl],
                "{bad}"
            );
        }
    }

    #[test]
    fn timeouts() {
        let env = GoCardsEnv::default();
        for good in ["", "100", "120000", " 1500 "] {
            assert!(check_input(&input("", good), &env).is_ok(), "{good}");
        }
        for bad in [
            "99",
            "120001",
            "-5",
            "1.5",
            "ten",
            "99999999999999999999999",
        ] {
            assert_eq!(
                fields(check_input(&input("", bad), &env)),
                vec![ConnectionField::TimeoutMs],
                "{bad}"
            );
        }
    }

    #[test]
    fn env_fields_are_ignored() {
        let env = GoCardsEnv {
            base_url: Some("https://env".into()),
            timeout_ms: Some(1500),
            ..GoCardsEnv::default()
        };
        let checked = check_input(&input("ftp://ignored", "nonsense"), &env);
        assert!(matches!(checked, Ok(ref c) if c.base_url.is_none() && c.timeout_ms.is_none()));
    }

    #[test]
    fn every_bad_field_gets_its_message() {
        let bad = ConnectionSettingsInput {
            base_url: "ftp://x".into(),
            client_id: "x".repeat(600),
            client_secret: "y".repeat(600),
            organisation_id: "ö\n".into(),
            timeout_ms: "5".into(),
        };
        assert_eq!(
            fields(check_input(&bad, &GoCardsEnv::default())),
            ConnectionField::ALL.to_vec()
        );
    }
}
