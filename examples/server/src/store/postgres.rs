//! [`MetadataStore`] on `PostgreSQL`, for several servers sharing one database.
//!
//! The tables are those of the `SQLite` store (migrations/postgres/ mirrors
//! migrations/sqlite/), with `BIGINT` integers. Every write transaction starts by bumping
//! the change counter: that row lock serializes writers, so the newest `created_at` of a
//! scope read next is final until commit and `created_at` strictly grows per scope even
//! with concurrent publishers on different machines.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{ConnectOptions as _, Connection as _, Row as _};
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

/// How long a query waits for a connection (or a new one to be established) before the
/// database counts as unreachable.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A `postgres://` (or `postgresql://`) URL; its password never appears in logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    shown: String,
}

impl DatabaseUrl {
    /// The URL, password included (to connect).
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// `host:port/database`, for messages.
    pub fn target(&self) -> &str {
        &self.shown
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let rest = s
            .strip_prefix("postgres://")
            .or_else(|| s.strip_prefix("postgresql://"))
            .ok_or_else(|| {
                Error::Config(
                    "the database URL must start with postgres:// or postgresql://".into(),
                )
            })?;
        let options: PgConnectOptions = s
            .parse()
            .map_err(|e| Error::Config(format!("database URL: {e}")))?;
        // Only what follows the credentials, without the query (it may hold a password).
        let after_credentials = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        let shown = after_credentials
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        let shown = if shown.is_empty() {
            format!("{}:{}", options.get_host(), options.get_port())
        } else {
            shown
        };
        Ok(Self {
            url: s.to_owned(),
            shown,
        })
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl(postgres://…@{})", self.shown)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "postgres://{}", self.shown)
    }
}

/// Metadata in a `PostgreSQL` database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    target: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects and applies pending migrations (concurrent servers starting together are
    /// serialized by the migrator's advisory lock).
    pub async fn open(url: &DatabaseUrl) -> Result<Self> {
        let target = url.target().to_owned();
        let options: PgConnectOptions = url
            .expose()
            .parse::<PgConnectOptions>()
            .map_err(|e| Error::Config(format!("database URL: {e}")))?
            .application_name("expo-update-server")
            .log_statements(tracing::log::LevelFilter::Trace);
        // One direct attempt first: the pool would retry a refused connection until its
        // timeout and then report only that it timed out.
        let first = tokio::time::timeout(ACQUIRE_TIMEOUT, options.connect())
            .await
            .map_err(|_| unreachable(&target, "no answer within 5 s"))?
            .map_err(|e| unreachable(&target, &e.to_string()))?;
        first.close().await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| Self::error(&target, e))?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool, target })
    }

    /// Turns errors that mean "the database is gone" into one that says so.
    fn error(target: &str, error: sqlx::Error) -> Error {
        match error {
            sqlx::Error::PoolTimedOut => unreachable(
                target,
                "no connection could be established within 5 s (is PostgreSQL running?)",
            ),
            sqlx::Error::Io(e) => unreachable(target, &e.to_string()),
            sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                unreachable(target, &error.to_string())
            }
            other => Error::Database(other),
        }
    }

    fn map<T>(&self, result: Result<T, sqlx::Error>) -> Result<T> {
        result.map_err(|e| Self::error(&self.target, e))
    }

    async fn full_update(&self, row: Option<PgRow>) -> Result<Option<Update>> {
        let Some(row) = row else { return Ok(None) };
        let assets = self.map(
            sqlx::query(rows::SELECT_ASSETS)
                .bind(row.try_get::<String, _>("id")?)
                .fetch_all(&self.pool)
                .await,
        )?;
        rows::update(&row, &assets).map(Some)
    }

    async fn insert_tx(
        &self,
        blobs: &[BlobRecord],
        updates: Vec<NewUpdate>,
        since: Option<i64>,
        source_maps: &[SourceMap],
    ) -> Result<Vec<UpdateInfo>, InsertError> {
        let mut tx = self.pool.begin().await?;
        // The row lock that serializes writers (see the module docs).
        sqlx::query("UPDATE change_counter SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        super::gc::check_not_removed!(tx, blobs, since);
        let inserted = rows::insert_all!(&mut tx, blobs, updates, source_maps, now_millis());
        tx.commit().await?;
        Ok(inserted)
    }
}

