#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

mod dictionary;
mod error;
#[cfg(feature = "http")]
mod header_value;
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
