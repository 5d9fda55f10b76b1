//! Publishing an `expo export` folder: blobs first, in parallel, then one transaction.
//!
//! A publish killed at any point leaves no visible update: blobs are written atomically and
//! are invisible until the transaction that registers the updates commits. Running it again
//! finds the blobs already stored and only does what is left.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use expo_manifest::{ExportDir, ExportedFile, PlatformExport};
use futures_util::{StreamExt as _, TryStreamExt as _};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::app_config::AppConfig;
use crate::blobs::BlobStore;
use crate::compress;
use crate::error::{Error, Result};
use crate::store::{
    AssetHash, BlobRecord, MetadataStore, NewUpdate, Platform, Scope, UpdateAsset, UpdateInfo,
    UpdateKind,
};

/// Largest file of an export read into memory (to compress it).
pub const MAX_FILE_SIZE: u64 = 512 << 20;

/// What to publish where.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    /// The export folder.
    pub dist: PathBuf,
    /// The app.
    pub app: String,
    /// The channel.
    pub channel: String,
    /// The runtime version; the app config's when `None`.
    pub runtime_version: Option<String>,
    /// The platforms; every platform of the export when `None`.
    pub platforms: Option<Vec<Platform>>,
    /// The publisher's message.
    pub message: Option<String>,
    /// The app config file; looked up beside the export when `None`.
    pub app_config: Option<PathBuf>,
    /// Draw a progress bar (only on a terminal).
    pub progress: bool,
    /// Brotli quality, 0 to 11.
    pub brotli_quality: u32,
    /// The share of installs served the new update, 1 to 100 (see [`crate::store::rollout`]).
    pub rollout_percent: u8,
}

/// Publishes `request`; returns the new updates, one per platform.
pub async fn publish(
    store: &dyn MetadataStore,
    blobs: Arc<dyn BlobStore>,
    request: PublishRequest,
) -> Result<Vec<UpdateInfo>> {
    if !request.dist.join("metadata.json").is_file() {
        return Err(Error::Export(format!(
            "{} has no metadata.json: is it the output of `npx expo export`?",
            request.dist.display()
        )));
    }
    if !(1..=100).contains(&request.rollout_percent) {
        return Err(Error::Invalid(format!(
            "rollout {}% must be between 1 and 100",
            request.rollout_percent
        )));
    }
    let export = ExportDir::open(&request.dist)?;
    let app_config_path = request
        .app_config
        .clone()
        .or_else(|| AppConfig::find(&request.dist));
    let app_config = app_config_path
        .as_deref()
        .map(AppConfig::read)
        .transpose()?;
    let runtime_version = runtime_version(
        request.runtime_version.as_deref(),
        app_config.as_ref(),
        app_config_path.as_deref(),
    )?;
    if app_config.is_none() {
        tracing::warn!(
            "no app config (app-config.json or --app-config): apps will see an empty \
             Constants.expoConfig after this update"
        );
    }

    let platforms = match &request.platforms {
        Some(platforms) => platforms.clone(),
        None => export.platforms().collect(),
    };
    let scopes = platforms
        .iter()
        .map(|&p| Scope::new(&request.app, &request.channel, &runtime_version, p))
        .collect::<Result<Vec<_>>>()?;
    // Hashes every file (one read each); blobs are keyed by these hashes.
    let exports = tokio::task::spawn_blocking(move || {
        platforms
            .iter()
            .map(|&p| export.platform(p))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))??;

    let files = distinct_files(&exports)?;
    // Read before looking for stored blobs: a garbage collection after this point that
    // deletes one of them makes the insert below fail, and the blob is uploaded again.
    let since = store.change_counter().await?;
    let records = store_files(
        Arc::clone(&blobs),
        files.clone(),
        request.progress,
        request.brotli_quality,
    )
    .await?;

    let asset = |file: &ExportedFile| UpdateAsset {
        hash: file.hash,
        key: file.key.clone(),
        content_type: file.content_type.clone(),
        file_extension: file.file_extension.clone(),
    };
    let mut extra = Map::new();
    if let Some(config) = &app_config {
        extra.insert("expoClient".into(), Value::Object(config.config.clone()));
    }
    let group_id = Uuid::new_v4();
    let updates: Vec<NewUpdate> = exports
        .iter()
        .zip(scopes)
        .map(|(platform, scope)| NewUpdate {
            id: Uuid::new_v4(),
            scope,
            kind: UpdateKind::Update,
            message: request.message.clone(),
            group_id,
            launch_asset: Some(asset(&platform.launch_asset)),
            assets: platform.assets.iter().map(asset).collect(),
            metadata: Map::new(),
            extra: extra.clone(),
            rollout_percent: request.rollout_percent,
            republished_from: None,
        })
        .collect();
    register(
        store,
        &blobs,
        &files,
        records,
        updates,
        since,
        request.brotli_quality,
    )
    .await
}

