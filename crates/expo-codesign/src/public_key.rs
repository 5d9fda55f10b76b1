//! RSA public keys as plain big-endian components, comparable between the private key and
//! certificates, and pre-parsed for repeated verification.

use crate::backend::lib::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

use crate::Error;

/// An RSA public key: modulus and exponent, big-endian without leading zeros.
#[derive(Clone)]
pub(crate) struct RsaPublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
    /// Parsed once with aws-lc-rs: verification then costs only the RSA operation. `None`
    /// when the components do not form a usable key, in which case nothing verifies. `ring`
    /// has no parsed RSA public key type: it checks the components on every verification.
    #[cfg(feature = "aws-lc-rs")]
    parsed: Option<crate::backend::lib::signature::ParsedPublicKey>,
}

impl RsaPublicKey {
    pub(crate) fn new(n: &[u8], e: &[u8]) -> Self {
        let n = strip_leading_zeros(n).to_vec();
        let e = strip_leading_zeros(e).to_vec();
        #[cfg(feature = "aws-lc-rs")]
        let parsed = RsaPublicKeyComponents { n: &n, e: &e }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .ok();
        Self {
            n,
            e,
            #[cfg(feature = "aws-lc-rs")]
            parsed,
        }
    }

    pub(crate) fn bits(&self) -> usize {
        match self.n.first() {
            Some(first) => self.n.len() * 8 - first.leading_zeros() as usize,
            None => 0,
        }
    }

    /// Checks an RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        #[cfg(feature = "aws-lc-rs")]
        let checked = self
            .parsed
            .as_ref()
            .ok_or(Error::BadSignature)?
            .verify_sig(message, signature);
        #[cfg(not(feature = "aws-lc-rs"))]
        let checked = RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature);
        checked.map_err(|_| Error::BadSignature)
    }
}

impl PartialEq for RsaPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n && self.e == other.e
    }
}

impl Eq for RsaPublicKey {}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_zeros_do_not_matter() {
        assert!(
            RsaPublicKey::new(&[0, 0x80, 1], &[1, 0, 1])
                == RsaPublicKey::new(&[0x80, 1], &[0, 1, 0, 1])
        );
        assert_eq!(RsaPublicKey::new(&[0, 0x80, 1], &[3]).bits(), 16);
        assert_eq!(RsaPublicKey::new(&[0x01, 0], &[3]).bits(), 9);
    }
}
