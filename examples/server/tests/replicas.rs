//! Several `serve` processes on one `PostgreSQL` database: a change made through one is
//! served by the others within two seconds (they poll the store's change counter).
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use std::time::{Duration, Instant};

use common::{Backend, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "0123456789abcdef-test-token";
const SAMPLE_RUNTIME_VERSION: &str = "0.0.0-sample";
/// How soon a replica must serve a change made elsewhere.
const FRESHNESS: Duration = Duration::from_secs(2);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The iOS answer of `server` for the sample's scope: the multipart body as text.
async fn answer(server: &Server) -> String {
    let response = client()
        .get(server.url("/manifest"))
        .header("expo-protocol-version", "1")
        .header("expo-platform", "ios")
        .header("expo-runtime-version", SAMPLE_RUNTIME_VERSION)
        .header("accept", "multipart/mixed")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// Waits until `server` answers with `needle` in its body; returns how long it took.
async fn until_served(server: &Server, needle: &str, since: Instant) -> Duration {
    loop {
        if answer(server).await.contains(needle) {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < FRESHNESS * 5,
            "{needle} still not served after {:?}",
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn admin(server: &Server, path: &str, body: &Value) -> Value {
    let response = client()
        .post(server.url(path))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_serve_changes_made_through_another_within_two_seconds() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    // The first one publishes the sample into the empty database; the second finds it.
    let first = backend.server(data.path(), &["--admin-token", TOKEN]);
    let second = backend.server(data.path(), &["--admin-token", TOKEN]);
    let updates: Value = first.admin_json("/admin/updates?platform=ios", TOKEN).await;
    let sample = updates[0]["id"].as_str().unwrap();
    // Both serve (and cache) the sample.
    assert!(answer(&first).await.contains(sample));
    assert!(answer(&second).await.contains(sample));

    // A publish (a republish as a new update) through the first server.
    let started = Instant::now();
    let republished = admin(
        &first,
        &format!("/admin/updates/{sample}/republish"),
        &json!({"message": "again"}),
    )
    .await;
    let new_id = republished[0]["id"].as_str().unwrap().to_owned();
    let took = until_served(&second, &new_id, started).await;
    assert!(
        took < FRESHNESS,
        "the publish took {took:?} to reach the replica"
    );
    // Its own change is served at once.
    assert!(answer(&first).await.contains(&new_id));

    // A rollback to the embedded update through the second server.
    let started = Instant::now();
    admin(
        &second,
        "/admin/rollback",
        &json!({"runtime_version": SAMPLE_RUNTIME_VERSION, "platform": "ios", "embedded": true}),
    )
    .await;
    let took = until_served(&first, "rollBackToEmbedded", started).await;
    assert!(
        took < FRESHNESS,
        "the rollback took {took:?} to reach the replica"
    );
}
