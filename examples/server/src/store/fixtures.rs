//! Test fixtures: minimal updates for the unit tests of the store and its users.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Map;
use uuid::Uuid;

use super::gc::Cutoffs;
use super::{
    AssetHash, BlobRecord, Buckets, DeviceReport, GcReport, HealthSeries, MetadataStore, NewUpdate,
    PatchRecord, Scope, SourceMap, SqliteStore, StoredSourceMap, Update, UpdateAsset, UpdateFilter,
    UpdateHealth, UpdateInfo, UpdateKind,
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

/// What a test store does around the store it wraps; every hook does nothing by default.
#[async_trait::async_trait]
pub(crate) trait Around: Send + Sync + std::fmt::Debug + 'static {
    /// Called before each read the serving caches make (`current`, `list`, `update`,
    /// `blob`, `patch`).
    fn before_read(&self) {}

    /// Called after `list` answered `filter`.
    async fn after_list(&self, filter: &UpdateFilter) -> Result<()> {
        let _ = filter;
        Ok(())
    }
}

/// A store forwarding every operation to `inner`, with the hooks of `around` (one
/// forwarding implementation for every test store that watches or disturbs another).
#[derive(Debug)]
pub(crate) struct Wrapped<S: ?Sized, A> {
    inner: Arc<S>,
    around: A,
}

impl<S: MetadataStore + ?Sized, A: Around> Wrapped<S, A> {
    /// `inner` with the hooks of `around`.
    pub(crate) fn wrap(inner: Arc<S>, around: A) -> Self {
        Self { inner, around }
    }

    /// The store underneath, to write through without the hooks.
    pub(crate) fn inner(&self) -> &S {
        &self.inner
    }

    /// The hooks, to read what they saw.
    pub(crate) fn around(&self) -> &A {
        &self.around
    }
}

/// Counts reads (see [`Around::before_read`]).
#[derive(Debug, Default)]
pub(crate) struct ReadCount(AtomicUsize);

impl Around for ReadCount {
    fn before_read(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A `SQLite` store counting the reads the serving caches make.
pub(crate) type Counting = Wrapped<SqliteStore, ReadCount>;

impl Counting {
    /// Counts the queries made to `inner`.
    pub(crate) fn new(inner: SqliteStore) -> Self {
        Self::wrap(Arc::new(inner), ReadCount::default())
    }

    /// Queries so far.
    pub(crate) fn count(&self) -> usize {
        self.around.0.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl<S: MetadataStore + ?Sized, A: Around> MetadataStore for Wrapped<S, A> {
    async fn check_health(&self) -> Result<()> {
        self.inner.check_health().await
    }
    async fn change_counter(&self) -> Result<i64> {
        self.inner.change_counter().await
    }
    async fn blob(&self, hash: &AssetHash) -> Result<Option<BlobRecord>> {
        self.around.before_read();
        self.inner.blob(hash).await
    }
    async fn insert_with_source_maps(
        &self,
        blobs: &[BlobRecord],
        updates: Vec<NewUpdate>,
        since: Option<i64>,
        source_maps: &[SourceMap],
    ) -> Result<Vec<UpdateInfo>> {
        self.inner
            .insert_with_source_maps(blobs, updates, since, source_maps)
            .await
    }
    async fn source_maps(&self, id: Uuid) -> Result<Vec<StoredSourceMap>> {
        self.inner.source_maps(id).await
    }
    async fn collect_garbage(
        &self,
        cutoffs: &Cutoffs,
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
        self.around.before_read();
        self.inner.update(id).await
    }
    async fn current(&self, scope: &Scope) -> Result<Option<Update>> {
        self.around.before_read();
        self.inner.current(scope).await
    }
    async fn list(&self, filter: &UpdateFilter) -> Result<Vec<UpdateInfo>> {
        self.around.before_read();
        let listed = self.inner.list(filter).await?;
        self.around.after_list(filter).await?;
        Ok(listed)
    }
    async fn scopes(&self) -> Result<Vec<Scope>> {
        self.inner.scopes().await
    }
    async fn channels(&self, app: Option<&str>) -> Result<Vec<crate::store::channels::Channel>> {
        self.around.before_read();
        self.inner.channels(app).await
    }
    async fn branches(&self, app: &str) -> Result<Vec<crate::store::channels::Branch>> {
        self.inner.branches(app).await
    }
    async fn change_branches(
        &self,
        app: &str,
        change: crate::store::channels::BranchChange,
    ) -> Result<()> {
        self.inner.change_branches(app, change).await
    }
    async fn patch(&self, base: &AssetHash, target: &AssetHash) -> Result<Option<PatchRecord>> {
        self.around.before_read();
        self.inner.patch(base, target).await
    }
    async fn record_patch(&self, record: &PatchRecord) -> Result<bool> {
        self.inner.record_patch(record).await
    }
    async fn record_health_at(&self, reports: &[DeviceReport], now: i64) -> Result<Vec<Uuid>> {
        self.inner.record_health_at(reports, now).await
    }
    async fn health_series(&self, id: Uuid, buckets: Buckets) -> Result<HealthSeries> {
        self.inner.health_series(id, buckets).await
    }
    async fn health(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, UpdateHealth>> {
        self.inner.health(ids).await
    }
    async fn insert_if_served(
        &self,
        expected: Uuid,
        update: NewUpdate,
    ) -> Result<Option<UpdateInfo>> {
        self.inner.insert_if_served(expected, update).await
    }
    async fn revert_rollout(&self, expected: Uuid, copy: NewUpdate) -> Result<Option<UpdateInfo>> {
        self.inner.revert_rollout(expected, copy).await
    }
}
