//! Helpers shared by the integration tests: fixtures, certificates made on the fly with
//! rcgen, temporary directories and external tools.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

pub(crate) fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub(crate) fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join(name)).unwrap()
}

/// What to put in a certificate made with rcgen.
pub(crate) struct Spec {
    pub(crate) common_name: &'static str,
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
    pub(crate) key_usages: Vec<KeyUsagePurpose>,
    pub(crate) extended_key_usages: Vec<ExtendedKeyUsagePurpose>,
    pub(crate) ca: bool,
}

impl Spec {
    /// A code signing certificate valid from yesterday for a year.
    pub(crate) fn code_signing() -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            common_name: "rcgen code signing",
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(365),
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            extended_key_usages: vec![ExtendedKeyUsagePurpose::CodeSigning],
            ca: false,
        }
    }

    /// A CA certificate valid from yesterday for a year.
    pub(crate) fn ca(common_name: &'static str) -> Self {
        Self {
            common_name,
            key_usages: vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
            extended_key_usages: Vec::new(),
            ca: true,
            ..Self::code_signing()
        }
    }

    fn params(&self) -> CertificateParams {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, self.common_name);
        params.not_before = self.not_before;
        params.not_after = self.not_after;
        params.key_usages.clone_from(&self.key_usages);
        params
            .extended_key_usages
            .clone_from(&self.extended_key_usages);
        if self.ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        params
    }

    /// A self-signed certificate for the PKCS#8 key `key_pem`.
    pub(crate) fn self_signed(&self, key_pem: &str) -> String {
        let key = KeyPair::from_pem(key_pem).unwrap();
        self.params().self_signed(&key).unwrap().pem()
    }

    /// A certificate for `key_pem` issued by `issuer_key_pem` under `issuer`'s name.
    pub(crate) fn issued_by(&self, key_pem: &str, issuer: &Spec, issuer_key_pem: &str) -> String {
        let key = KeyPair::from_pem(key_pem).unwrap();
        let issuer_key = KeyPair::from_pem(issuer_key_pem).unwrap();
        let issuer = Issuer::new(issuer.params(), issuer_key);
        self.params().signed_by(&key, &issuer).unwrap().pem()
    }
}

/// A directory removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "expo-codesign-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub(crate) fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether an external tool the test needs is there. Missing: outside CI the test prints a
/// loud SKIPPED line and returns; in CI (`CI=true`) the test fails.
pub(crate) fn require(available: bool, what: &str) -> bool {
    if available {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} is required when CI=true"
    );
    eprintln!("SKIPPED: {what} is not available");
    false
}

pub(crate) fn openssl_available() -> bool {
    require(
        Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "the openssl command",
    )
}

pub(crate) fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

pub(crate) fn node_interop_available() -> bool {
    require(
        Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
            && interop_dir()
                .join("node_modules/@expo/code-signing-certificates")
                .is_dir(),
        "node with crates/expo-codesign/interop/node_modules (run `npm ci` there)",
    )
}
