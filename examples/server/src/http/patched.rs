//! Serving launch-asset patches: `226 IM Used` with a BSDIFF40 body to clients that ask
//! for one (`a-im: bsdiff`, `expo-current-update-id`) and whose current bundle has a stored
//! patch to the requested one; everybody else gets the normal `200` from
//! [`super::assets`]. The protocol crate decides when a patch may be sent (`a-im`, no
//! `Range`) and writes the answer; this module finds the patch.
//!
//! The lookups a patch answer needs (the launch asset of the device's update, the patch
//! of a pair) are cached in a [`PatchIndex`], so a launch-asset request costs no query
//! once they are known. Misses are cached too and dropped whenever updates change or a
//! patch is recorded, since only those can turn a miss into a hit.

use std::sync::Arc;
use std::time::Duration;

use expo_patch::PatchRequest;
use expo_updates::{AssetBody, AssetPatch};
use uuid::Uuid;

use super::cache::ManifestCache;
use super::metrics;
use super::recent::Recent;
use super::state::AppState;
use crate::blobs::{BlobStore, ContentCoding};
use crate::error::Result;
use crate::patches::Patcher;
use crate::store::{AssetHash, MetadataStore, PatchOutcome};

/// At most this many entries per map, least recently used out (ids come from clients: a
/// flood of made-up ids pushes out made-up ids, and each costs one query until pushed out).
pub const MAX_ENTRIES: usize = 100_000;

/// How long the patcher waits before retrying after the store failed.
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// A stored patch: its blob and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredPatch {
    /// The blob holding the BSDIFF40 bytes.
    pub hash: AssetHash,
    /// Their size.
    pub size: u64,
}

/// Cached answers of the two lookups a patch answer needs.
#[derive(Debug)]
pub struct PatchIndex {
    /// Update id to its launch asset; `None`: no such update, or a directive.
    launch_assets: Recent<Uuid, Option<AssetHash>>,
    /// (base, target) launch assets to the stored patch; `None`: none to serve.
    patches: Recent<(AssetHash, AssetHash), Option<StoredPatch>>,
}

impl Default for PatchIndex {
    fn default() -> Self {
        Self {
            launch_assets: Recent::new(MAX_ENTRIES),
            patches: Recent::new(MAX_ENTRIES),
        }
    }
}

impl PatchIndex {
    /// The launch asset of update `id`, from the store on a miss.
    pub async fn launch_asset(
        &self,
        store: &dyn MetadataStore,
        id: Uuid,
    ) -> Result<Option<AssetHash>> {
        if let Some(hit) = self.launch_assets.get(&id) {
            return Ok(hit);
        }
        let hash = store
            .update(id)
            .await?
            .and_then(|update| update.launch_asset)
            .map(|asset| asset.hash);
        self.launch_assets.insert(id, hash);
        Ok(hash)
    }

    /// The stored patch from launch asset `base` to `target`, from the store on a miss.
    pub async fn patch(
        &self,
        store: &dyn MetadataStore,
        base: AssetHash,
        target: AssetHash,
    ) -> Result<Option<StoredPatch>> {
        if let Some(hit) = self.patches.get(&(base, target)) {
            return Ok(hit);
        }
        let stored = store
            .patch(&base, &target)
            .await?
            .and_then(|record| match record.outcome {
                PatchOutcome::Stored { hash, size } => Some(StoredPatch { hash, size }),
                PatchOutcome::NotWorthServing { .. } | PatchOutcome::Failed { .. } => None,
            });
        self.patches.insert((base, target), stored);
        Ok(stored)
    }

    /// Forgets everything (updates changed, or a patch was recorded).
    pub fn clear(&self) {
        self.launch_assets.clear();
        self.patches.clear();
    }
}

/// The patch to answer a request for asset `hash` with (`226 IM Used`, built by
/// [`expo_updates::asset_response`]), when one is stored; `None` for the normal answer.
/// Never an error: when in doubt (the store failing, patch bytes gone) the full asset is
/// served.
pub async fn patch_answer(
    state: &AppState,
    hash: AssetHash,
    request: PatchRequest,
) -> Option<AssetPatch> {
    let index = state.patches.as_deref()?;
    let answer = match patch_for(state, index, request, hash).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(asset = %hash, error = %e, "patch lookup failed: serving the full asset");
            None
        }
    };
    metrics::record_patch_request(answer.is_some());
    answer
}

