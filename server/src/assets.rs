//! Bytes on the wire (operations.md): the site's `/pkg` files with their precompressed
//! variants, compression of everything else the server renders, and each reply's cache
//! policy.
//!
//! - `/pkg/*` comes from `ServeDir`: the `.br` or `.gz` file next to the asked-for one
//!   (`cargo leptos build --release --precompress` writes them, at brotli's best), else the
//!   plain file, which [`compression`] then compresses on the fly.
//! - Names that carry a content hash (cargo-leptos `hash-files`) are `immutable` for a
//!   year: a new build has new names. The split build's two entry files are the exception:
//!   cargo-leptos names them from their content before it writes the lazy-chunk loader's
//!   name into them, so a build that changes only lazy pages keeps their names. They are
//!   `no-cache` (a repeat visit asks, and gets `304 Not Modified`), so that a returning
//!   browser never runs an old entry against new chunks.
//! - HTML is `no-cache`; the live stream and the CSV downloads set `no-store` themselves.
//! - Compression skips the live stream (tower-http's default predicate leaves
//!   `text/event-stream` alone), so its events are not held in an encoder's buffer. The CSV
//!   downloads are compressed as they stream: page by page, in bounded memory.

use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

/// The cache policy of a file whose name changes whenever its content does.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Use what you have only after asking the server whether it is still current.
pub const REVALIDATE: &str = "no-cache";
/// `/favicon.ico` and `/robots.txt`: unhashed, rarely changed.
pub const A_DAY: &str = "public, max-age=86400";

/// How the site's assets are named, found at start-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AssetNaming {
    /// The names carry content hashes (cargo-leptos `hash-files`).
    pub hashed: bool,
    /// A `--split` build: lazy chunks and their loader.
    pub split: bool,
}

impl AssetNaming {
    /// Reads `site_root`'s `pkg` directory: hashed when the file names carry hashes and
    /// `hash.txt` lies next to this executable (where Leptos reads it), split when the
    /// build wrote a split manifest.
    pub fn detect(site_root: &Path, hash_files: bool) -> Self {
        let names: Vec<String> = std::fs::read_dir(site_root.join("pkg"))
            .map(|dir| {
                dir.filter_map(|entry| entry.ok())
                    .filter_map(|entry| entry.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        AssetNaming {
            hashed: hash_files,
            split: names
                .iter()
                .any(|name| name.starts_with("__wasm_split_manifest")),
        }
    }

    /// The `Cache-Control` of `/pkg/{file}`.
    pub fn pkg_policy(self, file: &str) -> &'static str {
        if !self.hashed {
            return REVALIDATE;
        }
        let entry = file.starts_with(&format!("{OUTPUT_NAME}."))
            && (file.ends_with(".js") || file.ends_with(".wasm"));
        if self.split && entry {
            REVALIDATE
        } else {
            IMMUTABLE
        }
    }
}

/// The name cargo-leptos gives the site's JS, WASM and CSS (`name` in Cargo.toml).
pub const OUTPUT_NAME: &str = "carddesk";

/// Whether Leptos will find the hash file it names the assets from: next to the executable.
pub fn hash_file_next_to_exe(file_name: &str) -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(file_name)))
        .is_some_and(|path| path.is_file())
}

/// `/pkg`: the build's files, their `.br` or `.gz` variant to a browser that takes it.
pub fn pkg_files(site_root: &str) -> ServeDir {
    ServeDir::new(PathBuf::from(site_root).join("pkg"))
        .precompressed_br()
        .precompressed_gzip()
}

/// Brotli or gzip for what is not compressed yet (HTML, JSON, CSS and WASM without a
/// precompressed variant), except the live stream.
pub fn compression() -> CompressionLayer {
    CompressionLayer::new().br(true).gzip(true)
}

/// Sets each reply's `Cache-Control`, unless its handler chose one.
pub async fn cache_policy(naming: AssetNaming, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if response.headers().contains_key(header::CACHE_CONTROL) {
        return response;
    }
    let policy = if let Some(file) = path.strip_prefix("/pkg/") {
        if response.status().is_success() || response.status().as_u16() == 304 {
            naming.pkg_policy(file)
        } else {
            REVALIDATE
        }
    } else if matches!(path.as_str(), "/favicon.ico" | "/robots.txt") {
        A_DAY
    } else if is_html(&response) {
        REVALIDATE
    } else {
        return response;
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    response
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASHED_SPLIT: AssetNaming = AssetNaming {
        hashed: true,
        split: true,
    };

    #[test]
    fn hashed_files_are_immutable_but_the_split_builds_entry_files_are_revalidated() {
        assert_eq!(HASHED_SPLIT.pkg_policy("carddesk.Abc123.css"), IMMUTABLE);
        assert_eq!(
            HASHED_SPLIT.pkg_policy("split_admin.Abc123.wasm"),
            IMMUTABLE
        );
        assert_eq!(HASHED_SPLIT.pkg_policy("__wasm_split.Abc123.js"), IMMUTABLE);
        assert_eq!(HASHED_SPLIT.pkg_policy("carddesk.Abc123.js"), REVALIDATE);
        assert_eq!(HASHED_SPLIT.pkg_policy("carddesk.Abc123.wasm"), REVALIDATE);
        let hashed = AssetNaming {
            hashed: true,
            split: false,
        };
        assert_eq!(hashed.pkg_policy("carddesk.Abc123.wasm"), IMMUTABLE);
    }

    #[test]
    fn unhashed_files_are_always_revalidated() {
        let plain = AssetNaming::default();
        assert_eq!(plain.pkg_policy("carddesk.wasm"), REVALIDATE);
        assert_eq!(plain.pkg_policy("carddesk.css"), REVALIDATE);
    }
}
