//! The asset behaviour suite (`expo_updates::asset_suite`) against this
//! crate's asset route (`service::router`) over its two sources: assets in
//! memory and assets in files with `.br` / `.gz` siblings. The server runs
//! the same suite against its blob stores (examples/server/tests/assets.rs).
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use expo_manifest::{AssetHash, UpdateId};
use expo_updates::asset_suite::{self, SuiteAsset, Transport};
use expo_updates::{
    AssetBody, AssetPatch, AssetSource, ContentCoding, FileAsset, FileSource, InMemoryAsset,
    InMemorySource, Responder, SourceError, service,
};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

/// Requests straight into a router, bodies collected.
struct Router(axum::Router);

impl Transport for Router {
    async fn send(&self, request: http::Request<()>) -> Result<http::Response<Bytes>, String> {
        let response = self
            .0
            .clone()
            .oneshot(request.map(|()| Body::empty()))
            .await
            .map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(http::Response::from_parts(parts, body))
    }
}

fn router<A: AssetSource + 'static>(assets: A) -> Router {
    Router(service::router(
        Arc::new(InMemorySource::new()),
        Arc::new(assets),
        Responder::new(),
    ))
}

/// The variants a publisher keeps: those smaller than the asset.
fn variants(asset: &SuiteAsset) -> Vec<(ContentCoding, Vec<u8>)> {
    [
        (ContentCoding::Brotli, asset.brotli()),
        (ContentCoding::Gzip, asset.gzip()),
    ]
    .into_iter()
    .filter(|(_, bytes)| bytes.len() < asset.bytes.len())
    .collect()
}

async fn assert_passes(transport: &impl Transport) {
    let report = asset_suite::run(transport, &asset_suite::assets(), &[]).await;
    assert!(report.failures.is_empty(), "{report}");
    assert!(report.checks > 500, "{report}");
}

#[tokio::test]
async fn assets_in_memory() {
    let mut source = InMemorySource::new();
    for asset in asset_suite::assets() {
        let mut stored = InMemoryAsset::new(asset.content_type, asset.bytes.clone()).unwrap();
        for (coding, bytes) in variants(&asset) {
            stored = stored.with_variant(coding, bytes);
        }
        source.add_asset(stored);
    }
    assert_passes(&router(source)).await;
}

#[tokio::test]
async fn assets_in_files() {
    let dir = tempfile_dir("files");
    let mut source = FileSource::new();
    for asset in asset_suite::assets() {
        let path = dir.join(format!("{}.{}", asset.name, asset.extension));
        std::fs::write(&path, &asset.bytes).unwrap();
        for (coding, bytes) in variants(&asset) {
            let suffix = if coding == ContentCoding::Brotli {
                "br"
            } else {
                "gz"
            };
            std::fs::write(format!("{}.{suffix}", path.display()), bytes).unwrap();
        }
        source.add(FileAsset::open(&path, asset.hash(), asset.content_type).unwrap());
    }
    assert_passes(&router(source)).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A suite that cannot fail catches nothing: a source whose brotli bytes are
/// another asset's must be caught.
#[tokio::test]
async fn the_suite_catches_wrong_variant_bytes() {
    let assets = asset_suite::assets();
    let mut source = InMemorySource::new();
    for asset in &assets {
        let wrong = assets
            .iter()
            .find(|a| a.name != asset.name)
            .unwrap()
            .brotli();
        source.add_asset(
            InMemoryAsset::new(asset.content_type, asset.bytes.clone())
                .unwrap()
                .with_variant(ContentCoding::Brotli, wrong)
                .with_variant(ContentCoding::Gzip, asset.gzip()),
        );
    }
    let report = asset_suite::run(&router(source), &assets, &[]).await;
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.contains("does not hash to the asset")),
        "{report}"
    );
}

/// A source holding one patch: from `BASE`'s launch asset to the bundle.
struct Patched {
    assets: InMemorySource,
    bundle: AssetHash,
    patch: Bytes,
}

const BASE: &str = "0754dad0-d200-d634-113c-ef1f26106028";

impl AssetSource for Patched {
    type Asset = Arc<InMemoryAsset>;

    async fn asset(&self, hash: &AssetHash) -> Result<Option<Arc<InMemoryAsset>>, SourceError> {
        self.assets.asset(hash).await
    }

    async fn patch(
        &self,
        hash: &AssetHash,
        request: &expo_patch::PatchRequest,
    ) -> Option<AssetPatch> {
        let base: UpdateId = BASE.parse().unwrap();
        (*hash == self.bundle && request.current() == base).then(|| {
            AssetPatch::new(
                base,
                self.patch.len() as u64,
                AssetBody::full(self.patch.clone()),
            )
        })
    }
}

#[tokio::test]
async fn patches_are_226_only_when_asked_for_and_held() {
    let bundle = &asset_suite::assets()[0];
    let mut assets = InMemorySource::new();
    assets.add_asset(InMemoryAsset::new(bundle.content_type, bundle.bytes.clone()).unwrap());
    let source = Patched {
        assets,
        bundle: bundle.hash(),
        patch: Bytes::from_static(b"BSDIFF40 not really"),
    };
    let app = router(source);
    let get = |headers: &[(&str, &str)]| {
        let mut request = http::Request::get(format!("/assets/{}", bundle.hash()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        app.send(request.body(()).unwrap())
    };
    let patched = get(&[("a-im", "bsdiff"), ("expo-current-update-id", BASE)])
        .await
        .unwrap();
    assert_eq!(patched.status(), 226);
    assert_eq!(patched.headers()["im"], "bsdiff");
    assert_eq!(patched.headers()["expo-base-update-id"], BASE);
    assert_eq!(patched.headers()["cache-control"], "private, no-store");
    assert_eq!(patched.body().as_ref(), b"BSDIFF40 not really");

    for (why, headers) in [
        ("no a-im", vec![("expo-current-update-id", BASE)]),
        (
            "bsdiff refused",
            vec![("a-im", "bsdiff;q=0"), ("expo-current-update-id", BASE)],
        ),
        (
            "another base",
            vec![
                ("a-im", "bsdiff"),
                (
                    "expo-current-update-id",
                    "9a1c3bd9-6f56-4e0b-8a0e-0b3e44a3c1f2",
                ),
            ],
        ),
        (
            "a range (resuming the full download)",
            vec![
                ("a-im", "bsdiff"),
                ("expo-current-update-id", BASE),
                ("range", "bytes=0-9"),
            ],
        ),
        (
            "a forged base",
            vec![("a-im", "bsdiff"), ("expo-current-update-id", "not-a-uuid")],
        ),
    ] {
        let response = get(&headers).await.unwrap();
        assert!(
            response.status() == 200 || response.status() == 206,
            "{why}: {}",
            response.status()
        );
        assert!(response.headers().get("im").is_none(), "{why}");
    }
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "expo-updates-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
