//! Signature verification done here from the primitives (X.509 parsing, RSA PKCS#1 v1.5
//! with SHA-256), independently of the signing code a server may share with this crate.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;

/// The certificate apps embed, and the keyid they ask for.
#[derive(Debug, Clone)]
pub struct Certificate {
    public_key: Vec<u8>,
    keyid: String,
}

impl Certificate {
    /// Reads a PEM certificate (the first one of a chain: the leaf).
    pub fn from_pem(pem_text: &str, keyid: impl Into<String>) -> Result<Self, String> {
        let block = pem::parse_many(pem_text)
            .map_err(|e| format!("not PEM: {e}"))?
            .into_iter()
            .find(|b| b.tag() == "CERTIFICATE")
            .ok_or("no CERTIFICATE block")?;
        let (_, certificate) = x509_parser::parse_x509_certificate(block.contents())
            .map_err(|e| format!("not an X.509 certificate: {e}"))?;
        Ok(Certificate {
            public_key: certificate.public_key().subject_public_key.data.to_vec(),
            keyid: keyid.into(),
        })
    }

    /// The keyid requests ask for.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// Whether `signature` (raw bytes) is this certificate's key's RSA-SHA256 signature of
    /// `body`.
    pub(crate) fn verifies(&self, body: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.public_key)
            .verify(body, signature)
            .is_ok()
    }
}

/// The members of an `expo-signature` value that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignatureHeader {
    pub(crate) sig: Vec<u8>,
    pub(crate) keyid: Option<String>,
    pub(crate) alg: Option<String>,
}

/// Reads `sig="BASE64", keyid="k", alg="rsa-v1_5-sha256"` (an Expo SFV dictionary; the
/// signature is a string of standard base64, also accepted as a `:BASE64:` byte sequence).
pub(crate) fn parse_header(value: &str) -> Result<SignatureHeader, String> {
    let mut sig = None;
    let mut keyid = None;
    let mut alg = None;
    for member in value.split(',') {
        let member = member.trim();
        let Some((key, raw)) = member.split_once('=') else {
            continue;
        };
        let raw = raw.trim();
        match key.trim() {
            "sig" => {
                let inner = raw
                    .strip_prefix(':')
                    .and_then(|r| r.strip_suffix(':'))
                    .map_or_else(|| unquote(raw), |r| Ok(r.to_owned()))
                    .map_err(|_| format!("sig {raw:?} is neither a string nor a byte sequence"))?;
                sig = Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(inner)
                        .map_err(|e| format!("sig is not base64: {e}"))?,
                );
            }
            "keyid" => keyid = Some(unquote(raw)?),
            "alg" => alg = Some(unquote(raw)?),
            _ => {}
        }
    }
    Ok(SignatureHeader {
        sig: sig.ok_or("no sig member")?,
        keyid,
        alg,
    })
}

fn unquote(raw: &str) -> Result<String, String> {
    raw.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .map(str::to_owned)
        .ok_or_else(|| format!("{raw:?} is not a quoted string"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_members() {
        let header = parse_header("sig=\"AAEC\", keyid=\"main\", alg=\"rsa-v1_5-sha256\"").unwrap();
        assert_eq!(header.sig, vec![0, 1, 2]);
        assert_eq!(header.keyid.as_deref(), Some("main"));
        assert_eq!(header.alg.as_deref(), Some("rsa-v1_5-sha256"));
        assert_eq!(parse_header("sig=:AAEC:").unwrap().keyid, None);
    }

    #[test]
    fn refuses_what_is_not_a_signature() {
        assert!(parse_header("keyid=\"main\"").is_err());
        assert!(parse_header("sig=AAEC").is_err());
        assert!(parse_header("sig=:!!:").is_err());
        assert!(parse_header("sig=:AAEC:, keyid=main").is_err());
    }

    #[test]
    fn refuses_a_non_certificate() {
        assert!(Certificate::from_pem("hello", "main").is_err());
        assert!(
            Certificate::from_pem(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "main"
            )
            .is_err()
        );
    }
}
