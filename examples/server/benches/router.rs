//! The whole router in process (`tower::ServiceExt::oneshot` on the real `Router`, with the
//! server's state, metrics recorder and middleware), no TCP: what one request costs from the
//! moment hyper hands it over until the body is collected.
//!
//! - `manifest/multipart_signed`: a cached, signed multipart manifest (the hot path of every
//!   app launch), `manifest/json` the same update as `application/expo+json`;
//! - `asset/br_memory`: the launch asset, brotli, from the asset memory;
//! - `asset/not_modified`: the same request with a matching `if-none-match` (304).
//!
//! Each layer's cost shows here: compare a change's figures with the previous ones in
//! BENCHMARKS.md. The store is `SQLite` in a temporary directory holding the bundled sample
//! (a real SDK 55 export); nothing touches the network.
//!
//! Before the timings, each request's allocations are counted and printed (the request's
//! copy and the collection of its body included).
//!
//! ```text
//! cargo bench -p expo-update-server --bench router
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first failure"
)]

use std::alloc::System;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, criterion_group, criterion_main};
use expo_codesign::{Signer, SignerSet};
use expo_update_server::blobs::stream::StreamBudget;
use expo_update_server::blobs::{AssetUrls, BlobMemory};
use expo_update_server::data::Data;
use expo_update_server::device_reports::{Event, HealthRecorder, QUEUE_CAPACITY};
use expo_update_server::http::cache::ManifestCache;
use expo_update_server::http::listener::{Traced, traced};
use expo_update_server::http::state::{AppShared, AppState};
use expo_update_server::http::{metrics, routes};
use expo_update_server::sample::{SAMPLE_RUNTIME_VERSION, seed_if_empty};
use expo_update_server::store::DEFAULT_APP;
use expo_updates::Responder;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tower::ServiceExt as _;

/// The system allocator, counting: each request's allocations are printed before the
/// timings (the counting adds two atomic additions per allocation to them).
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Requests sent to count allocations.
const COUNTED: u32 = 1000;

/// The allocations one `request` costs, on average over [`COUNTED`] (its copy and the
/// body collection included).
fn allocations(runtime: &tokio::runtime::Runtime, app: &Traced, request: &Request<()>) -> f64 {
    let region = Region::new(GLOBAL);
    for _ in 0..COUNTED {
        runtime.block_on(send(app, copy(request)));
    }
    let allocations = u32::try_from(region.change().allocations).unwrap_or(u32::MAX);
    f64::from(allocations) / f64::from(COUNTED)
}

/// The asset memory of a default `serve` (`--asset-memory-mb 32`, at most 8 MiB an item).
const ASSET_MEMORY: u64 = 32 << 20;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/expo-codesign/tests/fixtures")
        .join(name)
}

fn manifest_request(accept: &str) -> Request<()> {
    Request::get("/manifest")
        .header("expo-protocol-version", "1")
        .header("expo-platform", "ios")
        .header("expo-runtime-version", SAMPLE_RUNTIME_VERSION)
        .header("expo-channel-name", "production")
        .header("eas-client-id", "5E8F5C7A-4B7E-4F27-9F1D-2C3B4A5D6E7F")
        .header(
            "expo-expect-signature",
            r#"sig, keyid="main", alg="rsa-v1_5-sha256""#,
        )
        .header("accept", accept)
        .body(())
        .unwrap()
}

fn asset_request(path: &str, etag: Option<&str>) -> Request<()> {
    let mut request = Request::get(path).header("accept-encoding", "br, gzip");
    if let Some(etag) = etag {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    request.body(()).unwrap()
}

/// A copy of `template`, as cheap to make as the head hyper parses: building a request
/// from strings (each header name and value copied) would cost more than the routing
/// measured.
fn copy(template: &Request<()>) -> Request<Body> {
    let mut request = Request::new(Body::empty());
    *request.method_mut() = template.method().clone();
    *request.uri_mut() = template.uri().clone();
    *request.headers_mut() = template.headers().clone();
    request
}

/// Sends `request` and collects the whole body, as a connection would.
async fn send(
    app: &Traced,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, bytes::Bytes) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(Body::new(body), usize::MAX)
        .await
        .unwrap();
    (parts.status, parts.headers, body)
}

/// Empties the device report queue every 50 ms on a thread of its own, as the flusher
/// empties it beside the connections: on the benchmark's single-threaded runtime a task
/// would never run between requests that do not wait, and every report would take the
/// queue-full path.
fn drain_like_the_flusher(mut reports: tokio::sync::mpsc::Receiver<Event>) {
    use tokio::sync::mpsc::error::TryRecvError;
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(50));
            loop {
                match reports.try_recv() {
                    Ok(_) => {}
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
        }
    });
}

