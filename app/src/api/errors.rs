//! One error type per operation. On the wire each is JSON tagged by `kind`; the server maps
//! the kind to the HTTP status (`status_for_kind`), so a refusal is a 401/403/400/409, not a 500.
//! The messages say what happened and what to do; internals stay in the server log.

/// Defines an operation's error enum with the variants every server function shares
/// (no session, wrong role, unreadable request, network, server fault) plus its own.
macro_rules! api_error {
    ($(#[$meta:meta])* pub enum $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum $name {
            #[error("Your session has ended. Log in again.")]
            Unauthenticated,
            #[error("You are not allowed to do this.")]
            Forbidden,
            #[error("{message}")]
            BadRequest { message: String },
            #[error("Could not reach the server. Check your connection and try again.")]
            Network,
            #[error("Something went wrong on the server. Try again; if it keeps happening, tell an admin.")]
            Internal,
            $($extra)*
        }

        impl $name {
            fn bad_payload() -> Self {
                $name::BadRequest {
                    message: "The request could not be read. Reload the page and try again.".into(),
                }
            }
        }

        impl server_fn::error::FromServerFnError for $name {
            type Encoder = server_fn::codec::JsonEncoding;

            /// `{"kind": …, "message": …, …}`: every error body carries the sentence a
            /// person reads, whatever its variant holds.
            fn ser(&self) -> server_fn::Bytes {
                let mut value = serde_json::to_value(self)
                    .unwrap_or_else(|_| serde_json::json!({ "kind": "internal" }));
                if let Some(object) = value.as_object_mut() {
                    object
                        .entry("message")
                        .or_insert_with(|| serde_json::Value::String(self.to_string()));
                }
                server_fn::Bytes::from(value.to_string())
            }

            fn from_server_fn_error(err: server_fn::error::ServerFnErrorErr) -> Self {
                use server_fn::error::ServerFnErrorErr as E;
                // On the server, the only thing decoded is the request, so a decoding
                // failure there is the caller's bad payload; in the browser it is the reply.
                let server_side = cfg!(feature = "ssr");
                match err {
                    E::Args(_) | E::MissingArg(_) => $name::bad_payload(),
                    E::Deserialization(_) if server_side => $name::bad_payload(),
                    E::Request(_) => $name::Network,
                    _ => $name::Internal,
                }
            }
        }

        #[cfg(feature = "ssr")]
        impl From<$crate::api::access::Denied> for $name {
            fn from(denied: $crate::api::access::Denied) -> Self {
                use $crate::api::access::Denied;
                match denied {
                    Denied::Unauthenticated => $name::Unauthenticated,
                    Denied::Forbidden => $name::Forbidden,
                    Denied::Internal => $name::Internal,
                }
            }
        }

        #[cfg(feature = "ssr")]
        impl From<sqlx::Error> for $name {
            fn from(err: sqlx::Error) -> Self {
                tracing::error!(error = %err, operation = stringify!($name), "storage error");
                $name::Internal
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use api_error;

/// The HTTP status for an error `kind`.
pub fn status_for_kind(kind: &str) -> u16 {
    match kind {
        "unauthenticated" | "invalid_credentials" => 401,
        "forbidden" | "not_enabled" => 403,
        "bad_request" | "invalid" | "set_by_environment" => 400,
        "not_found" => 404,
        "changed_meanwhile" | "not_applicable" | "name_taken" | "last_admin" => 409,
        "throttled" => 429,
        "go_cards" => 502,
        _ => 500,
    }
}

api_error! {
    /// Logging in.
    pub enum LoginError {
        #[error("Invalid username or password")]
        InvalidCredentials,
        #[error("Too many failed attempts. Wait {retry_after_secs} s and try again.")]
        Throttled { retry_after_secs: u64 },
    }
}

api_error! {
    /// Searching cards.
    pub enum SearchError {}
}

api_error! {
    /// Opening a card's profile.
    pub enum CardError {
        #[error("No card {card_id} exists. Check the card ID, or search again.")]
        NotFound { card_id: String },
    }
}

api_error! {
    /// Running "Update card order".
    pub enum UpdateCardOrderError {
        #[error("No card {card_id} exists. Check the card ID, or search again.")]
        NotFound { card_id: String },
        #[error("{message}")]
        NotApplicable { message: String },
        #[error("{message}")]
        NotEnabled { message: String },
        #[error("The card changed meanwhile; reload.")]
        ChangedMeanwhile,
        #[error("{message}")]
        GoCards { message: String },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use server_fn::error::{FromServerFnError, ServerFnErrorErr};

    #[test]
    fn kinds_map_to_statuses() {
        let cases: Vec<(String, u16)> = vec![
            (
                serde_json::to_string(&SearchError::Unauthenticated).unwrap_or_default(),
                401,
            ),
            (
                serde_json::to_string(&SearchError::Forbidden).unwrap_or_default(),
                403,
            ),
            (
                serde_json::to_string(&SearchError::BadRequest {
                    message: "x".into(),
                })
                .unwrap_or_default(),
                400,
            ),
            (
                serde_json::to_string(&UpdateCardOrderError::ChangedMeanwhile).unwrap_or_default(),
                409,
            ),
            (
                serde_json::to_string(&LoginError::InvalidCredentials).unwrap_or_default(),
                401,
            ),
            (
                serde_json::to_string(&SearchError::Internal).unwrap_or_default(),
                500,
            ),
        ];
        for (json, status) in cases {
            let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
            let kind = value["kind"].as_str().unwrap_or_default();
            assert_eq!(status_for_kind(kind), status, "{json}");
        }
    }

    #[test]
    fn undecodable_arguments_are_a_bad_request() {
        let err =
            SearchError::from_server_fn_error(ServerFnErrorErr::Args("expected struct".into()));
        assert!(matches!(err, SearchError::BadRequest { .. }));
        assert!(!err.to_string().contains("expected struct"));
    }

    #[test]
    fn the_login_error_gives_no_hint() {
        assert_eq!(
            LoginError::InvalidCredentials.to_string(),
            "Invalid username or password"
        );
    }
}

api_error! {
    /// Reading who is logged in.
    pub enum SessionError {}
}
