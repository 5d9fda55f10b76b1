//! Multipart boundaries (RFC 2046 §5.1.1) and reading them from `content-type`.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rand::RngCore as _;

use crate::error::{Error, Result};
use crate::params;

/// Longest boundary RFC 2046 allows.
pub const MAX_BOUNDARY_LEN: usize = 70;

/// Length of [`Boundary::random`] boundaries: 32 characters from a
/// 64-character alphabet carry 192 bits from the CSPRNG.
const RANDOM_LEN: usize = 32;

/// The URL-safe base64 alphabet: RFC 2046 boundary characters that are also
/// RFC 9110 token characters, so the boundary never needs quoting.
const RANDOM_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A validated multipart boundary.
///
/// RFC 2046 §5.1.1:
///
/// ```text
/// boundary      := 0*69<bchars> bcharsnospace
/// bchars        := bcharsnospace / " "
/// bcharsnospace := DIGIT / ALPHA / "'" / "(" / ")" / "+" / "_"
///                  / "," / "-" / "." / "/" / ":" / "=" / "?"
/// ```
///
/// # Examples
///
/// ```
/// use expo_multipart::Boundary;
///
/// let boundary = Boundary::new("expo-0123")?;
/// assert_eq!(boundary.as_str(), "expo-0123");
/// assert!(Boundary::new("line\nbreak").is_err());
/// assert_eq!(Boundary::random().as_str().len(), 32);
/// # Ok::<(), expo_multipart::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Boundary(Arc<str>);

impl Boundary {
    /// Validates `boundary` against the RFC 2046 rules.
    pub fn new(boundary: &str) -> Result<Self> {
        validate(boundary)?;
        Ok(Self(boundary.into()))
    }

    /// A fresh boundary of 32 characters (`A-Z a-z 0-9 - _`, 192 bits) from
    /// the thread-local CSPRNG ([`rand::rng`]).
    pub fn random() -> Self {
        let mut bytes = [0_u8; RANDOM_LEN];
        rand::rng().fill_bytes(&mut bytes);
        let boundary: String = bytes
            .iter()
            .map(|&b| char::from(RANDOM_ALPHABET[usize::from(b & 63)]))
            .collect();
        Self(boundary.into())
    }

    /// The boundary text, without the leading `--`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `--boundary`, the bytes that open every delimiter line.
    pub(crate) fn dash_boundary(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() + 2);
        out.extend_from_slice(b"--");
        out.extend_from_slice(self.0.as_bytes());
        out
    }

    /// Whether the `content-type` parameter must be a quoted string, as for a
    /// boundary with spaces or RFC 2045 `tspecials` such as `:` or `/`.
    pub(crate) fn needs_quotes(&self) -> bool {
        !self.0.bytes().all(params::is_tchar)
    }
}

fn is_bchar_nospace(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"'()+_,-./:=?".contains(&b)
}

fn validate(boundary: &str) -> Result<()> {
    let invalid = |reason| Err(Error::InvalidBoundary { reason });
    let bytes = boundary.as_bytes();
    match bytes.last() {
        None => invalid("empty"),
        Some(_) if bytes.len() > MAX_BOUNDARY_LEN => invalid("longer than 70 characters"),
        Some(b' ') => invalid("ends with a space"),
        Some(_) if !bytes.iter().all(|&b| b == b' ' || is_bchar_nospace(b)) => {
            invalid("character outside the RFC 2046 boundary set")
        }
        Some(_) => Ok(()),
    }
}

impl fmt::Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Boundary").field(&&*self.0).finish()
    }
}

impl FromStr for Boundary {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Boundary {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl AsRef<str> for Boundary {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Reads the boundary from a `multipart/*` `content-type` value.
///
/// The media type must be `multipart/<subtype>` (any subtype, so
/// `multipart/form-data` bodies read too); the `boundary` parameter may be a
/// token or a quoted string and must appear exactly once.
///
/// # Examples
///
/// ```
/// use expo_multipart::parse_boundary;
///
/// let boundary = parse_boundary("multipart/mixed; boundary=\"a:b c\"")?;
/// assert_eq!(boundary.as_str(), "a:b c");
/// assert_eq!(parse_boundary("Multipart/Mixed;Boundary=xyz")?.as_str(), "xyz");
/// assert!(parse_boundary("application/json").is_err());
/// # Ok::<(), expo_multipart::Error>(())
/// ```
pub fn parse_boundary(content_type: &str) -> Result<Boundary> {
    let invalid = |reason| Error::InvalidContentType { reason };
    let (ty, _subtype, rest) = params::media_type(content_type).map_err(invalid)?;
    if !ty.eq_ignore_ascii_case("multipart") {
        return Err(invalid("not a multipart media type"));
    }
    let boundary = params::find(rest, "boundary")
        .map_err(invalid)?
        .ok_or(Error::MissingBoundary)?;
    Boundary::new(&boundary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_rfc_character_set() {
        for ok in [
            "a",
            "simple boundary",
            "'()+_,-./:=?",
            "gc0p4Jq0M2Yt08jU534c0p",
            &"x".repeat(70),
        ] {
            assert!(Boundary::new(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn rejects_outside_the_rfc_rules() {
        for bad in [
            "",
            "trailing ",
            &"x".repeat(71),
            "semi;colon",
            "quo\"te",
            "back\\slash",
            "new\nline",
            "caf\u{e9}",
            "tab\tx",
        ] {
            assert!(
                matches!(Boundary::new(bad), Err(Error::InvalidBoundary { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn random_boundaries_are_valid_and_distinct() {
        let a = Boundary::random();
        let b = Boundary::random();
        assert_ne!(a, b);
        assert!(Boundary::new(a.as_str()).is_ok());
        assert!(!a.needs_quotes());
    }

    #[test]
    fn quoting_is_needed_for_tspecials_and_space() {
        assert!(Boundary::new("a b").unwrap().needs_quotes());
        assert!(Boundary::new("a:b").unwrap().needs_quotes());
        assert!(!Boundary::new("a-b_c.d'e+").unwrap().needs_quotes());
    }

    #[test]
    fn parse_boundary_errors_are_specific() {
        assert!(matches!(
            parse_boundary("multipart/mixed"),
            Err(Error::MissingBoundary)
        ));
        assert!(matches!(
            parse_boundary("text/plain; boundary=x"),
            Err(Error::InvalidContentType { .. })
        ));
        assert!(matches!(
            parse_boundary("multipart/mixed; boundary=a; boundary=b"),
            Err(Error::InvalidContentType { .. })
        ));
        assert!(matches!(
            parse_boundary("multipart/mixed; boundary=\"\""),
            Err(Error::InvalidBoundary { .. })
        ));
        assert!(matches!(
            parse_boundary("multipart/mixed; boundary=\"ends \""),
            Err(Error::InvalidBoundary { .. })
        ));
    }

    #[test]
    fn parse_boundary_reads_form_data_package_output() {
        let ct = "multipart/form-data; boundary=--------------------------123456789012345678901234";
        assert_eq!(parse_boundary(ct).map(|b| b.as_str().len()).ok(), Some(50));
    }
}
