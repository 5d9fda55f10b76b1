//! Loading private keys: every supported format and every error case.
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

use common::fixture;
use expo_codesign::{Error, PrivateKey};

#[test]
fn expo_generated_key_is_pkcs1_2048() {
    let pem = fixture("expo-private-key.pem");
    assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let key = PrivateKey::from_pem(&pem).unwrap();
    assert_eq!(key.bits(), 2048);
    assert_eq!(key.signature_len(), 256);
}

#[test]
fn pkcs8_and_pkcs1_of_every_supported_size() {
    for (name, bits) in [
        ("rsa2048-pkcs8.pem", 2048),
        ("rsa3072-pkcs1.pem", 3072),
        ("rsa4096-pkcs8.pem", 4096),
        ("chain-leaf-key.pem", 2048),
    ] {
        let key = PrivateKey::from_pem(&fixture(name)).unwrap();
        assert_eq!(key.bits(), bits, "{name}");
    }
}

#[test]
fn key_beside_a_certificate_in_one_file() {
    let combined = fixture("rsa2048-certificate.pem") + &fixture("rsa2048-pkcs8.pem");
    assert_eq!(PrivateKey::from_pem(&combined).unwrap().bits(), 2048);
}

#[test]
fn crlf_line_endings() {
    let pem = fixture("expo-private-key.pem").replace('\n', "\r\n");
    assert_eq!(PrivateKey::from_pem(&pem).unwrap().bits(), 2048);
}

#[test]
fn keys_outside_2048_to_4096_bits_are_refused() {
    assert_eq!(
        PrivateKey::from_pem(&fixture("rsa1024-pkcs1.pem")).unwrap_err(),
        Error::UnsupportedKeySize("smaller than 2048 bits")
    );
    assert_eq!(
        PrivateKey::from_pem(&fixture("rsa4608-pkcs8.pem")).unwrap_err(),
        Error::UnsupportedKeySize("larger than 4096 bits")
    );
}

#[test]
fn encrypted_keys_are_their_own_error() {
    for name in ["encrypted-pkcs8.pem", "encrypted-pkcs1.pem"] {
        assert_eq!(
            PrivateKey::from_pem(&fixture(name)).unwrap_err(),
            Error::EncryptedKey,
            "{name}"
        );
    }
}

#[test]
fn non_rsa_keys_name_their_type() {
    for (name, kind) in [
        ("ec-sec1.pem", "EC"),
        ("ec-pkcs8.pem", "EC"),
        ("ed25519-pkcs8.pem", "Ed25519"),
    ] {
        assert_eq!(
            PrivateKey::from_pem(&fixture(name)).unwrap_err(),
            Error::UnsupportedKeyType(kind.into()),
            "{name}"
        );
    }
}

#[test]
fn garbage_is_missing_pem() {
    for input in ["", "hello", "{\"not\": \"pem\"}", "\0\0\0"] {
        assert_eq!(
            PrivateKey::from_pem(input).unwrap_err(),
            Error::MissingPem {
                expected: "private key"
            }
        );
    }
}

#[test]
fn public_key_or_certificate_is_not_a_private_key() {
    for name in ["expo-public-key.pem", "expo-certificate.pem"] {
        assert_eq!(
            PrivateKey::from_pem(&fixture(name)).unwrap_err(),
            Error::MissingPem {
                expected: "private key"
            }
        );
    }
}

#[test]
fn file_cut_short_is_truncated() {
    let pem = fixture("expo-private-key.pem");
    let cut = &pem[..pem.len() / 2];
    assert_eq!(PrivateKey::from_pem(cut).unwrap_err(), Error::TruncatedPem);
}

#[test]
fn body_cut_short_with_end_line_is_invalid_key() {
    let pem = fixture("rsa2048-pkcs8.pem");
    let lines: Vec<&str> = pem.lines().collect();
    // Keep BEGIN, the first 10 base64 lines and END: valid armor, truncated DER.
    let cut = [&lines[..11], &lines[lines.len() - 1..]]
        .concat()
        .join("\n");
    assert!(matches!(
        PrivateKey::from_pem(&cut),
        Err(Error::InvalidKey(_))
    ));
}

#[test]
fn two_keys_are_ambiguous() {
    let two = fixture("rsa2048-pkcs8.pem") + &fixture("expo-private-key.pem");
    assert_eq!(
        PrivateKey::from_pem(&two).unwrap_err(),
        Error::MultiplePrivateKeys
    );
}

#[test]
fn corrupt_base64_is_malformed() {
    let pem = fixture("rsa2048-pkcs8.pem").replacen("MII", "M*I", 1);
    assert!(matches!(
        PrivateKey::from_pem(&pem),
        Err(Error::MalformedPem(_))
    ));
}

#[test]
fn debug_does_not_print_key_material() {
    let key = PrivateKey::from_pem(&fixture("rsa2048-pkcs8.pem")).unwrap();
    assert_eq!(format!("{key:?}"), "PrivateKey { bits: 2048, .. }");
}

#[test]
fn der_entry_points() {
    let pkcs8 = pem::parse(fixture("rsa2048-pkcs8.pem")).unwrap();
    assert_eq!(
        PrivateKey::from_pkcs8_der(pkcs8.contents()).unwrap().bits(),
        2048
    );
    let pkcs1 = pem::parse(fixture("expo-private-key.pem")).unwrap();
    assert_eq!(
        PrivateKey::from_pkcs1_der(pkcs1.contents()).unwrap().bits(),
        2048
    );
    // The wrong wrapper is an encoding error, not a panic.
    assert!(PrivateKey::from_pkcs1_der(pkcs8.contents()).is_err());
    assert!(PrivateKey::from_pkcs8_der(pkcs1.contents()).is_err());
}

mod damaged {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any prefix of a key file fails cleanly (only the whole file loads).
        #[test]
        fn every_truncation_is_an_error(cut in 0usize..1702) {
            let pem = fixture("expo-private-key.pem");
            let cut = cut.min(pem.len() - 1);
            let trimmed = pem[..cut].trim_end();
            prop_assume!(!trimmed.ends_with("-----END RSA PRIVATE KEY-----"));
            prop_assert!(PrivateKey::from_pem(&pem[..cut]).is_err());
        }

        /// Replacing one character never panics, whatever it hits (armor, base64, DER).
        #[test]
        fn one_changed_character_never_panics(at in 0usize..3272, c in any::<char>()) {
            let pem = fixture("rsa4096-pkcs8.pem");
            let mut chars: Vec<char> = pem.chars().collect();
            let at = at % chars.len();
            chars[at] = c;
            let damaged: String = chars.into_iter().collect();
            let _ = PrivateKey::from_pem(&damaged);
            let _ = expo_codesign::Certificate::chain_from_pem(&damaged);
        }
    }
}
