//! The one JSON shape of every error answer: [`ErrorBody`], its [`ErrorCode`] and the
//! [`ErrorTarget`] it blames.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::{Deserialize, Serialize};

/// A stable, machine-readable error code: a `snake_case` identifier such as
/// `missing_header`.
///
/// The codes this crate answers with are associated constants; an embedder
/// defines its own the same way, with [`ErrorCode::from_static`], which
/// refuses (at compile time, in a `const`) anything but `[a-z0-9_]`
/// starting with a letter. Codes read back from a body
/// ([`ErrorBody::from_json_slice`]) are kept as sent.
///
/// ```
/// use expo_updates::ErrorCode;
///
/// const QUOTA_EXCEEDED: ErrorCode = ErrorCode::from_static("quota_exceeded");
/// assert_eq!(QUOTA_EXCEEDED.as_str(), "quota_exceeded");
/// assert_eq!(ErrorCode::MISSING_HEADER, "missing_header");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ErrorCode(Cow<'static, str>);

impl ErrorCode {
    /// A code from a literal.
    ///
    /// # Panics
    ///
    /// Unless `code` is `snake_case` (`[a-z][a-z0-9_]*`); in a `const`, that is a
    /// compile error.
    pub const fn from_static(code: &'static str) -> Self {
        let bytes = code.as_bytes();
        assert!(
            !bytes.is_empty() && bytes[0].is_ascii_lowercase(),
            "an error code starts with a lower-case letter"
        );
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            assert!(
                b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_',
                "an error code is snake_case"
            );
            i += 1;
        }
        ErrorCode(Cow::Borrowed(code))
    }

    /// The code as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// 405: the method is not allowed on this endpoint (an `allow` header lists those that are).
    pub const METHOD_NOT_ALLOWED: ErrorCode = ErrorCode::from_static("method_not_allowed");
    /// 400: a required header is absent (`header` names it).
    pub const MISSING_HEADER: ErrorCode = ErrorCode::from_static("missing_header");
    /// 400: a header value is refused (`header` names it).
    pub const INVALID_HEADER: ErrorCode = ErrorCode::from_static("invalid_header");
    /// 400: `expo-platform` is neither `ios` nor `android`.
    pub const UNSUPPORTED_PLATFORM: ErrorCode = ErrorCode::from_static("unsupported_platform");
    /// 406: `expo-protocol-version` is neither 0 nor 1.
    pub const UNSUPPORTED_PROTOCOL_VERSION: ErrorCode =
        ErrorCode::from_static("unsupported_protocol_version");
    /// 406: no response structure is acceptable (`header`: `accept`).
    pub const NOT_ACCEPTABLE: ErrorCode = ErrorCode::from_static("not_acceptable");
    /// 406: the answer is a directive the negotiated structure cannot carry.
    pub const DIRECTIVE_NOT_ACCEPTABLE: ErrorCode =
        ErrorCode::from_static("directive_not_acceptable");
    /// 406: no stored encoding of an asset is acceptable (`header`: `accept-encoding`).
    pub const ENCODING_NOT_ACCEPTABLE: ErrorCode =
        ErrorCode::from_static("encoding_not_acceptable");
    /// 400: a signature is expected but the server signs nothing.
    pub const CODE_SIGNING_NOT_CONFIGURED: ErrorCode =
        ErrorCode::from_static("code_signing_not_configured");
    /// 416: the requested range lies outside the asset (`header`: `range`).
    pub const RANGE_NOT_SATISFIABLE: ErrorCode = ErrorCode::from_static("range_not_satisfiable");
    /// 404: nothing at this URL (an unknown asset hash, update id or route).
    pub const NOT_FOUND: ErrorCode = ErrorCode::from_static("not_found");
    /// 500: signing failed.
    pub const SIGNING_FAILED: ErrorCode = ErrorCode::from_static("signing_failed");
    /// 500: the server failed; the message says nothing more (the cause is in its log).
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode::from_static("internal_error");
    /// 400: a request the server cannot use (`header`, `field` or `parameter` names the
    /// part at fault when one is).
    pub const BAD_REQUEST: ErrorCode = ErrorCode::from_static("bad_request");
    /// 401: missing or wrong credentials.
    pub const UNAUTHORIZED: ErrorCode = ErrorCode::from_static("unauthorized");
    /// 409: the request conflicts with the current state (nothing to act on).
    pub const CONFLICT: ErrorCode = ErrorCode::from_static("conflict");
    /// 413: the request body is larger than the endpoint accepts.
    pub const TOO_LARGE: ErrorCode = ErrorCode::from_static("too_large");
    /// 415: the request body's `content-type` is not one the endpoint reads.
    pub const UNSUPPORTED_MEDIA_TYPE: ErrorCode = ErrorCode::from_static("unsupported_media_type");
    /// 503: the server is at capacity; `retry-after` says when to try again.
    pub const OVERLOADED: ErrorCode = ErrorCode::from_static("overloaded");
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

