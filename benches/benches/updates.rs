//! Benchmarks for `expo-updates`: one manifest request turned into response
//! bytes in-process, the whole server-side job without the network:
//! `UpdateRequest::from_parts` on the headers an iOS client sends, `resolve`
//! on an in-memory source built from the real export in
//! `test-fixtures/sample-export`, and the multipart (or JSON) response
//! drained into one buffer.
//!
//! - `manifest/multipart-unsigned`, `manifest/json-unsigned`
//! - `manifest/multipart-signed`: `expo-expect-signature` with the signature
//!   already cached in the prepared update (the steady state of a server)
//! - `manifest/sign-uncached`: the same with a fresh prepared update per
//!   iteration, i.e. one RSA-2048 signature (what the cache saves)
//! - `request/from_parts`: header validation alone
//! - `asset/plan`: an asset request with `accept-encoding` and `if-none-match`
#![allow(clippy::unwrap_used, reason = "benchmark fixtures are known good")]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use expo_codesign::{Signer, SignerSet};
use expo_manifest::{ExportDir, Manifest, Platform, RuntimeVersion};
use expo_updates::{
    ContentCoding, InMemoryAsset, InMemorySource, PreparedUpdate, Resolved, Responder, Target,
    UpdateRequest, UpdateSource,
};
use http::request::Parts;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn source() -> (InMemorySource, Arc<PreparedUpdate>) {
    let export = ExportDir::open(workspace().join("test-fixtures/sample-export/dist")).unwrap();
    let app_config =
        ExportDir::load_app_config(workspace().join("test-fixtures/sample-export/app-config.json"))
            .unwrap();
    let mut extra = serde_json::Map::new();
    extra.insert("expoClient".into(), serde_json::Value::Object(app_config));
    let mut source = InMemorySource::new();
    let update = source
        .publish_export(
            &export,
            Target {
                platform: Platform::Ios,
                runtime_version: RuntimeVersion::new("1.0.0").unwrap(),
                channel: Some("production".into()),
            },
            "https://updates.example.com",
            "2026-11-20T10:00:00.000Z".parse().unwrap(),
            extra,
        )
        .unwrap();
    (source, update)
}

fn signers() -> SignerSet {
    let fixture = |name: &str| {
        std::fs::read_to_string(
            workspace()
                .join("crates/expo-codesign/tests/fixtures")
                .join(name),
        )
        .unwrap()
    };
    let (signer, _) = Signer::from_pem(
        "main",
        &fixture("expo-private-key.pem"),
        Some(&fixture("expo-certificate.pem")),
    )
    .unwrap();
    SignerSet::new(signer)
}

/// The headers expo-updates 55 on iOS sends.
fn request(accept: &str, signed: bool) -> Parts {
    let mut builder = http::Request::get("https://updates.example.com/manifest")
        .header("accept", accept)
        .header("expo-platform", "ios")
        .header("expo-protocol-version", "1")
        .header("expo-api-version", "1")
        .header("expo-updates-environment", "BARE")
        .header("expo-json-error", "true")
        .header("expo-accept-signature", "true")
        .header("expo-runtime-version", "1.0.0")
        .header("expo-channel-name", "production")
        .header("eas-client-id", "8C1F5A3E-2B7D-4E0A-9F6C-1D2E3F4A5B6C")
        .header(
            "expo-embedded-update-id",
            "5f0c6e6a-7c3e-4f8e-9a43-0f0bd54c39a1",
        )
        .header(
            "expo-current-update-id",
            "5f0c6e6a-7c3e-4f8e-9a43-0f0bd54c39a1",
        );
    if signed {
        builder = builder.header(
            "expo-expect-signature",
            "sig, keyid=\"main\", alg=\"rsa-v1_5-sha256\"",
        );
    }
    builder.body(()).unwrap().into_parts().0
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// The whole job: parse, resolve, respond, drain the body.
fn serve(responder: &Responder, source: &InMemorySource, parts: &Parts) -> bytes::Bytes {
    let request = UpdateRequest::from_parts(parts).unwrap();
    let resolved = block_on(source.resolve(&request)).unwrap();
    let response = responder.respond(&request, resolved).unwrap();
    assert_eq!(response.status(), 200);
    response.into_body().into_bytes()
}

fn manifest(c: &mut Criterion) {
    let (source, update) = source();
    let unsigned = Responder::new();
    let signed = Responder::new().with_signers(signers());
    let multipart = request(
        "multipart/mixed,application/expo+json,application/json",
        false,
    );
    let json = request("application/expo+json", false);
    let multipart_signed = request(
        "multipart/mixed,application/expo+json,application/json",
        true,
    );

    let mut group = c.benchmark_group("manifest");
    group.bench_function("multipart-unsigned", |b| {
        b.iter(|| serve(&unsigned, &source, black_box(&multipart)));
    });
    group.bench_function("json-unsigned", |b| {
        b.iter(|| serve(&unsigned, &source, black_box(&json)));
    });
    group.bench_function("multipart-signed", |b| {
        b.iter(|| serve(&signed, &source, black_box(&multipart_signed)));
    });
    let manifest = Manifest::from_json_slice(update.manifest_json()).unwrap();
    group.bench_function("sign-uncached", |b| {
        b.iter_batched(
            || {
                let mut fresh = InMemorySource::new();
                fresh.set(
                    Target {
                        platform: Platform::Ios,
                        runtime_version: manifest.runtime_version.clone(),
                        channel: Some("production".into()),
                    },
                    Resolved::Update(Arc::new(PreparedUpdate::new(&manifest, None))),
                );
                fresh
            },
            |fresh| serve(&signed, &fresh, &multipart_signed),
            BatchSize::SmallInput,
        );
    });
    group.finish();

    c.bench_function("request/from_parts", |b| {
        b.iter(|| UpdateRequest::from_parts(black_box(&multipart_signed)).unwrap());
    });
    c.bench_function("request/from_parts-unsigned", |b| {
        b.iter(|| UpdateRequest::from_parts(black_box(&multipart)).unwrap());
    });
}

fn asset(c: &mut Criterion) {
    let png = std::fs::read(
        workspace()
            .join("test-fixtures/sample-export/dist/assets/d9f444efbdfbe7931aa93beada07318a"),
    )
    .unwrap();
    let asset = InMemoryAsset::new("image/png", png.clone())
        .unwrap()
        .with_variant(ContentCoding::Gzip, png.clone())
        .with_variant(ContentCoding::Brotli, png);
    let (parts, ()) = http::Request::get("/assets/x")
        .header("accept-encoding", "br, gzip")
        .header("accept", "image/png,*/*")
        .body(())
        .unwrap()
        .into_parts();
    c.bench_function("asset/plan", |b| {
        b.iter(|| asset.respond(black_box(&parts)));
    });
}

criterion_group!(benches, manifest, asset);
criterion_main!(benches);
