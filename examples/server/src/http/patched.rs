//! Serving launch-asset patches: `226 IM Used` with a BSDIFF40 body to clients that ask
//! for one (`a-im: bsdiff`, `expo-current-update-id`) and whose current bundle has a stored
//! patch to the requested one; everybody else gets the normal `200` from
//! [`super::assets`].
//!
//! The lookups a patch answer needs (the launch asset of the device's update, the patch
//! of a pair) are cached in a [`PatchIndex`], so a launch-asset request costs no query
//! once they are known. Misses are cached too and dropped whenever updates change or a
//! patch is recorded, since only those can turn a miss into a hit.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use expo_patch::PatchRequest;
use expo_patch::response::patch_headers;
use tokio_util::io::ReaderStream;
use uuid::Uuid;

use super::cache::ManifestCache;
use super::metrics;
use super::state::AppState;
use crate::blobs::{BlobStore, ContentCoding};
use crate::error::Result;
use crate::patches::Patcher;
use crate::store::{AssetHash, MetadataStore, PatchOutcome};

/// At most this many entries per map (ids come from clients: never grow without bound).
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
#[derive(Debug, Default)]
pub struct PatchIndex {
    /// Update id to its launch asset; `None`: no such update, or a directive.
    launch_assets: RwLock<HashMap<Uuid, Option<AssetHash>>>,
    /// (base, target) launch assets to the stored patch; `None`: none to serve.
    patches: RwLock<HashMap<(AssetHash, AssetHash), Option<StoredPatch>>>,
}

impl PatchIndex {
    /// The launch asset of update `id`, from the store on a miss.
    pub async fn launch_asset(
        &self,
        store: &dyn MetadataStore,
        id: Uuid,
    ) -> Result<Option<AssetHash>> {
        if let Some(hit) = cached(&self.launch_assets, &id) {
            return Ok(hit);
        }
        let hash = store
            .update(id)
            .await?
            .and_then(|update| update.launch_asset)
            .map(|asset| asset.hash);
        remember(&self.launch_assets, id, hash);
        Ok(hash)
    }

    /// The stored patch from launch asset `base` to `target`, from the store on a miss.
    pub async fn patch(
        &self,
        store: &dyn MetadataStore,
        base: AssetHash,
        target: AssetHash,
    ) -> Result<Option<StoredPatch>> {
        if let Some(hit) = cached(&self.patches, &(base, target)) {
            return Ok(hit);
        }
        let stored = store
            .patch(&base, &target)
            .await?
            .and_then(|record| match record.outcome {
                PatchOutcome::Stored { hash, size } => Some(StoredPatch { hash, size }),
                PatchOutcome::NotWorthServing { .. } | PatchOutcome::Failed { .. } => None,
            });
        remember(&self.patches, (base, target), stored);
        Ok(stored)
    }

    /// Forgets everything (updates changed, or a patch was recorded).
    pub fn clear(&self) {
        write(&self.launch_assets).clear();
        write(&self.patches).clear();
    }
}

fn cached<K: Eq + Hash, V: Copy>(map: &RwLock<HashMap<K, V>>, key: &K) -> Option<V> {
    map.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(key)
        .copied()
}

fn remember<K: Eq + Hash, V>(map: &RwLock<HashMap<K, V>>, key: K, value: V) {
    let mut map = write(map);
    if map.len() < MAX_ENTRIES || map.contains_key(&key) {
        map.insert(key, value);
    }
}

fn write<K, V>(map: &RwLock<HashMap<K, V>>) -> std::sync::RwLockWriteGuard<'_, HashMap<K, V>> {
    // A panic while holding the lock cannot leave a map inconsistent: use it anyway.
    map.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The `226 IM Used` answer to a request for asset `hash`, when it asks for a patch and
