//! Content negotiation for [Expo Updates](https://docs.expo.dev/technical-specs/expo-updates-1/):
//! `Accept` chooses the manifest structure (`multipart/mixed`,
//! `application/expo+json`, `application/json`, or 406) and
//! `Accept-Encoding` chooses among the stored variants of an asset (`br`,
//! `gzip`, `identity`).
//!
//! Both follow RFC 9110: quality values with at most three decimals,
//! wildcards, parameters, case-insensitive names, optional whitespace.
//!
//! # Rules
//!
//! - `Accept` (RFC 9110 12.5.1): each offer takes the weight of the most
//!   specific range that matches it (`type/subtype;params` over
//!   `type/subtype` over `type/*` over `*/*`); weight 0 excludes it. The
//!   highest weight wins, ties go to the more specific range, then to the
//!   server's order of preference ([`ResponseFormat::ALL`]: multipart first,
//!   as only it carries directives). An absent header is `*/*`
//!   ([`Accept::any`]); an empty one accepts nothing.
//! - `Accept-Encoding` (RFC 9110 12.5.3): a coding takes its own weight, else
//!   that of `*`, else 0. `identity` is acceptable unless `identity;q=0`, or
//!   `*;q=0` without an `identity` entry, excludes it; unlisted, it ranks
//!   below every coding the client named. An empty value therefore means
//!   identity only. An absent header also means identity only
//!   ([`AcceptEncoding::identity_only`]): the RFC would allow any coding, but a
//!   client that says nothing may not decode one, and the HTTP stacks under
//!   the Expo clients (`OkHttp`, `URLSession`) always send one.
//!
//! # Malformed headers
//!
//! [`Accept::parse`] and [`AcceptEncoding::parse`] skip elements that are not
//! valid syntax, as the `negotiator` package of Node servers (Expo's dev
//! server among them) does, so one odd element does not turn a usable header
//! into an error; a header left with no valid element accepts nothing, which
//! is a 406 ([`Error::NotAcceptable`]). The `parse_strict` variants refuse any
//! malformed element with [`Error::Malformed`]. Values over [`MAX_HEADER_LEN`]
//! bytes or [`MAX_ELEMENTS`] elements are [`Error::TooLong`] and
//! [`Error::TooManyElements`] (answer 400) before anything is allocated.
//! The differences from `negotiator`, each with its reason, are listed in the
//! differential tests (`tests/differential.rs`).
//!
//! # Why not `mime` for parsing
//!
//! `mime` 0.3 parses media *types*, not the media *ranges* of `Accept`: it
//! accepts `*/json`, `text/` and `q=0.5555`, keeps the weight and what
//! follows it as ordinary parameters, and refuses the optional whitespace
//! RFC 9110 allows before `;` (`application/json ; q=0.5`) and escaped quotes
//! in quoted strings (`tests/mime_crate.rs` pins these). The small parser here
//! follows the RFC grammar instead. `mime` stays at the edges:
//! [`ResponseFormat::mime`] gives a `mime::Mime` for the `Content-Type`,
//! [`Accept::negotiate`] takes `mime::Mime` offers as it takes strings, and
//! [`Accept::quality_of_mime`] weighs one.
//!
//! # Example
//!
//! ```
//! use expo_accept::{Accept, AcceptEncoding, ContentCoding, ResponseFormat, negotiate_format};
//!
//! # fn main() -> Result<(), expo_accept::Error> {
//! // What the expo-updates clients send.
//! let accept: Accept = "multipart/mixed,application/expo+json,application/json".parse()?;
//! let format = accept.negotiate_format(&ResponseFormat::ALL);
//! assert_eq!(format, Some(ResponseFormat::MultipartMixed));
//! assert_eq!(ResponseFormat::MultipartMixed.mime().essence_str(), "multipart/mixed");
//!
//! // The spec's example request prefers multipart.
//! let accept = "application/expo+json;q=0.9, application/json;q=0.8, multipart/mixed";
//! assert_eq!(negotiate_format(Some(accept), &ResponseFormat::ALL)?, ResponseFormat::MultipartMixed);
//!
//! // A client that reads JSON only gets JSON, or a 406 when JSON is not offered.
//! let json_only = Some("application/expo+json");
//! assert_eq!(negotiate_format(json_only, &ResponseFormat::ALL)?, ResponseFormat::ExpoJson);
//! assert!(negotiate_format(json_only, &[ResponseFormat::MultipartMixed]).is_err());
//!
//! // No header at all means `*/*`: the server's first choice.
//! assert_eq!(negotiate_format(None, &ResponseFormat::ALL)?, ResponseFormat::MultipartMixed);
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
