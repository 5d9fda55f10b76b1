//! Answering an asset request from any storage: [`StoredAsset`] supplies the
//! bytes the [`AssetPlan`](super::AssetPlan) asks for.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

use expo_accept::ContentCoding;
use expo_manifest::AssetHash;
use http::{Response, request::Parts};

use super::body::AssetBody;
use super::plan::{AssetDescription, asset_error_response};
use crate::error::{ProtocolError, SourceError};
use crate::source::AssetSource;

/// One stored asset: its description and a way to read its bytes.
///
/// Implemented by [`InMemoryAsset`](super::InMemoryAsset), by
/// `FileAsset` (feature `tokio`), and by any storage that can read a byte
/// range of one stored encoding: an object store's ranged GET, a file at an
/// offset, a database blob.
pub trait StoredAsset: Send + Sync {
    /// Hash, media type and the stored encodings with their lengths.
    fn description(&self) -> &AssetDescription;

    /// Exactly the bytes `range` of the stored `coding` (never empty: an
    /// empty range is not read). The length is known beforehand: stream it
    /// with [`AssetBody::from_stream`] rather than reading it whole.
    fn read(
        &self,
        coding: ContentCoding,
        range: Range<u64>,
    ) -> impl Future<Output = Result<AssetBody, SourceError>> + Send;
}

impl<T: StoredAsset + ?Sized> StoredAsset for Arc<T> {
    fn description(&self) -> &AssetDescription {
        (**self).description()
    }

    fn read(
        &self,
        coding: ContentCoding,
        range: Range<u64>,
    ) -> impl Future<Output = Result<AssetBody, SourceError>> + Send {
        (**self).read(coding, range)
    }
}

/// The answer to an asset request for `asset`: the plan of
/// [`AssetDescription::plan`] with the bytes it names.
pub async fn respond_with<A: StoredAsset + ?Sized>(
    asset: &A,
    parts: &Parts,
) -> Result<Response<AssetBody>, ProtocolError> {
    let plan = asset.description().plan(parts)?;
    let body = match (plan.body_range(), plan.error_body()) {
        (Some(range), _) if range.start < range.end => asset.read(plan.coding(), range).await?,
        (_, Some(error)) => AssetBody::full(error.clone()),
        _ => AssetBody::empty(),
    };
    Ok(plan.into_response(body))
}

/// The answer to a request for asset `hash` of `source`: with the `patch`
/// feature a `226 IM Used` patch when the client asks for one and the
/// source has it (never for a `Range` request: a client resuming a download
/// wants the rest of the full bytes), else the asset as
/// [`respond_with`] answers it; 404 when the source has no such asset.
pub async fn asset_response<S: AssetSource + ?Sized>(
    source: &S,
    hash: &AssetHash,
    parts: &Parts,
) -> Result<Response<AssetBody>, ProtocolError> {
    #[cfg(feature = "patch")]
    if let Some(patch) = patch::wanted(source, hash, parts).await {
        return Ok(patch);
    }
    let asset = source
        .asset(hash)
        .await?
        .ok_or(ProtocolError::AssetNotFound)?;
    respond_with(&asset, parts).await
}

/// [`asset_response`] with errors answered as JSON (404 for an unknown
/// asset, 400 naming the header at fault, 500 for a failing source).
pub async fn serve_asset<S: AssetSource + ?Sized>(
    source: &S,
    hash: &AssetHash,
    parts: &Parts,
) -> Response<AssetBody> {
    match asset_response(source, hash, parts).await {
        Ok(response) => response,
        Err(error) => asset_error_response(&error).map(AssetBody::full),
    }
}

#[cfg(feature = "patch")]
pub use patch::AssetPatch;

#[cfg(feature = "patch")]
mod patch {
    use expo_manifest::UpdateId;
    use expo_patch::PatchRequest;
    use http::header::RANGE;
    use http::{Method, StatusCode};

    use super::{AssetBody, AssetHash, AssetSource, Parts, Response};

    /// A stored BSDIFF40 patch to send instead of a launch asset: the
    /// update it applies to and its bytes.
    #[derive(Debug)]
    pub struct AssetPatch {
        base: UpdateId,
        len: u64,
        body: AssetBody,
    }

    impl AssetPatch {
        /// A patch of `len` bytes (`body` yields exactly them) from the
        /// launch asset of `base`.
        pub fn new(base: UpdateId, len: u64, body: AssetBody) -> Self {
            AssetPatch { base, len, body }
        }

        /// The `226 IM Used` answer ([`expo_patch::response::patch_headers`]);
        /// headers only for HEAD.
        pub fn into_response(self, head: bool) -> Response<AssetBody> {
            let len = usize::try_from(self.len).unwrap_or(usize::MAX);
            let body = if head { AssetBody::empty() } else { self.body };
            let mut response = Response::new(body);
            *response.status_mut() = StatusCode::IM_USED;
            *response.headers_mut() = expo_patch::response::patch_headers(self.base, len);
            response
        }
    }

    /// The patch answer, when the request asks for one and `source` has it.
    pub(super) async fn wanted<S: AssetSource + ?Sized>(
        source: &S,
        hash: &AssetHash,
        parts: &Parts,
    ) -> Option<Response<AssetBody>> {
        let head = match parts.method {
            Method::GET => false,
            Method::HEAD => true,
            _ => return None,
        };
        if parts.headers.contains_key(RANGE) {
            return None;
        }
        let request = PatchRequest::from_headers(&parts.headers)?;
        let patch = source.patch(hash, &request).await?;
        Some(patch.into_response(head))
    }
}
