//! What a server's storage implements: [`UpdateSource`] and [`AssetSource`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use expo_manifest::{
    AssetHash, ExportDir, Extensions, Manifest, Platform, PlatformExport, RuntimeVersion,
    Timestamp, UpdateId,
};

use crate::asset::{InMemoryAsset, StoredAsset};
use crate::error::SourceError;
use crate::prepared::{PreparedDirective, PreparedUpdate};
use crate::request::UpdateRequest;

/// The answer to a manifest request, as the storage sees it.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// The most recent update for the request.
    Update(Arc<PreparedUpdate>),
    /// A directive, typically `rollBackToEmbedded`. For that type the
    /// [`Responder`](crate::Responder) answers `noUpdateAvailable` instead
    /// once the device runs its embedded update.
    Directive(Arc<PreparedDirective>),
}

/// Finds the update for a request: what a server's storage implements.
///
/// Return the most recent update (by creation time) for the request's
/// platform, runtime version and channel, a directive, or `None` when
/// there is nothing. The request also carries what a source may use to
/// choose among several updates (`eas-client-id` for rollout buckets).
pub trait UpdateSource: Send + Sync {
    /// Resolves a request.
    fn resolve(
        &self,
        request: &UpdateRequest,
    ) -> impl Future<Output = Result<Option<Resolved>, SourceError>> + Send;
}

impl<S: UpdateSource> UpdateSource for Arc<S> {
    fn resolve(
        &self,
        request: &UpdateRequest,
    ) -> impl Future<Output = Result<Option<Resolved>, SourceError>> + Send {
        (**self).resolve(request)
    }
}

/// Finds an asset by hash: what a server's blob storage implements for
/// [`serve_asset`](crate::serve_asset) and the ready-made asset route.
pub trait AssetSource: Send + Sync {
    /// A found asset: its description and a way to read its bytes.
    type Asset: StoredAsset;

    /// The stored asset with this hash, or `None`.
    fn asset(
        &self,
        hash: &AssetHash,
    ) -> impl Future<Output = Result<Option<Self::Asset>, SourceError>> + Send;

    /// A stored patch to send instead of the asset `hash` to the client of
    /// `request` (feature `patch`); `None` (the default) sends the asset.
    /// Return `None` too when in doubt (a failing lookup, missing patch
    /// bytes): the full asset is always a correct answer.
    #[cfg(feature = "patch")]
    fn patch(
        &self,
        hash: &AssetHash,
        request: &expo_patch::PatchRequest,
    ) -> impl Future<Output = Option<crate::asset::AssetPatch>> + Send {
        let _ = (hash, request);
        std::future::ready(None)
    }
}

impl<S: AssetSource> AssetSource for Arc<S> {
    type Asset = S::Asset;

    fn asset(
        &self,
        hash: &AssetHash,
    ) -> impl Future<Output = Result<Option<Self::Asset>, SourceError>> + Send {
        (**self).asset(hash)
    }

    #[cfg(feature = "patch")]
    fn patch(
        &self,
        hash: &AssetHash,
        request: &expo_patch::PatchRequest,
    ) -> impl Future<Output = Option<crate::asset::AssetPatch>> + Send {
        (**self).patch(hash, request)
    }
}

/// Where an update applies: platform, runtime version and channel (`None`
/// for requests without `expo-channel-name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The platform.
    pub platform: Platform,
    /// The runtime version.
    pub runtime_version: RuntimeVersion,
    /// The channel.
    pub channel: Option<String>,
}

/// Answers of one platform and runtime version, by channel.
type ByChannel = Vec<(Option<String>, Resolved)>;

/// Updates and assets held in memory: for tests, examples and small
/// deployments whose updates fit in RAM.
#[derive(Debug, Default, Clone)]
pub struct InMemorySource {
    /// By platform and runtime version, then by channel.
    answers: HashMap<Platform, HashMap<String, ByChannel>>,
    assets: HashMap<AssetHash, Arc<InMemoryAsset>>,
}

impl InMemorySource {
    /// An empty source: every request gets no update.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the answer for a target, replacing the previous one.
    pub fn set(&mut self, target: Target, answer: Resolved) {
        let channels = self
            .answers
            .entry(target.platform)
            .or_default()
            .entry(target.runtime_version.as_str().to_owned())
            .or_default();
        match channels.iter_mut().find(|(c, _)| *c == target.channel) {
            Some(slot) => slot.1 = answer,
            None => channels.push((target.channel, answer)),
        }
    }

