//! Update metadata: the model and the [`MetadataStore`] trait its backends implement.
//!
//! An update belongs to a [`Scope`] (app, branch, runtime version, platform; the branch is
//! `Scope::channel`, see [`channels`]). The served update of a scope is its most recent row
//! by `created_at`, ties broken by insertion order. Republish and rollback insert new rows;
//! only the rollout percent and, when a branch is renamed or deleted, the branch of a row
//! change (see DESIGN.md).

#[cfg(test)]
mod behaviour;
pub mod changes;
pub mod channels;
pub mod device_reports;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod gc;
mod model;
pub mod postgres;
pub mod rollout;
mod rows;
pub mod sqlite;

use std::collections::HashMap;

use async_trait::async_trait;
use uuid::Uuid;

pub use model::{
    AssetHash, BlobRecord, DEFAULT_APP, MAX_MESSAGE_LEN, MAX_NAME_LEN, NewUpdate, PatchColumns,
    PatchOutcome, PatchRecord, Platform, Scope, ScopeKey, ScopeParts, SourceMap, StoredSourceMap,
    Update, UpdateAsset, UpdateFilter, UpdateInfo, UpdateKind, checked_message, checked_name,
    iso_millis, parse_asset_hash,
};
pub use postgres::{DatabaseUrl, PostgresStore};
pub use rows::now_millis;
pub use sqlite::SqliteStore;

pub use changes::ChangeListener;
pub use device_reports::{Buckets, DeviceHash, DeviceReport, HealthSeries, UpdateHealth};
pub use gc::GcReport;

use crate::blobs::BlobStore;
use crate::error::Result;

