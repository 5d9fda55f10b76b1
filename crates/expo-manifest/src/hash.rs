use std::{
    fmt,
    io::{self, Read},
    str::FromStr,
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::{Error, platform::truncated};

/// The SHA-256 of an asset's bytes, written as unpadded base64url: the
/// manifest's `hash` field, which every client verifies after download.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetHash([u8; 32]);

/// Characters of a 32-byte value in unpadded base64.
const ENCODED_LEN: usize = 43;

impl AssetHash {
    /// Hashes bytes held in memory.
    pub fn of(bytes: &[u8]) -> Self {
        AssetHash(Sha256::digest(bytes).into())
    }

    /// Hashes everything a reader yields, 64 KiB at a time.
    pub fn from_reader(mut reader: impl Read) -> io::Result<Self> {
        let mut hasher = AssetHasher::new();
        let mut buf = vec![0; 64 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Ok(hasher.finalize()),
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Wraps a digest computed elsewhere.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        AssetHash(bytes)
    }

    /// The raw digest.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex: a file name for content-addressed storage, an `ETag`.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(64);
        for b in self.0 {
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0xf)]));
        }
        out
    }

    /// Parses 64 hex digits (either case), the inverse of [`to_hex`](Self::to_hex).
    pub fn from_hex(s: &str) -> Option<Self> {
        fn nibble(b: u8) -> Option<u8> {
            match b {
                b'0'..=b'9' => Some(b - b'0'),
                b'a'..=b'f' => Some(b - b'a' + 10),
                b'A'..=b'F' => Some(b - b'A' + 10),
                _ => None,
            }
        }
        let s = s.as_bytes();
        if s.len() != 64 {
            return None;
        }
        let mut out = [0; 32];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
        }
        Some(AssetHash(out))
    }
}

impl fmt::Display for AssetHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0; ENCODED_LEN];
        let n = URL_SAFE_NO_PAD
            .encode_slice(self.0, &mut buf)
            .map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for AssetHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AssetHash({self})")
    }
}

impl FromStr for AssetHash {
    type Err = Error;

    /// Strict: 43 characters of the URL-safe alphabet, no padding, and no
    /// stray bits in the last character (one digest, one spelling).
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.ends_with('=') {
            return Err(Error::PaddedHash(truncated(s)));
        }
        if s.len() != ENCODED_LEN {
            return Err(Error::HashLength(truncated(s), s.chars().count()));
        }
        let mut out = [0; 32];
        match URL_SAFE_NO_PAD.decode_slice(s, &mut out) {
            Ok(32) => Ok(AssetHash(out)),
            _ => Err(Error::HashEncoding(truncated(s))),
        }
    }
}

impl Serialize for AssetHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AssetHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Computes an [`AssetHash`] over data that arrives in pieces.
#[derive(Clone, Default)]
pub struct AssetHasher(Sha256);

impl AssetHasher {
    /// An empty hasher.
    pub fn new() -> Self {
        AssetHasher(Sha256::new())
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The hash of everything fed.
    pub fn finalize(self) -> AssetHash {
        AssetHash(self.0.finalize().into())
    }
}

impl fmt::Debug for AssetHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AssetHasher")
    }
}

impl io::Write for AssetHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // `printf 'hello' | openssl dgst -sha256 -binary | basenc --base64url`
    const HELLO: &str = "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ";

    #[test]
    fn known_vector() {
        assert_eq!(AssetHash::of(b"hello").to_string(), HELLO);
        assert_eq!(HELLO.parse::<AssetHash>().unwrap(), AssetHash::of(b"hello"));
        assert_eq!(
            AssetHash::of(b"hello").to_hex(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }

    #[test]
    fn incremental_and_reader_agree() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut h = AssetHasher::new();
        for chunk in data.chunks(777) {
            h.update(chunk);
        }
        assert_eq!(h.finalize(), AssetHash::of(&data));
        assert_eq!(
            AssetHash::from_reader(&data[..]).unwrap(),
            AssetHash::of(&data)
        );
    }

    #[test]
    fn hex_round_trips() {
        let h = AssetHash::of(b"x");
        assert_eq!(AssetHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(AssetHash::from_hex(&h.to_hex().to_uppercase()), Some(h));
        assert_eq!(AssetHash::from_hex("zz"), None);
        assert_eq!(AssetHash::from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn malformed_hashes_get_distinct_errors() {
        assert!(matches!(
            format!("{HELLO}=").parse::<AssetHash>(),
            Err(Error::PaddedHash(_))
        ));
        assert!(matches!(
            HELLO[1..].parse::<AssetHash>(),
            Err(Error::HashLength(_, 42))
        ));
        assert!(matches!(
            format!("{HELLO}A").parse::<AssetHash>(),
            Err(Error::HashLength(_, 44))
        ));
        // standard-alphabet characters are not base64url
        let plus = HELLO.replace('-', "+");
        assert!(matches!(
            plus.parse::<AssetHash>(),
            Err(Error::HashEncoding(_))
        ));
        // the last character carries 2 unused bits: 'R' sets one of them
        let stray = format!("{}R", &HELLO[..42]);
        assert!(matches!(
            stray.parse::<AssetHash>(),
            Err(Error::HashEncoding(_))
        ));
        assert!("é".repeat(22).parse::<AssetHash>().is_err());
    }
}
