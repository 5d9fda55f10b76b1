//! The `expo-signature` header value.

use crate::Error;

/// Fields of an `expo-signature` value.
pub(crate) struct SignatureFields {
    pub(crate) sig: String,
    pub(crate) keyid: Option<String>,
    pub(crate) alg: Option<String>,
}

/// Longest header value accepted: a 4096-bit signature is 684 base64 characters.
pub(crate) const MAX_HEADER_LEN: usize = 8 * 1024;

pub(crate) fn check_keyid(keyid: &str) -> Result<(), Error> {
    if keyid.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Ok(())
    } else {
        Err(Error::InvalidKeyId(keyid.to_owned()))
    }
}

pub(crate) fn format(sig: &str, keyid: &str, alg: &str) -> Result<String, Error> {
    check_keyid(keyid)?;
    let mut out = String::with_capacity(sig.len() + keyid.len() + alg.len() + 24);
    out.push_str("sig=\"");
    out.push_str(sig);
    out.push_str("\", keyid=\"");
    for c in keyid.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("\", alg=\"");
    out.push_str(alg);
    out.push('"');
    Ok(out)
}

pub(crate) fn parse(value: &str) -> Result<SignatureFields, Error> {
    if value.len() > MAX_HEADER_LEN {
        return Err(Error::TooLarge {
            len: value.len(),
            limit: MAX_HEADER_LEN,
        });
    }
    let invalid = |why: &str| Error::InvalidSignatureHeader(why.to_owned());
    let dict = sfv::Parser::new(value)
        .parse::<sfv::Dictionary>()
        .map_err(|e| Error::InvalidSignatureHeader(e.to_string()))?;
    let mut fields = SignatureFields {
        sig: String::new(),
        keyid: None,
        alg: None,
    };
    let mut has_sig = false;
    for (key, entry) in &dict {
        let sfv::ListEntry::Item(item) = entry else {
            return Err(invalid("inner lists are not allowed"));
        };
        let string = || {
            item.bare_item
                .as_string()
                .map(|s| s.as_str().to_owned())
                .ok_or_else(|| invalid("values must be strings"))
        };
        match key.as_str() {
            "sig" => {
                fields.sig = string()?;
                has_sig = true;
            }
            "keyid" => fields.keyid = Some(string()?),
            "alg" => fields.alg = Some(string()?),
            _ => {}
        }
    }
    if !has_sig {
        return Err(invalid("missing sig"));
    }
    Ok(fields)
}
