//! Reading a manifest request: [`UpdateRequest::from_parts`].

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use expo_accept::ResponseFormat;
use expo_manifest::{Platform, RuntimeVersion, UpdateId};
use expo_sfv::{Dictionary, ExpectSignature};
use http::{HeaderMap, Method, request::Parts};

use crate::error::{HeaderValueError, ProtocolError, shorten};
use crate::headers as h;
use crate::request_headers::{RequestHeader as Rh, RequestHeaders};

/// Longest name accepted by [`check_name`] (and so longest `expo-channel-name`).
pub const MAX_NAME_LEN: usize = 255;
/// Longest `expo-channel-name` accepted.
pub const MAX_CHANNEL_LEN: usize = MAX_NAME_LEN;
/// Longest `eas-client-id` accepted.
pub const MAX_CLIENT_ID_LEN: usize = 128;
/// How much of `expo-fatal-error` is kept; the rest is cut off.
pub const MAX_FATAL_ERROR_LEN: usize = 1024;

/// The version of the protocol a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// No `expo-protocol-version` header (or `0`): legacy clients, answered
    /// like version 1 except that they never receive directives.
    V0,
    /// `expo-protocol-version: 1`.
    V1,
}

impl ProtocolVersion {
    /// The header value.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V0 => "0",
            ProtocolVersion::V1 => "1",
        }
    }

    /// Whether this version understands directives.
    pub const fn supports_directives(self) -> bool {
        matches!(self, ProtocolVersion::V1)
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated manifest request: what a client asks for and how it wants
/// the answer.
///
/// # Examples
///
/// ```
/// use expo_updates::UpdateRequest;
///
/// let (parts, ()) = http::Request::get("/manifest")
///     .header("expo-protocol-version", "1")
///     .header("expo-platform", "ios")
///     .header("expo-runtime-version", "1.0.0")
///     .header("eas-client-id", "6E5A2A3C-9D4B-4F7E-8C1A-2B3C4D5E6F70")
///     .body(())?
///     .into_parts();
/// let request = UpdateRequest::from_parts(&parts)?;
/// assert_eq!(request.runtime_version().as_str(), "1.0.0");
/// assert_eq!(request.client_id(), Some("6e5a2a3c-9d4b-4f7e-8c1a-2b3c4d5e6f70"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct UpdateRequest {
    protocol_version: ProtocolVersion,
    platform: Platform,
    runtime_version: RuntimeVersion,
    format: ResponseFormat,
    expect_signature: Option<Arc<ExpectSignature>>,
    channel: Option<String>,
    current_update_id: Option<UpdateId>,
    embedded_update_id: Option<UpdateId>,
    requested_update_id: Option<UpdateId>,
    client_id: Option<String>,
    recent_failed_update_ids: Vec<String>,
    fatal_error: Option<String>,
    extra_params: Option<Dictionary>,
    accepts_bsdiff: bool,
}

impl UpdateRequest {
    /// The methods a manifest request may use.
    pub const ALLOW: &'static str = "GET, POST";

    /// Validates the method and headers of a manifest request.
    ///
    /// Checks, in this order: the method (405), `expo-protocol-version`
    /// (406 unless absent, `0` or `1`), `expo-platform` and
    /// `expo-runtime-version` (400 when missing or invalid), `accept` (406
    /// when none of the three structures is acceptable), then the optional
    /// headers (400 when malformed).
    pub fn from_parts(parts: &Parts) -> Result<Self, ProtocolError> {
        Self::from_method_and_headers(&parts.method, &RequestHeaders::scan(&parts.headers))
    }

