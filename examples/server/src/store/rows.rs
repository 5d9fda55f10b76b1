//! The row mapping both backends share: the statements whose SQL is the same in `SQLite` and
//! `PostgreSQL` (`$N` placeholders work in both), and reading their rows into the model.
//!
//! Reading goes through [`Columns`], implemented for every `sqlx` row whose database decodes
//! the column types the tables use (TEXT, BIGINT), so one function serves both backends.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    AssetHash, BlobRecord, Buckets, HealthSeries, NewUpdate, PatchRecord, Platform, Scope,
    StoredSourceMap, Update, UpdateAsset, UpdateHealth, UpdateInfo, UpdateKind,
};
use crate::error::{Error, Result};

/// Columns of [`UpdateInfo`] (`u` is the `updates` row), as [`info`] reads them.
macro_rules! info_columns {
    () => {
        "u.seq, u.id, u.app, u.channel, u.runtime_version, u.platform, u.kind, u.created_at, \
         u.message, u.group_id, u.rollout_percent, u.republished_from, \
         (SELECT COUNT(*) FROM update_assets a WHERE a.update_id = u.id) AS asset_count"
    };
}
pub(super) use info_columns;

/// Reads one patch row; see [`patch`].
pub(super) const SELECT_PATCH: &str = "SELECT outcome, patch_hash, size, detail FROM patches \
     WHERE base_hash = $1 AND target_hash = $2";

/// Lists the source maps of an update.
pub(super) const SELECT_SOURCE_MAPS: &str = "SELECT s.path, s.hash, b.size FROM update_source_maps s \
     JOIN blobs b ON b.hash = s.hash WHERE s.update_id = $1 ORDER BY s.path";

/// Keeps one source map of an update.
pub(super) const INSERT_SOURCE_MAP: &str =
    "INSERT INTO update_source_maps (update_id, path, hash) VALUES ($1, $2, $3)";

/// Records a patch row unless the pair is recorded or either launch asset is gone.
pub(super) const INSERT_PATCH: &str = "INSERT INTO patches \
     (base_hash, target_hash, outcome, patch_hash, size, detail, created_at) \
     SELECT $1, $2, $3, $4, $5, $6, $7 \
     WHERE EXISTS (SELECT 1 FROM blobs WHERE hash = $1) \
     AND EXISTS (SELECT 1 FROM blobs WHERE hash = $2) \
     ON CONFLICT (base_hash, target_hash) DO NOTHING";

/// The per-update counts both stores read from `update_health` (`$1`: the update ids'
/// condition is appended by each backend). A row with no flag set is an install the
/// update was served to that has not reported yet.
pub(super) const HEALTH_COLUMNS: &str = "SELECT update_id, COUNT(*) AS served, \
     CAST(SUM(CASE WHEN launched = 1 OR failed = 1 THEN 1 ELSE 0 END) AS BIGINT) AS devices, \
     CAST(SUM(launched) AS BIGINT) AS launched, CAST(SUM(failed) AS BIGINT) AS failed \
     FROM update_health";

/// Events per bucket of one update (`$1` its id, `$2` the first bucket's start, `$3` the
/// width, `$4` the end): rows `kind`, `bucket`, `n`, for the buckets with events. A grouped
/// scan of the update's rows (bounded per update), three times.
pub(super) const HEALTH_SERIES: &str = "\
     SELECT CAST('served' AS TEXT) AS kind, (served_at - $2) / $3 AS bucket, COUNT(*) AS n \
     FROM update_health WHERE update_id = $1 AND served_at >= $2 AND served_at < $4 GROUP BY 2 \
     UNION ALL \
     SELECT CAST('launched' AS TEXT), (launched_at - $2) / $3, COUNT(*) \
     FROM update_health WHERE update_id = $1 AND launched_at >= $2 AND launched_at < $4 GROUP BY 2 \
     UNION ALL \
     SELECT CAST('failed' AS TEXT), (failed_at - $2) / $3, COUNT(*) \
     FROM update_health WHERE update_id = $1 AND failed_at >= $2 AND failed_at < $4 GROUP BY 2";

/// Reads one blob row (`$1`: its hex hash); see [`blob`].
pub(super) const SELECT_BLOB: &str =
    "SELECT size, content_type, gzip_size, br_size FROM blobs WHERE hash = $1";

/// Registers a blob unless it is registered (`$1` hash, `$2` size, `$3` content type, `$4`
/// gzip size, `$5` brotli size, `$6` now).
pub(super) const INSERT_BLOB: &str = "INSERT INTO blobs \
     (hash, size, content_type, gzip_size, br_size, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hash) DO NOTHING";

