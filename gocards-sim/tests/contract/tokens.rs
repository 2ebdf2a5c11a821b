//! The bearer token: cached, fetched once under concurrency, renewed before expiry.

use std::time::Duration;

use testkit::gocards::{card, start_sim, test_card_id};

#[tokio::test]
async fn token_is_cached_across_calls_and_fetched_once_under_concurrency() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim
        .upsert_cards((1..=5).map(|n| card(n, "ORDERED")).collect());
    let client = t.client()?;
    for n in 0..25 {
        client.card(&test_card_id(n % 5 + 1)).await?;
    }
    assert_eq!(
        t.sim.token_requests(),
        1,
        "one token for 25 sequential calls"
    );

    let fresh = t.client()?;
    let calls = (0..40).map(|n| {
        let fresh = fresh.clone();
        tokio::spawn(async move { fresh.card(&test_card_id(n % 5 + 1)).await })
    });
    for call in futures::future::join_all(calls).await {
        call??;
    }
    assert_eq!(
        t.sim.token_requests(),
        2,
        "one token for 40 concurrent calls"
    );
    Ok(())
}

#[tokio::test]
async fn token_is_renewed_shortly_before_it_expires() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    t.sim.set_token_lifetime(Duration::from_secs(1));
    let client = t.client()?;
    client.card(&test_card_id(1)).await?;
    client.card(&test_card_id(1)).await?;
    assert_eq!(t.sim.token_requests(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.card(&test_card_id(1)).await?;
    assert_eq!(t.sim.token_requests(), 2, "renewed");
    let path = format!("/api/card/{}", test_card_id(1));
    assert_eq!(
        t.calls_to(&path),
        3,
        "renewed before use, so no 401 and no retry"
    );
    Ok(())
}

#[tokio::test]
async fn test_connection_fetches_a_token_and_checks_the_organisation() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let client = t.client()?;
    client.test_connection().await?;
    client.test_connection().await?;
    assert_eq!(t.sim.token_requests(), 2, "a fresh token each time");
    assert_eq!(t.calls_to("/api/cards"), 2);
    Ok(())
}