    /// [`from_parts`](Self::from_parts) without the method check.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, ProtocolError> {
        Self::from_request_headers(&RequestHeaders::scan(headers))
    }

    /// [`from_parts`](Self::from_parts) on a request whose headers were already scanned
    /// (a server that reads them for more than this request, once).
    pub fn from_method_and_headers(
        method: &Method,
        headers: &RequestHeaders<'_>,
    ) -> Result<Self, ProtocolError> {
        if *method != Method::GET && *method != Method::POST {
            return Err(ProtocolError::MethodNotAllowed {
                method: shorten(method.as_str()),
                allow: Self::ALLOW,
            });
        }
        Self::from_request_headers(headers)
    }

    /// [`from_headers`](Self::from_headers) on headers already scanned.
    pub fn from_request_headers(headers: &RequestHeaders<'_>) -> Result<Self, ProtocolError> {
        let protocol_version = match text(headers, Rh::ProtocolVersion)? {
            None | Some("0") => ProtocolVersion::V0,
            Some("1") => ProtocolVersion::V1,
            Some(other) => {
                return Err(ProtocolError::UnsupportedProtocolVersion {
                    value: shorten(other),
                });
            }
        };
        let platform = match required(headers, Rh::Platform)? {
            "ios" => Platform::Ios,
            "android" => Platform::Android,
            other => {
                return Err(ProtocolError::UnsupportedPlatform {
                    value: shorten(other),
                });
            }
        };
        let runtime_version = RuntimeVersion::new(required(headers, Rh::RuntimeVersion)?)
            .map_err(|e| invalid(h::names::EXPO_RUNTIME_VERSION, e))?;
        let format = negotiate(headers)?;
        let expect_signature = text(headers, Rh::ExpectSignature)?
            .map(parse_expect_signature)
            .transpose()?;
        let channel = text(headers, Rh::ChannelName)?
            .map(|v| named(h::names::EXPO_CHANNEL_NAME, v))
            .transpose()?;
        let client_id = text(headers, Rh::ClientId)?
            .map(|v| {
                bounded(h::names::EAS_CLIENT_ID, v, MAX_CLIENT_ID_LEN).map(|mut v| {
                    v.make_ascii_lowercase();
                    v
                })
            })
            .transpose()?;
        let recent_failed_update_ids = match text(headers, Rh::RecentFailedUpdateIds)? {
            None => Vec::new(),
            Some(v) => expo_sfv::parse_string_list(v)
                .map_err(|e| invalid(h::names::EXPO_RECENT_FAILED_UPDATE_IDS, e))?
                .into_iter()
                .map(|id| id.to_ascii_lowercase())
                .collect(),
        };
        let extra_params = text(headers, Rh::ExtraParams)?
            .map(|v| Dictionary::parse(v).map_err(|e| invalid(h::names::EXPO_EXTRA_PARAMS, e)))
            .transpose()?;
        // The parser expo-patch uses too: `bsdiff;q=0` is a refusal.
        let accepts_bsdiff = headers.first(Rh::AIm).is_some()
            && expo_accept::accepts_im(
                headers.all(Rh::AIm).filter_map(|v| v.to_str().ok()),
                "bsdiff",
            );
        Ok(UpdateRequest {
            protocol_version,
            platform,
            runtime_version,
            format,
            expect_signature,
            channel,
            current_update_id: update_id(headers, Rh::CurrentUpdateId)?,
            embedded_update_id: update_id(headers, Rh::EmbeddedUpdateId)?,
            requested_update_id: update_id(headers, Rh::RequestedUpdateId)?,
            client_id,
            recent_failed_update_ids,
            fatal_error: fatal_error(headers),
            extra_params,
            accepts_bsdiff,
        })
    }

    /// The protocol version (absent header: [`ProtocolVersion::V0`]).
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.protocol_version
    }

    /// `expo-platform`.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// `expo-runtime-version`.
    pub fn runtime_version(&self) -> &RuntimeVersion {
        &self.runtime_version
    }

    /// The response structure negotiated from `accept` (multipart preferred
    /// on ties, since only it carries directives).
    pub fn format(&self) -> ResponseFormat {
        self.format
    }

    /// `expo-expect-signature`, when the client verifies signatures.
    pub fn expect_signature(&self) -> Option<&ExpectSignature> {
        self.expect_signature.as_deref()
    }

    /// `expo-channel-name`, as sent (channels are case-sensitive).
    pub fn channel(&self) -> Option<&str> {
        self.channel.as_deref()
    }

    /// `expo-current-update-id`: the update the client runs.
    pub fn current_update_id(&self) -> Option<UpdateId> {
        self.current_update_id
    }

    /// `expo-embedded-update-id`: the update built into the app binary.
    pub fn embedded_update_id(&self) -> Option<UpdateId> {
        self.embedded_update_id
    }

    /// Whether the client runs the update embedded in its binary.
    pub fn runs_embedded_update(&self) -> bool {
        self.current_update_id.is_some() && self.current_update_id == self.embedded_update_id
    }

    /// `expo-requested-update-id`: the update a patch request (`a-im: bsdiff`) is for.
    pub fn requested_update_id(&self) -> Option<UpdateId> {
        self.requested_update_id
    }

    /// Whether the client accepts a bsdiff patch of the launch asset
    /// (`a-im: bsdiff`, read by [`expo_accept::accepts_im`]; `bsdiff;q=0`
    /// refuses).
    pub fn accepts_bsdiff(&self) -> bool {
        self.accepts_bsdiff
    }

    /// `eas-client-id`, lower-cased (iOS sends upper case, Android lower):
    /// the stable per-install id to bucket rollouts by.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// `expo-recent-failed-update-ids`, lower-cased.
    pub fn recent_failed_update_ids(&self) -> &[String] {
        &self.recent_failed_update_ids
    }

    /// `expo-fatal-error`, cut to [`MAX_FATAL_ERROR_LEN`] bytes.
    pub fn fatal_error(&self) -> Option<&str> {
        self.fatal_error.as_deref()
    }

    /// `expo-extra-params`.
    pub fn extra_params(&self) -> Option<&Dictionary> {
        self.extra_params.as_ref()
    }
}

