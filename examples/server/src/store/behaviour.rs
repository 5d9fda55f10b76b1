//! The behaviour of every [`MetadataStore`], one suite run on `SQLite` and on `PostgreSQL`.
//!
//! Each behaviour is a function of a [`TestStore`] that uses the store through the trait
//! only; [`behaviours!`] makes one test of it per backend (`store::behaviour::sqlite::NAME`
//! and `store::behaviour::postgres::NAME`). The `PostgreSQL` tests need
//! `EXPO_TEST_DATABASE_URL` (`eval "$(bash scripts/services.sh start)"`): without it they
//! print `SKIPPED` and pass, except with `CI=true`, where they fail. Behaviours that belong
//! with one concern live beside its code (gc, rollouts, device reports) and are listed here.

use std::sync::Arc;

use serde_json::json;
use sqlx::Connection as _;
use uuid::Uuid;

use super::fixtures::{js_blob, publish_js, update_launching};
use super::{
    AssetHash, BlobRecord, DatabaseUrl, MetadataStore, NewUpdate, Platform, PostgresStore, Scope,
    SourceMap, SqliteStore, StoredSourceMap, UpdateAsset, UpdateFilter, UpdateKind,
};
use crate::blobs::LocalBlobStore;
use crate::error::Error;

/// A store of one backend, empty, with a blob store beside it.
pub(crate) struct TestStore {
    /// The store under test.
    pub(crate) store: Arc<dyn MetadataStore>,
    /// Blobs on disk, for the behaviours that store bytes.
    pub(crate) blobs: Arc<LocalBlobStore>,
    /// Where `SQLite`'s file and the blobs live.
    dir: tempfile::TempDir,
    /// The `PostgreSQL` database made for this test: its URL, the server's admin URL, its name.
    postgres: Option<(DatabaseUrl, String, String)>,
}

impl TestStore {
    /// A fresh `SQLite` file.
    pub(crate) async fn sqlite() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("metadata.sqlite"))
            .await
            .unwrap();
        Some(Self::new(Arc::new(store), dir, None))
    }

    /// A fresh database on the test server; `None` (after a loud `SKIPPED`) without one.
    pub(crate) async fn postgres() -> Option<Self> {
        let Ok(admin) = std::env::var("EXPO_TEST_DATABASE_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "EXPO_TEST_DATABASE_URL is unset and CI=true"
            );
            eprintln!("SKIPPED: EXPO_TEST_DATABASE_URL is unset, PostgreSQL store not tested");
            return None;
        };
        let name = format!("test_{}", Uuid::new_v4().simple());
        let mut connection = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        let url: DatabaseUrl = format!("{base}/{name}").parse().unwrap();
        let store = PostgresStore::open(&url).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        Some(Self::new(Arc::new(store), dir, Some((url, admin, name))))
    }

    fn new(
        store: Arc<dyn MetadataStore>,
        dir: tempfile::TempDir,
        postgres: Option<(DatabaseUrl, String, String)>,
    ) -> Self {
        let blobs = Arc::new(LocalBlobStore::open(dir.path().join("blobs")).unwrap());
        Self {
            store,
            blobs,
            dir,
            postgres,
        }
    }

    /// Another store on the same database, as a second server opens it (migrations found
    /// up to date, its own connections).
    pub(crate) async fn reopen(&self) -> Arc<dyn MetadataStore> {
        match &self.postgres {
            Some((url, _, _)) => Arc::new(PostgresStore::open(url).await.unwrap()),
            None => Arc::new(
                SqliteStore::open(&self.dir.path().join("metadata.sqlite"))
                    .await
                    .unwrap(),
            ),
        }
    }

    /// Runs `sql` (statements separated by `;`) on the database, outside the store.
    pub(crate) async fn execute(&self, sql: &'static str) {
        if let Some((url, _, _)) = &self.postgres {
            let mut connection = sqlx::PgConnection::connect(url.expose()).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut connection).await.unwrap();
        } else {
            let path = self.dir.path().join("metadata.sqlite");
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
            let mut connection = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            sqlx::raw_sql(sql).execute(&mut connection).await.unwrap();
        }
    }

    /// Drops the `PostgreSQL` database (the `SQLite` file goes with the directory).
    pub(crate) async fn finish(self) {
        let Self {
            store, postgres, ..
        } = self;
        drop(store);
        if let Some((_, admin, name)) = postgres {
            let mut connection = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE {name} WITH (FORCE)"
            )))
            .execute(&mut connection)
            .await
            .unwrap();
        }
    }
}

