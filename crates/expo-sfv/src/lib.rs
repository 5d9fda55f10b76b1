//! Expo SFV 0: the structured header values of the
//! [Expo Updates protocol](https://docs.expo.dev/technical-specs/expo-updates-1/),
//! and the typed headers built on them.
//!
//! Expo SFV is a strict subset of RFC 8941 structured fields: a dictionary
//! whose members are strings, integers, decimals or booleans (a bare key is
//! `true`), without parameters, inner lists, tokens or byte sequences. The
//! `sfv` crate does the RFC 8941 parsing and serialization; this crate
//! refuses what the subset leaves out, bounds the input, and names the
//! offending member in every error.
//!
//! - [`Dictionary`] and [`Item`]: the generic value.
//! - [`ExpectSignature`] (`expo-expect-signature`), [`Signature`]
//!   (`expo-signature`), [`ManifestFilters`] (`expo-manifest-filters`),
//!   [`ServerDefinedHeaders`] (`expo-server-defined-headers`).
//! - [`parse_string_list`] for `expo-recent-failed-update-ids`.
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
//! // Tokens are RFC 8941 but not Expo SFV.
//! assert!(Dictionary::parse("branch=main").is_err());
//! # Ok(())
//! # }
//! ```
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
