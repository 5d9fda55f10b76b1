//! What a scope serves, in the protocol's model: a manifest with absolute asset URLs, or a
//! `rollBackToEmbedded` directive; and, prepared from it, what the protocol layer answers
//! with (with the stream's manifest filters and the asset request headers).
//!
//! Manifest filters, as EAS sends them: the manifest's `metadata` carries `branchName`, the
//! stream the update was published to, and every answer serving it (or a directive made on
//! that stream) carries `expo-manifest-filters: branchname="<stream>"`. A client keeps only
//! stored updates whose `branchName` is absent or equal, so an install moved to another
//! stream stops launching the updates of the old one.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use expo_manifest::{Asset, Directive, Extensions, Manifest, RuntimeVersion, Timestamp, UpdateId};
use expo_sfv::ManifestFilters;
use expo_updates::{PreparedDirective, PreparedUpdate, Resolved};

use crate::asset_headers::AssetHeaders;
use crate::blobs::{AssetUrls, BlobStore, PublicUrl};
use crate::error::{Error, Result};
use crate::store::{Update, UpdateAsset, UpdateKind};

/// The manifest `metadata` member naming the update's stream (EAS's spelling).
pub const BRANCH_NAME: &str = "branchName";

/// The `expo-manifest-filters` key matching [`BRANCH_NAME`] (SFV keys are lower case;
/// clients compare them with metadata keys lower-cased).
pub const BRANCH_NAME_FILTER: &str = "branchname";

/// Longest forwarded host accepted.
const MAX_HOST_LEN: usize = 255;

/// A stored update as the protocol sends it.
#[derive(Debug, Clone, PartialEq)]
pub enum Served {
    /// An update to download.
    Manifest(Box<Manifest>),
    /// An instruction instead of an update.
    Directive(Directive),
}

/// The base URL of asset URLs for one request: the configured public URL, or, behind a
/// trusted proxy, its scheme and host from `x-forwarded-proto` / `x-forwarded-host` (the
/// path prefix stays the configured one).
///
/// A proxy appends to these headers what it saw, so only their *last* value comes from the
/// trusted proxy; the ones before it are whatever the client sent. With `allowed` hosts
/// (lower case), a forwarded host outside them is ignored too.
pub fn request_base_url<'a>(
    public_url: &'a PublicUrl,
    trust_proxy: bool,
    allowed: &[String],
    headers: &HeaderMap,
) -> Cow<'a, str> {
    if !trust_proxy {
        return Cow::Borrowed(public_url.as_str());
    }
    let last = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let scheme = match last("x-forwarded-proto")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("https") => "https",
        Some("http") => "http",
        _ => public_url.scheme(),
    };
    let host = last("x-forwarded-host")
        .filter(|host| host.len() <= MAX_HOST_LEN && is_authority(host))
        .map(str::to_ascii_lowercase)
        .filter(|host| allowed.is_empty() || allowed.contains(host));
    let host = host.as_deref().unwrap_or(public_url.authority());
    Cow::Owned(format!("{scheme}://{host}{}", public_url.path()))
}

/// A host with an optional port, nothing else (no user info, path or odd characters).
fn is_authority(host: &str) -> bool {
    host.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
        && host.parse::<axum::http::uri::Authority>().is_ok()
}

/// How the asset URLs of one manifest are built: the mode, the blob store that signs
/// presigned URLs, and this server's base URL for the request.
#[derive(Debug, Clone, Copy)]
pub struct AssetLinks<'a> {
    /// Server, presigned or CDN URLs.
    pub urls: &'a AssetUrls,
    /// Signs presigned URLs.
    pub blobs: &'a dyn BlobStore,
    /// This server's public URL as seen by the request (see [`request_base_url`]).
    pub base: &'a str,
    /// The headers clients send with each asset request (`assetRequestHeaders`).
    pub headers: &'a AssetHeaders,
}

