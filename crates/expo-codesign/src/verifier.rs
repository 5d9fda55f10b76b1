//! Verifying `expo-signature` values the way an Expo client does.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;

use crate::checks::{check_leaf, check_signatures, check_validity};
use crate::{ALGORITHM, Certificate, Error, MAX_CHAIN_LEN, header};

/// Longest base64 `sig` accepted: 4096-bit RSA signatures are 684 characters.
const MAX_SIG_BASE64_LEN: usize = 1024;

/// The keyid a client assumes when a signature names none.
pub const DEFAULT_KEYID: &str = "root";

/// Checks `expo-signature` values against body bytes with a certificate chained to a
/// trusted root, as the expo-updates client does before using a manifest or directive.
///
/// With only a root, the root is also the signing certificate (the self-signed certificate
/// of `expo-updates codesigning:generate`). With intermediates, the first one signs and
/// each is issued by the next, the last by the root.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// Signing certificate first, the trusted root last.
    chain: Vec<Certificate>,
    /// Outcome of the time-independent chain checks, computed once.
    chain_status: Result<(), Error>,
    keyid: Option<String>,
}

impl Verifier {
    /// A verifier trusting `root`, which also signs.
    pub fn new(root: Certificate) -> Self {
        let mut verifier = Self {
            chain: vec![root],
            chain_status: Ok(()),
            keyid: None,
        };
        verifier.chain_status = verifier.check_chain();
        verifier
    }

    /// Loads the PEM of a root certificate, or of a chain: signing certificate first,
    /// then intermediates, the trusted root last.
    pub fn from_certificate_pem(pem: &str) -> Result<Self, Error> {
        let mut chain = Certificate::chain_from_pem(pem)?;
        let root = chain.pop().ok_or(Error::MissingPem {
            expected: "certificate",
        })?;
        Ok(Self::new(root).with_intermediates(chain))
    }

    /// Sets the certificates between the signer and the root: the signing certificate first,
    /// each issued by the next. A trailing copy of the root is ignored.
    ///
    /// Chain errors are reported by [`Verifier::verify`].
    #[must_use]
    pub fn with_intermediates(mut self, mut intermediates: Vec<Certificate>) -> Self {
        let Some(root) = self.chain.pop() else {
            return self;
        };
        if intermediates.last() == Some(&root) {
            intermediates.pop();
        }
        intermediates.push(root);
        self.chain = intermediates;
        self.chain_status = self.check_chain();
        self
    }

    /// Requires signatures to name `keyid` (a signature without keyid names `root`), like a
    /// client configured with `codeSigningMetadata: { keyid }`.
    #[must_use]
    pub fn with_keyid(mut self, keyid: impl Into<String>) -> Self {
        self.keyid = Some(keyid.into());
        self
    }

    /// The trusted root.
    pub fn root(&self) -> &Certificate {
        // `chain` always ends with the root.
        &self.chain[self.chain.len() - 1]
    }

    /// The certificate whose key must have made the signature.
    pub fn signing_certificate(&self) -> &Certificate {
        &self.chain[0]
    }

    /// Verifies an `expo-signature` value against `body`, now.
    pub fn verify(&self, header_value: &str, body: &[u8]) -> Result<(), Error> {
        self.verify_at(header_value, body, Timestamp::now())
    }

    /// [`Verifier::verify`] with the certificates' validity checked at `now`.
    pub fn verify_at(&self, header_value: &str, body: &[u8], now: Timestamp) -> Result<(), Error> {
        self.chain_status.clone()?;
        check_validity(&self.chain, now)?;
        let fields = header::parse(header_value)?;
        if let Some(alg) = fields.alg
            && alg != ALGORITHM
        {
            return Err(Error::UnsupportedAlgorithm(alg));
        }
        if let Some(expected) = &self.keyid {
            let found = fields.keyid.as_deref().unwrap_or(DEFAULT_KEYID);
            if found != expected {
                return Err(Error::KeyIdMismatch {
                    expected: expected.clone(),
                    found: found.to_owned(),
                });
            }
        }
        self.verify_sig(&fields.sig, body)
    }

    /// Verifies a bare base64 signature (the `sig` value) against `body`, without looking
    /// at keyid or algorithm.
    pub fn verify_sig(&self, sig_base64: &str, body: &[u8]) -> Result<(), Error> {
        self.chain_status.clone()?;
        if sig_base64.len() > MAX_SIG_BASE64_LEN {
            return Err(Error::InvalidSignatureEncoding);
        }
        let sig = STANDARD
            .decode(sig_base64)
            .map_err(|_| Error::InvalidSignatureEncoding)?;
        let key = self
            .signing_certificate()
            .rsa_key()
            .ok_or_else(|| Error::NotRsaCertificate {
                subject: self.signing_certificate().subject().to_owned(),
            })?;
        key.verify(body, &sig)
    }

    fn check_chain(&self) -> Result<(), Error> {
        if self.chain.len() > MAX_CHAIN_LEN {
            return Err(Error::ChainTooLong {
                len: self.chain.len(),
                limit: MAX_CHAIN_LEN,
            });
        }
        check_leaf(None, self.signing_certificate())?;
        check_signatures(&self.chain)
    }
}
