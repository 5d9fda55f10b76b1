//! The client-side checker against this crate's own answers (clean) and
//! against broken ones (each flaw found, all of them listed).
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use expo_codesign::{Signer, SignerSet, Verifier};
use expo_manifest::{AssetHash, ExportDir, Platform, RuntimeVersion};
use expo_updates::client::{
    ManifestAnswer, ManifestQuery, Severity, asset_request, check_asset_response,
    check_manifest_response,
};
use expo_updates::{InMemorySource, Responder, Target};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn key(name: &str) -> String {
    std::fs::read_to_string(
        workspace()
            .join("crates/expo-codesign/tests/fixtures")
            .join(name),
    )
    .unwrap()
}

fn source() -> Arc<InMemorySource> {
    let export = ExportDir::open(workspace().join("test-fixtures/sample-export/dist")).unwrap();
    let app_config =
        ExportDir::load_app_config(workspace().join("test-fixtures/sample-export/app-config.json"))
            .unwrap();
    let mut extra = serde_json::Map::new();
    extra.insert("expoClient".into(), app_config.into());
    let mut source = InMemorySource::new();
    source
        .publish_export(
            &export,
            Target {
                platform: Platform::Ios,
                runtime_version: RuntimeVersion::new("1.0.0").unwrap(),
                channel: None,
            },
            "https://updates.example.com",
            "2026-11-20T10:00:00.000Z".parse().unwrap(),
            extra,
        )
        .unwrap();
    Arc::new(source)
}

fn responder() -> Responder {
    let (signer, _) = Signer::from_pem(
        "main",
        &key("expo-private-key.pem"),
        Some(&key("expo-certificate.pem")),
    )
    .unwrap();
    Responder::new().with_signers(SignerSet::new(signer))
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

fn serve(source: &InMemorySource, request: http::Request<()>) -> http::Response<Bytes> {
    let (parts, ()) = request.into_parts();
    block_on(responder().handle(source, &parts)).map(expo_updates::UpdateBody::into_bytes)
}

fn query(accept: &str) -> ManifestQuery {
    let mut query = ManifestQuery::new(Platform::Ios, RuntimeVersion::new("1.0.0").unwrap());
    query.expect_signature = Some("main".into());
    query.accept = accept.into();
    query
}

fn verifier() -> Verifier {
    Verifier::from_certificate_pem(&key("expo-certificate.pem")).unwrap()
}

#[test]
fn own_answers_are_clean_and_assets_hash_right() {
    let source = source();
    for accept in ["multipart/mixed", "application/expo+json"] {
        let query = query(accept);
        let response = serve(
            &source,
            query
                .to_request("https://updates.example.com/manifest")
                .unwrap(),
        );
        let report = check_manifest_response(&query, &response, Some(&verifier()));
        assert!(report.is_ok(), "{accept}: {:?}", report.findings);
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.severity < Severity::Warning),
            "{:?}",
            report.findings
        );
        let manifest = report.manifest().unwrap();
        for asset in manifest.all_assets() {
            let request = asset_request(asset, report.extensions()).unwrap();
            let hash: AssetHash = request
                .uri()
                .path()
                .rsplit('/')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let (parts, ()) = request.into_parts();
            let response = source.lookup_asset(&hash).unwrap().respond(&parts);
            let findings = check_asset_response(asset, &response);
            assert!(findings.is_empty(), "{findings:?}");
        }
    }
}

#[test]
fn directive_answer_is_read() {
    let source = source();
    let mut query = query("multipart/mixed");
    let first = serve(&source, query.to_request("/manifest").unwrap());
    let report = check_manifest_response(&query, &first, Some(&verifier()));
    query.current_update_id = Some(report.manifest().unwrap().id);
    let second = serve(&source, query.to_request("/manifest").unwrap());
    let report = check_manifest_response(&query, &second, Some(&verifier()));
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(
        report.answer,
        Some(ManifestAnswer::Directive(
            expo_manifest::Directive::NoUpdateAvailable
        ))
    );
}

fn errors(report: &expo_updates::client::ManifestReport) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.message.clone())
        .collect()
}