impl AssetLinks<'_> {
    /// How long what is built now stays valid: the shorter of the URLs' lifetime
    /// (presigned) and the asset tokens'; `None`: forever.
    pub fn lifetime(&self) -> Option<Duration> {
        match (self.urls.lifetime(), self.headers.lifetime()) {
            (Some(urls), Some(tokens)) => Some(urls.min(tokens)),
            (urls, tokens) => urls.or(tokens),
        }
    }

    /// The extensions of `manifest`: the asset request headers of each of its assets.
    fn extensions(&self, manifest: &Manifest) -> Extensions {
        let mut extensions = Extensions::default();
        if self.headers.is_empty() {
            return extensions;
        }
        let now = SystemTime::now();
        for asset in manifest.all_assets() {
            extensions
                .asset_request_headers
                .insert(asset.key.clone(), self.headers.for_asset(&asset.hash, now));
        }
        extensions
    }

    /// The manifest entry of `asset`.
    async fn asset(&self, asset: &UpdateAsset) -> Result<Asset> {
        Ok(Asset {
            hash: asset.hash,
            key: asset.key.clone(),
            content_type: asset.content_type.clone(),
            file_extension: asset.file_extension.clone(),
            url: self.urls.url(self.blobs, self.base, &asset.hash).await?,
        })
    }
}

/// The stream `update` was published to: the one its manifest filters name.
pub fn stream(update: &Update) -> &str {
    &update.info.scope.channel
}

/// `branchname="<stream>"`; `None` for a name SFV cannot write (stored names are printable
/// ASCII, which it can).
fn stream_filters(update: &Update) -> Option<ManifestFilters> {
    let mut filters = ManifestFilters::default();
    match filters
        .dictionary_mut()
        .insert(BRANCH_NAME_FILTER, stream(update))
    {
        Ok(()) => Some(filters),
        Err(error) => {
            tracing::warn!(%error, update = %update.info.id, "no manifest filters for this stream name");
            None
        }
    }
}

/// What the protocol layer answers from for `update`: its manifest (asset URLs and
/// request headers built by `links`) or directive, serialized once, with the manifest
/// filters of its stream.
pub async fn prepare(update: &Update, links: &AssetLinks<'_>) -> Result<Resolved> {
    let filters = stream_filters(update);
    Ok(match served(update, links).await? {
        Served::Manifest(manifest) => {
            let extensions = links.extensions(&manifest);
            let mut prepared = PreparedUpdate::new(&manifest, Some(&extensions));
            if let Some(filters) = &filters {
                prepared = prepared
                    .with_manifest_filters(filters)
                    .map_err(|e| Error::Corrupt(format!("update {}: {e}", update.info.id)))?;
            }
            Resolved::Update(Arc::new(prepared))
        }
        Served::Directive(directive) => {
            let mut prepared = PreparedDirective::new(directive);
            if let Some(filters) = &filters {
                prepared = prepared.with_manifest_filters(filters);
            }
            Resolved::Directive(Arc::new(prepared))
        }
    })
}

