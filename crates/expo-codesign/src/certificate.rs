//! X.509 certificates loaded from PEM or DER.

use std::fmt;

use jiff::Timestamp;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

use crate::Error;
use crate::armor;
use crate::public_key::RsaPublicKey;

/// Most certificates accepted in one chain. Real code signing chains have one to three.
pub const MAX_CHAIN_LEN: usize = 16;

/// Largest DER certificate accepted (bounds the work done on untrusted input).
const MAX_CERTIFICATE_LEN: usize = 64 * 1024;

/// A parsed X.509 certificate.
///
/// The fields code signing needs are extracted once when the certificate is loaded; the DER
/// bytes are kept to check signatures and to send the certificate on.
#[derive(Clone, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent X.509 extension flags, not a state machine"
)]
pub struct Certificate {
    der: Vec<u8>,
    subject: String,
    issuer: String,
    self_issued: bool,
    not_before: Timestamp,
    not_after: Timestamp,
    rsa_key: Option<RsaPublicKey>,
    digital_signature: bool,
    key_cert_sign: bool,
    code_signing: bool,
    ca: bool,
}

impl Certificate {
    /// Loads the single certificate of a PEM input (`BEGIN CERTIFICATE`).
    ///
    /// Other kinds of PEM blocks are ignored; more than one certificate is an error
    /// (use [`Certificate::chain_from_pem`] for chains).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let mut chain = Self::chain_from_pem(pem)?;
        if chain.len() > 1 {
            return Err(Error::InvalidCertificate(format!(
                "expected one certificate, found {}",
                chain.len()
            )));
        }
        chain.pop().ok_or(Error::MissingPem {
            expected: "certificate",
        })
    }

    /// Loads every certificate of a PEM input, in order (for a chain: leaf first).
    ///
    /// Fails with [`Error::MissingPem`] when there is none and [`Error::ChainTooLong`] past
    /// [`MAX_CHAIN_LEN`].
    pub fn chain_from_pem(pem: &str) -> Result<Vec<Self>, Error> {
        let blocks: Vec<_> = armor::parse_blocks(pem)?
            .into_iter()
            .filter(|block| block.tag() == "CERTIFICATE")
            .collect();
        if blocks.is_empty() {
            return Err(Error::MissingPem {
                expected: "certificate",
            });
        }
        if blocks.len() > MAX_CHAIN_LEN {
            return Err(Error::ChainTooLong {
                len: blocks.len(),
                limit: MAX_CHAIN_LEN,
            });
        }
        blocks
            .into_iter()
            .map(|block| Self::from_der(block.into_contents()))
            .collect()
    }

    /// Parses a DER-encoded certificate.
    pub fn from_der(der: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let der = der.into();
        if der.len() > MAX_CERTIFICATE_LEN {
            return Err(Error::TooLarge {
                len: der.len(),
                limit: MAX_CERTIFICATE_LEN,
            });
        }
        let parsed = parse(&der)?;
        let invalid = |e: x509_parser::error::X509Error| Error::InvalidCertificate(e.to_string());
        let key_usage = parsed.key_usage().map_err(invalid)?.map(|ext| *ext.value);
        let code_signing = parsed
            .extended_key_usage()
            .map_err(invalid)?
            .is_some_and(|ext| ext.value.code_signing);
        let ca = parsed
            .basic_constraints()
            .map_err(invalid)?
            .is_some_and(|ext| ext.value.ca);
        let rsa_key = match parsed.public_key().parsed() {
            Ok(PublicKey::RSA(key)) => Some(RsaPublicKey::new(key.modulus, key.exponent)),
            _ => None,
        };
        let validity = parsed.validity();
        let not_before = timestamp(validity.not_before.timestamp())?;
        let not_after = timestamp(validity.not_after.timestamp())?;
        let subject = parsed.subject().to_string();
        let issuer = parsed.issuer().to_string();
        let self_issued = parsed.subject().as_raw() == parsed.issuer().as_raw();
        drop(parsed);
        Ok(Self {
            der,
            subject,
            issuer,
            self_issued,
            not_before,
            not_after,
            rsa_key,
            digital_signature: key_usage.is_some_and(|ku| ku.digital_signature()),
            key_cert_sign: key_usage.is_some_and(|ku| ku.key_cert_sign()),
            code_signing,
            ca,
        })
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM encoding (`BEGIN CERTIFICATE`, LF line endings).
    pub fn to_pem(&self) -> String {
        pem::encode_config(
            &pem::Pem::new("CERTIFICATE", self.der.clone()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    }

    /// The subject distinguished name, RFC 4514 style (`CN=Test, O=...`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The issuer distinguished name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Start of the validity period.
    pub fn not_before(&self) -> Timestamp {
        self.not_before
    }

    /// End of the validity period.
    pub fn not_after(&self) -> Timestamp {
        self.not_after
    }

    /// Whether subject and issuer are the same name (a root or self-signed certificate).
    pub fn is_self_issued(&self) -> bool {
        self.self_issued
    }

    /// Whether the certificate may sign with its key: key usage `digitalSignature` and
    /// extended key usage `codeSigning`, as Expo clients require of the signing certificate.
    pub fn is_code_signing(&self) -> bool {
        self.digital_signature && self.code_signing
    }

    /// Whether the certificate may issue certificates: basic constraints `CA:true` and key
    /// usage `keyCertSign`.
    pub fn is_ca(&self) -> bool {
        self.ca && self.key_cert_sign
    }

    pub(crate) fn has_digital_signature(&self) -> bool {
        self.digital_signature
    }

    pub(crate) fn has_code_signing(&self) -> bool {
        self.code_signing
    }

    pub(crate) fn rsa_key(&self) -> Option<&RsaPublicKey> {
        self.rsa_key.as_ref()
    }

    /// Checks that `self` was signed by the key of `issuer`.
    pub(crate) fn verify_issued_by(&self, issuer: &Certificate) -> Result<(), Error> {
        let this = parse(&self.der)?;
        let by = parse(&issuer.der)?;
        this.verify_signature(Some(by.public_key()))
            .map_err(|_| Error::ChainSignature {
                subject: self.subject.clone(),
                issuer: issuer.subject.clone(),
            })
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, Error> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| Error::InvalidCertificate(e.to_string()))?;
    if !rest.is_empty() {
        return Err(Error::InvalidCertificate(format!(
            "{} bytes of trailing data",
            rest.len()
        )));
    }
    Ok(cert)
}

fn timestamp(seconds: i64) -> Result<Timestamp, Error> {
    Timestamp::from_second(seconds)
        .map_err(|_| Error::InvalidCertificate("validity date out of range".into()))
}
