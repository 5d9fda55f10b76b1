#![doc = include_str!("../README.md")]
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
