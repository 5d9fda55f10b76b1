//! RSA public keys as plain big-endian components, comparable between ring and x509-parser.

use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

use crate::Error;

/// An RSA public key: modulus and exponent, big-endian without leading zeros.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RsaPublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl RsaPublicKey {
    pub(crate) fn new(n: &[u8], e: &[u8]) -> Self {
        Self {
            n: strip_leading_zeros(n).to_vec(),
            e: strip_leading_zeros(e).to_vec(),
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
        RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        .map_err(|_| Error::BadSignature)
    }
}

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
