//! Launch-asset patches on the real server: built in the background after a publish (from
//! any process), served as `226 IM Used` only to requests that ask for them and can use
//! them, applied with the real `bspatch`.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(
    clippy::too_many_lines,
    reason = "a scenario reads best as one function"
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Backend, Server, hex_of_manifest_hash, run_json, sha256_hex};
use rand::RngCore as _;
use reqwest::StatusCode;

/// How long a patch may take to appear (a debug build diffs a 1.7 MB bundle in seconds).
const PATCH_DEADLINE: Duration = Duration::from_mins(3);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-fixtures")
        .join(name)
}

/// Publishes `dist` for Android on channel `production`; returns the update's id.
fn publish(backend: &Backend, data: &Path, dist: &Path, app_config: &Path) -> String {
    let published = run_json(
        backend
            .bin(data)
            .arg("publish")
            .arg(dist)
            .args(["--channel", "production", "--platform", "android"])
            .arg("--app-config")
            .arg(app_config),
    );
    published[0]["id"].as_str().unwrap().to_owned()
}

/// The launch asset (hex) of an update.
fn launch_asset(backend: &Backend, data: &Path, id: &str) -> String {
    let shown = run_json(backend.bin(data).args(["show", id]));
    hex_of_manifest_hash(shown["launch_asset"]["hash"].as_str().unwrap())
}

/// `GET /assets/{hash}` with the patch request headers an SDK 55+ client sends.
async fn get_patch(
    server: &Server,
    hash: &str,
    current: &str,
    requested: Option<&str>,
) -> reqwest::Response {
    let mut request = client()
        .get(server.url(&format!("/assets/{hash}")))
        .header("a-im", "bsdiff")
        .header("expo-current-update-id", current);
    if let Some(requested) = requested {
        request = request.header("expo-requested-update-id", requested);
    }
    request.send().await.unwrap()
}

