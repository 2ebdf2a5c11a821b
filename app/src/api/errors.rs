//! One error type per operation. On the wire each is JSON tagged by `kind`. Each variant
//! names its HTTP status where it is declared (`=> CONFLICT`), and the server answers with it,
//! so a refusal is a 401/403/400/409, not a 500.
//! The messages say what happened and what to do; internals stay in the server log.

/// The sentence every reply says while the database cannot be reached: server functions
/// (503), pages, and `/readyz`.
pub const DATABASE_UNAVAILABLE: &str = "The database is unavailable; try again shortly.";

/// Defines an operation's error enum with the variants every server function shares
/// (no session, wrong role, unreadable request, network, database unavailable, server
/// fault) plus its own, each
/// with its HTTP status: `#[error("...")] Variant { field: Type } => STATUS_NAME`.
macro_rules! api_error {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $({ $($field:ident : $fty:ty),* $(,)? })? => $status:ident
            ),* $(,)?
        }
    ) => {
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
            #[error("{}{reference}", $crate::api::errors::DATABASE_UNAVAILABLE)]
            Unavailable {
                #[serde(default)]
                reference: $crate::api::errors::Reference,
            },
            #[error("Something went wrong on the server. Try again; if it keeps happening, tell an admin.{reference}")]
            Internal {
                #[serde(default)]
                reference: $crate::api::errors::Reference,
            },
            $(
                $(#[$vmeta])*
                $variant $({ $($field : $fty),* })?,
            )*
        }

        impl $name {
            /// A fault of the server's; the reply adds the request's reference.
            #[allow(dead_code)]
            pub fn internal() -> Self {
                $name::Internal { reference: Default::default() }
            }

            /// The database is away; the reply adds the request's reference.
            #[allow(dead_code)]
            pub fn unavailable() -> Self {
                $name::Unavailable { reference: Default::default() }
            }

            fn bad_payload() -> Self {
                $name::BadRequest {
                    message: "The request could not be read. Reload the page and try again.".into(),
                }
            }

            /// The HTTP status the server answers this error with.
            pub fn status(&self) -> http::StatusCode {
                match self {
                    $name::Unauthenticated => http::StatusCode::UNAUTHORIZED,
                    $name::Forbidden => http::StatusCode::FORBIDDEN,
                    $name::BadRequest { .. } => http::StatusCode::BAD_REQUEST,
                    $name::Unavailable { .. } => http::StatusCode::SERVICE_UNAVAILABLE,
                    $name::Network | $name::Internal { .. } => http::StatusCode::INTERNAL_SERVER_ERROR,
                    $( $name::$variant { .. } => http::StatusCode::$status, )*
                }
            }
        }

        impl server_fn::error::FromServerFnError for $name {
            type Encoder = server_fn::codec::JsonEncoding;

            /// `{"kind": …, "message": …, …}`: every error body carries the sentence a
            /// person reads, whatever its variant holds. On the server this also sets the
            /// reply's status (Leptos answers 500 to every server-function error otherwise).
            ///
            /// Every error body also carries the request's `reference` (its `x-request-id`),
            /// which the message of a server fault or an outage ends with: "Reference: …".
            fn ser(&self) -> server_fn::Bytes {
                #[cfg(feature = "ssr")]
                $crate::api::errors::set_reply_status(self.status());
                #[cfg(feature = "ssr")]
                let reference = $crate::api::errors::request_reference();
                #[cfg(not(feature = "ssr"))]
                let reference: Option<String> = None;
                let mut this = self.clone();
                if let $name::Internal { reference: slot } | $name::Unavailable { reference: slot } = &mut this {
                    if slot.0.is_none() {
                        slot.0 = reference.clone();
                    }
                }
                let mut value = serde_json::to_value(&this)
                    .unwrap_or_else(|_| serde_json::json!({ "kind": "internal" }));
                if let Some(object) = value.as_object_mut() {
                    object
                        .entry("message")
                        .or_insert_with(|| serde_json::Value::String(this.to_string()));
                    if let Some(reference) = reference {
                        object.insert("reference".into(), serde_json::Value::String(reference));
                    }
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
                    _ => $name::internal(),
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
                    Denied::Internal => $name::internal(),
                }
            }
        }

        /// A storage error: [`Self::Unavailable`] when the database cannot answer now (an
        /// outage: worth trying again), else [`Self::Internal`].
        #[cfg(feature = "ssr")]
        impl From<sqlx::Error> for $name {
            fn from(err: sqlx::Error) -> Self {
                if backend::db::is_unavailable(&err) {
                    tracing::warn!(error = %err, operation = stringify!($name), "the database is unavailable");
                    return $name::unavailable();
                }
                tracing::error!(error = %err, operation = stringify!($name), "storage error");
                $name::internal()
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use api_error;

/// The id of the request an error happened in (its `x-request-id`), which a person quotes to
/// whoever reads the server log. Shown as " Reference: …." after the message; empty, nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Reference(pub Option<String>);

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(id) => write!(f, " Reference: {id}."),
            None => Ok(()),
        }
    }
}

/// The request header that carries the request's id (set by the server for every request).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The current server function's request id.
#[cfg(feature = "ssr")]
pub(crate) fn request_reference() -> Option<String> {
    use leptos::prelude::use_context;

    use_context::<http::request::Parts>().and_then(|request| {
        request
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|id| id.to_str().ok())
            .map(str::to_owned)
    })
}

