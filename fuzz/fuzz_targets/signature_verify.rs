#![no_main]
//! Fuzz target `signature_verify`: `expo-signature` header values checked against a body.
//!
//! Input: the header value, a line feed, then the body bytes. The verifier trusts the
//! certificate made by `expo-updates codesigning:generate` (a test-only fixture). Nothing may
//! panic, and a header that verifies for a body must not verify for a longer one.
use std::sync::LazyLock;

use expo_codesign::{Certificate, Verifier};
use libfuzzer_sys::fuzz_target;

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    let pem = include_str!("../../crates/expo-codesign/tests/fixtures/expo-certificate.pem");
    let root = Certificate::from_pem(pem).expect("fixture certificate loads");
    Verifier::new(root)
});

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    // Inside the certificate's validity, whatever the date the fuzzer runs on.
    let now = VERIFIER.root().not_before();
    if VERIFIER.verify_at(header, body, now).is_ok() {
        let mut longer = body.to_vec();
        longer.push(0);
        assert!(VERIFIER.verify_at(header, &longer, now).is_err());
    }
    let _ = VERIFIER.verify_sig(header, body);
});
