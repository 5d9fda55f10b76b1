//! [`MetadataStore`] on `SQLite` (WAL mode), the default backend.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::Row as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use uuid::Uuid;

use super::channels::{self, Branch, BranchChange, Channel};
use super::rows::{self, now_millis, to_i64};
use super::{
    AssetHash, BlobRecord, Buckets, DeviceReport, GcReport, HealthSeries, MetadataStore, NewUpdate,
    PatchRecord, Platform, Scope, SourceMap, StoredSourceMap, Update, UpdateFilter, UpdateHealth,
    UpdateInfo,
};
use crate::blobs::BlobStore;
use crate::error::{Error, Result};

/// Takes the exclusive lock on `<path>.lock`, waiting for another process to release it.
async fn open_lock(path: &Path) -> Result<std::fs::File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = std::path::PathBuf::from(name);
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .and_then(|file| file.lock().map(|()| file));
        file.map_err(|e| Error::io(lock_path, e))
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?
}

/// Metadata in one `SQLite` file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    ///
    /// Processes opening the same file at once (a `serve` and a CLI command right after
    /// installation, say) take turns: sqlx has no migration lock for `SQLite`, and two
    /// processes migrating a fresh file would both try to create its tables. An exclusive
    /// lock on `<file>.lock` (released when the process exits, however it exits) is held
    /// while connecting and migrating.
    pub async fn open(path: &Path) -> Result<Self> {
        let lock = open_lock(path).await?;
        let opened = Self::open_unlocked(path).await;
        drop(lock);
        opened
    }

    async fn open_unlocked(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed publish survives a power cut, not only a killed process.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn full_update(&self, row: Option<SqliteRow>) -> Result<Option<Update>> {
        let Some(row) = row else { return Ok(None) };
        let assets = sqlx::query(rows::SELECT_ASSETS)
            .bind(row.try_get::<String, _>("id")?)
            .fetch_all(&self.pool)
            .await?;
        rows::update(&row, &assets).map(Some)
    }
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn check_health(&self) -> Result<()> {
        sqlx::query("SELECT value FROM change_counter WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    async fn change_counter(&self) -> Result<i64> {
        let row = sqlx::query("SELECT value FROM change_counter WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("value")?)
    }

    async fn blob(&self, hash: &AssetHash) -> Result<Option<BlobRecord>> {
        let row = sqlx::query(rows::SELECT_BLOB)
            .bind(hash.to_hex())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| rows::blob(*hash, &row)).transpose()
    }

    async fn insert_with_source_maps(
        &self,
        blobs: &[BlobRecord],
        updates: Vec<NewUpdate>,
        since: Option<i64>,
        source_maps: &[SourceMap],
    ) -> Result<Vec<UpdateInfo>> {
        let mut tx = self.pool.begin().await?;
        // Writing first makes this a write transaction from the start: writers queue on
        // the database lock instead of failing to upgrade a read snapshot.
        sqlx::query("UPDATE change_counter SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        super::gc::check_not_removed!(tx, blobs, since);
        let inserted = rows::insert_all!(&mut tx, blobs, updates, source_maps, now_millis());
        tx.commit().await?;
        Ok(inserted)
    }

    async fn source_maps(&self, id: Uuid) -> Result<Vec<StoredSourceMap>> {
        sqlx::query(rows::SELECT_SOURCE_MAPS)
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::source_map)
            .collect()
    }

    async fn record_upload(&self, hash: &AssetHash, size: u64) -> Result<()> {
        sqlx::query(
            "INSERT INTO uploads (hash, size, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (hash) DO UPDATE SET size = excluded.size, created_at = excluded.created_at",
        )
        .bind(hash.to_hex())
        .bind(to_i64(size)?)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_rollout(&self, id: Uuid, percent: u8) -> Result<UpdateInfo> {
        if percent > 100 {
            return Err(Error::Invalid(format!("rollout {percent}% is above 100")));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE change_counter SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        let changed = sqlx::query("UPDATE updates SET rollout_percent = ?1 WHERE id = ?2")
            .bind(i64::from(percent))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(Error::UpdateNotFound(id));
        }
        let row = sqlx::query(concat!(
            "SELECT ",
            rows::info_columns!(),
            " FROM updates u WHERE u.id = ?1"
        ))
        .bind(id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let info = rows::info(&row)?;
        tx.commit().await?;
        Ok(info)
    }

    async fn collect_garbage(
        &self,
        cutoffs: &super::gc::Cutoffs,
        dry_run: bool,
        blobs: &dyn BlobStore,
    ) -> Result<GcReport> {
        let mut tx = self.pool.begin().await?;
        let counter: i64 =
            sqlx::query("UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value")
                .fetch_one(&mut *tx)
                .await?
                .try_get("value")?;
        let report =
            super::gc::collect_garbage_body!(tx, counter, cutoffs, dry_run, blobs, now_millis());
        if !dry_run {
            super::gc::finish_deletions!(&self.pool, blobs)?;
        }
        Ok(report)
    }

    async fn update(&self, id: Uuid) -> Result<Option<Update>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            rows::info_columns!(),
            ", u.metadata, u.extra FROM updates u WHERE u.id = ?1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        self.full_update(row).await
    }

    async fn current(&self, scope: &Scope) -> Result<Option<Update>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            rows::info_columns!(),
            ", u.metadata, u.extra FROM updates u \
             WHERE u.app = ?1 AND u.channel = ?2 AND u.runtime_version = ?3 AND u.platform = ?4 \
             ORDER BY u.created_at DESC, u.seq DESC LIMIT 1"
        ))
        .bind(&scope.app)
        .bind(&scope.channel)
        .bind(&scope.runtime_version)
        .bind(scope.platform.as_str())
        .fetch_optional(&self.pool)
        .await?;
        self.full_update(row).await
    }

    async fn list(&self, filter: &UpdateFilter) -> Result<Vec<UpdateInfo>> {
        let (before_at, before_seq) = filter.before.unzip();
        let rows = sqlx::query(concat!(
            "SELECT ",
            rows::info_columns!(),
            " FROM updates u \
             WHERE (?1 IS NULL OR u.app = ?1) AND (?2 IS NULL OR u.channel = ?2) \
             AND (?3 IS NULL OR u.runtime_version = ?3) AND (?4 IS NULL OR u.platform = ?4) \
             AND (?5 IS NULL OR u.created_at < ?5 OR (u.created_at = ?5 AND u.seq < ?6)) \
             ORDER BY u.created_at DESC, u.seq DESC LIMIT ?7"
        ))
        .bind(filter.app.as_deref())
        .bind(filter.channel.as_deref())
        .bind(filter.runtime_version.as_deref())
        .bind(filter.platform.map(Platform::as_str))
        .bind(before_at)
        .bind(before_seq)
        .bind(i64::from(filter.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::info).collect()
    }

    async fn scopes(&self) -> Result<Vec<Scope>> {
        let rows = sqlx::query(rows::SELECT_SCOPES)
            .bind(&super::channels::RETIRED_PREFIX[..1])
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::scope).collect()
    }

    async fn channels(&self, app: Option<&str>) -> Result<Vec<Channel>> {
        let rows = sqlx::query(channels::SELECT_CHANNELS)
            .bind(app)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(channels::channel_row).collect()
    }

    async fn branches(&self, app: &str) -> Result<Vec<Branch>> {
        let rows = sqlx::query(channels::SELECT_BRANCHES)
            .bind(app)
            .bind(&channels::RETIRED_PREFIX[..1])
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(channels::branch_row).collect()
    }

    async fn change_branches(&self, app: &str, change: BranchChange) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE change_counter SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        channels::apply_change!(&mut tx, app, change, now_millis());
        tx.commit().await?;
        Ok(())
    }

    async fn patch(&self, base: &AssetHash, target: &AssetHash) -> Result<Option<PatchRecord>> {
        let row = sqlx::query(rows::SELECT_PATCH)
            .bind(base.to_hex())
            .bind(target.to_hex())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| rows::patch(*base, *target, &row)).transpose()
    }

    async fn record_patch(&self, record: &PatchRecord) -> Result<bool> {
        let (outcome, patch_hash, size, detail) = record.columns()?;
        // One statement: it takes the database's write lock, which a collection holds for
        // its whole transaction, so the existence checks see its outcome.
        let inserted = sqlx::query(rows::INSERT_PATCH)
            .bind(record.base.to_hex())
            .bind(record.target.to_hex())
            .bind(outcome)
            .bind(patch_hash)
            .bind(size)
            .bind(detail)
            .bind(now_millis())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(inserted == 1)
    }

    async fn record_health_at(&self, reports: &[DeviceReport], now: i64) -> Result<Vec<Uuid>> {
        if reports.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;
        let mut changed = std::collections::BTreeSet::new();
        for report in reports {
            // Only the server's own record of an answer creates a row; a device's report
            // changes the row of an install that was served the update, or nothing.
            let statement = if report.served {
                "INSERT INTO update_health (update_id, device, launched, failed, changed_at, \
                 served_at, launched_at, failed_at) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?5, CASE WHEN ?3 = 1 THEN ?5 END, \
                 CASE WHEN ?4 = 1 THEN ?5 END \
                 WHERE EXISTS (SELECT 1 FROM updates WHERE id = ?1) \
                 ON CONFLICT (update_id, device) DO UPDATE SET \
                 launched = MAX(update_health.launched, excluded.launched), \
                 failed = MAX(update_health.failed, excluded.failed), \
                 changed_at = excluded.changed_at, \
                 launched_at = COALESCE(update_health.launched_at, excluded.launched_at), \
                 failed_at = COALESCE(update_health.failed_at, excluded.failed_at) \
                 WHERE excluded.launched > update_health.launched \
                 OR excluded.failed > update_health.failed"
            } else {
                // The right-hand sides read the row as it was: a time is set when its flag
                // turns on, and kept after.
                "UPDATE update_health SET launched = MAX(launched, ?3), \
                 failed = MAX(failed, ?4), changed_at = ?5, \
                 launched_at = CASE WHEN launched = 0 AND ?3 = 1 THEN ?5 ELSE launched_at END, \
                 failed_at = CASE WHEN failed = 0 AND ?4 = 1 THEN ?5 ELSE failed_at END \
                 WHERE update_id = ?1 AND device = ?2 AND (launched < ?3 OR failed < ?4)"
            };
            let written = sqlx::query(statement)
                .bind(report.update_id.to_string())
                .bind(report.device.to_hex())
                .bind(i64::from(report.launched))
                .bind(i64::from(report.failed))
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if written > 0 {
                changed.insert(report.update_id);
            }
        }
        tx.commit().await?;
        Ok(changed.into_iter().collect())
    }

    async fn health(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, UpdateHealth>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // One bind however many ids: a JSON array read back with json_each.
        let ids = Value::Array(ids.iter().map(|id| Value::String(id.to_string())).collect());
        let query = format!(
            "{} WHERE update_id IN (SELECT value FROM json_each(?1)) GROUP BY update_id",
            rows::HEALTH_COLUMNS
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(query))
            .bind(ids.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::health).collect()
    }

    async fn health_series(&self, id: Uuid, buckets: Buckets) -> Result<HealthSeries> {
        let rows = sqlx::query(rows::HEALTH_SERIES)
            .bind(id.to_string())
            .bind(buckets.start)
            .bind(buckets.width)
            .bind(buckets.end())
            .fetch_all(&self.pool)
            .await?;
        rows::health_series(buckets, &rows)
    }

    async fn insert_if_served(
        &self,
        expected: Uuid,
        update: NewUpdate,
    ) -> Result<Option<UpdateInfo>> {
        self.insert_if_newest(expected, update, false).await
    }

    async fn revert_rollout(&self, expected: Uuid, copy: NewUpdate) -> Result<Option<UpdateInfo>> {
        self.insert_if_newest(expected, copy, true).await
    }
}

impl SqliteStore {
    /// Registers `update` only if `expected` is still the newest update of its scope,
    /// first setting `expected`'s rollout to 0 % when `zero_expected`; one transaction.
    async fn insert_if_newest(
        &self,
        expected: Uuid,
        update: NewUpdate,
        zero_expected: bool,
    ) -> Result<Option<UpdateInfo>> {
        let mut tx = self.pool.begin().await?;
        // Writing first takes the database lock: no other writer can change what the scope
        // serves between the check and the insert.
        sqlx::query("UPDATE change_counter SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        let info = rows::insert_if_newest!(&mut tx, expected, update, zero_expected);
        // Without an insert, dropping the transaction rolls the counter back.
        if info.is_some() {
            tx.commit().await?;
        }
        Ok(info)
    }
}
