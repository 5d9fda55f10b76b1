//! Promotion between servers: copying one update of the local stores to another running
//! server over its admin API (`/admin/blobs/missing`, `/admin/blobs/{hash}`,
//! `/admin/import`).
//!
//! The target is asked which blobs it lacks, receives only those (it checks each hash on
//! receipt), then registers the update in one transaction. Its id on the target is derived
//! from the source id and the target channel ([`promoted_id`]), so promoting twice finds the
//! first copy ("already there"), and a promotion interrupted midway is finished by running
//! it again: uploaded blobs are complete or absent, and the update appears only at the end.

use std::collections::BTreeSet;

use expo_updates::ErrorBody;
use futures_util::{StreamExt as _, TryStreamExt as _};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::io::AsyncReadExt as _;
use uuid::Uuid;

use crate::blobs::{BlobStore, ContentCoding, MAX_FILE_SIZE};
use crate::error::{Error, Result};
use crate::store::{
    AssetHash, MetadataStore, Platform, Update, UpdateAsset, UpdateInfo, UpdateKind,
};

/// Most hashes one `/admin/blobs/missing` request may ask about.
pub const MAX_HASHES: usize = 10_000;

/// Blobs uploaded at once.
const UPLOADS: usize = 4;

/// Namespace of [`promoted_id`] (a fixed random UUID).
const PROMOTED_NAMESPACE: Uuid = Uuid::from_u128(0x6c1f_0d2e_4b7a_4f0e_9a51_3e88_d2c4_b7f9);

/// The id an update promoted from another server gets: the same for the same source update
/// and target app and channel, so a second promotion finds the first.
pub fn promoted_id(source_id: Uuid, app: &str, channel: &str) -> Uuid {
    let mut name = source_id.as_bytes().to_vec();
    // The default app's ids stay what they were before apps had their own URLs.
    if app != crate::store::DEFAULT_APP {
        name.extend_from_slice(app.as_bytes());
        // Names are visible ASCII: a NUL cannot be part of either.
        name.push(0);
    }
    name.extend_from_slice(channel.as_bytes());
    Uuid::new_v5(&PROMOTED_NAMESPACE, &name)
}

/// `POST /admin/blobs/missing` request: blobs as SHA-256 hex or base64url.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissingRequest {
    /// The hashes to look for.
    pub hashes: Vec<String>,
}

/// `POST /admin/blobs/missing` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MissingResponse {
    /// The hashes (hex) the server does not store.
    pub missing: Vec<String>,
}

/// `POST /admin/import` request: an update of another server, to serve here.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// Its id on the server it comes from.
    pub source_id: Uuid,
    /// The app.
    pub app: String,
    /// The channel to serve it on.
    pub channel: String,
    /// Its runtime version.
    pub runtime_version: String,
    /// Its platform.
    pub platform: Platform,
    /// Manifest or rollback-to-embedded directive.
    pub kind: UpdateKind,
    /// The publisher's message.
    pub message: Option<String>,
    /// The launch asset (for a manifest).
    pub launch_asset: Option<UpdateAsset>,
    /// The other assets.
    #[serde(default)]
    pub assets: Vec<UpdateAsset>,
    /// Manifest `metadata`.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Manifest `extra`.
    #[serde(default)]
    pub extra: Map<String, Value>,
    /// The share of installs served, 1 to 100 [default: 100].
    pub rollout_percent: Option<u8>,
}

impl ImportRequest {
    /// Every distinct blob the update needs.
    pub fn hashes(&self) -> BTreeSet<AssetHash> {
        self.launch_asset
            .iter()
            .chain(&self.assets)
            .map(|asset| asset.hash)
            .collect()
    }
}

/// `POST /admin/import` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportResponse {
    /// `created`, or `already_there` when the update was promoted before.
    pub status: ImportStatus,
    /// The update on the importing server.
    pub update: UpdateInfo,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// The update was registered now.
    Created,
    /// An earlier promotion registered it.
    AlreadyThere,
}

/// Where to promote to, and how.
#[derive(Debug, Clone)]
pub struct PromoteRequest {
    /// The update to copy.
    pub id: Uuid,
    /// Base URL of the target server.
    pub target: String,
    /// Its admin bearer token.
    pub token: String,
    /// Channel on the target [default: the update's].
    pub channel: Option<String>,
    /// Share of installs on the target [default: 100].
    pub rollout_percent: Option<u8>,
    /// Message on the target [default: the update's].
    pub message: Option<String>,
}

/// What a promotion did.
#[derive(Debug, Clone, Serialize)]
pub struct PromoteReport {
    /// `created` or `already_there`.
    pub status: ImportStatus,
    /// The update on the target.
    pub update: UpdateInfo,
    /// Blobs (hex) uploaded now.
    pub uploaded: Vec<String>,
    /// Blobs the target already had.
    pub already_stored: usize,
}

