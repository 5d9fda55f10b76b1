//! A client-side checker, transport-agnostic: build the requests a real
//! client sends, hand them to any HTTP client, and check the answers the way
//! an Expo client would, collecting every finding instead of stopping at the
//! first.
//!
//! # Examples
//!
//! ```
//! use expo_manifest::{Platform, RuntimeVersion};
//! use expo_updates::client::{ManifestQuery, check_manifest_response};
//!
//! let query = ManifestQuery::new(Platform::Ios, RuntimeVersion::new("1.0.0")?);
//! let request = query.to_request("https://updates.example.com/manifest")?;
//! assert_eq!(request.headers()["expo-platform"], "ios");
//!
//! // ... send it; here, a server with nothing to offer:
//! let response = http::Response::builder()
//!     .status(204)
//!     .header("expo-protocol-version", "1")
//!     .header("expo-sfv-version", "0")
//!     .header("cache-control", "private, max-age=0")
//!     .body(bytes::Bytes::new())?;
//! let report = check_manifest_response(&query, &response, None);
//! assert!(report.is_ok(), "{:?}", report.findings);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;
use expo_codesign::Verifier;
use expo_manifest::{
    Asset, AssetHash, Directive, Extensions, Manifest, Platform, RuntimeVersion, Timestamp,
    UpdateId,
};
use expo_multipart::{Limits, Part};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};

use crate::headers as h;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; nothing wrong.
    Info,
    /// Works with the reference clients but is not recommended.
    Warning,
    /// A client would fail or reject the answer.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One observation about an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// What was found, for people.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.severity, self.message)
    }
}

/// What to ask the server, as a client configured this way would.
#[derive(Debug, Clone)]
pub struct ManifestQuery {
    /// `expo-platform`.
    pub platform: Platform,
    /// `expo-runtime-version`.
    pub runtime_version: RuntimeVersion,
    /// `expo-channel-name`.
    pub channel: Option<String>,
    /// Ask for a signature (`expo-expect-signature`) by this keyid.
    pub expect_signature: Option<String>,
    /// The `accept` header; the reference clients' list by default.
    pub accept: String,
    /// `expo-current-update-id`.
    pub current_update_id: Option<UpdateId>,
    /// `expo-embedded-update-id`.
    pub embedded_update_id: Option<UpdateId>,
}

impl ManifestQuery {
    /// A query for a platform and runtime version, accepting every structure.
    pub fn new(platform: Platform, runtime_version: RuntimeVersion) -> Self {
        ManifestQuery {
            platform,
            runtime_version,
            channel: None,
            expect_signature: None,
            accept: "multipart/mixed,application/expo+json,application/json".to_owned(),
            current_update_id: None,
            embedded_update_id: None,
        }
    }

    /// The GET request to `url`, with the headers a client sends.
    pub fn to_request(&self, url: &str) -> Result<Request<()>, http::Error> {
        let mut builder = Request::get(url)
            .header("accept", self.accept.as_str())
            .header(h::names::EXPO_PROTOCOL_VERSION, "1")
            .header(h::names::EXPO_PLATFORM, self.platform.as_str())
            .header(
                h::names::EXPO_RUNTIME_VERSION,
                self.runtime_version.as_str(),
            );
        if let Some(channel) = &self.channel {
            builder = builder.header(h::names::EXPO_CHANNEL_NAME, channel.as_str());
        }
        if let Some(keyid) = &self.expect_signature {
            let mut dict = expo_sfv::Dictionary::new();
            let _ = dict.insert("sig", true);
            let _ = dict.insert("keyid", keyid.as_str());
            let _ = dict.insert("alg", expo_codesign::ALGORITHM);
            builder = builder.header(h::names::EXPO_EXPECT_SIGNATURE, dict.to_header_value());
        }
        if let Some(id) = self.current_update_id {
            builder = builder.header(h::names::EXPO_CURRENT_UPDATE_ID, id.to_string());
        }
        if let Some(id) = self.embedded_update_id {
            builder = builder.header(h::names::EXPO_EMBEDDED_UPDATE_ID, id.to_string());
        }
        builder.body(())
    }
}