fn unreachable(target: &str, why: &str) -> Error {
    Error::DatabaseUnreachable {
        target: target.to_owned(),
        reason: why.to_owned(),
    }
}

/// An insert failed in SQL or in our own checks.
enum InsertError {
    Sql(sqlx::Error),
    Other(Error),
}

impl From<sqlx::Error> for InsertError {
    fn from(e: sqlx::Error) -> Self {
        Self::Sql(e)
    }
}

impl From<Error> for InsertError {
    fn from(e: Error) -> Self {
        Self::Other(e)
    }
}

#[async_trait]
impl MetadataStore for PostgresStore {
    async fn check_health(&self) -> Result<()> {
        self.change_counter().await.map(drop)
    }

    async fn change_counter(&self) -> Result<i64> {
        let row = self.map(
            sqlx::query("SELECT value FROM change_counter WHERE id = 1")
                .fetch_one(&self.pool)
                .await,
        )?;
        Ok(row.try_get("value")?)
    }

    async fn blob(&self, hash: &AssetHash) -> Result<Option<BlobRecord>> {
        let row = self.map(
            sqlx::query(rows::SELECT_BLOB)
                .bind(hash.to_hex())
                .fetch_optional(&self.pool)
                .await,
        )?;
        row.map(|row| rows::blob(*hash, &row)).transpose()
    }

    async fn insert_with_source_maps(
        &self,
        blobs: &[BlobRecord],
        updates: Vec<NewUpdate>,
        since: Option<i64>,
        source_maps: &[SourceMap],
    ) -> Result<Vec<UpdateInfo>> {
        // Dropping the transaction on error rolls it back: nothing of it is visible.
        match self.insert_tx(blobs, updates, since, source_maps).await {
            Ok(inserted) => Ok(inserted),
            Err(InsertError::Sql(e)) => Err(Self::error(&self.target, e)),
            Err(InsertError::Other(e)) => Err(e),
        }
    }