/// The assets of an update (`$1`: its id), in manifest order; see [`update`].
pub(super) const SELECT_ASSETS: &str = "SELECT is_launch_asset, hash, asset_key, content_type, file_extension \
     FROM update_assets WHERE update_id = $1 ORDER BY position";

/// Every scope with an update; see [`scope`].
pub(super) const SELECT_SCOPES: &str = "SELECT DISTINCT app, channel, runtime_version, platform FROM updates \
     WHERE substr(channel, 1, 1) <> $1 ORDER BY app, channel, runtime_version, platform";

/// The newest `created_at` of a scope (`$1`..`$4`: app, channel, runtime, platform).
pub(super) const NEWEST_IN_SCOPE: &str = "SELECT MAX(created_at) AS newest FROM updates \
     WHERE app = $1 AND channel = $2 AND runtime_version = $3 AND platform = $4";

/// Registers an update row, returning its `seq`.
pub(super) const INSERT_UPDATE: &str = "INSERT INTO updates (id, app, channel, runtime_version, platform, kind, created_at, \
     message, group_id, metadata, extra, rollout_percent, republished_from) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq";

/// Registers one asset of an update.
pub(super) const INSERT_ASSET: &str = "INSERT INTO update_assets (update_id, position, is_launch_asset, hash, asset_key, \
     content_type, file_extension) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Inserts one [`NewUpdate`] and its assets in the transaction `$tx` (of either backend),
/// `created_at` strictly after the newest of its scope, and evaluates to its [`UpdateInfo`].
/// A macro, not a function, so that one body serves both backends' transactions: errors
/// return from the calling function through `?`, converted into its error type.
macro_rules! insert_update {
    ($tx:expr, $update:expr, $now:expr) => {{
        use sqlx::Row as _;
        let (tx, update, now) = ($tx, $update, $now);
        $crate::store::rows::check_new(&update)?;
        let scope = &update.scope;
        let newest: Option<i64> = sqlx::query($crate::store::rows::NEWEST_IN_SCOPE)
            .bind(&scope.app)
            .bind(&scope.channel)
            .bind(&scope.runtime_version)
            .bind(scope.platform.as_str())
            .fetch_one(&mut **tx)
            .await?
            .try_get("newest")?;
        let created_at = newest.map_or(now, |newest| now.max(newest + 1));
        let id = update.id.to_string();
        let seq: i64 = sqlx::query($crate::store::rows::INSERT_UPDATE)
            .bind(&id)
            .bind(&scope.app)
            .bind(&scope.channel)
            .bind(&scope.runtime_version)
            .bind(scope.platform.as_str())
            .bind(update.kind.as_str())
            .bind(created_at)
            .bind(update.message.as_deref())
            .bind(update.group_id.to_string())
            .bind(serde_json::Value::Object(update.metadata.clone()).to_string())
            .bind(serde_json::Value::Object(update.extra.clone()).to_string())
            .bind(i64::from(update.rollout_percent))
            .bind(update.republished_from.map(|u| u.to_string()))
            .fetch_one(&mut **tx)
            .await?
            .try_get("seq")?;
        let launch = update.launch_asset.iter().map(|a| (true, a));
        let others = update.assets.iter().map(|a| (false, a));
        let mut position = 0_i64;
        for (is_launch, asset) in launch.chain(others) {
            sqlx::query($crate::store::rows::INSERT_ASSET)
                .bind(&id)
                .bind(position)
                .bind(i64::from(is_launch))
                .bind(asset.hash.to_hex())
                .bind(&asset.key)
                .bind(&asset.content_type)
                .bind(asset.file_extension.as_deref())
                .execute(&mut **tx)
                .await?;
            position += 1;
        }
        $crate::store::rows::inserted(update, created_at, seq, position)
    }};
}
pub(super) use insert_update;

/// The update a scope serves, by age alone (`$1`..`$4`: app, channel, runtime, platform).
pub(super) const NEWEST_ID_IN_SCOPE: &str = "SELECT id FROM updates \
     WHERE app = $1 AND channel = $2 AND runtime_version = $3 AND platform = $4 \
     ORDER BY created_at DESC, seq DESC LIMIT 1";

