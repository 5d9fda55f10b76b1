//! The types of stored metadata.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The platform an update is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// iOS.
    Ios,
    /// Android.
    Android,
}

impl Platform {
    /// Both platforms, in a stable order.
    pub const ALL: [Self; 2] = [Self::Ios, Self::Android];

    /// `ios` or `android`, as in `expo-platform`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ios => "ios",
            Self::Android => "android",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ios" => Ok(Self::Ios),
            "android" => Ok(Self::Android),
            other => Err(Error::Invalid(format!(
                "unknown platform {other:?} (expected ios or android)"
            ))),
        }
    }
}

/// What an update row serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateKind {
    /// A manifest with a launch asset and assets.
    Update,
    /// The `rollBackToEmbedded` directive, with `created_at` as its commit time.
    RollbackToEmbedded,
}

impl UpdateKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Update => "update",
            Self::RollbackToEmbedded => "rollback_to_embedded",
        }
    }
}

impl fmt::Display for UpdateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UpdateKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "update" => Ok(Self::Update),
            "rollback_to_embedded" => Ok(Self::RollbackToEmbedded),
            other => Err(Error::Corrupt(format!("unknown update kind {other:?}"))),
        }
    }
}

/// The SHA-256 of a blob's identity bytes, as 64 lower-case hex digits: the blob's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlobHash(String);

impl BlobHash {
    /// Hashes `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_digest(&Sha256::digest(bytes).into())
    }

    /// The hash of a SHA-256 digest.
    pub fn from_digest(digest: &[u8; 32]) -> Self {
        use fmt::Write as _;
        let mut hex = String::with_capacity(64);
        for byte in digest {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
        }
        Self(hex)
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The raw digest.
    pub fn digest(&self) -> [u8; 32] {
        let mut out = [0; 32];
        for (i, pair) in self.0.as_bytes().chunks_exact(2).enumerate() {
            out[i] = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
        }
        out
    }

    /// The manifest spelling: base64url of the digest, without padding.
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.digest())
    }

    /// Parses the manifest spelling (base64url of the digest, without padding).
    pub fn from_base64url(s: &str) -> Result<Self> {
        if s.len() != 43 {
            return Err(Error::Invalid(format!("not a base64url SHA-256: {s:?}")));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| Error::Invalid(format!("not a base64url SHA-256: {s:?}")))?;
        let digest: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::Invalid(format!("not a base64url SHA-256: {s:?}")))?;
        Ok(Self::from_digest(&digest))
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        // Only lower-case digits pass validation.
        _ => digit - b'a' + 10,
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for BlobHash {
    type Err = Error;

    /// Accepts 64 hex digits (either case) or the 43-character base64url form.
    fn from_str(s: &str) -> Result<Self> {
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Self(s.to_ascii_lowercase()));
        }
        Self::from_base64url(s)
            .map_err(|_| Error::Invalid(format!("not a SHA-256 hash (hex or base64url): {s:?}")))
    }
}

impl TryFrom<String> for BlobHash {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<BlobHash> for String {
    fn from(hash: BlobHash) -> Self {
        hash.0
    }
}

/// The (app, channel, runtime version, platform) an update is served to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Scope {
    /// The app (one server can serve several).
    pub app: String,
    /// The channel (`expo-channel-name`).
    pub channel: String,
    /// The runtime version (`expo-runtime-version`).
    pub runtime_version: String,
    /// The platform (`expo-platform`).
    pub platform: Platform,
}

impl Scope {
    /// A scope, checking every name.
    pub fn new(
        app: &str,
        channel: &str,
        runtime_version: &str,
        platform: Platform,
    ) -> Result<Self> {
        Ok(Self {
            app: checked_name("app", app)?,
            channel: checked_name("channel", channel)?,
            runtime_version: checked_name("runtime version", runtime_version)?,
            platform,
        })
    }
}

/// Longest app, channel or runtime version name.
pub const MAX_NAME_LEN: usize = 255;

/// Checks an app, channel or runtime version name: 1 to 255 visible ASCII characters.
pub fn checked_name(what: &str, value: &str) -> Result<String> {
    if value.is_empty() || value.len() > MAX_NAME_LEN {
        return Err(Error::Invalid(format!(
            "{what} must be 1 to {MAX_NAME_LEN} characters long"
        )));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(Error::Invalid(format!(
            "{what} {value:?} has characters other than visible ASCII"
        )));
    }
    Ok(value.to_owned())
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "app {}, channel {}, runtime {}, {}",
            self.app, self.channel, self.runtime_version, self.platform
        )
    }
}

/// A stored blob: identity bytes plus the precompressed variants that were smaller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRecord {
    /// Its address.
    pub hash: BlobHash,
    /// Size of the identity bytes.
    pub size: u64,
    /// The media type it is served with.
    pub content_type: String,
    /// Size of the gzip variant, when stored.
    pub gzip_size: Option<u64>,
    /// Size of the brotli variant, when stored.
    pub br_size: Option<u64>,
}

/// An asset of an update, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateAsset {
    /// The blob holding its bytes.
    pub hash: BlobHash,
    /// The asset key (the export's MD5 of the file).
    pub key: String,
    /// Its media type.
    pub content_type: String,
    /// Its extension with the leading dot; `None` for the launch asset.
    pub file_extension: Option<String>,
}