    async fn source_maps(&self, id: Uuid) -> Result<Vec<StoredSourceMap>> {
        sqlx::query(rows::SELECT_SOURCE_MAPS)
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| Self::error(&self.target, e))?
            .iter()
            .map(rows::source_map)
            .collect()
    }

    async fn record_upload(&self, hash: &AssetHash, size: u64) -> Result<()> {
        sqlx::query(
            "INSERT INTO uploads (hash, size, created_at) VALUES ($1, $2, $3) \
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
        let result: Result<UpdateInfo, InsertError> = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("UPDATE change_counter SET value = value + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            let changed = sqlx::query("UPDATE updates SET rollout_percent = $1 WHERE id = $2")
                .bind(i64::from(percent))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 0 {
                return Err(Error::UpdateNotFound(id).into());
            }
            let row = sqlx::query(concat!(
                "SELECT ",
                rows::info_columns!(),
                " FROM updates u WHERE u.id = $1"
            ))
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
            let info = rows::info(&row)?;
            tx.commit().await?;
            Ok(info)
        }
        .await;
        match result {
            Ok(info) => Ok(info),
            Err(InsertError::Sql(e)) => Err(Self::error(&self.target, e)),
            Err(InsertError::Other(e)) => Err(e),
        }
    }

    async fn collect_garbage(
        &self,
        cutoffs: &super::gc::Cutoffs,
        dry_run: bool,
        blobs: &dyn BlobStore,
    ) -> Result<GcReport> {
        let result: Result<GcReport, InsertError> = async {
            let mut tx = self.pool.begin().await?;
            let counter: i64 = sqlx::query(
                "UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value",
            )
            .fetch_one(&mut *tx)
            .await?
            .try_get("value")?;
            let report = super::gc::collect_garbage_body!(
                tx,
                counter,
                cutoffs,
                dry_run,
                blobs,
                now_millis()
            );
            if !dry_run {
                super::gc::finish_deletions!(&self.pool, blobs).map_err(InsertError::Other)?;
            }
            Ok(report)
        }
        .await;
        match result {
            Ok(report) => Ok(report),
            Err(InsertError::Sql(e)) => Err(Self::error(&self.target, e)),
            Err(InsertError::Other(e)) => Err(e),
        }
    }

    async fn update(&self, id: Uuid) -> Result<Option<Update>> {
        let row = self.map(
            sqlx::query(concat!(
                "SELECT ",
                rows::info_columns!(),
                ", u.metadata, u.extra FROM updates u WHERE u.id = $1"
            ))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await,
        )?;
        self.full_update(row).await
    }

    async fn current(&self, scope: &Scope) -> Result<Option<Update>> {
        let row = self.map(
            sqlx::query(concat!(
                "SELECT ",
                rows::info_columns!(),
                ", u.metadata, u.extra FROM updates u \
                 WHERE u.app = $1 AND u.channel = $2 AND u.runtime_version = $3 \
                 AND u.platform = $4 ORDER BY u.created_at DESC, u.seq DESC LIMIT 1"
            ))
            .bind(&scope.app)
            .bind(&scope.channel)
            .bind(&scope.runtime_version)
            .bind(scope.platform.as_str())
            .fetch_optional(&self.pool)
            .await,
        )?;
        self.full_update(row).await
    }

    async fn list(&self, filter: &UpdateFilter) -> Result<Vec<UpdateInfo>> {
        // Only the conditions the filter sets, as plain comparisons: a prepared statement
        // with `($1 IS NULL OR u.channel = $1)` gets a generic plan after five runs, which
        // cannot use `updates_by_scope` and walks every update instead (a partial rollout's
        // lookup went from 2 ms with 10 updates to 35 ms with 100,000).
        let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new(concat!(
            "SELECT ",
            rows::info_columns!(),
            " FROM updates u WHERE TRUE"
        ));
        let platform = filter.platform.map(Platform::as_str);
        for (column, value) in [
            (" AND u.app = ", filter.app.as_deref()),
            (" AND u.channel = ", filter.channel.as_deref()),
            (
                " AND u.runtime_version = ",
                filter.runtime_version.as_deref(),
            ),
            (" AND u.platform = ", platform),
        ] {
            if let Some(value) = value {
                query.push(column).push_bind(value);
            }
        }
        if let Some((before_at, before_seq)) = filter.before {
            query
                .push(" AND (u.created_at, u.seq) < (")
                .push_bind(before_at)
                .push(", ")
                .push_bind(before_seq)
                .push(")");
        }
        query
            .push(" ORDER BY u.created_at DESC, u.seq DESC LIMIT ")
            .push_bind(i64::from(filter.limit));
        let rows = self.map(query.build().fetch_all(&self.pool).await)?;
        rows.iter().map(rows::info).collect()
    }

    async fn scopes(&self) -> Result<Vec<Scope>> {
        let rows = self.map(
            sqlx::query(rows::SELECT_SCOPES)
                .bind(&super::channels::RETIRED_PREFIX[..1])
                .fetch_all(&self.pool)
                .await,
        )?;
        rows.iter().map(rows::scope).collect()
    }

    async fn channels(&self, app: Option<&str>) -> Result<Vec<Channel>> {
        let rows = self.map(
            sqlx::query(channels::SELECT_CHANNELS)
                .bind(app)
                .fetch_all(&self.pool)
                .await,
        )?;
        rows.iter().map(channels::channel_row).collect()
    }

    async fn branches(&self, app: &str) -> Result<Vec<Branch>> {
        let rows = self.map(
            sqlx::query(channels::SELECT_BRANCHES)
                .bind(app)
                .bind(&channels::RETIRED_PREFIX[..1])
                .fetch_all(&self.pool)
                .await,
        )?;
        rows.iter().map(channels::branch_row).collect()
    }

    async fn change_branches(&self, app: &str, change: BranchChange) -> Result<()> {
        let mut tx = self.map(self.pool.begin().await)?;
        // The row lock that serializes writers (see the module docs).
        sqlx::query("UPDATE change_counter SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        channels::apply_change!(&mut tx, app, change, now_millis());
        tx.commit().await?;
        Ok(())
    }

    async fn patch(&self, base: &AssetHash, target: &AssetHash) -> Result<Option<PatchRecord>> {
        let row = self.map(
            sqlx::query(rows::SELECT_PATCH)
                .bind(base.to_hex())
                .bind(target.to_hex())
                .fetch_optional(&self.pool)
                .await,
        )?;
        row.map(|row| rows::patch(*base, *target, &row)).transpose()
    }

    async fn record_patch(&self, record: &PatchRecord) -> Result<bool> {
        let (outcome, patch_hash, size, detail) = record.columns()?;
        let result: Result<bool, sqlx::Error> = async {
            let mut tx = self.pool.begin().await?;
            // The writer lock without a bump: a patch changes no manifest, so replicas
            // keep their caches; a collection holding the lock is waited for, and the
            // existence checks below then see what it deleted.
            sqlx::query("SELECT value FROM change_counter WHERE id = 1 FOR UPDATE")
                .execute(&mut *tx)
                .await?;
            let inserted = sqlx::query(rows::INSERT_PATCH)
                .bind(record.base.to_hex())
                .bind(record.target.to_hex())
                .bind(outcome)
                .bind(patch_hash)
                .bind(size)
                .bind(detail)
                .bind(now_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(inserted == 1)
        }
        .await;
        self.map(result)
    }

    async fn record_health_at(&self, reports: &[DeviceReport], now: i64) -> Result<Vec<Uuid>> {
        if reports.is_empty() {
            return Ok(Vec::new());
        }
        // Sorted, so servers upserting overlapping batches lock rows in the same order
        // (no deadlock); one statement over arrays per kind, so two round trips per batch.
        let mut sorted: Vec<&DeviceReport> = reports.iter().collect();
        sorted.sort_by_key(|r| (r.update_id, r.device));
        let columns = |served: bool| {
            let chosen: Vec<&&DeviceReport> =
                sorted.iter().filter(|r| r.served == served).collect();
            (
                chosen
                    .iter()
                    .map(|r| r.update_id.to_string())
                    .collect::<Vec<_>>(),
                chosen.iter().map(|r| r.device.to_hex()).collect::<Vec<_>>(),
                chosen
                    .iter()
                    .map(|r| i64::from(r.launched))
                    .collect::<Vec<_>>(),
                chosen
                    .iter()
                    .map(|r| i64::from(r.failed))
                    .collect::<Vec<_>>(),
            )
        };
        let mut tx = self.map(self.pool.begin().await)?;
        let mut changed = std::collections::BTreeSet::new();
        // Only the server's own record of an answer creates a row; a device's report
        // changes the row of an install that was served the update, or nothing.
        for (served, statement) in [
            (
                false,
                "UPDATE update_health h SET \
                 launched = GREATEST(h.launched, r.launched), \
                 failed = GREATEST(h.failed, r.failed), changed_at = $5, \
                 launched_at = CASE WHEN h.launched = 0 AND r.launched = 1 THEN $5 \
                 ELSE h.launched_at END, \
                 failed_at = CASE WHEN h.failed = 0 AND r.failed = 1 THEN $5 \
                 ELSE h.failed_at END \
                 FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[]) \
                      AS r (update_id, device, launched, failed) \
                 WHERE h.update_id = r.update_id AND h.device = r.device \
                 AND (h.launched < r.launched OR h.failed < r.failed) \
                 RETURNING h.update_id",
            ),
            (
                true,
                "INSERT INTO update_health (update_id, device, launched, failed, changed_at, \
                 served_at, launched_at, failed_at) \
                 SELECT r.update_id, r.device, r.launched, r.failed, $5, $5, \
                 CASE WHEN r.launched = 1 THEN $5 END, CASE WHEN r.failed = 1 THEN $5 END \
                 FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[]) \
                      AS r (update_id, device, launched, failed) \
                 WHERE EXISTS (SELECT 1 FROM updates u WHERE u.id = r.update_id) \
                 ON CONFLICT (update_id, device) DO UPDATE SET \
                 launched = GREATEST(update_health.launched, EXCLUDED.launched), \
                 failed = GREATEST(update_health.failed, EXCLUDED.failed), \
                 changed_at = EXCLUDED.changed_at, \
                 launched_at = COALESCE(update_health.launched_at, EXCLUDED.launched_at), \
                 failed_at = COALESCE(update_health.failed_at, EXCLUDED.failed_at) \
                 WHERE EXCLUDED.launched > update_health.launched \
                 OR EXCLUDED.failed > update_health.failed \
                 RETURNING update_id",
            ),
        ] {
            let (update_ids, devices, launched, failed) = columns(served);
            if update_ids.is_empty() {
                continue;
            }
            let result = sqlx::query(statement)
                .bind(update_ids)
                .bind(devices)
                .bind(launched)
                .bind(failed)
                .bind(now)
                .fetch_all(&mut *tx)
                .await;
            for row in self.map(result)? {
                let id: String = row.try_get("update_id")?;
                changed.insert(
                    Uuid::parse_str(&id)
                        .map_err(|e| Error::Corrupt(format!("update_health.update_id: {e}")))?,
                );
            }
        }
        self.map(tx.commit().await)?;
        Ok(changed.into_iter().collect())
    }

    async fn health(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, UpdateHealth>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let query = format!(
            "{} WHERE update_id = ANY($1) GROUP BY update_id",
            rows::HEALTH_COLUMNS
        );
        let rows = self.map(
            sqlx::query(sqlx::AssertSqlSafe(query))
                .bind(ids)
                .fetch_all(&self.pool)
                .await,
        )?;
        rows.iter().map(rows::health).collect()
    }

    async fn health_series(&self, id: Uuid, buckets: Buckets) -> Result<HealthSeries> {
        let rows = self.map(
            sqlx::query(rows::HEALTH_SERIES)
                .bind(id.to_string())
                .bind(buckets.start)
                .bind(buckets.width)
                .bind(buckets.end())
                .fetch_all(&self.pool)
                .await,
        )?;
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

impl PostgresStore {
    /// Registers `update` only if `expected` is still the newest update of its scope,
    /// first setting `expected`'s rollout to 0 % when `zero_expected`; one transaction.
    async fn insert_if_newest(
        &self,
        expected: Uuid,
        update: NewUpdate,
        zero_expected: bool,
    ) -> Result<Option<UpdateInfo>> {
        let result: Result<Option<UpdateInfo>, InsertError> = async {
            let mut tx = self.pool.begin().await?;
            // The writers' row lock (see the module docs): what the scope serves cannot
            // change between the check and the insert.
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
        .await;
        match result {
            Ok(info) => Ok(info),
            Err(InsertError::Sql(e)) => Err(Self::error(&self.target, e)),
            Err(InsertError::Other(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The store's behaviour is tested on both backends by `store::behaviour`.

    #[test]
    fn urls_hide_their_password() {
        let url: DatabaseUrl = "postgres://expo:s3cret@db.internal:5433/updates?sslmode=require"
            .parse()
            .unwrap();
        assert_eq!(url.target(), "db.internal:5433/updates");
        assert!(!format!("{url} {url:?}").contains("s3cret"));
        assert!("mysql://x/y".parse::<DatabaseUrl>().is_err());
    }
}
