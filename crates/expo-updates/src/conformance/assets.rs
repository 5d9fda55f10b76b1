//! Asset bytes: hashing and decoding, done here from the primitives.

use std::io::Read as _;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// Longest decoded asset (a bound against decompression bombs).
const MAX_DECODED: u64 = 256 * 1024 * 1024;

/// The manifest's `hash` of `bytes`: base64url SHA-256 without padding.
pub(crate) fn hash(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
}

/// Whether two manifest hashes are the same (padding ignored).
pub(crate) fn same_hash(a: &str, b: &str) -> bool {
    a.trim_end_matches('=') == b.trim_end_matches('=')
}

/// Decodes `body` sent with `coding` (`identity`, `gzip`, `br`).
pub(crate) fn decode(coding: &str, body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let read = match coding {
        "identity" => return Ok(body.to_vec()),
        "gzip" | "x-gzip" => flate2::read::GzDecoder::new(body)
            .take(MAX_DECODED + 1)
            .read_to_end(&mut out),
        "br" => brotli::Decompressor::new(body, 64 * 1024)
            .take(MAX_DECODED + 1)
            .read_to_end(&mut out),
        other => return Err(format!("unknown content-encoding {other:?}")),
    };
    read.map_err(|e| format!("the {coding} bytes do not decode: {e}"))?;
    if out.len() as u64 > MAX_DECODED {
        return Err("decodes to more than 256 MiB".to_owned());
    }
    Ok(out)
}

/// Whether a `cache-control` value lets caches keep an asset long (a day or more, or
/// `immutable`).
pub(crate) fn long_lived(cache_control: &str) -> bool {
    let value = cache_control.to_ascii_lowercase();
    if value.contains("no-store") || value.contains("no-cache") {
        return false;
    }
    value.split(',').any(|directive| {
        let directive = directive.trim();
        directive == "immutable"
            || directive
                .strip_prefix("max-age=")
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|age| age >= 86_400)
    })
}

/// Whether a manifest `cache-control` keeps shared caches out and clients from reusing a
/// stale answer.
pub(crate) fn fresh_manifest(cache_control: &str) -> bool {
    let value = cache_control.to_ascii_lowercase();
    let directives: Vec<&str> = value.split(',').map(str::trim).collect();
    let not_shared = directives
        .iter()
        .any(|d| *d == "private" || *d == "no-store");
    let not_stale = directives
        .iter()
        .any(|d| *d == "max-age=0" || *d == "no-cache" || *d == "no-store");
    not_shared && not_stale && !directives.contains(&"public")
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn hashes_like_the_manifest() {
        // SHA-256 of the empty string, base64url.
        assert_eq!(hash(b""), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
        assert!(same_hash("abc=", "abc"));
    }

    #[test]
    fn decodes_gzip_and_brotli() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello hello").unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decode("gzip", &gz).unwrap(), b"hello hello");
        let mut br = Vec::new();
        brotli::BrotliCompress(
            &mut &b"hello hello"[..],
            &mut br,
            &brotli::enc::BrotliEncoderParams::default(),
        )
        .unwrap();
        assert_eq!(decode("br", &br).unwrap(), b"hello hello");
        assert!(decode("br", b"not brotli").is_err());
        assert!(decode("gzip", b"not gzip").is_err());
        assert!(decode("zstd", b"").is_err());
    }

    #[test]
    fn judges_cache_control() {
        assert!(long_lived("public, max-age=31536000, immutable"));
        assert!(long_lived("max-age=86400"));
        assert!(!long_lived("max-age=60"));
        assert!(!long_lived("public, max-age=0"));
        assert!(!long_lived("no-store, immutable"));
        assert!(fresh_manifest("private, max-age=0"));
        assert!(fresh_manifest("no-store"));
        assert!(!fresh_manifest("public, max-age=0"));
        assert!(!fresh_manifest("private, max-age=600"));
        assert!(!fresh_manifest("max-age=0"));
    }
}
