//! Building launch-asset patches: BSDIFF40 patches from the bundles of earlier updates to
//! the bundle of each new one, so SDK 55+ clients download a few KiB instead of the whole
//! bundle (served by [`crate::http::patched`]).
//!
//! A [`Patcher`] looks at the newest updates of the store. For each one it has not seen, it
//! takes the launch assets of the last few earlier updates of the same scope and, for every
//! (base, target) pair nobody recorded yet, builds the patch (one at a time, bounded in
//! input size and time), keeps it only when [`expo_patch::worth_serving`] says so, stores
//! its bytes as a content-addressed blob and records the outcome with
//! [`MetadataStore::record_patch`]. Every outcome is recorded, useless ones too, so a pair
//! is built once however many processes and restarts there are; two processes building the
//! same pair at once store the same bytes and the second record is a no-op.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use expo_patch::{Limits, Patch, worth_serving};
use tokio::io::AsyncReadExt as _;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::blobs::{BlobStore, ContentCoding, PreparedBlob};
use crate::error::{Error, Result};
use crate::store::{
    AssetHash, BlobRecord, MetadataStore, PatchOutcome, PatchRecord, UpdateFilter, UpdateInfo,
    UpdateKind,
};

/// Default number of earlier updates whose bundles a new bundle gets patches from.
pub const DEFAULT_BASES: u8 = 3;
/// Most earlier updates a bundle gets patches from.
pub const MAX_BASES: u8 = 20;
/// Longest a patch may take to build before the pair is given up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_mins(2);
/// How many of the store's newest updates get patches (older ones are rarely downloaded).
pub const RECENT_UPDATES: u32 = 100;
/// The media type patch bytes are stored with.
pub const PATCH_CONTENT_TYPE: &str = "application/octet-stream";

/// How patches are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchSettings {
    /// Patches to each new bundle from the bundles of this many earlier updates of its
    /// scope; 0 turns patches off (neither built nor served).
    pub bases: u8,
    /// Input size bound and build threads.
    pub limits: Limits,
    /// Longest one build may take.
    pub timeout: Duration,
}

