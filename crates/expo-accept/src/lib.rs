//! Content negotiation for [Expo Updates](https://docs.expo.dev/technical-specs/expo-updates-1/):
//! `Accept` chooses the manifest structure (`multipart/mixed`,
//! `application/expo+json`, `application/json`, or 406) and
//! `Accept-Encoding` chooses among the stored variants of an asset (`br`,
//! `gzip`, `identity`).
//!
//! Both follow RFC 9110: quality values with at most three decimals,
//! wildcards, parameters, case-insensitive names, optional whitespace. Ties
//! go to the more specific media range, then to the server's order of
//! preference. Inputs are bounded ([`MAX_HEADER_LEN`], [`MAX_ELEMENTS`]).
//!
//! # Why not `mime` for parsing
//!
//! `mime` 0.3 parses media *types*, not the media *ranges* of `Accept`: it
//! accepts `*/json` and `text/` and refuses the optional whitespace RFC 9110
//! allows before `;` (`application/json ; q=0.5`). The small parser here
//! follows the RFC grammar instead; [`Accept::quality_of_mime`] takes a
//! `mime::Mime` for servers that keep their offers as `mime` values.
//!
//! # Example
//!
//! ```
//! use expo_accept::{AcceptEncoding, ContentCoding, ResponseFormat, negotiate_format};
//!
//! # fn main() -> Result<(), expo_accept::Error> {
//! // The spec's example request prefers multipart.
//! let accept = "application/expo+json;q=0.9, application/json;q=0.8, multipart/mixed";
//! assert_eq!(negotiate_format(Some(accept), &ResponseFormat::ALL)?, ResponseFormat::MultipartMixed);
//!
//! // A client that reads JSON only gets JSON, or a 406 when JSON is not offered.
//! let json_only = Some("application/expo+json");
//! assert_eq!(negotiate_format(json_only, &ResponseFormat::ALL)?, ResponseFormat::ExpoJson);
//! assert!(negotiate_format(json_only, &[ResponseFormat::MultipartMixed]).is_err());
//!
//! let encodings = AcceptEncoding::parse("gzip, br;q=1, identity;q=0.5")?;
//! assert_eq!(encodings.negotiate(&ContentCoding::ALL), Some(ContentCoding::Brotli));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

mod encoding;
mod error;
mod media;
mod syntax;

pub use encoding::{AcceptEncoding, ContentCoding, negotiate_encoding};
pub use error::Error;
pub use media::{Accept, MediaRange, ResponseFormat, negotiate_format};

/// The longest header value parsed, in bytes.
pub const MAX_HEADER_LEN: usize = 8192;

/// The most list elements a header may have.
pub const MAX_ELEMENTS: usize = 64;
