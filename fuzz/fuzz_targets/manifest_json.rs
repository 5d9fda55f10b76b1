#![no_main]
//! Manifest and directive JSON: never panic; what parses serializes to
//! bytes that parse back to the same value and serialize identically.
use expo_manifest::{Directive, Manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = Manifest::from_json_slice(data) {
        let bytes = manifest.to_json_bytes();
        let again = Manifest::from_json_slice(&bytes).expect("serialized manifest parses");
        assert_eq!(again, manifest);
        assert_eq!(again.to_json_bytes(), bytes);
    }
    if let Ok(directive) = Directive::from_json_slice(data) {
        let bytes = directive.to_json_bytes();
        let again = Directive::from_json_slice(&bytes).expect("serialized directive parses");
        assert_eq!(again, directive);
    }
});
