//! The metrics on `METRICS_ADDR` (operations.md): scraped after a batch sync, log-ins and a
//! GO Cards error, each counter has moved. Other tests in this process record too, so each
//! check is of a rise, not of a value.

use std::collections::HashMap;

use testkit as common;

use app::api::UpdateCardOrder;
use common::app::{spawn, OPERATOR};
use gocards_sim::{FaultMode, FaultSpec};

/// The samples of a Prometheus text page: `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(http: &reqwest::Client, addr: std::net::SocketAddr) -> HashMap<String, f64> {
    let reply = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(reply.status().as_u16(), 200);
    let content_type = reply
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    samples(&reply.text().await.expect("body"))
}

fn value(samples: &HashMap<String, f64>, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn each_family_moves_when_its_thing_happens() {
    let t = common::db::sqlite().await;
    let app = spawn(t.db.clone()).await;
    let addr = server::metrics::serve(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        t.db.clone(),
    )
    .await
    .expect("metrics listener");
    let before = scrape(&app.http, addr).await;

    // A page.
    let page = app.page("/login", None).await;
    assert_eq!(page.0, 200);
    // Log-ins: one right, one wrong.
    let cookie = app.login(OPERATOR).await;
    assert!(app
        .try_login((OPERATOR.0, "not the password"))
        .await
        .is_err());
    // A GO Cards error: 500 on Update card order.
    let card = "CA2202040404-5GG3F4C8";
    app.sim.set_fault(FaultSpec::new(FaultMode::Error500));
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
            UpdateCardOrder {
                card_id: card.into(),
                expected_version: version,
            },
        )
        .await;
    assert_eq!(status, 502, "{body}");
    app.sim.set_fault(FaultSpec::new(FaultMode::None));
    // A batch sync.
    let report = app.run_sync().await;
    assert_eq!(report.status, desk_core::model::RunStatus::Completed);

    let after = scrape(&app.http, addr).await;
    let rose = |key: &str| {
        let (b, a) = (value(&before, key), value(&after, key));
        assert!(a > b, "{key}: {b} → {a}");
    };
    rose(r#"carddesk_logins_total{outcome="ok"}"#);
    rose(r#"carddesk_logins_total{outcome="wrong"}"#);
    rose(r#"carddesk_gocards_calls_total{endpoint="card",outcome="5xx"}"#);
    rose(r#"carddesk_gocards_calls_total{endpoint="changed_cards",outcome="ok"}"#);
    rose(r#"carddesk_gocards_call_duration_seconds_count{endpoint="card"}"#);
    rose(r#"carddesk_sync_runs_total{outcome="completed"}"#);
    rose("carddesk_sync_last_success_timestamp_seconds");
    rose(r#"carddesk_http_requests_total{route="/login",method="GET",status="200"}"#);
    // Server functions are counted under their route template, not per call.
    assert!(
        after
            .keys()
            .any(|key| key.starts_with("carddesk_http_requests_total{route=\"/api/")),
        "server functions by route"
    );
    assert!(after.contains_key(
        r#"carddesk_http_request_duration_seconds_bucket{route="/login",method="GET",le="0.1"}"#
    ));
    assert_eq!(
        value(&after, "carddesk_sync_running"),
        0.0,
        "no run is going"
    );
    assert!(after.contains_key(r#"carddesk_db_pool_connections{state="idle"}"#));
    assert!(
        after.contains_key("carddesk_event_streams")
            || !before.contains_key("carddesk_event_streams")
    );
}
