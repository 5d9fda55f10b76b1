//! Interoperability with OpenSSL and with `@expo/code-signing-certificates` (the node-forge
//! based library of the Expo tooling): signatures made here verify there and the reverse.
//!
//! Needs `openssl` and `node` with `interop/node_modules` (`npm ci` in `interop/`). Without
//! them the tests print SKIPPED, except under `CI=true` where they fail.
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    TempDir, fixture, fixtures_dir, interop_dir, node_interop_available, openssl_available,
};
use expo_codesign::{Error, Signer, Verifier};

/// Key, certificate and public key fixtures covering both PEM formats and all sizes.
const PAIRS: [(&str, &str); 4] = [
    ("expo-private-key.pem", "expo-certificate.pem"),
    ("rsa2048-pkcs8.pem", "rsa2048-certificate.pem"),
    ("rsa3072-pkcs1.pem", "rsa3072-certificate.pem"),
    ("rsa4096-pkcs8.pem", "rsa4096-certificate.pem"),
];

fn bodies() -> Vec<Vec<u8>> {
    vec![
        br#"{"id":"0754dad0-d200-d634-113c-ef1f26106028","assets":[]}"#.to_vec(),
        br#"{"type":"rollBackToEmbedded","parameters":{"commitTime":"2026-11-23T08:00:00.000Z"}}"#
            .to_vec(),
        Vec::new(),
        (0..=255u8).cycle().take(100_000).collect(),
        "ünïcödé ✓".as_bytes().to_vec(),
    ]
}

fn run(command: &mut Command) -> std::process::Output {
    command.output().unwrap()
}

fn openssl_pubkey(dir: &TempDir, cert: &str) -> std::path::PathBuf {
    let out = run(Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(fixtures_dir().join(cert)));
    assert!(out.status.success());
    dir.write("pub.pem", out.stdout)
}

#[test]
fn openssl_verifies_our_signatures() {
    if !openssl_available() {
        return;
    }
    let dir = TempDir::new();
    for (key, cert) in PAIRS {
        let (signer, _) = Signer::from_pem("root", &fixture(key), Some(&fixture(cert))).unwrap();
        let pubkey = openssl_pubkey(&dir, cert);
        for (i, body) in bodies().iter().enumerate() {
            let body_path = dir.write("body", body);
            let sig = base64_decode(&signer.sign(body).unwrap());
            let sig_path = dir.write("sig", &sig);
            let verify = |body_path: &Path| {
                run(Command::new("openssl")
                    .args(["dgst", "-sha256", "-verify"])
                    .arg(&pubkey)
                    .arg("-signature")
                    .arg(&sig_path)
                    .arg(body_path))
            };
            let out = verify(&body_path);
            assert!(
                out.status.success(),
                "{key} body {i}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            // And OpenSSL refuses it for another body: the check above is not vacuous.
            let other = dir.write("other", [body.as_slice(), b"x"].concat());
            assert!(!verify(&other).status.success(), "{key} body {i}");
        }
    }
}

#[test]
fn we_verify_openssl_signatures() {
    if !openssl_available() {
        return;
    }
    let dir = TempDir::new();
    for (key, cert) in PAIRS {
        let verifier = Verifier::from_certificate_pem(&fixture(cert)).unwrap();
        for (i, body) in bodies().iter().enumerate() {
            let body_path = dir.write("body", body);
            let out = run(Command::new("openssl")
                .args(["dgst", "-sha256", "-sign"])
                .arg(fixtures_dir().join(key))
                .arg(&body_path));
            assert!(out.status.success(), "{key}");
            let sig = base64_encode(&out.stdout);
            let header = format!(r#"sig="{sig}", keyid="root", alg="rsa-v1_5-sha256""#);
            assert_eq!(verifier.verify(&header, body), Ok(()), "{key} body {i}");
            assert_eq!(
                verifier.verify(&header, &[body.as_slice(), b"x"].concat()),
                Err(Error::BadSignature)
            );
            // PKCS#1 v1.5 is deterministic: both sides produce the same bytes.
            let signer = Signer::new(
                "root",
                expo_codesign::PrivateKey::from_pem(&fixture(key)).unwrap(),
            );
            assert_eq!(signer.sign(body).unwrap(), sig, "{key} body {i}");
        }
    }
}

fn node(args: &[&std::ffi::OsStr]) -> std::process::Output {
    run(Command::new("node")
        .arg(interop_dir().join("codesign.js"))
        .args(args)
        .current_dir(interop_dir()))
}

#[test]
fn expo_code_signing_certificates_verifies_our_signatures() {
    if !node_interop_available() {
        return;
    }
    let dir = TempDir::new();
    for (key, cert) in PAIRS {
        let (signer, _) = Signer::from_pem("root", &fixture(key), Some(&fixture(cert))).unwrap();
        let cert_path = fixtures_dir().join(cert);
        for (i, body) in bodies().iter().enumerate() {
            let body_path = dir.write("body", body);
            let sig = signer.sign(body).unwrap();
            let out = node(&[
                "verify".as_ref(),
                cert_path.as_os_str(),
                body_path.as_os_str(),
                sig.as_ref(),
            ]);
            assert!(
                out.status.success(),
                "{key} body {i}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let other = dir.write("other", [body.as_slice(), b"x"].concat());
            let out = node(&[
                "verify".as_ref(),
                cert_path.as_os_str(),
                other.as_os_str(),
                sig.as_ref(),
            ]);
            assert_eq!(out.status.code(), Some(1), "{key} body {i}");
        }
    }
}

#[test]
fn we_verify_expo_code_signing_certificates_signatures() {
    if !node_interop_available() {
        return;
    }
    let dir = TempDir::new();
    for (key, cert) in PAIRS {
        let verifier = Verifier::from_certificate_pem(&fixture(cert)).unwrap();
        for (i, body) in bodies().iter().enumerate() {
            let body_path = dir.write("body", body);
            let out = node(&[
                "sign".as_ref(),
                fixtures_dir().join(key).as_os_str(),
                fixtures_dir().join(cert).as_os_str(),
                body_path.as_os_str(),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let sig = String::from_utf8(out.stdout).unwrap();
            assert_eq!(
                verifier.verify(&format!("sig=\"{sig}\""), body),
                Ok(()),
                "{key} body {i}"
            );
        }
    }
}

#[test]
fn expo_accepts_our_fixture_certificates_and_refuses_wrong_usage() {
    if !node_interop_available() {
        return;
    }
    let validate = |key: &str, cert: &str| {
        node(&[
            "validate".as_ref(),
            fixtures_dir().join(key).as_os_str(),
            fixtures_dir().join(cert).as_os_str(),
        ])
    };
    for (key, cert) in PAIRS {
        let out = validate(key, cert);
        assert!(
            out.status.success(),
            "{cert}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The certificate our checks refuse for lacking codeSigning is refused there too.
    let out = validate("rsa2048-pkcs8.pem", "rsa2048-tls-certificate.pem");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Code Signing"));
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}