/// One test per backend of each behaviour named.
macro_rules! behaviours {
    ($($name:ident => $behaviour:path),* $(,)?) => {
        behaviours!(@backend sqlite, $($name => $behaviour),*);
        behaviours!(@backend postgres, $($name => $behaviour),*);
    };
    (@backend $backend:ident, $($name:ident => $behaviour:path),*) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    let Some(test) = super::TestStore::$backend().await else {
                        return;
                    };
                    $behaviour(&test).await;
                    test.finish().await;
                }
            )*
        }
    };
}

behaviours! {
    publish_and_read_back => super::publish_and_read_back,
    a_failing_insert_leaves_nothing => super::a_failing_insert_leaves_nothing,
    list_filters_and_pages => super::list_filters_and_pages,
    copies_and_rollbacks_to_embedded => super::copies_and_rollbacks_to_embedded,
    insert_if_served_acts_once => super::insert_if_served_acts_once,
    rollouts_change_in_place_and_revert => super::rollouts_change_in_place_and_revert,
    revert_racing_a_publish_changes_nothing => super::revert_racing_a_publish,
    source_maps_stay_with_their_update => super::source_maps_stay_with_their_update,
    concurrent_publishers_get_strictly_increasing_created_at =>
        super::concurrent_publishers_get_strictly_increasing_created_at,
    device_reports_count_only_for_served_installs => super::device_reports,
    health_series_count_first_events_per_bucket => super::health_series,
    health_times_are_backfilled_by_their_migration => super::health_times_backfill,
    gc_never_loses_a_blob_to_a_concurrent_publish => super::gc_between_stat_and_insert,
    gc_delete_failure_strands_no_reference => super::gc_delete_failure,
    gc_collects_unregistered_uploads => super::gc_uploads,
    patches_follow_their_launch_assets => super::patches,
    branches_are_created_and_renamed => super::branches_lifecycle,
    branches_are_deleted_only_when_safe => super::branch_deletion,
    channels_point_at_branches_and_split => super::channels_point_and_split,
    a_failed_rename_renames_nothing => super::a_failed_rename_renames_nothing,
    a_deleted_branch_is_collected_as_superseded => super::a_deleted_branch_is_collected,
}

fn scope(channel: &str, platform: Platform) -> Scope {
    Scope::new("default", channel, "1.0.0", platform).unwrap()
}

/// A blob record with both compressed variants.
fn bundle_record(content: &[u8]) -> BlobRecord {
    BlobRecord {
        gzip_size: Some(4),
        br_size: Some(3),
        ..js_blob(content)
    }
}

/// An update with every field set: assets beside the launch asset, metadata, extra, a
/// message.
fn full_update(scope: &Scope, bundle: &BlobRecord, image: &BlobRecord) -> NewUpdate {
    let mut update = update_launching(scope, bundle);
    update.message = Some("Fix login".into());
    update.assets = vec![UpdateAsset {
        hash: image.hash,
        key: "image-key".into(),
        content_type: "image/png".into(),
        file_extension: Some(".png".into()),
    }];
    update.metadata = json!({ "branch": "main" }).as_object().unwrap().clone();
    update.extra = json!({ "expoClient": { "name": "app" } })
        .as_object()
        .unwrap()
        .clone();
    update
}