/// Asks until the server answers with a patch; panics after [`PATCH_DEADLINE`].
async fn wait_for_patch(
    server: &Server,
    hash: &str,
    current: &str,
    requested: &str,
) -> reqwest::Response {
    let started = Instant::now();
    loop {
        let response = get_patch(server, hash, current, Some(requested)).await;
        if response.status() == StatusCode::IM_USED {
            return response;
        }
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            started.elapsed() < PATCH_DEADLINE,
            "no patch to {hash} from {current} within {PATCH_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The full asset: the normal `200` (identity, since no `accept-encoding` is sent).
async fn expect_full(response: reqwest::Response, hash: &str, why: &str) {
    assert_eq!(response.status(), StatusCode::OK, "{why}");
    assert!(response.headers().get("im").is_none(), "{why}");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable",
        "{why}"
    );
    let body = response.bytes().await.unwrap();
    assert_eq!(sha256_hex(&body), hash, "{why}");
}

async fn asset(server: &Server, hash: &str) -> Vec<u8> {
    let response = client()
        .get(server.url(&format!("/assets/{hash}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.unwrap().to_vec()
}

/// The value of one counter line of the Prometheus text, 0 when absent.
fn counter(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

/// `bspatch OLD NEW PATCH`: the bytes it writes; `None` (after a loud SKIPPED line) when
/// the command is missing outside CI.
fn bspatch(old: &[u8], patch: &[u8]) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let (old_path, new_path, patch_path) = (
        dir.path().join("old"),
        dir.path().join("new"),
        dir.path().join("patch"),
    );
    std::fs::write(&old_path, old).unwrap();
    std::fs::write(&patch_path, patch).unwrap();
    match std::process::Command::new("bspatch")
        .arg(&old_path)
        .arg(&new_path)
        .arg(&patch_path)
        .output()
    {
        Ok(output) => {
            assert!(
                output.status.success(),
                "bspatch failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            Some(std::fs::read(&new_path).unwrap())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "bspatch is missing and CI=true: run scripts/install-test-deps.sh"
            );
            eprintln!(
                "SKIPPED: bspatch is missing (apt package bsdiff), patches checked with \
                 expo-patch only"
            );
            None
        }
        Err(e) => panic!("bspatch: {e}"),
    }
}

on_every_backend!(async real_one_line_change);

async fn real_one_line_change(backend: &Backend) {
    let data = tempfile::tempdir().unwrap();
    let app_config = fixture("sample-export/app-config.json");
    let server = backend.server(data.path(), &["--sample=false"]);

    // Published by another process while the server runs, as a CI pipeline would.
    let v1 = publish(
        backend,
        data.path(),
        &fixture("sample-export/dist"),
        &app_config,
    );
    let v2 = publish(
        backend,
        data.path(),
        &fixture("sample-export-v2/dist"),
        &app_config,
    );
    let (v1_hash, v2_hash) = (
        launch_asset(backend, data.path(), &v1),
        launch_asset(backend, data.path(), &v2),
    );
    assert_ne!(v1_hash, v2_hash);
    let v1_bundle = asset(&server, &v1_hash).await;
    let v2_bundle = asset(&server, &v2_hash).await;

    let response = wait_for_patch(&server, &v2_hash, &v1, &v2).await;
    let headers = response.headers().clone();
    assert_eq!(headers["im"], "bsdiff");
    assert_eq!(headers["expo-base-update-id"], v1.as_str());
    assert_eq!(headers["cache-control"], "private, no-store");
    assert_eq!(headers["content-type"], "application/octet-stream");
    let patch = response.bytes().await.unwrap();
    assert_eq!(headers["content-length"], patch.len().to_string().as_str());
    assert!(patch.starts_with(b"BSDIFF40"));
    assert!(
        patch.len() * 50 < v2_bundle.len(),
        "a one-line change: {} byte patch of a {} byte bundle",
        patch.len(),
        v2_bundle.len()
    );
    let limits = expo_patch::Limits::default();
    assert_eq!(
        sha256_hex(&expo_patch::apply(&v1_bundle, &patch, &limits).unwrap()),
        v2_hash
    );
    if let Some(patched) = bspatch(&v1_bundle, &patch) {
        assert_eq!(sha256_hex(&patched), v2_hash, "bspatch output");
    }
    // The patch bytes are a content-addressed blob of the configured store.
    assert!(
        backend
            .blob_names(data.path())
            .contains(&sha256_hex(&patch)),
        "patch blob stored"
    );

    // Without the requested id the asset itself says which update is wanted.
    let response = get_patch(&server, &v2_hash, &v1, None).await;
    assert_eq!(response.status(), StatusCode::IM_USED);
    assert_eq!(response.bytes().await.unwrap(), patch);

    // Everything else gets the full bundle.
    let plain = client()
        .get(server.url(&format!("/assets/{v2_hash}")))
        .send()
        .await
        .unwrap();
    expect_full(plain, &v2_hash, "no a-im").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    expect_full(
        get_patch(&server, &v2_hash, &unknown, Some(&v2)).await,
        &v2_hash,
        "unknown base",
    )
    .await;
    expect_full(
        get_patch(&server, &v2_hash, &v1, Some(&unknown)).await,
        &v2_hash,
        "requested another update",
    )
    .await;
    expect_full(
        get_patch(&server, &v2_hash, &v1, Some(&v1)).await,
        &v2_hash,
        "requested the update whose bundle is not this asset",
    )
    .await;
    expect_full(
        get_patch(&server, &v2_hash, &v2, Some(&v2)).await,
        &v2_hash,
        "already runs it",
    )
    .await;
    expect_full(
        get_patch(&server, &v1_hash, &v2, None).await,
        &v1_hash,
        "no patch from v2 to v1 (yet)",
    )
    .await;
    let refused = client()
        .get(server.url(&format!("/assets/{v2_hash}")))
        .header("a-im", "bsdiff;q=0")
        .header("expo-current-update-id", &v1)
        .send()
        .await
        .unwrap();
    expect_full(refused, &v2_hash, "a-im refuses bsdiff").await;
    let resumed = client()
        .get(server.url(&format!("/assets/{v2_hash}")))
        .header("a-im", "bsdiff")
        .header("expo-current-update-id", &v1)
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), StatusCode::PARTIAL_CONTENT, "a range");
    assert_eq!(resumed.bytes().await.unwrap(), v2_bundle[..10]);

    // A rollback (a republish of v1) is an update too: it gets a patch from v2.
    let v3 = run_json(backend.bin(data.path()).args(["republish", &v1]))[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let back = wait_for_patch(&server, &v1_hash, &v2, &v3).await;
    let back = back.bytes().await.unwrap();
    assert_eq!(
        sha256_hex(&expo_patch::apply(&v2_bundle, &back, &limits).unwrap()),
        v1_hash
    );

    let text = server.metrics_text().await;
    assert_eq!(
        counter(&text, "expo_patch_builds_total{outcome=\"stored\"}"),
        2,
        "{text}"
    );
    assert!(counter(&text, "expo_patch_requests_total{result=\"patch\"}") >= 3);
    assert!(counter(&text, "expo_patch_requests_total{result=\"full\"}") >= 6);

    // Another server on the same stores (a replica, a restart) serves the recorded patches
    // without building them again.
    drop(server);
    let replica = backend.server(data.path(), &["--sample=false"]);
    let response = get_patch(&replica, &v2_hash, &v1, Some(&v2)).await;
    assert_eq!(response.status(), StatusCode::IM_USED);
    assert_eq!(response.bytes().await.unwrap(), patch);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let text = replica.metrics_text().await;
    assert_eq!(
        counter(&text, "expo_patch_builds_total{outcome=\"stored\"}"),
        0
    );
    drop(replica);

    // With patches off, the full bundle.
    let off = backend.server(data.path(), &["--sample=false", "--no-patches"]);
    expect_full(
        get_patch(&off, &v2_hash, &v1, Some(&v2)).await,
        &v2_hash,
        "--no-patches",
    )
    .await;
}

/// A synthetic export whose bundles are `size` random bytes: unrelated to any other.
fn random_export(dir: &Path, size: usize) -> PathBuf {
    let dist = common::synthetic_export(dir, 1000, "1.0.0");
    let mut bytes = vec![0; size];
    for platform in ["ios", "android"] {
        rand::rng().fill_bytes(&mut bytes);
        std::fs::write(
            dist.join(format!("_expo/static/js/{platform}/entry-{platform}.hbc")),
            &bytes,
        )
        .unwrap();
    }
    dist
}

on_every_backend!(async unrelated_bundles_get_no_patch);

async fn unrelated_bundles_get_no_patch(backend: &Backend) {
    let data = tempfile::tempdir().unwrap();
    let server = backend.server(data.path(), &["--sample=false"]);
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let v1 = publish(
        backend,
        data.path(),
        &random_export(first.path(), 200_000),
        &first.path().join("app-config.json"),
    );
    let v2 = publish(
        backend,
        data.path(),
        &random_export(second.path(), 200_000),
        &second.path().join("app-config.json"),
    );
    let v2_hash = launch_asset(backend, data.path(), &v2);
    let blobs_before = backend.blob_names(data.path());

    let started = Instant::now();
    loop {
        let text = server.metrics_text().await;
        if counter(
            &text,
            "expo_patch_builds_total{outcome=\"not_worth_serving\"}",
        ) == 1
        {
            assert_eq!(
                counter(&text, "expo_patch_builds_total{outcome=\"stored\"}"),
                0
            );
            break;
        }
        assert!(
            started.elapsed() < PATCH_DEADLINE,
            "no build recorded: {text}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    expect_full(
        get_patch(&server, &v2_hash, &v1, Some(&v2)).await,
        &v2_hash,
        "patch as large as the bundle",
    )
    .await;
    assert_eq!(
        backend.blob_names(data.path()),
        blobs_before,
        "no patch bytes stored"
    );
}
