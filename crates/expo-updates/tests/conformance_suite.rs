//! The conformance suite against a small in-process server that is correct until told to
//! break one rule: each fault must make exactly the matching check fail, every check must
//! be shown to fail at least once, and the correct server must pass everything.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::io::Write as _;

use base64::Engine as _;
use bytes::Bytes;
use expo_codesign::Signer;
use expo_updates::conformance::{
    CHECKS, Certificate, Group, Options, Outcome, Report, Transport, run,
};
use http::{Request, Response};
use serde_json::json;
use sha2::Digest as _;

const BOUNDARY: &str = "expo-conformance-boundary";
const RUNTIME: &str = "1.0.0";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../expo-codesign/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

/// One rule broken at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    NoSfvVersionHeader,
    ManifestPartTextPlain,
    MultipartForJson,
    JsonForMultipart,
    IgnoresQValues,
    No406,
    AcceptsProtocolOne,
    DefaultsPlatform,
    AcceptsAnyPlatform,
    DefaultsRuntimeVersion,
    RuntimeVersionAsPath,
    NotFoundForNoUpdate,
    IgnoresCurrentUpdateId,
    CaseSensitiveCurrentUpdateId,
    WrongSignature,
    WrongKeyid,
    UnsignedDirective,
    CapitalizedSignatureHeader,
    Preamble,
    NoFinalCrlf,
    ContentTypeTwice,
    CorruptIdentity,
    CorruptGzip,
    CorruptBrotli,
    NoBrotli,
    NoGzip,
    NoAssetContentType,
    NoManifestCacheControl,
    NoAssetCacheControl,
    WrongRange,
    DropsOldAssets,
    FiltersMetadataDisagree,
    ReservedServerDefinedHeader,
    HeadersForUnknownAssetKey,
}

impl Fault {
    const ALL: [Fault; 34] = [
        Fault::NoSfvVersionHeader,
        Fault::ManifestPartTextPlain,
        Fault::MultipartForJson,
        Fault::JsonForMultipart,
        Fault::IgnoresQValues,
        Fault::No406,
        Fault::AcceptsProtocolOne,
        Fault::DefaultsPlatform,
        Fault::AcceptsAnyPlatform,
        Fault::DefaultsRuntimeVersion,
        Fault::RuntimeVersionAsPath,
        Fault::NotFoundForNoUpdate,
        Fault::IgnoresCurrentUpdateId,
        Fault::CaseSensitiveCurrentUpdateId,
        Fault::WrongSignature,
        Fault::WrongKeyid,
        Fault::UnsignedDirective,
        Fault::CapitalizedSignatureHeader,
        Fault::Preamble,
        Fault::NoFinalCrlf,
        Fault::ContentTypeTwice,
        Fault::CorruptIdentity,
        Fault::CorruptGzip,
        Fault::CorruptBrotli,
        Fault::NoBrotli,
        Fault::NoGzip,
        Fault::NoAssetContentType,
        Fault::NoManifestCacheControl,
        Fault::NoAssetCacheControl,
        Fault::WrongRange,
        Fault::DropsOldAssets,
        Fault::FiltersMetadataDisagree,
        Fault::ReservedServerDefinedHeader,
        Fault::HeadersForUnknownAssetKey,
    ];