/// What is inserted reads back whole; the newest update of a scope is served, `created_at`
/// strictly grows, and every insert bumps the change counter.
async fn publish_and_read_back(test: &TestStore) {
    let store = test.store.as_ref();
    store.check_health().await.unwrap();
    let ios = scope("main", Platform::Ios);
    let (bundle, image) = (bundle_record(b"bundle"), js_blob(b"image"));
    let counter = store.change_counter().await.unwrap();
    let new = full_update(&ios, &bundle, &image);
    let first = store
        .insert(&[bundle.clone(), image.clone()], vec![new.clone()])
        .await
        .unwrap();
    let second = store
        .insert(&[], vec![update_launching(&ios, &bundle)])
        .await
        .unwrap();
    assert!(second[0].created_at > first[0].created_at);
    assert_eq!(store.change_counter().await.unwrap(), counter + 2);
    assert_eq!(
        store.blob(&bundle.hash).await.unwrap(),
        Some(bundle.clone())
    );
    assert_eq!(store.blob(&image.hash).await.unwrap(), Some(image.clone()));
    assert_eq!(store.blob(&AssetHash::of(b"unknown")).await.unwrap(), None);

    let read = store.update(new.id).await.unwrap().unwrap();
    assert_eq!(read.info, first[0]);
    assert_eq!(
        (read.info.id, read.info.kind, read.info.message.as_deref()),
        (new.id, UpdateKind::Update, Some("Fix login"))
    );
    assert_eq!(read.info.asset_count, 2);
    assert_eq!(read.launch_asset, new.launch_asset);
    assert_eq!(read.assets, new.assets);
    assert_eq!((read.metadata, read.extra), (new.metadata, new.extra));
    assert!(store.update(Uuid::new_v4()).await.unwrap().is_none());

    let current = store.current(&ios).await.unwrap().unwrap();
    assert_eq!(current.info, second[0]);
    assert!(
        store
            .current(&scope("main", Platform::Android))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.scopes().await.unwrap(), vec![ios]);
}

/// An insert that fails in any row leaves nothing: no update, no blob, no counter bump.
async fn a_failing_insert_leaves_nothing(test: &TestStore) {
    let store = test.store.as_ref();
    let ios = scope("main", Platform::Ios);
    let bundle = js_blob(b"bundle");
    let good = update_launching(&ios, &bundle);
    let mut duplicate = update_launching(&ios, &bundle);
    duplicate.id = good.id;
    let without_launch_asset = NewUpdate {
        launch_asset: None,
        ..update_launching(&ios, &bundle)
    };
    let over_100 = NewUpdate {
        rollout_percent: 101,
        ..update_launching(&ios, &bundle)
    };
    for bad in [duplicate, without_launch_asset, over_100] {
        let refused = store
            .insert(std::slice::from_ref(&bundle), vec![good.clone(), bad])
            .await;
        assert!(refused.is_err());
    }
    // Assets must reference registered blobs.
    assert!(store.insert(&[], vec![good.clone()]).await.is_err());
    let all = store.list(&UpdateFilter::scope(&ios, 10)).await.unwrap();
    assert!(all.is_empty(), "{all:?}");
    assert!(store.blob(&bundle.hash).await.unwrap().is_none());
    assert_eq!(store.change_counter().await.unwrap(), 0);
}

/// `list` filters by app, channel, runtime version and platform, newest first, pages with
/// `before` and stops at `limit`; `scopes` lists each scope once, sorted.
async fn list_filters_and_pages(test: &TestStore) {
    let store = test.store.as_ref();
    let bundle = js_blob(b"bundle");
    store
        .insert(std::slice::from_ref(&bundle), vec![])
        .await
        .unwrap();
    let scopes = [
        scope("main", Platform::Ios),
        scope("main", Platform::Android),
        scope("beta", Platform::Ios),
        Scope::new("shop", "main", "1.0.0", Platform::Ios).unwrap(),
        Scope::new("default", "main", "2.0.0", Platform::Ios).unwrap(),
    ];
    let mut inserted = Vec::new();
    for scope in scopes.iter().chain(std::iter::once(&scopes[0])) {
        inserted.extend(
            store
                .insert(&[], vec![update_launching(scope, &bundle)])
                .await
                .unwrap(),
        );
    }
    let ids = |filter: UpdateFilter| async move {
        let listed = store.list(&filter).await.unwrap();
        listed.into_iter().map(|info| info.id).collect::<Vec<_>>()
    };
    let everything = UpdateFilter {
        limit: 100,
        ..UpdateFilter::default()
    };
    let newest_first: Vec<Uuid> = inserted.iter().rev().map(|info| info.id).collect();
    assert_eq!(ids(everything.clone()).await, newest_first);
    assert_eq!(
        ids(UpdateFilter::scope(&scopes[0], 10)).await,
        [inserted[5].id, inserted[0].id]
    );
    let app = UpdateFilter {
        app: Some("shop".into()),
        ..everything.clone()
    };
    assert_eq!(ids(app).await, [inserted[3].id]);
    let channel = UpdateFilter {
        channel: Some("beta".into()),
        ..everything.clone()
    };
    assert_eq!(ids(channel).await, [inserted[2].id]);
    let platform = UpdateFilter {
        platform: Some(Platform::Android),
        ..everything.clone()
    };
    assert_eq!(ids(platform).await, [inserted[1].id]);
    let runtime = UpdateFilter {
        runtime_version: Some("2.0.0".into()),
        ..everything.clone()
    };
    assert_eq!(ids(runtime).await, [inserted[4].id]);
    let first_page = UpdateFilter {
        limit: 2,
        ..everything.clone()
    };
    assert_eq!(ids(first_page).await, newest_first[..2]);
    let third = &inserted[3];
    let after = UpdateFilter {
        before: Some((third.created_at, third.seq)),
        ..everything
    };
    assert_eq!(ids(after).await, newest_first[3..]);

    // Sorted as stored: by app, channel, runtime version, then platform name.
    let mut expected = scopes.to_vec();
    expected.sort_by(|a, b| {
        (&a.app, &a.channel, &a.runtime_version, a.platform.as_str()).cmp(&(
            &b.app,
            &b.channel,
            &b.runtime_version,
            b.platform.as_str(),
        ))
    });
    assert_eq!(store.scopes().await.unwrap(), expected);
}