/// Inserts `$update` in the transaction `$tx` only if `$expected` is still the newest update
/// of its scope, first setting `$expected`'s rollout to 0 % when `$zero_expected`; evaluates
/// to the inserted update's [`UpdateInfo`], or `None` (the caller then rolls back). Errors
/// return from the caller, as in [`insert_update!`].
macro_rules! insert_if_newest {
    ($tx:expr, $expected:expr, $update:expr, $zero_expected:expr) => {{
        use sqlx::Row as _;
        let (tx, expected, update) = ($tx, $expected, $update);
        let scope = &update.scope;
        let served: Option<String> = sqlx::query($crate::store::rows::NEWEST_ID_IN_SCOPE)
            .bind(&scope.app)
            .bind(&scope.channel)
            .bind(&scope.runtime_version)
            .bind(scope.platform.as_str())
            .fetch_optional(&mut **tx)
            .await?
            .map(|row| row.try_get("id"))
            .transpose()?;
        if served == Some(expected.to_string()) {
            if $zero_expected {
                sqlx::query("UPDATE updates SET rollout_percent = 0 WHERE id = $1")
                    .bind(expected.to_string())
                    .execute(&mut **tx)
                    .await?;
            }
            let now = $crate::store::rows::now_millis();
            Some($crate::store::rows::insert_update!(&mut *tx, update, now))
        } else {
            None
        }
    }};
}
pub(super) use insert_if_newest;

/// Registers `$blobs` (unless registered), the updates `$updates` and their source maps
/// `$source_maps` in the transaction `$tx`, and evaluates to the updates' [`UpdateInfo`]s
/// (errors return from the caller, as in [`insert_update!`]).
macro_rules! insert_all {
    ($tx:expr, $blobs:expr, $updates:expr, $source_maps:expr, $now:expr) => {{
        let (tx, now) = ($tx, $now);
        for blob in $blobs {
            sqlx::query($crate::store::rows::INSERT_BLOB)
                .bind(blob.hash.to_hex())
                .bind($crate::store::rows::to_i64(blob.size)?)
                .bind(&blob.content_type)
                .bind(
                    blob.gzip_size
                        .map($crate::store::rows::to_i64)
                        .transpose()?,
                )
                .bind(blob.br_size.map($crate::store::rows::to_i64).transpose()?)
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        let updates: Vec<$crate::store::NewUpdate> = $updates;
        let mut inserted = Vec::with_capacity(updates.len());
        for update in updates {
            inserted.push($crate::store::rows::insert_update!(&mut *tx, update, now));
        }
        for map in $source_maps {
            sqlx::query($crate::store::rows::INSERT_SOURCE_MAP)
                .bind(map.update_id.to_string())
                .bind(&map.path)
                .bind(map.hash.to_hex())
                .execute(&mut **tx)
                .await?;
        }
        inserted
    }};
}
pub(super) use insert_all;

/// The checks of an update before it is written.
pub(super) fn check_new(update: &NewUpdate) -> Result<()> {
    if update.kind == UpdateKind::Update && update.launch_asset.is_none() {
        return Err(Error::Invalid("an update needs a launch asset".into()));
    }
    if update.rollout_percent > 100 {
        return Err(Error::Invalid("rollout percent above 100".into()));
    }
    Ok(())
}

/// What [`insert_update!`] registered.
pub(super) fn inserted(update: NewUpdate, created_at: i64, seq: i64, assets: i64) -> UpdateInfo {
    UpdateInfo {
        id: update.id,
        scope: update.scope,
        kind: update.kind,
        created_at,
        message: update.message,
        group_id: update.group_id,
        rollout_percent: update.rollout_percent,
        republished_from: update.republished_from,
        asset_count: u32::try_from(assets).unwrap_or(u32::MAX),
        seq,
    }
}

/// Reading a column of a row, the same way on both backends.
pub(super) trait Columns {
    /// A TEXT column.
    fn text(&self, column: &str) -> Result<String>;
    /// A nullable TEXT column.
    fn text_or_null(&self, column: &str) -> Result<Option<String>>;
    /// An integer column.
    fn int(&self, column: &str) -> Result<i64>;
    /// A nullable integer column.
    fn int_or_null(&self, column: &str) -> Result<Option<i64>>;
}

impl<R> Columns for R
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    fn text(&self, column: &str) -> Result<String> {
        Ok(self.try_get(column)?)
    }

    fn text_or_null(&self, column: &str) -> Result<Option<String>> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> Result<i64> {
        Ok(self.try_get(column)?)
    }

    fn int_or_null(&self, column: &str) -> Result<Option<i64>> {
        Ok(self.try_get(column)?)
    }
}

/// An [`UpdateInfo`] from the columns of [`info_columns!`].
pub(super) fn info(row: &impl Columns) -> Result<UpdateInfo> {
    let uuid = |column: &str| -> Result<Uuid> {
        Uuid::parse_str(&row.text(column)?).map_err(|e| Error::Corrupt(format!("{column}: {e}")))
    };
    Ok(UpdateInfo {
        id: uuid("id")?,
        scope: scope(row)?,
        kind: row.text("kind")?.parse()?,
        created_at: row.int("created_at")?,
        message: row.text_or_null("message")?,
        group_id: uuid("group_id")?,
        rollout_percent: u8::try_from(row.int("rollout_percent")?)
            .map_err(|e| Error::Corrupt(format!("rollout_percent: {e}")))?,
        republished_from: row
            .text_or_null("republished_from")?
            .map(|text| Uuid::parse_str(&text))
            .transpose()
            .map_err(|e| Error::Corrupt(format!("republished_from: {e}")))?,
        asset_count: u32::try_from(row.int("asset_count")?)
            .map_err(|e| Error::Corrupt(format!("asset_count: {e}")))?,
        seq: row.int("seq")?,
    })
}

