//! Publishing to a running server with its admin token (`publish DIST --server URL --token
//! T`): what a CI job does, holding no database or storage credentials.
//!
//! The export is checked and hashed here ([`crate::publish::prepare`], the checks of a
//! local publish). The server is asked which blobs it lacks (`POST /admin/blobs/missing`),
//! receives only those (`PUT /admin/blobs/{hash}`, streamed from the files, a few at a time,
//! each checked against its hash and precompressed there), then registers every platform's
//! update in one transaction (`POST /admin/publish`, see [`crate::http::publish`]) and
//! stamps `createdAt` itself.
//!
//! Nothing is visible before that last call: an interrupted publish leaves stored blobs
//! that nothing references (a rerun finds them and uploads only the rest; `gc` removes them
//! if nobody reruns).

use std::collections::BTreeSet;
use std::io::IsTerminal as _;

use futures_util::{StreamExt as _, TryStreamExt as _};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::promote::Client;
use crate::publish::{DryRunReport, Prepared};
use crate::store::{AssetHash, Platform, UpdateAsset, UpdateInfo};

/// Files uploaded at once.
const UPLOADS: usize = 4;

/// The environment variable of `--token`, named in error messages.
pub const TOKEN_ENV: &str = "EXPO_UPDATE_SERVER_PUBLISH_TOKEN";

/// `POST /admin/publish` request: the updates of one export, one per platform, registered
/// together.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    /// The channel [default: the app's default channel on the server].
    pub channel: Option<String>,
    /// The publisher's message.
    pub message: Option<String>,
    /// The share of installs served, 1 to 100 [default: 100].
    pub rollout_percent: Option<u8>,
    /// Check everything and answer what would be created, creating nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Manifest `extra` of every update (`expoClient`: the public app config).
    #[serde(default)]
    pub extra: Map<String, Value>,
    /// One per platform.
    pub updates: Vec<PublishedPlatform>,
}

/// One platform's update in a [`PublishBody`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedPlatform {
    /// The platform.
    pub platform: Platform,
    /// Its runtime version.
    pub runtime_version: String,
    /// The bundle.
    pub launch_asset: UpdateAsset,
    /// The other assets.
    #[serde(default)]
    pub assets: Vec<UpdateAsset>,
    /// The source maps of the bundle, kept with the update (never served to apps).
    #[serde(default)]
    pub source_maps: Vec<SourceMapRef>,
}

/// A source map in a [`PublishBody`]: its path in the export and its blob.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceMapRef {
    /// Path inside the export.
    pub path: String,
    /// The blob (uploaded before, like the assets).
    pub hash: AssetHash,
}

impl PublishBody {
    /// Every distinct blob the updates need (source maps included).
    pub fn hashes(&self) -> BTreeSet<AssetHash> {
        self.updates
            .iter()
            .flat_map(|u| {
                std::iter::once(&u.launch_asset)
                    .chain(&u.assets)
                    .map(|asset| asset.hash)
                    .chain(u.source_maps.iter().map(|m| m.hash))
            })
            .collect()
    }
}

/// `POST /admin/publish` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishAnswer {
    /// True when nothing was created.
    #[serde(default)]
    pub dry_run: bool,
    /// The new updates (with `dry_run`: those that would be created, without ids).
    pub updates: Vec<Value>,
    /// With `dry_run`: the blobs (hex) the server lacks.
    #[serde(default)]
    pub missing: Vec<String>,
}

/// Where to publish and how.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// The app's base URL on the server (`https://updates.example.com`, or
    /// `https://updates.example.com/shop` for app `shop`).
    pub server: String,
    /// That app's admin token.
    pub token: String,
    /// The channel [default: the server's default channel of the app].
    pub channel: Option<String>,
    /// The publisher's message.
    pub message: Option<String>,
    /// The share of installs served, 1 to 100.
    pub rollout_percent: u8,
    /// Draw a progress bar (only on a terminal).
    pub progress: bool,
}

/// What a remote publish did.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteReport {
    /// The new updates, one per platform.
    pub updates: Vec<UpdateInfo>,
    /// Files uploaded now.
    pub uploaded: usize,
    /// Their bytes.
    pub uploaded_bytes: u64,
    /// Files the server had already.
    pub already_stored: usize,
}

