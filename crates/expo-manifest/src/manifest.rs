use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{AssetHash, Error, RuntimeVersion, Timestamp, UpdateId};

/// The largest manifest JSON [`Manifest::from_json_slice`] reads: 4 MiB, room
/// for tens of thousands of assets.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// One file of an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    /// SHA-256 of the bytes served at `url`, checked by the client.
    pub hash: AssetHash,
    /// How the update's code refers to the asset (Expo uses the MD5 of the content).
    pub key: String,
    /// MIME type, e.g. `image/png`, `application/javascript`.
    pub content_type: String,
    /// Extension the client saves the file with, with its leading dot
    /// (`.png`). Absent for the launch asset, whose extension the client
    /// decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_extension: Option<String>,
    /// Where the client downloads it. Must never serve other bytes.
    pub url: String,
}

/// The manifest of an update: the body of the `manifest` part or of a JSON
/// manifest response.
///
/// Serialization is deterministic (fields in a fixed order, `metadata` and
/// `extra` sorted by key), so equal manifests have equal bytes; signatures are
/// computed over those bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Unique id of the update.
    pub id: UpdateId,
    /// When the update was published. The client only launches an update
    /// strictly newer than the one it runs.
    pub created_at: Timestamp,
    /// The native runtime this update needs.
    pub runtime_version: RuntimeVersion,
    /// The JavaScript bundle the app starts from.
    pub launch_asset: Asset,
    /// Every other file of the update.
    #[serde(default)]
    pub assets: Vec<Asset>,
    /// String metadata, matched by the client against `expo-manifest-filters`.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Free-form data; `extra.expoClient` carries the public app config that
    /// `expo-constants` exposes as `Constants.expoConfig`.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Manifest {
    /// Compact JSON, the bytes to send and to sign.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        // Writing to a Vec cannot fail and every field serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a manifest, ignoring unknown fields, refusing more than
    /// [`MAX_MANIFEST_BYTES`].
    pub fn from_json_slice(json: &[u8]) -> Result<Self, Error> {
        check_len("manifest", json.len(), MAX_MANIFEST_BYTES)?;
        serde_json::from_slice(json).map_err(|source| Error::Json {
            what: "manifest",
            source,
        })
    }

    /// The launch asset followed by the other assets.
    pub fn all_assets(&self) -> impl Iterator<Item = &Asset> {
        std::iter::once(&self.launch_asset).chain(&self.assets)
    }
}

pub(crate) fn check_len(what: &'static str, len: usize, limit: usize) -> Result<(), Error> {
    if len > limit {
        return Err(Error::TooLarge {
            what,
            len: len as u64,
            limit: limit as u64,
        });
    }
    Ok(())
}
