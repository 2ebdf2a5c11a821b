//! The simulator's own behaviour: error bodies, fault scope, `/sim/*` input, webhook
//! events, `advance`, the production line.

use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use desk_core::domain::GoCardsStatus;
use gocards::{CardInfo, GoCardsError, ListCursor};
use gocards_sim::{SimConfig, Simulator};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use testkit::gocards as support;
use testkit::gocards::{card, serve, start_sim, test_card_id};

#[tokio::test]
async fn api_errors_have_the_contract_body() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let card_url = t.url(&format!("/api/card/{}", test_card_id(1)));
    let token = t.raw_token().await?;
    let no_token = t
        .http
        .get(&card_url)
        .header("X-Organisation-Id", support::ORGANISATION)
        .send()
        .await?;
    let wrong_token = t
        .http
        .get(&card_url)
        .bearer_auth("not-a-token")
        .header("X-Organisation-Id", support::ORGANISATION)
        .send()
        .await?;
    let wrong_org = t
        .http
        .get(&card_url)
        .bearer_auth(&token)
        .header("X-Organisation-Id", "X")
        .send()
        .await?;
    let no_org = t.http.get(&card_url).bearer_auth(&token).send().await?;
    let unknown = t
        .http
        .get(&card_url)
        .bearer_auth(&token)
        .header("X-Organisation-Id", support::ORGANISATION)
        .send()
        .await?;
    let bad_secret = t
        .http
        .post(t.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", support::CLIENT_ID),
            ("client_secret", "x"),
        ])
        .send()
        .await?;
    /// A refused request: the reply, and the status and error code it must carry.
    struct Refusal {
        reply: reqwest::Response,
        status: u16,
        code: &'static str,
    }
    for Refusal {
        reply,
        status,
        code,
    } in [
        Refusal {
            reply: no_token,
            status: 401,
            code: "unauthorized",
        },
        Refusal {
            reply: wrong_token,
            status: 401,
            code: "unauthorized",
        },
        Refusal {
            reply: wrong_org,
            status: 403,
            code: "forbidden",
        },
        Refusal {
            reply: no_org,
            status: 403,
            code: "forbidden",
        },
        Refusal {
            reply: unknown,
            status: 404,
            code: "not_found",
        },
        Refusal {
            reply: bad_secret,
            status: 401,
            code: "invalid_client",
        },
    ] {
        assert_eq!(reply.status().as_u16(), status, "{code}");
        let body: serde_json::Value = reply.json().await?;
        assert_eq!(body["error"], code);
        assert!(
            body["message"].is_string() && body["correlationId"].is_string(),
            "{body}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn faults_hit_only_their_card_and_only_api_routes() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim
        .upsert_cards(vec![card(1, "ORDERED"), card(2, "ORDERED")]);
    t.fault(json!({"mode": "error500", "cardId": test_card_id(1).to_string()}))
        .await?;
    let client = t.client()?;
    assert_eq!(
        client.card(&test_card_id(1)).await.err(),
        Some(GoCardsError::ServerError { status: 500 })
    );
    assert!(client.card(&test_card_id(2)).await.is_ok());
    assert!(client
        .changed_cards(&ListCursor::default(), 5)
        .await
        .is_ok());
    // For all calls: the token endpoint and /sim/* still work.
    t.fault(json!({"mode": "error500"})).await?;
    let fresh = t.client()?;
    assert_eq!(
        fresh.card(&test_card_id(2)).await.err(),
        Some(GoCardsError::ServerError { status: 500 })
    );
    assert_eq!(t.sim.token_requests(), 2, "both clients got a token");
    assert_eq!(
        t.http
            .get(t.url("/sim/calls"))
            .send()
            .await?
            .status()
            .as_u16(),
        200
    );
    // Probability 0 never strikes.
    t.fault(json!({"mode": "error500", "probability": 0.0}))
        .await?;
    assert!(client.card(&test_card_id(1)).await.is_ok());
    Ok(())
}

#[tokio::test]
async fn sim_control_routes_refuse_bad_input_with_400() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    let status_path = format!("/sim/cards/{}/status", test_card_id(1));
    for path in [
        "/sim/cards",
        status_path.as_str(),
        "/sim/faults",
        "/sim/webhook",
    ] {
        for body in ["not json", "{", "[1,2]", "{\"unexpected\": true}"] {
            let reply = t
                .http
                .post(t.url(path))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await?;
            assert_eq!(reply.status().as_u16(), 400, "{path} {body}");
        }
    }
    for fault in [
        json!({"mode": "explode"}),
        json!({"mode": "drop", "probability": 2.0}),
        json!({"mode": "drop", "latency_ms": 5}),
        json!({"mode": "drop", "times": 0}),
        json!({"mode": "drop", "times": -1}),
        json!({"mode": "drop", "path": "/sim/cards"}),
    ] {
        assert_eq!(
            t.post_sim("/sim/faults", fault.clone()).await?,
            400,
            "{fault}"
        );
    }
    assert_eq!(
        t.post_sim("/sim/cards", json!([{"cardId": "", "status": "ORDERED"}]))
            .await?,
        400
    );
    assert_eq!(
        t.post_sim("/sim/webhook", json!({"url": "ftp://x", "secret": "s"}))
            .await?,
        400
    );
    assert_eq!(
        t.post_sim("/sim/webhook", json!({"url": "http://x", "secret": ""}))
            .await?,
        400
    );
    let unknown = format!("/sim/cards/{}/status", test_card_id(9));
    assert_eq!(
        t.post_sim(&unknown, json!({"status": "PRODUCED"})).await?,
        404
    );
    // Any status string is accepted, backwards and unknown ones included.
    for status in ["QUALITY_HOLD", "ORDERED", "", "délai"] {
        assert_eq!(
            t.post_sim(
                &status_path,
                json!({"status": status, "failureReason": null})
            )
            .await?,
            200
        );
        assert_eq!(
            t.sim
                .card(&test_card_id(1).to_string())
                .map(|c| c.status.as_str().to_owned())
                .as_deref(),
            Some(status)
        );
    }
    Ok(())
}