/// The GET request for an asset, with the headers `assetRequestHeaders`
/// gives it. It asks for `identity` so the bytes can be hashed as received.
pub fn asset_request(
    asset: &Asset,
    extensions: Option<&Extensions>,
) -> Result<Request<()>, http::Error> {
    let mut builder = Request::get(asset.url.as_str())
        .header("accept", format!("{}, */*", asset.content_type))
        .header("accept-encoding", "identity");
    if let Some(headers) = extensions.and_then(|e| e.asset_request_headers.get(&asset.key)) {
        for (name, value) in headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    builder.body(())
}

/// What the server answered, as far as it could be read.
#[derive(Debug, Clone, PartialEq)]
pub enum ManifestAnswer {
    /// An update.
    Update {
        /// Its manifest.
        manifest: Box<Manifest>,
        /// Its extensions, when sent.
        extensions: Option<Extensions>,
    },
    /// A directive.
    Directive(Directive),
    /// Nothing to do (204 or an empty multipart body).
    NoUpdate,
}

/// The outcome of [`check_manifest_response`].
#[derive(Debug, Clone, Default)]
pub struct ManifestReport {
    /// The answer, when it could be read.
    pub answer: Option<ManifestAnswer>,
    /// Everything noticed, in the order checked.
    pub findings: Vec<Finding>,
}

impl ManifestReport {
    /// Whether no finding is an [`Severity::Error`].
    pub fn is_ok(&self) -> bool {
        self.findings.iter().all(|f| f.severity < Severity::Error)
    }

    /// The manifest, when the answer is an update.
    pub fn manifest(&self) -> Option<&Manifest> {
        match &self.answer {
            Some(ManifestAnswer::Update { manifest, .. }) => Some(manifest),
            _ => None,
        }
    }

    /// The extensions, when the answer carries some.
    pub fn extensions(&self) -> Option<&Extensions> {
        match &self.answer {
            Some(ManifestAnswer::Update { extensions, .. }) => extensions.as_ref(),
            _ => None,
        }
    }

    fn push(&mut self, severity: Severity, message: impl Into<String>) {
        self.findings.push(Finding {
            severity,
            message: message.into(),
        });
    }
}

/// Checks a manifest answer to `query`: status, common headers, structure,
/// manifest fields, directive, and the signature (verified with `verifier`
/// when given).
pub fn check_manifest_response(
    query: &ManifestQuery,
    response: &Response<Bytes>,
    verifier: Option<&Verifier>,
) -> ManifestReport {
    let mut report = ManifestReport::default();
    let headers = response.headers();
    check_common_headers(headers, &mut report);
    match response.status() {
        StatusCode::NO_CONTENT => {
            if headers.contains_key(http::header::CONTENT_TYPE) {
                report.push(
                    Severity::Warning,
                    "a 204 answer should have no content-type",
                );
            }
            report.answer = Some(ManifestAnswer::NoUpdate);
            return report;
        }
        StatusCode::OK => {}
        status => {
            let detail = crate::ErrorBody::from_json_slice(response.body())
                .map_or_else(|_| String::new(), |error| format!(": {error}"));
            report.push(Severity::Error, format!("status {status}{detail}"));
            return report;
        }
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let signed = query.expect_signature.is_some();
    match media_type.as_str() {
        "multipart/mixed" => check_multipart(query, content_type, response.body(), verifier, &mut report),
        "application/json" | "application/expo+json" => {
            if let Some(manifest) = read_manifest(query, response.body(), &mut report) {
                let signature = headers.get(h::names::EXPO_SIGNATURE).and_then(|v| v.to_str().ok());
                check_signature(query, signature, response.body(), verifier, "manifest", &mut report);
                report.answer = Some(ManifestAnswer::Update {
                    manifest: Box::new(manifest),
                    extensions: None,
                });
            }
        }
        "" => report.push(Severity::Error, "a 200 answer has no content-type"),
        other => report.push(
            Severity::Error,
            format!("content-type {other} is not one of multipart/mixed, application/expo+json, application/json"),
        ),
    }
    if !signed && headers.contains_key(h::names::EXPO_SIGNATURE) {
        report.push(
            Severity::Info,
            "a signature was sent though none was asked for",
        );
    }
    check_update_headers(headers, &mut report);
    report
}

/// What goes with an update: the filters its metadata must pass (clients refuse the
/// manifest otherwise) and asset request headers for its own asset keys.
fn check_update_headers(headers: &HeaderMap, report: &mut ManifestReport) {
    let Some(ManifestAnswer::Update {
        manifest,
        extensions,
    }) = &report.answer
    else {
        return;
    };
    let mut findings = Vec::new();
    if let Some(Ok(filters)) = headers
        .get(h::names::EXPO_MANIFEST_FILTERS)
        .map(expo_sfv::ManifestFilters::try_from)
        && let Some(key) = filters.mismatch(&manifest.metadata)
    {
        findings.push(format!(
            "the manifest metadata does not pass its own filter {key:?} (expo-manifest-filters: {filters}): clients refuse it"
        ));
    }
    let keys: Vec<&str> = std::iter::once(&manifest.launch_asset)
        .chain(&manifest.assets)
        .map(|a| a.key.as_str())
        .collect();
    for (key, asset_headers) in extensions.iter().flat_map(|e| &e.asset_request_headers) {
        if !keys.contains(&key.as_str()) {
            findings.push(format!(
                "assetRequestHeaders names {key:?}, which is no asset key of the manifest"
            ));
        }
        for (name, value) in asset_headers {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err()
                || HeaderValue::from_str(value).is_err()
            {
                findings.push(format!(
                    "assetRequestHeaders[{key:?}]: {name:?} cannot be sent as a header"
                ));
            }
        }
    }
    for finding in findings {
        report.push(Severity::Error, finding);
    }
}

fn check_common_headers(headers: &HeaderMap, report: &mut ManifestReport) {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match text(h::names::EXPO_PROTOCOL_VERSION) {
        Some("1") => {}
        Some(other) => report.push(
            Severity::Error,
            format!("expo-protocol-version is {other:?}, must be 1"),
        ),
        None => report.push(Severity::Error, "expo-protocol-version is missing"),
    }
    match text(h::names::EXPO_SFV_VERSION) {
        Some("0") => {}
        Some(other) => report.push(
            Severity::Error,
            format!("expo-sfv-version is {other:?}, must be 0"),
        ),
        None => report.push(Severity::Error, "expo-sfv-version is missing"),
    }
    match text("cache-control") {
        None => report.push(
            Severity::Warning,
            "cache-control is missing; private, max-age=0 is recommended",
        ),
        Some(value)
            if value.contains("public")
                || !value.contains("max-age=0") && !value.contains("no-") =>
        {
            report.push(
                Severity::Warning,
                format!("cache-control {value:?} may let clients see stale manifests; private, max-age=0 is recommended"),
            );
        }
        Some(_) => {}
    }
    for name in [
        h::names::EXPO_MANIFEST_FILTERS,
        h::names::EXPO_SERVER_DEFINED_HEADERS,
    ] {
        if let Some(value) = headers.get(name) {
            let parsed = value.to_str().ok().map(expo_sfv::Dictionary::parse);
            if !matches!(parsed, Some(Ok(_))) {
                report.push(
                    Severity::Error,
                    format!("{name} is not an Expo SFV dictionary"),
                );
            }
        }
    }
    if let Some(Ok(defined)) = headers
        .get(h::names::EXPO_SERVER_DEFINED_HEADERS)
        .map(expo_sfv::ServerDefinedHeaders::try_from)
        && let Some(key) = defined.reserved_key()
    {
        report.push(
            Severity::Error,
            format!("expo-server-defined-headers defines {key:?}, a request header the client sets itself"),
        );
    }
}

fn check_multipart(
    query: &ManifestQuery,
    content_type: &str,
    body: &Bytes,
    verifier: Option<&Verifier>,
    report: &mut ManifestReport,
) {
    if body.is_empty() {
        report.answer = Some(ManifestAnswer::NoUpdate);
        return;
    }
    if !body.ends_with(b"--\r\n") {
        report.push(
            Severity::Error,
            "the multipart body does not end with CRLF after the close delimiter (the iOS client rejects it)",
        );
    }
    let parts = match expo_multipart::decode(content_type, body, &Limits::default()) {
        Ok(parts) => parts,
        Err(err) => {
            report.push(
                Severity::Error,
                format!("the multipart body cannot be read: {err}"),
            );
            return;
        }
    };
    let find = |name: &str| parts.iter().find(|p| p.name() == Some(name));
    for part in &parts {
        match part.name() {
            Some("manifest" | "directive" | "extensions" | "certificate_chain") => {}
            Some(other) => report.push(
                Severity::Info,
                format!("unknown part {other:?} is ignored by clients"),
            ),
            None => report.push(
                Severity::Warning,
                "a part without a content-disposition name is ignored by clients",
            ),
        }
    }
    if query.expect_signature.is_some()
        && parts
            .iter()
            .any(|p| p.header(h::names::EXPO_SIGNATURE).is_some())
        && !raw_contains(body, b"\r\nexpo-signature:")
    {
        report.push(
            Severity::Error,
            "expo-signature part headers must be spelled in lower case (iOS looks them up case-sensitively)",
        );
    }
    let extensions = find("extensions").and_then(|part| {
        json_part(part, "extensions", report);
        match serde_json::from_slice::<Extensions>(part.body()) {
            Ok(extensions) => Some(extensions),
            Err(err) => {
                report.push(
                    Severity::Error,
                    format!("the extensions part is not valid: {err}"),
                );
                None
            }
        }
    });
    match (find("manifest"), find("directive")) {
        (Some(_), Some(_)) => {
            report.push(
                Severity::Error,
                "both a manifest and a directive part were sent",
            );
        }
        (Some(part), None) => {
            json_part(part, "manifest", report);
            let signature = part
                .header(h::names::EXPO_SIGNATURE)
                .and_then(|v| v.to_str().ok());
            check_signature(query, signature, part.body(), verifier, "manifest", report);
            if let Some(manifest) = read_manifest(query, part.body(), report) {
                report.answer = Some(ManifestAnswer::Update {
                    manifest: Box::new(manifest),
                    extensions,
                });
            }
        }
        (None, Some(part)) => read_directive_part(query, part, verifier, report),
        (None, None) => {
            report.push(
                Severity::Warning,
                "the multipart body has neither a manifest nor a directive part",
            );
            report.answer = Some(ManifestAnswer::NoUpdate);
        }
    }
}

fn read_directive_part(
    query: &ManifestQuery,
    part: &Part,
    verifier: Option<&Verifier>,
    report: &mut ManifestReport,
) {
    json_part(part, "directive", report);
    let signature = part
        .header(h::names::EXPO_SIGNATURE)
        .and_then(|v| v.to_str().ok());
    check_signature(query, signature, part.body(), verifier, "directive", report);
    match Directive::from_json_slice(part.body()) {
        Ok(directive) => {
            if let Directive::Other(map) = &directive {
                let kind = map.get("type").and_then(|t| t.as_str()).unwrap_or("");
                report.push(
                    Severity::Info,
                    format!("directive type {kind:?} is unknown to the reference clients"),
                );
            }
            report.answer = Some(ManifestAnswer::Directive(directive));
        }
        Err(err) => report.push(
            Severity::Error,
            format!("the directive is not valid: {err}"),
        ),
    }
}

fn raw_contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn json_part(part: &Part, name: &str, report: &mut ManifestReport) {
    let content_type = part
        .content_type()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .trim()
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        report.push(
            Severity::Error,
            format!("the {name} part has content-type {content_type:?}, must be application/json"),
        );
    }
}

fn check_signature(
    query: &ManifestQuery,
    signature: Option<&str>,
    body: &[u8],
    verifier: Option<&Verifier>,
    what: &str,
    report: &mut ManifestReport,
) {
    let Some(requested) = &query.expect_signature else {
        return;
    };
    let Some(signature) = signature else {
        report.push(
            Severity::Error,
            format!("the {what} is not signed though the request expects a signature"),
        );
        return;
    };
    match expo_sfv::Signature::parse(signature) {
        Ok(parsed) => {
            let keyid = parsed
                .keyid
                .as_deref()
                .unwrap_or(expo_codesign::DEFAULT_KEYID);
            if keyid != requested {
                report.push(
                    Severity::Warning,
                    format!("the {what} is signed by keyid {keyid:?}, the request asked for {requested:?}"),
                );
            }
        }
        Err(err) => {
            report.push(
                Severity::Error,
                format!("the {what}'s expo-signature is not valid Expo SFV: {err}"),
            );
            return;
        }
    }
    match verifier {
        Some(verifier) => {
            if let Err(err) = verifier.verify(signature, body) {
                report.push(
                    Severity::Error,
                    format!("the {what}'s signature does not verify: {err}"),
                );
            }
        }
        None => report.push(
            Severity::Info,
            format!("the {what}'s signature was not verified (no certificate given)"),
        ),
    }
}

fn read_manifest(
    query: &ManifestQuery,
    body: &[u8],
    report: &mut ManifestReport,
) -> Option<Manifest> {
    let manifest = match Manifest::from_json_slice(body) {
        Ok(manifest) => manifest,
        Err(err) => {
            report.push(Severity::Error, format!("the manifest is not valid: {err}"));
            return None;
        }
    };
    if manifest.runtime_version != query.runtime_version {
        report.push(
            Severity::Error,
            format!(
                "the manifest is for runtime version {:?}, the request asked for {:?}",
                manifest.runtime_version.as_str(),
                query.runtime_version.as_str()
            ),
        );
    }
    if Some(manifest.id) == query.current_update_id {
        report.push(
            Severity::Info,
            "the manifest is the update the client already runs",
        );
    }
    // Five minutes of clock skew.
    if manifest.created_at.as_millis() > Timestamp::now().as_millis() + 300_000 {
        report.push(
            Severity::Warning,
            format!("createdAt {} is in the future", manifest.created_at),
        );
    }
    if manifest.launch_asset.file_extension.is_some() {
        report.push(
            Severity::Info,
            "launchAsset.fileExtension is ignored by clients and should be omitted",
        );
    }
    for asset in manifest.all_assets() {
        if let Some(ext) = &asset.file_extension
            && !ext.is_empty()
            && !ext.starts_with('.')
        {
            report.push(
                Severity::Error,
                format!(
                    "asset {:?}: fileExtension {ext:?} must start with '.'",
                    asset.key
                ),
            );
        }
        if asset.url.starts_with("http://") {
            report.push(
                Severity::Warning,
                format!(
                    "asset {:?} is served over cleartext HTTP, which Android release builds refuse",
                    asset.key
                ),
            );
        } else if !asset.url.starts_with("https://") {
            report.push(
                Severity::Error,
                format!(
                    "asset {:?}: url {:?} is not an absolute http(s) URL",
                    asset.key, asset.url
                ),
            );
        }
    }
    if !manifest.extra.contains_key("expoClient") {
        report.push(
            Severity::Warning,
            "extra.expoClient is missing: Constants.expoConfig will be empty after this update",
        );
    }
    Some(manifest)
}

/// Checks an asset answer: status, content type, encoding, caching and, above
/// all, that the bytes hash to the manifest's `hash`.
pub fn check_asset_response(asset: &Asset, response: &Response<Bytes>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut push = |severity, message: String| findings.push(Finding { severity, message });
    let key = &asset.key;
    if response.status() != StatusCode::OK {
        push(
            Severity::Error,
            format!("asset {key:?}: status {}", response.status()),
        );
        return findings;
    }
    let headers = response.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match text("content-type") {
        None => push(
            Severity::Error,
            format!("asset {key:?}: content-type is missing"),
        ),
        Some(ct) if !ct.eq_ignore_ascii_case(&asset.content_type) => push(
            Severity::Warning,
            format!(
                "asset {key:?}: content-type {ct:?}, the manifest says {:?}",
                asset.content_type
            ),
        ),
        Some(_) => {}
    }
    match text("content-encoding") {
        None | Some("identity") => {
            let hash = AssetHash::of(response.body());
            if hash != asset.hash {
                push(
                    Severity::Error,
                    format!(
                        "asset {key:?}: the bytes hash to {hash}, the manifest says {}",
                        asset.hash
                    ),
                );
            }
        }
        Some(coding) => push(
            Severity::Error,
            format!(
                "asset {key:?}: encoded with {coding:?} though the request accepted identity only"
            ),
        ),
    }
    if !text("cache-control").is_some_and(|v| v.contains("max-age") && !v.contains("max-age=0")) {
        push(
            Severity::Info,
            format!(
                "asset {key:?}: a long cache-control (public, max-age=31536000, immutable) is recommended"
            ),
        );
    }
    findings
}

/// The headers of [`Extensions::asset_request_headers`] for one asset.
pub fn asset_request_headers<'a>(
    extensions: Option<&'a Extensions>,
    asset: &Asset,
) -> Option<&'a BTreeMap<String, String>> {
    extensions?.asset_request_headers.get(&asset.key)
}
