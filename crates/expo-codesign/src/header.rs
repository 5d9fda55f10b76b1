//! The `expo-signature` header value, written and read with `expo-sfv`.

use expo_sfv::Signature;

use crate::Error;

/// Whether `keyid` can be written as an SFV string (printable ASCII).
pub(crate) fn check_keyid(keyid: &str) -> Result<(), Error> {
    if keyid.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Ok(())
    } else {
        Err(Error::InvalidKeyId(keyid.to_owned()))
    }
}

/// `sig="...", keyid="...", alg="..."`.
pub(crate) fn format(sig: String, keyid: &str, alg: &str) -> Result<String, Error> {
    check_keyid(keyid)?;
    Signature {
        sig,
        keyid: Some(keyid.to_owned()),
        alg: Some(alg.to_owned()),
    }
    .try_to_header_value()
    .map_err(|_| Error::InvalidKeyId(keyid.to_owned()))
}

/// Reads an `expo-signature` value: `sig` required, `keyid` and `alg` optional strings.
pub(crate) fn parse(value: &str) -> Result<Signature, Error> {
    Signature::parse(value).map_err(|e| match e {
        expo_sfv::Error::TooLong { len, max } => Error::TooLarge { len, limit: max },
        other => Error::InvalidSignatureHeader(other),
    })
}
