//! Startup checks: key/certificate match, validity, key usages, chains.
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

use common::{Spec, fixture};
use expo_codesign::{Certificate, Error, Signer, Warning, check_chain};
use jiff::{SignedDuration, Timestamp};
use rcgen::{ExtendedKeyUsagePurpose, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};

fn from_pem(key: &str, cert: &str) -> Result<Vec<Warning>, Error> {
    Signer::from_pem("root", key, Some(cert)).map(|(_, warnings)| warnings)
}

#[test]
fn expo_generated_pair_passes_without_warnings() {
    let (signer, warnings) = Signer::from_pem(
        "root",
        &fixture("expo-private-key.pem"),
        Some(&fixture("expo-certificate.pem")),
    )
    .unwrap();
    assert_eq!(signer.keyid(), "root");
    assert_eq!(warnings, []);
}

#[test]
fn openssl_pairs_of_every_size_pass() {
    for (key, cert) in [
        ("rsa2048-pkcs8.pem", "rsa2048-certificate.pem"),
        ("rsa3072-pkcs1.pem", "rsa3072-certificate.pem"),
        ("rsa4096-pkcs8.pem", "rsa4096-certificate.pem"),
    ] {
        assert_eq!(from_pem(&fixture(key), &fixture(cert)), Ok(vec![]), "{key}");
    }
}

#[test]
fn without_certificate_no_checks() {
    let (signer, warnings) = Signer::from_pem("k", &fixture("rsa2048-pkcs8.pem"), None).unwrap();
    assert_eq!(signer.key().bits(), 2048);
    assert!(warnings.is_empty());
}

#[test]
fn certificate_of_another_key_is_a_mismatch() {
    assert_eq!(
        from_pem(
            &fixture("expo-private-key.pem"),
            &fixture("rsa2048-certificate.pem")
        ),
        Err(Error::KeyMismatch {
            subject: "CN=OpenSSL Code Signing Test".into()
        })
    );
}

#[test]
fn tls_certificate_lacks_code_signing() {
    assert_eq!(
        from_pem(
            &fixture("rsa2048-pkcs8.pem"),
            &fixture("rsa2048-tls-certificate.pem")
        ),
        Err(Error::MissingCodeSigning {
            subject: "CN=OpenSSL Code Signing Test".into()
        })
    );
}

#[test]
fn missing_digital_signature() {
    let key = fixture("rsa2048-pkcs8.pem");
    let cert = Spec {
        key_usages: vec![KeyUsagePurpose::KeyEncipherment],
        ..Spec::code_signing()
    }
    .self_signed(&key);
    assert_eq!(
        from_pem(&key, &cert),
        Err(Error::MissingDigitalSignature {
            subject: "CN=rcgen code signing".into()
        })
    );
    // No key usage extension at all is just as bad.
    let cert = Spec {
        key_usages: vec![],
        ..Spec::code_signing()
    }
    .self_signed(&key);
    assert!(matches!(
        from_pem(&key, &cert),
        Err(Error::MissingDigitalSignature { .. })
    ));
    // Nor an extended key usage without codeSigning.
    let cert = Spec {
        extended_key_usages: vec![ExtendedKeyUsagePurpose::ClientAuth],
        ..Spec::code_signing()
    }
    .self_signed(&key);
    assert!(matches!(
        from_pem(&key, &cert),
        Err(Error::MissingCodeSigning { .. })
    ));
}

#[test]
fn expired_and_not_yet_valid() {
    let key = fixture("rsa2048-pkcs8.pem");
    let now = OffsetDateTime::now_utc();
    let expired = Spec {
        not_before: now - Duration::days(400),
        not_after: now - Duration::days(35),
        ..Spec::code_signing()
    }
    .self_signed(&key);
    assert!(matches!(
        from_pem(&key, &expired),
        Err(Error::CertificateExpired { not_after, .. })
            if not_after < Timestamp::now() - SignedDuration::from_hours(24 * 34)
    ));
    let future = Spec {
        not_before: now + Duration::days(2),
        not_after: now + Duration::days(400),
        ..Spec::code_signing()
    }
    .self_signed(&key);
    assert!(matches!(
        from_pem(&key, &future),
        Err(Error::CertificateNotYetValid { .. })
    ));
}

#[test]
fn expiring_within_30_days_warns() {
    let key = fixture("rsa2048-pkcs8.pem");
    let cert = Spec {
        not_after: OffsetDateTime::now_utc() + Duration::days(10) + Duration::hours(1),
        ..Spec::code_signing()
    }
    .self_signed(&key);
    let warnings = from_pem(&key, &cert).unwrap();
    let [
        Warning::ExpiresSoon {
            days_left,
            not_after,
        },
    ] = warnings.as_slice()
    else {
        panic!("{warnings:?}");
    };
    assert_eq!(*days_left, 10);
    assert_eq!(
        *not_after,
        Certificate::from_pem(&cert).unwrap().not_after()
    );
    assert!(warnings[0].to_string().contains("(10 days left)"));

    // 31 days: no warning.
    let cert = Spec {
        not_after: OffsetDateTime::now_utc() + Duration::days(31),
        ..Spec::code_signing()
    }
    .self_signed(&key);
    assert_eq!(from_pem(&key, &cert), Ok(vec![]));
}