/// An update without its assets: what listings show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateInfo {
    /// The update id (the manifest `id`, lower-case).
    pub id: Uuid,
    /// Where it is served.
    #[serde(flatten)]
    pub scope: Scope,
    /// Manifest or rollback-to-embedded directive.
    pub kind: UpdateKind,
    /// Milliseconds since the Unix epoch: `createdAt` (or the directive's `commitTime`).
    pub created_at: i64,
    /// The publisher's message.
    pub message: Option<String>,
    /// Updates registered together share a group id.
    pub group_id: Uuid,
    /// The share of devices it is served to, 0 to 100.
    pub rollout_percent: u8,
    /// The update whose assets it copies.
    pub republished_from: Option<Uuid>,
    /// Its number of assets, the launch asset included.
    pub asset_count: u32,
    /// Insertion order, tie-breaker between equal `created_at`.
    #[serde(skip)]
    pub seq: i64,
}

impl UpdateInfo {
    /// `created_at` in the manifest spelling (`2024-01-02T03:04:05.678Z`).
    pub fn created_at_iso(&self) -> String {
        iso_millis(self.created_at)
    }
}

/// Formats milliseconds since the epoch like JavaScript's `Date.prototype.toISOString`.
pub fn iso_millis(millis: i64) -> String {
    match jiff::Timestamp::from_millisecond(millis) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => format!("invalid time {millis}"),
    }
}

/// An update with its assets and manifest fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// The row.
    #[serde(flatten)]
    pub info: UpdateInfo,
    /// The launch asset (the JS bundle); `None` for a rollback to embedded.
    pub launch_asset: Option<UpdateAsset>,
    /// The other assets.
    pub assets: Vec<UpdateAsset>,
    /// Manifest `metadata`.
    pub metadata: Map<String, Value>,
    /// Manifest `extra` (holds `expoClient`).
    pub extra: Map<String, Value>,
}

/// An update to register; the store assigns `created_at` and the insertion order.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUpdate {
    /// The new id.
    pub id: Uuid,
    /// Where it is served.
    pub scope: Scope,
    /// Manifest or directive.
    pub kind: UpdateKind,
    /// The publisher's message.
    pub message: Option<String>,
    /// Shared by the updates of one operation.
    pub group_id: Uuid,
    /// The launch asset; required for [`UpdateKind::Update`].
    pub launch_asset: Option<UpdateAsset>,
    /// The other assets.
    pub assets: Vec<UpdateAsset>,
    /// Manifest `metadata`.
    pub metadata: Map<String, Value>,
    /// Manifest `extra`.
    pub extra: Map<String, Value>,
    /// 0 to 100.
    pub rollout_percent: u8,
    /// The update it copies.
    pub republished_from: Option<Uuid>,
}

impl NewUpdate {
    /// A copy of `source` under a new id and group, possibly in another channel.
    pub fn copy_of(source: &Update, scope: Scope, group_id: Uuid, message: Option<String>) -> Self {
        Self {
            id: Uuid::new_v4(),
            scope,
            kind: source.info.kind,
            message,
            group_id,
            launch_asset: source.launch_asset.clone(),
            assets: source.assets.clone(),
            metadata: source.metadata.clone(),
            extra: source.extra.clone(),
            rollout_percent: 100,
            republished_from: Some(source.info.id),
        }
    }
}

/// Which updates to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateFilter {
    /// Only this app.
    pub app: Option<String>,
    /// Only this channel.
    pub channel: Option<String>,
    /// Only this runtime version.
    pub runtime_version: Option<String>,
    /// Only this platform.
    pub platform: Option<Platform>,
    /// Only updates older than this `(created_at, seq)` position.
    pub before: Option<(i64, i64)>,
    /// At most this many (newest first).
    pub limit: u32,
}

impl UpdateFilter {
    /// The updates of one scope.
    pub fn scope(scope: &Scope, limit: u32) -> Self {
        Self {
            app: Some(scope.app.clone()),
            channel: Some(scope.channel.clone()),
            runtime_version: Some(scope.runtime_version.clone()),
            platform: Some(scope.platform),
            before: None,
            limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_hash_round_trips_hex_and_base64url() {
        let hash = BlobHash::of(b"hello");
        assert_eq!(
            hash.as_str(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let b64 = hash.to_base64url();
        assert_eq!(b64, "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ");
        assert_eq!(BlobHash::from_base64url(&b64).unwrap(), hash);
        assert_eq!(b64.parse::<BlobHash>().unwrap(), hash);
        assert_eq!(
            hash.as_str().to_uppercase().parse::<BlobHash>().unwrap(),
            hash
        );
    }

    #[test]
    fn blob_hash_rejects_garbage() {
        for bad in [
            "",
            "zz",
            &"g".repeat(64),
            &"a".repeat(63),
            "../../etc/passwd",
            &"A".repeat(44),
        ] {
            assert!(bad.parse::<BlobHash>().is_err(), "{bad}");
        }
    }

    #[test]
    fn iso_millis_matches_javascript() {
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_millis(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn platform_and_kind_parse_their_display() {
        for p in Platform::ALL {
            assert_eq!(p.to_string().parse::<Platform>().unwrap(), p);
        }
        assert!("web".parse::<Platform>().is_err());
        for k in [UpdateKind::Update, UpdateKind::RollbackToEmbedded] {
            assert_eq!(k.to_string().parse::<UpdateKind>().unwrap(), k);
        }
    }
}
