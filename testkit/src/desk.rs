//! The desk over HTTP, as the browser calls it: log-in and server-function calls built from
//! the `#[server]` argument structs, so a test names the function and its typed arguments.

use serde::Serialize;
use server_fn::ServerFn;

/// The session cookie a reply sets, as `name=value`.
pub fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("carddesk.sid="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// Why a log-in did not give a session.
#[derive(Debug, thiserror::Error)]
pub enum LogInFailed {
    #[error("could not reach {base}: {source}")]
    Unreachable {
        base: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("log-in as {username} failed ({status}); check the user and password")]
    Refused { username: String, status: u16 },
}

/// The log-in form's POST to the `login` server function (URL-encoded, as the form sends
/// it), not yet sent: for tests that add a cookie of their own or read the whole reply.
pub fn log_in_request(
    http: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> reqwest::RequestBuilder {
    http.post(format!("{base}{}", app::api::Login::PATH))
        .form(&[("username", username), ("password", password)])
}

/// Logs in through the `login` server function, as the log-in form does; returns the
/// session cookie.
pub async fn log_in(
    http: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> Result<String, LogInFailed> {
    let reply = log_in_request(http, base, username, password)
        .send()
        .await
        .map_err(|source| LogInFailed::Unreachable {
            base: base.to_owned(),
            source,
        })?;
    let status = reply.status();
    match session_cookie(&reply) {
        Some(cookie) if status.is_success() || status.is_redirection() => Ok(cookie),
        _ => Err(LogInFailed::Refused {
            username: username.to_owned(),
            status: status.as_u16(),
        }),
    }
}

/// A log-in that may be refused, for tests: the status and the body of the reply. Panics
/// when the desk cannot be reached at all.
pub async fn log_in_attempt(
    http: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> (u16, String) {
    let reply = log_in_request(http, base, username, password)
        .send()
        .await
        .unwrap_or_else(|e| panic!("log-in as {username}: could not reach {base}: {e}"));
    let status = reply.status().as_u16();
    (status, reply.text().await.unwrap_or_default())
}

/// A server-function request with a JSON body, as the browser sends it: same origin, with
/// the session cookie if there is one.
pub fn server_fn_request<F>(
    http: &reqwest::Client,
    base: &str,
    cookie: Option<&str>,
    args: &F,
) -> reqwest::RequestBuilder
where
    F: ServerFn + Serialize,
{
    let body = serde_json::to_string(args).unwrap_or_default();
    raw_request(http, base, F::PATH, cookie, body)
}

/// The same request with a body of the caller's own, for malformed and hostile payloads.
pub fn raw_request(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    cookie: Option<&str>,
    body: String,
) -> reqwest::RequestBuilder {
    let mut req = http
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .header("origin", base)
        .body(body);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    req
}
