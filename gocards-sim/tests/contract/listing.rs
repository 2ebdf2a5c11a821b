//! The changed-cards listing: keyset cursors, defaults and refusals.

use std::collections::HashSet;

use anyhow::{ensure, Context};
use gocards::ListCursor;
use testkit::gocards as support;
use testkit::gocards::{card, start_sim, test_card_id};

/// Walks the listing 3 at a time while cards change between pages. Every card shows up,
/// each card's latest state is seen, no `(card, updated)` pair repeats, and the order is
/// strictly increasing in `(updated, cardId)`.
#[tokio::test]
async fn listing_walk_sees_every_change_exactly_once() -> anyhow::Result<()> {
    let t = start_sim().await?;
    // One batch: the cards share an `updated`, so the card id decides the order.
    t.sim
        .upsert_cards((1..=10).map(|n| card(n, "ORDERED")).collect());
    for n in 11..=20 {
        t.sim.upsert_cards(vec![card(n, "ORDERED")]);
    }
    let client = t.client()?;
    let mut cursor = ListCursor::default();
    // What the sync keeps: the cursor of the last item applied.
    let mut watermark = ListCursor::default();
    let mut seen: Vec<(String, i64, String)> = Vec::new();
    let mut pages = 0;
    loop {
        let page = client.changed_cards(&cursor, 3).await?;
        ensure!(page.items.len() <= 3);
        for item in &page.items {
            let updated = item.updated.context("no updated")?.timestamp_millis();
            seen.push((
                item.card_id.clone(),
                updated,
                item.status.as_str().to_owned(),
            ));
            watermark = ListCursor::after(item);
        }
        pages += 1;
        // Change cards already seen, not yet seen, and one twice.
        match pages {
            1 => {
                ensure!(t
                    .sim
                    .set_status(&test_card_id(1).to_string(), "IN_PRODUCTION", None));
                ensure!(t
                    .sim
                    .set_status(&test_card_id(15).to_string(), "IN_PRODUCTION", None));
            }
            3 => {
                ensure!(t
                    .sim
                    .set_status(&test_card_id(1).to_string(), "PRODUCED", None));
                ensure!(t
                    .sim
                    .set_status(&test_card_id(8).to_string(), "FAILED", Some("x".into())));
            }
            5 => t.sim.advance(),
            _ => {}
        }
        match page.next {
            Some(next) => cursor = next,
            None => break,
        }
        ensure!(pages < 100, "the walk does not end");
    }
    // No (card, updated) pair twice, and strictly increasing keys.
    let mut pairs = HashSet::new();
    for (card_id, updated, _) in &seen {
        ensure!(
            pairs.insert((card_id.clone(), *updated)),
            "{card_id}@{updated} seen twice"
        );
    }
    let keys: Vec<(i64, &str)> = seen.iter().map(|(id, at, _)| (*at, id.as_str())).collect();
    ensure!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "keys not strictly increasing: {keys:?}"
    );
    // Every card, and the latest state of each, was seen.
    for n in 1..=20 {
        let id = test_card_id(n).to_string();
        let latest = t.sim.card(&id).context("card vanished")?;
        let last_seen = seen.iter().rev().find(|(card_id, _, _)| *card_id == id);
        let latest_key = (
            id.clone(),
            latest.updated.context("no updated")?.timestamp_millis(),
            latest.status.as_str().to_owned(),
        );
        assert_eq!(last_seen, Some(&latest_key), "card {n}");
    }
    // Card 1 changed twice after it was first listed, the second time before the walk
    // reached its first change: the listing shows current states, so it is seen twice,
    // first as ORDERED and then as PRODUCED.
    let id1 = test_card_id(1).to_string();
    let card1: Vec<&str> = seen
        .iter()
        .filter(|(id, _, _)| *id == id1)
        .map(|(_, _, s)| s.as_str())
        .collect();
    assert_eq!(card1, ["ORDERED", "PRODUCED"]);

    // The watermark: nothing new, then exactly the one card that changed.
    let empty = client.changed_cards(&watermark, 3).await?;
    assert!(empty.items.is_empty() && empty.next.is_none());
    ensure!(t
        .sim
        .set_status(&test_card_id(4).to_string(), "SHIPPED", None));
    let after = client.changed_cards(&watermark, 3).await?;
    let ids: Vec<_> = after.items.iter().map(|c| c.card_id.as_str()).collect();
    assert_eq!(ids, [test_card_id(4).to_string()]);
    assert!(after.next.is_none());
    Ok(())
}

#[tokio::test]
async fn listing_defaults_and_refusals_on_the_wire() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim
        .upsert_cards((1..=600).map(|n| card(n, "ORDERED")).collect());
    let token = t.raw_token().await?;
    let get = |query: &str| {
        t.http
            .get(t.url(&format!("/api/cards{query}")))
            .bearer_auth(&token)
            .header("X-Organisation-Id", support::ORGANISATION)
            .send()
    };
    let page: serde_json::Value = get("").await?.json().await?;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(500),
        "size defaults to 500"
    );
    assert!(page["next"]["updatedSince"].is_string() && page["next"]["afterCardId"].is_string());
    let last: serde_json::Value = get("?size=1000").await?.json().await?;
    assert_eq!(last["items"].as_array().map(Vec::len), Some(600));
    assert!(last["next"].is_null());
    for bad in [
        "?size=1001",
        "?size=-1",
        "?size=abc",
        "?updatedSince=yesterday",
        "?afterCardId=X",
    ] {
        let reply = get(bad).await?;
        assert_eq!(reply.status().as_u16(), 400, "{bad}");
        let body: serde_json::Value = reply.json().await?;
        assert_eq!(body["error"], "bad_request", "{bad}");
    }
    Ok(())
}
