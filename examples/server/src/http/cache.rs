//! The hot paths' cache: the resolved update of each scope, loaded once and kept until
//! something changes what is served, the channel map (which branch each channel serves,
//! see [`crate::store::channels`]), and the records of the blobs assets are served from.
//!
//! The protocol layer renders responses from a cached [`ScopeEntry`] (serialized and signed
//! once per entry), so a manifest request costs a hash-map lookup, not a database query.
//! Publishing, rolling back and republishing invalidate the cache: directly when done
//! through this server's admin API, and through the store's change counter (polled by
//! [`watch_changes`]) when done by another process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use expo_updates::{AssetDescription, Resolved};
use tokio::sync::OnceCell;

use super::answers::Answers;
use super::recent::Recent;
use super::served::{AssetLinks, prepare};
use crate::blobs::ContentCoding;
use crate::error::{Error, Result};
use uuid::Uuid;

use crate::store::channels::ChannelMap;
use crate::store::{
    AssetHash, BlobRecord, ChangeListener, MetadataStore, Platform, Scope, ScopeKey, ScopeParts,
    Update, UpdateFilter, UpdateInfo, rollout,
};

/// At most this many blob records are cached (only blobs that exist are).
pub const MAX_BLOBS: usize = 200_000;

/// At most this many scopes that serve something are cached, least recently used out.
pub const MAX_ENTRIES: usize = 10_000;

/// At most this many "nothing to serve" answers are cached, least recently used out, apart
/// from the scopes that serve something: clients choose the channel and runtime version
/// they ask for, so a flood of made-up scopes can only push out other made-up scopes.
pub const MAX_MISSES: usize = 10_000;

/// At most this many asset base URLs (hosts, behind a trusted proxy) are prepared per
/// update; past it the least recently used is built again when asked for.
pub const MAX_BASES: usize = 8;

/// How often another process's changes are looked for.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// What a scope serves, as resolved from the store.
#[derive(Debug)]
pub struct ScopeEntry {
    /// The served update (or rollback-to-embedded row); `None` when the scope has none.
    /// During a partial rollout, the newest update (served to the installs it includes).
    pub update: Option<Arc<Update>>,
    /// During a partial rollout: which update each install gets, each prepared once.
    rollout: Option<Rollout>,
    /// The protocol's view of `update` for the last [`MAX_BASES`] base URLs asked for, most
    /// recent last: serialized once, its signatures cached inside (asset URLs depend on the
    /// base only behind a trusted proxy, so one base serves nearly every request).
    prepared: Mutex<Vec<Prepared>>,
}

/// A serialized answer, and until when its asset URLs may be handed out.
#[derive(Debug)]
struct Prepared {
    base: String,
    /// `None` when the URLs never expire (server and CDN URLs).
    until: Option<Instant>,
    /// The resolved update and the answers rendered from it.
    answers: Arc<Answers>,
}

/// How long a manifest with URLs valid for `lifetime` is served before it is built again:
/// half the lifetime, so a client always gets at least half of it to download the assets.
pub fn reuse_for(lifetime: Duration) -> Duration {
    lifetime / 2
}

/// The candidates of a partial rollout and their entries, loaded on first use.
#[derive(Debug)]
struct Rollout {
    /// The scope's newest updates, newest first, down to the first rolled out to everyone
    /// (no install is served anything older).
    candidates: Vec<UpdateInfo>,
    /// The entry of each candidate served so far.
    entries: Mutex<HashMap<Uuid, Arc<ScopeEntry>>>,
}

impl ScopeEntry {
    /// An entry serving `update`.
    pub fn new(update: Option<Arc<Update>>) -> Self {
        Self {
            update,
            rollout: None,
            prepared: Mutex::new(Vec::new()),
        }
    }