#[test]
fn every_flaw_of_a_broken_answer_is_listed() {
    let source = source();
    let query = query("multipart/mixed");
    let good = serve(&source, query.to_request("/manifest").unwrap());
    // Drop the common headers, spell the signature header in capitals, and cut the final CRLF.
    let (mut parts, body) = good.into_parts();
    parts.headers.remove("expo-protocol-version");
    parts.headers.remove("expo-sfv-version");
    let mut bytes = body.to_vec();
    let at = bytes
        .windows(16)
        .position(|w| w == b"\r\nexpo-signature")
        .unwrap();
    bytes[at + 2..at + 16].copy_from_slice(b"Expo-Signature");
    bytes.truncate(bytes.len() - 2);
    let broken = http::Response::from_parts(parts, Bytes::from(bytes));
    let report = check_manifest_response(&query, &broken, Some(&verifier()));
    let errors = errors(&report);
    assert!(
        errors.iter().any(|e| e.contains("expo-protocol-version")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("expo-sfv-version")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("lower case")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("CRLF")), "{errors:?}");
}

#[test]
fn tampered_manifest_fails_verification() {
    let source = source();
    let query = query("application/expo+json");
    let good = serve(&source, query.to_request("/manifest").unwrap());
    let (parts, body) = good.into_parts();
    let tampered = String::from_utf8(body.to_vec())
        .unwrap()
        .replacen("1.0.0", "1.0.0 ", 1);
    let report = check_manifest_response(
        &query,
        &http::Response::from_parts(parts, Bytes::from(tampered)),
        Some(&verifier()),
    );
    let errors = errors(&report);
    assert!(
        errors.iter().any(|e| e.contains("does not verify")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("runtime version")),
        "{errors:?}"
    );
}

#[test]
fn unsigned_answer_to_a_signed_query_is_an_error() {
    let source = source();
    let query = query("application/expo+json");
    let mut unsigned_query = query.clone();
    unsigned_query.expect_signature = None;
    let (unsigned_parts, ()) = unsigned_query.to_request("/manifest").unwrap().into_parts();
    let response = block_on(Responder::new().handle(&*source, &unsigned_parts))
        .map(expo_updates::UpdateBody::into_bytes);
    let report = check_manifest_response(&query, &response, Some(&verifier()));
    assert!(errors(&report).iter().any(|e| e.contains("not signed")));
}

#[test]
fn wrong_asset_bytes_are_an_error() {
    let source = source();
    let query = query("application/json");
    let report = check_manifest_response(
        &query,
        &serve(&source, query.to_request("/m").unwrap()),
        None,
    );
    let asset = &report.manifest().unwrap().launch_asset;
    let response = http::Response::builder()
        .header("content-type", "application/javascript")
        .header("cache-control", "public, max-age=31536000, immutable")
        .body(Bytes::from_static(b"not the bundle"))
        .unwrap();
    let findings = check_asset_response(asset, &response);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].severity, Severity::Error);
}

#[test]
fn error_status_is_reported_with_the_server_message() {
    let query = query("application/json");
    let response = http::Response::builder()
        .status(400)
        .header("expo-protocol-version", "1")
        .header("expo-sfv-version", "0")
        .header("cache-control", "private, max-age=0")
        .body(Bytes::from_static(
            br#"{"error":{"code":"x","message":"code signing is not configured"}}"#,
        ))
        .unwrap();
    let report = check_manifest_response(&query, &response, None);
    assert!(errors(&report)[0].contains("code signing is not configured"));
}

/// A prepared update of the sample export with `branchName` metadata, filters matching it
/// and asset request headers for each of its assets.
fn filtered_update() -> Arc<expo_updates::PreparedUpdate> {
    let query = query("multipart/mixed");
    let response = serve(
        &source(),
        query
            .to_request("https://updates.example.com/manifest")
            .unwrap(),
    );
    let report = check_manifest_response(&query, &response, Some(&verifier()));
    let mut manifest = report.manifest().unwrap().clone();
    manifest
        .metadata
        .insert("branchName".into(), "production".into());
    let mut extensions = expo_manifest::Extensions::default();
    for asset in manifest.all_assets() {
        extensions.asset_request_headers.insert(
            asset.key.clone(),
            [("x-cdn-token".to_owned(), format!("t-{}", asset.hash))].into(),
        );
    }
    let filters: expo_sfv::ManifestFilters = r#"branchname="production""#.parse().unwrap();
    Arc::new(
        expo_updates::PreparedUpdate::new(&manifest, Some(&extensions))
            .with_manifest_filters(&filters)
            .unwrap(),
    )
}