    /// The one check this fault must fail.
    fn check(self) -> &'static str {
        match self {
            Fault::NoSfvVersionHeader => "manifest-answer",
            Fault::ManifestPartTextPlain => "manifest-body",
            Fault::MultipartForJson => "accept-json",
            Fault::JsonForMultipart => "accept-multipart",
            Fault::IgnoresQValues => "accept-qvalues",
            Fault::No406 => "accept-406",
            Fault::AcceptsProtocolOne => "protocol-version-invalid",
            Fault::DefaultsPlatform => "platform-missing",
            Fault::AcceptsAnyPlatform => "platform-invalid",
            Fault::DefaultsRuntimeVersion => "runtime-version-missing",
            Fault::RuntimeVersionAsPath => "runtime-version-path",
            Fault::NotFoundForNoUpdate => "no-update-unknown-runtime",
            Fault::IgnoresCurrentUpdateId => "no-update-current",
            Fault::CaseSensitiveCurrentUpdateId => "current-update-id-case",
            Fault::WrongSignature => "signature-manifest",
            Fault::WrongKeyid => "signature-keyid",
            Fault::UnsignedDirective => "signature-directive",
            Fault::CapitalizedSignatureHeader => "signature-part-header-case",
            Fault::Preamble => "multipart-opening",
            Fault::NoFinalCrlf => "multipart-closing",
            Fault::ContentTypeTwice => "multipart-part-headers",
            Fault::CorruptIdentity => "asset-identity",
            Fault::CorruptGzip => "asset-gzip",
            Fault::CorruptBrotli => "asset-br",
            Fault::NoBrotli => "asset-br-offered",
            Fault::NoGzip => "asset-gzip-offered",
            Fault::NoAssetContentType => "asset-content-type",
            Fault::NoManifestCacheControl => "cache-manifest",
            Fault::NoAssetCacheControl => "cache-assets",
            Fault::WrongRange => "range-asset",
            Fault::DropsOldAssets => "asset-urls-stable",
            Fault::FiltersMetadataDisagree => "manifest-filters",
            Fault::ReservedServerDefinedHeader => "server-defined-headers",
            Fault::HeadersForUnknownAssetKey => "asset-request-headers",
        }
    }
}

/// A small Expo Updates server, correct unless given a fault. Generation 2 is a second
/// publish with new assets.
struct TestServer {
    fault: Option<Fault>,
    generation: Cell<u8>,
    signer: Signer,
    /// Every request seen, for the tests on what the suite sends.
    seen: RefCell<Vec<Request<()>>>,
}

struct AssetFile {
    key: String,
    path: String,
    content_type: &'static str,
    bytes: Vec<u8>,
}

fn b64url_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(bytes))
}

impl TestServer {
    fn new(fault: Option<Fault>) -> Self {
        let (signer, _) = Signer::from_pem("main", &fixture("expo-private-key.pem"), None).unwrap();
        TestServer {
            fault,
            generation: Cell::new(1),
            signer,
            seen: RefCell::new(Vec::new()),
        }
    }

    fn has(&self, fault: Fault) -> bool {
        self.fault == Some(fault)
    }

    fn assets(generation: u8, platform: &str) -> Vec<AssetFile> {
        vec![
            AssetFile {
                key: format!("bundle-{platform}-{generation}"),
                path: format!("/assets/bundle-{platform}-{generation}"),
                content_type: "application/javascript",
                bytes: format!("var update = {generation}; // {platform}\n")
                    .repeat(80)
                    .into_bytes(),
            },
            AssetFile {
                key: format!("image-{generation}"),
                path: format!("/assets/image-{generation}"),
                content_type: "image/png",
                bytes: (0..=255u8)
                    .cycle()
                    .take(3000 + usize::from(generation))
                    .collect(),
            },
        ]
    }

    fn update_id(generation: u8, platform: &str) -> String {
        let p = if platform == "ios" { 1 } else { 2 };
        format!("0754dad0-d200-4634-813c-ef1f2610{generation:02}{p:02}")
    }

    fn manifest(generation: u8, platform: &str) -> Vec<u8> {
        let asset = |a: &AssetFile| {
            json!({
                "key": a.key, "hash": b64url_sha256(&a.bytes), "contentType": a.content_type,
                "url": format!("https://updates.test{}", a.path),
            })
        };
        let assets = Self::assets(generation, platform);
        serde_json::to_vec(&json!({
            "id": Self::update_id(generation, platform),
            "createdAt": "2026-01-31T12:34:56.789Z",
            "runtimeVersion": RUNTIME,
            "launchAsset": asset(&assets[0]),
            "assets": [asset(&assets[1])],
            // EAS's spelling: the filter key is the lower-cased metadata key.
            "metadata": {"branchName": "main"},
            "extra": {"expoClient": {"name": "test"}},
        }))
        .unwrap()
    }

    fn handle(&self, request: &Request<()>) -> Response<Bytes> {
        let path = request.uri().path().to_owned();
        if path.starts_with("/assets/") {
            return self.asset(request, &path);
        }
        self.manifest_answer(request)
    }

