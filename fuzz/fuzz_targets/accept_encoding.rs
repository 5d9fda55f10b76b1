#![no_main]
//! `Accept-Encoding` parsing and negotiation: never panic; what parses
//! strictly prints to a value that parses back to the same thing.
use expo_accept::{AcceptEncoding, ContentCoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let _ = expo_accept::negotiate_encoding(Some(header), &ContentCoding::ALL);
    if let Ok(parsed) = AcceptEncoding::parse_strict(header) {
        let again = AcceptEncoding::parse_strict(&parsed.to_string()).expect("printed form parses");
        assert_eq!(again, parsed);
        if let Some(chosen) = parsed.negotiate(&ContentCoding::ALL) {
            assert!(parsed.quality_of(chosen) > 0);
        }
    }
});
