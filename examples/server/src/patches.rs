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
                crate::http::metrics::record_patch_built(record.outcome.as_str());
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
        let old = self.read(base).await?;
        let new = self.read(target).await?;
        let permit = Arc::clone(&self.building)
            .acquire_owned()
            .await
            .map_err(|e| Error::Task(format!("patch builder: {e}")))?;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            Patch::build(&old, &new, &limits)
        });
        Ok(
            match tokio::time::timeout(self.settings.timeout, task).await {
                Err(_) => Err(format!(
                    "not built within {} s",
                    self.settings.timeout.as_secs()
                )),
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
