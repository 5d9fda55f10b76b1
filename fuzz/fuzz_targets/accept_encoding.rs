#![no_main]
//! `Accept-Encoding` parsing and negotiation: never panic; a parsed value
//! prints to a header that parses back to the same value; the chosen coding
//! is one the client accepts; the single-pass negotiation agrees with
//! parse-then-negotiate.
use expo_accept::{AcceptEncoding, ContentCoding, Error, MAX_HEADER_LEN};
use libfuzzer_sys::fuzz_target;

fn round_trips(parsed: &AcceptEncoding, parse: fn(&str) -> Result<AcceptEncoding, Error>) {
    let printed = parsed.to_string();
    // The printed form separates elements with ", ", so it may outgrow the limit.
    if printed.len() > MAX_HEADER_LEN {
        return;
    }
    let again = parse(&printed).expect("printed form parses");
    assert_eq!(&again, parsed, "{printed}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let _ = header.parse::<ContentCoding>();
    let fast = expo_accept::negotiate_encoding(Some(header), &ContentCoding::ALL);
    if let Ok(parsed) = AcceptEncoding::parse(header) {
        assert_eq!(fast.ok(), parsed.negotiate(&ContentCoding::ALL));
        for available in [
            &ContentCoding::ALL[..],
            &ContentCoding::ALL[1..],
            &ContentCoding::ALL[2..],
        ] {
            if let Some(chosen) = parsed.negotiate(available) {
                assert!(available.contains(&chosen));
                assert!(parsed.quality_of(chosen) > 0);
            }
        }
        round_trips(&parsed, AcceptEncoding::parse);
    } else {
        assert!(fast.is_err());
    }
    if let Ok(parsed) = AcceptEncoding::parse_strict(header) {
        round_trips(&parsed, AcceptEncoding::parse_strict);
    }
});
