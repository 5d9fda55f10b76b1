#![no_main]
//! Expo SFV dictionaries and the typed headers: never panic, and whatever
//! parses serializes to a value that parses back to the same thing.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(dict) = expo_sfv::Dictionary::parse(input) {
        let text = dict.to_header_value();
        let again = expo_sfv::Dictionary::parse(&text).expect("canonical output parses");
        assert_eq!(again, dict);
        assert_eq!(again.to_header_value(), text);
    }
    if let Ok(sig) = expo_sfv::Signature::parse(input) {
        if let Ok(text) = sig.try_to_header_value() {
            assert_eq!(expo_sfv::Signature::parse(&text).expect("round trip"), sig);
        }
    }
    let _ = expo_sfv::ExpectSignature::parse(input);
    let _ = expo_sfv::parse_string_list(input);
});