fn body(prepared: &Prepared, options: &RemoteOptions, dry_run: bool) -> PublishBody {
    PublishBody {
        channel: options.channel.clone(),
        message: options.message.clone(),
        rollout_percent: Some(options.rollout_percent),
        dry_run,
        extra: prepared.extra.clone(),
        updates: prepared
            .updates
            .iter()
            .map(|u| PublishedPlatform {
                platform: u.scope.platform,
                runtime_version: u.scope.runtime_version.clone(),
                launch_asset: u.launch_asset.clone(),
                assets: u.assets.clone(),
                source_maps: u
                    .source_maps
                    .iter()
                    .map(|(path, hash)| SourceMapRef {
                        path: path.clone(),
                        hash: *hash,
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn client(options: &RemoteOptions) -> Result<Client> {
    Client::new(
        &options.server,
        &options.token,
        "--server",
        "check --token / EXPO_UPDATE_SERVER_PUBLISH_TOKEN: the admin token of this app",
    )
}

/// Publishes `prepared` to the server of `options`.
pub async fn publish(prepared: &Prepared, options: &RemoteOptions) -> Result<RemoteReport> {
    let client = client(options)?;
    let body = body(prepared, options, false);
    let hashes = body.hashes();
    let mut uploaded = BTreeSet::new();
    let mut uploaded_bytes = 0;
    let mut attempt = 1;
    loop {
        let missing = checked_missing(&client, &hashes).await?;
        let files: Vec<_> = prepared
            .files
            .iter()
            .filter(|f| missing.contains(&f.hash))
            .collect();
        let total = files.iter().map(|f| f.size).sum();
        let bar = progress_bar(total, options.progress);
        futures_util::stream::iter(files.iter().copied())
            .map(|file| {
                let (client, bar) = (&client, bar.clone());
                async move { client.upload_file(file, &bar).await }
            })
            .buffer_unordered(UPLOADS)
            .try_collect::<Vec<()>>()
            .await?;
        bar.finish_and_clear();
        uploaded_bytes += total;
        uploaded.extend(missing.iter().copied());
        match client.publish(&body).await {
            Err(PublishError::BlobsGone(message)) if attempt < 3 => {
                attempt += 1;
                tracing::warn!(%message, "the server lost blobs before the publish: uploading again");
            }
            Err(PublishError::BlobsGone(message)) => {
                return Err(Error::Remote {
                    url: client.url("/admin/publish"),
                    message,
                });
            }
            Err(PublishError::Other(e)) => return Err(e),
            Ok(answer) => {
                let updates = answer
                    .updates
                    .into_iter()
                    .map(serde_json::from_value)
                    .collect::<Result<Vec<UpdateInfo>, _>>()
                    .map_err(|e| Error::Remote {
                        url: client.url("/admin/publish"),
                        message: format!("unexpected answer: {e}"),
                    })?;
                return Ok(RemoteReport {
                    updates,
                    uploaded: uploaded.len(),
                    uploaded_bytes,
                    already_stored: hashes.len().saturating_sub(uploaded.len()),
                });
            }
        }
    }
}

/// `publish --dry-run --server`: the server's checks of the updates and which blobs it
/// lacks; uploads and creates nothing.
pub async fn dry_run(prepared: &Prepared, options: &RemoteOptions) -> Result<DryRunReport> {
    let client = client(options)?;
    let body = body(prepared, options, true);
    let missing = checked_missing(&client, &body.hashes()).await?;
    let answer = match client.publish(&body).await {
        Ok(answer) => answer,
        Err(PublishError::BlobsGone(message)) => {
            return Err(Error::Remote {
                url: client.url("/admin/publish"),
                message,
            });
        }
        Err(PublishError::Other(e)) => return Err(e),
    };
    let mut report = DryRunReport::new(prepared, &missing, true);
    // The server names the channel it would use.
    for (planned, answered) in report.updates.iter_mut().zip(&answer.updates) {
        if let Some(channel) = answered["channel"].as_str() {
            planned.channel = Some(channel.to_owned());
        }
    }
    Ok(report)
}

async fn checked_missing(
    client: &Client,
    hashes: &BTreeSet<AssetHash>,
) -> Result<BTreeSet<AssetHash>> {
    let missing = client.missing(hashes).await?;
    for hash in &missing {
        if !hashes.contains(hash) {
            return Err(Error::Remote {
                url: client.url("/admin/blobs/missing"),
                message: format!("answered a hash that was not asked: {}", hash.to_hex()),
            });
        }
    }
    Ok(missing.into_iter().collect())
}

/// Why the final call failed.
pub(crate) enum PublishError {
    /// The server lacks blobs (409): upload again and retry.
    BlobsGone(String),
    /// Anything else.
    Other(Error),
}

impl Client {
    /// `PUT /admin/blobs/{hash}` with the bytes of `file`, streamed from disk.
    async fn upload_file(
        &self,
        file: &expo_manifest::ExportedFile,
        bar: &ProgressBar,
    ) -> Result<()> {
        let hex = file.hash.to_hex();
        let handle = tokio::fs::File::open(&file.path)
            .await
            .map_err(|e| Error::io(&file.path, e))?;
        let len = handle
            .metadata()
            .await
            .map_err(|e| Error::io(&file.path, e))?
            .len();
        if len != file.size {
            return Err(Error::Export(format!(
                "{} changed while being published",
                file.path.display()
            )));
        }
        let counted = bar.clone();
        let stream = tokio_util::io::ReaderStream::new(handle).inspect_ok(move |chunk| {
            counted.inc(chunk.len() as u64);
        });
        let url = self.url(&format!("/admin/blobs/{hex}"));
        let request = self
            .http
            .put(&url)
            .header(reqwest::header::CONTENT_TYPE, &file.content_type)
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(reqwest::Body::wrap_stream(stream));
        match self.send(&url, request).await {
            Ok(_) => Ok(()),
            Err((Some((400, code)), _)) if code == "hash_mismatch" => Err(Error::Export(format!(
                "{} changed while being published",
                file.path.display()
            ))),
            Err((_, e)) => Err(e),
        }
    }

    /// `POST /admin/publish`.
    async fn publish(&self, body: &PublishBody) -> Result<PublishAnswer, PublishError> {
        let url = self.url("/admin/publish");
        match self.send(&url, self.http.post(&url).json(body)).await {
            Ok(response) => Self::json(&url, response)
                .await
                .map_err(PublishError::Other),
            Err((Some((409, code)), Error::Remote { message, .. }))
                if code == "missing_blobs" || code == "blob_removed" =>
            {
                Err(PublishError::BlobsGone(message))
            }
            Err((_, e)) => Err(PublishError::Other(e)),
        }
    }
}

fn progress_bar(bytes: u64, wanted: bool) -> ProgressBar {
    let bar = ProgressBar::new(bytes);
    if wanted && std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} uploading [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {elapsed}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}