/// Registers the updates; when a concurrent gc removed (or is removing) one of their blobs
/// after `since`, waits a little, stores the files again (only the missing ones are
/// uploaded) and retries: a gc deletes bytes after its commit, so a blob it marked is
/// stored again only once its bytes are gone (see [`crate::store::gc`]).
async fn register(
    store: &dyn MetadataStore,
    blobs: &Arc<dyn BlobStore>,
    files: &[ExportedFile],
    mut records: Vec<BlobRecord>,
    updates: Vec<NewUpdate>,
    mut since: i64,
    brotli_quality: u32,
) -> Result<Vec<UpdateInfo>> {
    let mut attempt = 1;
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        match store
            .insert_since(&records, updates.clone(), Some(since))
            .await
        {
            Err(Error::BlobRemoved(hash)) if attempt < MAX_REGISTER_ATTEMPTS => {
                attempt += 1;
                tracing::warn!(%hash, "a concurrent gc removes a blob of this publish: storing it again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(2));
                since = store.change_counter().await?;
                records =
                    store_files(Arc::clone(blobs), files.to_vec(), false, brotli_quality).await?;
            }
            result => return result,
        }
    }
}

/// Attempts at registering a publish while garbage collections remove its blobs: about 12 s
/// of waiting, longer than a collection takes to delete the bytes it marked.
const MAX_REGISTER_ATTEMPTS: u32 = 9;

/// Each distinct blob of the exports once, largest first so the slow compressions start
/// early.
fn distinct_files(exports: &[PlatformExport]) -> Result<Vec<ExportedFile>> {
    let mut files: BTreeMap<AssetHash, ExportedFile> = BTreeMap::new();
    for platform in exports {
        for file in platform.files() {
            if file.size > MAX_FILE_SIZE {
                return Err(Error::Export(format!(
                    "{}: larger than {MAX_FILE_SIZE} bytes",
                    file.relative_path
                )));
            }
            files.entry(file.hash).or_insert_with(|| file.clone());
        }
    }
    let mut files: Vec<ExportedFile> = files.into_values().collect();
    files.sort_by_key(|file| std::cmp::Reverse(file.size));
    Ok(files)
}

/// Stores every file (skipping blobs already stored), one per core at a time.
async fn store_files(
    blobs: Arc<dyn BlobStore>,
    files: Vec<ExportedFile>,
    progress: bool,
    brotli_quality: u32,
) -> Result<Vec<BlobRecord>> {
    let bar = progress_bar(files.len() as u64, progress);
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    // Uploads to a remote store overlap (they wait on the network); compression, the CPU
    // part, stays at one file per core.
    let workers = blobs.upload_concurrency().max(1);
    let compressing = Arc::new(tokio::sync::Semaphore::new(cores));
    let stored = futures_util::stream::iter(files)
        .map(|file| {
            let blobs = Arc::clone(&blobs);
            let bar = bar.clone();
            let compressing = Arc::clone(&compressing);
            async move {
                let record =
                    store_file(blobs.as_ref(), &file, brotli_quality, &compressing).await?;
                bar.inc(1);
                Ok::<_, Error>(record)
            }
        })
        .buffer_unordered(workers)
        .try_collect()
        .await;
    bar.finish_and_clear();
    stored
}

fn runtime_version(
    given: Option<&str>,
    config: Option<&AppConfig>,
    config_path: Option<&Path>,
) -> Result<String> {
    let declared = config.and_then(AppConfig::runtime_version);
    match (given, declared) {
        (Some(given), Some(declared)) if given != declared => Err(Error::Export(format!(
            "--runtime-version {given:?} does not match the runtimeVersion {declared:?} of {}: \
             apps built from this config would never load the update",
            config_path.map_or_else(|| "the app config".into(), |p| p.display().to_string())
        ))),
        (Some(given), _) => Ok(given.to_owned()),
        (None, Some(declared)) => Ok(declared),
        (None, None) => Err(Error::Export(
            "pass --runtime-version (the app config declares none that can be read)".into(),
        )),
    }
}

async fn store_file(
    blobs: &dyn BlobStore,
    file: &ExportedFile,
    brotli_quality: u32,
    compressing: &tokio::sync::Semaphore,
) -> Result<BlobRecord> {
    let stored = if let Some(stored) = blobs.stat(&file.hash).await? {
        stored
    } else {
        let permit = compressing
            .acquire()
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
        let (path, hash, content_type) = (file.path.clone(), file.hash, file.content_type.clone());
        let prepared = tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            if AssetHash::of(&bytes) != hash {
                return Err(Error::Export(format!(
                    "{} changed while being published",
                    path.display()
                )));
            }
            Ok(compress::prepare(
                hash,
                Bytes::from(bytes),
                &content_type,
                brotli_quality,
            ))
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))??;
        drop(permit);
        blobs.put(prepared).await?
    };
    Ok(BlobRecord {
        hash: file.hash,
        size: stored.size,
        content_type: file.content_type.clone(),
        gzip_size: stored.gzip_size,
        br_size: stored.br_size,
    })
}

fn progress_bar(len: u64, wanted: bool) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if wanted && std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} storing {pos}/{len} files [{bar:30}] {elapsed} (precompressing)",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app_config::AppConfig;

    #[test]
    fn runtime_version_must_match_the_app_config() {
        let config = AppConfig {
            config: serde_json::from_str(r#"{"runtimeVersion":"1.0.0"}"#).unwrap(),
        };
        assert_eq!(runtime_version(None, Some(&config), None).unwrap(), "1.0.0");
        assert_eq!(
            runtime_version(Some("1.0.0"), Some(&config), None).unwrap(),
            "1.0.0"
        );
        let err = runtime_version(Some("2.0.0"), Some(&config), None).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        assert!(runtime_version(None, None, None).is_err());
        assert_eq!(runtime_version(Some("3"), None, None).unwrap(), "3");
    }
}
