#![no_main]
//! `Accept` parsing and negotiation: never panic; what parses strictly
//! prints to a value that parses back to the same thing.
use expo_accept::{Accept, ResponseFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let _ = expo_accept::negotiate_format(Some(header), &ResponseFormat::ALL);
    if let Ok(accept) = Accept::parse(header) {
        let _ = accept.negotiate_format(&ResponseFormat::ALL);
        let _ = accept.quality_of(header);
    }
    if let Ok(accept) = Accept::parse_strict(header) {
        let again = Accept::parse_strict(&accept.to_string()).expect("printed form parses");
        assert_eq!(again, accept);
    }
});