/// Copies keep what they copy from; a rollback to the embedded update has no assets.
async fn copies_and_rollbacks_to_embedded(test: &TestStore) {
    let store = test.store.as_ref();
    let ios = scope("main", Platform::Ios);
    let (bundle, image) = (js_blob(b"bundle"), js_blob(b"image"));
    let original = full_update(&ios, &bundle, &image);
    store
        .insert(&[bundle, image], vec![original.clone()])
        .await
        .unwrap();
    let source = store.update(original.id).await.unwrap().unwrap();
    let copy = NewUpdate::copy_of(&source, ios.clone(), Uuid::new_v4(), Some("again".into()));
    let copied = store.insert(&[], vec![copy.clone()]).await.unwrap();
    assert_eq!(copied[0].republished_from, Some(original.id));
    let read = store.update(copy.id).await.unwrap().unwrap();
    assert_eq!(
        (read.launch_asset, read.assets),
        (source.launch_asset, source.assets)
    );

    let embedded = NewUpdate {
        kind: UpdateKind::RollbackToEmbedded,
        launch_asset: None,
        ..update_launching(&ios, &js_blob(b"unused"))
    };
    store.insert(&[], vec![embedded.clone()]).await.unwrap();
    let served = store.current(&ios).await.unwrap().unwrap();
    assert_eq!(served.info.id, embedded.id);
    assert_eq!(served.info.kind, UpdateKind::RollbackToEmbedded);
    assert!(served.launch_asset.is_none() && served.assets.is_empty());
    assert_eq!(served.info.asset_count, 0);
}

/// `insert_if_served` inserts only while the expected update is served; otherwise nothing
/// changes, not even the change counter.
async fn insert_if_served_acts_once(test: &TestStore) {
    let store = test.store.as_ref();
    let ios = scope("main", Platform::Ios);
    let first = publish_js(store, &ios, b"first", 100).await;
    let second = publish_js(store, &ios, b"second", 100).await;
    let bundle = js_blob(b"first");
    let counter = store.change_counter().await.unwrap();
    let stale = store
        .insert_if_served(first.id, update_launching(&ios, &bundle))
        .await
        .unwrap();
    assert!(stale.is_none(), "first is not served");
    assert_eq!(store.change_counter().await.unwrap(), counter);
    assert_eq!(
        store
            .list(&UpdateFilter::scope(&ios, 10))
            .await
            .unwrap()
            .len(),
        2
    );

    let rollback = update_launching(&ios, &bundle);
    let inserted = store
        .insert_if_served(second.id, rollback.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inserted.id, rollback.id);
    assert!(inserted.created_at > second.created_at);
    assert!(store.change_counter().await.unwrap() > counter);
    assert_eq!(
        store.current(&ios).await.unwrap().unwrap().info.id,
        rollback.id
    );
    // The second server deciding the same: second is no longer served.
    let again = store
        .insert_if_served(second.id, update_launching(&ios, &bundle))
        .await
        .unwrap();
    assert!(again.is_none());
}