fn invalid(header: &'static str, source: impl Into<HeaderValueError>) -> ProtocolError {
    ProtocolError::InvalidHeader {
        header,
        source: source.into(),
    }
}

/// A header that may appear once, as text.
fn text<'a>(headers: &RequestHeaders<'a>, header: Rh) -> Result<Option<&'a str>, ProtocolError> {
    headers
        .single(header)
        .map_err(|e| invalid(header.name(), e))
}

fn required<'a>(headers: &RequestHeaders<'a>, header: Rh) -> Result<&'a str, ProtocolError> {
    match text(headers, header)? {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ProtocolError::MissingHeader {
            header: header.name(),
        }),
    }
}

/// Checks a name that scopes updates: 1 to [`MAX_NAME_LEN`] bytes of printable
/// ASCII (`' '` to `'~'`), the rule of [`RuntimeVersion`].
///
/// `expo-channel-name` is read with it, so a server whose storage checks its
/// channel (and app) names with the same function accepts every channel a
/// request can carry: a refused name is the client's 400, never the storage's
/// failure.
///
/// ```
/// use expo_updates::{HeaderValueError, check_name};
///
/// assert!(check_name("production").is_ok());
/// assert!(matches!(check_name("a\tb"), Err(HeaderValueError::Character('\t'))));
/// assert!(matches!(check_name(""), Err(HeaderValueError::Empty)));
/// ```
pub fn check_name(value: &str) -> Result<(), HeaderValueError> {
    check_printable(value, MAX_NAME_LEN)
}

/// A header holding a name: refused unless [`check_name`] accepts it.
fn named(header: &'static str, value: &str) -> Result<String, ProtocolError> {
    check_name(value)
        .map(|()| value.to_owned())
        .map_err(|e| invalid(header, e))
}

/// 1 to `max` bytes of printable ASCII.
fn check_printable(value: &str, max: usize) -> Result<(), HeaderValueError> {
    if value.is_empty() {
        return Err(HeaderValueError::Empty);
    }
    if value.len() > max {
        return Err(HeaderValueError::TooLong {
            len: value.len(),
            max,
        });
    }
    // By byte (the first byte out of range starts the character reported).
    match value.bytes().position(|b| !(b' '..=b'~').contains(&b)) {
        Some(at) => Err(HeaderValueError::Character(
            value[at..]
                .chars()
                .next()
                .unwrap_or(char::REPLACEMENT_CHARACTER),
        )),
        None => Ok(()),
    }
}