/// Copies update `request.id` of `store` / `blobs` to the target server.
pub async fn promote(
    store: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    request: &PromoteRequest,
) -> Result<PromoteReport> {
    let update = store
        .update(request.id)
        .await?
        .ok_or(Error::UpdateNotFound(request.id))?;
    let import = import_request(&update, request);
    let client = Client::new(
        &request.target,
        &request.token,
        "--to",
        "check --token / EXPO_UPDATE_SERVER_PROMOTE_TOKEN",
    )?;
    let hashes = import.hashes();
    // A concurrent gc on the target can remove a blob between the check and the import:
    // the target answers 409 and the next round uploads it again.
    let mut uploaded = Vec::new();
    let mut attempt = 1;
    loop {
        let missing = client.missing(&hashes).await?;
        for hash in &missing {
            if !hashes.contains(hash) {
                return Err(Error::Remote {
                    url: client.url("/admin/blobs/missing"),
                    message: format!("answered a hash that was not asked: {}", hash.to_hex()),
                });
            }
        }
        futures_util::stream::iter(missing.iter().copied())
            .map(|hash| {
                let (client, content_type) = (&client, content_type(&import, hash));
                async move { client.upload(blobs, hash, content_type).await }
            })
            .buffer_unordered(UPLOADS)
            .try_collect::<Vec<()>>()
            .await?;
        uploaded.extend(missing.iter().map(AssetHash::to_hex));
        match client.import(&import).await {
            Err(ImportError::BlobsGone(message)) if attempt < 3 => {
                attempt += 1;
                tracing::warn!(%message, "the target lost blobs before the import: uploading again");
            }
            Err(ImportError::BlobsGone(message)) => {
                return Err(Error::Remote {
                    url: client.url("/admin/import"),
                    message,
                });
            }
            Err(ImportError::Other(e)) => return Err(e),
            Ok(answer) => {
                uploaded.sort();
                uploaded.dedup();
                return Ok(PromoteReport {
                    status: answer.status,
                    update: answer.update,
                    already_stored: hashes.len().saturating_sub(uploaded.len()),
                    uploaded,
                });
            }
        }
    }
}

/// The import request for `update`, with the options of `request`.
pub fn import_request(update: &Update, request: &PromoteRequest) -> ImportRequest {
    let info = &update.info;
    ImportRequest {
        source_id: info.id,
        app: info.scope.app.clone(),
        channel: request
            .channel
            .clone()
            .unwrap_or_else(|| info.scope.channel.clone()),
        runtime_version: info.scope.runtime_version.clone(),
        platform: info.scope.platform,
        kind: info.kind,
        message: request.message.clone().or_else(|| info.message.clone()),
        launch_asset: update.launch_asset.clone(),
        assets: update.assets.clone(),
        metadata: update.metadata.clone(),
        extra: update.extra.clone(),
        rollout_percent: request.rollout_percent,
    }
}

fn content_type(import: &ImportRequest, hash: AssetHash) -> String {
    import
        .launch_asset
        .iter()
        .chain(&import.assets)
        .find(|asset| asset.hash == hash)
        .map_or_else(
            || "application/octet-stream".to_owned(),
            |asset| asset.content_type.clone(),
        )
}

/// An error and its causes, `: `-separated (reqwest's own message omits them).
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Why an import failed.
enum ImportError {
    /// The target lacks blobs (409): upload again and retry.
    BlobsGone(String),
    /// Anything else.
    Other(Error),
}

/// A server's admin API (of an app: `base` may end in `/{app}`).
pub(crate) struct Client {
    pub(crate) http: reqwest::Client,
    base: String,
    token: String,
    /// What to check after a 401.
    unauthorized_hint: &'static str,
}