fn answer_with(
    update: &Arc<expo_updates::PreparedUpdate>,
    accept: &str,
    current: Option<expo_manifest::UpdateId>,
) -> (ManifestQuery, http::Response<Bytes>) {
    let mut defined = expo_sfv::ServerDefinedHeaders::default();
    defined.insert("x-cohort", "beta").unwrap();
    let responder = responder().with_server_defined_headers(&defined).unwrap();
    let mut query = query(accept);
    query.current_update_id = current;
    let (parts, ()) = query.to_request("/manifest").unwrap().into_parts();
    let request = expo_updates::UpdateRequest::from_parts(&parts).unwrap();
    let response = responder
        .respond(
            &request,
            Some(expo_updates::Resolved::Update(Arc::clone(update))),
        )
        .unwrap()
        .map(expo_updates::UpdateBody::into_bytes);
    (query, response)
}

#[test]
fn filters_server_defined_and_asset_headers_round_trip_through_the_checker() {
    let update = filtered_update();
    for accept in ["multipart/mixed", "application/expo+json"] {
        let (query, response) = answer_with(&update, accept, None);
        assert_eq!(
            response.headers()["expo-manifest-filters"],
            r#"branchname="production""#
        );
        assert_eq!(
            response.headers()["expo-server-defined-headers"],
            r#"x-cohort="beta""#
        );
        let report = check_manifest_response(&query, &response, Some(&verifier()));
        assert!(report.is_ok(), "{accept}: {:?}", report.findings);
        if accept == "multipart/mixed" {
            let manifest = report.manifest().unwrap();
            for asset in manifest.all_assets() {
                let request = asset_request(asset, report.extensions()).unwrap();
                assert_eq!(
                    request.headers()["x-cdn-token"],
                    format!("t-{}", asset.hash).as_str()
                );
            }
        }
    }
    // The client runs it: noUpdateAvailable still carries the filters of its stream.
    let (query, response) = answer_with(&update, "multipart/mixed", Some(update.id()));
    let report = check_manifest_response(&query, &response, Some(&verifier()));
    assert_eq!(
        report.answer,
        Some(ManifestAnswer::Directive(
            expo_manifest::Directive::NoUpdateAvailable
        ))
    );
    assert_eq!(
        response.headers()["expo-manifest-filters"],
        r#"branchname="production""#
    );
}

#[test]
fn filters_the_manifest_fails_reserved_and_stray_asset_headers_are_errors() {
    let update = filtered_update();
    let (query, mut response) = answer_with(&update, "multipart/mixed", None);
    response.headers_mut().insert(
        "expo-manifest-filters",
        http::HeaderValue::from_static(r#"branchname="staging""#),
    );
    response.headers_mut().insert(
        "expo-server-defined-headers",
        http::HeaderValue::from_static(r#"x-cohort="beta", expo-runtime-version="2""#),
    );
    let report = check_manifest_response(&query, &response, Some(&verifier()));
    let found = errors(&report);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("expo-runtime-version"), "{found:?}");
    assert!(found[1].contains("\"branchname\""), "{found:?}");

    // Asset request headers for a key the manifest does not have.
    let mut manifest = report.manifest().unwrap().clone();
    manifest.metadata.clear();
    let mut extensions = report.extensions().unwrap().clone();
    extensions.asset_request_headers.insert(
        "no-such-asset".into(),
        [("x-a".to_owned(), "1".to_owned())].into(),
    );
    let stray = Arc::new(expo_updates::PreparedUpdate::new(
        &manifest,
        Some(&extensions),
    ));
    let (query, response) = answer_with(&stray, "multipart/mixed", None);
    let report = check_manifest_response(&query, &response, Some(&verifier()));
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("no-such-asset"), "{found:?}");
}
