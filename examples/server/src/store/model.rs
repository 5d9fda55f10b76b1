//! The types of stored metadata.

use std::fmt;
use std::str::FromStr;

pub use expo_manifest::{AssetHash, Platform};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result};

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

/// Parses an asset hash in either spelling: 64 hex digits (the storage name) or 43
/// characters of unpadded base64url (the manifest's `hash`).
pub fn parse_asset_hash(s: &str) -> Result<AssetHash> {
    AssetHash::from_hex(s)
        .map_or_else(|| s.parse::<AssetHash>(), Ok)
        .map_err(|_| {
            let shown: String = s.chars().take(80).collect();
            Error::Invalid(format!("not a SHA-256 hash (hex or base64url): {shown:?}"))
        })
}

/// The app of updates published, served and listed without naming one (the other apps are
/// served under `/{app}/`).
pub const DEFAULT_APP: &str = "default";

/// The (app, channel, runtime version, platform) an update is served to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Scope {
    /// The app (one server can serve several).
    pub app: String,
    /// The branch: the stream of updates a channel (`expo-channel-name`) serves. A channel
    /// without a configuration serves the branch of its own name (see
    /// [`super::channels`]), hence the name of this field.
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

impl Scope {
    /// The four parts, borrowed: what a [`ScopeKey`] hashes and compares.
    pub fn parts(&self) -> ScopeParts<'_> {
        (
            &self.app,
            &self.channel,
            &self.runtime_version,
            self.platform,
        )
    }
}

/// (app, channel, runtime version, platform), borrowed.
pub type ScopeParts<'a> = (&'a str, &'a str, &'a str, Platform);

/// A scope as a map key, owned ([`Scope`]) or borrowed from a request ([`ScopeParts`]):
/// maps keyed by `Scope` are searched with the request's text, no `String` built.
pub trait ScopeKey {
    /// The four parts.
    fn parts(&self) -> ScopeParts<'_>;
}

impl ScopeKey for Scope {
    fn parts(&self) -> ScopeParts<'_> {
        Scope::parts(self)
    }
}

impl ScopeKey for ScopeParts<'_> {
    fn parts(&self) -> ScopeParts<'_> {
        *self
    }
}

impl<'a> std::borrow::Borrow<dyn ScopeKey + 'a> for Scope {
    fn borrow(&self) -> &(dyn ScopeKey + 'a) {
        self
    }
}

// `Borrow` requires the owned and the borrowed forms to hash alike: both hash the parts.
impl std::hash::Hash for Scope {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl std::hash::Hash for dyn ScopeKey + '_ {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn ScopeKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn ScopeKey + '_ {}

/// Longest app, channel or runtime version name.
pub const MAX_NAME_LEN: usize = expo_updates::MAX_NAME_LEN;

/// Checks an app, channel or runtime version name with the protocol layer's rule
/// ([`expo_updates::check_name`]: 1 to 255 bytes of printable ASCII), so every channel a
/// manifest request can carry is one the store accepts.
pub fn checked_name(what: &'static str, value: &str) -> Result<String> {
    match expo_updates::check_name(value) {
        Ok(()) => Ok(value.to_owned()),
        Err(source) => Err(Error::InvalidName {
            what,
            shown: value.chars().take(80).collect(),
            source,
        }),
    }
}

/// Longest message kept with an update.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// Checks a message kept with an update: at most [`MAX_MESSAGE_LEN`] bytes and no NUL
/// (`PostgreSQL` refuses NUL in text; `SQLite` would keep it, so both refuse it here).
pub fn checked_message(message: &str) -> Result<()> {
    if message.len() > MAX_MESSAGE_LEN {
        return Err(Error::Invalid(format!(
            "message: at most {MAX_MESSAGE_LEN} bytes"
        )));
    }
    if message.contains('\0') {
        return Err(Error::Invalid("message: contains NUL".into()));
    }
    Ok(())
}

impl UpdateAsset {
    /// Checks what a client sent for this asset with the rule of names
    /// ([`checked_name`]): on failure, the member at fault (`key`, `content_type`,
    /// `file_extension`) and why.
    pub fn checked(&self) -> std::result::Result<(), Box<(&'static str, Error)>> {
        let check = |member: &'static str, what: &'static str, value: &str| {
            checked_name(what, value).map_err(|e| Box::new((member, e)))
        };
        check("key", "asset key", &self.key)?;
        check("content_type", "asset content type", &self.content_type)?;
        if let Some(extension) = &self.file_extension {
            check("file_extension", "asset file extension", extension)?;
        }
        Ok(())
    }
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
    pub hash: AssetHash,
    /// Size of the identity bytes.
    pub size: u64,
    /// The media type it is served with.
    pub content_type: String,
    /// Size of the gzip variant, when stored.
    pub gzip_size: Option<u64>,
    /// Size of the brotli variant, when stored.
    pub br_size: Option<u64>,
}

/// What became of one (base, target) pair of launch assets: the patch turning the base
/// bundle into the target bundle, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchRecord {
    /// The launch asset the patch applies to.
    pub base: AssetHash,
    /// The launch asset the patch produces.
    pub target: AssetHash,
    /// Stored, or why not.
    pub outcome: PatchOutcome,
}