    /// An entry whose newest update is rolled out to part of the installs: `candidates`
    /// are the scope's updates newest first (`update` is the first).
    fn in_rollout_of(update: Arc<Update>, mut candidates: Vec<UpdateInfo>) -> Self {
        if let Some(everyone) = candidates.iter().position(|u| u.rollout_percent >= 100) {
            candidates.truncate(everyone + 1);
        }
        let newest = Arc::new(Self::new(Some(Arc::clone(&update))));
        Self {
            update: Some(update),
            rollout: Some(Rollout {
                entries: Mutex::new(HashMap::from([(newest.id(), newest)])),
                candidates,
            }),
            prepared: Mutex::new(Vec::new()),
        }
    }

    /// Whether the newest update is rolled out to only part of the installs, so the
    /// answer depends on the request's `eas-client-id`.
    pub fn in_rollout(&self) -> bool {
        self.rollout.is_some()
    }

    fn id(&self) -> Uuid {
        self.update.as_ref().map_or(Uuid::nil(), |u| u.info.id)
    }

    /// The entry the install `client_id` (`eas-client-id`) is served: this one outside a
    /// rollout; during one, the selected candidate's, loaded from `store` the first time
    /// any install gets it and then kept, so each is serialized and signed once.
    pub async fn for_client(
        self: &Arc<Self>,
        store: &dyn MetadataStore,
        client_id: Option<&str>,
    ) -> Result<Arc<Self>> {
        let id = match self.kept_for_client(client_id) {
            Ok(entry) => return Ok(entry),
            Err(id) => id,
        };
        let update = store.update(id).await?.map(Arc::new);
        let entry = Arc::new(Self::new(update));
        let Some(rollout) = &self.rollout else {
            return Ok(entry);
        };
        Ok(Arc::clone(
            lock(&rollout.entries).entry(id).or_insert(entry),
        ))
    }

    /// [`for_client`](Self::for_client) without the store: the entry, or the id of the
    /// update to load for it.
    fn kept_for_client(self: &Arc<Self>, client_id: Option<&str>) -> Result<Arc<Self>, Uuid> {
        let Some(rollout) = &self.rollout else {
            return Ok(Arc::clone(self));
        };
        let Some(selected) = rollout::select(&rollout.candidates, client_id) else {
            return Ok(Arc::new(Self::new(None)));
        };
        lock(&rollout.entries)
            .get(&selected.id)
            .cloned()
            .ok_or(selected.id)
    }

    /// What the protocol layer answers from, with asset URLs built by `links`; built again
    /// once expiring (presigned) URLs are past [`reuse_for`] their lifetime.
    pub async fn resolved(&self, links: &AssetLinks<'_>) -> Result<Option<Resolved>> {
        Ok(self.answers(links).await?.resolved().clone())
    }

    /// [`resolved`](Self::resolved), with the answers rendered from it so far: kept
    /// as long as it is.
    pub async fn answers(&self, links: &AssetLinks<'_>) -> Result<Arc<Answers>> {
        if let Some(answers) = self.kept_answers(links) {
            return Ok(answers);
        }
        // Built without the lock (building may sign URLs): concurrent misses may build
        // twice, and the last one is kept.
        let started = Instant::now();
        let resolved = match &self.update {
            None => None,
            Some(update) => Some(prepare(update, links).await?),
        };
        // Expiring URLs and asset tokens alike: rebuilt after half their lifetime.
        let until = links
            .lifetime()
            .and_then(|lifetime| started.checked_add(reuse_for(lifetime)));
        super::metrics::record_manifest_built();
        let mut slots = lock(&self.prepared);
        slots.retain(|p| p.base != links.base);
        if slots.len() >= MAX_BASES {
            slots.remove(0);
        }
        let answers = Arc::new(Answers::new(resolved));
        slots.push(Prepared {
            base: links.base.to_owned(),
            until,
            answers: Arc::clone(&answers),
        });
        Ok(answers)
    }

