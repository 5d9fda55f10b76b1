//! `GET /metrics` of the real server after manifest requests: downloads per update,
//! requests by route, status, platform and channel, latency histograms, cache lookups.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(
    clippy::too_many_lines,
    reason = "a scenario reads best as one function"
)]

mod common;

use std::time::Duration;

use common::Server;
use reqwest::StatusCode;
use serde_json::Value;

const TOKEN: &str = "0123456789abcdef-test-token";
const SAMPLE_RUNTIME_VERSION: &str = "0.0.0-sample";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn ask(server: &Server, runtime_version: &str, headers: &[(&str, &str)]) -> StatusCode {
    let mut request = client()
        .get(server.url("/manifest"))
        .header("expo-protocol-version", "1")
        .header("expo-platform", "ios")
        .header("expo-runtime-version", runtime_version);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    response.bytes().await.unwrap();
    status
}

/// The value of the one sample whose line holds every `needle`; `None` when there is none.
fn value(text: &str, needles: &[&str]) -> Option<f64> {
    let mut found = text
        .lines()
        .filter(|l| !l.starts_with('#') && needles.iter().all(|n| l.contains(n)));
    let line = found.next()?;
    assert!(found.next().is_none(), "several lines match {needles:?}");
    Some(line.rsplit(' ').next().unwrap().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_requests_are_counted_per_update_route_and_cache_result() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--admin-token", TOKEN]);
    let updates: Value = server.admin_json("/admin/updates", TOKEN).await;
    let ios = updates
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["platform"] == "ios")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let json = [
        ("accept", "application/json"),
        ("expo-channel-name", "default"),
    ];
    // Two downloads: a cache miss, then a hit.
    for _ in 0..2 {
        assert_eq!(
            ask(&server, SAMPLE_RUNTIME_VERSION, &json).await,
            StatusCode::OK
        );
    }
    // An install already running the update downloads nothing (noUpdateAvailable).
    let running = [
        ("accept", "multipart/mixed"),
        ("expo-channel-name", "default"),
        ("expo-current-update-id", ios.as_str()),
    ];
    assert_eq!(
        ask(&server, SAMPLE_RUNTIME_VERSION, &running).await,
        StatusCode::OK
    );
    // Nothing published there: 204, and no update label.
    let nowhere = [("expo-channel-name", "nowhere")];
    assert_eq!(
        ask(&server, "9.9.9", &nowhere).await,
        StatusCode::NO_CONTENT
    );

    let text = server.metrics_text().await;
    let downloads = &[
        "expo_manifest_served_total{",
        &format!(r#"update_id="{ios}""#),
        r#"platform="ios""#,
        r#"channel="default""#,
    ];
    assert_eq!(value(&text, downloads), Some(2.0), "{text}");
    let labelled = text
        .lines()
        .filter(|l| l.starts_with("expo_manifest_served_total{"))
        .count();
    assert_eq!(labelled, 1, "only served updates are labels:\n{text}");

    let requests = |status: &str, channel: &str| {
        value(
            &text,
            &[
                "expo_http_requests_total{",
                r#"route="/manifest""#,
                r#"method="GET""#,
                &format!(r#"status="{status}""#),
                r#"platform="ios""#,
                &format!(r#"channel="{channel}""#),
            ],
        )
    };
    assert_eq!(requests("200", "default"), Some(3.0), "{text}");
    // A channel no update was published to is no label: clients cannot make up labels.
    assert_eq!(requests("204", "other"), Some(1.0), "{text}");
    assert!(!text.contains("nowhere"), "{text}");

    let histogram = |suffix: &str, extra: &str| {
        value(
            &text,
            &[
                &format!("expo_http_request_duration_seconds_{suffix}{{"),
                r#"route="/manifest""#,
                extra,
            ],
        )
    };
    assert_eq!(histogram("count", ""), Some(4.0), "{text}");
    assert_eq!(histogram("bucket", r#"le="+Inf""#), Some(4.0), "{text}");
    assert!(histogram("sum", "").unwrap() > 0.0, "{text}");

    let cache = |result: &str| {
        value(
            &text,
            &[
                "expo_manifest_cache_total{",
                &format!(r#"result="{result}""#),
            ],
        )
    };
    // Misses: the first request of each scope; hits: the rest.
    assert_eq!(cache("miss"), Some(2.0), "{text}");
    assert_eq!(cache("hit"), Some(2.0), "{text}");
}
