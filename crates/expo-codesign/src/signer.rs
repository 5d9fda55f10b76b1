//! Signing manifest and directive bodies, one key or several by keyid.

use crate::backend::lib::rand::SystemRandom;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;

use crate::checks::{Warning, check_chain};
use crate::{ALGORITHM, Certificate, Error, PrivateKey, header};

/// A private key with the keyid clients know it by.
///
/// `Signer` is `Send + Sync` and cheap to clone (the key is shared), so a server can keep one
/// in an `Arc` or clone it into every worker.
#[derive(Debug, Clone)]
pub struct Signer {
    keyid: String,
    key: PrivateKey,
    rng: SystemRandom,
}

impl Signer {
    /// Pairs a key with its keyid (the `keyid` clients send in `expo-expect-signature`;
    /// `root` unless the app configured another).
    pub fn new(keyid: impl Into<String>, key: PrivateKey) -> Self {
        Self {
            keyid: keyid.into(),
            key,
            rng: SystemRandom::new(),
        }
    }

    /// Loads a signer from PEM and, when a certificate (or a chain, leaf first) is given,
    /// runs the startup checks of [`check_chain`] against the current time.
    ///
    /// Returns the warnings (such as a certificate expiring within 30 days) for the caller
    /// to log; errors describe what to fix.
    pub fn from_pem(
        keyid: impl Into<String>,
        key_pem: &str,
        cert_pem: Option<&str>,
    ) -> Result<(Self, Vec<Warning>), Error> {
        Self::from_pem_at(keyid, key_pem, cert_pem, Timestamp::now())
    }

    /// [`Signer::from_pem`] with the checks run at time `now`.
    pub fn from_pem_at(
        keyid: impl Into<String>,
        key_pem: &str,
        cert_pem: Option<&str>,
        now: Timestamp,
    ) -> Result<(Self, Vec<Warning>), Error> {
        let key = PrivateKey::from_pem(key_pem)?;
        let warnings = match cert_pem {
            Some(pem) => check_chain(Some(&key), &Certificate::chain_from_pem(pem)?, now)?,
            None => Vec::new(),
        };
        let keyid = keyid.into();
        header::check_keyid(&keyid)?;
        Ok((Self::new(keyid, key), warnings))
    }

    /// The keyid this signer answers to.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// Signs `body` with RSASSA-PKCS1-v1_5 SHA-256 and returns the signature in standard
    /// base64 (the `sig` value of `expo-signature`).
    pub fn sign(&self, body: &[u8]) -> Result<String, Error> {
        Ok(STANDARD.encode(self.key.sign(&self.rng, body)?))
    }

    /// Signs `body` and returns the whole `expo-signature` value:
    /// `sig="...", keyid="...", alg="rsa-v1_5-sha256"`.
    ///
    /// The keyid is always included: a client reads a missing keyid as `root`.
    pub fn signature_header(&self, body: &[u8]) -> Result<String, Error> {
        let sig = self.sign(body)?;
        header::format(sig, &self.keyid, ALGORITHM)
    }
}

/// Several signers by keyid, for key rotation: clients built with an older certificate ask
/// for its keyid in `expo-expect-signature` while newer builds ask for the new one.
#[derive(Debug, Clone)]
pub struct SignerSet {
    /// The default signer comes first; keyids are unique.
    signers: Vec<Signer>,
}

impl SignerSet {
    /// A set whose default signer is `default`.
    pub fn new(default: Signer) -> Self {
        Self {
            signers: vec![default],
        }
    }

    /// Adds a signer; one with the same keyid is replaced and returned (the default stays
    /// the default, with the new key).
    pub fn add(&mut self, signer: Signer) -> Option<Signer> {
        if let Some(slot) = self.signers.iter_mut().find(|s| s.keyid == signer.keyid) {
            return Some(std::mem::replace(slot, signer));
        }
        self.signers.push(signer);
        None
    }

    /// The signer for a requested keyid.
    ///
    /// `None` (the request's `expo-expect-signature` named no keyid) gives the default signer.
    /// Its keyid is still written into the signature: clients read a signature without keyid
    /// as signed by `root`. An unknown keyid gives `None`: the server cannot sign for it.
    pub fn get(&self, keyid: Option<&str>) -> Option<&Signer> {
        match keyid {
            None => self.signers.first(),
            Some(keyid) => self.signers.iter().find(|s| s.keyid == keyid),
        }
    }

    /// The default signer.
    pub fn default_signer(&self) -> &Signer {
        &self.signers[0]
    }

    /// Every signer, the default first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Signer> {
        self.signers.iter()
    }
}
