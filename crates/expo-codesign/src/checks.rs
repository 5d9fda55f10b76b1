//! Certificate checks run when a signer starts and before a signature is trusted.

use std::fmt;

use jiff::{SignedDuration, Timestamp};

use crate::{Certificate, Error, PrivateKey};

/// How long before expiry [`Warning::ExpiresSoon`] is raised.
pub const EXPIRY_WARNING: SignedDuration = SignedDuration::from_hours(30 * 24);

/// Something worth telling the operator that does not stop signing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A certificate of the chain expires within 30 days: clients will reject signatures
    /// once it has expired, so a new certificate must ship in an app build before then.
    ExpiresSoon {
        /// End of the certificate's validity period.
        not_after: Timestamp,
        /// Whole days left until then.
        days_left: i64,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExpiresSoon {
                not_after,
                days_left,
            } => write!(
                f,
                "code signing certificate expires at {not_after} ({days_left} days left)"
            ),
        }
    }
}

/// Checks a signing certificate chain (leaf first) at time `now`, as an Expo client would,
/// plus, when `key` is given, that the leaf certifies that private key.
///
/// - the leaf holds an RSA key (equal to `key`'s public half when given), has key usage
///   `digitalSignature` and extended key usage `codeSigning`;
/// - every certificate is within its validity period (a [`Warning::ExpiresSoon`] per
///   certificate that ends within 30 days);
/// - each certificate is signed by the next one, which must be a CA; a self-issued last
///   certificate must verify with its own key.
pub fn check_chain(
    key: Option<&PrivateKey>,
    chain: &[Certificate],
    now: Timestamp,
) -> Result<Vec<Warning>, Error> {
    let leaf = chain.first().ok_or(Error::MissingPem {
        expected: "certificate",
    })?;
    check_leaf(key, leaf)?;
    let warnings = check_validity(chain, now)?;
    check_signatures(chain)?;
    Ok(warnings)
}

pub(crate) fn check_leaf(key: Option<&PrivateKey>, leaf: &Certificate) -> Result<(), Error> {
    let subject = || leaf.subject().to_owned();
    let leaf_key = leaf
        .rsa_key()
        .ok_or_else(|| Error::NotRsaCertificate { subject: subject() })?;
    if key.is_some_and(|key| key.public_key() != leaf_key) {
        return Err(Error::KeyMismatch { subject: subject() });
    }
    if !leaf.has_digital_signature() {
        return Err(Error::MissingDigitalSignature { subject: subject() });
    }
    if !leaf.has_code_signing() {
        return Err(Error::MissingCodeSigning { subject: subject() });
    }
    Ok(())
}

pub(crate) fn check_validity(chain: &[Certificate], now: Timestamp) -> Result<Vec<Warning>, Error> {
    let mut warnings = Vec::new();
    for cert in chain {
        if now < cert.not_before() {
            return Err(Error::CertificateNotYetValid {
                subject: cert.subject().to_owned(),
                not_before: cert.not_before(),
            });
        }
        if now > cert.not_after() {
            return Err(Error::CertificateExpired {
                subject: cert.subject().to_owned(),
                not_after: cert.not_after(),
            });
        }
        let left = cert.not_after().duration_since(now);
        if left < EXPIRY_WARNING {
            warnings.push(Warning::ExpiresSoon {
                not_after: cert.not_after(),
                days_left: left.as_secs() / 86_400,
            });
        }
    }
    Ok(warnings)
}

pub(crate) fn check_signatures(chain: &[Certificate]) -> Result<(), Error> {
    for pair in chain.windows(2) {
        let [cert, issuer] = pair else { continue };
        if !issuer.is_ca() {
            return Err(Error::NotCa {
                subject: issuer.subject().to_owned(),
            });
        }
        cert.verify_issued_by(issuer)?;
    }
    match chain.last() {
        Some(last) if last.is_self_issued() => last.verify_issued_by(last),
        _ => Ok(()),
    }
}