#[test]
fn checks_at_a_chosen_time() {
    let key = fixture("expo-private-key.pem");
    let cert = fixture("expo-certificate.pem");
    let not_after = Certificate::from_pem(&cert).unwrap().not_after();
    let at = |t: Timestamp| Signer::from_pem_at("root", &key, Some(&cert), t).map(|(_, w)| w);
    assert_eq!(
        at(not_after - SignedDuration::from_hours(24 * 5 + 1)),
        Ok(vec![Warning::ExpiresSoon {
            not_after,
            days_left: 5
        }])
    );
    assert!(matches!(
        at(not_after + SignedDuration::from_secs(1)),
        Err(Error::CertificateExpired { .. })
    ));
}

fn openssl_chain() -> Vec<Certificate> {
    Certificate::chain_from_pem(
        &(fixture("chain-leaf.pem")
            + &fixture("chain-intermediate.pem")
            + &fixture("chain-root.pem")),
    )
    .unwrap()
}

#[test]
fn chain_up_to_root_passes() {
    let key = fixture("chain-leaf-key.pem");
    let chain_pem =
        fixture("chain-leaf.pem") + &fixture("chain-intermediate.pem") + &fixture("chain-root.pem");
    assert_eq!(from_pem(&key, &chain_pem), Ok(vec![]));
    // Without the root too: the last certificate is not self-issued, nothing more to check.
    assert_eq!(
        from_pem(
            &key,
            &(fixture("chain-leaf.pem") + &fixture("chain-intermediate.pem"))
        ),
        Ok(vec![])
    );
}

#[test]
fn chain_in_wrong_order_or_with_a_gap_fails() {
    let chain = openssl_chain();
    let now = Timestamp::now();
    // Leaf directly under the root: signature does not verify.
    assert_eq!(
        check_chain(None, &[chain[0].clone(), chain[2].clone()], now),
        Err(Error::ChainSignature {
            subject: "CN=Test Leaf".into(),
            issuer: "CN=Test Root CA".into()
        })
    );
    // Leaf used as an issuer: not a CA.
    assert_eq!(
        check_chain(None, &[chain[0].clone(), chain[0].clone()], now),
        Err(Error::NotCa {
            subject: "CN=Test Leaf".into()
        })
    );
    // Intermediate as the signing certificate: no code signing usage.
    assert!(matches!(
        check_chain(None, &chain[1..], now),
        Err(Error::MissingDigitalSignature { .. })
    ));
}

#[test]
fn forged_self_signature_fails() {
    // The expo certificate with its signature altered in its last bytes.
    let cert = Certificate::from_pem(&fixture("expo-certificate.pem")).unwrap();
    let mut der = cert.der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 1;
    let forged = Certificate::from_der(der).unwrap();
    assert_eq!(
        check_chain(None, &[forged], Timestamp::now()),
        Err(Error::ChainSignature {
            subject: "CN=Test".into(),
            issuer: "CN=Test".into()
        })
    );
}

#[test]
fn rcgen_chain_with_expiring_intermediate() {
    let root_key = fixture("chain-root-key.pem");
    let intermediate_key = fixture("chain-intermediate-key.pem");
    let leaf_key = fixture("chain-leaf-key.pem");
    let root = Spec::ca("rcgen root");
    let intermediate = Spec {
        not_after: OffsetDateTime::now_utc() + Duration::days(3) + Duration::hours(1),
        ..Spec::ca("rcgen intermediate")
    };
    let pem = Spec::code_signing().issued_by(&leaf_key, &intermediate, &intermediate_key)
        + &intermediate.issued_by(&intermediate_key, &root, &root_key)
        + &root.self_signed(&root_key);
    let warnings = from_pem(&leaf_key, &pem).unwrap();
    assert!(
        matches!(
            warnings.as_slice(),
            [Warning::ExpiresSoon { days_left: 3, .. }]
        ),
        "{warnings:?}"
    );
}

#[test]
fn ec_certificate_is_not_rsa() {
    let ec = rcgen::KeyPair::generate().unwrap();
    let cert = Spec::code_signing().self_signed(&ec.serialize_pem());
    assert_eq!(
        from_pem(&fixture("rsa2048-pkcs8.pem"), &cert),
        Err(Error::NotRsaCertificate {
            subject: "CN=rcgen code signing".into()
        })
    );
}
