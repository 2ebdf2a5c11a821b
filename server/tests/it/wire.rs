//! Bytes on the wire (operations.md): compression for the clients that accept it, but not
//! of the live stream; the precompressed `/pkg` files; each reply's cache policy; and the
//! request id every reply carries, kept from a trusted proxy only.

use std::time::Duration;

use testkit as common;

use common::app::{spawn, spawn_with, OPERATOR};

const BROTLI_OR_GZIP: &str = "br, gzip";

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn pages_go_out_compressed_and_revalidated_with_a_request_id() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let page = app
        .http
        .get(format!("{}/login", app.base))
        .header("accept-encoding", BROTLI_OR_GZIP)
        .send()
        .await
        .expect("GET /login");
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(header(&page, "content-encoding").as_deref(), Some("br"));
    assert_eq!(header(&page, "cache-control").as_deref(), Some("no-cache"));
    let id = header(&page, "x-request-id").expect("a request id");
    assert_eq!(id.len(), 32, "{id}");
    // Without Accept-Encoding, plain.
    let plain = app
        .http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .expect("GET /login");
    assert_eq!(header(&plain, "content-encoding"), None);
    let html = plain.text().await.expect("body");
    assert!(html.contains(r#"<meta name="description""#), "{html}");
    // gzip for a client that takes only gzip.
    let gzip = app
        .http
        .get(format!("{}/login", app.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("GET /login");
    assert_eq!(header(&gzip, "content-encoding").as_deref(), Some("gzip"));
    let body = gzip.bytes().await.expect("body");
    assert_eq!(&body[..2], &[0x1f, 0x8b], "a gzip stream");
}

#[tokio::test]
async fn pkg_files_are_sent_precompressed_when_the_build_made_a_variant() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let pkg = app.data_dir().join("site").join("pkg");
    std::fs::create_dir_all(&pkg).expect("pkg dir");
    let css = "body { color: black; }\n".repeat(40);
    std::fs::write(pkg.join("carddesk.css"), &css).expect("css");
    // What `cargo leptos build --precompress` writes; its bytes are sent as they are.
    std::fs::write(pkg.join("carddesk.css.br"), b"precompressed brotli").expect("br");
    let get = |encoding: Option<&'static str>| {
        let mut request = app.http.get(format!("{}/pkg/carddesk.css", app.base));
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        request.send()
    };
    let br = get(Some(BROTLI_OR_GZIP)).await.expect("GET br");
    assert_eq!(br.status().as_u16(), 200);
    assert_eq!(header(&br, "content-encoding").as_deref(), Some("br"));
    // Unhashed names (this test's site) are revalidated, never cached for good.
    assert_eq!(header(&br, "cache-control").as_deref(), Some("no-cache"));
    assert_eq!(
        br.bytes().await.expect("body").as_ref(),
        b"precompressed brotli"
    );
    // No .gz variant: compressed on the fly.
    let gzip = get(Some("gzip")).await.expect("GET gzip");
    assert_eq!(header(&gzip, "content-encoding").as_deref(), Some("gzip"));
    let plain = get(None).await.expect("GET plain");
    assert_eq!(header(&plain, "content-encoding"), None);
    assert_eq!(plain.text().await.expect("body"), css);
    // A repeat visit asks and gets 304 Not Modified, without the file.
    let last_modified = header(&br_again(&app).await, "last-modified").expect("last-modified");
    let repeat = app
        .http
        .get(format!("{}/pkg/carddesk.css", app.base))
        .header("accept-encoding", BROTLI_OR_GZIP)
        .header("if-modified-since", last_modified)
        .send()
        .await
        .expect("GET again");
    assert_eq!(repeat.status().as_u16(), 304);
    assert!(repeat.bytes().await.expect("body").is_empty());
    // A file that is not there.
    let missing = app
        .http
        .get(format!("{}/pkg/nothing.wasm", app.base))
        .send()
        .await
        .expect("GET missing");
    assert_eq!(missing.status().as_u16(), 404);
}

async fn br_again(app: &common::app::TestApp) -> reqwest::Response {
    app.http
        .get(format!("{}/pkg/carddesk.css", app.base))
        .header("accept-encoding", BROTLI_OR_GZIP)
        .send()
        .await
        .expect("GET")
}

#[tokio::test]
async fn robots_txt_is_a_real_robots_file() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    // The test's site root is empty: the file comes from public/ in a build. Put it there.
    let site = app.data_dir().join("site");
    std::fs::create_dir_all(&site).expect("site");
    let robots = include_str!("../../../public/robots.txt");
    std::fs::write(site.join("robots.txt"), robots).expect("robots");
    let reply = app
        .http
        .get(format!("{}/robots.txt", app.base))
        .send()
        .await
        .expect("GET /robots.txt");
    assert_eq!(reply.status().as_u16(), 200, "no log-in needed");
    assert_eq!(
        header(&reply, "cache-control").as_deref(),
        Some("public, max-age=86400")
    );
    assert!(header(&reply, "content-type").is_some_and(|t| t.starts_with("text/plain")));
    assert_eq!(reply.text().await.expect("body"), robots);
}

