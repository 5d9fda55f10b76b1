#![no_main]
//! `Accept` parsing and negotiation: never panic; a parsed value prints to a
//! header that parses back to the same value; the single-pass negotiation
//! agrees with parse-then-negotiate.
use expo_accept::{Accept, Error, MAX_HEADER_LEN, ResponseFormat};
use libfuzzer_sys::fuzz_target;

fn round_trips(parsed: &Accept, parse: fn(&str) -> Result<Accept, Error>) {
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
    let fast = expo_accept::negotiate_format(Some(header), &ResponseFormat::ALL);
    match Accept::parse(header) {
        Ok(accept) => {
            let slow = accept.negotiate_format(&ResponseFormat::ALL);
            assert_eq!(fast.as_ref().ok().copied(), slow);
            if let Some(format) = slow {
                assert!(accept.quality_of(format.as_str()) > 0);
            }
            let _ = accept.quality_of(header);
            let _ = accept.negotiate(&[header]);
            round_trips(&accept, Accept::parse);
        }
        Err(err) => assert_eq!(fast, Err(err)),
    }
    if let Ok(accept) = Accept::parse_strict(header) {
        assert_eq!(Accept::parse(header).as_ref(), Ok(&accept));
        round_trips(&accept, Accept::parse_strict);
    }
});