/// Whether a patch is served, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum PatchOutcome {
    /// Verified and kept: its bytes are the blob `hash` (BSDIFF40, `size` bytes).
    Stored {
        /// The address of the patch bytes in the blob store.
        hash: AssetHash,
        /// Their size.
        size: u64,
    },
    /// Built, but larger than half the compressed bundle: the full bundle is served.
    NotWorthServing {
        /// The size the patch had.
        size: u64,
    },
    /// Not built: an input over the size limit, a build error or a timeout.
    Failed {
        /// Why, for operators.
        detail: String,
    },
}

impl PatchOutcome {
    /// The stored spelling (`stored`, `not_worth_serving`, `failed`), also the metric label.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Stored { .. } => "stored",
            Self::NotWorthServing { .. } => "not_worth_serving",
            Self::Failed { .. } => "failed",
        }
    }
}

/// `outcome`, `patch_hash` (hex), `size` and `detail` of a `patches` row.
pub type PatchColumns<'a> = (&'static str, Option<String>, Option<i64>, Option<&'a str>);

impl PatchRecord {
    /// The row's `outcome`, `patch_hash`, `size` and `detail` columns.
    pub fn columns(&self) -> Result<PatchColumns<'_>> {
        let size = |size: u64| {
            i64::try_from(size).map_err(|_| Error::Invalid(format!("patch size {size}")))
        };
        Ok(match &self.outcome {
            PatchOutcome::Stored { hash, size: len } => {
                ("stored", Some(hash.to_hex()), Some(size(*len)?), None)
            }
            PatchOutcome::NotWorthServing { size: len } => {
                ("not_worth_serving", None, Some(size(*len)?), None)
            }
            PatchOutcome::Failed { detail } => ("failed", None, None, Some(detail.as_str())),
        })
    }

    /// A record read back from its columns.
    pub fn from_columns(
        base: AssetHash,
        target: AssetHash,
        outcome: &str,
        patch_hash: Option<&str>,
        size: Option<i64>,
        detail: Option<String>,
    ) -> Result<Self> {
        let corrupt = || Error::Corrupt(format!("patch {base} -> {target}: {outcome} row"));
        let size = || size.and_then(|s| u64::try_from(s).ok()).ok_or_else(corrupt);
        let outcome = match outcome {
            "stored" => PatchOutcome::Stored {
                hash: patch_hash
                    .and_then(AssetHash::from_hex)
                    .ok_or_else(corrupt)?,
                size: size()?,
            },
            "not_worth_serving" => PatchOutcome::NotWorthServing { size: size()? },
            "failed" => PatchOutcome::Failed {
                detail: detail.unwrap_or_default(),
            },
            _ => return Err(corrupt()),
        };
        Ok(Self {
            base,
            target,
            outcome,
        })
    }
}

/// An asset of an update, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateAsset {
    /// The blob holding its bytes.
    pub hash: AssetHash,
    /// The asset key (the export's MD5 of the file).
    pub key: String,
    /// Its media type.
    pub content_type: String,
    /// Its extension with the leading dot; `None` for the launch asset.
    pub file_extension: Option<String>,
}

/// A source map (`.map` file of the export) kept with an update: listed by the admin API
/// for crash reporters, never in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceMap {
    /// The update it belongs to.
    pub update_id: Uuid,
    /// Its path inside the export (`_expo/static/js/ios/index-….hbc.map`).
    pub path: String,
    /// The blob holding its bytes.
    pub hash: AssetHash,
}

/// A stored source map, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSourceMap {
    /// Its path inside the export.
    pub path: String,
    /// The blob holding its bytes.
    pub hash: AssetHash,
    /// Its size in bytes.
    pub size: u64,
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
    fn a_scope_is_found_by_its_borrowed_parts_and_only_by_its_own() {
        let scope = Scope::new("default", "production", "1.0.0", Platform::Ios).unwrap();
        let mut map = std::collections::HashMap::new();
        map.insert(scope, 1);
        let parts: ScopeParts<'_> = ("default", "production", "1.0.0", Platform::Ios);
        assert_eq!(map.get(&parts as &dyn ScopeKey), Some(&1));
        for other in [
            ("default", "production", "1.0.0", Platform::Android),
            ("default", "production", "1.0.1", Platform::Ios),
            ("default", "staging", "1.0.0", Platform::Ios),
            ("other", "production", "1.0.0", Platform::Ios),
            // The parts are hashed apart: moving a character across them is another key.
            ("defaultp", "roduction", "1.0.0", Platform::Ios),
        ] {
            assert_eq!(map.get(&other as &dyn ScopeKey), None, "{other:?}");
        }
    }

    #[test]
    fn asset_hash_parses_hex_and_base64url() {
        let hash = AssetHash::of(b"hello");
        let hex = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert_eq!(hash.to_hex(), hex);
        assert_eq!(parse_asset_hash(hex).unwrap(), hash);
        assert_eq!(parse_asset_hash(&hex.to_uppercase()).unwrap(), hash);
        assert_eq!(
            parse_asset_hash("LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ").unwrap(),
            hash
        );
        for bad in [
            "",
            "zz",
            &"g".repeat(64),
            &"a".repeat(63),
            "../../etc/passwd",
            &"A".repeat(44),
        ] {
            assert!(parse_asset_hash(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn iso_millis_matches_javascript() {
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_millis(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn kind_parses_its_display() {
        for k in [UpdateKind::Update, UpdateKind::RollbackToEmbedded] {
            assert_eq!(k.to_string().parse::<UpdateKind>().unwrap(), k);
        }
    }
}
