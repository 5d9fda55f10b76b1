#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

mod encoding;
mod error;
mod im;
mod media;
mod syntax;

pub use encoding::{AcceptEncoding, ContentCoding, negotiate_encoding};
pub use error::Error;
pub use im::{AcceptIm, accepts_im};
pub use media::{Accept, MediaRange, ResponseFormat, negotiate_format};

/// The longest header value parsed, in bytes.
pub const MAX_HEADER_LEN: usize = 8192;

/// The most list elements a header may have.
pub const MAX_ELEMENTS: usize = 64;
