//! Test fixtures: minimal updates for the unit tests of the store and its users.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Map;
use uuid::Uuid;

use super::{
    AssetHash, BlobRecord, GcReport, MetadataStore, NewUpdate, PatchRecord, Scope, SqliteStore,
    Update, UpdateAsset, UpdateFilter, UpdateInfo, UpdateKind,
};
use crate::blobs::BlobStore;
use crate::error::Result;

/// The record of a JavaScript blob holding `content` (no compressed variants).
pub(crate) fn js_blob(content: &[u8]) -> BlobRecord {
    BlobRecord {
        hash: AssetHash::of(content),
        size: content.len() as u64,
        content_type: "application/javascript".into(),
        gzip_size: None,
        br_size: None,
    }
}

/// An update of `scope` launching `bundle` and nothing else, rolled out to everyone.
pub(crate) fn update_launching(scope: &Scope, bundle: &BlobRecord) -> NewUpdate {
    NewUpdate {
        id: Uuid::new_v4(),
        scope: scope.clone(),
        kind: UpdateKind::Update,
        message: None,
        group_id: Uuid::new_v4(),
        launch_asset: Some(UpdateAsset {
            hash: bundle.hash,
            key: "bundle".into(),
            content_type: bundle.content_type.clone(),
            file_extension: None,
        }),
        assets: vec![],
        metadata: Map::new(),
        extra: Map::new(),
        rollout_percent: 100,
        republished_from: None,
    }
}

/// Registers an update of `scope` launching a blob of `content`, rolled out to `percent`
/// (the blob's bytes are not stored: metadata only).
pub(crate) async fn publish_js(
    store: &dyn MetadataStore,
    scope: &Scope,
    content: &[u8],
    percent: u8,
) -> UpdateInfo {
    let blob = js_blob(content);
    let update = NewUpdate {
        rollout_percent: percent,
        ..update_launching(scope, &blob)
    };
    let mut inserted = store
        .insert(&[blob], vec![update])
        .await
        .expect("the test store accepts the update");
    inserted.pop().expect("one update inserted")
}

/// A store counting the reads the serving caches make (`current`, `list`, `update`,
/// `blob`, `patch`).
#[derive(Debug)]
pub(crate) struct Counting {
    inner: SqliteStore,
    queries: AtomicUsize,
}

impl Counting {
    /// Counts the queries made to `inner`.
    pub(crate) fn new(inner: SqliteStore) -> Self {
        Self {
            inner,
            queries: AtomicUsize::new(0),
        }
    }

    /// The store underneath, to write through uncounted.
    pub(crate) fn inner(&self) -> &SqliteStore {
        &self.inner
    }

    /// Queries so far.
    pub(crate) fn count(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl MetadataStore for Counting {
    async fn check_health(&self) -> Result<()> {
        self.inner.check_health().await
    }
    async fn change_counter(&self) -> Result<i64> {
        self.inner.change_counter().await
    }
    async fn blob(&self, hash: &AssetHash) -> Result<Option<BlobRecord>> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        self.inner.blob(hash).await
    }
    async fn insert_with_source_maps(
        &self,
        blobs: &[BlobRecord],
        updates: Vec<NewUpdate>,
        since: Option<i64>,
        source_maps: &[crate::store::SourceMap],
    ) -> Result<Vec<UpdateInfo>> {
        self.inner
            .insert_with_source_maps(blobs, updates, since, source_maps)
            .await
    }
    async fn source_maps(&self, id: Uuid) -> Result<Vec<crate::store::StoredSourceMap>> {
        self.inner.source_maps(id).await
    }
    async fn collect_garbage(
        &self,
        cutoffs: &crate::store::gc::Cutoffs,
        dry_run: bool,
        blobs: &dyn BlobStore,
    ) -> Result<GcReport> {
        self.inner.collect_garbage(cutoffs, dry_run, blobs).await
    }
    async fn record_upload(&self, hash: &AssetHash, size: u64) -> Result<()> {
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
        self.queries.fetch_add(1, Ordering::SeqCst);
        self.inner.current(scope).await
    }
    async fn list(&self, filter: &UpdateFilter) -> Result<Vec<UpdateInfo>> {
        self.queries.fetch_add(1, Ordering::SeqCst);
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