/// `set_rollout` changes one update in place; `revert_rollout` zeroes the newest update
/// and inserts its replacement in one step, and refuses once it is not the newest.
async fn rollouts_change_in_place_and_revert(test: &TestStore) {
    let store = test.store.as_ref();
    let ios = scope("main", Platform::Ios);
    let base = publish_js(store, &ios, b"base", 100).await;
    let canary = publish_js(store, &ios, b"canary", 10).await;
    assert_eq!(canary.rollout_percent, 10);

    let counter = store.change_counter().await.unwrap();
    let widened = store.set_rollout(canary.id, 50).await.unwrap();
    assert_eq!(
        (widened.id, widened.rollout_percent, widened.created_at),
        (canary.id, 50, canary.created_at)
    );
    assert!(store.change_counter().await.unwrap() > counter);
    assert!(matches!(
        store.set_rollout(Uuid::new_v4(), 50).await,
        Err(Error::UpdateNotFound(_))
    ));
    assert!(matches!(
        store.set_rollout(canary.id, 101).await,
        Err(Error::Invalid(_))
    ));

    let source = store.update(base.id).await.unwrap().unwrap();
    let copy = NewUpdate::copy_of(&source, ios.clone(), Uuid::new_v4(), None);
    let reverted = store
        .revert_rollout(canary.id, copy.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reverted.id, copy.id);
    let canary_now = store.update(canary.id).await.unwrap().unwrap();
    assert_eq!(canary_now.info.rollout_percent, 0);
    // Not the newest any more: refused, nothing changed.
    let counter = store.change_counter().await.unwrap();
    let refused = store
        .revert_rollout(
            canary.id,
            NewUpdate::copy_of(&source, ios.clone(), Uuid::new_v4(), None),
        )
        .await
        .unwrap();
    assert!(refused.is_none());
    assert_eq!(store.change_counter().await.unwrap(), counter);
    assert_eq!(store.current(&ios).await.unwrap().unwrap().info.id, copy.id);
}

async fn revert_racing_a_publish(test: &TestStore) {
    super::rollout::tests::revert_racing_a_publish_changes_nothing(Arc::clone(&test.store)).await;
}

/// Source maps are registered with their update, listed sorted by path with their sizes,
/// and must name registered blobs.
async fn source_maps_stay_with_their_update(test: &TestStore) {
    let store = test.store.as_ref();
    let ios = scope("main", Platform::Ios);
    let (bundle, ios_map, android_map) = (
        js_blob(b"bundle"),
        js_blob(b"{\"version\":3}"),
        js_blob(b"{\"version\":3,\"names\":[]}"),
    );
    let update = update_launching(&ios, &bundle);
    let maps = [
        SourceMap {
            update_id: update.id,
            path: "_expo/static/js/ios/index.js.map".into(),
            hash: ios_map.hash,
        },
        SourceMap {
            update_id: update.id,
            path: "_expo/static/js/android/index.js.map".into(),
            hash: android_map.hash,
        },
    ];
    store
        .insert_with_source_maps(
            &[bundle.clone(), ios_map.clone(), android_map.clone()],
            vec![update.clone()],
            None,
            &maps,
        )
        .await
        .unwrap();
    assert_eq!(
        store.source_maps(update.id).await.unwrap(),
        vec![
            StoredSourceMap {
                path: maps[1].path.clone(),
                hash: android_map.hash,
                size: android_map.size,
            },
            StoredSourceMap {
                path: maps[0].path.clone(),
                hash: ios_map.hash,
                size: ios_map.size,
            },
        ]
    );
    let other = publish_js(store, &ios, b"other", 100).await;
    assert!(store.source_maps(other.id).await.unwrap().is_empty());

    let without_blob = update_launching(&ios, &bundle);
    let unregistered = SourceMap {
        update_id: without_blob.id,
        path: "index.js.map".into(),
        hash: AssetHash::of(b"never registered"),
    };
    let refused = store
        .insert_with_source_maps(&[], vec![without_blob.clone()], None, &[unregistered])
        .await;
    assert!(refused.is_err());
    assert!(store.update(without_blob.id).await.unwrap().is_none());
}