    fn status(code: u16) -> Response<Bytes> {
        Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .header("expo-protocol-version", "1")
            .header("expo-sfv-version", "0")
            .body(Bytes::from_static(br#"{"error":{"message":"refused"}}"#))
            .unwrap()
    }

    /// The structure chosen by `accept`: `Some(true)` multipart, `Some(false)` JSON.
    fn negotiate(&self, accept: &str) -> Option<bool> {
        let mut best: Option<(f32, bool)> = None;
        for item in accept.split(',') {
            let mut pieces = item.split(';');
            let media = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .map(|v| v.parse::<f32>().unwrap_or(0.0))
                })
                .unwrap_or(1.0);
            let multipart = match media.as_str() {
                "multipart/mixed" | "*/*" => true,
                "application/expo+json" | "application/json" => false,
                _ => continue,
            };
            if self.has(Fault::IgnoresQValues) {
                return Some(multipart);
            }
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, multipart));
            }
        }
        match best.map(|(_, m)| m) {
            Some(false) if self.has(Fault::MultipartForJson) => Some(true),
            Some(true) if self.has(Fault::JsonForMultipart) && !accept.contains(',') => Some(false),
            None if self.has(Fault::No406) => Some(true),
            other => other,
        }
    }

    fn manifest_answer(&self, request: &Request<()>) -> Response<Bytes> {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        match header("expo-protocol-version") {
            Some("1") => {}
            Some("one") if self.has(Fault::AcceptsProtocolOne) => {}
            _ => return Self::status(400),
        }
        let platform = match header("expo-platform") {
            Some(p @ ("ios" | "android")) => p.to_owned(),
            None if self.has(Fault::DefaultsPlatform) => "ios".to_owned(),
            Some(_) if self.has(Fault::AcceptsAnyPlatform) => "ios".to_owned(),
            _ => return Self::status(400),
        };
        let runtime = match header("expo-runtime-version") {
            Some(r) if r.contains('/') && self.has(Fault::RuntimeVersionAsPath) => {
                r.rsplit('/').next().unwrap_or("").to_owned()
            }
            Some(r) if r.contains('/') => return Self::status(400),
            Some(r) => r.to_owned(),
            None if self.has(Fault::DefaultsRuntimeVersion) => RUNTIME.to_owned(),
            None => return Self::status(400),
        };
        let Some(multipart) = self.negotiate(header("accept").unwrap_or("*/*")) else {
            return Self::status(406);
        };
        let mut builder = Response::builder()
            .header("expo-protocol-version", "1")
            .header("cache-control", "private, max-age=0");
        if !self.has(Fault::NoSfvVersionHeader) {
            builder = builder.header("expo-sfv-version", "0");
        }
        if self.has(Fault::NoManifestCacheControl) {
            builder.headers_mut().unwrap().remove("cache-control");
        }
        let branch = if self.has(Fault::FiltersMetadataDisagree) {
            "other"
        } else {
            "main"
        };
        builder = builder.header("expo-manifest-filters", format!("branchname=\"{branch}\""));
        let defined = if self.has(Fault::ReservedServerDefinedHeader) {
            r#"x-cohort="beta", expo-channel-name="beta""#
        } else {
            r#"x-cohort="beta""#
        };
        builder = builder.header("expo-server-defined-headers", defined);
        if runtime != RUNTIME {
            let code = if self.has(Fault::NotFoundForNoUpdate) {
                404
            } else {
                204
            };
            return builder.status(code).body(Bytes::new()).unwrap();
        }
        let generation = self.generation.get();
        let id = Self::update_id(generation, &platform);
        let current = header("expo-current-update-id");
        let up_to_date = match current {
            _ if self.has(Fault::IgnoresCurrentUpdateId) => false,
            Some(c) if self.has(Fault::CaseSensitiveCurrentUpdateId) => c == id,
            Some(c) => c.eq_ignore_ascii_case(&id),
            None => false,
        };
        let keyid = header("expo-expect-signature").map(|v| {
            v.split("keyid=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("main")
                .to_owned()
        });
        let sign = |body: &[u8], directive: bool| -> Option<String> {
            let keyid = keyid.as_ref()?;
            if directive && self.has(Fault::UnsignedDirective) {
                return None;
            }
            let signed = if self.has(Fault::WrongSignature) && !directive {
                [body, b" "].concat()
            } else {
                body.to_vec()
            };
            let keyid = if self.has(Fault::WrongKeyid) {
                "other"
            } else {
                keyid.as_str()
            };
            Some(format!(
                "sig=\"{}\", keyid=\"{keyid}\", alg=\"rsa-v1_5-sha256\"",
                self.signer.sign(&signed).unwrap()
            ))
        };
        if up_to_date && !multipart {
            return builder.status(204).body(Bytes::new()).unwrap();
        }
        if !multipart {
            let body = Self::manifest(generation, &platform);
            if let Some(signature) = sign(&body, false) {
                builder = builder.header("expo-signature", signature);
            }
            return builder
                .status(200)
                .header("content-type", "application/expo+json")
                .body(Bytes::from(body))
                .unwrap();
        }
        let (name, body) = if up_to_date {
            ("directive", br#"{"type":"noUpdateAvailable"}"#.to_vec())
        } else {
            ("manifest", Self::manifest(generation, &platform))
        };
        let mut out = Vec::new();
        if self.has(Fault::Preamble) {
            out.extend_from_slice(b"\r\n");
        }
        let content_type = if self.has(Fault::ManifestPartTextPlain) && name == "manifest" {
            "text/plain"
        } else {
            "application/json; charset=utf-8"
        };
        write!(out, "--{BOUNDARY}\r\ncontent-type: {content_type}\r\n").unwrap();
        if self.has(Fault::ContentTypeTwice) {
            write!(out, "content-type: {content_type}\r\n").unwrap();
        }
        write!(out, "content-disposition: form-data; name=\"{name}\"\r\n").unwrap();
        if let Some(signature) = sign(&body, name == "directive") {
            let spelling = if self.has(Fault::CapitalizedSignatureHeader) {
                "Expo-Signature"
            } else {
                "expo-signature"
            };
            write!(out, "{spelling}: {signature}\r\n").unwrap();
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&body);
        let mut asset_headers = serde_json::Map::new();
        for asset in Self::assets(generation, &platform) {
            asset_headers.insert(
                asset.key.clone(),
                json!({"x-cdn-token": format!("t-{}", asset.key)}),
            );
        }
        if self.has(Fault::HeadersForUnknownAssetKey) {
            asset_headers.insert("no-such-key".to_owned(), json!({"x-cdn-token": "t"}));
        }
        let extensions = json!({"assetRequestHeaders": asset_headers});
        write!(
            out,
            "\r\n--{BOUNDARY}\r\ncontent-type: application/json\r\ncontent-disposition: form-data; name=\"extensions\"\r\n\r\n{extensions}\r\n--{BOUNDARY}--"
        )
        .unwrap();
        if !self.has(Fault::NoFinalCrlf) {
            out.extend_from_slice(b"\r\n");
        }
        builder
            .status(200)
            .header(
                "content-type",
                format!("multipart/mixed; boundary={BOUNDARY}"),
            )
            .body(Bytes::from(out))
            .unwrap()
    }

    fn asset(&self, request: &Request<()>, path: &str) -> Response<Bytes> {
        let generations: &[u8] = match self.generation.get() {
            2 if self.has(Fault::DropsOldAssets) => &[2],
            2 => &[1, 2],
            _ => &[1],
        };
        let file = generations
            .iter()
            .flat_map(|&g| ["ios", "android"].map(|p| Self::assets(g, p)))
            .flatten()
            .find(|a| a.path == path);
        let Some(file) = file else {
            return Self::status(404);
        };
        let accept_encoding = request
            .headers()
            .get("accept-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let coding = if accept_encoding.contains("br") && !self.has(Fault::NoBrotli) {
            "br"
        } else if accept_encoding.contains("gzip") && !self.has(Fault::NoGzip) {
            "gzip"
        } else {
            "identity"
        };
        let mut bytes = file.bytes.clone();
        let corrupt = match coding {
            "br" => self.has(Fault::CorruptBrotli),
            "gzip" => self.has(Fault::CorruptGzip),
            _ => self.has(Fault::CorruptIdentity),
        };
        if corrupt {
            bytes[0] ^= 1;
        }
        let body = match coding {
            "br" => {
                let mut out = Vec::new();
                brotli::BrotliCompress(
                    &mut bytes.as_slice(),
                    &mut out,
                    &brotli::enc::BrotliEncoderParams::default(),
                )
                .unwrap();
                out
            }
            "gzip" => {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&bytes).unwrap();
                gz.finish().unwrap()
            }
            _ => bytes,
        };
        let mut builder = Response::builder().status(200);
        if !self.has(Fault::NoAssetContentType) {
            builder = builder.header("content-type", file.content_type);
        }
        if !self.has(Fault::NoAssetCacheControl) {
            builder = builder.header("cache-control", "public, max-age=31536000, immutable");
        }
        if coding != "identity" {
            builder = builder.header("content-encoding", coding);
        }
        if coding == "identity"
            && let Some(range) = request.headers().get("range").and_then(|v| v.to_str().ok())
            && let Some((start, end)) = range.strip_prefix("bytes=").and_then(|r| r.split_once('-'))
        {
            let start: usize = start.parse().unwrap();
            let end = end.parse::<usize>().unwrap().min(body.len() - 1);
            let shift = usize::from(self.has(Fault::WrongRange));
            return builder
                .status(206)
                .header(
                    "content-range",
                    format!("bytes {start}-{end}/{}", body.len()),
                )
                .body(Bytes::copy_from_slice(&body[start + shift..=end + shift]))
                .unwrap();
        }
        builder.body(Bytes::from(body)).unwrap()
    }
}

