#![no_main]
//! Expo SFV dictionaries, string lists and the typed headers: never panic,
//! and whatever parses serializes to a value that parses back to the same
//! thing (and serializes the same way again).
use expo_sfv::{
    Dictionary, Error, ExpectSignature, ManifestFilters, ServerDefinedHeaders, Signature,
    parse_string_list,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match Dictionary::parse(input) {
        Ok(dict) => {
            let text = dict.to_header_value();
            let again = Dictionary::parse(&text).expect("canonical output parses");
            assert_eq!(again, dict);
            assert_eq!(again.to_header_value(), text);
            assert_eq!(dict.len(), dict.iter().count());
            // The wrappers are the dictionary.
            let filters = ManifestFilters::parse(input).expect("same parser");
            assert_eq!(filters.to_header_value(), text);
            let headers = ServerDefinedHeaders::parse(input).expect("same parser");
            assert_eq!(headers.to_header_value(), text);
        }
        Err(err) => {
            // An error names a member that is in the input.
            if let Error::NotAllowed { key, .. } = &err {
                assert!(input.contains(key.as_str()), "{err}");
            }
            let _ = err.to_string();
        }
    }
    if let Ok(sig) = Signature::parse(input) {
        if let Ok(text) = sig.try_to_header_value() {
            assert_eq!(Signature::parse(&text).expect("round trip"), sig);
        }
    }
    if let Ok(expect) = ExpectSignature::parse(input) {
        let text = expect.to_header_value();
        assert_eq!(ExpectSignature::parse(&text).expect("round trip"), expect);
    }
    if let Ok(strings) = parse_string_list(input) {
        assert!(strings.len() <= expo_sfv::MAX_MEMBERS);
    }
});
