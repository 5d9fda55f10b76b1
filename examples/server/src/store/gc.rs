//! Garbage collection: old updates nobody is served, then the blobs nothing references.
//!
//! What is kept in every scope, whatever its age: the updates served now (the newest one
//! rolled out to everyone and any partial rollouts above it) and the one before them, so
//! `rollback` still has a target. Older updates go when they are older than the cutoff,
//! then every blob that no remaining update references.
//!
//! Metadata first, bytes after. One write transaction (starting with the change-counter
//! bump, the lock every writer takes first) deletes the rows and *marks* each collected
//! blob in `blob_deletions` as pending, with that counter value; it commits. Then the bytes
//! of every pending blob (this run's and any an interrupted run left) are deleted, and
//! small transactions mark them done with a new counter value. A failure or a crash at any
//! point leaves rows that all point at existing bytes; a blob still marked pending is
//! finished by the next collection.
//!
//! A concurrent publish never commits a reference to a blob being deleted: it reads the
//! counter before it looks for stored blobs, and its transaction, holding the same lock,
//! refuses ([`crate::error::Error::BlobRemoved`]) any blob still pending or marked done
//! after that counter value. The publish then waits, looks again (the bytes are gone for
//! good by then) and uploads what is missing. Either the publish commits first (its
//! references protect the blob: the collection only marks blobs unreferenced under the
//! lock), or the collection does (and the publish sees the mark).
//!
//! Uploads (`PUT /admin/blobs/{hash}`) are recorded in `uploads` before their bytes are
//! stored; one that no import registered within [`UPLOAD_GRACE_MS`] of its last upload is
//! collected the same way (row in the transaction, bytes after), and an import racing it
//! is refused by the same counter check as a publish.

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use super::AssetHash;

/// How long deletion records are kept: longer than any publish takes.
pub const DELETION_RECORD_TTL_MS: i64 = 30 * 86_400_000;

/// How long a device-report row is kept after it last changed (installs report on every
/// launch; an update nobody launched for this long needs no counts).
pub const HEALTH_RETENTION_MS: i64 = 30 * 86_400_000;

/// How long an uploaded blob may stay unregistered (no import referenced it) after its
/// last upload before a collection removes it: longer than any promotion takes between its
/// uploads and its import.
pub const UPLOAD_GRACE_MS: i64 = 86_400_000;

/// Deletions marked done per transaction.
pub const DONE_CHUNK: usize = 500;

/// What a collection removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// The updates deleted.
    pub updates: Vec<Uuid>,
    /// The blobs deleted, with their identity size.
    pub blobs: Vec<(AssetHash, u64)>,
    /// The launch-asset patches deleted with their base or target (records and bytes).
    pub patches: usize,
    /// Whether nothing was actually deleted.
    pub dry_run: bool,
}

impl GcReport {
    /// Identity bytes freed (variants come on top).
    pub fn bytes(&self) -> u64 {
        self.blobs.iter().map(|(_, size)| size).sum()
    }
}

/// How old each app's updates may get: older ones go (unless kept, see [`doomed`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cutoffs {
    /// Cutoff (milliseconds) of the apps not in `apps`; `None` leaves them alone.
    pub others: Option<i64>,
    /// Cutoff per app.
    pub apps: BTreeMap<String, i64>,
    /// Unregistered uploads last uploaded before this (milliseconds) go; `None`: those
    /// older than [`UPLOAD_GRACE_MS`].
    pub uploads: Option<i64>,
}

impl Cutoffs {
    /// The same cutoff for every app.
    pub fn every_app(cutoff: i64) -> Self {
        Self {
            others: Some(cutoff),
            ..Self::default()
        }
    }

    /// The cutoff of unregistered uploads at `now`.
    pub fn uploads_at(&self, now: i64) -> i64 {
        self.uploads
            .unwrap_or_else(|| now.saturating_sub(UPLOAD_GRACE_MS))
    }

    /// The cutoff of `app`, if its updates are collected.
    pub fn of(&self, app: &str) -> Option<i64> {
        self.apps.get(app).copied().or(self.others)
    }
}

/// One update as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcRow {
    /// The update id.
    pub id: String,
    /// `app`, `channel`, `runtime_version`, `platform`.
    pub scope: [String; 4],
    /// `created_at`, milliseconds.
    pub created_at: i64,
    /// 0 to 100.
    pub rollout_percent: i64,
}

