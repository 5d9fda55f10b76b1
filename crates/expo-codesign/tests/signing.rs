//! Signing and verifying `expo-signature` values.
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Spec, fixture};
use expo_codesign::{Certificate, Error, PrivateKey, Signer, SignerSet, Verifier};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

/// A manifest body as the server sends it.
const MANIFEST: &[u8] = br#"{"id":"0754dad0-d200-d634-113c-ef1f26106028","createdAt":"2026-11-23T08:00:00.000Z","runtimeVersion":"1","launchAsset":{"hash":"DW5MBgKq155wnX8rCP1lnsW6BsTbfKLXxGXRQx1RcOA","key":"bundle","contentType":"application/javascript","url":"https://example.com/bundle.js"},"assets":[],"metadata":{},"extra":{}}"#;

fn expo_signer(keyid: &str) -> Signer {
    Signer::new(
        keyid,
        PrivateKey::from_pem(&fixture("expo-private-key.pem")).unwrap(),
    )
}

fn expo_verifier() -> Verifier {
    Verifier::from_certificate_pem(&fixture("expo-certificate.pem")).unwrap()
}

#[test]
fn header_value_shape() {
    let signer = expo_signer("root");
    let header = signer.signature_header(MANIFEST).unwrap();
    let sig = signer.sign(MANIFEST).unwrap();
    assert_eq!(
        header,
        format!(r#"sig="{sig}", keyid="root", alg="rsa-v1_5-sha256""#)
    );
    assert_eq!(STANDARD.decode(&sig).unwrap().len(), 256);
    expo_verifier().verify(&header, MANIFEST).unwrap();
    // What the protocol layer reads back with expo-sfv.
    let parsed = expo_sfv::Signature::parse(&header).unwrap();
    assert_eq!(parsed.sig, sig);
    assert_eq!(parsed.keyid.as_deref(), Some("root"));
    assert_eq!(parsed.alg.as_deref(), Some(expo_codesign::ALGORITHM));
}

#[test]
fn pkcs1_v1_5_is_deterministic() {
    let signer = expo_signer("root");
    assert_eq!(
        signer.sign(MANIFEST).unwrap(),
        signer.sign(MANIFEST).unwrap()
    );
    assert_ne!(signer.sign(MANIFEST).unwrap(), signer.sign(b"{}").unwrap());
}

#[test]
fn every_key_size_signs_and_verifies() {
    for (key, cert, len) in [
        ("rsa2048-pkcs8.pem", "rsa2048-certificate.pem", 256),
        ("rsa3072-pkcs1.pem", "rsa3072-certificate.pem", 384),
        ("rsa4096-pkcs8.pem", "rsa4096-certificate.pem", 512),
    ] {
        let (signer, _) = Signer::from_pem("k", &fixture(key), Some(&fixture(cert))).unwrap();
        let sig = signer.sign(MANIFEST).unwrap();
        assert_eq!(STANDARD.decode(&sig).unwrap().len(), len, "{key}");
        let verifier = Verifier::from_certificate_pem(&fixture(cert)).unwrap();
        verifier
            .verify(&signer.signature_header(MANIFEST).unwrap(), MANIFEST)
            .unwrap();
        verifier.verify_sig(&sig, MANIFEST).unwrap();
    }
}

#[test]
fn tampering_is_detected() {
    let verifier = expo_verifier();
    let signer = expo_signer("root");
    let header = signer.signature_header(MANIFEST).unwrap();
    let mut body = MANIFEST.to_vec();
    body[10] ^= 1;
    assert_eq!(verifier.verify(&header, &body), Err(Error::BadSignature));
    assert_eq!(verifier.verify(&header, b""), Err(Error::BadSignature));

    let mut sig = STANDARD.decode(signer.sign(MANIFEST).unwrap()).unwrap();
    sig[0] ^= 0x80;
    let forged = format!(r#"sig="{}", keyid="root""#, STANDARD.encode(&sig));
    assert_eq!(verifier.verify(&forged, MANIFEST), Err(Error::BadSignature));
    // Signed by another key.
    let other = Signer::new(
        "root",
        PrivateKey::from_pem(&fixture("rsa2048-pkcs8.pem")).unwrap(),
    );
    assert_eq!(
        verifier.verify(&other.signature_header(MANIFEST).unwrap(), MANIFEST),
        Err(Error::BadSignature)
    );
}

#[test]
fn malformed_headers() {
    let verifier = expo_verifier();
    let sig = expo_signer("root").sign(MANIFEST).unwrap();
    for header in [
        "",
        "sig",
        "keyid=\"root\"",
        "sig=1",
        "sig=\"unterminated",
        "sig=(\"a\" \"b\")",
        "sig=\u{e9}",
    ] {
        assert!(
            matches!(
                verifier.verify(header, MANIFEST),
                Err(Error::InvalidSignatureHeader(_))
            ),
            "{header:?}"
        );
    }
    for bad_sig in ["not base64!", "AAAA", &"A".repeat(2000), &sig[1..]] {
        let header = format!("sig=\"{bad_sig}\"");
        assert!(
            matches!(
                verifier.verify(&header, MANIFEST),
                Err(Error::InvalidSignatureEncoding | Error::BadSignature)
            ),
            "{bad_sig:?}"
        );
    }
    assert!(matches!(
        verifier.verify(&"x".repeat(10_000), MANIFEST),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn algorithm_and_keyid_rules() {
    let verifier = expo_verifier().with_keyid("root");
    let sig = expo_signer("root").sign(MANIFEST).unwrap();
    // Minimal form: no keyid means root, no alg means the certificate's algorithm.
    verifier
        .verify(&format!("sig=\"{sig}\""), MANIFEST)
        .unwrap();
    assert_eq!(
        verifier.verify(&format!("sig=\"{sig}\", alg=\"rsa-pss-sha256\""), MANIFEST),
        Err(Error::UnsupportedAlgorithm("rsa-pss-sha256".into()))
    );
    assert_eq!(
        verifier.verify(&format!("sig=\"{sig}\", keyid=\"main\""), MANIFEST),
        Err(Error::KeyIdMismatch {
            expected: "root".into(),
            found: "main".into()
        })
    );
    // Without an expected keyid any keyid is accepted.
    expo_verifier()
        .verify(&format!("sig=\"{sig}\", keyid=\"main\""), MANIFEST)
        .unwrap();
}

#[test]
fn keyid_must_be_printable_ascii() {
    let signer = expo_signer("clé");
    assert_eq!(
        signer.signature_header(MANIFEST),
        Err(Error::InvalidKeyId("clé".into()))
    );
    assert!(matches!(
        Signer::from_pem("a\nb", &fixture("expo-private-key.pem"), None),
        Err(Error::InvalidKeyId(_))
    ));
    // Quotes and backslashes are escaped, not refused.
    let signer = expo_signer(r#"a"b\c"#);
    let header = signer.signature_header(MANIFEST).unwrap();
    assert!(header.contains(r#"keyid="a\"b\\c""#), "{header}");
    expo_verifier()
        .with_keyid(r#"a"b\c"#)
        .verify(&header, MANIFEST)
        .unwrap();
}

#[test]
fn signer_set_rotation() {
    let old = expo_signer("root");
    let new = Signer::new(
        "2026",
        PrivateKey::from_pem(&fixture("rsa2048-pkcs8.pem")).unwrap(),
    );
    let mut set = SignerSet::new(old);
    assert!(set.add(new).is_none());
    assert_eq!(set.get(None).unwrap().keyid(), "root");
    assert_eq!(set.get(Some("root")).unwrap().keyid(), "root");
    assert_eq!(set.get(Some("2026")).unwrap().keyid(), "2026");
    assert!(set.get(Some("unknown")).is_none());
    assert_eq!(set.iter().len(), 2);

    // Each client verifies with the certificate of the keyid it asked for.
    let header = set
        .get(Some("2026"))
        .unwrap()
        .signature_header(MANIFEST)
        .unwrap();
    Verifier::from_certificate_pem(&fixture("rsa2048-certificate.pem"))
        .unwrap()
        .with_keyid("2026")
        .verify(&header, MANIFEST)
        .unwrap();
    assert_eq!(
        expo_verifier().with_keyid("root").verify(&header, MANIFEST),
        Err(Error::KeyIdMismatch {
            expected: "root".into(),
            found: "2026".into()
        })
    );

    // Replacing a keyid keeps the default position.
    let replaced = set
        .add(Signer::new(
            "root",
            PrivateKey::from_pem(&fixture("rsa3072-pkcs1.pem")).unwrap(),
        ))
        .unwrap();
    assert_eq!(replaced.key().bits(), 2048);
    assert_eq!(set.default_signer().key().bits(), 3072);
    assert_eq!(set.iter().len(), 2);
}

#[test]
fn verifier_with_a_chain() {
    let (signer, _) = Signer::from_pem(
        "root",
        &fixture("chain-leaf-key.pem"),
        Some(&(fixture("chain-leaf.pem") + &fixture("chain-intermediate.pem"))),
    )
    .unwrap();
    let header = signer.signature_header(MANIFEST).unwrap();
    let root = Certificate::from_pem(&fixture("chain-root.pem")).unwrap();
    let intermediates = Certificate::chain_from_pem(
        &(fixture("chain-leaf.pem") + &fixture("chain-intermediate.pem")),
    )
    .unwrap();
    let verifier = Verifier::new(root.clone()).with_intermediates(intermediates.clone());
    verifier.verify(&header, MANIFEST).unwrap();
    assert_eq!(verifier.root(), &root);
    assert_eq!(verifier.signing_certificate().subject(), "CN=Test Leaf");

    // The same from one PEM, root last, and with the root repeated in the intermediates.
    let full =
        fixture("chain-leaf.pem") + &fixture("chain-intermediate.pem") + &fixture("chain-root.pem");
    Verifier::from_certificate_pem(&full)
        .unwrap()
        .verify(&header, MANIFEST)
        .unwrap();
    Verifier::new(root)
        .with_intermediates(Certificate::chain_from_pem(&full).unwrap())
        .verify(&header, MANIFEST)
        .unwrap();

    // A chain to another root is refused before the signature is looked at: a root with
    // the same name but another key, or a certificate that is no CA.
    let impostor = Certificate::from_pem(
        &Spec::ca("Test Root CA").self_signed(&fixture("chain-intermediate-key.pem")),
    )
    .unwrap();
    assert_eq!(
        Verifier::new(impostor)
            .with_intermediates(intermediates.clone())
            .verify(&header, MANIFEST),
        Err(Error::ChainSignature {
            subject: "CN=Test Intermediate CA".into(),
            issuer: "CN=Test Root CA".into()
        })
    );
    let not_ca = Certificate::from_pem(&fixture("expo-certificate.pem")).unwrap();
    assert_eq!(
        Verifier::new(not_ca)
            .with_intermediates(intermediates.clone())
            .verify(&header, MANIFEST),
        Err(Error::NotCa {
            subject: "CN=Test".into()
        })
    );
    // Trusting the leaf's issuer without the intermediate: broken chain.
    assert!(matches!(
        Verifier::new(Certificate::from_pem(&fixture("chain-root.pem")).unwrap())
            .with_intermediates(intermediates[..1].to_vec())
            .verify(&header, MANIFEST),
        Err(Error::ChainSignature { .. })
    ));
    // Chains are bounded like those read from PEM.
    assert!(matches!(
        Verifier::new(Certificate::from_pem(&fixture("chain-root.pem")).unwrap())
            .with_intermediates(vec![intermediates[1].clone(); expo_codesign::MAX_CHAIN_LEN])
            .verify(&header, MANIFEST),
        Err(Error::ChainTooLong { .. })
    ));
    // A root that signs directly but is a CA without code signing usage.
    assert!(matches!(
        Verifier::from_certificate_pem(&fixture("chain-root.pem"))
            .unwrap()
            .verify(&header, MANIFEST),
        Err(Error::MissingDigitalSignature { .. })
    ));
}

#[test]
fn verification_respects_validity() {
    let verifier = expo_verifier();
    let header = expo_signer("root").signature_header(MANIFEST).unwrap();
    let root = verifier.root().clone();
    verifier
        .verify_at(&header, MANIFEST, root.not_before())
        .unwrap();
    assert!(matches!(
        verifier.verify_at(
            &header,
            MANIFEST,
            root.not_after() + SignedDuration::from_secs(1)
        ),
        Err(Error::CertificateExpired { .. })
    ));
    assert!(matches!(
        verifier.verify_at(
            &header,
            MANIFEST,
            root.not_before() - SignedDuration::from_secs(1)
        ),
        Err(Error::CertificateNotYetValid { .. })
    ));
    // An expired rcgen certificate fails at verification time as well.
    let key = fixture("rsa2048-pkcs8.pem");
    let now = time::OffsetDateTime::now_utc();
    let expired = Spec {
        not_before: now - time::Duration::days(10),
        not_after: now - time::Duration::days(1),
        ..Spec::code_signing()
    }
    .self_signed(&key);
    let signer = Signer::new("root", PrivateKey::from_pem(&key).unwrap());
    assert!(matches!(
        Verifier::from_certificate_pem(&expired)
            .unwrap()
            .verify(&signer.signature_header(MANIFEST).unwrap(), MANIFEST),
        Err(Error::CertificateExpired { .. })
    ));
    assert!(Timestamp::now() < root.not_after());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sign_verify_round_trip(body in proptest::collection::vec(any::<u8>(), 0..2048), flip in any::<usize>()) {
        let signer = expo_signer("root");
        let verifier = expo_verifier();
        let header = signer.signature_header(&body).unwrap();
        prop_assert_eq!(verifier.verify(&header, &body), Ok(()));
        if !body.is_empty() {
            let mut tampered = body.clone();
            let i = flip % tampered.len();
            tampered[i] ^= 0x01;
            prop_assert_eq!(verifier.verify(&header, &tampered), Err(Error::BadSignature));
        }
    }

    #[test]
    fn arbitrary_headers_never_panic(header in "\\PC{0,300}") {
        let _ = expo_verifier().verify(&header, MANIFEST);
    }
}