impl Client {
    /// A client of the server at `base` (given as `flag`), with bearer `token`.
    pub(crate) fn new(
        base: &str,
        token: &str,
        flag: &str,
        unauthorized_hint: &'static str,
    ) -> Result<Self> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Invalid(format!(
                "{flag} {base:?} must be an http:// or https:// URL"
            )));
        }
        if token.trim().is_empty() {
            return Err(Error::Invalid(format!(
                "the admin token is empty ({unauthorized_hint})"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .user_agent(concat!("expo-update-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Remote {
                url: base.to_owned(),
                message: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            base: base.to_owned(),
            token: token.trim().to_owned(),
            unauthorized_hint,
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request; a non-2xx answer becomes an error with the server's message.
    pub(crate) async fn send(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, (Option<(u16, String)>, Error)> {
        let response = request.bearer_auth(&self.token).send().await.map_err(|e| {
            let error = Error::Remote {
                url: url.to_owned(),
                message: format!("request failed: {}", causes(&e)),
            };
            (None, error)
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        // The one error shape (`expo_updates::ErrorBody`); anything else (a proxy's page)
        // is reported by its status alone.
        let body = response.bytes().await.unwrap_or_default();
        let (code, mut message) = match ErrorBody::from_json_slice(&body) {
            Ok(error) => (error.code().to_string(), format!("{status}: {error}")),
            Err(_) => (String::new(), format!("{status}: no error message")),
        };
        if status == reqwest::StatusCode::UNAUTHORIZED {
            message.push_str(" (");
            message.push_str(self.unauthorized_hint);
            message.push(')');
        }
        let error = Error::Remote {
            url: url.to_owned(),
            message,
        };
        Err((Some((status.as_u16(), code)), error))
    }

    pub(crate) async fn json<T: serde::de::DeserializeOwned>(
        url: &str,
        response: reqwest::Response,
    ) -> Result<T> {
        response.json().await.map_err(|e| Error::Remote {
            url: url.to_owned(),
            message: format!("unexpected answer: {e}"),
        })
    }

    pub(crate) async fn missing(&self, hashes: &BTreeSet<AssetHash>) -> Result<Vec<AssetHash>> {
        let url = self.url("/admin/blobs/missing");
        let mut missing = Vec::new();
        let hashes: Vec<String> = hashes.iter().map(AssetHash::to_hex).collect();
        for chunk in hashes.chunks(MAX_HASHES) {
            let body = MissingRequest {
                hashes: chunk.to_vec(),
            };
            let response = self
                .send(&url, self.http.post(&url).json(&body))
                .await
                .map_err(|(_, e)| e)?;
            let answer: MissingResponse = Self::json(&url, response).await?;
            for hex in answer.missing {
                missing.push(AssetHash::from_hex(&hex).ok_or_else(|| Error::Remote {
                    url: url.clone(),
                    message: format!("answered a malformed hash {hex:?}"),
                })?);
            }
        }
        Ok(missing)
    }

    async fn upload(
        &self,
        blobs: &dyn BlobStore,
        hash: AssetHash,
        content_type: String,
    ) -> Result<()> {
        let hex = hash.to_hex();
        let reader = blobs
            .open(&hash, ContentCoding::Identity, None)
            .await?
            .ok_or_else(|| {
                Error::Corrupt(format!(
                    "blob {hex} of the update is missing from this server's blob store"
                ))
            })?;
        if reader.len > MAX_FILE_SIZE {
            return Err(Error::Invalid(format!(
                "blob {hex} is larger than {MAX_FILE_SIZE} bytes"
            )));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(reader.len).unwrap_or(0));
        reader
            .reader
            .take(MAX_FILE_SIZE + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| Error::io(format!("blob {hex}"), e))?;
        if AssetHash::of(&bytes) != hash {
            return Err(Error::Corrupt(format!(
                "blob {hex} in this server's blob store does not match its hash"
            )));
        }
        let url = self.url(&format!("/admin/blobs/{hex}"));
        let bytes = bytes::Bytes::from(bytes);
        // A target busy compressing other large uploads says so (503 `busy`) before reading
        // the body: wait and send again, for up to about two minutes.
        let mut attempt = 0;
        loop {
            let request = self
                .http
                .put(&url)
                .header(reqwest::header::CONTENT_TYPE, content_type.clone())
                .body(bytes.clone());
            match self.send(&url, request).await {
                Ok(_) => return Ok(()),
                Err((Some((503, code)), _)) if code == "busy" && attempt < BUSY_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                }
                Err((_, error)) => return Err(error),
            }
        }
    }

    async fn import(&self, import: &ImportRequest) -> Result<ImportResponse, ImportError> {
        let url = self.url("/admin/import");
        match self.send(&url, self.http.post(&url).json(import)).await {
            Ok(response) => Self::json(&url, response).await.map_err(ImportError::Other),
            Err((Some((409, code)), Error::Remote { message, .. }))
                if code == "missing_blobs" || code == "blob_removed" =>
            {
                Err(ImportError::BlobsGone(message))
            }
            Err((_, e)) => Err(ImportError::Other(e)),
        }
    }
}

/// Times an upload the target refused as busy is sent again (10 s apart).
const BUSY_RETRIES: u32 = 12;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promoted_id_depends_on_source_and_channel() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let id = |source, app, channel| promoted_id(source, app, channel);
        assert_eq!(
            id(a, "default", "production"),
            id(a, "default", "production")
        );
        assert_ne!(id(a, "default", "production"), id(a, "default", "staging"));
        assert_ne!(
            id(a, "default", "production"),
            id(b, "default", "production")
        );
        assert_ne!(id(a, "default", "production"), a);
        assert_ne!(id(a, "shop", "production"), id(a, "default", "production"));
        assert_ne!(id(a, "shop", "production"), id(a, "blog", "production"));
        assert_ne!(id(a, "shop", "prod"), id(a, "default", "shop/prod"));
    }
}
