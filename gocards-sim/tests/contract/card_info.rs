//! Card info as read by the client: every status value, the settings, the base URL.

use std::time::Duration;

use anyhow::ensure;
use axum::Router;
use desk_core::domain::GoCardsStatus;
use gocards::{CardInfo, GoCardsClient, GoCardsError};
use gocards_sim::{SimConfig, Simulator};
use testkit::gocards as support;
use testkit::gocards::{card, config_for, serve, start_sim, test_card_id};

#[tokio::test]
async fn every_status_value_is_read_including_unknown_ones() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let statuses = [
        "ORDERED",
        "IN_PRODUCTION",
        "PRODUCED",
        "SHIPPED",
        "DELIVERED",
        "FAILED",
        "CANCELLED",
        "QUALITY_HOLD",
    ];
    let mut cards: Vec<CardInfo> = Vec::new();
    for (n, status) in (1..).zip(statuses) {
        let mut c = card(n, status);
        if status == "FAILED" {
            c.failure_reason = Some("chip test failed".to_owned());
        }
        cards.push(c);
    }
    ensure!(
        t.post_sim("/sim/cards", serde_json::to_value(&cards)?)
            .await?
            == 200
    );
    let client = t.client()?;
    for (n, status) in (1..).zip(statuses) {
        let got = client.card(&test_card_id(n)).await?;
        assert_eq!(got.status, GoCardsStatus::parse(status));
        assert_eq!(got.status.as_str(), status);
        assert_eq!(got.card_holder_email, format!("anna{n}@example.org"));
        assert_eq!(
            got.card_elements.get("FIRST_NAME"),
            Some(&format!("Anna{n}"))
        );
        assert_eq!(got.ordered, card(n, status).ordered);
        assert!(got.updated.is_some(), "the simulator sets updated");
    }
    let unknown = client.card(&test_card_id(8)).await?;
    assert_eq!(
        unknown.status,
        GoCardsStatus::Unrecognised("QUALITY_HOLD".to_owned())
    );
    let failed = client.card(&test_card_id(6)).await?;
    assert_eq!(failed.failure_reason.as_deref(), Some("chip test failed"));
    Ok(())
}

#[tokio::test]
async fn base_url_with_a_path_prefix_is_kept() -> anyhow::Result<()> {
    let sim = Simulator::new(SimConfig {
        client_id: support::CLIENT_ID.to_owned(),
        client_secret: support::CLIENT_SECRET.to_owned(),
        organisation_id: support::ORGANISATION.to_owned(),
    });
    sim.upsert_cards(vec![card(1, "ORDERED")]);
    let addr = serve(Router::new().nest("/gocards", sim.router())).await?;
    for base in [
        format!("http://{addr}/gocards"),
        format!("http://{addr}/gocards/"),
    ] {
        let mut config = config_for(addr)?;
        config.base_url = url::Url::parse(&base)?;
        let client = GoCardsClient::new(config)?;
        assert!(client.card(&test_card_id(1)).await.is_ok(), "{base}");
    }
    Ok(())
}

type ConfigChange = Box<dyn Fn(&mut gocards::GoCardsConfig)>;

#[test]
fn invalid_settings_are_refused() -> anyhow::Result<()> {
    let addr = support::loopback();
    let cases: Vec<(&str, ConfigChange)> = vec![
        ("empty client id", Box::new(|c| c.client_id = " ".into())),
        (
            "empty secret",
            Box::new(|c| c.client_secret = String::new().into()),
        ),
        (
            "empty organisation",
            Box::new(|c| c.organisation_id = String::new()),
        ),
        (
            "newline in organisation",
            Box::new(|c| c.organisation_id = "A\nB".into()),
        ),
        ("zero timeout", Box::new(|c| c.timeout = Duration::ZERO)),
        (
            "ftp",
            Box::new(|c| {
                c.base_url = url::Url::parse("ftp://x").unwrap_or_else(|_| c.base_url.clone())
            }),
        ),
        ("query", Box::new(|c| c.base_url.set_query(Some("a=b")))),
    ];
    for (name, change) in cases {
        let mut config = config_for(addr)?;
        change(&mut config);
        let built = GoCardsClient::new(config);
        assert!(
            matches!(built, Err(GoCardsError::InvalidConfig(_))),
            "{name}"
        );
    }
    let config = config_for(addr)?;
    assert!(
        !format!("{config:?}").contains(support::CLIENT_SECRET),
        "Debug shows the secret"
    );
    Ok(())
}
