//! The same-origin check on state-changing requests. A browser names the page a request
//! comes from in `Origin`; that must be the desk's own origin: `PUBLIC_ORIGIN` when set (the
//! address users type, whatever a proxy makes of `Host`), else the request's authority
//! (`Host`, or on HTTP/2 the URI's `:authority`).

use axum::extract::Request;
use axum::http::uri::Authority;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use url::{Origin, Url};

/// The desk's public origin, e.g. `https://desk.example`: scheme, host and port only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicOrigin(Origin);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PublicOriginError {
    #[error("\"{0}\" is not an address; give the desk's origin, like https://desk.example")]
    NotAnAddress(String),
    #[error("\"{0}\" must start with https:// or http://")]
    Scheme(String),
    #[error("\"{0}\" must be only scheme, host and port, like https://desk.example (no path, query or user)")]
    NotAnOrigin(String),
}

impl PublicOrigin {
    pub fn parse(raw: &str) -> Result<PublicOrigin, PublicOriginError> {
        let raw = raw.trim();
        let url = Url::parse(raw).map_err(|_| PublicOriginError::NotAnAddress(raw.to_owned()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PublicOriginError::Scheme(raw.to_owned()));
        }
        let bare = url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none()
            && url.host().is_some();
        if !bare {
            return Err(PublicOriginError::NotAnOrigin(raw.to_owned()));
        }
        Ok(PublicOrigin(url.origin()))
    }

    /// As a browser writes it in `Origin`: `https://desk.example`.
    pub fn as_header_value(&self) -> String {
        self.0.ascii_serialization()
    }
}

/// Refuses (403) a state-changing request that a browser sent from another origin.
/// Webhooks are exempt: they are no browser's, and their signature guards them.
pub async fn same_origin_only(
    public: Option<PublicOrigin>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method();
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || request.uri().path().starts_with("/webhooks/") {
        return next.run(request).await;
    }
    if !is_same_origin(request.headers(), request.uri(), public.as_ref()) {
        tracing::warn!(path = %request.uri().path(), "refused a cross-origin request");
        return (
            StatusCode::FORBIDDEN,
            "Cross-origin requests are refused. Use the app from its own address.",
        )
            .into_response();
    }
    next.run(request).await
}

/// A request is same-origin when the browser does not flag it as cross-site and its
/// `Origin` (if any) is the desk's: `public` when given, else the origin with the request's
/// own authority.
pub fn is_same_origin(headers: &HeaderMap, uri: &Uri, public: Option<&PublicOrigin>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    // `Origin: null` (a sandboxed frame, a redirect across sites) is no URL, so refused.
    let Some(origin) = origin.to_str().ok().and_then(|o| Url::parse(o).ok()) else {
        return false;
    };
    if !matches!(origin.scheme(), "http" | "https") {
        return false;
    }
    if let Some(public) = public {
        return origin.origin() == public.0;
    }
    let authority = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .and_then(|host| host.parse::<Authority>().ok())
        .or_else(|| uri.authority().cloned());
    let Some(authority) = authority else {
        return false;
    };
    // The same scheme as the browser's, so that only host and port are compared (a proxy
    // may end TLS); written as a URL, the default port and the host's case match.
    Url::parse(&format!("{}://{}", origin.scheme(), authority.as_str()))
        .is_ok_and(|own| own.origin() == origin.origin())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_public_origin_is_scheme_host_and_port_only() {
        let origin = PublicOrigin::parse("https://desk.example").expect("origin");
        assert_eq!(origin.as_header_value(), "https://desk.example");
        assert_eq!(
            PublicOrigin::parse("https://desk.example:443/").map(|o| o.as_header_value()),
            Ok("https://desk.example".to_owned())
        );
        for bad in [
            "desk.example",
            "ftp://desk.example",
            "https://desk.example/desk",
            "https://desk.example/?a=1",
            "https://user@desk.example",
        ] {
            assert!(PublicOrigin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_origin_is_compared_with_the_public_origin_when_set() {
        let public = PublicOrigin::parse("https://desk.example").ok();
        let uri = Uri::from_static("/api/login");
        let from = |origin| headers(&[("host", "10.0.0.5:3000"), ("origin", origin)]);
        assert!(is_same_origin(
            &from("https://desk.example"),
            &uri,
            public.as_ref()
        ));
        assert!(!is_same_origin(
            &from("http://10.0.0.5:3000"),
            &uri,
            public.as_ref()
        ));
        assert!(!is_same_origin(
            &from("https://evil.example"),
            &uri,
            public.as_ref()
        ));
    }

    #[test]
    fn without_a_public_origin_the_authority_is_host_or_the_uri() {
        let plain = Uri::from_static("/api/login");
        let same = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert!(is_same_origin(&same, &plain, None));
        let other = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:4000"),
        ]);
        assert!(!is_same_origin(&other, &plain, None));
        // HTTP/2: no Host, the authority is in the URI.
        let h2 = Uri::from_static("http://127.0.0.1:3000/api/login");
        let origin_only = headers(&[("origin", "http://127.0.0.1:3000")]);
        assert!(is_same_origin(&origin_only, &h2, None));
        assert!(!is_same_origin(&origin_only, &plain, None));
        let null = headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]);
        assert!(!is_same_origin(&null, &plain, None));
        let flagged = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert!(!is_same_origin(&flagged, &plain, None));
    }
}
