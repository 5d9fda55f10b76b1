//! The asset behaviour suite shared with the protocol crate
//! (`expo_updates::asset_suite`, also run against the crate's memory and file sources in
//! crates/expo-updates/tests/asset_suite.rs) against the real server: its assets published
//! with `publish`, served from the asset memory and streamed from the blob store (local
//! disk, and S3 when `EXPO_TEST_S3_ENDPOINT` is set).
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use common::{Backend, run_ok};
use expo_updates::asset_suite::{self, SuiteAsset, Transport};

/// Requests over loopback HTTP; bodies as received (reqwest decodes nothing here).
struct Loopback {
    base: String,
    http: reqwest::Client,
}

impl Transport for Loopback {
    async fn send(&self, request: http::Request<()>) -> Result<http::Response<Bytes>, String> {
        let (parts, ()) = request.into_parts();
        let response = self
            .http
            .request(parts.method, format!("{}{}", self.base, parts.uri))
            .headers(parts.headers)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = http::Response::builder().status(response.status());
        if let Some(headers) = answer.headers_mut() {
            headers.extend(response.headers().clone());
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        answer.body(body).map_err(|e| e.to_string())
    }
}

/// An `expo export` output whose iOS update holds the suite's assets (the bundle as its
/// launch asset), with its app config beside it.
fn export_of(dir: &Path, assets: &[SuiteAsset]) -> PathBuf {
    let dist = dir.join("dist");
    let mut bundle = None;
    let mut listed = Vec::new();
    for asset in assets {
        let relative = if asset.extension == "hbc" {
            let path = "_expo/static/js/ios/entry.hbc".to_owned();
            bundle = Some(path.clone());
            path
        } else {
            let path = format!("assets/{}", &asset.hash().to_hex()[..32]);
            listed.push(format!(
                r#"{{"path":"{path}","ext":"{}"}}"#,
                asset.extension
            ));
            path
        };
        let path = dist.join(&relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &asset.bytes).unwrap();
    }
    let metadata = format!(
        r#"{{"version":0,"bundler":"metro","fileMetadata":{{"ios":{{"bundle":"{}","assets":[{}]}}}}}}"#,
        bundle.unwrap(),
        listed.join(",")
    );
    std::fs::write(dist.join("metadata.json"), metadata).unwrap();
    std::fs::write(
        dir.join("app-config.json"),
        r#"{"name":"Suite","slug":"suite","runtimeVersion":"1.0.0"}"#,
    )
    .unwrap();
    dist
}

/// Publishes the suite's assets on `backend`, then runs the suite against a server started
/// with `args`.
async fn suite_on(backend: &Backend, args: &[&str]) {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let assets = asset_suite::assets();
    let dist = export_of(work.path(), &assets);
    run_ok(
        backend
            .bin(&data)
            .arg("publish")
            .arg(&dist)
            .args(["--channel", "production"]),
    );
    let server = backend.server(&data, args);
    let transport = Loopback {
        base: server.base.clone(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    };
    let report = asset_suite::run(
        &transport,
        &assets,
        &[
            ("content-security-policy", "default-src 'none'; sandbox"),
            ("x-content-type-options", "nosniff"),
        ],
    )
    .await;
    assert!(report.failures.is_empty(), "{report}");
    assert!(report.checks > 500, "{report}");
}

on_every_backend!(async from_the_asset_memory);

/// Every asset small enough for the asset memory: answered from one shared copy.
async fn from_the_asset_memory(backend: &Backend) {
    suite_on(backend, &["--sample=false"]).await;
}

on_every_backend!(async streamed_from_the_blob_store);

/// The asset memory off: every answer streams from the blob store (ranged reads of files,
/// ranged GETs on S3).
async fn streamed_from_the_blob_store(backend: &Backend) {
    suite_on(backend, &["--sample=false", "--asset-memory-mb", "0"]).await;
}
