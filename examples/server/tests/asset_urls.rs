//! Where manifests send clients for asset bytes (`--asset-urls server|presigned|cdn`), on the
//! real server: every URL of a manifest downloads the bytes of its hash.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use std::time::{Duration, Instant};

use common::{Backend, Server, decode, hex_of_manifest_hash, sha256_hex};
use reqwest::StatusCode;
use serde_json::Value;

/// When a manifest with 10 s presigned URLs is signed again: half their expiry.
const RENEWAL: Duration = Duration::from_secs(5);

/// The runtime version of the sample update published into an empty store.
const SAMPLE_RUNTIME_VERSION: &str = "0.0.0-sample";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The sample's iOS manifest, as JSON.
async fn manifest(server: &Server) -> Value {
    let response = client()
        .get(server.url("/manifest"))
        .header("expo-protocol-version", "1")
        .header("expo-platform", "ios")
        .header("expo-runtime-version", SAMPLE_RUNTIME_VERSION)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// `(hex hash, url)` of every asset of a manifest, launch asset first.
fn assets(manifest: &Value) -> Vec<(String, String)> {
    std::iter::once(&manifest["launchAsset"])
        .chain(manifest["assets"].as_array().unwrap())
        .map(|asset| {
            (
                hex_of_manifest_hash(asset["hash"].as_str().unwrap()),
                asset["url"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Downloads `url` and checks its bytes hash to `hex`.
async fn assert_serves(url: &str, hex: &str) {
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    let encoding = response
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.bytes().await.unwrap();
    assert_eq!(
        sha256_hex(&decode(encoding.as_deref(), &body)),
        hex,
        "{url}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn server_urls_point_at_this_server() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--asset-urls", "server"]);
    let assets = assets(&manifest(&server).await);
    assert_eq!(assets.len(), 3, "a bundle and two PNGs: {assets:?}");
    for (hex, url) in &assets {
        assert_eq!(*url, server.url(&format!("/assets/{hex}")));
        assert_serves(url, hex).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cdn_urls_name_the_hash_under_the_cdn() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(
        data.path(),
        &["--cdn-base-url", "https://cdn.example.com/expo/blobs/"],
    );
    let assets = assets(&manifest(&server).await);
    assert_eq!(assets.len(), 3);
    for (hex, url) in &assets {
        assert_eq!(*url, format!("https://cdn.example.com/expo/blobs/{hex}"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn presigned_urls_download_from_the_bucket_and_are_renewed() {
    let Some(backend) = Backend::s3() else { return };
    let data = tempfile::tempdir().unwrap();
    let server = backend.server(
        data.path(),
        &["--asset-urls", "presigned", "--presign-expiry", "10s"],
    );
    let started = Instant::now();
    let first = manifest(&server).await;
    let signed = assets(&first);
    assert_eq!(signed.len(), 3);
    let endpoint = backend.bucket.as_ref().unwrap().endpoint.as_str();
    for (hex, url) in &signed {
        assert!(
            url.starts_with(endpoint) && url.contains(hex.as_str()),
            "not an object of the bucket: {url}"
        );
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(url.contains("X-Amz-Expires=10&"), "{url}");
        // Straight from the S3 server, never through this one.
        assert_serves(url, hex).await;
    }
    // Served from the cache while the URLs are fresh: the same signed URLs.
    let second = manifest(&server).await;
    if started.elapsed() < RENEWAL {
        assert_eq!(second, first);
    }

    // Past half the expiry the manifest is signed again, and its URLs work.
    tokio::time::sleep(RENEWAL.saturating_sub(started.elapsed()) + Duration::from_millis(500))
        .await;
    let renewed = manifest(&server).await;
    assert_eq!(renewed["id"], first["id"]);
    assert_ne!(
        renewed, first,
        "URLs past half their expiry were served again"
    );
    for (hex, url) in &assets(&renewed) {
        assert_serves(url, hex).await;
    }
}

#[test]
fn presigned_urls_need_s3_storage() {
    let data = tempfile::tempdir().unwrap();
    let output = common::bin(data.path())
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--asset-urls",
            "presigned",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("--asset-urls presigned needs --storage s3://bucket/prefix"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
