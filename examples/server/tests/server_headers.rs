//! What the server tells clients beyond the manifest, on the real binary: the manifest
//! filters of the served update's stream, the configured server-defined headers (and a
//! reserved one refused at startup), and the asset request headers, with the signed asset
//! token `/assets` checks (hostile requests included).
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(
    clippy::too_many_lines,
    reason = "a scenario reads best as one function"
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::{Server, bin, decode, run_ok, sample_export};
use expo_manifest::{AssetHash, Directive, Platform, RuntimeVersion};
use expo_update_server::asset_headers::AssetTokens;
use expo_updates::client::{ManifestAnswer, ManifestQuery, check_manifest_response};
use reqwest::StatusCode;
use serde_json::Value;

const SECRET: &str = "0123456789abcdef0123456789abcdef-test";
const TOKEN_HEADER: &str = "x-asset-token";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap()
}

fn publish(data: &Path, channel: &str) {
    run_ok(
        bin(data)
            .arg("publish")
            .arg(sample_export())
            .args(["--runtime-version", "1.0.0", "--brotli-quality", "1"])
            .args(["--channel", channel]),
    );
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("server.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A manifest request of a real client (multipart first) as the crate's checker builds it.
fn query(channel: Option<&str>, accept: &str) -> ManifestQuery {
    let mut query = ManifestQuery::new(Platform::Ios, RuntimeVersion::new("1.0.0").unwrap());
    accept.clone_into(&mut query.accept);
    query.channel = channel.map(str::to_owned);
    query
}

/// Sends `query` to `path` of `server`; the answer as `http` types.
async fn send(server: &Server, path: &str, query: &ManifestQuery) -> http::Response<Bytes> {
    send_as(server, path, query, "1").await
}

/// [`send`] speaking protocol `version` ("0": the header left out).
async fn send_as(
    server: &Server,
    path: &str,
    query: &ManifestQuery,
    version: &str,
) -> http::Response<Bytes> {
    let mut request = query.to_request(&server.url(path)).unwrap();
    if version == "0" {
        request.headers_mut().remove("expo-protocol-version");
    }
    let mut builder = client().get(request.uri().to_string());
    for (name, value) in request.headers() {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.unwrap();
    let mut answer = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    answer.body(response.bytes().await.unwrap()).unwrap()
}

fn header<'a>(response: &'a http::Response<Bytes>, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn manifest_filters_name_the_stream_of_what_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    publish(&data, "production");
    publish(&data, "staging");
    run_ok(bin(&data).args([
        "rollback",
        "--embedded",
        "--runtime-version",
        "1.0.0",
        "--channel",
        "staging",
    ]));
    let server = Server::start(
        &data,
        &["--sample=false", "--default-channel", "production"],
    );

    // The default channel and the named one serve the production stream: multipart and JSON,
    // protocol 1 and 0, each answer passing the client's own check of its filters.
    for (channel, accept, protocol) in [
        (None, "multipart/mixed", "1"),
        (Some("production"), "multipart/mixed", "1"),
        (Some("production"), "application/expo+json", "1"),
        (Some("production"), "application/json", "0"),
    ] {
        let query = query(channel, accept);
        let response = send_as(&server, "/manifest", &query, protocol).await;
        assert_eq!(response.status(), 200, "{channel:?} {accept}");
        assert_eq!(
            header(&response, "expo-manifest-filters"),
            Some(r#"branchname="production""#),
            "{channel:?} {accept}"
        );
        let report = check_manifest_response(&query, &response, None);
        assert!(report.is_ok(), "{:?}", report.findings);
        let manifest = report.manifest().unwrap();
        assert_eq!(manifest.metadata["branchName"], "production");
        // Without configured asset headers, no extensions part.
        assert!(report.extensions().is_none());
    }

    // The client runs it: noUpdateAvailable keeps the stream's filters.
    let mut runs = query(Some("production"), "multipart/mixed");
    let first = send(&server, "/manifest", &runs).await;
    runs.current_update_id = Some(
        check_manifest_response(&runs, &first, None)
            .manifest()
            .unwrap()
            .id,
    );
    let again = send(&server, "/manifest", &runs).await;
    let report = check_manifest_response(&runs, &again, None);
    assert_eq!(
        report.answer,
        Some(ManifestAnswer::Directive(Directive::NoUpdateAvailable))
    );
    assert_eq!(
        header(&again, "expo-manifest-filters"),
        Some(r#"branchname="production""#)
    );

    // staging serves a rollback to the embedded update: the directive names its stream.
    let staging = query(Some("staging"), "multipart/mixed");
    let response = send(&server, "/manifest", &staging).await;
    let report = check_manifest_response(&staging, &response, None);
    assert!(matches!(
        report.answer,
        Some(ManifestAnswer::Directive(
            Directive::RollBackToEmbedded { .. }
        ))
    ));
    assert_eq!(
        header(&response, "expo-manifest-filters"),
        Some(r#"branchname="staging""#)
    );

    // A channel with nothing published has no stream to name.
    let empty = query(Some("nothing-here"), "multipart/mixed");
    let response = send(&server, "/manifest", &empty).await;
    assert_eq!(response.status(), 204);
    assert_eq!(header(&response, "expo-manifest-filters"), None);
    // Errors neither.
    let refused = query(Some("staging"), "application/expo+json");
    let response = send(&server, "/manifest", &refused).await;
    assert_eq!(response.status(), 406);
    assert_eq!(header(&response, "expo-manifest-filters"), None);

    // The channel moved to another branch: its answers name that branch, so an install
    // drops what the old branch gave it.
    publish(&data, "canary");
    run_ok(bin(&data).args(["channel", "set", "production", "--branch", "canary"]));
    let moved = query(Some("production"), "multipart/mixed");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let response = send(&server, "/manifest", &moved).await;
        if header(&response, "expo-manifest-filters") == Some(r#"branchname="canary""#) {
            let report = check_manifest_response(&moved, &response, None);
            assert!(report.is_ok(), "{:?}", report.findings);
            assert_eq!(report.manifest().unwrap().metadata["branchName"], "canary");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not notice the channel's move"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn configured_server_defined_headers_arrive_per_app_and_channel() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(
        dir.path(),
        r#"
[serve.server-defined-headers]
x-tenant = "acme"
x-cohort = 3
[serve.channels.beta.server-defined-headers]
x-cohort = 7
x-beta = true

[apps.shop]
[apps.shop.channels.production.server-defined-headers]
x-shop = "yes"
"#,
    );
    publish(&data, "production");
    publish(&data, "beta");
    run_ok(
        bin(&data)
            .args(["--app", "shop", "--config"])
            .arg(&config)
            .arg("publish")
            .arg(sample_export())
            .args(["--runtime-version", "1.0.0", "--brotli-quality", "1"])
            .args(["--channel", "production"]),
    );
    let server = Server::start(
        &data,
        &[
            "--sample=false",
            "--default-channel",
            "production",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    for (path, channel, expected) in [
        ("/manifest", None, Some(r#"x-cohort=3, x-tenant="acme""#)),
        (
            "/manifest",
            Some("production"),
            Some(r#"x-cohort=3, x-tenant="acme""#),
        ),
        (
            "/manifest",
            Some("beta"),
            Some(r#"x-cohort=7, x-tenant="acme", x-beta"#),
        ),
        // Also with nothing to serve: the headers are the app's, not an update's.
        (
            "/manifest",
            Some("nothing-here"),
            Some(r#"x-cohort=3, x-tenant="acme""#),
        ),
        // Another app does not inherit the default app's headers.
        (
            "/shop/manifest",
            Some("production"),
            Some(r#"x-shop="yes""#),
        ),
        ("/shop/manifest", Some("beta"), None),
    ] {
        for accept in ["multipart/mixed", "application/expo+json"] {
            let query = query(channel, accept);
            // Twice: the second answer is the kept one.
            for _ in 0..2 {
                let response = send(&server, path, &query).await;
                assert!(response.status().is_success(), "{path} {channel:?}");
                assert_eq!(
                    header(&response, "expo-server-defined-headers"),
                    expected,
                    "{path} {channel:?} {accept}"
                );
                let report = check_manifest_response(&query, &response, None);
                assert!(report.is_ok(), "{:?}", report.findings);
            }
        }
    }
}

#[test]
fn a_reserved_server_defined_header_stops_startup_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (text, named) in [
        (
            "[serve.server-defined-headers]\nexpo-channel-name = \"beta\"\n",
            "expo-channel-name",
        ),
        (
            "[serve.channels.beta.server-defined-headers]\nexpo-runtime-version = \"2\"\n",
            "expo-runtime-version",
        ),
        (
            "[apps.shop.channels.p.server-defined-headers]\nexpo-protocol-version = 0\n",
            "expo-protocol-version",
        ),
        (
            "[apps.shop.server-defined-headers]\neas-client-id = \"x\"\n",
            "eas-client-id",
        ),
        (
            "[serve.server-defined-headers]\nx-ok = \"caf\u{e9}\"\n",
            "x-ok",
        ),
    ] {
        let config = write_config(dir.path(), text);
        let log = Server::try_start(
            &data,
            &["--sample=false", "--config", config.to_str().unwrap()],
        )
        .err()
        .unwrap_or_else(|| panic!("started with {text}"));
        assert!(log.contains(named), "{text}: {log}");
        assert!(
            log.contains("server-defined-headers"),
            "{text}: the message names the table: {log}"
        );
    }
}

/// The asset request headers of each asset of the answer, by asset hash.
fn asset_headers(
    report: &expo_updates::client::ManifestReport,
) -> Vec<(expo_manifest::Asset, Vec<(String, String)>)> {
    let manifest = report.manifest().unwrap();
    let extensions = report.extensions().unwrap();
    manifest
        .all_assets()
        .map(|asset| {
            let headers = extensions.asset_request_headers[&asset.key]
                .iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect();
            (asset.clone(), headers)
        })
        .collect()
}

async fn fetch(url: &str, headers: &[(&str, &str)]) -> (StatusCode, Value, Vec<u8>) {
    let mut request = client().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let coding = response
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.bytes().await.unwrap();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, json, decode(coding.as_deref(), &body))
}

fn assert_refused(answer: &(StatusCode, Value, Vec<u8>), status: u16, code: &str, label: &str) {
    assert_eq!(answer.0.as_u16(), status, "{label}: {}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{label}");
    assert_eq!(answer.1["error"]["header"], TOKEN_HEADER, "{label}");
}

#[tokio::test]
async fn asset_tokens_are_sent_per_asset_and_required_by_the_asset_route() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[serve.asset-request-headers]
x-cdn-key = "edge-secret"
[serve.asset-token]
secret = "{SECRET}"
header = "{TOKEN_HEADER}"
lifetime = "1h"
"#
        ),
    );
    publish(&data, "production");
    let server = Server::start(
        &data,
        &[
            "--sample=false",
            "--default-channel",
            "production",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let query = query(None, "multipart/mixed");
    let response = send(&server, "/manifest", &query).await;
    let report = check_manifest_response(&query, &response, None);
    assert!(report.is_ok(), "{:?}", report.findings);
    let assets = asset_headers(&report);
    // One entry per asset key, exactly the manifest's keys.
    assert_eq!(
        report.extensions().unwrap().asset_request_headers.len(),
        assets.len()
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tokens = AssetTokens::new(SECRET, TOKEN_HEADER, Duration::from_hours(1)).unwrap();
    let mut others = assets.iter().map(|(a, _)| a.hash).cycle().skip(1);
    for (asset, headers) in &assets {
        let named = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .unwrap()
        };
        assert_eq!(named("x-cdn-key"), "edge-secret");
        let token = named(TOKEN_HEADER);
        let (expiry, signature) = token.split_once('.').unwrap();
        let expiry: u64 = expiry.parse().unwrap();
        assert!(
            (now + 3500..=now + 3700).contains(&expiry),
            "{token}: an hour from now"
        );

        // The right token: the asset, its bytes.
        let (status, error, bytes) = fetch(&asset.url, &[(TOKEN_HEADER, token)]).await;
        assert_eq!(status, 200, "{error}");
        assert_eq!(AssetHash::of(&bytes), asset.hash);

        // Hostile requests: no token, twice, garbage, a forged signature, a stretched
        // expiry, another asset's token, a genuine but expired one.
        assert_refused(
            &fetch(&asset.url, &[]).await,
            401,
            "asset_token_required",
            "none",
        );
        let other = others.next().unwrap();
        let flipped = {
            let mut bytes = signature.as_bytes().to_vec();
            bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
            format!("{expiry}.{}", String::from_utf8(bytes).unwrap())
        };
        let stretched = format!("{}.{signature}", expiry + 86_400);
        let another = tokens.token(&other, expiry);
        let expired = tokens.token(&asset.hash, now - 10);
        for (label, bad) in [
            ("garbage", "not-a-token"),
            ("empty signature", &format!("{expiry}.") as &str),
            ("forged", &flipped),
            ("stretched", &stretched),
            ("another asset", &another),
            ("expired", &expired),
            ("overlong", &"9".repeat(4000)),
        ] {
            let answer = fetch(&asset.url, &[(TOKEN_HEADER, bad)]).await;
            assert_refused(&answer, 403, "asset_token_invalid", label);
            if label == "expired" {
                let message = answer.1["error"]["message"].as_str().unwrap();
                assert!(message.contains("expired"), "{message}");
            }
        }
        let twice = client()
            .get(&asset.url)
            .header(TOKEN_HEADER, token)
            .header(TOKEN_HEADER, token)
            .send()
            .await
            .unwrap();
        assert_eq!(twice.status(), 403);
        // HEAD is an asset request too.
        let head = client().head(&asset.url).send().await.unwrap();
        assert_eq!(head.status(), 401);
    }
}

#[tokio::test]
async fn manifests_are_rebuilt_with_fresh_tokens_before_theirs_expire() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(
        dir.path(),
        &format!("[serve.asset-token]\nsecret = \"{SECRET}\"\nlifetime = \"4s\"\n"),
    );
    publish(&data, "production");
    let server = Server::start(
        &data,
        &[
            "--sample=false",
            "--default-channel",
            "production",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let query = query(None, "multipart/mixed");
    let launch_token = |response: &http::Response<Bytes>| {
        let report = check_manifest_response(&query, response, None);
        let (asset, headers) = asset_headers(&report).swap_remove(0);
        let token = headers
            .into_iter()
            .find(|(name, _)| name == "expo-asset-token")
            .unwrap()
            .1;
        (asset, token)
    };
    let (asset, first) = launch_token(&send(&server, "/manifest", &query).await);
    // The same prepared manifest within half the lifetime.
    let (_, again) = launch_token(&send(&server, "/manifest", &query).await);
    assert_eq!(again, first);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (_, renewed) = launch_token(&send(&server, "/manifest", &query).await);
    assert_ne!(renewed, first, "rebuilt after half the lifetime");
    let fresh = fetch(&asset.url, &[("expo-asset-token", &renewed)]).await;
    assert_eq!(fresh.0, 200, "{}", fresh.1);
    // Once the first token is past its expiry (at most 4s after it was issued), it is
    // refused.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let old = fetch(&asset.url, &[("expo-asset-token", &first)]).await;
    assert_refused_named(&old, "expo-asset-token");
}

fn assert_refused_named(answer: &(StatusCode, Value, Vec<u8>), header: &str) {
    assert_eq!(answer.0, 403, "{}", answer.1);
    assert_eq!(answer.1["error"]["header"], header);
    assert!(
        answer.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{}",
        answer.1
    );
}
