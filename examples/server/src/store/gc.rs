//! Garbage collection: old updates nobody is served, then the blobs nothing references.
//!
//! What is kept in every scope, whatever its age: the updates served now (the newest one
//! rolled out to everyone and any partial rollouts above it) and the one before them, so
//! `rollback` still has a target. Older updates go when they are older than the cutoff,
//! then every blob that no remaining update references.
//!
//! A concurrent publish never loses a blob. The whole collection is one write transaction,
//! which starts by bumping the change counter (the lock every writer takes first), and
//! deletes the blob bytes *before* it commits, recording each deleted blob with that
//! counter value in `blob_deletions`. A publish reads the counter before it looks for
//! stored blobs; its own transaction, holding the same lock, refuses to register a blob
//! deleted at a later counter value ([`crate::error::Error::BlobRemoved`]), and the publish
//! then uploads it again. Either the publish commits first (its references protect the
//! blob), or the collection does (and the publish sees the deletion).

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use super::AssetHash;

/// How long deletion records are kept: longer than any publish takes.
pub const DELETION_RECORD_TTL_MS: i64 = 30 * 86_400_000;

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
}

impl Cutoffs {
    /// The same cutoff for every app.
    pub fn every_app(cutoff: i64) -> Self {
        Self {
            others: Some(cutoff),
            apps: BTreeMap::new(),
        }
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
/// rest when created before their app's cutoff.
pub fn doomed(rows: &[GcRow], cutoffs: &Cutoffs) -> Vec<String> {
    let mut out = Vec::new();
    let mut scope: Option<&[String; 4]> = None;
    let (mut served_found, mut previous_kept) = (false, false);
    for row in rows {
        if scope != Some(&row.scope) {
            scope = Some(&row.scope);
            (served_found, previous_kept) = (false, false);
        }
        if !served_found {
            served_found = row.rollout_percent >= 100;
        } else if !previous_kept {
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
            // The bytes go before the commit, while every other writer waits on the lock.
            $blobs.delete(&hash).await?;
            sqlx::query("DELETE FROM blobs WHERE hash = $1")
                .bind(&hex)
                .execute(&mut *$tx)
                .await?;
            sqlx::query(
                "INSERT INTO blob_deletions (hash, counter, deleted_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (hash) DO UPDATE SET counter = excluded.counter, \
                 deleted_at = excluded.deleted_at",
            )
            .bind(&hex)
            .bind($counter)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
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
            if shared.is_none()
                && let Some(hash) = $crate::store::AssetHash::from_hex(&hex)
            {
                $blobs.delete(&hash).await?;
            }
        }
        sqlx::query("DELETE FROM blob_deletions WHERE deleted_at < $1")
            .bind($now - $crate::store::gc::DELETION_RECORD_TTL_MS)
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

pub(crate) use collect_garbage_body;

/// Refuses blobs that a collection deleted after the counter value `since` (see the module
/// docs), on an open transaction holding the writer lock.
macro_rules! check_not_removed {
    ($tx:ident, $blobs:expr, $since:expr) => {{
        if let Some(since) = $since {
            for blob in $blobs {
                let removed = sqlx::query(
                    "SELECT counter FROM blob_deletions WHERE hash = $1 AND counter > $2",
                )
                .bind(blob.hash.to_hex())
                .bind(since)
                .fetch_optional(&mut *$tx)
                .await?;
                if removed.is_some() {
                    return Err($crate::error::Error::BlobRemoved(blob.hash).into());
                }
            }
        }
    }};
}

pub(crate) use check_not_removed;

#[cfg(test)]
pub(crate) mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::blobs::{BlobStore, LocalBlobStore, PreparedBlob};
    use crate::error::Error;
    use crate::store::{BlobRecord, MetadataStore, NewUpdate, Platform, Scope, SqliteStore};

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
            launched: true,
            failed: true,
        };
        assert_eq!(store.record_health(&[report]).await.unwrap(), [first[0].id]);

        // The publish of `a` again: reads the counter, finds `a` stored, skips uploading.
        let since = store.change_counter().await.unwrap();
        assert!(blobs.stat(&a.hash).await.unwrap().is_some());

        let future = crate::store::sqlite::now_millis() + 1000;
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
        let future = crate::store::sqlite::now_millis() + 1000;
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

    #[tokio::test]
    async fn sqlite_patches_follow_their_launch_assets() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
        let blobs = LocalBlobStore::open(dir.path().join("blobs")).unwrap();
        patches_follow_their_launch_assets(&store, &blobs).await;
    }

    #[tokio::test]
    async fn sqlite_gc_never_loses_a_blob_to_a_concurrent_publish() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
        let blobs = LocalBlobStore::open(dir.path().join("blobs")).unwrap();
        gc_between_stat_and_insert(&store, &blobs).await;
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
