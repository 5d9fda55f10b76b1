//! `multipart/mixed` bodies (RFC 2046) as Expo Updates v1 manifest responses
//! use them: an encoder for servers and a decoder for clients, tests and
//! conformance checks.
//!
//! A manifest response holds up to four parts, each with
//! `content-disposition: form-data; name="manifest"` (or `directive`,
//! `extensions`, `certificate_chain`) and `content-type: application/json`;
//! the manifest or directive part carries its own `expo-signature` header.
//! A response with zero parts has an empty body and means "no update".
//!
//! This crate does not pick parts, sign them or speak HTTP: it turns
//! [`Part`]s into bytes and back.
//!
//! # Encoding
//!
//! [`Multipart::new`] takes a boundary drawn from a CSPRNG and checks that
//! it occurs nowhere in the parts (headers or bodies), drawing a new one if
//! it does, so the output is always unambiguous; the boundary is kept per
//! thread while it stays clear of the parts, which spares each response the
//! setup. [`Multipart::with_boundary`] checks a caller's boundary instead.
//! [`Multipart::encode`] writes one contiguous [`Bytes`];
//! [`Multipart::into_body`] is an [`http_body::Body`] that passes part
//! bodies through without copying them. The framing is the one the expo-updates
//! iOS and Android readers accept:
//!
//! ```text
//! --B\r\n<headers>\r\n<body>\r\n--B\r\n<headers>\r\n<body>\r\n--B--\r\n
//! ```
//!
//! The final CRLF is always written (the iOS reader rejects a body without
//! it), and header names are written in lower case as given (iOS looks up
//! `expo-signature` case-sensitively).
//!
//! ```
//! use expo_multipart::{Limits, Multipart, Part, decode};
//!
//! let manifest = r#"{"id":"0754dad0-d200-d634-113c-ef1f26106028"}"#;
//! let multipart = Multipart::new(vec![
//!     Part::form_data("manifest", "application/json", manifest)
//!         .with_header("expo-signature", r#"sig="c2ln", keyid="main", alg="rsa-v1_5-sha256""#)?,
//!     Part::form_data("extensions", "application/json", r#"{"assetRequestHeaders":{}}"#),
//! ]);
//! let encoded = multipart.encode();
//! assert!(encoded.body.ends_with(b"--\r\n"));
//!
//! // ...and back.
//! let content_type = encoded.content_type.to_str().unwrap();
//! let parts = decode(content_type, &encoded.body, &Limits::default())?;
//! assert_eq!(parts.len(), 2);
//! assert_eq!(parts[0].name(), Some("manifest"));
//! assert_eq!(parts[0].body(), manifest.as_bytes());
//! assert!(parts[0].header("expo-signature").is_some());
//! # Ok::<(), expo_multipart::Error>(())
//! ```
//!
//! # Decoding
//!
//! [`decode`] reads a complete body, [`decode_stream`] and [`decode_body`]
//! read a stream of chunks or an [`http_body::Body`] and yield parts as they
//! complete, and [`Decoder`] is the push decoder underneath all three for
//! any other I/O model. [`parse_boundary`] reads the boundary from a
//! `content-type` value. Input is untrusted: every path returns a
//! [`Result`], and [`Limits`] bound the part count, the header block and the
//! body of each part. The search for delimiters is `memchr::memmem`, so large
//! parts decode at several GB/s; part bodies and header values are slices of
//! one copy of the input.
//!
//! The decoder follows RFC 2046 §5.1.1, accepting preamble, epilogue,
//! transport padding after boundaries, parts without headers and folded
//! header lines; it rejects boundary lines with trailing garbage, header
//! lines without a colon or with control characters, and bodies that end
//! before the close delimiter. Header order and duplicates are kept.
//!
//! ## Why not `mpart-async`
//!
//! `mpart-async` 0.7 was the intended building block. Its writer
//! (`client::MultipartRequest`) only writes `form-data` fields and files: it
//! cannot add arbitrary part headers such as `expo-signature`, writes
//! `Content-Disposition` capitalised and never checks its boundary against
//! the content. Its reader (`server::MultipartParser`) is a `form-data`
//! reader that does not fit `multipart/mixed` responses read by clients
//! that must not trust them: headers land in a `HeaderMap` (order lost, a
//! repeated header keeps only its last value) and more than 16 headers in a
//! part is an error; the body must start with the boundary (a preamble is
//! an error), as is transport padding after a boundary; a part without
//! headers swallows the next part's headers; nothing bounds the header
//! buffer or part sizes; and an empty body, which Expo defines as zero
//! parts, is an error. So both directions are written here (with `memchr`
//! for the searching), and `mpart-async` serves as an independent reader
//! in this crate's tests (`tests/mpart_async.rs`).
//!
//! # Crate features
//!
//! None.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

mod boundary;
mod decode;
mod encode;
mod error;
mod header_block;
mod limits;
mod params;
mod part;
mod stream;

pub use bytes::Bytes;

pub use crate::boundary::{Boundary, MAX_BOUNDARY_LEN, parse_boundary};
pub use crate::decode::{Decoder, decode};
pub use crate::encode::{EncodedMultipart, Multipart, MultipartBody};
pub use crate::error::{Error, Limit, Result};
pub use crate::limits::Limits;
pub use crate::part::Part;
pub use crate::stream::{BodyChunks, PartStream, decode_body, decode_stream};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<Part>();
        assert_send_sync::<Boundary>();
        assert_send_sync::<Multipart>();
        assert_send_sync::<EncodedMultipart>();
        assert_send_sync::<MultipartBody>();
        assert_send_sync::<Decoder>();
        assert_send_sync::<Limits>();
        assert_send_sync::<Error>();
    }
}