impl Transport for TestServer {
    async fn send(&self, request: Request<()>) -> Result<Response<Bytes>, String> {
        let response = self.handle(&request);
        self.seen.borrow_mut().push(request);
        Ok(response)
    }
}

fn options() -> Options {
    let mut options = Options::new("https://updates.test/manifest", RUNTIME);
    options.certificate =
        Some(Certificate::from_pem(&fixture("expo-certificate.pem"), "main").unwrap());
    options.allow_mutations = true;
    options
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

/// A first run, a publish, and a second run given the first one's state.
fn two_phases(server: &TestServer, options: &Options) -> (Report, Report) {
    server.generation.set(1);
    let first = block_on(run(server, options));
    server.generation.set(2);
    let mut second_options = options.clone();
    second_options.previous = Some(first.state.clone());
    let second = block_on(run(server, &second_options));
    (first, second)
}

fn failures(report: &Report) -> String {
    report
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Fail)
        .map(|f| format!("{} {}: {}", f.check.id, f.subject, f.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_correct_server_passes_every_check() {
    let server = TestServer::new(None);
    let (first, second) = two_phases(&server, &options());
    for report in [&first, &second] {
        assert_eq!(
            report.errors() + report.warnings(),
            0,
            "{}",
            failures(report)
        );
    }
    let passed: BTreeSet<&str> = first.passed().union(&second.passed()).copied().collect();
    let all: BTreeSet<&str> = CHECKS.iter().map(|c| c.id).collect();
    let never: Vec<_> = all.difference(&passed).collect();
    assert!(
        never.is_empty(),
        "never passed: {never:?}\n{}",
        second.to_text()
    );
    assert_eq!(first.state.updates.len(), 2);
    assert_eq!(second.state.updates[0].id, TestServer::update_id(2, "ios"));
}

#[test]
fn each_fault_fails_exactly_its_check_and_every_check_fails_once() {
    let mut shown = BTreeSet::new();
    for fault in Fault::ALL {
        let server = TestServer::new(Some(fault));
        let (first, second) = two_phases(&server, &options());
        let expected = BTreeSet::from([fault.check()]);
        assert_eq!(
            second.failed(),
            expected,
            "{fault:?}:\n{}",
            failures(&second)
        );
        assert!(
            first.failed().is_subset(&expected),
            "{fault:?} before the publish:\n{}",
            failures(&first)
        );
        let level = expo_updates::conformance::CHECKS
            .iter()
            .find(|c| c.id == fault.check())
            .unwrap()
            .level;
        assert_eq!(second.errors() > 0, level.is_error(), "{fault:?}");
        assert_eq!(second.warnings() > 0, !level.is_error(), "{fault:?}");
        shown.insert(fault.check());
    }
    let all: BTreeSet<&str> = CHECKS.iter().map(|c| c.id).collect();
    let never: Vec<_> = all.difference(&shown).collect();
    assert!(never.is_empty(), "checks never shown to fail: {never:?}");
}

#[test]
fn a_certificate_of_another_key_fails_the_signatures() {
    let server = TestServer::new(None);
    let mut options = options();
    options.certificate =
        Some(Certificate::from_pem(&fixture("rsa2048-certificate.pem"), "main").unwrap());
    let report = block_on(run(&server, &options));
    assert_eq!(
        report.failed(),
        BTreeSet::from(["signature-directive", "signature-manifest"]),
        "{}",
        failures(&report)
    );
}

#[test]
fn without_mutations_no_request_reports_device_state() {
    let server = TestServer::new(None);
    let mut options = options();
    options.allow_mutations = false;
    let report = block_on(run(&server, &options));
    assert_eq!(
        report.errors() + report.warnings(),
        0,
        "{}",
        failures(&report)
    );
    assert!(report.requests > 10);
    for request in server.seen.borrow().iter() {
        assert_eq!(request.method(), http::Method::GET);
        assert!(!request.headers().contains_key("expo-current-update-id"));
    }
    let skipped: BTreeSet<_> = report
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Skip)
        .map(|f| f.check.id)
        .collect();
    assert!(skipped.contains("no-update-current"), "{skipped:?}");
    assert!(skipped.contains("current-update-id-case"), "{skipped:?}");
}

#[test]
fn the_request_budget_is_never_exceeded() {
    for max in [0, 1, 5, 17] {
        let server = TestServer::new(None);
        let mut options = options();
        options.max_requests = max;
        let report = block_on(run(&server, &options));
        assert_eq!(server.seen.borrow().len(), max);
        assert_eq!(report.requests, max);
        assert_eq!(
            report.errors() + report.warnings(),
            0,
            "{}",
            failures(&report)
        );
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.outcome == Outcome::Skip && f.message.contains("budget")),
            "{}",
            report.to_text()
        );
    }
}

