//! Conformance of the server side to Expo Updates v1: every MUST and SHOULD
//! of the specification that concerns a server, in-process, against the
//! committed real export (`test-fixtures/sample-export`) and the test keys of
//! `expo-codesign`. Responses are also read by independent parsers (Python's
//! `email`, `@expo/multipart-body-parser`, `structured-headers`,
//! `@expo/code-signing-certificates`): see `independent_parsers_agree`.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use expo_codesign::{Certificate, Signer, SignerSet, Verifier};
use expo_manifest::{
    AssetHash, Directive, ExportDir, Extensions, Manifest, Platform, RuntimeVersion, Timestamp,
};
use expo_multipart::{Limits, Part};
use expo_sfv::{Dictionary, ManifestFilters, ServerDefinedHeaders};
use expo_updates::{
    ContentCoding, InMemoryAsset, InMemorySource, PreparedDirective, PreparedUpdate, ProtocolError,
    Resolved, Responder, Target, asset_error_response,
};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

const PUBLISHED_AT: &str = "2026-11-20T10:00:00.000Z";
const STAGING_AT: &str = "2026-11-21T10:00:00.000Z";
const ROLLED_BACK_AT: &str = "2026-11-22T08:30:00.000Z";
const RUNTIME: &str = "1.0.0";
const BASE_URL: &str = "https://updates.example.com";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn workspace() -> PathBuf {
    manifest_dir().join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace().join(path)).unwrap()
}

fn fixture_key(name: &str) -> String {
    read(&format!("crates/expo-codesign/tests/fixtures/{name}"))
}

struct Fixture {
    source: InMemorySource,
    ios: Arc<PreparedUpdate>,
    android: Arc<PreparedUpdate>,
    staging: Arc<PreparedUpdate>,
    extended: Arc<PreparedUpdate>,
    unsigned: Responder,
    signed: Responder,
    chained: Responder,
    configured: Responder,
}

fn target(platform: Platform, runtime: &str, channel: Option<&str>) -> Target {
    Target {
        platform,
        runtime_version: RuntimeVersion::new(runtime).unwrap(),
        channel: channel.map(str::to_owned),
    }
}

#[allow(clippy::too_many_lines, reason = "one fixture, read top to bottom")]
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let export = ExportDir::open(workspace().join("test-fixtures/sample-export/dist")).unwrap();
        let app_config = ExportDir::load_app_config(
            workspace().join("test-fixtures/sample-export/app-config.json"),
        )
        .unwrap();
        let mut extra = serde_json::Map::new();
        extra.insert("expoClient".into(), Value::Object(app_config));
        let published: Timestamp = PUBLISHED_AT.parse().unwrap();
        let mut source = InMemorySource::new();
        let ios = source
            .publish_export(
                &export,
                target(Platform::Ios, RUNTIME, None),
                BASE_URL,
                published,
                extra.clone(),
            )
            .unwrap();
        let android = source
            .publish_export(
                &export,
                target(Platform::Android, RUNTIME, None),
                BASE_URL,
                published,
                extra.clone(),
            )
            .unwrap();
        let staging = source
            .publish_export(
                &export,
                target(Platform::Ios, RUNTIME, Some("staging")),
                BASE_URL,
                STAGING_AT.parse().unwrap(),
                extra.clone(),
            )
            .unwrap();
        source.set(
            target(Platform::Ios, RUNTIME, Some("production")),
            Resolved::Update(ios.clone()),
        );
        // An update with extensions.
        let mut manifest = Manifest::from_json_slice(ios.manifest_json()).unwrap();
        manifest.id = expo_manifest::UpdateId::new_v4();
        manifest.runtime_version = RuntimeVersion::new("ext").unwrap();
        let mut extensions = Extensions::default();
        extensions.asset_request_headers.insert(
            manifest.launch_asset.key.clone(),
            [("authorization".to_owned(), "Bearer abc".to_owned())].into(),
        );
        let extended = Arc::new(PreparedUpdate::new(&manifest, Some(&extensions)));
        source.set(
            target(Platform::Ios, "ext", None),
            Resolved::Update(extended.clone()),
        );
        // An update of the `production` branch: metadata, filters and a header per asset.
        let mut manifest = Manifest::from_json_slice(ios.manifest_json()).unwrap();
        manifest.id = expo_manifest::UpdateId::new_v4();
        manifest.runtime_version = RuntimeVersion::new("branch").unwrap();
        manifest
            .metadata
            .insert("branchName".into(), "production".into());
        let mut extensions = Extensions::default();
        for asset in manifest.all_assets() {
            extensions.asset_request_headers.insert(
                asset.key.clone(),
                [("x-cdn-token".to_owned(), format!("t-{}", asset.hash))].into(),
            );
        }
        let production: ManifestFilters = r#"branchname="production""#.parse().unwrap();
        source.set(
            target(Platform::Ios, "branch", None),
            Resolved::Update(Arc::new(
                PreparedUpdate::new(&manifest, Some(&extensions))
                    .with_manifest_filters(&production)
                    .unwrap(),
            )),
        );
        source.set(
            target(Platform::Ios, "branch-rollback", None),
            Resolved::Directive(Arc::new(
                PreparedDirective::roll_back_to_embedded(ROLLED_BACK_AT.parse().unwrap())
                    .with_manifest_filters(&production),
            )),
        );
        source.set(
            target(Platform::Ios, "rollback", None),
            Resolved::Directive(Arc::new(PreparedDirective::roll_back_to_embedded(
                ROLLED_BACK_AT.parse().unwrap(),
            ))),
        );
        let custom =
            Directive::from_json_slice(br#"{"type":"custom","parameters":{"a":1}}"#).unwrap();
        source.set(
            target(Platform::Ios, "custom", None),
            Resolved::Directive(Arc::new(PreparedDirective::new(custom))),
        );

        let (main, _) = Signer::from_pem(
            "main",
            &fixture_key("expo-private-key.pem"),
            Some(&fixture_key("expo-certificate.pem")),
        )
        .unwrap();
        let (next, _) = Signer::from_pem(
            "next",
            &fixture_key("rsa2048-pkcs8.pem"),
            Some(&fixture_key("rsa2048-certificate.pem")),
        )
        .unwrap();
        let mut signers = SignerSet::new(main);
        signers.add(next);
        let signed = Responder::new().with_signers(signers);
        let (leaf, _) = Signer::from_pem("root", &fixture_key("chain-leaf-key.pem"), None).unwrap();
        let chain = [
            Certificate::from_pem(&fixture_key("chain-leaf.pem")).unwrap(),
            Certificate::from_pem(&fixture_key("chain-intermediate.pem")).unwrap(),
        ];
        let chained = Responder::new()
            .with_signers(SignerSet::new(leaf))
            .with_certificate_chain(&chain);
        let mut filters = Dictionary::new();
        filters.insert("branch", "main").unwrap();
        let mut defined = Dictionary::new();
        defined.insert("expo-cohort", "beta").unwrap();
        let configured = Responder::new()
            .with_manifest_filters(&ManifestFilters::new(filters))
            .unwrap()
            .with_server_defined_headers(&ServerDefinedHeaders::new(defined).unwrap())
            .unwrap();
        Fixture {
            source,
            ios,
            android,
            staging,
            extended,
            unsigned: Responder::new(),
            signed,
            chained,
            configured,
        }
    })
}

