//! Everything that turns into an error answer, and how it is rendered.

use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

use crate::error_body::{ErrorBody, ErrorCode};

/// Why a request cannot be answered with an update, a directive or an asset.
///
/// Every variant renders as a JSON error response (see
/// [`Responder::error_response`](crate::Responder::error_response)) whose
/// [`ErrorBody`] names the code, the header at fault and the problem:
/// `{"error":{"code":"missing_header","header":"expo-platform","message":"..."}}`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The method is neither GET nor POST (manifest) or GET nor HEAD (asset): 405.
    #[error("method {method} is not allowed; use {allow}")]
    MethodNotAllowed {
        /// The method of the request, shortened.
        method: String,
        /// The methods allowed, the `allow` header.
        allow: &'static str,
    },
    /// A required header is absent: 400.
    #[error("the {header} header is required")]
    MissingHeader {
        /// The header.
        header: &'static str,
    },
    /// A header value is not valid: 400.
    #[error("the {header} header is invalid: {source}")]
    InvalidHeader {
        /// The header.
        header: &'static str,
        /// What is wrong with it.
        #[source]
        source: HeaderValueError,
    },
    /// `expo-platform` is neither `ios` nor `android`: 400.
    #[error("unsupported platform {value:?}: expected \"ios\" or \"android\"")]
    UnsupportedPlatform {
        /// The value sent, shortened.
        value: String,
    },
    /// `expo-protocol-version` is neither 0 nor 1: 406.
    #[error("unsupported protocol version {value:?}: this server speaks versions 0 and 1")]
    UnsupportedProtocolVersion {
        /// The value sent, shortened.
        value: String,
    },
    /// None of the structures the server writes is acceptable: 406.
    #[error("none of multipart/mixed, application/expo+json, application/json is acceptable")]
    NotAcceptable,
    /// The answer is a directive, which the negotiated structure or the
    /// protocol version cannot carry: 406.
    #[error("the answer is a {kind} directive, which needs multipart/mixed and protocol version 1")]
    DirectiveNotAcceptable {
        /// The directive's type.
        kind: String,
    },
    /// No stored asset encoding is acceptable to the client: 406.
    #[error("none of the stored encodings of this asset is acceptable")]
    EncodingNotAcceptable,
    /// The request asks for a signature but the server has no signing key: 400.
    /// (A client that expects a signature rejects an unsigned manifest anyway.)
    #[error("the request expects a signature but code signing is not configured on this server")]
    CodeSigningNotConfigured,
    /// No asset has the requested hash: 404.
    #[error("no asset has this hash")]
    AssetNotFound,
    /// Signing a body failed: 500.
    #[error("signing failed: {0}")]
    Signing(#[from] expo_codesign::Error),
    /// The update source failed: 500. The cause is kept for logs and never
    /// sent to the client.
    #[error("the update source failed: {0}")]
    Source(#[from] SourceError),
}

impl ProtocolError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ProtocolError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ProtocolError::MissingHeader { .. }
            | ProtocolError::InvalidHeader { .. }
            | ProtocolError::UnsupportedPlatform { .. }
            | ProtocolError::CodeSigningNotConfigured => StatusCode::BAD_REQUEST,
            ProtocolError::UnsupportedProtocolVersion { .. }
            | ProtocolError::NotAcceptable
            | ProtocolError::DirectiveNotAcceptable { .. }
            | ProtocolError::EncodingNotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ProtocolError::AssetNotFound => StatusCode::NOT_FOUND,
            ProtocolError::Signing(_) | ProtocolError::Source(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The machine-readable `code` of the JSON body.
    pub fn code(&self) -> ErrorCode {
        match self {
            ProtocolError::MethodNotAllowed { .. } => ErrorCode::METHOD_NOT_ALLOWED,
            ProtocolError::MissingHeader { .. } => ErrorCode::MISSING_HEADER,
            ProtocolError::InvalidHeader { .. } => ErrorCode::INVALID_HEADER,
            ProtocolError::UnsupportedPlatform { .. } => ErrorCode::UNSUPPORTED_PLATFORM,
            ProtocolError::UnsupportedProtocolVersion { .. } => {
                ErrorCode::UNSUPPORTED_PROTOCOL_VERSION
            }
            ProtocolError::NotAcceptable => ErrorCode::NOT_ACCEPTABLE,
            ProtocolError::DirectiveNotAcceptable { .. } => ErrorCode::DIRECTIVE_NOT_ACCEPTABLE,
            ProtocolError::EncodingNotAcceptable => ErrorCode::ENCODING_NOT_ACCEPTABLE,
            ProtocolError::CodeSigningNotConfigured => ErrorCode::CODE_SIGNING_NOT_CONFIGURED,
            ProtocolError::AssetNotFound => ErrorCode::NOT_FOUND,
            ProtocolError::Signing(_) => ErrorCode::SIGNING_FAILED,
            ProtocolError::Source(_) => ErrorCode::INTERNAL_ERROR,
        }
    }

    /// The request header at fault, if one is.
    pub fn header(&self) -> Option<&'static str> {
        match self {
            ProtocolError::MissingHeader { header }
            | ProtocolError::InvalidHeader { header, .. } => Some(header),
            ProtocolError::UnsupportedPlatform { .. } => Some(crate::headers::names::EXPO_PLATFORM),
            ProtocolError::UnsupportedProtocolVersion { .. } => {
                Some(crate::headers::names::EXPO_PROTOCOL_VERSION)
            }
            ProtocolError::NotAcceptable | ProtocolError::DirectiveNotAcceptable { .. } => {
                Some("accept")
            }
            ProtocolError::EncodingNotAcceptable => Some("accept-encoding"),
            ProtocolError::CodeSigningNotConfigured => {
                Some(crate::headers::names::EXPO_EXPECT_SIGNATURE)
            }
            _ => None,
        }
    }

    /// The [`ErrorBody`]: code, header (when one is at fault) and message.
    /// Internal errors say only that something failed, never why.
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            ProtocolError::Signing(_) | ProtocolError::Source(_) => {
                "the server could not answer this request".to_owned()
            }
            other => other.to_string(),
        };
        let body = ErrorBody::new(self.code(), message);
        match self.header() {
            Some(header) => body.with_header(header),
            None => body,
        }
    }

    /// The JSON bytes of [`body`](Self::body).
    pub fn to_json_bytes(&self) -> Bytes {
        self.body().to_json_bytes()
    }

    /// The headers particular to this error (`allow` on a 405).
    pub(crate) fn extra_header(&self) -> Option<(header::HeaderName, HeaderValue)> {
        match self {
            ProtocolError::MethodNotAllowed { allow, .. } => {
                Some((header::ALLOW, HeaderValue::from_static(allow)))
            }
            _ => None,
        }
    }
}