#[tokio::test]
async fn the_live_stream_and_the_csv_downloads_stay_streams() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let cookie = app.login(OPERATOR).await;
    let mut stream = app
        .http
        .get(format!("{}/events", app.base))
        .header("cookie", &cookie)
        .header("accept-encoding", BROTLI_OR_GZIP)
        .send()
        .await
        .expect("GET /events");
    assert_eq!(stream.status().as_u16(), 200);
    assert_eq!(
        header(&stream, "content-encoding"),
        None,
        "SSE is never compressed"
    );
    // A change arrives as soon as it is made: not held in an encoder's buffer.
    let card = "CA2202040404-5GG3F4C8";
    let version = app
        .db
        .card(card)
        .await
        .expect("read")
        .expect("card")
        .version;
    let (status, body) = app
        .call_fn(
            Some(&cookie),
            app::api::UpdateCardOrder {
                card_id: card.into(),
                expected_version: version,
            },
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut seen = String::new();
    let arrived = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains(card) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(arrived, Ok(true), "the card's event, uncompressed: {seen}");

    // The CSV download: compressed as it streams, whole once decoded.
    let csv = app
        .http
        .get(format!("{}/export/cards.csv", app.base))
        .header("cookie", &cookie)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("GET cards.csv");
    assert_eq!(csv.status().as_u16(), 200);
    assert_eq!(header(&csv, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(header(&csv, "cache-control").as_deref(), Some("no-store"));
    let body = csv.bytes().await.expect("body");
    assert_eq!(&body[..2], &[0x1f, 0x8b]);
}

#[tokio::test]
async fn a_request_id_is_kept_from_a_trusted_proxy_only() {
    let t = common::db::sqlite().await;
    let direct = spawn(t.db.clone()).await;
    let sent = |app: &common::app::TestApp, id: &'static str| {
        app.http
            .get(format!("{}/healthz", app.base))
            .header("x-request-id", id)
            .send()
    };
    let reply = sent(&direct, "from-the-client-1").await.expect("GET");
    let id = header(&reply, "x-request-id").expect("id");
    assert_ne!(id, "from-the-client-1", "a client does not choose its id");

    let t2 = common::db::sqlite().await;
    let proxied = spawn_with(t2.db.clone(), |config| {
        config.trusted_proxies =
            backend::client_address::parse_trusted_proxies("127.0.0.1").expect("proxies");
    })
    .await;
    let reply = sent(&proxied, "lb-7f3e2a91").await.expect("GET");
    assert_eq!(
        header(&reply, "x-request-id").as_deref(),
        Some("lb-7f3e2a91")
    );
    // Not well-formed: replaced.
    let reply = proxied
        .http
        .get(format!("{}/healthz", proxied.base))
        .header("x-request-id", "a b c")
        .send()
        .await
        .expect("GET");
    assert_ne!(header(&reply, "x-request-id").as_deref(), Some("a b c"));
}