/// A finished answer.
#[derive(Debug, Clone)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn content_type(&self) -> &str {
        self.header("content-type").unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap().to_owned()
    }

    fn error_header(&self) -> Option<String> {
        self.json()["error"]["header"].as_str().map(str::to_owned)
    }

    fn parts(&self) -> Vec<Part> {
        expo_multipart::decode(self.content_type(), &self.body, &Limits::default()).unwrap()
    }

    fn part(&self, name: &str) -> Option<Part> {
        self.parts().into_iter().find(|p| p.name() == Some(name))
    }

    fn manifest(&self) -> Manifest {
        if self.content_type().starts_with("multipart/") {
            Manifest::from_json_slice(self.part("manifest").unwrap().body()).unwrap()
        } else {
            Manifest::from_json_slice(&self.body).unwrap()
        }
    }

    fn directive(&self) -> Directive {
        Directive::from_json_slice(self.part("directive").unwrap().body()).unwrap()
    }
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

fn call_with(responder: &Responder, method: &str, headers: &[(&str, &str)]) -> Answer {
    let mut builder = http::Request::builder().method(method).uri("/manifest");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let (parts, ()) = builder.body(()).unwrap().into_parts();
    let response = block_on(responder.handle(&fixture().source, &parts));
    let (head, body) = response.into_parts();
    Answer {
        status: head.status,
        headers: head.headers,
        body: body.into_bytes(),
    }
}

const IOS: [(&str, &str); 3] = [
    ("expo-protocol-version", "1"),
    ("expo-platform", "ios"),
    ("expo-runtime-version", RUNTIME),
];

fn ios_with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut headers = IOS.to_vec();
    headers.extend_from_slice(extra);
    headers
}

fn get(headers: &[(&str, &str)]) -> Answer {
    call_with(&fixture().unsigned, "GET", headers)
}

fn signed(headers: &[(&str, &str)]) -> Answer {
    call_with(&fixture().signed, "GET", headers)
}

fn assert_common_headers(answer: &Answer) {
    assert_eq!(
        answer.header("expo-protocol-version"),
        Some("1"),
        "{answer:?}"
    );
    assert_eq!(answer.header("expo-sfv-version"), Some("0"), "{answer:?}");
    assert_eq!(
        answer.header("cache-control"),
        Some("private, max-age=0"),
        "{answer:?}"
    );
}

fn assert_error(answer: &Answer, status: u16, code: &str, header: Option<&str>) {
    assert_eq!(answer.status.as_u16(), status, "{answer:?}");
    assert_eq!(answer.content_type(), "application/json");
    assert_eq!(answer.error_code(), code);
    assert_eq!(answer.error_header().as_deref(), header);
    assert!(
        !answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_common_headers(answer);
}

fn verify(certificate: &str, signature: &str, body: &[u8]) {
    Verifier::from_certificate_pem(&fixture_key(certificate))
        .unwrap()
        .verify(signature, body)
        .unwrap();
}

fn signature_keyid(value: &str) -> Option<String> {
    expo_sfv::Signature::parse(value).unwrap().keyid
}

// ---------------------------------------------------------------- request headers

#[test]
fn missing_platform_is_400_naming_the_header() {
    let answer = get(&[
        ("expo-protocol-version", "1"),
        ("expo-runtime-version", RUNTIME),
    ]);
    assert_error(&answer, 400, "missing_header", Some("expo-platform"));
}

#[test]
fn unknown_platform_is_400() {
    let answer = get(&[("expo-platform", "web"), ("expo-runtime-version", RUNTIME)]);
    assert_error(&answer, 400, "unsupported_platform", Some("expo-platform"));
}

#[test]
fn platform_is_case_sensitive() {
    let answer = get(&[("expo-platform", "IOS"), ("expo-runtime-version", RUNTIME)]);
    assert_error(&answer, 400, "unsupported_platform", Some("expo-platform"));
}

#[test]
fn missing_runtime_version_is_400() {
    let answer = get(&[("expo-protocol-version", "1"), ("expo-platform", "android")]);
    assert_error(&answer, 400, "missing_header", Some("expo-runtime-version"));
}

#[test]
fn empty_runtime_version_is_400() {
    let answer = get(&[("expo-platform", "android"), ("expo-runtime-version", "")]);
    assert_error(&answer, 400, "missing_header", Some("expo-runtime-version"));
}

#[test]
fn overlong_runtime_version_is_400() {
    let long = "1".repeat(300);
    let answer = get(&[
        ("expo-platform", "android"),
        ("expo-runtime-version", &long),
    ]);
    assert_error(&answer, 400, "invalid_header", Some("expo-runtime-version"));
}

#[test]
fn non_ascii_runtime_version_is_400() {
    let mut builder = http::Request::get("/manifest").header("expo-platform", "ios");
    builder = builder.header(
        "expo-runtime-version",
        http::HeaderValue::from_bytes(b"1.0\xff").unwrap(),
    );
    let (parts, ()) = builder.body(()).unwrap().into_parts();
    let response = block_on(fixture().unsigned.handle(&fixture().source, &parts));
    assert_eq!(response.status(), 400);
}

#[test]
fn protocol_version_2_is_406() {
    let answer = get(&[
        ("expo-protocol-version", "2"),
        ("expo-platform", "ios"),
        ("expo-runtime-version", RUNTIME),
    ]);
    assert_error(
        &answer,
        406,
        "unsupported_protocol_version",
        Some("expo-protocol-version"),
    );
}

#[test]
fn garbage_protocol_version_is_406() {
    let answer = get(&[
        ("expo-protocol-version", "one"),
        ("expo-platform", "ios"),
        ("expo-runtime-version", RUNTIME),
    ]);
    assert_eq!(answer.status, 406);
}

#[test]
fn protocol_version_0_is_answered_like_1() {
    let answer = get(&[
        ("expo-protocol-version", "0"),
        ("expo-platform", "ios"),
        ("expo-runtime-version", RUNTIME),
    ]);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.manifest().id, fixture().ios.id());
    assert_common_headers(&answer);
}

