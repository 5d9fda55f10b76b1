#![no_main]
//! Fuzz target `pem_load`: PEM private keys, certificates and chains, and the DER inside.
//!
//! Every input is loaded as a private key, a certificate, a chain and a verifier; whatever
//! loads is run through the chain checks (at a time inside the leaf's validity, so that the
//! usage and signature checks are reached too). Nothing may panic. Seeds are the test
//! fixtures of `expo-codesign` (keys from `expo-updates codesigning:generate` and openssl).
use expo_codesign::{Certificate, PrivateKey, Verifier, check_chain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let key = PrivateKey::from_pem(text).ok();
        if let Ok(chain) = Certificate::chain_from_pem(text) {
            let _ = check_chain(key.as_ref(), &chain, chain[0].not_before());
        }
        let _ = Certificate::from_pem(text);
        if let Ok(verifier) = Verifier::from_certificate_pem(text) {
            let _ = verifier.verify_sig("AAAA", b"body");
        }
    }
    // The DER entry points take raw bytes.
    let _ = PrivateKey::from_pkcs8_der(data);
    let _ = PrivateKey::from_pkcs1_der(data);
    if let Ok(cert) = Certificate::from_der(data) {
        let _ = check_chain(None, std::slice::from_ref(&cert), cert.not_before());
    }
});