/// Sets the status of a server function's error reply, except for a plain form post (no
/// script: the browser sent `Accept: text/html`). Leptos answers that one with a redirect back
/// to the form, carrying the error, and a 4xx status would turn it into a dead error page.
#[cfg(feature = "ssr")]
pub(crate) fn set_reply_status(status: http::StatusCode) {
    use leptos::prelude::use_context;

    let form_post = use_context::<http::request::Parts>().is_some_and(|request| {
        request
            .headers
            .get(http::header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
    });
    if form_post {
        return;
    }
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

api_error! {
    /// Logging in.
    pub enum LoginError {
        #[error("Invalid username or password")]
        InvalidCredentials => UNAUTHORIZED,
        #[error("Too many failed attempts. Wait {retry_after_secs} s and try again.")]
        Throttled { retry_after_secs: u64 } => TOO_MANY_REQUESTS,
        #[error("The desk is busy; try again in a moment.")]
        Busy => SERVICE_UNAVAILABLE,
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
        NotFound { card_id: String } => NOT_FOUND,
    }
}

api_error! {
    /// Running "Update card order".
    pub enum UpdateCardOrderError {
        #[error("No card {card_id} exists. Check the card ID, or search again.")]
        NotFound { card_id: String } => NOT_FOUND,
        #[error("{message}")]
        NotApplicable { message: String } => CONFLICT,
        #[error("{message}")]
        NotEnabled { message: String } => FORBIDDEN,
        #[error("The card changed meanwhile; reload.")]
        ChangedMeanwhile => CONFLICT,
        #[error("{message}")]
        GoCards { message: String } => BAD_GATEWAY,
        #[error("Too many attempts; wait a moment.")]
        TooManyAttempts => TOO_MANY_REQUESTS,
    }
}

api_error! {
    /// Opening Order card's dialog.
    pub enum OrderOptionsError {
        #[error("No user {user_id} exists. Search again.")]
        NotFound { user_id: i64 } => NOT_FOUND,
    }
}

api_error! {
    /// Running "Order card".
    pub enum OrderCardError {
        #[error("No user {user_id} exists. Search again.")]
        NotFound { user_id: i64 } => NOT_FOUND,
        #[error("{message}")]
        NotEnabled { message: String } => FORBIDDEN,
        #[error("{message}")]
        AlreadyOpen { message: String } => CONFLICT,
        #[error("{message}")]
        PendingDiffers { message: String } => CONFLICT,
        #[error("{message}")]
        MayHaveBeenPlaced { message: String } => GATEWAY_TIMEOUT,
        #[error("{message}")]
        GoCards { message: String } => BAD_GATEWAY,
        #[error("Too many attempts; wait a moment.")]
        TooManyAttempts => TOO_MANY_REQUESTS,
    }
}

api_error! {
    /// Running "Abort card order".
    pub enum AbortCardOrderError {
        #[error("No card {card_id} exists. Check the card ID, or search again.")]
        NotFound { card_id: String } => NOT_FOUND,
        #[error("{message}")]
        NotApplicable { message: String } => CONFLICT,
        #[error("{message}")]
        NotEnabled { message: String } => FORBIDDEN,
        #[error("The card changed meanwhile; reload.")]
        ChangedMeanwhile => CONFLICT,
        #[error("{message}")]
        TooLate { message: String } => CONFLICT,
        #[error("{message}")]
        GoCards { message: String } => BAD_GATEWAY,
        #[error("Too many attempts; wait a moment.")]
        TooManyAttempts => TOO_MANY_REQUESTS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use server_fn::error::{FromServerFnError, ServerFnErrorErr};

    #[test]
    fn each_error_names_its_status() {
        assert_eq!(SearchError::Unauthenticated.status().as_u16(), 401);
        assert_eq!(SearchError::Forbidden.status().as_u16(), 403);
        let bad = SearchError::BadRequest {
            message: "x".into(),
        };
        assert_eq!(bad.status().as_u16(), 400);
        assert_eq!(
            UpdateCardOrderError::ChangedMeanwhile.status().as_u16(),
            409
        );
        assert_eq!(LoginError::InvalidCredentials.status().as_u16(), 401);
        assert_eq!(SearchError::internal().status().as_u16(), 500);
        assert_eq!(SearchError::unavailable().status().as_u16(), 503);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn an_unavailable_database_is_a_503_that_says_so() {
        let err = UpdateCardOrderError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(err, UpdateCardOrderError::unavailable());
        assert_eq!(err.status().as_u16(), 503);
        assert_eq!(err.to_string(), DATABASE_UNAVAILABLE);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            SearchError::from(sqlx::Error::Io(refused)),
            SearchError::unavailable()
        );
        // Anything else stays a server fault.
        assert_eq!(
            SearchError::from(sqlx::Error::RowNotFound),
            SearchError::internal()
        );
    }

    #[test]
    fn a_server_fault_ends_with_the_reference_to_quote() {
        let err = SearchError::Internal {
            reference: Reference(Some("4f1c-77".into())),
        };
        assert!(err
            .to_string()
            .ends_with("tell an admin. Reference: 4f1c-77."));
        let body: serde_json::Value = serde_json::from_slice(&err.ser()).expect("json");
        assert_eq!(body["kind"], "internal");
        assert_eq!(body["reference"], "4f1c-77");
        assert_eq!(body["message"], err.to_string());
        // The browser reads it back with the reference.
        assert_eq!(SearchError::de(err.ser()), err);
        // Without one (no request), nothing is added.
        assert_eq!(
            SearchError::internal()
                .to_string()
                .matches("Reference")
                .count(),
            0
        );
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