/// Two servers publishing into one scope at once: `created_at` grows with insertion order
/// and every insert counts once in the change counter.
async fn concurrent_publishers_get_strictly_increasing_created_at(test: &TestStore) {
    let (a, b) = (Arc::clone(&test.store), test.reopen().await);
    let android = scope("main", Platform::Android);
    let bundle = js_blob(b"bundle");
    a.insert(std::slice::from_ref(&bundle), vec![])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for store in [&a, &b] {
        for _ in 0..4 {
            let (store, scope, bundle) = (Arc::clone(store), android.clone(), bundle.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..10 {
                    store
                        .insert(&[], vec![update_launching(&scope, &bundle)])
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut all = a.list(&UpdateFilter::scope(&android, 1000)).await.unwrap();
    assert_eq!(all.len(), 80);
    all.sort_by_key(|u| u.seq);
    for pair in all.windows(2) {
        assert!(
            pair[1].created_at > pair[0].created_at,
            "createdAt must grow with insertion order: {pair:?}"
        );
    }
    assert_eq!(b.change_counter().await.unwrap(), 81);
}

async fn device_reports(test: &TestStore) {
    super::device_reports::tests::reports_count_only_for_served_installs(test.store.as_ref()).await;
}

async fn health_series(test: &TestStore) {
    super::device_reports::tests::series_count_first_events_per_bucket(test.store.as_ref()).await;
}

/// Rows written before migration 0008 (no event times) get their last change as the time
/// of each event that happened, and none for the others. The table is put back in its
/// earlier shape (the three columns dropped, the migration unrecorded), then a store opened
/// on the database migrates it again.
async fn health_times_backfill(test: &TestStore) {
    use super::{Buckets, DeviceHash, DeviceReport};
    let store = test.store.as_ref();
    let android = scope("main", Platform::Android);
    let update = publish_js(store, &android, b"old rows", 100).await;
    let row = |device: &str, served, launched, failed| DeviceReport {
        update_id: update.id,
        device: DeviceHash::of_client_id(device),
        served,
        launched,
        failed,
    };
    let (start, minute) = (1_600_000_000_000_i64, 60_000_i64);
    let rows = [
        row("served only", true, false, false),
        row("launched", true, false, false),
        row("failed", true, false, false),
    ];
    store.record_health_at(&rows, start).await.unwrap();
    store
        .record_health_at(&[row("launched", false, true, false)], start + minute)
        .await
        .unwrap();
    store
        .record_health_at(&[row("failed", false, false, true)], start + 2 * minute)
        .await
        .unwrap();
    test.execute(
        "ALTER TABLE update_health DROP COLUMN served_at; \
         ALTER TABLE update_health DROP COLUMN launched_at; \
         ALTER TABLE update_health DROP COLUMN failed_at; \
         DELETE FROM _sqlx_migrations WHERE version = 8",
    )
    .await;
    let migrated = test.reopen().await;
    let buckets = Buckets {
        start,
        width: minute,
        count: 3,
    };
    let series = migrated.health_series(update.id, buckets).await.unwrap();
    // Served: at each row's last change (the approximation); events only where flagged.
    assert_eq!(series.served, [1, 1, 1]);
    assert_eq!(series.launched, [0, 1, 0]);
    assert_eq!(series.failed, [0, 0, 1]);
}

async fn gc_between_stat_and_insert(test: &TestStore) {
    super::gc::tests::gc_between_stat_and_insert(test.store.as_ref(), test.blobs.as_ref()).await;
}

async fn gc_delete_failure(test: &TestStore) {
    let blobs: Arc<dyn crate::blobs::BlobStore> = Arc::clone(&test.blobs) as _;
    super::gc::tests::gc_delete_failure_strands_no_reference(test.store.as_ref(), blobs).await;
}

async fn gc_uploads(test: &TestStore) {
    super::gc::tests::unregistered_uploads_are_collected(test.store.as_ref(), test.blobs.as_ref())
        .await;
}

async fn patches(test: &TestStore) {
    super::gc::tests::patches_follow_their_launch_assets(test.store.as_ref(), test.blobs.as_ref())
        .await;
}

fn change_of(result: Result<(), Error>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(Error::Conflict(_)) => "conflict",
        Err(Error::NotFound(_)) => "not found",
        Err(Error::Invalid(_) | Error::InvalidName { .. }) => "invalid",
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

/// Branches exist through their updates or a `branches` row; create and rename refuse what
/// would clash, each change bumping the change counter.
async fn branches_lifecycle(test: &TestStore) {
    use super::channels::{self, BranchChange};
    let store = test.store.as_ref();
    publish_js(store, &scope("production", Platform::Ios), b"p1", 100).await;
    publish_js(store, &scope("production", Platform::Android), b"p2", 100).await;
    let change = |c| store.change_branches("default", c);
    assert_eq!(
        change_of(change(BranchChange::Create("staging".into())).await),
        "ok"
    );
    assert_eq!(
        change_of(change(BranchChange::Create("staging".into())).await),
        "conflict"
    );
    assert_eq!(
        change_of(change(BranchChange::Create("production".into())).await),
        "conflict",
        "a branch with updates exists without a row"
    );
    let listed = channels::branches(store, "default").await.unwrap();
    let names: Vec<(&str, u64, Vec<String>)> = listed
        .iter()
        .map(|b| (b.name.as_str(), b.updates, b.channels.clone()))
        .collect();
    assert_eq!(
        names,
        [
            ("production", 2, vec!["production".to_owned()]),
            ("staging", 0, vec!["staging".to_owned()])
        ]
    );
    assert!(store.branches("other-app").await.unwrap().is_empty());

    // Renaming onto an existing branch, or a missing one, changes nothing.
    let counter = store.change_counter().await.unwrap();
    let rename = |from: &str, to: &str| BranchChange::Rename {
        from: from.into(),
        to: to.into(),
    };
    assert_eq!(
        change_of(change(rename("production", "staging")).await),
        "conflict"
    );
    assert_eq!(
        change_of(change(rename("nope", "other")).await),
        "not found"
    );
    assert_eq!(store.change_counter().await.unwrap(), counter);

    // A rename moves the updates; the same-named channel keeps serving them.
    assert_eq!(change_of(change(rename("production", "prod")).await), "ok");
    assert!(store.change_counter().await.unwrap() > counter);
    let moved = store
        .list(&UpdateFilter {
            channel: Some("prod".into()),
            limit: 10,
            ..UpdateFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(moved.len(), 2);
    assert!(
        store
            .current(&scope("production", Platform::Ios))
            .await
            .unwrap()
            .is_none()
    );
    let production = channels::channel(store, "default", "production")
        .await
        .unwrap();
    assert_eq!(production.branch, "prod");
}

/// Deleting a branch: refused while a channel row points at it, and while it has updates
/// unless forced; forced, its updates leave every scope but stay for gc.
async fn branch_deletion(test: &TestStore) {
    use super::channels::{self, BranchChange};
    let store = test.store.as_ref();
    publish_js(store, &scope("production", Platform::Ios), b"p1", 100).await;
    publish_js(store, &scope("production", Platform::Android), b"p2", 100).await;
    let change = |c| store.change_branches("default", c);
    change(BranchChange::Create("staging".into()))
        .await
        .unwrap();
    // Channel production keeps serving the renamed branch through a row.
    change(BranchChange::Rename {
        from: "production".into(),
        to: "prod".into(),
    })
    .await
    .unwrap();
    let moved = store
        .list(&UpdateFilter {
            channel: Some("prod".into()),
            limit: 10,
            ..UpdateFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(moved.len(), 2);
    // Deleting: refused while a channel points at it, or while it has updates.
    assert_eq!(
        change_of(
            change(BranchChange::Delete {
                name: "prod".into(),
                force: true
            })
            .await
        ),
        "conflict"
    );
    channels::point(store, "default", "production", "staging")
        .await
        .unwrap();
    assert_eq!(
        change_of(
            change(BranchChange::Delete {
                name: "prod".into(),
                force: false
            })
            .await
        ),
        "conflict",
        "updates are not dropped without force"
    );
    assert_eq!(moved.len(), 2);
    assert_eq!(
        change_of(
            change(BranchChange::Delete {
                name: "prod".into(),
                force: true
            })
            .await
        ),
        "ok"
    );
    let left: Vec<String> = store
        .branches("default")
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(left, ["staging"]);
    // The updates are kept (for gc), out of every scope clients or listings reach.
    for update in &moved {
        assert!(store.update(update.id).await.unwrap().is_some());
    }
    assert!(store.scopes().await.unwrap().is_empty());
    // An empty branch goes without force, once no channel points at it.
    channels::point(store, "default", "production", "production")
        .await
        .expect_err("branch production no longer exists");
    test.store
        .change_branches("default", BranchChange::Create("production".into()))
        .await
        .unwrap();
    channels::point(store, "default", "production", "production")
        .await
        .unwrap();
    assert_eq!(
        change_of(
            change(BranchChange::Delete {
                name: "staging".into(),
                force: false
            })
            .await
        ),
        "ok"
    );
}

/// Channels point at one branch or split between two; the rows read back as written, and
/// the split's checks refuse what makes no sense.
async fn channels_point_and_split(test: &TestStore) {
    use super::channels::{self, Keep, Split};
    let store = test.store.as_ref();
    publish_js(store, &scope("main", Platform::Ios), b"m", 100).await;
    publish_js(store, &scope("canary", Platform::Ios), b"c", 100).await;
    assert!(store.channels(None).await.unwrap().is_empty());
    let implicit = channels::channel(store, "default", "main").await.unwrap();
    assert_eq!((implicit.branch.as_str(), implicit.split), ("main", None));

    let counter = store.change_counter().await.unwrap();
    let split = channels::split(store, "default", "main", "canary", 50)
        .await
        .unwrap();
    assert!(store.change_counter().await.unwrap() > counter);
    assert_eq!(
        split.split,
        Some(Split {
            branch: "canary".into(),
            percent: 50
        })
    );
    assert_eq!(store.channels(Some("default")).await.unwrap(), [split]);
    assert!(store.channels(Some("other")).await.unwrap().is_empty());
    channels::split(store, "default", "main", "canary", 80)
        .await
        .unwrap();
    let widened = channels::channel(store, "default", "main").await.unwrap();
    assert_eq!(widened.split.unwrap().percent, 80);

    for (branch, percent) in [("main", 10), ("canary", 101), ("missing", 10), ("a/b", 10)] {
        assert!(
            channels::split(store, "default", "main", branch, percent)
                .await
                .is_err(),
            "{branch} {percent}"
        );
    }
    let kept = channels::end_split(store, "default", "main", Keep::Split)
        .await
        .unwrap();
    assert_eq!((kept.branch.as_str(), kept.split), ("canary", None));
    assert!(matches!(
        channels::end_split(store, "default", "main", Keep::Main).await,
        Err(Error::Nothing(_))
    ));
    let listed = channels::channels(store, "default").await.unwrap();
    let pairs: Vec<(&str, &str)> = listed
        .iter()
        .map(|c| (c.name.as_str(), c.branch.as_str()))
        .collect();
    assert_eq!(pairs, [("canary", "canary"), ("main", "canary")]);
}

/// A rename failing half-way (the channels table gone after the updates were renamed)
/// leaves every update under its old branch.
async fn a_failed_rename_renames_nothing(test: &TestStore) {
    use super::channels::BranchChange;
    let store = test.store.as_ref();
    let ios = scope("main", Platform::Ios);
    let update = publish_js(store, &ios, b"m", 100).await;
    test.execute("ALTER TABLE channels RENAME TO channels_gone")
        .await;
    let failed = store
        .change_branches(
            "default",
            BranchChange::Rename {
                from: "main".into(),
                to: "renamed".into(),
            },
        )
        .await;
    assert!(matches!(failed, Err(Error::Database(_))), "{failed:?}");
    test.execute("ALTER TABLE channels_gone RENAME TO channels")
        .await;
    let served = store.current(&ios).await.unwrap().unwrap();
    assert_eq!(served.info.id, update.id);
    let names: Vec<String> = store
        .branches("default")
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, ["main"]);
}

/// The updates of a deleted branch are collected once past the cutoff, even the newest.
async fn a_deleted_branch_is_collected(test: &TestStore) {
    use super::channels::BranchChange;
    let store = test.store.as_ref();
    let kept = publish_js(store, &scope("main", Platform::Ios), b"kept", 100).await;
    let old = publish_js(store, &scope("old", Platform::Ios), b"old", 100).await;
    store
        .change_branches(
            "default",
            BranchChange::Delete {
                name: "old".into(),
                force: true,
            },
        )
        .await
        .unwrap();
    let cutoffs = super::gc::Cutoffs::every_app(super::now_millis() + 1000);
    let report = store
        .collect_garbage(&cutoffs, false, test.blobs.as_ref())
        .await
        .unwrap();
    assert_eq!(report.updates, [old.id]);
    assert!(store.update(old.id).await.unwrap().is_none());
    assert!(store.update(kept.id).await.unwrap().is_some());
}