/// The default app's state over `data`, signing with `signers`.
fn app_state(data: &Data, signers: SignerSet, health: HealthRecorder) -> AppState {
    AppState::new(AppShared {
        app: Arc::from(DEFAULT_APP),
        store: Arc::clone(&data.store),
        blobs: Arc::clone(&data.blobs),
        blob_memory: Arc::new(BlobMemory::new(ASSET_MEMORY, ASSET_MEMORY / 4)),
        cache: Arc::new(ManifestCache::default()),
        patches: None,
        responder: Arc::new(Responder::new().with_signers(signers.clone())),
        channel_responders: Arc::default(),
        asset_headers: Arc::default(),
        signers: Some(Arc::new(signers)),
        public_url: "https://updates.example.com".parse().unwrap(),
        asset_urls: AssetUrls::Server,
        trust_proxy: false,
        default_channel: "production".into(),
        admin_token_digest: None,
        forwarded_hosts: Arc::default(),
        streams: Arc::new(StreamBudget::new(64 << 20)),
        // What a download records (the request names its install) is queued and drained,
        // as the flusher does.
        health,
        auto_rollback: None,
    })
}

fn router_in_process(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = runtime.block_on(Data::open(dir.path())).unwrap();
    runtime
        .block_on(seed_if_empty(
            data.store.as_ref(),
            Arc::clone(&data.blobs),
            "production",
        ))
        .unwrap();
    let key = std::fs::read_to_string(fixture("expo-private-key.pem")).unwrap();
    let cert = std::fs::read_to_string(fixture("expo-certificate.pem")).unwrap();
    let (signer, _) = Signer::from_pem("main", &key, Some(&cert)).unwrap();
    let signers = SignerSet::new(signer);
    // The server's recorder, so metric updates cost what they cost in production.
    assert!(metrics::install());
    let (health, reports) = HealthRecorder::new(QUEUE_CAPACITY);
    drain_like_the_flusher(reports);
    let state = app_state(&data, signers, health);
    // What a connection calls: the router inside the request log.
    let app = traced(routes(state, Vec::new(), None));

    // Warm the manifest cache and the asset memory; find the launch asset's path and ETag.
    let (status, _, body) =
        runtime.block_on(send(&app, copy(&manifest_request("application/expo+json"))));
    assert_eq!(status, StatusCode::OK);
    let manifest: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let url = manifest["launchAsset"]["url"].as_str().unwrap();
    let path = url
        .strip_prefix("https://updates.example.com")
        .unwrap()
        .to_owned();
    let (status, headers, _) = runtime.block_on(send(&app, copy(&asset_request(&path, None))));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "br");
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    let (status, _, _) = runtime.block_on(send(&app, copy(&asset_request(&path, Some(&etag)))));
    assert_eq!(status, StatusCode::NOT_MODIFIED);

    for (name, request) in [
        (
            "manifest/multipart_signed",
            manifest_request("multipart/mixed"),
        ),
        (
            "manifest/json_signed",
            manifest_request("application/expo+json"),
        ),
        ("asset/br_memory", asset_request(&path, None)),
        ("asset/not_modified", asset_request(&path, Some(&etag))),
    ] {
        let per_request = allocations(&runtime, &app, &request);
        println!("router/{name}: {per_request:.1} allocations per request");
    }

    let mut group = c.benchmark_group("router");
    for (name, accept) in [
        ("manifest/multipart_signed", "multipart/mixed"),
        ("manifest/json_signed", "application/expo+json"),
    ] {
        let request = manifest_request(accept);
        group.bench_function(name, |b| {
            b.iter(|| {
                let (status, _, body) = runtime.block_on(send(&app, copy(&request)));
                assert_eq!(status, StatusCode::OK);
                body
            });
        });
    }
    let request = asset_request(&path, None);
    group.bench_function("asset/br_memory", |b| {
        b.iter(|| {
            let (status, _, body) = runtime.block_on(send(&app, copy(&request)));
            assert_eq!(status, StatusCode::OK);
            body
        });
    });
    let request = asset_request(&path, Some(&etag));
    group.bench_function("asset/not_modified", |b| {
        b.iter(|| {
            let (status, ..) = runtime.block_on(send(&app, copy(&request)));
            assert_eq!(status, StatusCode::NOT_MODIFIED);
        });
    });
    group.finish();
}

criterion_group!(benches, router_in_process);
criterion_main!(benches);
