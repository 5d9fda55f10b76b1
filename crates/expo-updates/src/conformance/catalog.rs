//! Every check the suite runs: its id, group, level and where the rule comes from.

use std::fmt;

/// How binding a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// A `SHOULD` (or `RECOMMENDED`) of the specification: a failure is a warning.
    Should,
    /// A `MUST` of the specification (or of the HTTP RFCs it builds on): a failure is an
    /// error.
    Must,
    /// What the reference clients (expo-updates on iOS and Android) rely on, whether or not
    /// the specification spells it out: a failure is an error.
    ClientNeeds,
}

impl Level {
    /// Whether a failure at this level is an error (as opposed to a warning).
    pub const fn is_error(self) -> bool {
        !matches!(self, Level::Should)
    }

    /// `MUST`, `SHOULD` or `client-needs`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Should => "SHOULD",
            Level::Must => "MUST",
            Level::ClientNeeds => "client-needs",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A family of checks, selected together with `only` / `skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// The answer to the request a real client sends: status, common headers, manifest.
    Manifest,
    /// `accept` negotiation: JSON, multipart, q-values, 406.
    Negotiation,
    /// Malformed or missing protocol request headers.
    RequestHeaders,
    /// Answers when there is nothing new: unknown runtime, client already up to date.
    NoUpdate,
    /// Code signing of manifests and directives.
    Signature,
    /// The `multipart/mixed` framing, byte for byte.
    Multipart,
    /// Asset bytes in every encoding.
    Assets,
    /// `cache-control` of manifests and assets.
    Caching,
    /// `Range` requests on assets.
    Ranges,
    /// Header spellings the clients depend on.
    HeaderCase,
    /// Asset URLs of an earlier update still answer after a publish (two phases).
    Stability,
}

impl Group {
    /// Every group, in the order they run.
    pub const ALL: [Group; 11] = [
        Group::Manifest,
        Group::Negotiation,
        Group::RequestHeaders,
        Group::NoUpdate,
        Group::Signature,
        Group::Multipart,
        Group::Assets,
        Group::Caching,
        Group::Ranges,
        Group::HeaderCase,
        Group::Stability,
    ];

    /// The name used on the command line and in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Group::Manifest => "manifest",
            Group::Negotiation => "negotiation",
            Group::RequestHeaders => "request-headers",
            Group::NoUpdate => "no-update",
            Group::Signature => "signature",
            Group::Multipart => "multipart",
            Group::Assets => "assets",
            Group::Caching => "caching",
            Group::Ranges => "ranges",
            Group::HeaderCase => "header-case",
            Group::Stability => "stability",
        }
    }

    /// The group named `name`.
    pub fn from_name(name: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.as_str() == name)
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule the suite checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Stable identifier, used in reports.
    pub id: &'static str,
    /// Its group.
    pub group: Group,
    /// How binding the rule is.
    pub level: Level,
    /// The specification section (or client behaviour) it comes from.
    pub source: &'static str,
    /// What is checked, in a sentence.
    pub summary: &'static str,
}

const fn check(
    id: &'static str,
    group: Group,
    level: Level,
    source: &'static str,
    summary: &'static str,
) -> Check {
    Check {
        id,
        group,
        level,
        source,
        summary,
    }
}

/// Every check, grouped.
pub const CHECKS: &[Check] = &[
    check(
        "manifest-answer",
        Group::Manifest,
        Level::Must,
        "Response; Common response headers",
        "the request a client sends is answered 200 or 204 with expo-protocol-version: 1 and expo-sfv-version: 0",
    ),
    check(
        "manifest-body",
        Group::Manifest,
        Level::Must,
        "Manifest body",
        "the manifest is JSON (content-type application/json in a multipart part) with the required fields, for the runtime version asked",
    ),
    check(
        "manifest-filters",
        Group::Manifest,
        Level::Must,
        "Common response headers (expo-manifest-filters); Manifest body (metadata)",
        "expo-manifest-filters, when sent, is an Expo SFV dictionary the served manifest's metadata passes (keys compared ignoring case; clients refuse a manifest failing its own filters)",
    ),
    check(
        "server-defined-headers",
        Group::Manifest,
        Level::Must,
        "Common response headers (expo-server-defined-headers)",
        "expo-server-defined-headers, when sent, is an Expo SFV dictionary naming no request header the client sets itself (platform, runtime version, channel, protocol headers)",
    ),
    check(
        "asset-request-headers",
        Group::Manifest,
        Level::Must,
        "Extensions body (assetRequestHeaders); Asset request",
        "extensions.assetRequestHeaders, when sent, has one object per asset key of the manifest, of header names to string header values",
    ),
    check(
        "accept-json",
        Group::Negotiation,
        Level::Should,
        "Response (406 for an unsupported structure)",
        "accept: application/expo+json alone is answered with JSON or 406, not multipart",
    ),
    check(
        "accept-multipart",
        Group::Negotiation,
        Level::Should,
        "Response (406 for an unsupported structure)",
        "accept: multipart/mixed alone is answered with multipart or 406, not JSON",
    ),
    check(
        "accept-qvalues",
        Group::Negotiation,
        Level::Should,
        "Request (q parameters as in RFC 7231 §5.3.2)",
        "the structure with the higher q-value is chosen when the server supports both",
    ),
    check(
        "accept-406",
        Group::Negotiation,
        Level::Should,
        "Response (406 for an unsupported structure)",
        "accept: text/html is answered 406",
    ),
    check(
        "protocol-version-invalid",
        Group::RequestHeaders,
        Level::Should,
        "Request (expo-protocol-version: 1); Response (406 for an incompatible protocol version)",
        "expo-protocol-version: one is refused with 400 or 406, not read as some number",
    ),
    check(
        "platform-missing",
        Group::RequestHeaders,
        Level::Should,
        "Request (expo-platform: 400 or 404 otherwise)",
        "a request without expo-platform is refused with 400 or 404",
    ),
    check(
        "platform-invalid",
        Group::RequestHeaders,
        Level::Should,
        "Request (expo-platform: 400 or 404 otherwise)",
        "expo-platform: windows is refused with 400 or 404",
    ),
    check(
        "runtime-version-missing",
        Group::RequestHeaders,
        Level::Should,
        "Request (expo-runtime-version is required)",
        "a request without expo-runtime-version is refused with 4xx",
    ),
    check(
        "runtime-version-path",
        Group::RequestHeaders,
        Level::Must,
        "Response (the most recent update satisfying the request's constraints)",
        "a path-like runtime version (V/../V) is not served V's update",
    ),
    check(
        "no-update-unknown-runtime",
        Group::NoUpdate,
        Level::ClientNeeds,
        "Response; Multipart response (no update: 204 or a zero-length multipart body)",
        "a runtime version with no update is answered 204 or an empty multipart body, not an error status",
    ),
    check(
        "no-update-current",
        Group::NoUpdate,
        Level::Should,
        "Directive body (noUpdateAvailable)",
        "a client already running the latest update (expo-current-update-id) is not sent it again",
    ),
    check(
        "signature-manifest",
        Group::Signature,
        Level::Must,
        "Code signing",
        "a manifest asked for with expo-expect-signature carries an expo-signature that verifies with the certificate",
    ),
    check(
        "signature-keyid",
        Group::Signature,
        Level::ClientNeeds,
        "Code signing (keyid of expo-expect-signature)",
        "the signature names the keyid the request asked for",
    ),
    check(
        "signature-directive",
        Group::Signature,
        Level::Must,
        "Code signing (directives are signed like manifests)",
        "a directive asked for with expo-expect-signature carries an expo-signature that verifies",
    ),
    check(
        "multipart-opening",
        Group::Multipart,
        Level::ClientNeeds,
        "Multipart response (RFC 2046 §5.1.1)",
        "the body starts with --BOUNDARY CRLF, with no preamble",
    ),
    check(
        "multipart-closing",
        Group::Multipart,
        Level::ClientNeeds,
        "Multipart response (RFC 2046 §5.1.1); iOS multipart reader",
        "the body ends with CRLF --BOUNDARY-- CRLF (the iOS client rejects a body without the final CRLF)",
    ),
    check(
        "multipart-part-headers",
        Group::Multipart,
        Level::Must,
        "Multipart response (each part: content-type, content-disposition; RFC 2045 §5)",
        "every part has exactly one content-type and one content-disposition with a name",
    ),
    check(
        "asset-identity",
        Group::Assets,
        Level::Must,
        "Asset response (hash of the bytes)",
        "every asset asked for as identity is answered 200 with bytes hashing to the manifest's hash",
    ),
    check(
        "asset-content-type",
        Group::Assets,
        Level::Must,
        "Asset response headers (content-type)",
        "every asset answer has a content-type",
    ),
    check(
        "asset-gzip",
        Group::Assets,
        Level::Must,
        "Asset response headers (an encoding the client accepts)",
        "with accept-encoding: gzip the answer is gzip or identity and decodes to the manifest's hash",
    ),
    check(
        "asset-br",
        Group::Assets,
        Level::Must,
        "Asset response headers (an encoding the client accepts)",
        "with accept-encoding: br the answer is br or identity and decodes to the manifest's hash",
    ),
    check(
        "asset-gzip-offered",
        Group::Assets,
        Level::Should,
        "Compression",
        "the launch asset is served gzip-encoded when gzip is accepted",
    ),
    check(
        "asset-br-offered",
        Group::Assets,
        Level::Should,
        "Compression",
        "the launch asset is served brotli-encoded when br is accepted",
    ),
    check(
        "cache-manifest",
        Group::Caching,
        Level::Should,
        "Common response headers (cache-control: private, max-age=0)",
        "manifest answers are not cached by shared caches nor reused stale (private or no-store, max-age=0 or no-cache)",
    ),
    check(
        "cache-assets",
        Group::Caching,
        Level::Should,
        "Asset response headers (long cache-control RECOMMENDED)",
        "assets are served with a long max-age or immutable",
    ),
    check(
        "range-asset",
        Group::Ranges,
        Level::Must,
        "Asset response (RFC 7233)",
        "a Range request on an asset is answered 200 with everything or 206 with exactly the bytes asked for",
    ),
    check(
        "current-update-id-case",
        Group::HeaderCase,
        Level::ClientNeeds,
        "iOS client (expo-current-update-id is sent upper-case)",
        "an upper-case expo-current-update-id is recognised like the lower-case one",
    ),
    check(
        "signature-part-header-case",
        Group::HeaderCase,
        Level::ClientNeeds,
        "iOS client (part headers are looked up case-sensitively)",
        "the expo-signature part header is spelled in lower case",
    ),
    check(
        "asset-urls-stable",
        Group::Stability,
        Level::Must,
        "Asset response (an asset URL MUST NOT be changed or removed)",
        "after a publish, the previous update's asset URLs still answer the same bytes",
    ),
];

/// The check with this id.
pub(crate) fn find(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}
