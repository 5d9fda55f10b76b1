//! The ready-made axum router: manifest and asset routes over one source.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use expo_manifest::{AssetHash, ExportDir, Manifest, Platform, RuntimeVersion};
use expo_updates::{InMemorySource, Responder, Target, service::router};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

fn app() -> axum::Router {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-fixtures/sample-export/dist");
    let mut source = InMemorySource::new();
    source
        .publish_export(
            &ExportDir::open(root).unwrap(),
            Target {
                platform: Platform::Android,
                runtime_version: RuntimeVersion::new("1.0.0").unwrap(),
                channel: None,
            },
            "http://localhost",
            "2026-11-20T10:00:00.000Z".parse().unwrap(),
            serde_json::Map::new(),
        )
        .unwrap();
    let source = Arc::new(source);
    router(source.clone(), source, Responder::new())
}

async fn send(request: http::Request<Body>) -> (http::response::Parts, bytes::Bytes) {
    let response = app().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts, body.collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn manifest_then_every_asset() {
    let request = http::Request::get("/manifest")
        .header("expo-protocol-version", "1")
        .header("expo-platform", "android")
        .header("expo-runtime-version", "1.0.0")
        .header("accept", "application/expo+json")
        .body(Body::empty())
        .unwrap();
    let (parts, body) = send(request).await;
    assert_eq!(parts.status, 200);
    let manifest = Manifest::from_json_slice(&body).unwrap();
    for asset in manifest.all_assets() {
        let path = asset.url.strip_prefix("http://localhost").unwrap();
        let (parts, body) = send(http::Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(parts.status, 200, "{path}");
        assert_eq!(AssetHash::of(&body), asset.hash);
        assert_eq!(parts.headers["content-type"], asset.content_type.as_str());
    }
}

#[tokio::test]
async fn errors_are_json() {
    let (parts, _) = send(http::Request::get("/manifest").body(Body::empty()).unwrap()).await;
    assert_eq!(parts.status, 400);
    let missing = format!("/assets/{}", AssetHash::of(b"nothing"));
    let (parts, body) = send(http::Request::get(missing).body(Body::empty()).unwrap()).await;
    assert_eq!(parts.status, 404);
    assert!(body.starts_with(b"{\"error\""));
    let (parts, _) = send(
        http::Request::get("/assets/not-a-hash")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(parts.status, 404);
    let (parts, _) = send(
        http::Request::delete("/manifest")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(parts.status, 405);
}