/// What is wrong with a header value: the source of
/// [`ProtocolError::InvalidHeader`]. The errors of the crates that parse
/// the value are kept as they are, for callers to match on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderValueError {
    /// The header appears more than once where one value is allowed.
    #[error("sent more than once")]
    Repeated,
    /// The value holds bytes other than visible ASCII, space and tab.
    #[error("not visible ASCII")]
    NotVisibleAscii,
    /// The value is empty.
    #[error("empty")]
    Empty,
    /// The value holds a character other than printable ASCII (`' '` to
    /// `'~'`), a tab for example, where only those are accepted (names, ids).
    #[error("contains {0:?}: only printable ASCII is accepted")]
    Character(char),
    /// The value is longer than accepted.
    #[error("{len} bytes long; at most {max} are accepted")]
    TooLong {
        /// Its length (of all lines together, for a list header).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A value to send cannot be a header value (a content type with a
    /// control character, for example).
    #[error("{0:?} is not a header value")]
    NotAHeaderValue(String),
    /// Not a valid Expo SFV value (`expo-expect-signature`,
    /// `expo-extra-params`, `expo-recent-failed-update-ids`).
    #[error(transparent)]
    Sfv(#[from] expo_sfv::Error),
    /// Not a valid runtime version or update id.
    #[error(transparent)]
    Manifest(#[from] expo_manifest::Error),
    /// Not a valid `accept` or `accept-encoding` value.
    #[error(transparent)]
    Accept(#[from] expo_accept::Error),
}

/// A failure of an [`UpdateSource`](crate::UpdateSource) or
/// [`AssetSource`](crate::AssetSource): the storage's own error, boxed.
pub struct SourceError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl SourceError {
    /// Wraps the storage's error.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        SourceError(error.into())
    }

    /// The storage's error.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Debug for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Shortens untrusted text quoted in an error message.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_names_code_header_and_message() {
        let body = ProtocolError::MissingHeader {
            header: "expo-platform",
        }
        .to_json_bytes();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["error"]["code"], "missing_header");
        assert_eq!(value["error"]["header"], "expo-platform");
        assert!(
            value["error"]["message"]
                .as_str()
                .unwrap()
                .contains("expo-platform")
        );
    }

    #[test]
    fn invalid_headers_keep_the_parser_error_as_their_source() {
        use std::error::Error as _;

        let sfv = expo_sfv::Dictionary::parse("sig, keyid=main").unwrap_err();
        let err = ProtocolError::InvalidHeader {
            header: "expo-expect-signature",
            source: sfv.clone().into(),
        };
        let source = err.source().unwrap();
        match source.downcast_ref::<HeaderValueError>() {
            Some(HeaderValueError::Sfv(inner)) => assert_eq!(*inner, sfv),
            other => panic!("{other:?}"),
        }
        // The client still reads what is wrong in the message.
        assert!(err.to_string().ends_with(&sfv.to_string()), "{err}");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = ProtocolError::from(SourceError::new("password=hunter2 rejected"));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = String::from_utf8(err.to_json_bytes().to_vec()).unwrap();
        assert!(!body.contains("hunter2"));
    }

    #[test]
    fn shorten_respects_char_boundaries() {
        let long = "é".repeat(100);
        let short = shorten(&long);
        assert!(short.len() < 70);
        assert!(short.ends_with('…'));
    }
}