impl Default for PatchSettings {
    fn default() -> Self {
        Self {
            bases: DEFAULT_BASES,
            limits: Limits::default(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl PatchSettings {
    /// Whether patches are built and served.
    pub fn enabled(&self) -> bool {
        self.bases > 0
    }
}

/// What one [`Patcher::scan`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// The outcomes it recorded.
    pub recorded: Vec<PatchRecord>,
    /// Updates it could not look at (to retry).
    pub errors: usize,
}

/// Builds the missing patches of recent updates; see the module docs.
pub struct Patcher {
    store: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    settings: PatchSettings,
    /// Targets whose pairs are all recorded: not looked at again.
    done: HashSet<Uuid>,
    /// One build at a time. A build that timed out keeps running on its thread (bsdiff
    /// cannot be interrupted) and holds this until it ends, so builds never pile up.
    building: Arc<Semaphore>,
    /// Called after each recorded pair (so servers can drop cached misses).
    on_recorded: Box<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Patcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Patcher")
            .field("settings", &self.settings)
            .field("done", &self.done.len())
            .finish_non_exhaustive()
    }
}

impl Patcher {
    /// A patcher over these stores.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        settings: PatchSettings,
        on_recorded: Box<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self {
            store,
            blobs,
            settings,
            done: HashSet::new(),
            building: Arc::new(Semaphore::new(1)),
            on_recorded,
        }
    }

    /// Looks at the newest updates and builds every missing patch to their bundles. An
    /// update whose patches could not be looked at (a store failing) is counted in
    /// [`ScanReport::errors`] and looked at again by the next scan.
    pub async fn scan(&mut self) -> Result<ScanReport> {
        let mut report = ScanReport::default();
        if !self.settings.enabled() {
            return Ok(report);
        }
        let recent = self
            .store
            .list(&UpdateFilter {
                limit: RECENT_UPDATES,
                ..UpdateFilter::default()
            })
            .await?;
        for target in recent {
            if self.done.contains(&target.id) {
                continue;
            }
            match self.patch_to(&target).await {
                Ok(recorded) => {
                    report.recorded.extend(recorded);
                    if self.done.len() >= RECENT_UPDATES as usize * 10 {
                        // Bounded memory: forgetting costs a few queries on the next scan.
                        self.done.clear();
                    }
                    self.done.insert(target.id);
                }
                Err(e) => {
                    tracing::warn!(update = %target.id, error = %e, "cannot build launch-asset patches");
                    report.errors += 1;
                }
            }
        }
        Ok(report)
    }

    /// Builds the missing patches to the bundle of `target`.
    async fn patch_to(&self, target: &UpdateInfo) -> Result<Vec<PatchRecord>> {
        let mut recorded = Vec::new();
        let Some(target_hash) = self.launch_asset(target).await? else {
            return Ok(recorded);
        };
        for base_hash in self.bases_of(target, target_hash).await? {
            if self.store.patch(&base_hash, &target_hash).await?.is_some() {
                continue;
            }
            if let Some(record) = self.build(base_hash, target_hash).await?
                && self.store.record_patch(&record).await?
            {
                metrics::counter!("expo_patch_builds_total", "outcome" => record.outcome.as_str())
                    .increment(1);
                tracing::info!(
                    base = %base_hash,
                    target = %target_hash,
                    outcome = record.outcome.as_str(),
                    update = %target.id,
                    "launch-asset patch recorded"
                );
                (self.on_recorded)();
                recorded.push(record);
            }
        }
        Ok(recorded)
    }

    /// The launch asset of an update; `None` for a rollback-to-embedded directive.
    async fn launch_asset(&self, update: &UpdateInfo) -> Result<Option<AssetHash>> {
        if update.kind != UpdateKind::Update {
            return Ok(None);
        }
        Ok(self
            .store
            .update(update.id)
            .await?
            .and_then(|update| update.launch_asset)
            .map(|asset| asset.hash))
    }

    /// The distinct bundles of the last [`PatchSettings::bases`] earlier updates of
    /// `target`'s scope, other than its own.
    async fn bases_of(
        &self,
        target: &UpdateInfo,
        target_hash: AssetHash,
    ) -> Result<Vec<AssetHash>> {
        let wanted = usize::from(self.settings.bases);
        let earlier = self
            .store
            .list(&UpdateFilter {
                before: Some((target.created_at, target.seq)),
                // Republished copies and directives share or lack bundles: look further.
                ..UpdateFilter::scope(&target.scope, u32::from(self.settings.bases) * 4)
            })
            .await?;
        let mut bases = Vec::with_capacity(wanted);
        for update in earlier {
            if bases.len() == wanted {
                break;
            }
            if let Some(hash) = self.launch_asset(&update).await?
                && hash != target_hash
                && !bases.contains(&hash)
            {
                bases.push(hash);
            }
        }
        Ok(bases)
    }

    /// Builds, judges and stores one patch; `None` when a launch asset is gone.
    async fn build(&self, base: AssetHash, target: AssetHash) -> Result<Option<PatchRecord>> {
        let (Some(base_record), Some(target_record)) = (
            self.store.blob(&base).await?,
            self.store.blob(&target).await?,
        ) else {
            return Ok(None);
        };
        let outcome = match self.built(&base_record, &target_record).await? {
            Err(detail) => PatchOutcome::Failed { detail },
            Ok(patch) => {
                let size = patch.len() as u64;
                let full = target_record
                    .br_size
                    .or(target_record.gzip_size)
                    .unwrap_or(target_record.size);
                if worth_serving(size, full) {
                    let bytes = patch.into_bytes();
                    let hash = AssetHash::of(&bytes);
                    self.blobs
                        .put(PreparedBlob {
                            hash,
                            identity: bytes,
                            content_type: PATCH_CONTENT_TYPE.to_owned(),
                            gzip: None,
                            br: None,
                        })
                        .await?;
                    PatchOutcome::Stored { hash, size }
                } else {
                    PatchOutcome::NotWorthServing { size }
                }
            }
        };
        Ok(Some(PatchRecord {
            base,
            target,
            outcome,
        }))
    }

    /// The verified patch, or why there is none (`Err` of the inner result); the outer
    /// error is the stores failing.
    async fn built(
        &self,
        base: &BlobRecord,
        target: &BlobRecord,
    ) -> Result<std::result::Result<Patch, String>> {
        let limits = self.settings.limits;
        for record in [base, target] {
            if record.size > limits.max_input_bytes {
                return Ok(Err(format!(
                    "bundle {} is {} bytes, over the {} byte limit",
                    record.hash, record.size, limits.max_input_bytes
                )));
            }
        }
        // Taken before the inputs are read: a build that timed out may still hold memory.
        let permit = Arc::clone(&self.building)
            .acquire_owned()
            .await
            .map_err(|e| Error::Task(format!("patch builder: {e}")))?;
        let old = self.read(base).await?;
        let new = self.read(target).await?;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            Patch::build(&old, &new, &limits)
        });
        Ok(
            match tokio::time::timeout(self.settings.timeout, task).await {
                Err(_) => Err(format!("not built within {:?}", self.settings.timeout)),
                Ok(Err(join)) => Err(format!("build task: {join}")),
                Ok(Ok(Err(e))) => Err(e.to_string()),
                Ok(Ok(Ok(patch))) => Ok(patch),
            },
        )
    }

    /// The identity bytes of a registered blob (already checked against the size limit).
    async fn read(&self, record: &BlobRecord) -> Result<Bytes> {
        let missing = || Error::Corrupt(format!("blob {} is registered but missing", record.hash));
        let blob = self
            .blobs
            .open(&record.hash, ContentCoding::Identity, None)
            .await?
            .ok_or_else(missing)?;
        let capacity = usize::try_from(record.size).unwrap_or(0);
        let mut bytes = Vec::with_capacity(capacity);
        blob.reader
            .take(record.size.saturating_add(1))
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| Error::Task(format!("reading blob {}: {e}", record.hash)))?;
        if bytes.len() as u64 != record.size {
            return Err(Error::Corrupt(format!(
                "blob {} has {} bytes, {} registered",
                record.hash,
                bytes.len(),
                record.size
            )));
        }
        Ok(Bytes::from(bytes))
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use serde_json::Map;

    use super::*;
    use crate::blobs::LocalBlobStore;
    use crate::store::{NewUpdate, Platform, Scope, SqliteStore, UpdateAsset};

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Arc<SqliteStore>,
        blobs: Arc<LocalBlobStore>,
        scope: Scope,
    }

    impl Fixture {
        async fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(SqliteStore::open(&dir.path().join("db")).await.unwrap());
            let blobs = Arc::new(LocalBlobStore::open(dir.path().join("blobs")).unwrap());
            let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
            Self {
                _dir: dir,
                store,
                blobs,
                scope,
            }
        }

        /// Publishes an update whose launch asset is `bundle`.
        async fn publish(&self, bundle: &[u8]) -> AssetHash {
            let hash = AssetHash::of(bundle);
            self.blobs
                .put(PreparedBlob {
                    hash,
                    identity: Bytes::copy_from_slice(bundle),
                    content_type: "application/javascript".into(),
                    gzip: None,
                    br: None,
                })
                .await
                .unwrap();
            let record = BlobRecord {
                hash,
                size: bundle.len() as u64,
                content_type: "application/javascript".into(),
                gzip_size: None,
                br_size: None,
            };
            let update = NewUpdate {
                id: Uuid::new_v4(),
                scope: self.scope.clone(),
                kind: UpdateKind::Update,
                message: None,
                group_id: Uuid::new_v4(),
                launch_asset: Some(UpdateAsset {
                    hash,
                    key: "k".into(),
                    content_type: record.content_type.clone(),
                    file_extension: None,
                }),
                assets: vec![],
                metadata: Map::new(),
                extra: Map::new(),
                rollout_percent: 100,
                republished_from: None,
            };
            self.store.insert(&[record], vec![update]).await.unwrap();
            hash
        }

        fn patcher(&self, settings: PatchSettings) -> Patcher {
            Patcher::new(
                self.store.clone(),
                self.blobs.clone(),
                settings,
                Box::new(|| {}),
            )
        }
    }

    /// A JavaScript-like bundle of about `size` bytes, the `version` in one line.
    fn bundle(size: usize, version: u32) -> Vec<u8> {
        let mut text = format!("const version = {version};\n");
        let mut i = 0_u64;
        while text.len() < size {
            let x = i.wrapping_mul(6_364_136_223_846_793_005) >> 40;
            let _ = writeln!(text, "function f{i}(a){{return a*{x}+{};}}", x % 977);
            i += 1;
        }
        text.into_bytes()
    }

    fn stored_patch(record: &PatchRecord) -> AssetHash {
        match record.outcome {
            PatchOutcome::Stored { hash, .. } => hash,
            ref other => panic!("not stored: {other:?}"),
        }
    }

    #[tokio::test]
    async fn builds_each_pair_once_from_the_last_bases() {
        let fixture = Fixture::new().await;
        let v1 = bundle(50_000, 1);
        let a = fixture.publish(&v1).await;
        let b = fixture.publish(&bundle(50_000, 2)).await;
        let mut patcher = fixture.patcher(PatchSettings::default());

        let report = patcher.scan().await.unwrap();
        assert_eq!(report.errors, 0);
        assert_eq!(report.recorded.len(), 1);
        let record = &report.recorded[0];
        assert_eq!((record.base, record.target), (a, b));
        let patch_hash = stored_patch(record);
        let reader = fixture
            .blobs
            .open(&patch_hash, ContentCoding::Identity, None)
            .await
            .unwrap()
            .unwrap();
        let mut patch = Vec::new();
        let mut reader = reader.reader;
        reader.read_to_end(&mut patch).await.unwrap();
        let applied = expo_patch::apply(&v1, &patch, &Limits::default()).unwrap();
        assert_eq!(AssetHash::of(&applied), b);

        assert!(patcher.scan().await.unwrap().recorded.is_empty());
        let mut other_process = fixture.patcher(PatchSettings::default());
        assert!(
            other_process.scan().await.unwrap().recorded.is_empty(),
            "recorded by the first"
        );

        let c = fixture.publish(&bundle(50_000, 3)).await;
        let mut pairs: Vec<_> = patcher
            .scan()
            .await
            .unwrap()
            .recorded
            .iter()
            .map(|r| (r.base, r.target))
            .collect();
        pairs.sort();
        let mut expected = vec![(a, c), (b, c)];
        expected.sort();
        assert_eq!(pairs, expected);

        // Republishing a bundle (a rollback) targets it again, from the newer ones; with
        // one base, only from the bundle just before.
        fixture.publish(&v1).await;
        let mut one_base = fixture.patcher(PatchSettings {
            bases: 1,
            ..PatchSettings::default()
        });
        let recorded = one_base.scan().await.unwrap().recorded;
        assert_eq!(recorded.len(), 1);
        assert_eq!((recorded[0].base, recorded[0].target), (c, a));

        let mut off = fixture.patcher(PatchSettings {
            bases: 0,
            ..PatchSettings::default()
        });
        fixture.publish(&bundle(50_000, 4)).await;
        assert!(off.scan().await.unwrap().recorded.is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn gives_up_on_large_inputs_timeouts_and_useless_patches() {
        let fixture = Fixture::new().await;
        fixture.publish(&bundle(4_000_000, 1)).await;
        fixture.publish(&bundle(4_000_000, 2)).await;
        let failed = |settings: PatchSettings| {
            let mut patcher = fixture.patcher(settings);
            async move {
                let recorded = patcher.scan().await.unwrap().recorded;
                assert_eq!(recorded.len(), 1);
                match &recorded[0].outcome {
                    PatchOutcome::Failed { detail } => detail.clone(),
                    other => panic!("{other:?}"),
                }
            }
        };
        let detail = failed(PatchSettings {
            timeout: Duration::from_millis(1),
            ..PatchSettings::default()
        })
        .await;
        assert!(detail.starts_with("not built within"), "{detail}");

        let fixture = Fixture::new().await;
        fixture.publish(&bundle(2000, 1)).await;
        fixture.publish(&bundle(2000, 2)).await;
        let mut patcher = fixture.patcher(PatchSettings {
            limits: Limits::default().with_max_input_bytes(1000),
            ..PatchSettings::default()
        });
        let recorded = patcher.scan().await.unwrap().recorded;
        assert!(
            matches!(&recorded[0].outcome, PatchOutcome::Failed { detail } if detail.contains("over the 1000 byte limit")),
            "{recorded:?}"
        );

        // Unrelated bundles: a patch as large as the bundle is not kept.
        let fixture = Fixture::new().await;
        let noise = || {
            let mut bytes = vec![0; 20_000];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            bytes
        };
        fixture.publish(&noise()).await;
        fixture.publish(&noise()).await;
        let recorded = fixture
            .patcher(PatchSettings::default())
            .scan()
            .await
            .unwrap()
            .recorded;
        assert!(
            matches!(recorded[0].outcome, PatchOutcome::NotWorthServing { size } if size > 10_000),
            "{recorded:?}"
        );
    }
}
