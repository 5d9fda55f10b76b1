//! The crate's single error type.

use std::fmt;

/// A limit from [`Limits`](crate::Limits) that an input exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_parts`](crate::Limits::max_parts).
    Parts,
    /// [`Limits::max_header_bytes`](crate::Limits::max_header_bytes).
    HeaderBytes,
    /// [`Limits::max_body_bytes`](crate::Limits::max_body_bytes).
    BodyBytes,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Parts => "max_parts",
            Self::HeaderBytes => "max_header_bytes",
            Self::BodyBytes => "max_body_bytes",
        })
    }
}

/// Everything that can go wrong while building or reading a multipart body.
///
/// Positions (`offset`) count bytes from the start of the multipart body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `content-type` value is not a well-formed `multipart/*` media type.
    #[error("invalid multipart content type: {reason}")]
    InvalidContentType {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The `content-type` value has no `boundary` parameter.
    #[error("multipart content type has no boundary parameter")]
    MissingBoundary,
    /// The boundary breaks the RFC 2046 rules (1 to 70 characters from a
    /// restricted set, not ending in a space).
    #[error("invalid multipart boundary: {reason}")]
    InvalidBoundary {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A caller-chosen boundary occurs in a part, so it cannot delimit the parts.
    #[error("the boundary occurs in part {index}")]
    BoundaryInPart {
        /// Index of the first part that contains the boundary.
        index: usize,
    },
    /// A part header name or value given to [`Part::with_header`](crate::Part::with_header)
    /// is not valid in an HTTP header.
    #[error("invalid part header")]
    InvalidHeader(#[source] http::Error),
    /// A non-empty body holds no boundary delimiter.
    #[error("no boundary delimiter in the multipart body")]
    BoundaryNotFound,
    /// The body ended before the closing boundary delimiter.
    #[error("multipart body truncated at byte {offset}")]
    Truncated {
        /// Where the input ended.
        offset: usize,
    },
    /// A boundary delimiter line holds something other than optional
    /// whitespace after the boundary.
    #[error("unexpected bytes after the boundary delimiter at byte {offset}")]
    InvalidDelimiter {
        /// Where the unexpected bytes start.
        offset: usize,
    },
    /// A part's header block is malformed.
    #[error("malformed part header at byte {offset}: {reason}")]
    MalformedHeader {
        /// Start of the offending header line.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The input exceeds one of the configured [`Limits`](crate::Limits).
    #[error("multipart body exceeds the {limit} limit of {max}")]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// Its configured value.
        max: usize,
    },
    /// Reading the underlying body stream failed.
    #[error("reading the multipart body failed")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// The byte offset in the multipart body this error points at, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_multipart::{decode, Limits};
    ///
    /// let err = decode("multipart/mixed; boundary=b", b"--b\r\nbad header\r\n\r\n\r\n--b--", &Limits::default())
    ///     .unwrap_err();
    /// assert_eq!(err.offset(), Some(5));
    /// ```
    pub fn offset(&self) -> Option<usize> {
        match *self {
            Self::Truncated { offset }
            | Self::InvalidDelimiter { offset }
            | Self::MalformedHeader { offset, .. } => Some(offset),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