    /// [`answers`](Self::answers) when they are kept and still fresh: no future, no work.
    pub fn kept_answers(&self, links: &AssetLinks<'_>) -> Option<Arc<Answers>> {
        let mut slots = lock(&self.prepared);
        let at = slots.iter().rposition(|p| p.base == links.base)?;
        if slots[at].until.is_some_and(|until| Instant::now() >= until) {
            return None;
        }
        let answers = Arc::clone(&slots[at].answers);
        if at + 1 != slots.len() {
            let used = slots.remove(at);
            slots.push(used);
        }
        Some(answers)
    }
}

/// Resolved updates by scope, and blob records by hash.
#[derive(Debug)]
pub struct ManifestCache {
    /// Scopes serving something.
    entries: Recent<Scope, Arc<ScopeEntry>>,
    /// Scopes serving nothing (see [`MAX_MISSES`]).
    misses: Recent<Scope, Arc<ScopeEntry>>,
    /// Loads under way, so concurrent misses of one scope share one store query.
    loading: Mutex<HashMap<Scope, Arc<OnceCell<Arc<ScopeEntry>>>>>,
    /// What the protocol layer answers asset requests with, built once per blob.
    blobs: Recent<AssetHash, Arc<AssetDescription>>,
    /// The channel rows of every app, loaded once per change (a fresh cell each
    /// invalidation; concurrent first requests share one query).
    channels: RwLock<Arc<OnceCell<Arc<ChannelMap>>>>,
    /// Bumped by every invalidation, so a load that raced one is not cached.
    generation: AtomicU64,
    /// Wakes the background work that follows changes (the patcher).
    changed: tokio::sync::Notify,
}

impl Default for ManifestCache {
    fn default() -> Self {
        Self {
            entries: Recent::new(MAX_ENTRIES),
            misses: Recent::new(MAX_MISSES),
            loading: Mutex::default(),
            blobs: Recent::new(MAX_BLOBS),
            channels: RwLock::default(),
            generation: AtomicU64::new(0),
            changed: tokio::sync::Notify::new(),
        }
    }
}

impl ManifestCache {
    /// The entry of `scope`, loading it from `store` on a miss (once, however many
    /// requests miss it at the same time).
    pub async fn get(&self, store: &dyn MetadataStore, scope: &Scope) -> Result<Arc<ScopeEntry>> {
        match self.hit(scope) {
            Some(entry) => Ok(entry),
            None => self.load_once(store, scope).await,
        }
    }