/// What part of the request an error blames: serialized as the `header`, `field` or
/// `parameter` member of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorTarget {
    /// A request header, by its lower-case name (`expo-channel-name`).
    Header(Cow<'static, str>),
    /// A member of the JSON request body, as a path (`updates[0].platform`).
    Field(Cow<'static, str>),
    /// A URL path segment or query parameter, by its name (`id`, `limit`).
    Parameter(Cow<'static, str>),
}

/// The body of every JSON error answer:
///
/// ```json
/// {"error": {"code": "invalid_header", "header": "expo-channel-name", "message": "…"}}
/// ```
///
/// - `code` ([`ErrorCode`]): stable `snake_case`, for programs to branch on.
/// - `message`: for people; never the internals of a server failure.
/// - at most one of `header` (a request header, lower case), `field` (a member of the
///   JSON request body, as a path such as `updates[0].platform`) or `parameter` (a path
///   segment or query parameter): what the client sent wrong ([`ErrorTarget`]). Absent
///   when the request as a whole is at fault or the server failed.
///
/// Clients should ignore members they do not know: more may be added.
///
/// ```
/// use expo_updates::{ErrorBody, ErrorCode, ErrorTarget};
///
/// let body = ErrorBody::new(ErrorCode::INVALID_HEADER, "the expo-channel-name header is invalid")
///     .with_header("expo-channel-name");
/// let bytes = body.to_json_bytes();
/// assert_eq!(
///     &bytes[..],
///     br#"{"error":{"code":"invalid_header","header":"expo-channel-name","message":"the expo-channel-name header is invalid"}}"#
/// );
/// let read = ErrorBody::from_json_slice(&bytes)?;
/// assert_eq!(read.code(), &ErrorCode::INVALID_HEADER);
/// assert_eq!(read.target(), Some(&ErrorTarget::Header("expo-channel-name".into())));
///
/// let response = body.into_response(http::StatusCode::BAD_REQUEST);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    code: ErrorCode,
    target: Option<ErrorTarget>,
    message: String,
}

impl ErrorBody {
    /// A body with a code and a message, blaming no part of the request.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            code,
            target: None,
            message: message.into(),
        }
    }

    /// Blames a request header (lower-case name).
    #[must_use]
    pub fn with_header(self, name: impl Into<Cow<'static, str>>) -> Self {
        self.with_target(ErrorTarget::Header(name.into()))
    }

    /// Blames a member of the JSON request body.
    #[must_use]
    pub fn with_field(self, path: impl Into<Cow<'static, str>>) -> Self {
        self.with_target(ErrorTarget::Field(path.into()))
    }

    /// Blames a URL path segment or query parameter.
    #[must_use]
    pub fn with_parameter(self, name: impl Into<Cow<'static, str>>) -> Self {
        self.with_target(ErrorTarget::Parameter(name.into()))
    }

    /// Blames `target` (replacing what was blamed before).
    #[must_use]
    pub fn with_target(mut self, target: ErrorTarget) -> Self {
        self.target = Some(target);
        self
    }

    /// The code.
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// The part of the request at fault, if one is.
    pub fn target(&self) -> Option<&ErrorTarget> {
        self.target.as_ref()
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON bytes.
    pub fn to_json_bytes(&self) -> Bytes {
        // Serializing strings into a Vec cannot fail.
        Bytes::from(serde_json::to_vec(&self.wire()).unwrap_or_default())
    }

    fn wire(&self) -> Wire<'_> {
        let (header, field, parameter) = match &self.target {
            None => (None, None, None),
            Some(ErrorTarget::Header(h)) => (Some(&**h), None, None),
            Some(ErrorTarget::Field(f)) => (None, Some(&**f), None),
            Some(ErrorTarget::Parameter(p)) => (None, None, Some(&**p)),
        };
        Wire {
            error: WireError {
                code: Cow::Borrowed(self.code.as_str()),
                header: header.map(Cow::Borrowed),
                field: field.map(Cow::Borrowed),
                parameter: parameter.map(Cow::Borrowed),
                message: Cow::Borrowed(&self.message),
            },
        }
    }

    /// Reads a body of this shape (what a client of a server using it does). Unknown
    /// members are ignored; with several targets, `header` wins over `field` over
    /// `parameter`.
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let wire: Wire<'_> = serde_json::from_slice(bytes)?;
        let WireError {
            code,
            header,
            field,
            parameter,
            message,
        } = wire.error;
        let target = header
            .map(|h| ErrorTarget::Header(h.into_owned().into()))
            .or_else(|| field.map(|f| ErrorTarget::Field(f.into_owned().into())))
            .or_else(|| parameter.map(|p| ErrorTarget::Parameter(p.into_owned().into())));
        Ok(ErrorBody {
            code: ErrorCode(Cow::Owned(code.into_owned())),
            target,
            message: message.into_owned(),
        })
    }

    /// The whole answer: `status`, `content-type: application/json`,
    /// `cache-control: no-store` (an error is about this request only) and the body.
    pub fn into_response(self, status: StatusCode) -> Response<Bytes> {
        let mut response = Response::new(self.to_json_bytes());
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The whole body, `{"error": {...}}`, as [`to_json_bytes`](ErrorBody::to_json_bytes)
/// writes it.
impl Serialize for ErrorBody {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.wire().serialize(serializer)
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.message, self.code)?;
        match &self.target {
            None => {}
            Some(ErrorTarget::Header(h)) => write!(f, ", header {h}")?,
            Some(ErrorTarget::Field(p)) => write!(f, ", field {p}")?,
            Some(ErrorTarget::Parameter(p)) => write!(f, ", parameter {p}")?,
        }
        f.write_str(")")
    }
}

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    error: WireError<'a>,
}