#[test]
fn absent_protocol_version_is_legacy_and_answered() {
    let answer = get(&[
        ("expo-platform", "android"),
        ("expo-runtime-version", RUNTIME),
    ]);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.manifest().id, fixture().android.id());
}

#[test]
fn post_is_a_manifest_request() {
    let answer = call_with(&fixture().unsigned, "POST", &IOS);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.manifest().id, fixture().ios.id());
}

#[test]
fn other_methods_are_405_with_allow() {
    for method in ["PUT", "DELETE", "PATCH", "HEAD"] {
        let answer = call_with(&fixture().unsigned, method, &IOS);
        assert_eq!(answer.status, 405, "{method}");
        assert_eq!(answer.header("allow"), Some("GET, POST"));
        assert_common_headers(&answer);
    }
}

#[test]
fn unacceptable_accept_is_406() {
    let answer = get(&ios_with(&[("accept", "text/html")]));
    assert_error(&answer, 406, "not_acceptable", Some("accept"));
}

#[test]
fn everything_refused_with_q0_is_406() {
    let answer = get(&ios_with(&[("accept", "*/*;q=0")]));
    assert_eq!(answer.status, 406);
}

#[test]
fn accept_application_json_gets_application_json() {
    let answer = get(&ios_with(&[("accept", "application/json")]));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type(), "application/json");
    assert_eq!(answer.body, fixture().ios.manifest_json());
}

#[test]
fn accept_expo_json_gets_expo_json() {
    let answer = get(&ios_with(&[("accept", "application/expo+json")]));
    assert_eq!(answer.content_type(), "application/expo+json");
    assert_eq!(answer.manifest().id, fixture().ios.id());
}

#[test]
fn no_accept_header_means_any_and_gets_multipart() {
    let answer = get(&IOS);
    assert!(
        answer
            .content_type()
            .starts_with("multipart/mixed; boundary=")
    );
}

#[test]
fn wildcard_accept_gets_multipart() {
    let answer = get(&ios_with(&[("accept", "*/*")]));
    assert!(answer.content_type().starts_with("multipart/mixed"));
}

#[test]
fn spec_example_accept_prefers_multipart_by_q_value() {
    let answer = get(&ios_with(&[(
        "accept",
        "application/expo+json;q=0.9, application/json;q=0.8, multipart/mixed",
    )]));
    assert!(answer.content_type().starts_with("multipart/mixed"));
}

#[test]
fn q_values_choose_json_over_multipart() {
    let answer = get(&ios_with(&[(
        "accept",
        "multipart/mixed;q=0.1, application/json;q=0.9, application/expo+json;q=0.5",
    )]));
    assert_eq!(answer.content_type(), "application/json");
}

#[test]
fn client_default_accept_list_gets_multipart() {
    let answer = get(&ios_with(&[(
        "accept",
        "application/expo+json, application/json, multipart/mixed",
    )]));
    assert!(answer.content_type().starts_with("multipart/mixed"));
}

#[test]
fn malformed_expect_signature_is_400() {
    let answer = signed(&ios_with(&[("expo-expect-signature", "sig=(1 2)")]));
    assert_error(
        &answer,
        400,
        "invalid_header",
        Some("expo-expect-signature"),
    );
}

#[test]
fn malformed_current_update_id_is_400() {
    let answer = get(&ios_with(&[("expo-current-update-id", "12345")]));
    assert_error(
        &answer,
        400,
        "invalid_header",
        Some("expo-current-update-id"),
    );
}

#[test]
fn malformed_recent_failed_update_ids_is_400() {
    let answer = get(&ios_with(&[("expo-recent-failed-update-ids", "(a")]));
    assert_error(
        &answer,
        400,
        "invalid_header",
        Some("expo-recent-failed-update-ids"),
    );
}

#[test]
fn malformed_extra_params_is_400() {
    let answer = get(&ios_with(&[("expo-extra-params", "a=(1)")]));
    assert_error(&answer, 400, "invalid_header", Some("expo-extra-params"));
}

#[test]
fn overlong_channel_is_400() {
    let long = "c".repeat(300);
    let mut headers = IOS.to_vec();
    headers.push(("expo-channel-name", &long));
    let answer = get(&headers);
    assert_error(&answer, 400, "invalid_header", Some("expo-channel-name"));
}

#[test]
fn duplicated_platform_is_400() {
    let answer = get(&ios_with(&[("expo-platform", "android")]));
    assert_error(&answer, 400, "invalid_header", Some("expo-platform"));
}

#[test]
fn real_client_headers_are_accepted() {
    let answer = get(&ios_with(&[
        (
            "accept",
            "multipart/mixed,application/expo+json,application/json",
        ),
        ("eas-client-id", "8C1F5A3E-2B7D-4E0A-9F6C-1D2E3F4A5B6C"),
        (
            "expo-embedded-update-id",
            "5f0c6e6a-7c3e-4f8e-9a43-0f0bd54c39a1",
        ),
        (
            "expo-current-update-id",
            "5f0c6e6a-7c3e-4f8e-9a43-0f0bd54c39a1",
        ),
        (
            "expo-recent-failed-update-ids",
            "\"0754dad0-d200-d634-113c-ef1f26106028\"",
        ),
        ("expo-extra-params", "cohort=\"beta\""),
        ("expo-fatal-error", "Error: boom\n".trim()),
        ("a-im", "bsdiff"),
        (
            "expo-requested-update-id",
            "0754dad0-d200-d634-113c-ef1f26106028",
        ),
        ("expo-json-error", "ignored"),
    ]));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.manifest().id, fixture().ios.id());
}