#[test]
fn only_and_skip_select_groups() {
    let server = TestServer::new(Some(Fault::NoGzip));
    let mut options = options();
    options.only = vec![Group::Assets, Group::Caching];
    options.skip = vec![Group::Caching];
    let report = block_on(run(&server, &options));
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.check.group == Group::Assets)
    );
    assert_eq!(report.failed(), BTreeSet::from(["asset-gzip-offered"]));
    // The manifest requests and one per asset and encoding, nothing else.
    assert_eq!(report.requests, 2 + 3 * 3);

    let server = TestServer::new(Some(Fault::NoGzip));
    options.only.clear();
    options.skip = vec![Group::Assets];
    let report = block_on(run(&server, &options));
    assert!(report.failed().is_empty(), "{}", failures(&report));
}

#[test]
fn the_json_report_names_rule_level_and_source() {
    let server = TestServer::new(Some(Fault::NoFinalCrlf));
    let report = block_on(run(&server, &options()));
    let json = report.to_json();
    let failed: Vec<_> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] == "fail")
        .collect();
    assert!(!failed.is_empty());
    for finding in failed {
        assert_eq!(finding["id"], "multipart-closing");
        assert_eq!(finding["group"], "multipart");
        assert_eq!(finding["level"], "client-needs");
        assert!(
            finding["source"]
                .as_str()
                .unwrap()
                .contains("Multipart response")
        );
    }
    assert_eq!(json["errors"], report.errors());
    assert!(report.to_text().contains("ERROR multipart-closing"));
}