/// one is stored; `None` for the normal answer. Never an error: when in doubt (the store
/// failing, patch bytes gone) the full asset is served.
pub async fn patch_answer(
    state: &AppState,
    hash: AssetHash,
    headers: &HeaderMap,
) -> Option<Response> {
    let index = state.patches.as_deref()?;
    let request = PatchRequest::from_headers(headers)?;
    let answer = match patch_for(state, index, request, hash, headers).await {
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
    headers: &HeaderMap,
) -> Result<Option<Response>> {
    // A range is of the full bundle: a client resuming a download gets the rest of it.
    if headers.contains_key(header::RANGE) {
        return Ok(None);
    }
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
    let Ok(length) = usize::try_from(patch.size) else {
        return Ok(None);
    };
    let Some(reader) = state
        .blobs
        .open(&patch.hash, ContentCoding::Identity, None)
        .await?
    else {
        tracing::warn!(patch = %patch.hash, "patch bytes missing: serving the full asset");
        // Until the next scan: its bytes cannot come back by themselves.
        remember(&index.patches, (base, hash), None);
        return Ok(None);
    };
    if reader.len != patch.size {
        tracing::warn!(patch = %patch.hash, "patch bytes have the wrong size: serving the full asset");
        return Ok(None);
    }
    let mut response = Response::new(Body::from_stream(ReaderStream::new(reader.reader)));
    *response.status_mut() = StatusCode::IM_USED;
    *response.headers_mut() = patch_headers(request.current(), length);
    Ok(Some(response))
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
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use serde_json::Map;

    use super::*;
    use crate::blobs::BlobStore;
    use crate::store::{
        BlobRecord, GcReport, NewUpdate, PatchRecord, Platform, Scope, SqliteStore, Update,
        UpdateAsset, UpdateFilter, UpdateInfo, UpdateKind,
    };

    /// A store counting the lookups the index makes.
    #[derive(Debug)]
    struct Counting {
        inner: SqliteStore,
        queries: AtomicUsize,
    }

    impl Counting {
        fn count(&self) -> usize {
            self.queries.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl MetadataStore for Counting {
        async fn check_health(&self) -> Result<()> {
            self.inner.check_health().await
        }
        async fn change_counter(&self) -> Result<i64> {
            self.inner.change_counter().await
        }
        async fn blob(&self, hash: &AssetHash) -> Result<Option<BlobRecord>> {
            self.inner.blob(hash).await
        }
        async fn insert_since(
            &self,
            blobs: &[BlobRecord],
            updates: Vec<NewUpdate>,
            since: Option<i64>,
        ) -> Result<Vec<UpdateInfo>> {
            self.inner.insert_since(blobs, updates, since).await
        }
        async fn collect_garbage(
            &self,
            cutoffs: &crate::store::gc::Cutoffs,
            dry_run: bool,
            blobs: &dyn BlobStore,
        ) -> Result<GcReport> {
            self.inner.collect_garbage(cutoffs, dry_run, blobs).await
        }
        async fn record_upload(&self, hash: &crate::store::AssetHash, size: u64) -> Result<()> {
            self.inner.record_upload(hash, size).await
        }
        async fn set_rollout(&self, id: Uuid, percent: u8) -> Result<UpdateInfo> {
            self.inner.set_rollout(id, percent).await
        }
        async fn update(&self, id: Uuid) -> Result<Option<Update>> {
            self.queries.fetch_add(1, Ordering::SeqCst);
            self.inner.update(id).await
        }
        async fn current(&self, scope: &Scope) -> Result<Option<Update>> {
            self.inner.current(scope).await
        }
        async fn list(&self, filter: &UpdateFilter) -> Result<Vec<UpdateInfo>> {
            self.inner.list(filter).await
        }
        async fn scopes(&self) -> Result<Vec<Scope>> {
            self.inner.scopes().await
        }
        async fn patch(&self, base: &AssetHash, target: &AssetHash) -> Result<Option<PatchRecord>> {
            self.queries.fetch_add(1, Ordering::SeqCst);
            self.inner.patch(base, target).await
        }
        async fn record_patch(&self, record: &PatchRecord) -> Result<bool> {
            self.inner.record_patch(record).await
        }
        async fn record_health(&self, reports: &[crate::store::DeviceReport]) -> Result<Vec<Uuid>> {
            self.inner.record_health(reports).await
        }
        async fn health(
            &self,
            ids: &[Uuid],
        ) -> Result<std::collections::HashMap<Uuid, crate::store::UpdateHealth>> {
            self.inner.health(ids).await
        }
        async fn insert_if_served(
            &self,
            expected: Uuid,
            update: NewUpdate,
        ) -> Result<Option<UpdateInfo>> {
            self.inner.insert_if_served(expected, update).await
        }
    }

    #[tokio::test]
    async fn lookups_are_cached_misses_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let store = Counting {
            inner: SqliteStore::open(&dir.path().join("db")).await.unwrap(),
            queries: AtomicUsize::new(0),
        };
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
