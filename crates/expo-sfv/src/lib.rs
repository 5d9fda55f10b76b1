//! Expo SFV 0: the structured header values of the
//! [Expo Updates protocol](https://docs.expo.dev/technical-specs/expo-updates-1/),
//! and the typed headers built on them.
//!
//! [Expo SFV 0](https://docs.expo.dev/technical-specs/expo-sfv-0/) is a strict
//! subset of [RFC 8941](https://www.rfc-editor.org/rfc/rfc8941) structured
//! fields: a dictionary whose members are strings, integers, decimals or
//! booleans (a bare key is `true`). Inner lists, parameters, tokens and byte
//! sequences are RFC 8941 but not Expo SFV, and RFC 9651's dates and display
//! strings are neither. The [`sfv`] crate does the RFC 8941 grammar; this
//! crate refuses what the subset leaves out, bounds the input, names the
//! offending member in every error, and writes canonical values.
//!
//! - [`Dictionary`] and [`Item`]: the generic value.
//! - [`ExpectSignature`] (`expo-expect-signature`), [`Signature`]
//!   (`expo-signature`), [`ManifestFilters`] (`expo-manifest-filters`),
//!   [`ServerDefinedHeaders`] (`expo-server-defined-headers`); `expo-extra-params`
//!   is a plain [`Dictionary`].
//! - [`parse_string_list`] for `expo-recent-failed-update-ids`, an RFC 8941
//!   list of strings.
//!
//! It does not read HTTP messages: give it the header value as `&str`.
//!
//! # Strictness and limits
//!
//! - A value longer than [`MAX_HEADER_LEN`] is refused before parsing; a
//!   dictionary or list with more than [`MAX_MEMBERS`] members is refused when
//!   the parser reaches the member over the limit.
//! - A key given twice keeps its first position and its last value
//!   (RFC 8941 4.2.2); only the surviving value must be Expo SFV.
//! - Errors say which member: [`Error::member`], and [`Error::index`] for the
//!   byte offset of a syntax error.
//!
//! The RFC 8941 layer is checked against two independent implementations
//! (npm `structured-headers`, `PyPI` `http-sfv`) on a table of about 600 header
//! values recorded in `interop/recorded.json`; see `tests/differential.rs`.
//!
//! # Example
//!
//! ```
//! use expo_sfv::{Dictionary, ExpectSignature, Signature};
//!
//! # fn main() -> Result<(), expo_sfv::Error> {
//! let expect = ExpectSignature::parse(r#"sig, keyid="main", alg="rsa-v1_5-sha256""#)?;
//! assert!(expect.sig);
//! assert_eq!(expect.keyid.as_deref(), Some("main"));
//!
//! let signature = Signature { sig: "AbC=".into(), keyid: expect.keyid, alg: expect.alg };
//! assert_eq!(
//!     signature.to_header_value(),
//!     r#"sig="AbC=", keyid="main", alg="rsa-v1_5-sha256""#
//! );
//!
//! // Tokens are RFC 8941 but not Expo SFV; the error names the member.
//! let err = Dictionary::parse("sig, branch=main").unwrap_err();
//! assert_eq!(err.member(), Some("branch"));
//! # Ok(())
//! # }
//! ```
//!
//! # Crate features
//!
//! None.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

mod dictionary;
mod error;
mod headers;
mod item;
mod parser;

pub use dictionary::{Dictionary, parse_string_list};
pub use error::{Error, Near};
pub use headers::{ExpectSignature, ManifestFilters, ServerDefinedHeaders, Signature};
pub use item::{Decimal, Item};

/// The longest header value parsed, in bytes. Longer values are refused
/// before any parsing or allocation.
pub const MAX_HEADER_LEN: usize = 8192;

/// The most members a dictionary or list may have.
pub const MAX_MEMBERS: usize = 64;