#[tokio::test]
async fn status_changes_emit_signed_webhook_events() -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![
        card(1, "ORDERED"),
        card(2, "ORDERED"),
        card(3, "DELIVERED"),
    ]);
    let (sender, mut events) = tokio::sync::mpsc::unbounded_channel::<(HeaderMap, Bytes)>();
    let receiver = Router::new().route(
        "/webhooks/gocards",
        post(move |headers: HeaderMap, body: Bytes| {
            let _ = sender.send((headers, body));
            async { StatusCode::NO_CONTENT }
        }),
    );
    let hook = serve(receiver).await?;
    let secret = "webhook-secret";
    let url = format!("http://{hook}/webhooks/gocards");
    assert_eq!(
        t.post_sim("/sim/webhook", json!({"url": url, "secret": secret}))
            .await?,
        200
    );

    let id1 = test_card_id(1).to_string();
    assert_eq!(
        t.post_sim(
            &format!("/sim/cards/{id1}/status"),
            json!({"status": "PRODUCED"})
        )
        .await?,
        200
    );
    let (headers, body) = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await?
        .context("no event")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())?;
    mac.update(&body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        headers
            .get("x-gocards-signature")
            .and_then(|v| v.to_str().ok()),
        Some(expected.as_str())
    );
    let event: serde_json::Value = serde_json::from_slice(&body)?;
    assert_eq!(event["apiVersion"], "2.0.0");
    assert_eq!(event["topic"], "CARD_PRODUCED");
    assert_eq!(event["data"]["cardId"], id1.as_str());
    assert_eq!(event["data"]["status"], "PRODUCED");
    assert!(event["eventId"]
        .as_str()
        .is_some_and(|id| id.starts_with('E') && id.len() == 20));
    assert!(event["created"].is_string());
    let data: CardInfo = serde_json::from_value(event["data"].clone())?;
    assert_eq!(Some(data), t.sim.card(&id1));

    // advance: one event per open card (card 2 only; 1 is produced, 3 delivered).
    t.sim.advance();
    let (_, body) = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await?
        .context("no event")?;
    let event: serde_json::Value = serde_json::from_slice(&body)?;
    assert_eq!(event["data"]["cardId"], test_card_id(2).to_string());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), events.recv())
            .await
            .is_err(),
        "only one event"
    );
    Ok(())
}