// ---------------------------------------------------------------- common response headers

#[test]
fn every_answer_has_the_common_headers() {
    let cases: Vec<Vec<(&str, &str)>> = vec![
        IOS.to_vec(),
        ios_with(&[("accept", "application/json")]),
        vec![("expo-platform", "ios"), ("expo-runtime-version", "none")],
        vec![("expo-platform", "ios")],
        ios_with(&[("accept", "image/png")]),
    ];
    for headers in cases {
        assert_common_headers(&get(&headers));
    }
    assert_common_headers(&call_with(&fixture().unsigned, "PUT", &IOS));
}

#[test]
fn manifest_filters_and_server_defined_headers_are_sent_when_configured() {
    for headers in [
        IOS.to_vec(),
        vec![("expo-platform", "ios"), ("expo-runtime-version", "none")],
    ] {
        let answer = call_with(&fixture().configured, "GET", &headers);
        let filters = Dictionary::parse(answer.header("expo-manifest-filters").unwrap()).unwrap();
        assert_eq!(filters.get("branch").unwrap().as_str(), Some("main"));
        let defined =
            Dictionary::parse(answer.header("expo-server-defined-headers").unwrap()).unwrap();
        assert_eq!(defined.get("expo-cohort").unwrap().as_str(), Some("beta"));
        assert_common_headers(&answer);
    }
}

const PRODUCTION: &str = r#"branchname="production""#;

#[test]
fn an_updates_own_filters_go_with_every_answer_serving_it() {
    let runtime = [("expo-runtime-version", "branch"), ("expo-platform", "ios")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        let mut headers = runtime.to_vec();
        headers.extend_from_slice(extra);
        headers
    };
    let v1 = ("expo-protocol-version", "1");
    for (label, answer) in [
        ("multipart", get(&with(&[v1]))),
        ("signed", signed(&with(&[v1, EXPECT_MAIN]))),
        ("json", get(&with(&[v1, ("accept", "application/json")]))),
        ("protocol 0", get(&with(&[]))),
        // They replace the responder's own filters.
        (
            "configured",
            call_with(&fixture().configured, "GET", &with(&[v1])),
        ),
    ] {
        assert_eq!(answer.status, 200, "{label}");
        assert_eq!(
            answer.header("expo-manifest-filters"),
            Some(PRODUCTION),
            "{label}"
        );
        let manifest = answer.manifest();
        assert_eq!(manifest.metadata["branchName"], "production", "{label}");
        let filters: ManifestFilters = PRODUCTION.parse().unwrap();
        assert!(filters.matches(&manifest.metadata), "{label}");
    }
    // The client runs it: noUpdateAvailable, and 204 for a JSON client, keep the filters.
    let id = get(&with(&[v1])).manifest().id.to_string();
    let current = ("expo-current-update-id", id.as_str());
    let mut headers = with(&[v1]);
    headers.push(current);
    let directive = call_with(&fixture().unsigned, "GET", &headers);
    assert_eq!(directive.directive(), Directive::NoUpdateAvailable);
    assert_eq!(directive.header("expo-manifest-filters"), Some(PRODUCTION));
}

#[test]
fn a_directives_filters_go_with_it_and_with_what_replaces_it_but_not_with_errors() {
    let v1 = ("expo-protocol-version", "1");
    let runtime = ("expo-runtime-version", "branch-rollback");
    let platform = ("expo-platform", "ios");
    let rollback = get(&[v1, runtime, platform]);
    assert!(matches!(
        rollback.directive(),
        Directive::RollBackToEmbedded { .. }
    ));
    assert_eq!(rollback.header("expo-manifest-filters"), Some(PRODUCTION));
    let embedded = "0754dad0-d200-d634-113c-ef1f26106028";
    let running_embedded = get(&[
        v1,
        runtime,
        platform,
        ("expo-current-update-id", embedded),
        ("expo-embedded-update-id", embedded),
    ]);
    assert_eq!(running_embedded.directive(), Directive::NoUpdateAvailable);
    assert_eq!(
        running_embedded.header("expo-manifest-filters"),
        Some(PRODUCTION)
    );
    // A directive cannot reach a JSON client: the 406 names no stream.
    let refused = get(&[v1, runtime, platform, ("accept", "application/json")]);
    assert_eq!(refused.status, 406);
    assert!(refused.header("expo-manifest-filters").is_none());
}