/// A [`Scope`] from its four columns.
pub(super) fn scope(row: &impl Columns) -> Result<Scope> {
    Ok(Scope {
        app: row.text("app")?,
        channel: row.text("channel")?,
        runtime_version: row.text("runtime_version")?,
        platform: platform_from(&row.text("platform")?)?,
    })
}

/// A full [`Update`]: `row` has the [`info_columns!`] and `metadata`, `extra`; `assets`
/// are the rows of [`SELECT_ASSETS`].
pub(super) fn update<R: Columns>(row: &R, assets: &[impl Columns]) -> Result<Update> {
    let mut launch_asset = None;
    let mut others = Vec::with_capacity(assets.len());
    for asset_row in assets {
        let asset = UpdateAsset {
            hash: AssetHash::from_hex(&asset_row.text("hash")?)
                .ok_or_else(|| Error::Corrupt("asset hash is not hex".into()))?,
            key: asset_row.text("asset_key")?,
            content_type: asset_row.text("content_type")?,
            file_extension: asset_row.text_or_null("file_extension")?,
        };
        if asset_row.int("is_launch_asset")? == 1 {
            launch_asset = Some(asset);
        } else {
            others.push(asset);
        }
    }
    Ok(Update {
        info: info(row)?,
        launch_asset,
        assets: others,
        metadata: json_object(&row.text("metadata")?)?,
        extra: json_object(&row.text("extra")?)?,
    })
}

/// The [`BlobRecord`] of `hash` from a row of [`SELECT_BLOB`].
pub(super) fn blob(hash: AssetHash, row: &impl Columns) -> Result<BlobRecord> {
    Ok(BlobRecord {
        hash,
        size: to_u64(row.int("size")?)?,
        content_type: row.text("content_type")?,
        gzip_size: row.int_or_null("gzip_size")?.map(to_u64).transpose()?,
        br_size: row.int_or_null("br_size")?.map(to_u64).transpose()?,
    })
}

/// The [`PatchRecord`] of a pair from a row of [`SELECT_PATCH`].
pub(super) fn patch(base: AssetHash, target: AssetHash, row: &impl Columns) -> Result<PatchRecord> {
    PatchRecord::from_columns(
        base,
        target,
        &row.text("outcome")?,
        row.text_or_null("patch_hash")?.as_deref(),
        row.int_or_null("size")?,
        row.text_or_null("detail")?,
    )
}

/// The counts of one update from a row of [`HEALTH_COLUMNS`].
pub(super) fn health(row: &impl Columns) -> Result<(Uuid, UpdateHealth)> {
    UpdateHealth::from_columns(
        &row.text("update_id")?,
        row.int("served")?,
        row.int("devices")?,
        row.int("launched")?,
        row.int("failed")?,
    )
}

/// The series over `buckets` from the rows of [`HEALTH_SERIES`].
pub(super) fn health_series(buckets: Buckets, rows: &[impl Columns]) -> Result<HealthSeries> {
    let mut series = HealthSeries::empty(buckets);
    for row in rows {
        series.add(&row.text("kind")?, row.int("bucket")?, row.int("n")?)?;
    }
    Ok(series)
}

/// A listed source map from a row of [`SELECT_SOURCE_MAPS`].
pub(super) fn source_map(row: &impl Columns) -> Result<StoredSourceMap> {
    let hex = row.text("hash")?;
    Ok(StoredSourceMap {
        path: row.text("path")?,
        hash: AssetHash::from_hex(&hex)
            .ok_or_else(|| Error::Corrupt(format!("source map hash {hex:?}")))?,
        size: u64::try_from(row.int("size")?).unwrap_or(0),
    })
}

/// A stored platform name.
pub(super) fn platform_from(text: &str) -> Result<Platform> {
    text.parse()
        .map_err(|_| Error::Corrupt(format!("platform {text:?}")))
}

/// A stored JSON object.
pub(super) fn json_object(text: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Error::Corrupt(format!("not a JSON object: {text:.80}"))),
    }
}

/// A stored size or count (never negative).
pub(super) fn to_u64(value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::Corrupt(format!("negative size {value}")))
}

/// A size as stored (BIGINT).
pub(super) fn to_i64(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::Invalid(format!("size {value} too large")))
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