#[derive(Serialize, Deserialize)]
struct WireError<'a> {
    #[serde(borrow)]
    code: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    header: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    field: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    parameter: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Cow<'a, str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_round_trips() {
        for body in [
            ErrorBody::new(ErrorCode::INTERNAL_ERROR, "failed"),
            ErrorBody::new(ErrorCode::INVALID_HEADER, "tab").with_header("expo-channel-name"),
            ErrorBody::new(ErrorCode::BAD_REQUEST, "\"quoted\"\n")
                .with_field("updates[0].platform"),
            ErrorBody::new(ErrorCode::from_static("not_an_id"), "x").with_parameter("id"),
        ] {
            let bytes = body.to_json_bytes();
            let read = ErrorBody::from_json_slice(&bytes).unwrap();
            assert_eq!(read, body);
            assert_eq!(serde_json::to_vec(&body).unwrap(), bytes);
        }
    }

    #[test]
    fn only_the_target_present_is_serialized() {
        let json: serde_json::Value = serde_json::from_slice(
            &ErrorBody::new(ErrorCode::BAD_REQUEST, "m")
                .with_field("limit")
                .to_json_bytes(),
        )
        .unwrap();
        let members: Vec<&str> = json["error"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(members, ["code", "field", "message"]);
    }

    #[test]
    fn other_shapes_are_not_read_as_error_bodies() {
        for bad in [
            &br#"{"error":"message","code":"x"}"#[..],
            br#"{"error":{"message":"no code"}}"#,
            br#"{"error":{"code":"x"}}"#,
            b"not json",
        ] {
            assert!(ErrorBody::from_json_slice(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    #[should_panic(expected = "snake_case")]
    fn codes_must_be_snake_case() {
        let _ = ErrorCode::from_static("not-snake");
    }

    #[test]
    fn responses_are_json_and_not_stored() {
        let response =
            ErrorBody::new(ErrorCode::NOT_FOUND, "none").into_response(StatusCode::NOT_FOUND);
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }
}
