//! Loading certificates and chains.
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

use common::fixture;
use expo_codesign::{Certificate, Error, MAX_CHAIN_LEN};
use jiff::Timestamp;

#[test]
fn expo_generated_certificate() {
    let cert = Certificate::from_pem(&fixture("expo-certificate.pem")).unwrap();
    assert_eq!(cert.subject(), "CN=Test");
    assert_eq!(cert.issuer(), "CN=Test");
    assert!(cert.is_self_issued());
    assert!(cert.is_code_signing());
    assert!(!cert.is_ca());
    // --certificate-validity-duration-years 10
    let days = cert
        .not_after()
        .duration_since(cert.not_before())
        .as_hours()
        / 24;
    assert!((3650..=3653).contains(&days), "{days}");
    assert!(cert.not_before() <= Timestamp::now());
}

#[test]
fn chain_in_order() {
    let pem =
        fixture("chain-leaf.pem") + &fixture("chain-intermediate.pem") + &fixture("chain-root.pem");
    let chain = Certificate::chain_from_pem(&pem).unwrap();
    let subjects: Vec<&str> = chain.iter().map(Certificate::subject).collect();
    assert_eq!(
        subjects,
        ["CN=Test Leaf", "CN=Test Intermediate CA", "CN=Test Root CA"]
    );
    assert!(chain[0].is_code_signing() && !chain[0].is_ca());
    assert!(chain[1].is_ca() && !chain[1].is_self_issued());
    assert!(chain[2].is_ca() && chain[2].is_self_issued());
}

#[test]
fn from_pem_wants_exactly_one() {
    let two = fixture("chain-leaf.pem") + &fixture("chain-root.pem");
    assert!(matches!(
        Certificate::from_pem(&two),
        Err(Error::InvalidCertificate(_))
    ));
    assert_eq!(
        Certificate::from_pem("no pem here").unwrap_err(),
        Error::MissingPem {
            expected: "certificate"
        }
    );
    // A private key is not a certificate.
    assert_eq!(
        Certificate::from_pem(&fixture("rsa2048-pkcs8.pem")).unwrap_err(),
        Error::MissingPem {
            expected: "certificate"
        }
    );
}

#[test]
fn pem_round_trip() {
    let cert = Certificate::from_pem(&fixture("rsa4096-certificate.pem")).unwrap();
    assert_eq!(cert.to_pem(), fixture("rsa4096-certificate.pem"));
    assert_eq!(Certificate::from_der(cert.der()).unwrap(), cert);
}

#[test]
fn truncated_and_corrupt_certificates() {
    let pem = fixture("expo-certificate.pem");
    assert_eq!(
        Certificate::from_pem(&pem[..pem.len() - 30]).unwrap_err(),
        Error::TruncatedPem
    );
    let cert = Certificate::from_pem(&pem).unwrap();
    for len in [0, 1, 10, cert.der().len() / 2, cert.der().len() - 1] {
        assert!(matches!(
            Certificate::from_der(&cert.der()[..len]),
            Err(Error::InvalidCertificate(_))
        ));
    }
    let mut trailing = cert.der().to_vec();
    trailing.push(0);
    assert!(matches!(
        Certificate::from_der(trailing),
        Err(Error::InvalidCertificate(_))
    ));
}

#[test]
fn chain_length_is_bounded() {
    let pem = fixture("expo-certificate.pem").repeat(MAX_CHAIN_LEN + 1);
    assert_eq!(
        Certificate::chain_from_pem(&pem).unwrap_err(),
        Error::ChainTooLong {
            len: MAX_CHAIN_LEN + 1,
            limit: MAX_CHAIN_LEN
        }
    );
    let pem = fixture("expo-certificate.pem").repeat(MAX_CHAIN_LEN);
    assert_eq!(
        Certificate::chain_from_pem(&pem).unwrap().len(),
        MAX_CHAIN_LEN
    );
}

#[test]
fn debug_shows_names_and_dates() {
    let cert = Certificate::from_pem(&fixture("expo-certificate.pem")).unwrap();
    let debug = format!("{cert:?}");
    assert!(
        debug.starts_with("Certificate { subject: \"CN=Test\""),
        "{debug}"
    );
}
