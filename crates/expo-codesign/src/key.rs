//! RSA private keys loaded from PEM.

use std::fmt;
use std::sync::Arc;

use crate::backend::lib::rand::SystemRandom;
use crate::backend::lib::signature::{
    KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use x509_parser::asn1_rs::{FromDer, Integer, Sequence};
use x509_parser::x509::AlgorithmIdentifier;

use crate::Error;
use crate::armor;
use crate::public_key::RsaPublicKey;

/// An RSA private key (2048 to 4096 bits) used to sign with `rsa-v1_5-sha256`.
///
/// Cloning is cheap: the key material is shared. `Debug` never prints key material.
#[derive(Clone)]
pub struct PrivateKey {
    pair: Arc<RsaKeyPair>,
    public: RsaPublicKey,
}

impl PrivateKey {
    /// Loads a key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`, as written by
    /// `openssl genpkey`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`, as written by
    /// `expo-updates codesigning:generate` and `openssl genrsa -traditional`).
    ///
    /// Other PEM blocks in the input (a certificate stored beside the key) are ignored.
    /// Encrypted keys, EC/Ed25519/DSA/OpenSSH keys, truncated or malformed PEM and keys
    /// outside 2048–4096 bits are each reported as their own [`Error`] variant.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let mut found = None;
        for block in armor::parse_blocks(pem)? {
            let kind = match block.tag() {
                "PRIVATE KEY" => KeyFormat::Pkcs8,
                "RSA PRIVATE KEY" => {
                    if block
                        .headers()
                        .get("Proc-Type")
                        .is_some_and(|v| v.contains("ENCRYPTED"))
                    {
                        return Err(Error::EncryptedKey);
                    }
                    KeyFormat::Pkcs1
                }
                "ENCRYPTED PRIVATE KEY" => return Err(Error::EncryptedKey),
                "EC PRIVATE KEY" => return Err(Error::UnsupportedKeyType("EC".into())),
                "DSA PRIVATE KEY" => return Err(Error::UnsupportedKeyType("DSA".into())),
                "OPENSSH PRIVATE KEY" => {
                    return Err(Error::UnsupportedKeyType(
                        "OpenSSH (convert with `ssh-keygen -p -m PKCS8 -f FILE`)".into(),
                    ));
                }
                _ => continue,
            };
            if found.is_some() {
                return Err(Error::MultiplePrivateKeys);
            }
            found = Some((kind, block));
        }
        match found {
            Some((KeyFormat::Pkcs8, block)) => Self::from_pkcs8_der(block.contents()),
            Some((KeyFormat::Pkcs1, block)) => Self::from_pkcs1_der(block.contents()),
            None => Err(Error::MissingPem {
                expected: "private key",
            }),
        }
    }

    /// Loads a DER-encoded PKCS#8 `PrivateKeyInfo` holding an RSA key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        if let Some(name) = pkcs8_non_rsa_algorithm(der) {
            return Err(Error::UnsupportedKeyType(name));
        }
        RsaKeyPair::from_pkcs8(der)
            .map_err(|e| key_rejected(&e))
            .and_then(Self::from_pair)
    }

    /// Loads a DER-encoded PKCS#1 `RSAPrivateKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, Error> {
        RsaKeyPair::from_der(der)
            .map_err(|e| key_rejected(&e))
            .and_then(Self::from_pair)
    }

    fn from_pair(pair: RsaKeyPair) -> Result<Self, Error> {
        let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let public = RsaPublicKey::new(&components.n, &components.e);
        // The libraries accept up to 8192 bits; Expo tooling and clients use 2048 to 4096.
        match public.bits() {
            ..MIN_BITS => Err(Error::UnsupportedKeySize("smaller than 2048 bits")),
            MIN_BITS..=MAX_BITS => Ok(Self {
                pair: Arc::new(pair),
                public,
            }),
            _ => Err(Error::UnsupportedKeySize("larger than 4096 bits")),
        }
    }

    /// Size of the modulus in bits (2048 to 4096).
    pub fn bits(&self) -> usize {
        self.public.bits()
    }

    /// Length of a signature made with this key, in bytes.
    pub fn signature_len(&self) -> usize {
        self.pair.public_key().modulus_len()
    }

    pub(crate) fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// Signs `message` with RSASSA-PKCS1-v1_5 and SHA-256, returning the raw signature.
    pub(crate) fn sign(&self, rng: &SystemRandom, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut signature = vec![0; self.signature_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, rng, message, &mut signature)
            .map_err(|_| Error::SigningFailed)?;
        Ok(signature)
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

enum KeyFormat {
    Pkcs8,
    Pkcs1,
}

const MIN_BITS: usize = 2048;
const MAX_BITS: usize = 4096;

fn key_rejected(e: &crate::backend::lib::error::KeyRejected) -> Error {
    // Both libraries name the reason with the same words.
    match e.to_string().as_str() {
        "TooSmall" => Error::UnsupportedKeySize("smaller than 2048 bits"),
        "TooLarge" => Error::UnsupportedKeySize("larger than 4096 bits"),
        "WrongAlgorithm" => Error::UnsupportedKeyType("not RSA".into()),
        "InvalidEncoding" => {
            Error::InvalidKey("invalid DER encoding (truncated or corrupt)".into())
        }
        other => Error::InvalidKey(other.to_owned()),
    }
}

/// Names the algorithm of a PKCS#8 key that is not RSA, for a precise error; `None` for
/// RSA keys and for input too broken to tell (the RSA parser then reports it).
fn pkcs8_non_rsa_algorithm(der: &[u8]) -> Option<String> {
    let (_, seq) = Sequence::from_der(der).ok()?;
    let (rest, _version) = Integer::from_der(&seq.content).ok()?;
    let (_, alg) = AlgorithmIdentifier::from_der(rest).ok()?;
    let name = match alg.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.1" => return None,
        "1.2.840.10045.2.1" => "EC".into(),
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        "1.2.840.10040.4.1" => "DSA".into(),
        "1.2.840.113549.1.1.10" => "RSASSA-PSS".into(),
        other => format!("with algorithm OID {other}"),
    };
    Some(name)
}
