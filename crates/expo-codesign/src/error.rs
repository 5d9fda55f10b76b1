//! The crate's error type.

use jiff::Timestamp;

/// Everything that can go wrong while loading keys and certificates, signing or verifying.
///
/// Loading errors are distinct per cause so that a server can tell its operator exactly what to
/// fix at startup (an encrypted key, an EC key, a truncated file, an expired certificate, ...).
/// Verification failures are deliberately coarse: [`Error::BadSignature`] does not say why the
/// RSA check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is larger than this crate accepts for its kind.
    #[error("input is {len} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// The PEM armor could not be parsed (bad base64, mismatched BEGIN/END labels, ...).
    #[error("malformed PEM: {0}")]
    MalformedPem(String),
    /// A `-----BEGIN` line has no matching `-----END` line: the file was cut short.
    #[error("truncated PEM: a BEGIN line has no matching END line")]
    TruncatedPem,
    /// The input holds no PEM block of the expected kind.
    #[error("no {expected} found in the PEM input")]
    MissingPem {
        /// What was looked for, e.g. `"private key"` or `"certificate"`.
        expected: &'static str,
    },
    /// The PEM input holds more than one private key.
    #[error("more than one private key in the PEM input")]
    MultiplePrivateKeys,
    /// The private key is encrypted with a passphrase.
    #[error(
        "the private key is encrypted; decrypt it first (e.g. `openssl pkey -in key.pem -out plain.pem`)"
    )]
    EncryptedKey,
    /// The key is not an RSA key (EC, Ed25519, DSA, OpenSSH format, ...).
    #[error("unsupported key type {0}: Expo code signing uses RSA keys (rsa-v1_5-sha256)")]
    UnsupportedKeyType(String),
    /// The RSA key is smaller than 2048 or larger than 4096 bits.
    #[error("unsupported RSA key size ({0}): keys must be 2048 to 4096 bits")]
    UnsupportedKeySize(&'static str),
    /// The private key's DER encoding is invalid or its components are inconsistent.
    #[error("invalid private key: {0}")]
    InvalidKey(String),
    /// The certificate's DER encoding could not be parsed.
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    /// The certificate chain holds more certificates than this crate accepts.
    #[error("certificate chain has {len} certificates, more than the limit of {limit}")]
    ChainTooLong {
        /// Number of certificates found.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The signing certificate's public key is not an RSA key.
    #[error("certificate {subject:?} does not hold an RSA public key")]
    NotRsaCertificate {
        /// The certificate's subject.
        subject: String,
    },
    /// The certificate's public key is not the public half of the private key.
    #[error("certificate {subject:?} does not match the private key")]
    KeyMismatch {
        /// The certificate's subject.
        subject: String,
    },
    /// The certificate's validity period has ended.
    #[error("certificate {subject:?} expired at {not_after}")]
    CertificateExpired {
        /// The certificate's subject.
        subject: String,
        /// End of its validity period.
        not_after: Timestamp,
    },
    /// The certificate's validity period has not started yet.
    #[error("certificate {subject:?} is not valid before {not_before}")]
    CertificateNotYetValid {
        /// The certificate's subject.
        subject: String,
        /// Start of its validity period.
        not_before: Timestamp,
    },
    /// The signing certificate lacks the `digitalSignature` key usage.
    #[error("certificate {subject:?} lacks the digitalSignature key usage")]
    MissingDigitalSignature {
        /// The certificate's subject.
        subject: String,
    },
    /// The signing certificate lacks the `codeSigning` extended key usage.
    #[error("certificate {subject:?} lacks the codeSigning extended key usage")]
    MissingCodeSigning {
        /// The certificate's subject.
        subject: String,
    },
    /// A certificate that signs another one is not a CA certificate (basicConstraints CA and
    /// keyCertSign key usage).
    #[error("certificate {subject:?} signs another certificate but is not a CA")]
    NotCa {
        /// The certificate's subject.
        subject: String,
    },
    /// A certificate's signature does not verify with its issuer's public key.
    #[error("signature of certificate {subject:?} does not verify with the key of {issuer:?}")]
    ChainSignature {
        /// The certificate whose signature failed.
        subject: String,
        /// The certificate whose key was used.
        issuer: String,
    },
    /// Signing failed inside the cryptographic library.
    #[error("signing failed")]
    SigningFailed,
    /// The `expo-signature` header value is not a valid Expo SFV signature dictionary.
    #[error("invalid expo-signature header: {0}")]
    InvalidSignatureHeader(#[source] expo_sfv::Error),
    /// The signature names an algorithm other than `rsa-v1_5-sha256`.
    #[error("unsupported signature algorithm {0:?}: only rsa-v1_5-sha256 is supported")]
    UnsupportedAlgorithm(String),
    /// The signature was made with another key than the one this verifier expects.
    #[error("signature keyid {found:?} does not match the expected keyid {expected:?}")]
    KeyIdMismatch {
        /// The keyid the verifier was configured with.
        expected: String,
        /// The keyid named by the signature (`root` when absent).
        found: String,
    },
    /// The keyid cannot be written as an Expo SFV string (it must be printable ASCII).
    #[error("keyid {0:?} is not printable ASCII")]
    InvalidKeyId(String),
    /// The `sig` value is not standard base64 of the expected length.
    #[error("signature is not valid base64")]
    InvalidSignatureEncoding,
    /// The signature does not verify against the body with the certificate's key.
    #[error("signature does not verify")]
    BadSignature,
}