fn bounded(header: &'static str, value: &str, max: usize) -> Result<String, ProtocolError> {
    check_printable(value, max)
        .map(|()| value.to_owned())
        .map_err(|e| invalid(header, e))
}

fn update_id(headers: &RequestHeaders<'_>, header: Rh) -> Result<Option<UpdateId>, ProtocolError> {
    text(headers, header)?
        .map(|v| v.parse().map_err(|e| invalid(header.name(), e)))
        .transpose()
}

/// Parses `expo-expect-signature`, remembering the last value per thread:
/// every install of an app sends the same one, and parsing it is the
/// largest cost of reading a request.
fn parse_expect_signature(value: &str) -> Result<Arc<ExpectSignature>, ProtocolError> {
    thread_local! {
        static LAST: RefCell<Option<(Box<str>, Arc<ExpectSignature>)>> = const { RefCell::new(None) };
    }
    if let Some(hit) = LAST.with_borrow(|last| {
        last.as_ref()
            .filter(|(raw, _)| **raw == *value)
            .map(|(_, parsed)| parsed.clone())
    }) {
        return Ok(hit);
    }
    let parsed = Arc::new(
        ExpectSignature::parse(value).map_err(|e| invalid(h::names::EXPO_EXPECT_SIGNATURE, e))?,
    );
    LAST.set(Some((value.into(), parsed.clone())));
    Ok(parsed)
}

fn negotiate(headers: &RequestHeaders<'_>) -> Result<ResponseFormat, ProtocolError> {
    let mut values = headers.all(Rh::Accept);
    let joined;
    let accept = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(one), None) => Some(
            one.to_str()
                .map_err(|_| invalid("accept", HeaderValueError::NotVisibleAscii))?,
        ),
        // Several `accept` lines are one list (RFC 9110 5.3).
        (Some(_), Some(_)) => {
            let mut buffer = String::new();
            for value in headers.all(Rh::Accept) {
                let value = value
                    .to_str()
                    .map_err(|_| invalid("accept", HeaderValueError::NotVisibleAscii))?;
                let len = buffer.len() + value.len();
                if len > expo_accept::MAX_HEADER_LEN {
                    return Err(invalid(
                        "accept",
                        HeaderValueError::TooLong {
                            len,
                            max: expo_accept::MAX_HEADER_LEN,
                        },
                    ));
                }
                if !buffer.is_empty() {
                    buffer.push_str(", ");
                }
                buffer.push_str(value);
            }
            joined = buffer;
            Some(joined.as_str())
        }
    };
    let Some(accept) = accept else {
        return negotiate_format(None);
    };
    // Every install of an app sends the same `accept`: the last one accepted is
    // remembered per thread, like `expo-expect-signature`.
    thread_local! {
        static LAST: RefCell<Option<(Box<str>, ResponseFormat)>> = const { RefCell::new(None) };
    }
    if let Some(format) = LAST.with_borrow(|last| {
        last.as_ref()
            .filter(|(raw, _)| **raw == *accept)
            .map(|(_, format)| *format)
    }) {
        return Ok(format);
    }
    let format = negotiate_format(Some(accept))?;
    if accept.len() <= MAX_REMEMBERED_ACCEPT_LEN {
        LAST.set(Some((accept.into(), format)));
    }
    Ok(format)
}

/// Longest `accept` remembered (a client's is a few dozen bytes).
const MAX_REMEMBERED_ACCEPT_LEN: usize = 256;

fn negotiate_format(accept: Option<&str>) -> Result<ResponseFormat, ProtocolError> {
    expo_accept::negotiate_format(accept, &ResponseFormat::ALL).map_err(|e| match e {
        expo_accept::Error::NotAcceptable { .. } => ProtocolError::NotAcceptable,
        other => invalid("accept", other),
    })
}

