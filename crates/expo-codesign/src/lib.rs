//! Code signing for [Expo Updates](https://docs.expo.dev/technical-specs/expo-updates-1/):
//! load RSA keys and X.509 certificates from PEM, sign manifest and directive bodies, and
//! verify `expo-signature` values the way the expo-updates client does.
//!
//! The server signs the exact bytes of a manifest (or directive) body with
//! RSASSA-PKCS1-v1_5 and SHA-256 (`alg="rsa-v1_5-sha256"`) and sends the result in the
//! `expo-signature` header (or multipart part header):
//! `sig="<base64>", keyid="<id>", alg="rsa-v1_5-sha256"`. The app verifies it with a
//! certificate chained to a root embedded in the app.
//!
//! - [`PrivateKey`]: PKCS#8 or PKCS#1 PEM, 2048 to 4096 bits (the keys of
//!   `npx expo-updates codesigning:generate` are PKCS#1).
//! - [`Certificate`]: one certificate or a chain from PEM.
//! - [`Signer`]: a key and its keyid; [`Signer::from_pem`] runs startup checks (key matches
//!   certificate, validity period, key usages, chain signatures) and returns [`Warning`]s.
//! - [`SignerSet`]: several signers by keyid, for key rotation.
//! - [`Verifier`]: the client side, for tests and tools.
//!
//! # Example
//!
//! ```
//! use expo_codesign::{Signer, Verifier};
//!
//! # fn main() -> Result<(), expo_codesign::Error> {
//! # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
//! # let read = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
//! let key_pem = read("expo-private-key.pem");
//! let cert_pem = read("expo-certificate.pem");
//!
//! // At startup: load the key, check it against its certificate.
//! let (signer, warnings) = Signer::from_pem("main", &key_pem, Some(&cert_pem))?;
//! for warning in &warnings {
//!     eprintln!("warning: {warning}");
//! }
//!
//! // Per response: sign the exact body bytes that are sent.
//! let body = br#"{"id":"0754dad0-d200-d634-113c-ef1f26106028"}"#;
//! let header = signer.signature_header(body)?;
//! assert!(header.starts_with("sig=\""));
//! assert!(header.ends_with(r#"keyid="main", alg="rsa-v1_5-sha256""#));
//!
//! // The app's side of the exchange.
//! let verifier = Verifier::from_certificate_pem(&cert_pem)?.with_keyid("main");
//! verifier.verify(&header, body)?;
//! assert!(verifier.verify(&header, b"tampered").is_err());
//! # Ok(())
//! # }
//! ```
//!
//! # Choices
//!
//! RSA runs on [`aws-lc-rs`](https://docs.rs/aws-lc-rs) rather than `ring`. Both have the
//! same API shape, but `ring`'s RSA private-key operation has no AVX2/AVX-512 IFMA code
//! path: on the benchmark machine it signed 1,779 times a second against OpenSSL's 4,117
//! (2.3x slower) and verified 1.3x slower, while aws-lc-rs (AWS's maintained `BoringSSL`
//! fork, the default provider of rustls) is within a few percent of OpenSSL for both. A
//! code signing server signs every manifest it serves, so that gap is throughput.
//! `x509-parser` (feature `verify-aws`) parses certificates and checks their signatures with
//! the same library.
//!
//! Keys must be 2048 to 4096 bits, as Expo's tooling makes them. Errors at load time are
//! specific ([`Error::EncryptedKey`], [`Error::UnsupportedKeyType`], [`Error::TruncatedPem`],
//! ...); a failed verification is only [`Error::BadSignature`]. Inputs are bounded: PEM to
//! 256 KiB, chains to [`MAX_CHAIN_LEN`] certificates, header values to 8 KiB.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

mod armor;
mod certificate;
mod checks;
mod error;
mod header;
mod key;
mod public_key;
mod signer;
mod verifier;

pub use certificate::{Certificate, MAX_CHAIN_LEN};
pub use checks::{EXPIRY_WARNING, Warning, check_chain};
pub use error::Error;
pub use key::PrivateKey;
pub use signer::{Signer, SignerSet};
pub use verifier::{DEFAULT_KEYID, Verifier};

/// The only algorithm of Expo code signing, as written in `alg`.
pub const ALGORITHM: &str = "rsa-v1_5-sha256";

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn shared_types_are_send_sync() {
        assert_send_sync::<Signer>();
        assert_send_sync::<SignerSet>();
        assert_send_sync::<Verifier>();
        assert_send_sync::<PrivateKey>();
        assert_send_sync::<Certificate>();
        assert_send_sync::<Error>();
    }
}
