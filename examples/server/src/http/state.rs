//! What every request handler shares.
//!
//! [`AppState`] is one `Arc`: axum clones the state of a route for each request it serves,
//! so cloning it must cost one atomic increment, not a dozen (the fields are [`AppShared`]).

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

use expo_codesign::SignerSet;
use expo_updates::Responder;

use super::cache::ManifestCache;
use super::patched::PatchIndex;
use crate::asset_headers::AssetHeaders;
use crate::blobs::stream::StreamBudget;
use crate::blobs::{AssetUrls, BlobMemory, BlobStore, PublicUrl};
use crate::device_reports::{AutoRollback, HealthRecorder};
use crate::store::MetadataStore;

/// Shared state of the HTTP server, one per app: [`AppShared`] behind an `Arc`, read
/// through `Deref` (`state.cache`, `state.app`, ...).
#[derive(Debug, Clone)]
pub struct AppState(Arc<AppShared>);

impl AppState {
    /// The state of one app.
    pub fn new(shared: AppShared) -> Self {
        Self(Arc::new(shared))
    }
}

/// The responders of the channels with server-defined headers of their own, by channel.
pub type ChannelResponders = Arc<BTreeMap<String, Arc<Responder>>>;

impl AppShared {
    /// The responder of requests for `channel`.
    pub fn responder_for(&self, channel: &str) -> &Responder {
        self.channel_responders
            .get(channel)
            .unwrap_or(&self.responder)
    }
}

impl Deref for AppState {
    type Target = AppShared;

    fn deref(&self) -> &AppShared {
        &self.0
    }
}

/// What [`AppState`] holds, one per app (the stores and caches are shared; the keys, token,
/// default channel and URL prefix are the app's).
#[derive(Debug, Clone)]
pub struct AppShared {
    /// The app this state serves (`default`, or the first path segment).
    pub app: Arc<str>,
    /// Update metadata.
    pub store: Arc<dyn MetadataStore>,
    /// Blob bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// The bytes of the most requested blobs.
    pub blob_memory: Arc<BlobMemory>,
    /// Memory for the bodies of the other blobs, streamed.
    pub streams: Arc<StreamBudget>,
    /// Resolved updates per scope.
    pub cache: Arc<ManifestCache>,
    /// Launch-asset patch lookups; `None` when patches are off.
    pub patches: Option<Arc<PatchIndex>>,
    /// Code-signing keys; `None` when signing is off.
    pub signers: Option<Arc<SignerSet>>,
    /// Renders manifest answers (holds the signing keys and the app-wide
    /// `expo-server-defined-headers` too).
    pub responder: Arc<Responder>,
    /// The responders of the channels with server-defined headers of their own.
    pub channel_responders: ChannelResponders,
    /// The headers clients send with asset requests (and the token `/assets` checks).
    pub asset_headers: Arc<AssetHeaders>,
    /// Base of asset URLs: the public URL, plus `/{app}` for apps other than the default.
    pub public_url: PublicUrl,
    /// Where asset URLs point (this server, presigned S3, a CDN): build them with
    /// [`AssetUrls::url`].
    pub asset_urls: AssetUrls,
    /// Honour `x-forwarded-proto` / `x-forwarded-host`.
    pub trust_proxy: bool,
    /// The hosts `x-forwarded-host` may name (lower case); empty: any.
    pub forwarded_hosts: Arc<Vec<String>>,
    /// Channel of requests without `expo-channel-name`.
    pub default_channel: String,
    /// SHA-256 of the admin bearer token; `None` disables /admin.
    pub admin_token_digest: Option<[u8; 32]>,
    /// Queues what manifest requests report about update health.
    pub health: HealthRecorder,
    /// The automatic rollback policy (`None`: off), shown by the admin API.
    pub auto_rollback: Option<AutoRollback>,
}
