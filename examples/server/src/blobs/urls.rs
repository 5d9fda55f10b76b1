//! Where manifests send clients for asset bytes: this server, presigned S3 URLs, or a CDN.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use expo_manifest::AssetHash;

use super::BlobStore;
use crate::error::{Error, Result};

/// An absolute `http` or `https` base URL, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    url: String,
    scheme: String,
    authority: String,
    path: String,
}

impl PublicUrl {
    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Host and optional port.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The path prefix (empty, or starting with `/`, without a trailing slash).
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl FromStr for PublicUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let invalid = |why: &str| Error::Config(format!("public URL {s:?}: {why}"));
        let uri: http::Uri = s.parse().map_err(|_| invalid("not a URL"))?;
        let scheme = match uri.scheme_str() {
            Some(scheme @ ("http" | "https")) => scheme.to_owned(),
            _ => return Err(invalid("must start with http:// or https://")),
        };
        let authority = uri.authority().ok_or_else(|| invalid("has no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("must not hold credentials"));
        }
        if uri.query().is_some() {
            return Err(invalid("must not have a query"));
        }
        let path = uri.path().trim_end_matches('/').to_owned();
        let authority = authority.as_str().to_owned();
        Ok(Self {
            url: format!("{scheme}://{authority}{path}"),
            scheme,
            authority,
            path,
        })
    }
}

impl PublicUrl {
    /// This URL with one more path segment (`segment` must be a valid path segment, as
    /// [`checked_app_name`](crate::settings::checked_app_name) ensures).
    #[must_use]
    pub fn with_segment(&self, segment: &str) -> Self {
        Self {
            url: format!("{}/{segment}", self.url),
            scheme: self.scheme.clone(),
            authority: self.authority.clone(),
            path: format!("{}/{segment}", self.path),
        }
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// How asset URLs in manifests are built.
///
/// - [`AssetUrls::Server`]: `{public URL}/assets/{hex}`, served (streamed from the blob
///   store) by this server, with `accept-encoding` negotiation, `ETag`s and ranges.
/// - [`AssetUrls::Presigned`]: a presigned GET of the identity object, valid for `expiry`;
///   the bytes never pass through this server, but are not precompressed either (a URL
///   names one object, and the request's `accept-encoding` is not known when it is signed).
/// - [`AssetUrls::Cdn`]: `{cdn}/{hex}`; the CDN fetches from the bucket and must map
///   encodings itself: for `accept-encoding: br` fetch `{hex}.br`, for `gzip` `{hex}.gz`,
///   falling back to `{hex}`, and `vary` on `accept-encoding` (the objects carry their
///   `content-type`, `content-encoding` and a one-year immutable `cache-control`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AssetUrls {
    /// Through this server.
    #[default]
    Server,
    /// Presigned URLs of the blob store.
    Presigned {
        /// How long each URL stays valid.
        expiry: Duration,
    },
    /// Under a CDN in front of the bucket.
    Cdn {
        /// The CDN URL of the blob prefix.
        base: PublicUrl,
    },
}

impl AssetUrls {
    /// How long the URLs stay valid; `None` when they never expire.
    pub fn lifetime(&self) -> Option<Duration> {
        match self {
            Self::Presigned { expiry } => Some(*expiry),
            Self::Server | Self::Cdn { .. } => None,
        }
    }

    /// The URL of the asset `hash` in a manifest; `server_base` is this server's public URL
    /// (as seen by the request, without a trailing slash).
    pub async fn url(
        &self,
        blobs: &dyn BlobStore,
        server_base: &str,
        hash: &AssetHash,
    ) -> Result<String> {
        match self {
            Self::Server => Ok(format!("{server_base}/assets/{}", hash.to_hex())),
            Self::Cdn { base } => Ok(format!("{base}/{}", hash.to_hex())),
            Self::Presigned { expiry } => blobs
                .presigned_url(hash, *expiry)
                .await?
                .ok_or_else(|| Error::Config("presigned asset URLs need S3 blob storage".into())),
        }
    }
}

/// A duration written `30s`, `15m`, `1h` or `30d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct HumanDuration(pub Duration);

impl TryFrom<String> for HumanDuration {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("{s:?}: expected a number and s, m, h or d (like 1h)"))?;
        let seconds = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(format!("{s:?}: the unit must be s, m, h or d (like 1h)")),
        };
        number
            .checked_mul(seconds)
            .map(|secs| Self(Duration::from_secs(secs)))
            .ok_or_else(|| format!("{s:?} is too long"))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
            if secs >= size && secs.is_multiple_of(size) {
                return write!(f, "{}{unit}", secs / size);
            }
        }
        write!(f, "{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::LocalBlobStore;

    #[test]
    fn durations_parse_and_print() {
        for (text, secs) in [("90s", 90), ("15m", 900), ("1h", 3600), ("30d", 2_592_000)] {
            let parsed: HumanDuration = text.parse().unwrap();
            assert_eq!(parsed.0.as_secs(), secs);
            assert_eq!(parsed.to_string(), text);
        }
        assert_eq!("120m".parse::<HumanDuration>().unwrap().to_string(), "2h");
        for bad in ["", "h", "1", "1w", "-1h", "1.5h", "99999999999999999999d"] {
            assert!(bad.parse::<HumanDuration>().is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn urls_per_mode() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalBlobStore::open(dir.path()).unwrap();
        let hash = AssetHash::of(b"hello");
        let hex = hash.to_hex();
        let base = "https://updates.example.com";
        assert_eq!(
            AssetUrls::Server.url(&local, base, &hash).await.unwrap(),
            format!("{base}/assets/{hex}")
        );
        let cdn = AssetUrls::Cdn {
            base: "https://cdn.example.com/prefix/".parse().unwrap(),
        };
        assert_eq!(
            cdn.url(&local, base, &hash).await.unwrap(),
            format!("https://cdn.example.com/prefix/{hex}")
        );
        let presigned = AssetUrls::Presigned {
            expiry: Duration::from_hours(1),
        };
        assert!(presigned.url(&local, base, &hash).await.is_err());
    }
}