fn fatal_error(headers: &RequestHeaders<'_>) -> Option<String> {
    let value = headers.first(Rh::FatalError)?.as_bytes();
    let value = value.get(..MAX_FATAL_ERROR_LEN).unwrap_or(value);
    // Cutting may split a UTF-8 sequence; the lossy decode marks it.
    Some(String::from_utf8_lossy(value).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::get("/manifest");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    const BASE: [(&str, &str); 3] = [
        ("expo-protocol-version", "1"),
        ("expo-platform", "android"),
        ("expo-runtime-version", "1"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Result<UpdateRequest, ProtocolError> {
        let mut all = BASE.to_vec();
        all.extend_from_slice(extra);
        UpdateRequest::from_parts(&parts(&all))
    }

    #[test]
    fn minimal_request() {
        let r = with(&[]).unwrap();
        assert_eq!(r.protocol_version(), ProtocolVersion::V1);
        assert_eq!(r.platform(), Platform::Android);
        assert_eq!(r.format(), ResponseFormat::MultipartMixed);
        assert!(r.expect_signature().is_none());
        assert!(!r.accepts_bsdiff());
    }

    #[test]
    fn absent_version_is_legacy() {
        let r = UpdateRequest::from_parts(&parts(&BASE[1..])).unwrap();
        assert_eq!(r.protocol_version(), ProtocolVersion::V0);
    }

    #[test]
    fn unknown_version_is_not_acceptable() {
        let mut all = BASE.to_vec();
        all[0].1 = "2";
        let err = UpdateRequest::from_parts(&parts(&all)).unwrap_err();
        assert_eq!(err.status(), http::StatusCode::NOT_ACCEPTABLE);
    }

    #[test]
    fn optional_headers_are_read_and_normalised() {
        let r = with(&[
            ("eas-client-id", "ABCDEF01-0000-4000-8000-000000000000"),
            ("expo-channel-name", "production"),
            (
                "expo-current-update-id",
                "0754DAD0-D200-D634-113C-EF1F26106028",
            ),
            (
                "expo-embedded-update-id",
                "0754dad0-d200-d634-113c-ef1f26106028",
            ),
            ("expo-recent-failed-update-ids", "\"A\", \"b\""),
            ("expo-extra-params", "a=1, b=\"x\""),
            ("a-im", "bsdiff"),
            ("expo-fatal-error", "TypeError: undefined is not a function"),
        ])
        .unwrap();
        assert_eq!(r.client_id(), Some("abcdef01-0000-4000-8000-000000000000"));
        assert_eq!(r.channel(), Some("production"));
        assert!(r.runs_embedded_update());
        assert_eq!(r.recent_failed_update_ids(), ["a", "b"]);
        assert_eq!(r.extra_params().unwrap().len(), 2);
        assert!(r.accepts_bsdiff());
        assert!(r.fatal_error().unwrap().starts_with("TypeError"));
    }

    #[test]
    fn a_zero_weight_refuses_bsdiff() {
        for (a_im, accepted) in [
            ("bsdiff", true),
            ("vcdiff, BSDIFF;q=0.5", true),
            ("bsdiff;q=0", false),
            ("bsdiff; q=0.000", false),
            ("bsdiff;q=0, bsdiff", false),
            ("bsdiff2", false),
            ("\"bsdiff\"", false),
        ] {
            let r = with(&[("a-im", a_im)]).unwrap();
            assert_eq!(r.accepts_bsdiff(), accepted, "{a_im}");
        }
    }

    #[test]
    fn remembered_expect_signature_never_answers_for_another_value() {
        for keyid in ["main", "next", "main", "main", "other"] {
            let value = format!("sig, keyid=\"{keyid}\"");
            let mut all = BASE.to_vec();
            all.push(("expo-expect-signature", &value));
            let r = UpdateRequest::from_parts(&parts(&all)).unwrap();
            assert_eq!(r.expect_signature().unwrap().keyid.as_deref(), Some(keyid));
        }
        let mut all = BASE.to_vec();
        all.push(("expo-expect-signature", "sig=?0"));
        let r = UpdateRequest::from_parts(&parts(&all)).unwrap();
        assert!(!r.expect_signature().unwrap().sig);
    }

    #[test]
    fn remembered_accept_never_answers_for_another_value() {
        let cases = [
            ("application/expo+json", Ok(ResponseFormat::ExpoJson)),
            ("multipart/mixed", Ok(ResponseFormat::MultipartMixed)),
            ("application/expo+json", Ok(ResponseFormat::ExpoJson)),
            ("text/html", Err(())),
            ("text/html", Err(())),
            ("multipart/mixed", Ok(ResponseFormat::MultipartMixed)),
        ];
        for (accept, expected) in cases {
            let answer = with(&[("accept", accept)]).map(|r| r.format());
            match expected {
                Ok(format) => assert_eq!(answer.unwrap(), format, "{accept}"),
                Err(()) => assert!(
                    matches!(answer, Err(ProtocolError::NotAcceptable)),
                    "{accept}"
                ),
            }
        }
    }

    #[test]
    fn fatal_error_is_bounded() {
        let long = "x".repeat(5000);
        let mut all = BASE.to_vec();
        all.push(("expo-fatal-error", &long));
        let r = UpdateRequest::from_parts(&parts(&all)).unwrap();
        assert_eq!(r.fatal_error().unwrap().len(), MAX_FATAL_ERROR_LEN);
    }

    #[test]
    fn malformed_optional_headers_name_the_header() {
        for (name, value) in [
            ("expo-current-update-id", "not-a-uuid"),
            ("expo-expect-signature", "sig=("),
            ("expo-recent-failed-update-ids", "a=("),
            ("expo-extra-params", "(("),
        ] {
            let err = with(&[(name, value)]).unwrap_err();
            assert_eq!(err.header(), Some(name), "{name}");
            assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn names_and_ids_with_other_than_printable_ascii_are_refused() {
        let long = "c".repeat(MAX_NAME_LEN + 1);
        let long_id = "c".repeat(MAX_CLIENT_ID_LEN + 1);
        for (name, value) in [
            ("expo-channel-name", "a\tb"),
            ("expo-channel-name", long.as_str()),
            ("eas-client-id", "a\tb"),
            ("eas-client-id", long_id.as_str()),
            ("expo-runtime-version", "1\t2"),
        ] {
            let mut all: Vec<(&str, &str)> =
                BASE.iter().filter(|(n, _)| *n != name).copied().collect();
            all.push((name, value));
            let err = UpdateRequest::from_parts(&parts(&all)).unwrap_err();
            assert_eq!(err.header(), Some(name), "{name}: {value:?}");
            assert_eq!(err.status(), http::StatusCode::BAD_REQUEST, "{name}");
        }
        // Spaces are printable; the edges are trimmed like every header value.
        let r = with(&[("expo-channel-name", " my channel ")]).unwrap();
        assert_eq!(r.channel(), Some("my channel"));
    }

    #[test]
    fn check_name_is_the_runtime_version_rule() {
        for value in [
            "",
            "a\tb",
            "é",
            "a\u{7f}",
            &"x".repeat(MAX_NAME_LEN + 1),
            "ok",
            " ~",
        ] {
            assert_eq!(
                check_name(value).is_ok(),
                RuntimeVersion::new(value).is_ok(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn duplicated_platform_is_refused() {
        let mut all = BASE.to_vec();
        all.push(("expo-platform", "ios"));
        let err = UpdateRequest::from_parts(&parts(&all)).unwrap_err();
        assert_eq!(err.header(), Some("expo-platform"));
    }

    #[test]
    fn several_accept_lines_form_one_list() {
        let r = with(&[
            ("accept", "application/json;q=0.5"),
            ("accept", "application/expo+json"),
        ])
        .unwrap();
        assert_eq!(r.format(), ResponseFormat::ExpoJson);
    }
}