/// The manifest or directive of `update`, with asset URLs built by `links`; its metadata
/// names its stream ([`BRANCH_NAME`], replacing a published member of that name in any
/// case).
pub async fn served(update: &Update, links: &AssetLinks<'_>) -> Result<Served> {
    let info = &update.info;
    let time = Timestamp::from_millis(info.created_at)?;
    match info.kind {
        UpdateKind::RollbackToEmbedded => Ok(Served::Directive(Directive::RollBackToEmbedded {
            commit_time: time,
        })),
        UpdateKind::Update => {
            let launch_asset = update
                .launch_asset
                .as_ref()
                .ok_or_else(|| Error::Corrupt(format!("update {} has no launch asset", info.id)))?;
            let mut assets = Vec::with_capacity(update.assets.len());
            for asset in &update.assets {
                assets.push(links.asset(asset).await?);
            }
            let mut metadata: std::collections::BTreeMap<String, String> = update
                .metadata
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case(BRANCH_NAME))
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect();
            metadata.insert(BRANCH_NAME.to_owned(), stream(update).to_owned());
            Ok(Served::Manifest(Box::new(Manifest {
                id: UpdateId::from_uuid(info.id),
                created_at: time,
                runtime_version: RuntimeVersion::new(info.scope.runtime_version.clone())?,
                launch_asset: links.asset(launch_asset).await?,
                assets,
                metadata,
                extra: update.extra.clone(),
            })))
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use serde_json::{Map, Value};
    use uuid::Uuid;

    use super::*;
    use crate::blobs::LocalBlobStore;
    use crate::store::{AssetHash, Platform, Scope, UpdateInfo};

    async fn served_under(update: &Update, base: &str) -> Result<Served> {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobStore::open(dir.path()).unwrap();
        let links = AssetLinks {
            urls: &AssetUrls::Server,
            blobs: &blobs,
            base,
            headers: &crate::asset_headers::NONE,
        };
        served(update, &links).await
    }

    fn update(kind: UpdateKind) -> Update {
        let bundle = UpdateAsset {
            hash: AssetHash::of(b"bundle"),
            key: "k1".into(),
            content_type: "application/javascript".into(),
            file_extension: None,
        };
        let png = UpdateAsset {
            hash: AssetHash::of(b"png"),
            key: "k2".into(),
            content_type: "image/png".into(),
            file_extension: Some(".png".into()),
        };
        let mut extra = Map::new();
        extra.insert("expoClient".into(), serde_json::json!({"name": "app"}));
        Update {
            info: UpdateInfo {
                id: Uuid::new_v4(),
                scope: Scope::new("default", "main", "1.0.0", Platform::Ios).unwrap(),
                kind,
                created_at: 1_700_000_000_123,
                message: None,
                group_id: Uuid::new_v4(),
                rollout_percent: 100,
                republished_from: None,
                asset_count: 2,
                seq: 1,
            },
            launch_asset: (kind == UpdateKind::Update).then_some(bundle),
            assets: if kind == UpdateKind::Update {
                vec![png]
            } else {
                vec![]
            },
            metadata: Map::new(),
            extra,
        }
    }

    #[tokio::test]
    async fn manifest_has_absolute_content_addressed_urls() {
        let update = update(UpdateKind::Update);
        let Served::Manifest(manifest) = served_under(&update, "https://u.example.com/expo")
            .await
            .unwrap()
        else {
            panic!("not a manifest");
        };
        assert_eq!(manifest.id.to_string(), update.info.id.to_string());
        assert_eq!(
            manifest.launch_asset.url,
            format!(
                "https://u.example.com/expo/assets/{}",
                AssetHash::of(b"bundle").to_hex()
            )
        );
        assert_eq!(manifest.assets[0].file_extension.as_deref(), Some(".png"));
        assert_eq!(manifest.extra["expoClient"]["name"], Value::from("app"));
        let json: Value = serde_json::from_slice(&manifest.to_json_bytes()).unwrap();
        assert_eq!(json["createdAt"], "2023-11-14T22:13:20.123Z");
    }

    #[tokio::test]
    async fn rollback_to_embedded_is_a_directive_with_the_stored_time() {
        let Served::Directive(directive) =
            served_under(&update(UpdateKind::RollbackToEmbedded), "http://x")
                .await
                .unwrap()
        else {
            panic!("not a directive");
        };
        let json: Value = serde_json::from_slice(&directive.to_json_bytes()).unwrap();
        assert_eq!(json["type"], "rollBackToEmbedded");
        assert_eq!(json["parameters"]["commitTime"], "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn forwarded_headers_count_only_when_trusted_and_only_their_last_hop() {
        let public: PublicUrl = "http://127.0.0.1:3000/u".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-proto",
            HeaderValue::from_static("gopher, https"),
        );
        headers.insert(
            "x-forwarded-host",
            HeaderValue::from_static("evil.example, updates.example.com"),
        );
        assert_eq!(
            request_base_url(&public, false, &[], &headers),
            "http://127.0.0.1:3000/u"
        );
        // The client's own values come first; the trusted proxy's is the last.
        assert_eq!(
            request_base_url(&public, true, &[], &headers),
            "https://updates.example.com/u"
        );
        // Two header lines: the proxy's is the last line.
        headers.append("x-forwarded-host", HeaderValue::from_static("Good.Example"));
        assert_eq!(
            request_base_url(&public, true, &[], &headers),
            "https://good.example/u"
        );
        // An allow-list refuses any other host.
        let allowed = ["updates.example.com".to_owned()];
        assert_eq!(
            request_base_url(&public, true, &allowed, &headers),
            "https://127.0.0.1:3000/u"
        );
        headers.insert(
            "x-forwarded-host",
            HeaderValue::from_static("good.example, Updates.Example.com"),
        );
        assert_eq!(
            request_base_url(&public, true, &allowed, &headers),
            "https://updates.example.com/u"
        );

        for bad in [
            "evil.com/path",
            "user@evil.com",
            "a b",
            "",
            "good.example, ",
        ] {
            headers.insert("x-forwarded-host", HeaderValue::from_str(bad).unwrap());
            assert_eq!(
                request_base_url(&public, true, &[], &headers),
                "https://127.0.0.1:3000/u",
                "{bad}"
            );
        }
        headers.insert(
            "x-forwarded-proto",
            HeaderValue::from_static("https, gopher"),
        );
        assert_eq!(
            request_base_url(&public, true, &[], &headers),
            "http://127.0.0.1:3000/u"
        );
    }
}
