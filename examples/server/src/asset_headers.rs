//! What clients send when they download an asset: the manifest's
//! `extensions.assetRequestHeaders` (one entry per asset key, which the client adds to
//! that asset's request).
//!
//! Two kinds, configured per app:
//!
//! - fixed headers, the same on every asset (a key a CDN checks before serving);
//! - a signed token per asset ([`AssetTokens`]), which `/assets/{hash}` checks: without a
//!   valid token for that very hash, before its expiry, the asset is refused.
//!
//! The token is `<expiry>.<signature>`: `expiry` the Unix time (seconds) after which it is
//! refused, `signature` the base64url (no padding) HMAC-SHA256, keyed by the configured
//! secret, of `expo-asset-token:v1:<asset hash, base64url>:<expiry>`. Anything that knows
//! the secret (this server, a CDN edge function) can check it without asking anyone.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use axum::http::{HeaderName, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use expo_manifest::AssetHash;

use crate::error::{Error, Result};

/// The header carrying the token unless another is configured.
pub const DEFAULT_TOKEN_HEADER: &str = "expo-asset-token";

/// How long a token is valid unless configured otherwise. Manifests are rebuilt with fresh
/// tokens after half of it, so a client always has at least half to download.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_hours(24);

/// The shortest secret accepted, in bytes (the HMAC-SHA256 key size).
pub const MIN_SECRET_LEN: usize = 32;

/// The longest token read; a longer value is refused before any work.
const MAX_TOKEN_LEN: usize = 128;

/// What is signed, before the hash and the expiry: names the scheme and its version.
const CONTEXT: &str = "expo-asset-token:v1:";

/// The signed-token scheme of one app: the key, the header name and how long a token lives.
#[derive(Clone)]
pub struct AssetTokens {
    key: hmac::Key,
    header: HeaderName,
    lifetime: Duration,
}

impl fmt::Debug for AssetTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("AssetTokens")
            .field("header", &self.header)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// Why a token was refused (the header was there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not `<expiry>.<signature>`.
    Malformed,
    /// Past its expiry.
    Expired,
    /// The signature is not this server's for this asset and expiry.
    Forged,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::Malformed => "is not a token of this server (<expiry>.<signature>)",
            TokenError::Expired => "has expired: fetch the manifest again",
            TokenError::Forged => "is not valid for this asset",
        })
    }
}

