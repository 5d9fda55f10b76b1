//! Publishing an `expo export` folder: blobs first, in parallel, then one transaction.
//!
//! A publish killed at any point leaves no visible update: blobs are written atomically and
//! are invisible until the transaction that registers the updates commits. Running it again
//! finds the blobs already stored and only does what is left.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use expo_manifest::{ExportDir, ExportedFile, PlatformExport};
use futures_util::{StreamExt as _, TryStreamExt as _};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::app_config::AppConfig;
use crate::blobs::{BlobStore, MAX_FILE_SIZE};
use crate::compress;
use crate::error::{Error, Result};
use crate::runtime::{self, RuntimeFlags};
use crate::source_maps;
use crate::store::{
    AssetHash, BlobRecord, MetadataStore, NewUpdate, Platform, Scope, SourceMap, UpdateAsset,
    UpdateInfo, UpdateKind,
};

/// What to publish where.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    /// The export folder.
    pub dist: PathBuf,
    /// The app.
    pub app: String,
    /// The channel.
    pub channel: String,
    /// Runtime versions given on the command line, and the project directory.
    pub runtime: RuntimeFlags,
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

/// An export checked and hashed: what a publish registers, wherever it goes.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// One update per platform.
    pub updates: Vec<PreparedUpdate>,
    /// Every distinct file once, largest first.
    pub files: Vec<ExportedFile>,
    /// Manifest `extra` (`expoClient`: the public app config).
    pub extra: Map<String, Value>,
}

/// One platform's update of a [`Prepared`] export.
#[derive(Debug, Clone)]
pub struct PreparedUpdate {
    /// Where it is served.
    pub scope: Scope,
    /// The bundle.
    pub launch_asset: UpdateAsset,
    /// The other assets.
    pub assets: Vec<UpdateAsset>,
    /// The source maps beside the bundle: (path in the export, blob).
    pub source_maps: Vec<(String, AssetHash)>,
}

