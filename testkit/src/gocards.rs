//! Shared set-up for the GO Cards contract tests: a simulator on a real socket, clients
//! pointed at it, small servers for replies the simulator cannot make.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use desk_core::domain::{CardId, GoCardsStatus};
use gocards::{CardInfo, DeliveryAddress, GoCardsClient, GoCardsConfig, OrderRequest};
use gocards_sim::{SimConfig, SimOrder, Simulator};
use secrecy::SecretString;

pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-secret";
pub const ORGANISATION: &str = "TEST-ORG";

pub struct TestSim {
    pub sim: Simulator,
    pub addr: SocketAddr,
    /// For the `/sim/*` routes and raw `/api` calls.
    pub http: reqwest::Client,
}

pub async fn start_sim() -> anyhow::Result<TestSim> {
    let sim = Simulator::new(SimConfig {
        client_id: CLIENT_ID.to_owned(),
        client_secret: CLIENT_SECRET.to_owned(),
        organisation_id: ORGANISATION.to_owned(),
    });
    let addr = sim
        .spawn(loopback())
        .await
        .context("simulator did not start")?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    Ok(TestSim { sim, addr, http })
}

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Settings that work against the test simulator at `addr`, with a 5 s timeout.
pub fn config_for(addr: SocketAddr) -> anyhow::Result<GoCardsConfig> {
    Ok(GoCardsConfig {
        base_url: url::Url::parse(&format!("http://{addr}"))?,
        client_id: CLIENT_ID.to_owned(),
        client_secret: SecretString::from(CLIENT_SECRET.to_owned()),
        organisation_id: ORGANISATION.to_owned(),
        timeout: Duration::from_secs(5),
    })
}

impl TestSim {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn client(&self) -> anyhow::Result<GoCardsClient> {
        self.client_with(|_| {})
    }

    pub fn client_with(
        &self,
        change: impl FnOnce(&mut GoCardsConfig),
    ) -> anyhow::Result<GoCardsClient> {
        let mut config = config_for(self.addr)?;
        change(&mut config);
        Ok(GoCardsClient::new(config)?)
    }

    /// `POST /sim/...` with a JSON body; returns the status code.
    pub async fn post_sim(&self, path: &str, body: serde_json::Value) -> anyhow::Result<u16> {
        let reply = self.http.post(self.url(path)).json(&body).send().await?;
        Ok(reply.status().as_u16())
    }

    /// Sets a fault through `POST /sim/faults`, checking it was accepted.
    pub async fn fault(&self, body: serde_json::Value) -> anyhow::Result<()> {
        let status = self.post_sim("/sim/faults", body).await?;
        anyhow::ensure!(status == 200, "fault refused with {status}");
        Ok(())
    }

    /// How many `/api` calls with this path the simulator received.
    pub fn calls_to(&self, path: &str) -> usize {
        self.sim
            .calls()
            .iter()
            .filter(|(_, p, _)| p == path)
            .count()
    }

    /// `GET /sim/orders`.
    pub async fn sim_orders(&self) -> anyhow::Result<Vec<SimOrder>> {
        let reply = self.http.get(self.url("/sim/orders")).send().await?;
        anyhow::ensure!(
            reply.status() == 200,
            "/sim/orders answered {}",
            reply.status()
        );
        Ok(reply.json().await?)
    }

    /// `POST` to an `/api` path by hand, with a live token and the organisation, an optional
    /// `Idempotency-Key` and a raw JSON body. Returns the status and the body (`null` when
    /// it is not JSON).
    pub async fn post_api(
        &self,
        path: &str,
        idempotency_key: Option<&str>,
        body: &serde_json::Value,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let token = self.raw_token().await?;
        let mut request = self
            .http
            .post(self.url(path))
            .bearer_auth(&token)
            .header(gocards::ORGANISATION_HEADER, ORGANISATION)
            .json(body);
        if let Some(key) = idempotency_key {
            request = request.header(gocards::IDEMPOTENCY_HEADER, key);
        }
        let reply = request.send().await?;
        let status = reply.status().as_u16();
        let body = reply.json().await.unwrap_or(serde_json::Value::Null);
        Ok((status, body))
    }

    /// A live token, fetched by hand.
    pub async fn raw_token(&self) -> anyhow::Result<String> {
        let reply: serde_json::Value = self
            .http
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .send()
            .await?
            .json()
            .await?;
        reply["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("no access_token")
    }
}

/// A well-formed card id, distinct for each `n`.
pub fn test_card_id(n: u32) -> CardId {
    let raw = format!("CA{n:010}-TEST{:04}", n % 10_000);
    CardId::parse(&raw).unwrap_or_else(|error| panic!("test id: {error}"))
}

pub fn card(n: u32, status: &str) -> CardInfo {
    let mut elements = BTreeMap::new();
    elements.insert("FIRST_NAME".to_owned(), format!("Anna{n}"));
    elements.insert("LAST_NAME".to_owned(), "Berg".to_owned());
    CardInfo {
        card_id: test_card_id(n).to_string(),
        article_id: "KSK-K11686X".to_owned(),
        card_holder_email: format!("anna{n}@example.org"),
        card_elements: elements,
        status: GoCardsStatus::parse(status),
        failure_reason: None,
        ordered: chrono::DateTime::parse_from_rfc3339("2026-11-20T09:12:00Z")
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc)),
        produced: None,
        delivered: None,
        activated: None,
        updated: None,
    }
}

/// A valid order for `reference`: article `KSK-K11686X`, Anna Berg in Stockholm.
pub fn order_request(reference: &str) -> OrderRequest {
    let mut elements = BTreeMap::new();
    elements.insert("FIRST_NAME".to_owned(), "Anna".to_owned());
    elements.insert("LAST_NAME".to_owned(), "Berg".to_owned());
    OrderRequest {
        external_reference: reference.to_owned(),
        article_id: "KSK-K11686X".to_owned(),
        card_holder_email: "anna.berg@example.org".to_owned(),
        card_elements: elements,
        delivery_address: DeliveryAddress {
            recipient: "Anna Berg".to_owned(),
            address_one: "Storgatan 1".to_owned(),
            postal_code: "111 22".to_owned(),
            city: "Stockholm".to_owned(),
            country_code: "SE".to_owned(),
        },
    }
}

/// Serves `router` on a free loopback port in the background.
pub async fn serve(router: axum::Router) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(loopback()).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(addr)
}

/// A token endpoint that always grants, for test servers.
pub async fn grant_token() -> axum::Json<serde_json::Value> {
    axum::Json(
        serde_json::json!({"access_token": "t0k3n", "token_type": "Bearer", "expires_in": 3600}),
    )
}