#[tokio::test]
async fn advance_moves_open_cards_forward_the_same_way_every_time() -> anyhow::Result<()> {
    let cards: Vec<CardInfo> = (1..=60)
        .map(|n| {
            card(
                n,
                if n % 2 == 0 {
                    "ORDERED"
                } else {
                    "IN_PRODUCTION"
                },
            )
        })
        .chain([card(61, "DELIVERED"), card(62, "QUALITY_HOLD")])
        .collect();
    let run = |advances: usize| {
        let sim = Simulator::new(SimConfig::standalone_defaults());
        sim.upsert_cards(cards.clone());
        for _ in 0..advances {
            sim.advance();
        }
        (1..=62)
            .map(|n| {
                sim.card(&test_card_id(n).to_string())
                    .map(|c| (c.status, c.failure_reason))
            })
            .collect::<Vec<_>>()
    };
    let once = run(1);
    assert_eq!(once, run(1), "deterministic");
    for (n, state) in (1..).zip(&once) {
        let (status, reason) = state.clone().context("card vanished")?;
        let expected_forward = if n % 2 == 0 {
            GoCardsStatus::InProduction
        } else {
            GoCardsStatus::Produced
        };
        match n {
            61 => assert_eq!(status, GoCardsStatus::Delivered),
            62 => assert_eq!(status, GoCardsStatus::Unrecognised("QUALITY_HOLD".into())),
            _ if status == GoCardsStatus::Failed => {
                assert!(reason.is_some(), "a failure has a reason")
            }
            _ => assert_eq!(status, expected_forward, "card {n}"),
        }
    }
    let failed = once
        .iter()
        .flatten()
        .filter(|(s, _)| *s == GoCardsStatus::Failed)
        .count();
    assert!(failed < 10, "FAILED should be rare, got {failed} of 60");
    // Through HTTP as well.
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![card(1, "ORDERED")]);
    assert_eq!(t.post_sim("/sim/advance", json!(null)).await?, 200);
    assert_ne!(
        t.sim.card(&test_card_id(1).to_string()).map(|c| c.status),
        Some(GoCardsStatus::Ordered)
    );
    Ok(())
}

#[tokio::test]
async fn the_production_line_moves_every_open_card_to_delivered_with_an_event_a_step(
) -> anyhow::Result<()> {
    let t = start_sim().await?;
    t.sim.upsert_cards(vec![
        card(1, "ORDERED"),
        card(2, "IN_PRODUCTION"),
        card(3, "CANCELLED"),
    ]);
    let (sender, mut events) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    let receiver = Router::new().route(
        "/webhooks/gocards",
        post(move |body: Bytes| {
            let _ = sender.send(serde_json::from_slice(&body).unwrap_or_default());
            async { StatusCode::NO_CONTENT }
        }),
    );
    let hook = serve(receiver).await?;
    let url = format!("http://{hook}/webhooks/gocards");
    assert_eq!(
        t.post_sim("/sim/webhook", json!({"url": url, "secret": "s"}))
            .await?,
        200
    );
    // Bad settings are refused and start nothing.
    for bad in [
        json!({"stepSecs": -1}),
        json!({"stepSecs": 1, "failShare": 2}),
        json!({"failShare": 0.1}),
        json!({"stepSecs": 1, "speed": 3}),
    ] {
        assert_eq!(
            t.post_sim("/sim/production", bad.clone()).await?,
            400,
            "{bad}"
        );
    }
    assert_eq!(
        t.post_sim("/sim/production", json!({"stepSecs": 0.2, "failShare": 0}))
            .await?,
        200
    );
    let id = |n| test_card_id(n).to_string();
    let mut seen: Vec<(String, String)> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ![1, 2]
        .iter()
        .all(|&n| t.sim.card(&id(n)).map(|c| c.status) == Some(GoCardsStatus::Delivered))
    {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "not delivered: {seen:?}"
        );
        if let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(200), events.recv()).await
        {
            seen.push((
                event["data"]["cardId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                event["data"]["status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ));
        }
    }
    // Card 1 took every step, one event each, in order; the cancelled card none.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(event) = events.try_recv() {
        seen.push((
            event["data"]["cardId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            event["data"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ));
    }
    let steps = |n| -> Vec<String> {
        seen.iter()
            .filter(|(card, _)| *card == id(n))
            .map(|(_, status)| status.clone())
            .collect()
    };
    assert_eq!(
        steps(1),
        ["IN_PRODUCTION", "PRODUCED", "SHIPPED", "DELIVERED"]
    );
    assert_eq!(steps(2), ["PRODUCED", "SHIPPED", "DELIVERED"]);
    assert!(steps(3).is_empty());
    // stepSecs 0 stops it: a new order stays ORDERED.
    assert_eq!(
        t.post_sim("/sim/production", json!({"stepSecs": 0}))
            .await?,
        200
    );
    t.sim.upsert_cards(vec![card(4, "ORDERED")]);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        t.sim.card(&id(4)).map(|c| c.status),
        Some(GoCardsStatus::Ordered)
    );
    Ok(())
}