async fn patch_for(
    state: &AppState,
    index: &PatchIndex,
    request: PatchRequest,
    hash: AssetHash,
) -> Result<Option<AssetPatch>> {
    let store = state.store.as_ref();
    if let Some(requested) = request.requested() {
        // The asset must be the launch asset of the update the client asked for.
        if request.base_for(requested).is_none()
            || index.launch_asset(store, *requested.as_uuid()).await? != Some(hash)
        {
            return Ok(None);
        }
    }
    let Some(base) = index
        .launch_asset(store, *request.current().as_uuid())
        .await?
    else {
        return Ok(None);
    };
    if base == hash {
        return Ok(None);
    }
    let Some(patch) = index.patch(store, base, hash).await? else {
        return Ok(None);
    };
    let Some(reader) = state
        .blobs
        .open(&patch.hash, ContentCoding::Identity, None)
        .await?
    else {
        tracing::warn!(patch = %patch.hash, "patch bytes missing: serving the full asset");
        // Until the next scan: its bytes cannot come back by themselves.
        index.patches.insert((base, hash), None);
        return Ok(None);
    };
    if reader.len != patch.size {
        tracing::warn!(patch = %patch.hash, "patch bytes have the wrong size: serving the full asset");
        return Ok(None);
    }
    let body = AssetBody::from_stream(patch.size, state.streams.body(reader));
    Ok(Some(AssetPatch::new(request.current(), patch.size, body)))
}

/// Builds the missing patches at startup and after every change of the updates, then
/// drops the index's cached misses; runs until aborted.
pub async fn follow_changes(
    mut patcher: Patcher,
    cache: Arc<ManifestCache>,
    index: Arc<PatchIndex>,
) {
    loop {
        let retry = match patcher.scan().await {
            Ok(report) => report.errors > 0,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for launch-asset patches to build");
                true
            }
        };
        index.clear();
        if retry {
            let _ = tokio::time::timeout(RETRY_AFTER, cache.changed()).await;
        } else {
            cache.changed().await;
        }
    }
}

/// The patcher of a server, dropping `index`'s cached misses whenever it records a pair.
pub fn patcher(
    store: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    settings: crate::patches::PatchSettings,
    index: &Arc<PatchIndex>,
) -> Patcher {
    let index = Arc::clone(index);
    Patcher::new(store, blobs, settings, Box::new(move || index.clear()))
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::store::fixtures::Counting;
    use crate::store::{
        BlobRecord, NewUpdate, PatchRecord, Platform, Scope, SqliteStore, UpdateAsset, UpdateKind,
    };

    #[tokio::test]
    async fn lookups_are_cached_misses_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let store = Counting::new(SqliteStore::open(&dir.path().join("db")).await.unwrap());
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let mut ids = Vec::new();
        let mut hashes = Vec::new();
        for content in [&b"v1"[..], b"v2"] {
            let hash = AssetHash::of(content);
            let blob = BlobRecord {
                hash,
                size: 2,
                content_type: "application/javascript".into(),
                gzip_size: None,
                br_size: None,
            };
            let update = NewUpdate {
                id: Uuid::new_v4(),
                scope: scope.clone(),
                kind: UpdateKind::Update,
                message: None,
                group_id: Uuid::new_v4(),
                launch_asset: Some(UpdateAsset {
                    hash,
                    key: "k".into(),
                    content_type: blob.content_type.clone(),
                    file_extension: None,
                }),
                assets: vec![],
                metadata: Map::new(),
                extra: Map::new(),
                rollout_percent: 100,
                republished_from: None,
            };
            ids.push(update.id);
            hashes.push(hash);
            store.insert(&[blob], vec![update]).await.unwrap();
        }
        let index = PatchIndex::default();
        let (v1, v2) = (hashes[0], hashes[1]);
        let unknown = Uuid::new_v4();

        for _ in 0..3 {
            assert_eq!(index.launch_asset(&store, ids[0]).await.unwrap(), Some(v1));
            assert_eq!(index.launch_asset(&store, unknown).await.unwrap(), None);
            assert_eq!(index.patch(&store, v1, v2).await.unwrap(), None);
        }
        assert_eq!(store.count(), 3, "one query per distinct lookup");

        let patch = StoredPatch {
            hash: AssetHash::of(b"patch"),
            size: 5,
        };
        let recorded = store
            .record_patch(&PatchRecord {
                base: v1,
                target: v2,
                outcome: PatchOutcome::Stored {
                    hash: patch.hash,
                    size: patch.size,
                },
            })
            .await
            .unwrap();
        assert!(recorded);
        assert_eq!(
            index.patch(&store, v1, v2).await.unwrap(),
            None,
            "the miss stays cached"
        );
        index.clear();
        for _ in 0..3 {
            assert_eq!(index.patch(&store, v1, v2).await.unwrap(), Some(patch));
        }
        assert_eq!(store.count(), 4);
    }
}