impl AssetTokens {
    /// Tokens signed with `secret` (at least [`MIN_SECRET_LEN`] bytes), sent in `header`
    /// (lower case), valid for `lifetime` (at least two seconds: manifests are rebuilt
    /// after half of it).
    pub fn new(secret: &str, header: &str, lifetime: Duration) -> Result<Self> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(Error::Config(format!(
                "asset-token.secret must be at least {MIN_SECRET_LEN} characters long"
            )));
        }
        if lifetime < Duration::from_secs(2) {
            return Err(Error::Config(
                "asset-token.lifetime must be at least 2s".into(),
            ));
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
            header: header_name("asset-token.header", header)?,
            lifetime,
        })
    }

    /// The header the token travels in.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// How long a token is valid.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The token for `hash` issued at `now`.
    pub fn issue(&self, hash: &AssetHash, now: SystemTime) -> String {
        let expiry = unix_seconds(now).saturating_add(self.lifetime.as_secs());
        self.token(hash, expiry)
    }

    /// The token for `hash` valid until `expiry` (Unix seconds).
    pub fn token(&self, hash: &AssetHash, expiry: u64) -> String {
        let tag = hmac::sign(&self.key, message(hash, expiry).as_bytes());
        format!("{expiry}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Checks the value of the token header for `hash` at `now`; the signature is compared
    /// in constant time.
    pub fn check(
        &self,
        hash: &AssetHash,
        value: &HeaderValue,
        now: SystemTime,
    ) -> std::result::Result<(), TokenError> {
        let bytes = value.as_bytes();
        if bytes.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| TokenError::Malformed)?;
        let (expiry, signature) = text.split_once('.').ok_or(TokenError::Malformed)?;
        if expiry.is_empty() || expiry.len() > 20 || !expiry.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TokenError::Malformed);
        }
        let expiry: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        // The signature first: an expired token says so only when it is genuine.
        hmac::verify(&self.key, message(hash, expiry).as_bytes(), &signature)
            .map_err(|_| TokenError::Forged)?;
        if expiry <= unix_seconds(now) {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

fn message(hash: &AssetHash, expiry: u64) -> String {
    format!("{CONTEXT}{hash}:{expiry}")
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// A configured header name: a valid, lower-case HTTP header name.
fn header_name(setting: &str, name: &str) -> Result<HeaderName> {
    let parsed = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Error::Config(format!("{setting}: {name:?} is not a header name")))?;
    if parsed.as_str() != name {
        return Err(Error::Config(format!(
            "{setting}: write the header name {name:?} in lower case"
        )));
    }
    Ok(parsed)
}

/// No asset request headers: manifests without extensions, assets without a token.
pub static NONE: AssetHeaders = AssetHeaders {
    fixed: BTreeMap::new(),
    tokens: None,
};

/// One app's asset request headers: fixed ones and the optional token.
#[derive(Debug, Clone, Default)]
pub struct AssetHeaders {
    fixed: BTreeMap<String, String>,
    tokens: Option<AssetTokens>,
}

impl AssetHeaders {
    /// `fixed` headers (names lower case, values printable ASCII) on every asset, plus a
    /// token per asset when `tokens` is given.
    pub fn new(fixed: BTreeMap<String, String>, tokens: Option<AssetTokens>) -> Result<Self> {
        for (name, value) in &fixed {
            let parsed = header_name("asset-request-headers", name)?;
            if tokens.as_ref().is_some_and(|t| *t.header() == parsed) {
                return Err(Error::Config(format!(
                    "asset-request-headers: {name:?} is the asset token's header"
                )));
            }
            if value.is_empty() || !value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
                return Err(Error::Config(format!(
                    "asset-request-headers.{name}: the value must be printable ASCII, not empty"
                )));
            }
        }
        Ok(Self { fixed, tokens })
    }

    /// Whether manifests carry no asset request headers.
    pub fn is_empty(&self) -> bool {
        self.fixed.is_empty() && self.tokens.is_none()
    }

    /// The token scheme, when assets need one.
    pub fn tokens(&self) -> Option<&AssetTokens> {
        self.tokens.as_ref()
    }

    /// How long headers built now stay valid: the token lifetime, or forever.
    pub fn lifetime(&self) -> Option<Duration> {
        self.tokens.as_ref().map(AssetTokens::lifetime)
    }

    /// The headers the client sends for the asset `hash`, built at `now`.
    pub fn for_asset(&self, hash: &AssetHash, now: SystemTime) -> BTreeMap<String, String> {
        let mut headers = self.fixed.clone();
        if let Some(tokens) = &self.tokens {
            headers.insert(tokens.header.as_str().to_owned(), tokens.issue(hash, now));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn tokens() -> AssetTokens {
        AssetTokens::new(SECRET, DEFAULT_TOKEN_HEADER, Duration::from_mins(1)).unwrap()
    }

    fn value(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).unwrap()
    }

    #[test]
    fn a_token_is_valid_for_its_hash_until_its_expiry_only() {
        let tokens = tokens();
        let hash = AssetHash::of(b"bundle");
        let now = UNIX_EPOCH + Duration::from_hours(500_000);
        let token = tokens.issue(&hash, now);
        assert!(token.starts_with("1800000060."), "{token}");
        assert_eq!(tokens.check(&hash, &value(&token), now), Ok(()));
        let later = now + Duration::from_secs(59);
        assert_eq!(tokens.check(&hash, &value(&token), later), Ok(()));
        let expired = now + Duration::from_mins(1);
        assert_eq!(
            tokens.check(&hash, &value(&token), expired),
            Err(TokenError::Expired)
        );
        // Another asset, another secret, a moved expiry: forged.
        let other = AssetHash::of(b"image");
        assert_eq!(
            tokens.check(&other, &value(&token), now),
            Err(TokenError::Forged)
        );
        let stranger =
            AssetTokens::new(&SECRET.replace('0', "1"), "x-t", Duration::from_mins(1)).unwrap();
        assert_eq!(
            stranger.check(&hash, &value(&token), now),
            Err(TokenError::Forged)
        );
        let (_, signature) = token.split_once('.').unwrap();
        let extended = format!("1900000000.{signature}");
        assert_eq!(
            tokens.check(&hash, &value(&extended), now),
            Err(TokenError::Forged)
        );
    }

    #[test]
    fn anything_but_a_token_is_malformed() {
        let tokens = tokens();
        let hash = AssetHash::of(b"bundle");
        let now = SystemTime::now();
        let long = "1".repeat(200);
        for bad in [
            "",
            ".",
            "123",
            "abc.def",
            "-1.AAAA",
            "+5.AAAA",
            "1.not base64!",
            "99999999999999999999999.AAAA",
            long.as_str(),
        ] {
            assert_eq!(
                tokens.check(&hash, &value(bad), now),
                Err(TokenError::Malformed),
                "{bad:?}"
            );
        }
        let opaque = HeaderValue::from_bytes(b"1.\xff").unwrap();
        assert_eq!(
            tokens.check(&hash, &opaque, now),
            Err(TokenError::Malformed)
        );
    }

    proptest::proptest! {
        /// Whatever a client sends, the check answers (no panic) and refuses it.
        #[test]
        fn arbitrary_values_are_refused(bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..160)) {
            if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                let refused = tokens().check(&AssetHash::of(b"a"), &value, SystemTime::now());
                proptest::prop_assert!(refused.is_err());
            }
        }
    }

    #[test]
    fn configuration_is_checked() {
        assert!(AssetTokens::new("short", "x-t", Duration::from_mins(1)).is_err());
        assert!(AssetTokens::new(SECRET, "X-Token", Duration::from_mins(1)).is_err());
        assert!(AssetTokens::new(SECRET, "bad header", Duration::from_mins(1)).is_err());
        assert!(AssetTokens::new(SECRET, "x-t", Duration::from_secs(1)).is_err());
        let fixed = |name: &str, value: &str| BTreeMap::from([(name.to_owned(), value.to_owned())]);
        assert!(AssetHeaders::new(fixed("x-cdn-key", "k"), None).is_ok());
        assert!(AssetHeaders::new(fixed("x-cdn-key", "caf\u{e9}"), None).is_err());
        assert!(AssetHeaders::new(fixed("x-cdn-key", ""), None).is_err());
        assert!(AssetHeaders::new(fixed("X-Cdn-Key", "k"), None).is_err());
        let err = AssetHeaders::new(fixed(DEFAULT_TOKEN_HEADER, "k"), Some(tokens())).unwrap_err();
        assert!(err.to_string().contains(DEFAULT_TOKEN_HEADER), "{err}");
        assert!(!format!("{:?}", tokens()).contains(SECRET));
    }

    #[test]
    fn every_asset_gets_the_fixed_headers_and_its_own_token() {
        let headers = AssetHeaders::new(
            BTreeMap::from([("x-cdn-key".to_owned(), "k".to_owned())]),
            Some(tokens()),
        )
        .unwrap();
        let now = SystemTime::now();
        let (a, b) = (AssetHash::of(b"a"), AssetHash::of(b"b"));
        let for_a = headers.for_asset(&a, now);
        assert_eq!(for_a["x-cdn-key"], "k");
        assert_ne!(
            for_a[DEFAULT_TOKEN_HEADER],
            headers.for_asset(&b, now)[DEFAULT_TOKEN_HEADER]
        );
        assert_eq!(headers.lifetime(), Some(Duration::from_mins(1)));
        assert!(AssetHeaders::default().is_empty());
    }
}