    /// Loads `scope` from the store, once however many requests missed it together.
    async fn load_once(&self, store: &dyn MetadataStore, scope: &Scope) -> Result<Arc<ScopeEntry>> {
        let cell = Arc::clone(lock(&self.loading).entry(scope.clone()).or_default());
        let loaded = cell
            .get_or_try_init(|| async {
                super::metrics::record_manifest_cache(false);
                self.load(store, scope).await
            })
            .await
            .cloned();
        let mut loading = lock(&self.loading);
        if loading.get(scope).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            loading.remove(scope);
        }
        loaded
    }

    /// The entry an install asking for `channel` is served: the channel's branch (or,
    /// during a split, the branch of the install's split bucket) in this runtime version
    /// and platform, falling back to the split's other branch when that one has nothing
    /// for them; then, during a partial rollout, the update of the install's rollout
    /// bucket. No store query while cached.
    pub async fn for_channel(
        &self,
        store: &dyn MetadataStore,
        app: &str,
        channel: &str,
        runtime_version: &str,
        platform: Platform,
        client_id: Option<&str>,
    ) -> Result<Arc<ScopeEntry>> {
        if let Some(entry) =
            self.kept_for_channel(app, channel, runtime_version, platform, client_id)
        {
            return Ok(entry);
        }
        let map = self.channel_map(store).await?;
        let (branch, fallback) = map.route(app, channel, client_id);
        let mut entry = self
            .get_parts(store, (app, branch, runtime_version, platform))
            .await?;
        if entry.update.is_none()
            && let Some(other) = fallback
        {
            entry = self
                .get_parts(store, (app, other, runtime_version, platform))
                .await?;
        }
        entry.for_client(store, client_id).await
    }

    /// [`for_channel`](Self::for_channel) when all it needs is cached: no store query and
    /// no future (the hot path of every app launch); `None` when something must be loaded.
    pub fn kept_for_channel(
        &self,
        app: &str,
        channel: &str,
        runtime_version: &str,
        platform: Platform,
        client_id: Option<&str>,
    ) -> Option<Arc<ScopeEntry>> {
        // Read under the lock rather than cloned out of it: each reference count touched
        // here is shared by every connection thread.
        let channels = self
            .channels
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (branch, fallback) = channels.get()?.route(app, channel, client_id);
        let mut entry = self.cached(&(app, branch, runtime_version, platform))?;
        let mut hits = 1;
        if entry.update.is_none()
            && let Some(other) = fallback
        {
            entry = self.cached(&(app, other, runtime_version, platform))?;
            hits += 1;
        }
        drop(channels);
        let entry = if entry.rollout.is_none() {
            entry
        } else {
            entry.kept_for_client(client_id).ok()?
        };
        // Counted as `for_channel` counts them, once it is sure to answer from the cache.
        for _ in 0..hits {
            super::metrics::record_manifest_cache(true);
        }
        Some(entry)
    }

    /// [`get`](Self::get) by the scope's parts: a cached scope is found with the request's
    /// text, no `Scope` (three `String`s) built.
    async fn get_parts(
        &self,
        store: &dyn MetadataStore,
        parts: ScopeParts<'_>,
    ) -> Result<Arc<ScopeEntry>> {
        if let Some(entry) = self.hit(&parts) {
            return Ok(entry);
        }
        let (app, channel, runtime_version, platform) = parts;
        self.load_once(store, &Scope::new(app, channel, runtime_version, platform)?)
            .await
    }

    /// The cached entry of `scope`, counted as a cache hit.
    fn hit(&self, scope: &(dyn ScopeKey + '_)) -> Option<Arc<ScopeEntry>> {
        let entry = self.cached(scope)?;
        super::metrics::record_manifest_cache(true);
        Some(entry)
    }

    /// The channel map, from `store` on the first request after a change.
    pub async fn channel_map(&self, store: &dyn MetadataStore) -> Result<Arc<ChannelMap>> {
        let cell = Arc::clone(
            &*self
                .channels
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        cell.get_or_try_init(|| async {
            Ok::<_, crate::error::Error>(Arc::new(ChannelMap::new(store.channels(None).await?)))
        })
        .await
        .cloned()
    }

    fn cached(&self, scope: &(dyn ScopeKey + '_)) -> Option<Arc<ScopeEntry>> {
        self.entries.get(scope).or_else(|| self.misses.get(scope))
    }

    async fn load(&self, store: &dyn MetadataStore, scope: &Scope) -> Result<Arc<ScopeEntry>> {
        let generation = self.generation.load(Ordering::Acquire);
        let update = store.current(scope).await?.map(Arc::new);
        let entry = Arc::new(match update {
            Some(update) if update.info.rollout_percent < 100 => {
                let candidates = store
                    .list(&UpdateFilter::scope(scope, rollout::MAX_CANDIDATES))
                    .await?;
                ScopeEntry::in_rollout_of(update, candidates)
            }
            update => ScopeEntry::new(update),
        });
        // Checked under the lock invalidations take, so none slips in between.
        let _loading = lock(&self.loading);
        if self.generation.load(Ordering::Acquire) == generation {
            let map = if entry.update.is_some() {
                &self.entries
            } else {
                &self.misses
            };
            map.insert(scope.clone(), Arc::clone(&entry));
        }
        Ok(entry)
    }

    /// The description of a stored blob (its media type, stored encodings and their
    /// `ETag`s), from the store on a miss; `None` when it does not exist.
    pub async fn blob(
        &self,
        store: &dyn MetadataStore,
        hash: &AssetHash,
    ) -> Result<Option<Arc<AssetDescription>>> {
        if let Some(description) = self.blobs.get(hash) {
            return Ok(Some(description));
        }
        let Some(record) = store.blob(hash).await? else {
            return Ok(None);
        };
        let description = Arc::new(describe(&record)?);
        self.blobs.insert(*hash, Arc::clone(&description));
        Ok(Some(description))
    }

    /// Forgets every entry.
    pub fn invalidate(&self) {
        {
            let mut loading = lock(&self.loading);
            self.generation.fetch_add(1, Ordering::AcqRel);
            // Loads under way may have read the old state: later requests load afresh.
            loading.clear();
            self.entries.clear();
            self.misses.clear();
            *self
                .channels
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::default();
        }
        // Blobs never change, but a future garbage collection may remove them.
        self.blobs.clear();
        // A change while nobody waits is kept for the next wait: none is missed.
        self.changed.notify_one();
    }

    /// Resolves at the next invalidation (or at once if one happened since the last wait);
    /// for one background task.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// How many scopes are cached (serving something or not).
    pub fn len(&self) -> usize {
        self.entries.len() + self.misses.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What this process changes (an automatic rollback) is served at once.
impl ChangeListener for ManifestCache {
    fn on_change(&self) {
        self.invalidate();
    }
}

/// A lock whose holder panicked still guards consistent data here (every critical section
/// is a single insert or read): use it anyway.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Invalidates `cache` whenever the store's change counter moves; runs until aborted.
pub async fn watch_changes(store: Arc<dyn MetadataStore>, cache: Arc<ManifestCache>) {
    let mut last = store.change_counter().await.ok();
    refresh_channel_labels(store.as_ref()).await;
    let mut interval = tokio::time::interval(POLL_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match store.change_counter().await {
            Ok(counter) if Some(counter) != last => {
                tracing::info!(counter, "updates changed: manifest cache cleared");
                cache.invalidate();
                last = Some(counter);
                refresh_channel_labels(store.as_ref()).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the change counter"),
        }
    }
}

/// The channels `/metrics` labels: those named like a branch with updates, and those
/// with a row.
pub async fn refresh_channel_labels(store: &dyn MetadataStore) {
    let known = async {
        let stored = store.channels(None).await?;
        let scopes = store.scopes().await?;
        Ok::<_, crate::error::Error>(
            scopes
                .into_iter()
                .map(|s| s.channel)
                .chain(stored.into_iter().map(|c| c.name))
                .collect::<Vec<_>>(),
        )
    };
    match known.await {
        Ok(names) => super::metrics::set_known_channels(names),
        Err(e) => tracing::warn!(error = %e, "cannot list the channels for /metrics labels"),
    }
}

/// What the protocol layer plans with: the stored codings, smallest first.
fn describe(record: &BlobRecord) -> Result<AssetDescription> {
    let content_type = HeaderValue::from_str(&record.content_type).map_err(|_| {
        Error::Corrupt(format!(
            "blob {} has the content type {:?}",
            record.hash, record.content_type
        ))
    })?;
    let mut description = AssetDescription::with_content_type(record.hash, content_type)
        .with_encoding(ContentCoding::Identity, record.size);
    if let Some(len) = record.br_size {
        description = description.with_encoding(ContentCoding::Brotli, len);
    }
    if let Some(len) = record.gzip_size {
        description = description.with_encoding(ContentCoding::Gzip, len);
    }
    Ok(description)
}

#[cfg(test)]
mod tests {

    use uuid::Uuid;

    use super::*;
    use crate::asset_headers;
    use crate::blobs::{
        AssetUrls, BlobReader, BlobStore, ByteRange, ContentCoding, PreparedBlob, StoredBlob,
    };
    use crate::store::{AssetHash, Platform, SqliteStore};

    async fn publish(store: &SqliteStore, scope: &Scope) -> Uuid {
        publish_rollout(store, scope, 100).await
    }

    async fn publish_rollout(store: &SqliteStore, scope: &Scope, rollout_percent: u8) -> Uuid {
        crate::store::fixtures::publish_js(store, scope, b"x", rollout_percent)
            .await
            .id
    }

    #[tokio::test]
    async fn serves_cached_until_invalidated() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
        let scope = Scope::new("default", "main", "1", Platform::Android).unwrap();
        let cache = ManifestCache::default();

        assert!(cache.get(&store, &scope).await.unwrap().update.is_none());
        let first = publish(&store, &scope).await;
        // Still the cached answer.
        assert!(cache.get(&store, &scope).await.unwrap().update.is_none());
        cache.invalidate();
        let entry = cache.get(&store, &scope).await.unwrap();
        assert_eq!(entry.update.as_ref().unwrap().info.id, first);
        assert_eq!(cache.len(), 1);

        let hash = entry
            .update
            .as_ref()
            .unwrap()
            .launch_asset
            .as_ref()
            .unwrap()
            .hash;
        assert_eq!(
            cache
                .blob(&store, &hash)
                .await
                .unwrap()
                .unwrap()
                .len_of(ContentCoding::Identity),
            Some(1)
        );
        assert!(
            cache
                .blob(&store, &AssetHash::of(b"none"))
                .await
                .unwrap()
                .is_none()
        );
    }

    /// Signs URLs (counting them) and stores nothing.
    #[derive(Debug, Default)]
    struct Signer {
        signed: AtomicU64,
    }

    #[async_trait::async_trait]
    impl BlobStore for Signer {
        async fn stat(&self, _: &AssetHash) -> Result<Option<StoredBlob>> {
            Ok(None)
        }
        async fn put(&self, _: PreparedBlob) -> Result<StoredBlob> {
            Err(crate::error::Error::Invalid("read-only".into()))
        }
        async fn open(
            &self,
            _: &AssetHash,
            _: ContentCoding,
            _: Option<ByteRange>,
        ) -> Result<Option<BlobReader>> {
            Ok(None)
        }
        async fn delete(&self, _: &AssetHash) -> Result<()> {
            Ok(())
        }
        async fn presigned_url(&self, hash: &AssetHash, _: Duration) -> Result<Option<String>> {
            let n = self.signed.fetch_add(1, Ordering::AcqRel);
            Ok(Some(format!(
                "https://bucket.example/{}?n={n}",
                hash.to_hex()
            )))
        }
    }

    #[tokio::test]
    async fn presigned_manifests_are_rebuilt_at_half_their_lifetime() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        publish(&store, &scope).await;
        let cache = ManifestCache::default();
        let entry = cache.get(&store, &scope).await.unwrap();
        let signer = Signer::default();
        let lifetime = Duration::from_secs(2);
        let urls = AssetUrls::Presigned { expiry: lifetime };
        let links = |base| AssetLinks {
            urls: &urls,
            blobs: &signer,
            base,
            headers: &asset_headers::NONE,
        };
        let signatures = || signer.signed.load(Ordering::Acquire);

        let started = Instant::now();
        assert!(entry.resolved(&links("http://a")).await.unwrap().is_some());
        assert_eq!(signatures(), 1, "one asset, one signature");
        entry.resolved(&links("http://a")).await.unwrap();
        if started.elapsed() < reuse_for(lifetime) {
            assert_eq!(signatures(), 1, "reused within half the lifetime");
        }
        let before = signatures();
        tokio::time::sleep(reuse_for(lifetime)).await;
        entry.resolved(&links("http://a")).await.unwrap();
        assert_eq!(
            signatures(),
            before + 1,
            "signed again past half the lifetime"
        );

        // URLs that never expire are built once.
        let server = AssetUrls::Server;
        let plain = AssetLinks {
            urls: &server,
            blobs: &signer,
            base: "http://a",
            headers: &asset_headers::NONE,
        };
        entry.resolved(&plain).await.unwrap();
        tokio::time::sleep(reuse_for(lifetime)).await;
        entry.resolved(&plain).await.unwrap();
        assert_eq!(signatures(), before + 1);
    }

    #[tokio::test]
    async fn a_flood_of_made_up_scopes_after_a_publish_leaves_the_real_one_cached() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::fixtures::Counting::new(
            SqliteStore::open(&dir.path().join("db")).await.unwrap(),
        );
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let cache = ManifestCache::default();
        // Right after a publish the cache is empty; the flood comes first.
        publish(store.inner(), &scope).await;
        let made_up =
            |n: usize| Scope::new("default", "main", &format!("junk-{n}"), Platform::Ios).unwrap();
        for n in 0..=MAX_MISSES {
            assert!(
                cache
                    .get(&store, &made_up(n))
                    .await
                    .unwrap()
                    .update
                    .is_none()
            );
        }
        assert_eq!(store.count(), MAX_MISSES + 1, "one query per made-up scope");
        let before = store.count();
        for _ in 0..3 {
            assert!(cache.get(&store, &scope).await.unwrap().update.is_some());
        }
        assert_eq!(
            store.count(),
            before + 1,
            "the real scope is cached after its first query"
        );
        // A recent made-up scope asked again costs nothing either.
        cache.get(&store, &made_up(MAX_MISSES)).await.unwrap();
        assert_eq!(store.count(), before + 1);
        assert!(cache.len() <= MAX_MISSES + 1);

        // Another flood: the real scope, in use, stays.
        for n in 0..(2 * MAX_MISSES) {
            cache
                .get(&store, &made_up(MAX_MISSES + 1 + n))
                .await
                .unwrap();
            if n % 1000 == 0 {
                cache.get(&store, &scope).await.unwrap();
            }
        }
        let before = store.count();
        cache.get(&store, &scope).await.unwrap();
        assert_eq!(store.count(), before);
        assert!(cache.len() <= MAX_MISSES + 1);
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_scope_share_one_query() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::fixtures::Counting::new(
            SqliteStore::open(&dir.path().join("db")).await.unwrap(),
        );
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        publish(store.inner(), &scope).await;
        let cache = ManifestCache::default();
        let gets = (0..64).map(|_| cache.get(&store, &scope));
        for entry in futures_util::future::join_all(gets).await {
            assert!(entry.unwrap().update.is_some());
        }
        assert_eq!(store.count(), 1);
    }

    #[tokio::test]
    async fn a_bounded_number_of_hosts_is_prepared_per_update() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        publish(&store, &scope).await;
        let cache = ManifestCache::default();
        let entry = cache.get(&store, &scope).await.unwrap();
        let signer = Signer::default();
        let urls = AssetUrls::Presigned {
            expiry: Duration::from_hours(1),
        };
        let hosts: Vec<String> = (0..MAX_BASES)
            .map(|n| format!("https://host-{n}"))
            .collect();
        // Alternating between hosts: each is built (signed) once.
        for _ in 0..10 {
            for host in &hosts {
                let links = AssetLinks {
                    urls: &urls,
                    blobs: &signer,
                    base: host,
                    headers: &asset_headers::NONE,
                };
                entry.resolved(&links).await.unwrap();
            }
        }
        assert_eq!(signer.signed.load(Ordering::Acquire), MAX_BASES as u64);
    }

    #[tokio::test]
    async fn watcher_notices_another_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = Arc::new(SqliteStore::open(&path).await.unwrap());
        let other_process = SqliteStore::open(&path).await.unwrap();
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let cache = Arc::new(ManifestCache::default());
        let watcher = tokio::spawn(watch_changes(store.clone(), cache.clone()));

        assert!(
            cache
                .get(store.as_ref(), &scope)
                .await
                .unwrap()
                .update
                .is_none()
        );
        let id = publish(&other_process, &scope).await;
        // Generous: a loaded machine may starve the watcher for a while.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let entry = cache.get(store.as_ref(), &scope).await.unwrap();
            if entry.update.as_ref().map(|u| u.info.id) == Some(id) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "change not noticed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        watcher.abort();
    }

    #[tokio::test]
    async fn rollout_candidates_are_prepared_once_per_update() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let cache = ManifestCache::default();
        let everyone = publish(&store, &scope).await;
        let partial = publish_rollout(&store, &scope, 30).await;

        let entry = cache.get(&store, &scope).await.unwrap();
        assert!(entry.in_rollout());
        let mut seen = HashMap::new();
        for n in 0..200 {
            let client = format!("install-{n}");
            let served = entry.for_client(&store, Some(&client)).await.unwrap();
            let id = served.update.as_ref().unwrap().info.id;
            let expected = if rollout::bucket(&client) < 30 {
                partial
            } else {
                everyone
            };
            assert_eq!(id, expected, "{client}");
            // One entry per update, whoever asks: serialized and signed once.
            let first = seen.entry(id).or_insert_with(|| Arc::clone(&served));
            assert!(Arc::ptr_eq(first, &served));
        }
        assert_eq!(seen.len(), 2);
        // Without a client id: the newest update rolled out to everyone.
        let anonymous = entry.for_client(&store, None).await.unwrap();
        assert_eq!(anonymous.update.as_ref().unwrap().info.id, everyone);

        // Outside a rollout the entry is its own answer.
        let widened = store.set_rollout(partial, 100).await.unwrap();
        assert_eq!(widened.rollout_percent, 100);
        cache.invalidate();
        let entry = cache.get(&store, &scope).await.unwrap();
        assert!(!entry.in_rollout());
        assert!(Arc::ptr_eq(
            &entry.for_client(&store, Some("x")).await.unwrap(),
            &entry
        ));
    }

    #[tokio::test]
    async fn channels_route_to_branches_from_memory() {
        use crate::store::channels::{self, split_bucket};
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::fixtures::Counting::new(
            SqliteStore::open(&dir.path().join("db")).await.unwrap(),
        );
        let main = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let canary = Scope::new("default", "canary", "1", Platform::Ios).unwrap();
        let only_canary = Scope::new("default", "canary", "2", Platform::Ios).unwrap();
        let main_id = publish(store.inner(), &main).await;
        let canary_id = publish(store.inner(), &canary).await;
        let canary_2 = publish(store.inner(), &only_canary).await;
        let cache = ManifestCache::default();
        let served = |runtime: &'static str, client: Option<String>| {
            let (cache, store) = (&cache, &store);
            async move {
                let entry = cache
                    .for_channel(
                        store,
                        "default",
                        "main",
                        runtime,
                        Platform::Ios,
                        client.as_deref(),
                    )
                    .await
                    .unwrap();
                entry.update.as_ref().map(|u| u.info.id)
            }
        };
        // No row: the channel serves the branch of its name.
        assert_eq!(served("1", Some("x".into())).await, Some(main_id));
        assert_eq!(served("2", None).await, None);

        channels::split(store.inner(), "default", "main", "canary", 50)
            .await
            .unwrap();
        cache.invalidate();
        let mut on_canary = 0;
        for n in 0..400 {
            let client = format!("install-{n}");
            let expected = if split_bucket(&client) < 50 {
                on_canary += 1;
                canary_id
            } else {
                main_id
            };
            assert_eq!(served("1", Some(client.clone())).await, Some(expected));
            // Runtime 2 exists on the split branch only: everyone falls back to it.
            assert_eq!(served("2", Some(client)).await, Some(canary_2));
        }
        assert!((150..=250).contains(&on_canary), "{on_canary} of 400");
        assert_eq!(served("1", None).await, Some(main_id), "no client id: main");
        // Cached: one channel query and one per scope, whatever the number of requests.
        let before = store.count();
        for n in 0..100 {
            served("1", Some(format!("install-{n}"))).await;
        }
        assert_eq!(store.count(), before);
    }
}