#[test]
fn filters_the_manifest_would_fail_are_refused_when_prepared() {
    let mut manifest = Manifest::from_json_slice(fixture().ios.manifest_json()).unwrap();
    manifest
        .metadata
        .insert("BranchName".into(), "staging".into());
    let production: ManifestFilters = PRODUCTION.parse().unwrap();
    let err = PreparedUpdate::new(&manifest, None)
        .with_manifest_filters(&production)
        .unwrap_err();
    assert_eq!(err.key, "branchname");
    assert!(err.to_string().contains("branchname"), "{err}");
    // Filters on keys the metadata lacks pass, as the clients judge them.
    let other: ManifestFilters = r#"tier="gold""#.parse().unwrap();
    let update = PreparedUpdate::new(&manifest, None)
        .with_manifest_filters(&other)
        .unwrap();
    assert_eq!(update.manifest_filters().unwrap(), r#"tier="gold""#);
}

#[test]
fn sfv_headers_are_absent_when_not_configured() {
    let answer = get(&IOS);
    assert!(answer.header("expo-manifest-filters").is_none());
    assert!(answer.header("expo-server-defined-headers").is_none());
}

#[test]
fn manifest_metadata_passes_the_filters_sent() {
    // The filters name `branch`; the manifest has no such field, which passes.
    let answer = call_with(&fixture().configured, "GET", &IOS);
    assert!(!answer.manifest().metadata.contains_key("branch"));
}

// ---------------------------------------------------------------- choosing the update

#[test]
fn each_platform_gets_its_own_update() {
    let ios = get(&IOS).manifest();
    let android = get(&[
        ("expo-protocol-version", "1"),
        ("expo-platform", "android"),
        ("expo-runtime-version", RUNTIME),
    ])
    .manifest();
    assert_eq!(ios.id, fixture().ios.id());
    assert_eq!(android.id, fixture().android.id());
    assert_ne!(ios.launch_asset.hash, android.launch_asset.hash);
}

#[test]
fn channel_header_selects_the_channel() {
    assert_eq!(
        get(&ios_with(&[("expo-channel-name", "staging")]))
            .manifest()
            .id,
        fixture().staging.id()
    );
    assert_eq!(
        get(&ios_with(&[("expo-channel-name", "production")]))
            .manifest()
            .id,
        fixture().ios.id()
    );
}

#[test]
fn unknown_runtime_version_is_204_without_body_or_content_type() {
    let answer = get(&[
        ("expo-protocol-version", "1"),
        ("expo-platform", "ios"),
        ("expo-runtime-version", "9.9.9"),
    ]);
    assert_eq!(answer.status, 204);
    assert!(answer.body.is_empty());
    assert!(answer.header("content-type").is_none());
    assert_common_headers(&answer);
}

#[test]
fn unknown_channel_is_204() {
    let answer = get(&ios_with(&[("expo-channel-name", "nope")]));
    assert_eq!(answer.status, 204);
    assert_common_headers(&answer);
}

#[test]
fn runtime_version_must_match_exactly() {
    let answer = get(&[("expo-platform", "ios"), ("expo-runtime-version", "1.0")]);
    assert_eq!(answer.status, 204);
}

#[test]
fn json_body_is_the_prepared_manifest_byte_for_byte() {
    let answer = get(&ios_with(&[("accept", "application/expo+json")]));
    assert_eq!(answer.body, fixture().ios.manifest_json());
}

#[test]
fn created_at_is_the_stored_publish_time() {
    let manifest = get(&IOS).manifest();
    assert_eq!(manifest.created_at.to_string(), PUBLISHED_AT);
    let raw = get(&ios_with(&[("accept", "application/json")])).json();
    assert_eq!(raw["createdAt"], PUBLISHED_AT);
}

#[test]
fn manifest_fields_follow_the_spec() {
    let raw = get(&ios_with(&[("accept", "application/json")])).json();
    let id = raw["id"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    assert!(id.parse::<expo_manifest::UpdateId>().is_ok());
    assert_eq!(raw["runtimeVersion"], RUNTIME);
    assert!(raw["launchAsset"].get("fileExtension").is_none());
    assert!(raw["metadata"].is_object());
    assert!(raw["extra"]["expoClient"]["slug"].is_string());
    let assets = raw["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 2);
    for asset in assets.iter().chain([&raw["launchAsset"]]) {
        let hash = asset["hash"].as_str().unwrap();
        assert_eq!(hash.len(), 43);
        assert!(!hash.contains(['=', '+', '/']));
        assert!(asset["key"].is_string());
        assert!(asset["contentType"].is_string());
        assert!(asset["url"].as_str().unwrap().starts_with("https://"));
    }
    for asset in assets {
        assert!(asset["fileExtension"].as_str().unwrap().starts_with('.'));
    }
}

#[test]
fn every_asset_url_serves_bytes_with_the_manifest_hash() {
    let manifest = get(&IOS).manifest();
    for asset in manifest.all_assets() {
        let hash: AssetHash = asset.url.rsplit('/').next().unwrap().parse().unwrap();
        let stored = fixture().source.lookup_asset(&hash).unwrap();
        let (parts, ()) = http::Request::get(&asset.url)
            .header("accept-encoding", "br, gzip")
            .body(())
            .unwrap()
            .into_parts();
        let response = stored.respond(&parts);
        assert_eq!(response.status(), 200);
        assert_eq!(AssetHash::of(response.body()), asset.hash);
        assert_eq!(
            response.headers()["content-type"],
            asset.content_type.as_str()
        );
    }
}

// ---------------------------------------------------------------- multipart structure

#[test]
fn multipart_framing_is_what_the_ios_reader_needs() {
    let answer = get(&IOS);
    let boundary = expo_multipart::parse_boundary(answer.content_type()).unwrap();
    let open = format!("--{}\r\n", boundary.as_str());
    let close = format!("\r\n--{}--\r\n", boundary.as_str());
    assert!(answer.body.starts_with(open.as_bytes()));
    assert!(answer.body.ends_with(close.as_bytes()));
}

#[test]
fn manifest_part_has_disposition_and_json_content_type() {
    let answer = get(&IOS);
    let part = answer.part("manifest").unwrap();
    assert_eq!(
        part.header("content-disposition").unwrap(),
        "form-data; name=\"manifest\""
    );
    assert_eq!(part.header("content-type").unwrap(), "application/json");
    assert_eq!(part.body(), fixture().ios.manifest_json());
}

#[test]
fn update_without_extensions_has_only_a_manifest_part() {
    let names: Vec<_> = get(&IOS)
        .parts()
        .iter()
        .map(|p| p.name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["manifest"]);
}

#[test]
fn extensions_part_carries_asset_request_headers() {
    let answer = get(&[
        ("expo-protocol-version", "1"),
        ("expo-platform", "ios"),
        ("expo-runtime-version", "ext"),
    ]);
    let part = answer.part("extensions").unwrap();
    assert_eq!(
        part.header("content-disposition").unwrap(),
        "form-data; name=\"extensions\""
    );
    assert_eq!(part.header("content-type").unwrap(), "application/json");
    let extensions: Value = serde_json::from_slice(part.body()).unwrap();
    let key = answer.manifest().launch_asset.key;
    assert_eq!(
        extensions["assetRequestHeaders"][key]["authorization"],
        "Bearer abc"
    );
    assert_eq!(answer.manifest().id, fixture().extended.id());
}

#[test]
fn json_answer_carries_the_manifest_only() {
    let answer = get(&[
        ("expo-platform", "ios"),
        ("expo-runtime-version", "ext"),
        ("accept", "application/json"),
    ]);
    assert_eq!(answer.body, fixture().extended.manifest_json());
}

// ---------------------------------------------------------------- directives

fn current(id: &str) -> Vec<(&'static str, String)> {
    vec![("expo-current-update-id", id.to_owned())]
}

fn get_owned(base: &[(&'static str, &'static str)], extra: &[(&'static str, String)]) -> Answer {
    let mut headers: Vec<(&str, &str)> = base.to_vec();
    headers.extend(extra.iter().map(|(n, v)| (*n, v.as_str())));
    get(&headers)
}

#[test]
fn client_on_the_latest_update_gets_no_update_available() {
    let answer = get_owned(&IOS, &current(&fixture().ios.id().to_string()));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.directive(), Directive::NoUpdateAvailable);
    assert!(answer.part("manifest").is_none());
}

#[test]
fn latest_update_id_is_compared_case_insensitively() {
    let upper = fixture().ios.id().to_string().to_uppercase();
    let answer = get_owned(&IOS, &current(&upper));
    assert_eq!(answer.directive(), Directive::NoUpdateAvailable);
}

#[test]
fn json_client_on_the_latest_update_gets_the_manifest() {
    let answer = get_owned(
        &ios_with(&[("accept", "application/expo+json")]),
        &current(&fixture().ios.id().to_string()),
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.manifest().id, fixture().ios.id());
}

#[test]
fn protocol_0_client_on_the_latest_update_gets_the_manifest() {
    let answer = get_owned(
        &[("expo-platform", "ios"), ("expo-runtime-version", RUNTIME)],
        &current(&fixture().ios.id().to_string()),
    );
    assert_eq!(answer.manifest().id, fixture().ios.id());
}

#[test]
fn client_on_an_older_update_gets_the_manifest() {
    let answer = get_owned(&IOS, &current(&fixture().staging.id().to_string()));
    assert_eq!(answer.manifest().id, fixture().ios.id());
}

const ROLLBACK: [(&str, &str); 3] = [
    ("expo-protocol-version", "1"),
    ("expo-platform", "ios"),
    ("expo-runtime-version", "rollback"),
];

#[test]
fn rollback_is_a_directive_with_the_stored_commit_time() {
    let answer = get(&ROLLBACK);
    assert_eq!(answer.status, 200);
    let raw: Value = serde_json::from_slice(answer.part("directive").unwrap().body()).unwrap();
    assert_eq!(
        raw,
        json!({"type": "rollBackToEmbedded", "parameters": {"commitTime": ROLLED_BACK_AT}})
    );
}

#[test]
fn directive_part_has_disposition_and_json_content_type() {
    let part = get(&ROLLBACK).part("directive").unwrap();
    assert_eq!(
        part.header("content-disposition").unwrap(),
        "form-data; name=\"directive\""
    );
    assert_eq!(part.header("content-type").unwrap(), "application/json");
}

#[test]
fn rollback_to_a_json_client_is_406() {
    let mut headers = ROLLBACK.to_vec();
    headers.push(("accept", "application/expo+json"));
    let answer = get(&headers);
    assert_error(&answer, 406, "directive_not_acceptable", Some("accept"));
}

#[test]
fn rollback_to_a_protocol_0_client_is_406() {
    let answer = get(&ROLLBACK[1..]);
    assert_eq!(answer.status, 406);
    assert_common_headers(&answer);
}

const EMBEDDED: &str = "5f0c6e6a-7c3e-4f8e-9a43-0f0bd54c39a1";

#[test]
fn rollback_once_on_the_embedded_update_is_no_update_available() {
    let mut headers = ROLLBACK.to_vec();
    headers.extend([
        ("expo-current-update-id", EMBEDDED),
        ("expo-embedded-update-id", EMBEDDED),
    ]);
    assert_eq!(get(&headers).directive(), Directive::NoUpdateAvailable);
}

#[test]
fn rollback_once_on_the_embedded_update_is_204_for_json_clients() {
    let mut headers = ROLLBACK.to_vec();
    headers.extend([
        ("expo-current-update-id", EMBEDDED),
        ("expo-embedded-update-id", EMBEDDED),
        ("accept", "application/json"),
    ]);
    let answer = get(&headers);
    assert_eq!(answer.status, 204);
    assert_common_headers(&answer);
}

#[test]
fn rollback_is_repeated_while_a_downloaded_update_runs() {
    let mut headers = ROLLBACK.to_vec();
    headers.extend([
        (
            "expo-current-update-id",
            "0754dad0-d200-d634-113c-ef1f26106028",
        ),
        ("expo-embedded-update-id", EMBEDDED),
    ]);
    assert!(matches!(
        get(&headers).directive(),
        Directive::RollBackToEmbedded { .. }
    ));
}

#[test]
fn other_directives_pass_through() {
    let answer = get(&[
        ("expo-protocol-version", "1"),
        ("expo-platform", "ios"),
        ("expo-runtime-version", "custom"),
    ]);
    assert_eq!(answer.directive().kind(), "custom");
}

// ---------------------------------------------------------------- code signing

const EXPECT_MAIN: (&str, &str) = (
    "expo-expect-signature",
    "sig, keyid=\"main\", alg=\"rsa-v1_5-sha256\"",
);

#[test]
fn expecting_a_signature_without_keys_is_400() {
    let answer = get(&ios_with(&[EXPECT_MAIN]));
    assert_error(
        &answer,
        400,
        "code_signing_not_configured",
        Some("expo-expect-signature"),
    );
}

#[test]
fn multipart_manifest_is_signed_with_a_lower_case_part_header() {
    let answer = signed(&ios_with(&[EXPECT_MAIN]));
    assert!(memchr_find(&answer.body, b"\r\nexpo-signature: sig=\""));
    let part = answer.part("manifest").unwrap();
    let signature = part.header("expo-signature").unwrap().to_str().unwrap();
    verify("expo-certificate.pem", signature, part.body());
    assert_eq!(signature_keyid(signature).as_deref(), Some("main"));
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn signature_states_algorithm_and_quotes_sig() {
    let answer = signed(&ios_with(&[EXPECT_MAIN]));
    let signature = answer
        .part("manifest")
        .unwrap()
        .header("expo-signature")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let parsed = expo_sfv::Signature::parse(&signature).unwrap();
    assert_eq!(parsed.alg.as_deref(), Some("rsa-v1_5-sha256"));
    assert!(signature.starts_with("sig=\""));
}

#[test]
fn requested_keyid_is_echoed_when_held() {
    let answer = signed(&ios_with(&[(
        "expo-expect-signature",
        "sig, keyid=\"next\", alg=\"rsa-v1_5-sha256\"",
    )]));
    let part = answer.part("manifest").unwrap();
    let signature = part.header("expo-signature").unwrap().to_str().unwrap();
    assert_eq!(signature_keyid(signature).as_deref(), Some("next"));
    verify("rsa2048-certificate.pem", signature, part.body());
}

#[test]
fn unknown_keyid_gets_the_default_key_named() {
    let answer = signed(&ios_with(&[(
        "expo-expect-signature",
        "sig, keyid=\"other\"",
    )]));
    let signature = answer
        .part("manifest")
        .unwrap()
        .header("expo-signature")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(signature_keyid(&signature).as_deref(), Some("main"));
}

#[test]
fn expectation_without_keyid_gets_the_default_key_named() {
    let answer = signed(&ios_with(&[("expo-expect-signature", "sig")]));
    let part = answer.part("manifest").unwrap();
    let signature = part.header("expo-signature").unwrap().to_str().unwrap();
    assert_eq!(signature_keyid(signature).as_deref(), Some("main"));
    verify("expo-certificate.pem", signature, part.body());
}

#[test]
fn json_manifest_is_signed_in_a_response_header() {
    let answer = signed(&ios_with(&[
        EXPECT_MAIN,
        ("accept", "application/expo+json"),
    ]));
    let signature = answer.header("expo-signature").unwrap();
    verify("expo-certificate.pem", signature, &answer.body);
}

#[test]
fn rollback_directive_is_signed() {
    let mut headers = ROLLBACK.to_vec();
    headers.push(EXPECT_MAIN);
    let part = signed(&headers).part("directive").unwrap();
    verify(
        "expo-certificate.pem",
        part.header("expo-signature").unwrap().to_str().unwrap(),
        part.body(),
    );
}

#[test]
fn no_update_available_directive_is_signed() {
    let id = fixture().ios.id().to_string();
    let mut headers = ios_with(&[EXPECT_MAIN]);
    headers.push(("expo-current-update-id", &id));
    let part = signed(&headers).part("directive").unwrap();
    assert_eq!(
        Directive::from_json_slice(part.body()).unwrap(),
        Directive::NoUpdateAvailable
    );
    verify(
        "expo-certificate.pem",
        part.header("expo-signature").unwrap().to_str().unwrap(),
        part.body(),
    );
}

#[test]
fn nothing_is_signed_unless_asked() {
    let answer = signed(&IOS);
    assert!(
        answer
            .part("manifest")
            .unwrap()
            .header("expo-signature")
            .is_none()
    );
    let answer = signed(&ios_with(&[("accept", "application/json")]));
    assert!(answer.header("expo-signature").is_none());
}

#[test]
fn repeated_requests_carry_the_same_signature() {
    let a = signed(&ios_with(&[EXPECT_MAIN])).part("manifest").unwrap();
    let b = signed(&ios_with(&[EXPECT_MAIN])).part("manifest").unwrap();
    assert_eq!(a.header("expo-signature"), b.header("expo-signature"));
}

#[test]
fn certificate_chain_part_lets_the_client_verify_up_to_its_root() {
    let answer = call_with(
        &fixture().chained,
        "GET",
        &ios_with(&[("expo-expect-signature", "sig, keyid=\"root\"")]),
    );
    let chain = answer.part("certificate_chain").unwrap();
    let intermediates =
        Certificate::chain_from_pem(std::str::from_utf8(chain.body()).unwrap()).unwrap();
    assert_eq!(intermediates.len(), 2);
    let root = Certificate::from_pem(&fixture_key("chain-root.pem")).unwrap();
    let verifier = Verifier::new(root).with_intermediates(intermediates);
    let part = answer.part("manifest").unwrap();
    verifier
        .verify(
            part.header("expo-signature").unwrap().to_str().unwrap(),
            part.body(),
        )
        .unwrap();
}

#[test]
fn certificate_chain_is_not_sent_unsigned() {
    let answer = call_with(&fixture().chained, "GET", &IOS);
    assert!(answer.part("certificate_chain").is_none());
}

// ---------------------------------------------------------------- assets

fn asset() -> InMemoryAsset {
    let png = std::fs::read(
        workspace()
            .join("test-fixtures/sample-export/dist/assets/d9f444efbdfbe7931aa93beada07318a"),
    )
    .unwrap();
    InMemoryAsset::new("image/png", png)
        .unwrap()
        .with_variant(ContentCoding::Gzip, &b"gzip bytes"[..])
        .with_variant(ContentCoding::Brotli, &b"br bytes"[..])
}

fn asset_get(method: &str, headers: &[(&str, &str)]) -> http::Response<Bytes> {
    let mut builder = http::Request::builder().method(method).uri("/assets/x");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    asset().respond(&builder.body(()).unwrap().into_parts().0)
}

#[test]
fn asset_has_content_type_and_long_immutable_cache() {
    let response = asset_get("GET", &[("accept", "image/png, */*")]);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(AssetHash::of(response.body()), asset().hash());
}

#[test]
fn asset_encoding_follows_accept_encoding() {
    let response = asset_get("GET", &[("accept-encoding", "br, gzip")]);
    assert_eq!(response.headers()["content-encoding"], "br");
    assert_eq!(response.body().as_ref(), b"br bytes");
    assert_eq!(response.headers()["vary"], "accept-encoding");
    let response = asset_get("GET", &[("accept-encoding", "gzip")]);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let response = asset_get("GET", &[("accept-encoding", "deflate")]);
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(AssetHash::of(response.body()), asset().hash());
}

#[test]
fn asset_etag_and_if_none_match() {
    let first = asset_get("GET", &[]);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"));
    let again = asset_get("GET", &[("if-none-match", &etag)]);
    assert_eq!(again.status(), 304);
    assert!(again.body().is_empty());
}

#[test]
fn asset_range_and_unsatisfiable_range() {
    let partial = asset_get("GET", &[("range", "bytes=0-9")]);
    assert_eq!(partial.status(), 206);
    assert_eq!(partial.body().len(), 10);
    let len = asset()
        .description()
        .encodings()
        .iter()
        .find(|(c, _)| *c == ContentCoding::Identity)
        .unwrap()
        .1;
    assert_eq!(
        partial.headers()["content-range"],
        format!("bytes 0-9/{len}").as_str()
    );
    let past = asset_get("GET", &[("range", &format!("bytes={len}-"))]);
    assert_eq!(past.status(), 416);
    assert_eq!(
        past.headers()["content-range"],
        format!("bytes */{len}").as_str()
    );
}

#[test]
fn asset_head_has_length_without_body() {
    let response = asset_get("HEAD", &[]);
    assert_eq!(response.status(), 200);
    assert!(response.body().is_empty());
    assert!(response.headers().contains_key("content-length"));
}

#[test]
fn unknown_asset_is_404_json() {
    let response = asset_error_response(&ProtocolError::AssetNotFound);
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

// ---------------------------------------------------------------- independent readers

/// Runs `program args` with `input` on stdin and parses its JSON output, or
/// says why it cannot run: a loud skip locally, a failure in CI.
fn run_tool(program: &str, args: &[&str], input: &[u8]) -> Option<Value> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let skip = |why: String| {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("SKIPPED: {why}");
    };
    let mut child = match Command::new(program)
        .args(args)
        .current_dir(manifest_dir().join("interop"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(err) => {
            skip(format!("{program} cannot run: {err}"));
            return None;
        }
    };
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{program} {args:?} failed");
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

#[test]
#[allow(clippy::too_many_lines, reason = "one batch, checked reader by reader")]
fn independent_parsers_agree() {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let fx = fixture();
    let ios_id = fx.ios.id().to_string();
    let rollback_signed = {
        let mut h = ROLLBACK.to_vec();
        h.push(EXPECT_MAIN);
        h
    };
    let latest_signed = {
        let mut h = ios_with(&[EXPECT_MAIN]);
        h.push(("expo-current-update-id", ios_id.as_str()));
        h
    };
    let batch: Vec<(&str, Answer, Option<&str>)> = vec![
        ("unsigned", get(&IOS), None),
        (
            "signed main",
            signed(&ios_with(&[EXPECT_MAIN])),
            Some("expo-certificate.pem"),
        ),
        (
            "signed next",
            signed(&ios_with(&[(
                "expo-expect-signature",
                "sig, keyid=\"next\"",
            )])),
            Some("rsa2048-certificate.pem"),
        ),
        (
            "rollback",
            signed(&rollback_signed),
            Some("expo-certificate.pem"),
        ),
        (
            "no update",
            signed(&latest_signed),
            Some("expo-certificate.pem"),
        ),
        (
            "extensions",
            get(&[
                ("expo-protocol-version", "1"),
                ("expo-platform", "ios"),
                ("expo-runtime-version", "ext"),
            ]),
            None,
        ),
        (
            "chain",
            call_with(
                &fx.chained,
                "GET",
                &ios_with(&[("expo-expect-signature", "sig, keyid=\"root\"")]),
            ),
            Some("chain-leaf.pem"),
        ),
        (
            "json signed",
            signed(&ios_with(&[EXPECT_MAIN, ("accept", "application/json")])),
            Some("expo-certificate.pem"),
        ),
        ("filters", call_with(&fx.configured, "GET", &IOS), None),
        (
            "branch",
            signed(&[
                ("expo-protocol-version", "1"),
                ("expo-platform", "ios"),
                ("expo-runtime-version", "branch"),
                EXPECT_MAIN,
            ]),
            Some("expo-certificate.pem"),
        ),
    ];
    let input: Vec<Value> = batch
        .iter()
        .map(|(_, answer, certificate)| {
            let headers: serde_json::Map<String, Value> = answer
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), Value::from(v.to_str().unwrap())))
                .collect();
            json!({
                "contentType": answer.content_type(),
                "body": b64(&answer.body),
                "headers": headers,
                "certificate": certificate.map(fixture_key),
            })
        })
        .collect();
    let input = serde_json::to_vec(&input).unwrap();
    let node_modules = manifest_dir().join("interop/node_modules");
    let node = if node_modules.exists() {
        run_tool("node", &["check.js"], &input)
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "run npm ci in interop/"
        );
        eprintln!("SKIPPED: no interop/node_modules (run npm ci in crates/expo-updates/interop)");
        None
    };
    let python = run_tool("python3", &["parse_email.py"], &input);

    for (index, (label, answer, certificate)) in batch.iter().enumerate() {
        let multipart = answer.content_type().starts_with("multipart/");
        let ours: Vec<(String, String)> = if multipart {
            answer
                .parts()
                .iter()
                .map(|p| (p.name().unwrap().to_owned(), b64(p.body())))
                .collect()
        } else {
            Vec::new()
        };
        if let Some(node) = &node {
            let result = &node[index];
            assert_eq!(result["ok"], true, "{label}: {result}");
            let theirs: Vec<(String, String)> = result["parts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_owned(),
                        p["body"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            assert_eq!(theirs, ours, "{label}: @expo/multipart-body-parser");
            let signatures: Vec<&Value> = result["parts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| &p["signature"])
                .chain([&result["signature"]])
                .filter(|s| !s.is_null())
                .collect();
            assert_eq!(
                !signatures.is_empty(),
                certificate.is_some(),
                "{label}: {result}"
            );
            for signature in signatures {
                assert_eq!(signature["verified"], true, "{label}: {signature}");
                assert_eq!(signature["alg"], "rsa-v1_5-sha256", "{label}");
            }
            if *label == "filters" {
                assert_eq!(
                    result["sfv"]["expo-manifest-filters"],
                    json!([["branch", "main"]])
                );
                assert_eq!(
                    result["sfv"]["expo-server-defined-headers"],
                    json!([["expo-cohort", "beta"]])
                );
            }
            if *label == "branch" {
                // structured-headers reads the filters, and the manifest Expo's parser
                // extracted passes them the way expo-updates judges them.
                assert_eq!(
                    result["sfv"]["expo-manifest-filters"],
                    json!([["branchname", "production"]])
                );
                assert_eq!(result["filtersPass"], true, "{result}");
                // One entry of asset request headers per asset key of the manifest.
                assert_eq!(result["assetHeaderKeys"], result["assetKeys"], "{result}");
                assert!(!result["assetKeys"].as_array().unwrap().is_empty());
            }
            if *label == "signed next" {
                assert_eq!(result["parts"][0]["signature"]["keyid"], "next");
            }
        }
        if let Some(python) = &python
            && multipart
        {
            let result = &python[index];
            assert_eq!(result["ok"], true, "{label}: {result}");
            assert_eq!(result["defects"], json!([]), "{label}: {result}");
            let theirs: Vec<(String, String)> = result["parts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_owned(),
                        p["body"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            assert_eq!(theirs, ours, "{label}: Python email");
        }
    }
}