impl Prepared {
    /// Bytes of the distinct files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Every check of a publish, without storing anything: the export is readable and complete,
/// every file is hashed, the app config is valid, each platform has a runtime version, the
/// names are valid and no file is too large.
pub async fn prepare(request: &PublishRequest) -> Result<Prepared> {
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
    let versions =
        runtime_versions(request, &platforms, app_config.as_ref(), app_config_path).await?;
    let scopes = platforms
        .iter()
        .map(|&p| {
            let version = versions.get(&p).map_or("", String::as_str);
            Scope::new(&request.app, &request.channel, version, p)
        })
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
    let source_maps = source_maps_of(&exports).await?;
    let mut files = distinct_files(&exports)?;
    for map in source_maps.iter().flatten() {
        if !files.iter().any(|f| f.hash == map.hash) {
            files.push(map.clone());
        }
    }
    files.sort_by_key(|file| std::cmp::Reverse(file.size));
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
    let updates = exports
        .iter()
        .zip(scopes)
        .zip(source_maps)
        .map(|((platform, scope), maps)| PreparedUpdate {
            scope,
            launch_asset: asset(&platform.launch_asset),
            assets: platform.assets.iter().map(asset).collect(),
            source_maps: maps
                .into_iter()
                .map(|m| (m.relative_path, m.hash))
                .collect(),
        })
        .collect();
    Ok(Prepared {
        updates,
        files,
        extra,
    })
}

/// The runtime version of each platform (the fingerprint policy runs the Expo CLI: off the
/// async threads).
async fn runtime_versions(
    request: &PublishRequest,
    platforms: &[Platform],
    config: Option<&AppConfig>,
    config_path: Option<PathBuf>,
) -> Result<BTreeMap<Platform, String>> {
    let (runtime, platforms, config) =
        (request.runtime.clone(), platforms.to_vec(), config.cloned());
    tokio::task::spawn_blocking(move || {
        runtime::resolve(
            &runtime,
            &platforms,
            config.as_ref(),
            config_path.as_deref(),
        )
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?
}

/// The source maps beside each platform's bundle.
async fn source_maps_of(exports: &[PlatformExport]) -> Result<Vec<Vec<ExportedFile>>> {
    let bundles: Vec<ExportedFile> = exports.iter().map(|e| e.launch_asset.clone()).collect();
    tokio::task::spawn_blocking(move || {
        bundles
            .iter()
            .map(source_maps::beside)
            .collect::<Result<Vec<_>>>()
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?
}

/// Publishes `request`; returns the new updates, one per platform.
pub async fn publish(
    store: &dyn MetadataStore,
    blobs: Arc<dyn BlobStore>,
    request: PublishRequest,
) -> Result<Vec<UpdateInfo>> {
    let prepared = prepare(&request).await?;
    // Read before looking for stored blobs: a garbage collection after this point that
    // deletes one of them makes the insert below fail, and the blob is uploaded again.
    let since = store.change_counter().await?;
    let records = store_files(
        Arc::clone(&blobs),
        prepared.files.clone(),
        request.progress,
        request.brotli_quality,
    )
    .await?;
    let group_id = Uuid::new_v4();
    let mut maps = Vec::new();
    let updates: Vec<NewUpdate> = prepared
        .updates
        .into_iter()
        .map(|update| NewUpdate {
            id: {
                let id = Uuid::new_v4();
                maps.extend(update.source_maps.iter().map(|(path, hash)| SourceMap {
                    update_id: id,
                    path: path.clone(),
                    hash: *hash,
                }));
                id
            },
            scope: update.scope,
            kind: UpdateKind::Update,
            message: request.message.clone(),
            group_id,
            launch_asset: Some(update.launch_asset),
            assets: update.assets,
            metadata: Map::new(),
            extra: prepared.extra.clone(),
            rollout_percent: request.rollout_percent,
            republished_from: None,
        })
        .collect();
    register(
        store,
        &blobs,
        &prepared.files,
        records,
        (updates, &maps),
        since,
        request.brotli_quality,
    )
    .await
}

/// What a publish would do (`publish --dry-run`).
#[derive(Debug, Clone, Serialize)]
pub struct DryRunReport {
    /// Always true: nothing was changed.
    pub dry_run: bool,
    /// The updates that would be created.
    pub updates: Vec<PlannedUpdate>,
    /// Distinct files of the export.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Files the blob store holds already (not stored again).
    pub already_stored: usize,
    /// Files that would be stored (uploaded).
    pub to_store: usize,
    /// Their bytes.
    pub to_store_bytes: u64,
}

/// One update a dry run would create.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedUpdate {
    /// The app.
    pub app: String,
    /// The channel (`null`: the server's default channel).
    pub channel: Option<String>,
    /// The runtime version.
    pub runtime_version: String,
    /// The platform.
    pub platform: Platform,
    /// The launch asset's file name.
    pub launch_asset: String,
    /// Number of other assets.
    pub assets: usize,
}

impl DryRunReport {
    /// The report of `prepared`, of which the files with hashes in `missing` are not stored.
    pub fn new(prepared: &Prepared, missing: &BTreeSet<AssetHash>, channel_known: bool) -> Self {
        let to_store: Vec<&ExportedFile> = prepared
            .files
            .iter()
            .filter(|f| missing.contains(&f.hash))
            .collect();
        Self {
            dry_run: true,
            updates: prepared
                .updates
                .iter()
                .map(|u| PlannedUpdate {
                    app: u.scope.app.clone(),
                    channel: channel_known.then(|| u.scope.channel.clone()),
                    runtime_version: u.scope.runtime_version.clone(),
                    platform: u.scope.platform,
                    launch_asset: u.launch_asset.key.clone(),
                    assets: u.assets.len(),
                })
                .collect(),
            files: prepared.files.len(),
            bytes: prepared.bytes(),
            already_stored: prepared.files.len() - to_store.len(),
            to_store: to_store.len(),
            to_store_bytes: to_store.iter().map(|f| f.size).sum(),
        }
    }

    /// The report as lines of text.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut text = String::new();
        for u in &self.updates {
            let _ = writeln!(
                text,
                "would publish {} (app {}, channel {}, runtime {}): {} and {} assets",
                u.platform,
                u.app,
                u.channel.as_deref().unwrap_or("(the server's default)"),
                u.runtime_version,
                u.launch_asset,
                u.assets
            );
        }
        let _ = writeln!(
            text,
            "{} files ({} bytes): {} already stored, {} to store ({} bytes); nothing was changed",
            self.files, self.bytes, self.already_stored, self.to_store, self.to_store_bytes
        );
        text
    }
}

/// `publish --dry-run` on local stores: every check of [`publish`], then which files `blobs`
/// holds already (`None`: no blob store yet, nothing stored). Writes nothing.
pub async fn dry_run(
    blobs: Option<&dyn BlobStore>,
    request: &PublishRequest,
) -> Result<DryRunReport> {
    let prepared = prepare(request).await?;
    let mut missing = BTreeSet::new();
    for file in &prepared.files {
        let stored = match blobs {
            Some(blobs) => blobs.stat(&file.hash).await?.is_some(),
            None => false,
        };
        if !stored {
            missing.insert(file.hash);
        }
    }
    Ok(DryRunReport::new(&prepared, &missing, true))
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
    (updates, source_maps): (Vec<NewUpdate>, &[SourceMap]),
    mut since: i64,
    brotli_quality: u32,
) -> Result<Vec<UpdateInfo>> {
    let mut attempt = 1;
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        match store
            .insert_with_source_maps(&records, updates.clone(), Some(since), source_maps)
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