/// Where update metadata lives. Implementations: [`SqliteStore`] (one machine) and
/// [`PostgresStore`] (several servers sharing one database).
///
/// Every write that changes what is served bumps the change counter in the same
/// transaction, so servers sharing the store can notice with [`MetadataStore::change_counter`].
#[async_trait]
pub trait MetadataStore: Send + Sync + std::fmt::Debug + 'static {
    /// Checks that the store answers.
    async fn check_health(&self) -> Result<()>;

    /// A number that grows with every change to the served updates.
    async fn change_counter(&self) -> Result<i64>;

    /// The stored blob with this hash.
    async fn blob(&self, hash: &AssetHash) -> Result<Option<BlobRecord>>;

    /// Registers blobs and updates in one transaction: either all become visible or none.
    ///
    /// Blobs already registered are kept as they are. Each update gets a fresh `createdAt`:
    /// the current time, or one millisecond after the newest update of its scope when the
    /// clock says otherwise (clients only take an update strictly newer than theirs).
    async fn insert(
        &self,
        blobs: &[BlobRecord],
        updates: Vec<NewUpdate>,
    ) -> Result<Vec<UpdateInfo>> {
        self.insert_since(blobs, updates, None).await
    }

    /// [`MetadataStore::insert`] for a publish that looked for stored blobs when the change
    /// counter was `since`: fails with [`crate::error::Error::BlobRemoved`] if a garbage
    /// collection deleted one of `blobs` after that (see [`gc`]).
    async fn insert_since(
        &self,
        blobs: &[BlobRecord],
        updates: Vec<NewUpdate>,
        since: Option<i64>,
    ) -> Result<Vec<UpdateInfo>> {
        self.insert_with_source_maps(blobs, updates, since, &[])
            .await
    }

    /// [`MetadataStore::insert_since`] that also keeps the source maps of the updates, in
    /// the same transaction (their blobs must be among `blobs` or registered already).
    async fn insert_with_source_maps(
        &self,
        blobs: &[BlobRecord],
        updates: Vec<NewUpdate>,
        since: Option<i64>,
        source_maps: &[SourceMap],
    ) -> Result<Vec<UpdateInfo>>;

    /// The source maps kept with update `id`, by path.
    async fn source_maps(&self, id: Uuid) -> Result<Vec<StoredSourceMap>>;

    /// Deletes the updates created before their app's cutoff (milliseconds) that are not served nor
    /// the rollback target of a scope, then the blobs no remaining update references (bytes
    /// from `blobs` included), in one transaction; a dry run reports without deleting.
    async fn collect_garbage(
        &self,
        cutoffs: &gc::Cutoffs,
        dry_run: bool,
        blobs: &dyn BlobStore,
    ) -> Result<GcReport>;

    /// Records that the blob `hash` (`size` identity bytes) was uploaded now, before its
    /// bytes are stored: a collection removes it when no import registered it within
    /// [`gc::UPLOAD_GRACE_MS`] of its last upload.
    async fn record_upload(&self, hash: &AssetHash, size: u64) -> Result<()>;

    /// Changes the share of installs `id` is served to (0 to 100), the one mutable column:
    /// it says who gets an update, not what the update is.
    async fn set_rollout(&self, id: Uuid, percent: u8) -> Result<UpdateInfo>;

    /// One update with its assets.
    async fn update(&self, id: Uuid) -> Result<Option<Update>>;

    /// The update a scope serves now, with its assets.
    async fn current(&self, scope: &Scope) -> Result<Option<Update>>;

    /// Updates matching `filter`, newest first.
    async fn list(&self, filter: &UpdateFilter) -> Result<Vec<UpdateInfo>>;

    /// The scopes that have at least one update, for cache warm-up and listings (the
    /// updates of deleted branches excluded).
    async fn scopes(&self) -> Result<Vec<Scope>>;

    /// The stored channels (those with a row; see [`channels`]) of `app`, or of every app.
    async fn channels(&self, app: Option<&str>) -> Result<Vec<channels::Channel>>;

    /// The branches of `app` (with updates, or created explicitly) and their update
    /// counts, by name; `channels` is left empty ([`channels::branches`] fills it).
    async fn branches(&self, app: &str) -> Result<Vec<channels::Branch>>;

    /// Applies `change` to the branches and channels of `app` in one transaction that
    /// bumps the change counter (nothing of a refused or failed change is kept).
    async fn change_branches(&self, app: &str, change: channels::BranchChange) -> Result<()>;

    /// What became of the patch from launch asset `base` to launch asset `target`, if it
    /// was tried.
    async fn patch(&self, base: &AssetHash, target: &AssetHash) -> Result<Option<PatchRecord>>;

    /// Records a patch outcome, under the writer lock so a concurrent garbage collection is
    /// either seen or sees it: returns `false` without recording when the pair was recorded
    /// already (by another process, say) or when `base` or `target` is no longer a
    /// registered blob. The patch bytes must be stored before.
    async fn record_patch(&self, record: &PatchRecord) -> Result<bool>;
    /// Adds device reports (each `(update, device)` pair at most once per call), in one
    /// transaction; a flag once set stays set, and a row is written only when it is new or
    /// a flag turns on. Only a report marked `served` creates a row; the others change
    /// existing rows only. Reports on updates that do not exist are skipped. Returns the
    /// updates whose rows changed, sorted. Each event is stamped now (`served_at`,
    /// `launched_at`, `failed_at`: the first time it happened).
    async fn record_health(&self, reports: &[DeviceReport]) -> Result<Vec<Uuid>> {
        self.record_health_at(reports, now_millis()).await
    }

    /// [`MetadataStore::record_health`] with the events stamped `now` (milliseconds since
    /// the Unix epoch).
    async fn record_health_at(&self, reports: &[DeviceReport], now: i64) -> Result<Vec<Uuid>>;

    /// How many installs were served update `id`, first reported running it and first
    /// reported failing on it, per bucket of `buckets` (zeros for an unknown update).
    async fn health_series(&self, id: Uuid, buckets: Buckets) -> Result<HealthSeries>;

    /// The device counts of these updates; updates without a row are absent.
    async fn health(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, UpdateHealth>>;

    /// Registers `update` only if `expected` is still the update its scope serves, checked
    /// in the same transaction: of several servers deciding the same rollback at once, one
    /// acts. `None` when the scope serves something else.
    async fn insert_if_served(
        &self,
        expected: Uuid,
        update: NewUpdate,
    ) -> Result<Option<UpdateInfo>>;

    /// Ends the rollout of `expected` in one transaction: only if it is still the newest
    /// update of its scope, sets its rollout to 0 % and registers `copy` (see
    /// [`rollout::revert`]). `None` when the scope has a newer update.
    ///
    /// Both stores implement it; the default refuses, so a store that cannot make it
    /// atomic never half-reverts.
    async fn revert_rollout(&self, expected: Uuid, copy: NewUpdate) -> Result<Option<UpdateInfo>> {
        let _ = copy;
        Err(crate::error::Error::Invalid(format!(
            "this metadata store cannot revert the rollout of {expected}"
        )))
    }
}
