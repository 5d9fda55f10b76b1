//! Loading code-signing keys at startup: a bad key or a certificate that does not match it
//! stops the server with a message naming the file and the problem.

use expo_codesign::{Signer, SignerSet};

use crate::error::{Error, Result};
use crate::settings::{SigningKeyConfig, read_limited};

/// Loads and checks every configured key; `None` when code signing is off.
pub fn load(keys: &[SigningKeyConfig]) -> Result<Option<SignerSet>> {
    let mut set: Option<SignerSet> = None;
    for config in keys {
        let key_pem = read_limited(&config.key)?;
        let cert_pem = config
            .certificate
            .as_deref()
            .map(read_limited)
            .transpose()?;
        let (signer, warnings) =
            Signer::from_pem(config.keyid.as_str(), &key_pem, cert_pem.as_deref()).map_err(
                |source| Error::Signing {
                    keyid: config.keyid.clone(),
                    source,
                },
            )?;
        for warning in warnings {
            tracing::warn!(keyid = %config.keyid, "signing certificate: {warning}");
        }
        if config.certificate.is_none() {
            tracing::info!(keyid = %config.keyid, key = %config.key.display(), "signing key loaded without a certificate: it cannot be checked against the app's certificate");
        }
        match &mut set {
            None => set = Some(SignerSet::new(signer)),
            Some(set) => {
                set.add(signer);
            }
        }
    }
    Ok(set)
}