    /// Removes the answer for a target.
    pub fn remove(&mut self, target: &Target) -> Option<Resolved> {
        let channels = self
            .answers
            .get_mut(&target.platform)?
            .get_mut(target.runtime_version.as_str())?;
        let index = channels.iter().position(|(c, _)| *c == target.channel)?;
        Some(channels.remove(index).1)
    }

    /// Adds an asset, found by its hash.
    pub fn add_asset(&mut self, asset: InMemoryAsset) {
        self.assets.insert(asset.hash(), Arc::new(asset));
    }

    /// Publishes one platform of an `expo export` output directory: reads
    /// its files into memory, builds the manifest (asset URLs
    /// `<base_url>/assets/<hash>`, a new id, `created_at` as given, `extra`
    /// as given, e.g. `{"expoClient": <public app config>}`) and makes it
    /// the answer for `target`.
    pub fn publish_export(
        &mut self,
        export: &ExportDir,
        target: Target,
        base_url: &str,
        created_at: Timestamp,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Arc<PreparedUpdate>, expo_manifest::Error> {
        let files = export.platform(target.platform)?;
        for file in files.files() {
            let bytes = std::fs::read(&file.path).map_err(|source| expo_manifest::Error::Io {
                path: file.path.clone(),
                source,
            })?;
            // The content type comes from the export's own mapping, always a valid header value.
            if let Ok(asset) = InMemoryAsset::new(&file.content_type, bytes) {
                self.add_asset(asset);
            }
        }
        let manifest = export_manifest(
            &files,
            target.runtime_version.clone(),
            base_url,
            created_at,
            extra,
        );
        let update = Arc::new(PreparedUpdate::new(&manifest, None::<&Extensions>));
        self.set(target, Resolved::Update(update.clone()));
        Ok(update)
    }

    /// The answer for a request, without the `async`.
    pub fn lookup(&self, request: &UpdateRequest) -> Option<Resolved> {
        let channels = self
            .answers
            .get(&request.platform())?
            .get(request.runtime_version().as_str())?;
        channels
            .iter()
            .find(|(c, _)| c.as_deref() == request.channel())
            .map(|(_, answer)| answer.clone())
    }

    /// The asset with this hash, without the `async`.
    pub fn lookup_asset(&self, hash: &AssetHash) -> Option<Arc<InMemoryAsset>> {
        self.assets.get(hash).cloned()
    }
}

impl UpdateSource for InMemorySource {
    fn resolve(
        &self,
        request: &UpdateRequest,
    ) -> impl Future<Output = Result<Option<Resolved>, SourceError>> + Send {
        std::future::ready(Ok(self.lookup(request)))
    }
}

impl AssetSource for InMemorySource {
    type Asset = Arc<InMemoryAsset>;

    fn asset(
        &self,
        hash: &AssetHash,
    ) -> impl Future<Output = Result<Option<Arc<InMemoryAsset>>, SourceError>> + Send {
        std::future::ready(Ok(self.lookup_asset(hash)))
    }
}

/// The manifest of one platform of an `expo export` output (a new id, asset
/// URLs `<base_url>/assets/<hash>`, `created_at` and `extra` as given), for
/// sources that serve the files where they are (see `FileSource`, feature
/// `tokio`) instead of reading them into memory.
pub fn export_manifest(
    files: &PlatformExport,
    runtime_version: RuntimeVersion,
    base_url: &str,
    created_at: Timestamp,
    extra: serde_json::Map<String, serde_json::Value>,
) -> Manifest {
    let base_url = base_url.trim_end_matches('/');
    let url = |hash: &AssetHash| format!("{base_url}/assets/{hash}");
    Manifest {
        id: UpdateId::new_v4(),
        created_at,
        runtime_version,
        launch_asset: files.launch_asset.to_asset(url(&files.launch_asset.hash)),
        assets: files
            .assets
            .iter()
            .map(|f| f.to_asset(url(&f.hash)))
            .collect(),
        metadata: std::collections::BTreeMap::new(),
        extra,
    }
}
