//! Precompression at publish time: requests never compress.
//!
//! Brotli at quality 11 is slow (seconds for a Hermes bundle) but done once per blob; the
//! publisher runs it on every core and skips blobs already stored. A variant is kept only
//! when smaller than the identity bytes, and formats that are compressed already (PNG, JPEG,
//! WOFF2, ...) are not tried.

use std::io::Write as _;

use bytes::Bytes;

use crate::blobs::PreparedBlob;
use crate::store::AssetHash;

/// Default brotli quality (the maximum).
pub const BROTLI_QUALITY: u32 = 11;
/// Brotli window, log2 bytes (the encoder's maximum for standard brotli).
const BROTLI_WINDOW: u32 = 22;
/// Below this size compression cannot pay for the `content-encoding` header.
const MIN_SIZE: usize = 256;

/// Computes the variants of `identity` (whose hash is `hash`) worth storing, brotli at
/// `brotli_quality` (0 to 11).
pub fn prepare(
    hash: AssetHash,
    identity: Bytes,
    content_type: &str,
    brotli_quality: u32,
) -> PreparedBlob {
    let (gzip, br) = if worth_compressing(content_type, identity.len()) {
        (
            smaller(gzip(&identity), identity.len()),
            smaller(brotli(&identity, brotli_quality), identity.len()),
        )
    } else {
        (None, None)
    };
    PreparedBlob {
        hash,
        identity,
        content_type: content_type.to_owned(),
        gzip,
        br,
    }
}

fn smaller(variant: Vec<u8>, than: usize) -> Option<Bytes> {
    (variant.len() < than).then(|| Bytes::from(variant))
}

/// Whether compressing this kind of content can make it smaller.
pub fn worth_compressing(content_type: &str, len: usize) -> bool {
    if len < MIN_SIZE {
        return false;
    }
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let compressed_already = matches!(
        essence.as_str(),
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "image/avif"
            | "image/heic"
            | "font/woff"
            | "font/woff2"
            | "application/zip"
            | "application/gzip"
    ) || essence.starts_with("video/")
        || essence.starts_with("audio/");
    !compressed_already
}

/// gzip at level 9.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 2),
        flate2::Compression::best(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// brotli at `quality` (0 to 11).
pub fn brotli(bytes: &[u8], quality: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() / 2);
    {
        let mut encoder =
            brotli::CompressorWriter::new(&mut out, 64 * 1024, quality.min(11), BROTLI_WINDOW);
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(bytes);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn variants_decode_to_the_identity_bytes() {
        let text: Vec<u8> = b"function hello() { return 'world'; }\n".repeat(100);
        let blob = prepare(
            AssetHash::of(&text),
            Bytes::from(text.clone()),
            "application/javascript",
            BROTLI_QUALITY,
        );
        assert_eq!(blob.hash, AssetHash::of(&text));

        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&blob.gzip.unwrap()[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, text);

        let mut out = Vec::new();
        brotli::Decompressor::new(&blob.br.unwrap()[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, text);
    }

    #[test]
    fn incompressible_or_tiny_content_keeps_only_identity() {
        let tiny = prepare(
            AssetHash::of(b"abc"),
            Bytes::from_static(b"abc"),
            "text/plain",
            BROTLI_QUALITY,
        );
        assert!(tiny.gzip.is_none() && tiny.br.is_none());

        let png = prepare(
            AssetHash::of(&[0; 4096]),
            Bytes::from(vec![0; 4096]),
            "image/png",
            BROTLI_QUALITY,
        );
        assert!(png.gzip.is_none() && png.br.is_none());

        // Pseudo-random bytes do not compress: both variants come out larger and are dropped.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        let blob = prepare(
            AssetHash::of(&noise),
            Bytes::from(noise),
            "application/octet-stream",
            BROTLI_QUALITY,
        );
        assert!(blob.gzip.is_none() && blob.br.is_none());
    }
}
