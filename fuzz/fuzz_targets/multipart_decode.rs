#![no_main]
//! Fuzz target `multipart_decode`: the `multipart/mixed` decoder.
//!
//! Input: a `content-type` value, a newline, then the body. The body is
//! decoded whole and in chunks (sized by its first byte); both must agree,
//! errors included. Whatever decodes must survive a round trip through the
//! encoder. Nothing may panic. Seeds are Expo responses from this crate's
//! encoder and golden files, npm `form-data` output and hand-made edge cases.
use expo_multipart::{Decoder, Error, Limits, Multipart, Part, decode, parse_boundary};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_parts: 16,
    max_header_bytes: 2048,
    max_body_bytes: 1 << 16,
};

fn decode_chunked(content_type: &str, body: &[u8], chunk: usize) -> Result<Vec<Part>, Error> {
    let mut decoder = Decoder::new(&parse_boundary(content_type)?, LIMITS);
    let mut parts = Vec::new();
    for piece in body.chunks(chunk) {
        decoder.push(piece);
        while let Some(part) = decoder.next_part()? {
            parts.push(part);
        }
    }
    decoder.finish();
    while let Some(part) = decoder.next_part()? {
        parts.push(part);
    }
    Ok(parts)
}

fuzz_target!(|data: &[u8]| {
    let Some(newline) = data.iter().position(|&b| b == b'\n') else {
        return;
    };
    let Ok(content_type) = std::str::from_utf8(&data[..newline]) else {
        return;
    };
    let body = &data[newline + 1..];

    let whole = decode(content_type, body, &LIMITS);
    let chunk = body.first().map_or(1, |&b| usize::from(b % 16) + 1);
    let chunked = decode_chunked(content_type, body, chunk);
    match (&whole, &chunked) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("whole {whole:?} vs chunked {chunked:?}"),
    }

    if let Ok(parts) = whole {
        let encoded = Multipart::new(parts.clone()).encode();
        let content_type = encoded.content_type.to_str().expect("ASCII content type");
        let limits = Limits {
            max_parts: usize::MAX,
            max_header_bytes: usize::MAX,
            max_body_bytes: usize::MAX,
        };
        let again = decode(content_type, &encoded.body, &limits).expect("encoder output decodes");
        assert_eq!(again, parts);
    }
});