/// A server answering whatever it is given: arbitrary statuses, content types, encodings
/// and bytes, including manifests whose asset URLs lead back to it.
struct HostileServer {
    answers: Vec<(u16, String, Option<String>, Vec<u8>)>,
    next: Cell<usize>,
}

impl Transport for HostileServer {
    async fn send(&self, _: Request<()>) -> Result<Response<Bytes>, String> {
        let index = self.next.get();
        self.next.set(index + 1);
        if self.answers.is_empty() {
            return Err("connection reset".to_owned());
        }
        let (status, content_type, encoding, body) = &self.answers[index % self.answers.len()];
        let mut builder = Response::builder()
            .status(*status)
            .header("content-type", content_type.as_str())
            .header("expo-signature", "sig=:!!:, keyid=1");
        if let Some(encoding) = encoding {
            builder = builder.header("content-encoding", encoding.as_str());
        }
        builder
            .body(Bytes::from(body.clone()))
            .map_err(|e| e.to_string())
    }
}

fn hostile_manifest(url: &str, hash: &str) -> Vec<u8> {
    let asset = json!({"key": "k", "hash": hash, "contentType": "a/b", "url": url});
    serde_json::to_vec(&json!({
        "id": "0754dad0-d200-4634-813c-ef1f26100101", "createdAt": "x",
        "runtimeVersion": RUNTIME, "launchAsset": asset, "assets": [asset, 7, null],
        "metadata": {}, "extra": {},
    }))
    .unwrap()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn a_hostile_server_gets_findings_never_a_panic_nor_more_requests(
        answers in proptest::collection::vec(
            (
                proptest::sample::select(vec![200u16, 204, 206, 304, 400, 404, 406, 500]),
                proptest::sample::select(vec![
                    "multipart/mixed; boundary=b".to_owned(),
                    "multipart/mixed".to_owned(),
                    "multipart/mixed; boundary=\"\"".to_owned(),
                    "application/json".to_owned(),
                    "application/expo+json".to_owned(),
                    "text/html".to_owned(),
                ]),
                proptest::option::of(proptest::sample::select(vec![
                    "gzip".to_owned(), "br".to_owned(), "zstd".to_owned(), "identity".to_owned(),
                ])),
                proptest::prop_oneof![
                    proptest::collection::vec(proptest::num::u8::ANY, 0..64),
                    proptest::sample::select(vec![
                        b"--b\r\n\r\n{}\r\n--b--\r\n".to_vec(),
                        b"--b\r\ncontent-disposition: x; name=manifest\r\n\r\n[]\r\n--b--".to_vec(),
                        b"--b\r\ncontent-disposition: x; name=directive\r\n\r\n\"x\"\r\n--b--\r\n".to_vec(),
                        b"--b\r\n\r\nnever closed".to_vec(),
                        b"--b".to_vec(),
                        hostile_manifest("https://updates.test/a", "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"),
                        hostile_manifest("relative/url", "x"),
                        hostile_manifest("https://updates.test/\u{0}", ""),
                    ]),
                ],
            ),
            0..12,
        ),
        max in 0usize..60,
    ) {
        let server = HostileServer { answers, next: Cell::new(0) };
        let mut options = options();
        options.max_requests = max;
        let report = block_on(run(&server, &options));
        proptest::prop_assert!(report.requests <= max);
        proptest::prop_assert!(server.next.get() <= max);
        let _ = report.to_text();
        let _ = report.to_json();
    }
}

/// An empty launch asset (its hash is the empty string's), answered 206 to a range.
struct EmptyAssetServer;

impl Transport for EmptyAssetServer {
    async fn send(&self, request: Request<()>) -> Result<Response<Bytes>, String> {
        let builder = Response::builder()
            .header("expo-protocol-version", "1")
            .header("expo-sfv-version", "0");
        let (status, body) = if request.uri().path() == "/manifest" {
            (
                200,
                hostile_manifest(
                    "https://updates.test/empty",
                    "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
                ),
            )
        } else if request.headers().contains_key("range") {
            (206, Vec::new())
        } else {
            (200, Vec::new())
        };
        builder
            .status(status)
            .header("content-type", "application/json")
            .body(Bytes::from(body))
            .map_err(|e| e.to_string())
    }
}

#[test]
fn an_empty_asset_is_checked_without_a_range() {
    let report = block_on(run(&EmptyAssetServer, &options()));
    assert!(
        report.passed().contains("asset-identity"),
        "{}",
        report.to_text()
    );
    assert!(!report.findings.iter().any(|f| f.check.id == "range-asset"));
}