/// The ids to delete among `rows`, sorted by scope then newest first: per scope, keep
/// everything down to the first update rolled out to everyone, and one more; delete the
/// rest when created before their app's cutoff. The updates of a deleted branch
/// ([`super::channels::RETIRED_PREFIX`]) are served to nobody: each goes once older than
/// the cutoff, like a superseded one.
pub fn doomed(rows: &[GcRow], cutoffs: &Cutoffs) -> Vec<String> {
    let mut out = Vec::new();
    let mut scope: Option<&[String; 4]> = None;
    let (mut served_found, mut previous_kept) = (false, false);
    for row in rows {
        if scope != Some(&row.scope) {
            scope = Some(&row.scope);
            (served_found, previous_kept) = (false, false);
        }
        let retired = super::channels::is_retired(&row.scope[1]);
        if !served_found && !retired {
            served_found = row.rollout_percent >= 100;
        } else if !previous_kept && !retired {
            previous_kept = true;
        } else if cutoffs
            .of(&row.scope[0])
            .is_some_and(|cutoff| row.created_at < cutoff)
        {
            out.push(row.id.clone());
        }
    }
    out
}

/// The body of a collection on an open transaction `$tx` (after the change counter bump
/// returned `$counter`), shared by both SQL backends (`$N` placeholders work on both).
macro_rules! collect_garbage_body {
    ($tx:ident, $counter:expr, $cutoffs:expr, $dry_run:expr, $blobs:expr, $now:expr) => {{
        use sqlx::Row as _;
        let rows = sqlx::query(
            "SELECT id, app, channel, runtime_version, platform, created_at, rollout_percent \
             FROM updates ORDER BY app, channel, runtime_version, platform, \
             created_at DESC, seq DESC",
        )
        .fetch_all(&mut *$tx)
        .await?;
        let rows = rows
            .iter()
            .map(|row| {
                Ok($crate::store::gc::GcRow {
                    id: row.try_get("id")?,
                    scope: [
                        row.try_get("app")?,
                        row.try_get("channel")?,
                        row.try_get("runtime_version")?,
                        row.try_get("platform")?,
                    ],
                    created_at: row.try_get("created_at")?,
                    rollout_percent: row.try_get("rollout_percent")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let mut report = $crate::store::gc::GcReport {
            dry_run: $dry_run,
            ..Default::default()
        };
        for id in $crate::store::gc::doomed(&rows, $cutoffs) {
            sqlx::query("DELETE FROM updates WHERE id = $1")
                .bind(&id)
                .execute(&mut *$tx)
                .await?;
            report.updates.push(
                uuid::Uuid::parse_str(&id)
                    .map_err(|e| $crate::error::Error::Corrupt(format!("update id: {e}")))?,
            );
        }
        // Uploads an import registered are tracked by `blobs` from now on.
        sqlx::query(
            "DELETE FROM uploads WHERE EXISTS (SELECT 1 FROM blobs b WHERE b.hash = uploads.hash)",
        )
        .execute(&mut *$tx)
        .await?;
        let unreferenced = sqlx::query(
            "SELECT hash, size FROM blobs b \
             WHERE NOT EXISTS (SELECT 1 FROM update_assets a WHERE a.hash = b.hash) \
             AND NOT EXISTS (SELECT 1 FROM update_source_maps s WHERE s.hash = b.hash) \
             ORDER BY hash",
        )
        .fetch_all(&mut *$tx)
        .await?;
        for row in &unreferenced {
            let hex: String = row.try_get("hash")?;
            let hash = $crate::store::AssetHash::from_hex(&hex)
                .ok_or_else(|| $crate::error::Error::Corrupt(format!("blob hash {hex:?}")))?;
            let size = u64::try_from(row.try_get::<i64, _>("size")?).unwrap_or(0);
            report.blobs.push((hash, size));
            if $dry_run {
                continue;
            }
            // Only marked here: the bytes go after the commit (see the module docs).
            sqlx::query("DELETE FROM blobs WHERE hash = $1")
                .bind(&hex)
                .execute(&mut *$tx)
                .await?;
            $crate::store::gc::mark_pending!($tx, &hex, $counter, $now);
        }
        // Uploads never registered, past their grace period (not patch bytes that happen
        // to have been uploaded too).
        let uploads_cutoff = $cutoffs.uploads_at($now);
        let stale_uploads = sqlx::query(
            "SELECT hash, size FROM uploads u WHERE created_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.hash = u.hash) \
             AND NOT EXISTS (SELECT 1 FROM patches p WHERE p.patch_hash = u.hash) \
             ORDER BY hash",
        )
        .bind(uploads_cutoff)
        .fetch_all(&mut *$tx)
        .await?;
        for row in &stale_uploads {
            let hex: String = row.try_get("hash")?;
            let hash = $crate::store::AssetHash::from_hex(&hex)
                .ok_or_else(|| $crate::error::Error::Corrupt(format!("upload hash {hex:?}")))?;
            let size = u64::try_from(row.try_get::<i64, _>("size")?).unwrap_or(0);
            if $dry_run {
                report.blobs.push((hash, size));
                continue;
            }
            // Re-checked by the delete: an upload repeated since the select stays (its
            // client is about to import it).
            let deleted = sqlx::query("DELETE FROM uploads WHERE hash = $1 AND created_at < $2")
                .bind(&hex)
                .bind(uploads_cutoff)
                .execute(&mut *$tx)
                .await?;
            if deleted.rows_affected() == 1 {
                report.blobs.push((hash, size));
                $crate::store::gc::mark_pending!($tx, &hex, $counter, $now);
            }
        }
        // Patches live as long as both their launch assets: their bytes are blobs nothing
        // else references.
        let dead_patches = sqlx::query(
            "SELECT base_hash, target_hash, patch_hash FROM patches p \
             WHERE NOT EXISTS (SELECT 1 FROM update_assets a WHERE a.hash = p.base_hash) \
             OR NOT EXISTS (SELECT 1 FROM update_assets a WHERE a.hash = p.target_hash)",
        )
        .fetch_all(&mut *$tx)
        .await?;
        report.patches = dead_patches.len();
        for row in &dead_patches {
            if $dry_run {
                break;
            }
            let patch_hash: Option<String> = row.try_get("patch_hash")?;
            sqlx::query("DELETE FROM patches WHERE base_hash = $1 AND target_hash = $2")
                .bind(row.try_get::<String, _>("base_hash")?)
                .bind(row.try_get::<String, _>("target_hash")?)
                .execute(&mut *$tx)
                .await?;
            let Some(hex) = patch_hash else { continue };
            let shared = sqlx::query(
                "SELECT 1 AS one FROM patches WHERE patch_hash = $1 \
                 UNION ALL SELECT 1 AS one FROM blobs WHERE hash = $1",
            )
            .bind(&hex)
            .fetch_optional(&mut *$tx)
            .await?;
            if shared.is_none() {
                $crate::store::gc::mark_pending!($tx, &hex, $counter, $now);
            }
        }
        sqlx::query("DELETE FROM blob_deletions WHERE deleted_at < $1 AND pending = 0")
            .bind($now - $crate::store::gc::DELETION_RECORD_TTL_MS)
            .execute(&mut *$tx)
            .await?;
        sqlx::query("DELETE FROM update_health WHERE changed_at < $1")
            .bind($now - $crate::store::gc::HEALTH_RETENTION_MS)
            .execute(&mut *$tx)
            .await?;
        if $dry_run {
            $tx.rollback().await?;
        } else {
            $tx.commit().await?;
        }
        report
    }};
}

/// Marks a blob's bytes for deletion after the collection's commit.
macro_rules! mark_pending {
    ($tx:ident, $hex:expr, $counter:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO blob_deletions (hash, counter, deleted_at, pending) \
             VALUES ($1, $2, $3, 1) \
             ON CONFLICT (hash) DO UPDATE SET counter = excluded.counter, \
             deleted_at = excluded.deleted_at, pending = 1",
        )
        .bind($hex)
        .bind($counter)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    };
}

pub(crate) use mark_pending;

/// After a collection committed: deletes the bytes of every blob marked pending (this
/// run's and any an interrupted run left), then marks them done in small transactions,
/// each bumping the change counter. Returns how many were finished; the first storage
/// error, if any, after trying every blob (those stay pending for the next run).
macro_rules! finish_deletions {
    ($pool:expr, $blobs:expr) => {
        async {
        use sqlx::Row as _;
        let pending = sqlx::query(
            "SELECT hash FROM blob_deletions WHERE pending = 1 ORDER BY hash",
        )
        .fetch_all($pool)
        .await?;
        let mut done: Vec<String> = Vec::with_capacity(pending.len());
        let mut failure: Option<$crate::error::Error> = None;
        for row in &pending {
            let hex: String = row.try_get("hash")?;
            let Some(hash) = $crate::store::AssetHash::from_hex(&hex) else {
                return Err($crate::error::Error::Corrupt(format!(
                    "blob_deletions.hash {hex:?}"
                )));
            };
            match $blobs.delete(&hash).await {
                Ok(()) => done.push(hex),
                Err(error) => {
                    tracing::warn!(%error, %hash, "cannot delete the bytes of a collected blob; the next gc retries");
                    failure.get_or_insert(error);
                }
            }
        }
        for chunk in done.chunks($crate::store::gc::DONE_CHUNK) {
            let mut tx = $pool.begin().await?;
            let counter: i64 = sqlx::query(
                "UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value",
            )
            .fetch_one(&mut *tx)
            .await?
            .try_get("value")?;
            for hex in chunk {
                sqlx::query(
                    "UPDATE blob_deletions SET pending = 0, counter = $1 WHERE hash = $2",
                )
                .bind(counter)
                .bind(hex)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
        match failure {
            Some(error) => Err(error),
            None => Ok::<usize, $crate::error::Error>(done.len()),
        }
        }
        .await
    };
}

pub(crate) use finish_deletions;

pub(crate) use collect_garbage_body;

/// Refuses blobs whose deletion is pending, or was finished after the counter value
/// `since` (see the module docs), on an open transaction holding the writer lock.
macro_rules! check_not_removed {
    ($tx:ident, $blobs:expr, $since:expr) => {{
        let since: i64 = $since.unwrap_or(i64::MAX);
        for blob in $blobs {
            let removed = sqlx::query(
                "SELECT counter FROM blob_deletions \
                 WHERE hash = $1 AND (pending = 1 OR counter > $2)",
            )
            .bind(blob.hash.to_hex())
            .bind(since)
            .fetch_optional(&mut *$tx)
            .await?;
            if removed.is_some() {
                return Err($crate::error::Error::BlobRemoved(blob.hash).into());
            }
        }
    }};
}

pub(crate) use check_not_removed;

#[cfg(test)]
pub(crate) mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::blobs::{BlobStore, PreparedBlob};
    use crate::error::Error;
    use crate::store::{BlobRecord, MetadataStore, NewUpdate, Platform, Scope};

    async fn stored(blobs: &dyn BlobStore, content: &[u8]) -> BlobRecord {
        let hash = AssetHash::of(content);
        let stored = blobs
            .put(PreparedBlob {
                hash,
                identity: Bytes::copy_from_slice(content),
                content_type: "application/javascript".into(),
                gzip: None,
                br: None,
            })
            .await
            .unwrap();
        BlobRecord {
            hash,
            size: stored.size,
            content_type: "application/javascript".into(),
            gzip_size: None,
            br_size: None,
        }
    }

    fn update_of(scope: &Scope, blob: &BlobRecord) -> NewUpdate {
        crate::store::fixtures::update_launching(scope, blob)
    }

    /// gc runs between a publish finding its blob stored and the publish's insert: the
    /// insert must refuse, and nothing may reference the deleted bytes.
    pub(crate) async fn gc_between_stat_and_insert(
        store: &dyn MetadataStore,
        blobs: &dyn BlobStore,
    ) {
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let (a, b, c) = (
            stored(blobs, b"a").await,
            stored(blobs, b"b").await,
            stored(blobs, b"c").await,
        );
        let first = store
            .insert(std::slice::from_ref(&a), vec![update_of(&scope, &a)])
            .await
            .unwrap();
        store
            .insert(std::slice::from_ref(&b), vec![update_of(&scope, &b)])
            .await
            .unwrap();
        store
            .insert(std::slice::from_ref(&c), vec![update_of(&scope, &c)])
            .await
            .unwrap();

        // Devices reported on the first update: its health rows go with it.
        let report = crate::store::DeviceReport {
            update_id: first[0].id,
            device: crate::store::DeviceHash::of_client_id("device"),
            served: true,
            launched: true,
            failed: true,
        };
        assert_eq!(store.record_health(&[report]).await.unwrap(), [first[0].id]);

        // The publish of `a` again: reads the counter, finds `a` stored, skips uploading.
        let since = store.change_counter().await.unwrap();
        assert!(blobs.stat(&a.hash).await.unwrap().is_some());

        let future = crate::store::now_millis() + 1000;
        let dry = store
            .collect_garbage(&Cutoffs::every_app(future), true, blobs)
            .await
            .unwrap();
        assert_eq!(dry.updates, vec![first[0].id]);
        assert_eq!(dry.blobs, vec![(a.hash, 1)]);
        assert!(
            blobs.stat(&a.hash).await.unwrap().is_some(),
            "a dry run deletes nothing"
        );
        let report = store
            .collect_garbage(&Cutoffs::every_app(future), false, blobs)
            .await
            .unwrap();
        assert_eq!((report.updates, report.blobs), (dry.updates, dry.blobs));
        assert!(blobs.stat(&a.hash).await.unwrap().is_none());
        assert!(store.update(first[0].id).await.unwrap().is_none());
        assert!(store.health(&[first[0].id]).await.unwrap().is_empty());
        // b (the rollback target) and c (served) are kept, with their bytes.
        assert!(blobs.stat(&b.hash).await.unwrap().is_some());
        assert!(blobs.stat(&c.hash).await.unwrap().is_some());

        let refused = store
            .insert_since(
                std::slice::from_ref(&a),
                vec![update_of(&scope, &a)],
                Some(since),
            )
            .await;
        assert!(
            matches!(refused, Err(Error::BlobRemoved(hash)) if hash == a.hash),
            "{refused:?}"
        );
        // The publish stores the blob again and retries with a fresh counter: accepted.
        let since = store.change_counter().await.unwrap();
        let a = stored(blobs, b"a").await;
        let again = store
            .insert_since(
                std::slice::from_ref(&a),
                vec![update_of(&scope, &a)],
                Some(since),
            )
            .await
            .unwrap();
        let served = store.current(&scope).await.unwrap().unwrap();
        assert_eq!(served.info.id, again[0].id);
        assert!(blobs.stat(&a.hash).await.unwrap().is_some());
        // Nothing left to collect: everything is served or the rollback target.
        let report = store
            .collect_garbage(&Cutoffs::every_app(future), false, blobs)
            .await
            .unwrap();
        assert_eq!(
            report.updates.len(),
            1,
            "b's update, older than the rollback target c"
        );
        assert_eq!(report.blobs, vec![(b.hash, 1)]);
    }

    /// A blob store whose deletes fail from the `fail_from`-th on (counting from 1) until
    /// `heal` is called.
    #[derive(Debug)]
    pub(crate) struct FailingDeletes {
        inner: std::sync::Arc<dyn BlobStore>,
        deletes: std::sync::atomic::AtomicUsize,
        fail_from: usize,
        healed: std::sync::atomic::AtomicBool,
    }

    impl FailingDeletes {
        pub(crate) fn new(inner: std::sync::Arc<dyn BlobStore>, fail_from: usize) -> Self {
            Self {
                inner,
                deletes: std::sync::atomic::AtomicUsize::new(0),
                fail_from,
                healed: std::sync::atomic::AtomicBool::new(false),
            }
        }

        fn heal(&self) {
            self.healed.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[async_trait::async_trait]
    impl BlobStore for FailingDeletes {
        async fn stat(
            &self,
            hash: &AssetHash,
        ) -> crate::error::Result<Option<crate::blobs::StoredBlob>> {
            self.inner.stat(hash).await
        }
        async fn put(&self, blob: PreparedBlob) -> crate::error::Result<crate::blobs::StoredBlob> {
            self.inner.put(blob).await
        }
        async fn open(
            &self,
            hash: &AssetHash,
            encoding: expo_updates::ContentCoding,
            range: Option<crate::blobs::ByteRange>,
        ) -> crate::error::Result<Option<crate::blobs::BlobReader>> {
            self.inner.open(hash, encoding, range).await
        }
        async fn delete(&self, hash: &AssetHash) -> crate::error::Result<()> {
            let n = self
                .deletes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                + 1;
            if n >= self.fail_from && !self.healed.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(Error::Task(format!("injected failure deleting {hash}")));
            }
            self.inner.delete(hash).await
        }
    }

    /// Every blob an update of `scopes` references is stored.
    async fn every_reference_is_stored(store: &dyn MetadataStore, blobs: &dyn BlobStore) {
        for scope in store.scopes().await.unwrap() {
            for info in store
                .list(&crate::store::UpdateFilter::scope(&scope, 1000))
                .await
                .unwrap()
            {
                let update = store.update(info.id).await.unwrap().unwrap();
                for asset in update.launch_asset.iter().chain(&update.assets) {
                    assert!(
                        blobs.stat(&asset.hash).await.unwrap().is_some(),
                        "update {} references {} whose bytes are gone",
                        info.id,
                        asset.hash
                    );
                }
            }
        }
    }

    /// The second blob delete of a collection fails while a publish of an update sharing a
    /// collected blob runs: the collection's rows are committed, nothing references missing
    /// bytes, the publish never registers the blob being deleted, and a later collection
    /// finishes the job.
    pub(crate) async fn gc_delete_failure_strands_no_reference(
        store: &dyn MetadataStore,
        inner: std::sync::Arc<dyn BlobStore>,
    ) {
        let blobs = FailingDeletes::new(inner, 2);
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let (old, shared) = (
            stored(&blobs, b"old bundle").await,
            stored(&blobs, b"shared").await,
        );
        // The first update references two blobs that nothing else does.
        let mut first = update_of(&scope, &old);
        first.assets.push(crate::store::UpdateAsset {
            hash: shared.hash,
            key: "shared".into(),
            content_type: shared.content_type.clone(),
            file_extension: Some(".js".into()),
        });
        store
            .insert(&[old.clone(), shared.clone()], vec![first])
            .await
            .unwrap();
        for content in [b"second".as_slice(), b"third"] {
            let blob = stored(&blobs, content).await;
            store
                .insert(std::slice::from_ref(&blob), vec![update_of(&scope, &blob)])
                .await
                .unwrap();
        }

        // A publish sharing `shared` finds it stored, at this counter.
        let since = store.change_counter().await.unwrap();
        assert!(blobs.stat(&shared.hash).await.unwrap().is_some());
        let mut publish = update_of(&scope, &stored(&blobs, b"fourth").await);
        publish.assets.push(crate::store::UpdateAsset {
            hash: shared.hash,
            key: "shared".into(),
            content_type: shared.content_type.clone(),
            file_extension: Some(".js".into()),
        });
        let fourth = crate::store::fixtures::js_blob(b"fourth");
        let records = [fourth, shared.clone()];

        let future = crate::store::now_millis() + 1000;
        let failed = store
            .collect_garbage(&Cutoffs::every_app(future), false, &blobs)
            .await;
        assert!(
            failed.is_err(),
            "the injected failure is reported: {failed:?}"
        );
        every_reference_is_stored(store, &blobs).await;
        assert_eq!(
            store
                .list(&crate::store::UpdateFilter::scope(&scope, 10))
                .await
                .unwrap()
                .len(),
            2,
            "the collection's rows are committed"
        );

        // The publish's insert: refused, whichever of the two deletes failed.
        let refused = store
            .insert_since(&records, vec![publish.clone()], Some(since))
            .await;
        assert!(matches!(refused, Err(Error::BlobRemoved(_))), "{refused:?}");
        // Stored again right away (before the collection is finished): still refused while
        // the deletion is pending, so the bytes cannot vanish under a committed reference.
        stored(&blobs, b"shared").await;
        let now = store.change_counter().await.unwrap();
        let again = store
            .insert_since(&records, vec![publish.clone()], Some(now))
            .await;
        let shared_delete_failed = matches!(again, Err(Error::BlobRemoved(_)));
        every_reference_is_stored(store, &blobs).await;

        // The next collection finishes the pending deletion; the publish then stores what
        // is missing and commits.
        blobs.heal();
        store
            .collect_garbage(&Cutoffs::every_app(0), false, &blobs)
            .await
            .unwrap();
        every_reference_is_stored(store, &blobs).await;
        if shared_delete_failed {
            let since = store.change_counter().await.unwrap();
            if blobs.stat(&shared.hash).await.unwrap().is_none() {
                stored(&blobs, b"shared").await;
            }
            store
                .insert_since(&records, vec![publish], Some(since))
                .await
                .unwrap();
        }
        every_reference_is_stored(store, &blobs).await;
        let served = store.current(&scope).await.unwrap().unwrap();
        assert!(served.assets.iter().any(|a| a.hash == shared.hash));
    }

    /// Patch records need both launch assets registered, are recorded once, and go (with
    /// their bytes) when a collection removes either launch asset.
    pub(crate) async fn patches_follow_their_launch_assets(
        store: &dyn MetadataStore,
        blobs: &dyn BlobStore,
    ) {
        use crate::store::{PatchOutcome, PatchRecord};

        let scope = Scope::new("default", "main", "1", Platform::Android).unwrap();
        let (a, b, c) = (
            stored(blobs, b"bundle a").await,
            stored(blobs, b"bundle b").await,
            stored(blobs, b"bundle c").await,
        );
        for blob in [&a, &b, &c] {
            store
                .insert(std::slice::from_ref(blob), vec![update_of(&scope, blob)])
                .await
                .unwrap();
        }
        let patch_bytes = stored(blobs, b"BSDIFF40 from a to c").await;
        let a_to_c = PatchRecord {
            base: a.hash,
            target: c.hash,
            outcome: PatchOutcome::Stored {
                hash: patch_bytes.hash,
                size: patch_bytes.size,
            },
        };
        let b_to_c = PatchRecord {
            base: b.hash,
            target: c.hash,
            outcome: PatchOutcome::NotWorthServing { size: 9 },
        };
        let counter = store.change_counter().await.unwrap();
        assert!(store.record_patch(&a_to_c).await.unwrap());
        assert!(store.record_patch(&b_to_c).await.unwrap());
        assert_eq!(
            store.change_counter().await.unwrap(),
            counter,
            "a patch changes no manifest"
        );
        let again = PatchRecord {
            outcome: PatchOutcome::Failed {
                detail: "another process".into(),
            },
            ..a_to_c.clone()
        };
        assert!(!store.record_patch(&again).await.unwrap(), "recorded once");
        assert_eq!(store.patch(&a.hash, &c.hash).await.unwrap(), Some(a_to_c));
        assert_eq!(
            store.patch(&b.hash, &c.hash).await.unwrap(),
            Some(b_to_c.clone())
        );
        assert_eq!(store.patch(&c.hash, &a.hash).await.unwrap(), None);
        let gone = PatchRecord {
            base: AssetHash::of(b"never registered"),
            ..b_to_c.clone()
        };
        assert!(!store.record_patch(&gone).await.unwrap(), "unknown base");

        // a's update is collected (c is served, b the rollback target): its patch goes.
        let future = crate::store::now_millis() + 1000;
        let dry = store
            .collect_garbage(&Cutoffs::every_app(future), true, blobs)
            .await
            .unwrap();
        assert_eq!(dry.patches, 1);
        assert!(store.patch(&a.hash, &c.hash).await.unwrap().is_some());
        let report = store
            .collect_garbage(&Cutoffs::every_app(future), false, blobs)
            .await
            .unwrap();
        assert_eq!((report.blobs, report.patches), (vec![(a.hash, 8)], 1));
        assert_eq!(store.patch(&a.hash, &c.hash).await.unwrap(), None);
        assert!(blobs.stat(&patch_bytes.hash).await.unwrap().is_none());
        assert_eq!(store.patch(&b.hash, &c.hash).await.unwrap(), Some(b_to_c));
    }

    /// Uploaded blobs that no import registered go (row and bytes) once older than the
    /// upload cutoff; younger ones and registered ones stay.
    pub(crate) async fn unregistered_uploads_are_collected(
        store: &dyn MetadataStore,
        blobs: &dyn BlobStore,
    ) {
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let stale = stored(blobs, b"uploaded, never imported").await;
        store.record_upload(&stale.hash, stale.size).await.unwrap();
        let imported = stored(blobs, b"uploaded, then imported").await;
        store
            .record_upload(&imported.hash, imported.size)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let cutoff = crate::store::now_millis();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let young = stored(blobs, b"uploaded just now").await;
        store.record_upload(&young.hash, young.size).await.unwrap();
        store
            .insert(
                std::slice::from_ref(&imported),
                vec![update_of(&scope, &imported)],
            )
            .await
            .unwrap();
        let cutoffs = Cutoffs {
            uploads: Some(cutoff),
            ..Cutoffs::default()
        };

        let dry = store.collect_garbage(&cutoffs, true, blobs).await.unwrap();
        assert_eq!(dry.blobs, vec![(stale.hash, stale.size)]);
        assert!(blobs.stat(&stale.hash).await.unwrap().is_some(), "dry run");

        let report = store.collect_garbage(&cutoffs, false, blobs).await.unwrap();
        assert_eq!(report.blobs, vec![(stale.hash, stale.size)]);
        assert!(blobs.stat(&stale.hash).await.unwrap().is_none(), "bytes");
        assert!(blobs.stat(&young.hash).await.unwrap().is_some(), "young");
        assert!(
            blobs.stat(&imported.hash).await.unwrap().is_some(),
            "imported"
        );
        assert!(store.blob(&imported.hash).await.unwrap().is_some());
        // The row went too: a later collection has nothing left to collect, and a publish
        // that looked before the collection may not register the deleted blob.
        let again = store.collect_garbage(&cutoffs, false, blobs).await.unwrap();
        assert!(again.blobs.is_empty(), "{again:?}");
        let err = store
            .insert_since(
                std::slice::from_ref(&stale),
                vec![update_of(&scope, &stale)],
                Some(0),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::BlobRemoved(h) if h == stale.hash),
            "{err}"
        );

        // With the default grace period, even the upload of a moment ago stays.
        let report = store
            .collect_garbage(&Cutoffs::default(), false, blobs)
            .await
            .unwrap();
        assert!(report.blobs.is_empty(), "{report:?}");
        assert!(blobs.stat(&young.hash).await.unwrap().is_some());
        // Once past it, it goes.
        let report = store
            .collect_garbage(
                &Cutoffs {
                    uploads: Some(crate::store::now_millis() + 1),
                    ..Cutoffs::default()
                },
                false,
                blobs,
            )
            .await
            .unwrap();
        assert_eq!(report.blobs, vec![(young.hash, young.size)]);
        assert!(blobs.stat(&young.hash).await.unwrap().is_none());
        assert!(blobs.stat(&imported.hash).await.unwrap().is_some());
    }

    fn row(id: &str, channel: &str, created_at: i64, rollout_percent: i64) -> GcRow {
        GcRow {
            id: id.into(),
            scope: ["default".into(), channel.into(), "1".into(), "ios".into()],
            created_at,
            rollout_percent,
        }
    }

    #[test]
    fn keeps_what_is_served_and_the_one_before() {
        let rows = [
            // main: a partial rollout on top, served base, previous, then old ones.
            row("m5", "main", 50, 10),
            row("m4", "main", 40, 100),
            row("m3", "main", 30, 100),
            row("m2", "main", 20, 100),
            row("m1", "main", 10, 100),
            // other: only one update, old: served, so kept.
            row("o1", "other", 5, 100),
        ];
        let every = Cutoffs::every_app;
        assert_eq!(doomed(&rows, &every(100)), ["m2", "m1"]);
        assert_eq!(
            doomed(&rows, &every(15)),
            ["m1"],
            "younger than the cutoff stays"
        );
        assert!(doomed(&rows, &every(0)).is_empty());
    }

    #[test]
    fn each_app_has_its_own_cutoff() {
        let mut rows = Vec::new();
        for app in ["a", "b", "c"] {
            for (id, at) in [("3", 30), ("2", 20), ("1", 10)] {
                let mut r = row(&format!("{app}{id}"), "main", at, 100);
                r.scope[0] = app.into();
                rows.push(r);
            }
        }
        let cutoffs = Cutoffs {
            others: None,
            apps: BTreeMap::from([("a".into(), 100), ("b".into(), 5)]),
            uploads: None,
        };
        assert_eq!(
            doomed(&rows, &cutoffs),
            ["a1"],
            "b: too young; c: left alone"
        );
        let cutoffs = Cutoffs {
            others: Some(100),
            ..cutoffs
        };
        assert_eq!(doomed(&rows, &cutoffs), ["a1", "c1"]);
    }
}
